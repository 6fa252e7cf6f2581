// The predictive policy in the simulator: forecast tracks, their use by decide(), and the
// measured (held-out) part of a replay.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "simulate/forecast_track.hpp"
#include "simulate/simulator.hpp"

namespace tide::sim {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2024-01-01T00:00:00Z.
const TimePoint kStart = from_unix_seconds(1'704'067'200);

// `days` of a daily pattern at 1-minute steps: 100 .. 1900 load units, peak at 06:00.
Trace daily_trace(int days) {
  Trace t;
  t.start = kStart;
  t.step = minutes(1);
  t.name = "daily";
  for (int m = 0; m < days * 1440; ++m) {
    t.load.push_back(1000 - 900 * std::cos(2 * std::numbers::pi * ((m + 360) % 1440) / 1440.0));
  }
  return t;
}

// Capacity 100 per instance, a 10-minute boot: ramps outrun a reactive policy.
WorkloadModel model() {
  WorkloadModel m;
  m.capacity_per_instance = 100;
  m.boot_delay = minutes(10);
  m.billing = {BillingKind::kPerSecond, seconds(60)};
  m.price_per_hour = 1;
  m.queue_limit = 0;
  m.sources = {{"load", MetricKind::kTotalRate, seconds(60), seconds(60)},
               {"cpu", MetricKind::kUtilization, seconds(60), seconds(60)}};
  return m;
}

PolicySpec reactive() {
  TargetTrackingSpec tt;
  tt.metric = {"cpu", {}};
  tt.target = 90;
  return {"cpu", tt};
}

PolicySpec predictive(ForecastModel model_kind, const char* source = "load") {
  PredictiveSpec p;
  p.metric = {source, {}};
  p.target = 100;
  p.forecast.model = model_kind;
  p.boot_delay = minutes(10);
  p.scheduling_buffer = minutes(5);
  return {"forecast", p};
}

GroupSpec group(bool with_forecast, ForecastModel kind = ForecastModel::kSeasonalNaiveDaily) {
  GroupSpec g;
  g.name = with_forecast ? "predictive" : "reactive";
  g.interval = seconds(60);
  g.min = 1;
  g.max = 100;
  g.policies = {reactive()};
  if (with_forecast) g.policies.push_back(predictive(kind));
  g.behavior.scale_up = {seconds(0), SelectPolicy::kMax, {}};
  g.behavior.scale_down = {minutes(5), SelectPolicy::kMax, {}};
  return g;
}

TEST(ForecastTrack, DatapointsAverageTheDefinedLoad) {
  Trace t;
  t.start = kStart;
  t.step = seconds(30);
  t.load = {10, 20, std::nan(""), 40, 5};
  const std::vector<double> points = total_rate_datapoints(t, seconds(60));
  ASSERT_EQ(points.size(), 2u);  // the last, incomplete minute is left out
  EXPECT_EQ(points[0], 15);
  EXPECT_EQ(points[1], 40);  // the gap is not zero load
}

TEST(ForecastTrack, RefreshesEveryIntervalFromVisibleDatapoints) {
  const Trace t = daily_trace(3);
  ForecastSettings s;
  s.model = ForecastModel::kSeasonalNaiveDaily;
  const ForecastTrack track = make_forecast_track(t, model().sources[0], s, minutes(15));
  ASSERT_EQ(track.size(), 72u);  // hourly over three days
  EXPECT_EQ(track.made_at[0], kStart);
  EXPECT_FALSE(track.have[0]);                                 // nothing visible at the start
  EXPECT_EQ(track.view(1).model, ForecastModel::kRecentMean);  // an hour of history
  // After a day: the seasonal naive forecast of 5-minute means repeats yesterday.
  const ForecastView v = track.view(30);
  EXPECT_EQ(v.model, ForecastModel::kSeasonalNaiveDaily);
  EXPECT_EQ(v.made_at, kStart + hours(30));
  EXPECT_EQ(v.start, kStart + hours(30));
  EXPECT_EQ(v.values.size(), 16u);  // (1 h + 15 min) / 5 min + 1
  for (std::size_t k = 0; k < v.values.size(); ++k) {
    double want = 0;
    for (int m = 0; m < 5; ++m) want += t.load[static_cast<std::size_t>(30 * 60 + 5 * k + m)];
    EXPECT_NEAR(v.values[k], want / 5, 1e-9) << k;
  }
}

// The forecast provisions ahead of the morning ramp: with the same reactive policy, adding the
// predictive one removes most of the under-provisioning.
TEST(PredictiveReplay, ProvisionsAheadOfTheRamp) {
  const Trace t = daily_trace(4);
  const PolicyResult alone = simulate_group(t, model(), group(false));
  const PolicyResult both = simulate_group(t, model(), group(true));
  ASSERT_TRUE(alone.error.empty()) << alone.error;
  ASSERT_TRUE(both.error.empty()) << both.error;
  EXPECT_GT(alone.slo.under_provisioned_time_pct, 3);
  EXPECT_LT(both.slo.under_provisioned_time_pct, alone.slo.under_provisioned_time_pct / 3)
      << alone.slo.under_provisioned_time_pct;
}

TEST(PredictiveReplay, SharedTrackGivesTheSameResult) {
  const Trace t = daily_trace(3);
  const GroupSpec g = group(true, ForecastModel::kAuto);
  auto track = forecast_track_for(t, model(), g, 1);
  ASSERT_TRUE(track) << track.error().message;
  ReplayOptions options;
  options.tracks = {nullptr, *track};
  const PolicyResult shared = simulate_group(t, model(), g, options);
  const PolicyResult own = simulate_group(t, model(), g);
  EXPECT_EQ(shared.cost.money, own.cost.money);
  EXPECT_EQ(shared.slo.under_provisioned_time_pct, own.slo.under_provisioned_time_pct);
  EXPECT_EQ(shared.scale_out, own.scale_out);
}

TEST(PredictiveReplay, ForecastOnlyChangesNothing) {
  const Trace t = daily_trace(3);
  GroupSpec g = group(true);
  std::get<PredictiveSpec>(g.policies[1].spec).forecast_only = true;
  GroupSpec plain = group(false);
  const PolicyResult a = simulate_group(t, model(), g);
  const PolicyResult b = simulate_group(t, model(), plain);
  EXPECT_EQ(a.cost.money, b.cost.money);
  EXPECT_EQ(a.scale_out, b.scale_out);
}

// The chart curve carries the forecast's capacity (forecast_only included): none before the first
// forecast, then about what the forecast load needs (ceil(load / 100) over the lead time, so within
// the pattern's 1..19 instances); a group without a predictive policy has none.
TEST(PredictiveReplay, CurveCarriesTheForecastCapacity) {
  const Trace t = daily_trace(3);
  GroupSpec g = group(true);
  std::get<PredictiveSpec>(g.policies[1].spec).forecast_only = true;
  const PolicyResult r = simulate_group(t, model(), g);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_FALSE(r.curve.empty());
  EXPECT_EQ(r.curve.front().forecast, -1) << "no history at the start";
  int with = 0;
  for (const CurvePoint& p : r.curve) {
    if (p.forecast < 0) continue;
    ++with;
    EXPECT_GE(p.forecast, 1);
    EXPECT_LE(p.forecast, 20);
  }
  EXPECT_GT(with, static_cast<int>(r.curve.size()) / 2);
  // At the daily peak (06:00 on day 3) the forecast asks for the peak's 19 instances.
  const TimePoint peak = kStart + hours(48 + 6);
  const auto at_peak = std::find_if(r.curve.begin(), r.curve.end(),
                                    [&](const CurvePoint& p) { return p.at >= peak; });
  ASSERT_NE(at_peak, r.curve.end());
  EXPECT_EQ(at_peak->forecast, 19);

  const PolicyResult plain = simulate_group(t, model(), group(false));
  for (const CurvePoint& p : plain.curve) ASSERT_EQ(p.forecast, -1);
}

TEST(PredictiveReplay, NeedsATotalRateSource) {
  const Trace t = daily_trace(1);
  GroupSpec g = group(false);
  g.policies.push_back(predictive(ForecastModel::kAuto, "cpu"));
  const PolicyResult r = simulate_group(t, model(), g);
  EXPECT_NE(r.error.find("not a total-rate source"), std::string::npos) << r.error;
}

// The decision sees the forecast of the latest refresh at or before it.
TEST(PredictiveReplay, DecisionsReadTheLatestForecast) {
  const Trace t = daily_trace(2);
  ReplayOptions options;
  int checked = 0;
  options.observer = [&](const GroupSpec&, const Observation& obs, const GroupHistory&,
                         TimePoint now, const Decision& d) {
    ASSERT_EQ(obs.forecasts.size(), 2u);
    const ForecastView& v = obs.forecasts[1];
    if (v.empty()) return;
    EXPECT_LE(v.made_at, now);
    EXPECT_GT(v.made_at + hours(1), now);
    if (d.proposals[1].status == ProposalStatus::kValue) ++checked;
  };
  simulate_group(t, model(), group(true), options);
  EXPECT_GT(checked, 2000);
}

// Figures from measure_from on: the part before only warms the group up.
TEST(MeasuredPart, CountsOnlyTheHeldOutSteps) {
  const Trace t = daily_trace(2);
  ReplayOptions options;
  options.measure_from = 1440;  // the second day
  const PolicyResult second = simulate_group(t, model(), group(true), options);
  const PolicyResult whole = simulate_group(t, model(), group(true));
  // A static capacity of 10 for two days costs 480 instance-hours, 240 of them on day two.
  EXPECT_LT(second.cost.instance_hours, whole.cost.instance_hours * 0.6);
  EXPECT_GT(second.cost.instance_hours, whole.cost.instance_hours * 0.4);
  EXPECT_LT(second.decisions, whole.decisions);
  EXPECT_EQ(second.decisions, 1440);
  // Static: exactly half.
  GroupSpec fixed = group(false);
  fixed.min = fixed.max = 10;
  const PolicyResult half = simulate_group(t, model(), fixed, options);
  EXPECT_NEAR(half.cost.instance_hours, 240, 1e-9);
}

}  // namespace
}  // namespace tide::sim
