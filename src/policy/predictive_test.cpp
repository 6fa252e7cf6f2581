#include <vector>

#include <gtest/gtest.h>

#include "policy/decide.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

using std::chrono::minutes;

const TimePoint kMade = from_unix_seconds(1'800'000'000);

// A forecast made at kMade in 5-minute steps starting at kMade: 100, 200, ..., 1200.
const std::vector<double> kValues = {100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200};

ForecastView view() {
  return ForecastView{kMade, kMade, minutes(5), kValues, ForecastModel::kHoltWintersAdditiveDaily};
}

struct Case {
  const char* name;
  Duration now_offset;  // now = kMade + offset
  Duration boot;
  Duration buffer;
  double target;
  bool forecast_only;
  MaxCapacityBreach breach;
  double max_buffer;
  bool empty_forecast;
  ProposalStatus want_status;
  Reason want_reason;
  int want_capacity;
  int want_forecast_capacity;
  int want_raised_max;
};

class ProposePredictiveTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProposePredictiveTest, Proposes) {
  const Case& c = GetParam();
  PredictiveSpec spec;
  spec.target = c.target;
  spec.boot_delay = c.boot;
  spec.scheduling_buffer = c.buffer;
  spec.forecast_only = c.forecast_only;
  spec.max_capacity_breach = c.breach;
  spec.max_capacity_buffer = c.max_buffer;
  const ForecastView forecast = c.empty_forecast ? ForecastView{} : view();
  const Proposal p = propose_predictive(spec, forecast, kMade + c.now_offset);
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  EXPECT_EQ(p.capacity, c.want_capacity);
  EXPECT_EQ(p.forecast_capacity, c.want_forecast_capacity);
  EXPECT_EQ(p.raised_max, c.want_raised_max);
}

constexpr auto kValue = ProposalStatus::kValue;
constexpr auto kInactive = ProposalStatus::kInactive;
constexpr auto kHonor = MaxCapacityBreach::kHonor;
constexpr auto kIncrease = MaxCapacityBreach::kIncrease;
constexpr Duration k0{0};

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposePredictiveTest,
    ::testing::Values(
        // now = made, lead 3 min: window [0, 3m) is step 0 only: 100 / 50 = 2.
        Case{"lead_inside_first_step", k0, minutes(3), k0, 50, false, kHonor, 0, false, kValue,
             Reason::kForecast, 2, 2, -1},
        // Lead 10 min covers steps 0 and 1 ([0, 10m)): peak 200 / 50 = 4.
        Case{"lead_spans_two_steps", k0, minutes(10), k0, 50, false, kHonor, 0, false, kValue,
             Reason::kForecast, 4, 4, -1},
        // Boot 3 min + buffer 5 min from now = 12 min: steps 2 and 3 ([12m, 20m)) -> 400 / 50.
        Case{"boot_plus_buffer", minutes(12), minutes(3), minutes(5), 50, false, kHonor, 0, false,
             kValue, Reason::kForecast, 8, 8, -1},
        // A window ending exactly on a step boundary does not reach into the next step.
        Case{"window_end_exclusive", minutes(5), minutes(5), k0, 100, false, kHonor, 0, false,
             kValue, Reason::kForecast, 2, 2, -1},
        Case{"rounds_up", k0, minutes(1), k0, 30, false, kHonor, 0, false, kValue,
             Reason::kForecast, 4, 4, -1},
        Case{"exact_multiple", k0, minutes(1), k0, 25, false, kHonor, 0, false, kValue,
             Reason::kForecast, 4, 4, -1},
        // The forecast ends at 60 min: a stale forecast still covers the start of the window.
        Case{"partly_covered_window", minutes(58), minutes(10), k0, 100, false, kHonor, 0, false,
             kValue, Reason::kForecast, 12, 12, -1},
        Case{"past_the_forecast_abstains", minutes(61), minutes(3), k0, 100, false, kHonor, 0,
             false, kInactive, Reason::kNoForecast, 0, 0, -1},
        Case{"before_the_forecast_abstains", -minutes(20), minutes(3), k0, 100, false, kHonor, 0,
             false, kInactive, Reason::kNoForecast, 0, 0, -1},
        Case{"no_forecast_abstains", k0, minutes(3), k0, 100, false, kHonor, 0, true, kInactive,
             Reason::kNoForecast, 0, 0, -1},
        Case{"forecast_only_abstains", k0, minutes(10), k0, 50, true, kHonor, 0, false, kInactive,
             Reason::kForecastOnly, 0, 4, -1},
        Case{"increase_raises_max_to_forecast", k0, minutes(10), k0, 50, false, kIncrease, 0, false,
             kValue, Reason::kForecast, 4, 4, 4},
        // AWS: buffer 10 % of a forecast capacity of 50 -> an effective max of 55.
        Case{"increase_with_buffer", minutes(25), minutes(3), k0, 12, false, kIncrease, 10, false,
             kValue, Reason::kForecast, 50, 50, 55},
        Case{"zero_target_abstains", k0, minutes(3), k0, 0, false, kHonor, 0, false, kInactive,
             Reason::kNoForecast, 0, 0, -1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PeakForecast, SkipsNonFiniteValues) {
  const std::vector<double> values = {5, std::numeric_limits<double>::quiet_NaN(), 3};
  const ForecastView v{kMade, kMade, minutes(1), values, ForecastModel::kRecentMean};
  bool covered = false;
  EXPECT_EQ(peak_forecast(v, kMade + minutes(1), kMade + minutes(2), covered), 0);
  EXPECT_FALSE(covered);
  EXPECT_EQ(peak_forecast(v, kMade, kMade + minutes(3), covered), 5);
  EXPECT_TRUE(covered);
}

// ---- the predictive policy inside decide() ----------------------------------------------------

GroupSpec group(bool forecast_only, MaxCapacityBreach breach) {
  GroupSpec g;
  g.name = "web";
  g.min = 1;
  g.max = 10;
  g.interval = std::chrono::seconds(60);
  g.behavior.scale_up = ScalingRules{};
  g.behavior.scale_down = ScalingRules{};
  TargetTrackingSpec tt;
  tt.metric = {"cpu", {}};
  tt.target = 50;
  g.policies.push_back({"cpu", tt});
  PredictiveSpec p;
  p.metric = {"load", {}};
  p.target = 100;
  p.boot_delay = minutes(10);
  p.forecast_only = forecast_only;
  p.max_capacity_breach = breach;
  g.policies.push_back({"forecast", p});
  return g;
}

struct DecideCase {
  const char* name;
  bool forecast_only;
  MaxCapacityBreach breach;
  double cpu;         // of 4 ready instances, against a target of 50
  bool big_forecast;  // 900, 1500 (15 instances) instead of 100, 200, ... (2)
  int want_desired;
  int want_max;
};

class PredictiveDecideTest : public ::testing::TestWithParam<DecideCase> {};

TEST_P(PredictiveDecideTest, LargestProposalWins) {
  const DecideCase& c = GetParam();
  const GroupSpec spec = group(c.forecast_only, c.breach);
  // Lead 10 min at now = kMade: steps 0 and 1, ceil(max(100, 200) / 100) = 2 (big: 15).
  const std::vector<MetricReading> readings = {{true, c.cpu, {}}, {true, 0, {}}};
  std::vector<double> big = {900, 1500};
  const std::vector<ForecastView> forecasts = {
      ForecastView{}, c.big_forecast
                          ? ForecastView{kMade, kMade, minutes(5), big, ForecastModel::kRegression}
                          : view()};
  GroupHistory history;
  history.initialized = true;
  const Observation obs{4, 4, 0, readings, forecasts};
  const Decision d = decide(spec, obs, history, kMade);
  EXPECT_EQ(d.desired, c.want_desired);
  EXPECT_EQ(d.max, c.want_max);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PredictiveDecideTest,
    ::testing::Values(
        // cpu 75 on 4 -> 6 beats the forecast's 2.
        DecideCase{"reactive_wins_when_larger", false, MaxCapacityBreach::kHonor, 75, false, 6, 10},
        // cpu 12.5 on 4 -> 1, the forecast holds 2.
        DecideCase{"forecast_holds_capacity", false, MaxCapacityBreach::kHonor, 12.5, false, 2, 10},
        // forecast_only: the reactive 1 wins.
        DecideCase{"forecast_only_does_not_scale", true, MaxCapacityBreach::kHonor, 12.5, false, 1,
                   10},
        // The forecast asks for 15 > max 10: honor caps at 10, increase lifts the max to 15.
        DecideCase{"honor_caps_at_max", false, MaxCapacityBreach::kHonor, 12.5, true, 10, 10},
        DecideCase{"increase_exceeds_max", false, MaxCapacityBreach::kIncrease, 12.5, true, 15,
                   15}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide
