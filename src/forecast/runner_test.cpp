#include "forecast/runner.hpp"

#include <cmath>
#include <functional>
#include <numbers>

#include <gtest/gtest.h>

namespace tide::forecast {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2024-01-01T00:00:00Z, a Monday.
const TimePoint kStart = from_unix_seconds(1'704'067'200);

double daily(int hour) {
  return 60 + 40 * std::sin(2 * std::numbers::pi * (hour % 24) / 24);
}

ForecastSettings hourly(ForecastModel model) {
  ForecastSettings s;
  s.model = model;
  s.resolution = hours(1);
  s.history = hours(24 * 14);
  s.interval = hours(1);
  return s;
}

// Feeds `hours_of_data` hourly datapoints of `f` (nullopt = a gap) starting at kStart.
void feed(ForecastRunner& r, int hours_of_data,
          const std::function<std::optional<double>(int)>& f) {
  for (int h = 0; h < hours_of_data; ++h) {
    if (auto v = f(h)) r.observe(kStart + hours(h), *v);
  }
}

TEST(Runner, ForecastsFromTheCurrentBucket) {
  ForecastRunner r(hourly(ForecastModel::kSeasonalNaiveDaily), hours(5));
  EXPECT_EQ(r.horizon(), 7);  // interval 1 h + lead 5 h + the current bucket
  feed(r, 48, [](int h) { return daily(h); });
  const TimePoint now = kStart + hours(48) + minutes(10);
  r.refresh(now);
  const ForecastView& v = r.view();
  ASSERT_EQ(v.values.size(), 7u);
  EXPECT_EQ(v.start, kStart + hours(48));
  EXPECT_EQ(v.step, hours(1));
  EXPECT_EQ(v.made_at, now);
  EXPECT_EQ(v.model, ForecastModel::kSeasonalNaiveDaily);
  for (int k = 0; k < 7; ++k) EXPECT_DOUBLE_EQ(v.values[k], daily(48 + k)) << k;
}

TEST(Runner, RecomputesOnItsScheduleOnly) {
  ForecastRunner r(hourly(ForecastModel::kRecentMean), Duration{0});
  EXPECT_TRUE(r.due(kStart));
  r.refresh(kStart);
  EXPECT_FALSE(r.due(kStart + minutes(59)));
  EXPECT_TRUE(r.due(kStart + hours(1)));
  EXPECT_TRUE(r.due(kStart - minutes(1)));  // the clock went back
}

TEST(Runner, AveragesDatapointsIntoBuckets) {
  ForecastRunner r(hourly(ForecastModel::kRecentMean), Duration{0});
  r.observe(kStart + minutes(1), 10);
  r.observe(kStart + minutes(30), 20);
  r.observe(kStart + minutes(61), 5);
  r.observe(kStart + minutes(62), std::numeric_limits<double>::quiet_NaN());  // ignored
  const long long k = r.bucket_of(kStart);
  EXPECT_EQ(r.bucket_value(k), 15);
  EXPECT_EQ(r.bucket_value(k + 1), 5);
  EXPECT_EQ(r.bucket_value(k + 2), std::nullopt);
  EXPECT_EQ(r.newest_bucket(), k + 1);
}

TEST(Runner, MaxBucketsKeepTheHighestDatapoint) {
  ForecastSettings s = hourly(ForecastModel::kRecentMean);
  s.statistic = BucketStatistic::kMax;
  ForecastRunner r(s, Duration{0});
  r.observe(kStart + minutes(1), 10);
  r.observe(kStart + minutes(30), 20);
  r.observe(kStart + minutes(40), 5);
  EXPECT_EQ(r.bucket_value(r.bucket_of(kStart)), 20);
  r.refresh(kStart + hours(1));
  ASSERT_FALSE(r.view().empty());
  EXPECT_EQ(r.view().values[0], 20);  // the recent mean of the peaks
}

TEST(Runner, NoHistoryNoForecast) {
  ForecastRunner r(hourly(ForecastModel::kAuto), hours(1));
  r.refresh(kStart);
  EXPECT_TRUE(r.view().empty());
}

struct FallbackCase {
  const char* name;
  ForecastModel configured;
  int hours_of_data;
  std::function<std::optional<double>(int)> series;
  bool have;  // a forecast at all
  ForecastModel want;
};

class FallbackTest : public ::testing::TestWithParam<FallbackCase> {};

TEST_P(FallbackTest, FallsBackWhenHistoryIsShortOrGappy) {
  const FallbackCase& c = GetParam();
  ForecastRunner r(hourly(c.configured), hours(1));
  feed(r, c.hours_of_data, c.series);
  r.refresh(kStart + hours(c.hours_of_data));
  ASSERT_EQ(!r.view().empty(), c.have);
  if (c.have) {
    EXPECT_EQ(r.view().model, c.want);
    for (double v : r.view().values) {
      EXPECT_TRUE(std::isfinite(v));
      EXPECT_GE(v, 0);
    }
  }
}

std::optional<double> full(int h) {
  return daily(h);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FallbackTest,
    ::testing::Values(
        FallbackCase{"weekly_with_nine_days", ForecastModel::kHoltWintersAdditiveWeekly, 9 * 24,
                     full, true, ForecastModel::kHoltWintersAdditiveWeekly},
        FallbackCase{"weekly_with_three_days_is_daily", ForecastModel::kHoltWintersAdditiveWeekly,
                     3 * 24, full, true, ForecastModel::kHoltWintersAdditiveDaily},
        FallbackCase{"weekly_with_half_a_day_is_recent_mean",
                     ForecastModel::kHoltWintersAdditiveWeekly, 12, full, true,
                     ForecastModel::kRecentMean},
        FallbackCase{"naive_weekly_with_six_days_is_daily", ForecastModel::kSeasonalNaiveWeekly,
                     6 * 24, full, true, ForecastModel::kSeasonalNaiveDaily},
        FallbackCase{"regression_with_a_day_is_recent_mean", ForecastModel::kRegression, 24, full,
                     true, ForecastModel::kRecentMean},
        // Nine days, but the last two days have data only every third hour: more than half of
        // a daily model's last two days are gaps.
        FallbackCase{"gappy_recent_days_is_recent_mean", ForecastModel::kHoltWintersAdditiveDaily,
                     9 * 24,
                     [](int h) -> std::optional<double> {
                       if (h >= 7 * 24 && h % 3 != 0) return std::nullopt;
                       return daily(h);
                     },
                     true, ForecastModel::kRecentMean},
        // A long gap (the last 1.5 days) with older data: a day's datapoints are needed.
        FallbackCase{"long_gap_gives_no_forecast", ForecastModel::kHoltWintersAdditiveDaily, 9 * 24,
                     [](int h) -> std::optional<double> {
                       if (h >= 9 * 24 - 36) return std::nullopt;
                       return daily(h);
                     },
                     false, ForecastModel::kAuto},
        // A few gaps are imputed, not a reason to fall back.
        FallbackCase{"sparse_gaps_are_imputed", ForecastModel::kHoltWintersAdditiveDaily, 4 * 24,
                     [](int h) -> std::optional<double> {
                       if (h % 10 == 3) return std::nullopt;
                       return daily(h);
                     },
                     true, ForecastModel::kHoltWintersAdditiveDaily}),
    [](const auto& info) { return std::string(info.param.name); });

// With a weekly pattern, auto's rolling backtest comes to prefer a weekly model: the daily models
// repeat yesterday, which is wrong on every change of weekday.
TEST(Runner, AutoPicksTheModelWithTheLeastRecentError) {
  auto weekly = [](int h) {
    const int weekday = (h / 24) % 7;
    return daily(h) * (weekday >= 5 ? 0.4 : 1.0 + 0.15 * weekday);
  };
  ForecastRunner r(hourly(ForecastModel::kAuto), hours(1));
  int h = 0;
  for (; h < 9 * 24; ++h) r.observe(kStart + hours(h), weekly(h));
  // Three days of hourly refreshes: every model gets scored.
  for (; h < 12 * 24; ++h) {
    r.refresh(kStart + hours(h));
    r.observe(kStart + hours(h), weekly(h));
  }
  r.refresh(kStart + hours(h));
  const auto naive_weekly = r.score(ForecastModel::kSeasonalNaiveWeekly);
  const auto naive_daily = r.score(ForecastModel::kSeasonalNaiveDaily);
  ASSERT_TRUE(naive_weekly && naive_daily);
  EXPECT_EQ(*naive_weekly, 0);  // the week repeats exactly
  EXPECT_GT(*naive_daily, 0.05);
  const ForecastModel chosen = r.view().model;
  const auto chosen_score = r.score(chosen);
  ASSERT_TRUE(chosen_score);
  for (ForecastModel m : concrete_models()) {
    if (auto s = r.score(m)) {
      EXPECT_LE(*chosen_score, *s) << forecast_model_name(m);
    }
  }
  EXPECT_EQ(*chosen_score, 0);
}

TEST(Runner, Deterministic) {
  auto run = [] {
    ForecastRunner r(hourly(ForecastModel::kAuto), hours(2));
    std::vector<double> out;
    for (int h = 0; h < 10 * 24; ++h) {
      r.observe(kStart + hours(h) + minutes(7), daily(h) + (h % 7) * 3.0);
      if (r.due(kStart + hours(h))) r.refresh(kStart + hours(h));
      for (double v : r.view().values) out.push_back(v);
    }
    return out;
  };
  EXPECT_EQ(run(), run());
}

TEST(Runner, DropsDatapointsOlderThanTheWindow) {
  ForecastSettings s = hourly(ForecastModel::kRecentMean);
  s.history = hours(24);
  ForecastRunner r(s, Duration{0});
  r.observe(kStart + hours(100), 1);
  r.observe(kStart, 5);  // far older than the kept history
  EXPECT_EQ(r.bucket_value(r.bucket_of(kStart)), std::nullopt);
  EXPECT_EQ(r.bucket_value(r.bucket_of(kStart + hours(100))), 1);
}

}  // namespace
}  // namespace tide::forecast
