#include "forecast/forecaster.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

namespace tide::forecast {
namespace {

// Hourly steps keep the series short: a day is 24 steps, a week 168.
constexpr int kDay = 24;
const Shape kShape{kDay, 14 * kDay, 48};

// A daily shape between 20 and 100 with a peak in the afternoon, period 24.
double daily(int t) {
  return 60 + 40 * std::sin(2 * std::numbers::pi * (t % kDay) / kDay);
}
// A weekly shape: the daily one times a weekday factor (weekends at half).
double weekly(int t) {
  const int weekday = (t / kDay) % 7;
  return daily(t) * (weekday >= 5 ? 0.5 : 1.0 + 0.1 * weekday);
}

std::vector<double> series(int n, const std::function<double(int)>& f) {
  std::vector<double> out(static_cast<std::size_t>(n));
  for (int t = 0; t < n; ++t) out[static_cast<std::size_t>(t)] = f(t);
  return out;
}

// Largest |forecast - truth| / max(truth, 1) over the horizon.
double worst_relative_error(ForecastModel model, const std::vector<double>& history, int horizon,
                            const std::function<double(int)>& truth) {
  auto forecaster = make_forecaster(model, kShape);
  std::vector<double> out(static_cast<std::size_t>(horizon), -1);
  if (!forecaster->forecast(history, out)) return std::numeric_limits<double>::infinity();
  const int n = static_cast<int>(history.size());
  double worst = 0;
  for (int h = 0; h < horizon; ++h) {
    const double want = truth(n + h);
    worst = std::max(
        worst, std::fabs(out[static_cast<std::size_t>(h)] - want) / std::max(std::fabs(want), 1.0));
  }
  return worst;
}

struct KnownCase {
  const char* name;
  ForecastModel model;
  int days;                           // history length
  std::function<double(int)> series;  // the history and the truth
  double tolerance;                   // largest relative error allowed over 48 steps
};

class KnownSeriesTest : public ::testing::TestWithParam<KnownCase> {};

TEST_P(KnownSeriesTest, ForecastsTheContinuation) {
  const KnownCase& c = GetParam();
  const std::vector<double> history = series(c.days * kDay, c.series);
  EXPECT_LE(worst_relative_error(c.model, history, 48, c.series), c.tolerance);
}

double trend_and_season(int t) {
  return 100 + 0.5 * t + 20 * std::sin(2 * std::numbers::pi * (t % kDay) / kDay);
}
double level_times_season(int t) {
  return (50 + 0.2 * t) * (1 + 0.5 * std::sin(2 * std::numbers::pi * (t % kDay) / kDay));
}
double constant(int) {
  return 42;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KnownSeriesTest,
    ::testing::Values(
        // A series that repeats exactly: seasonal naive is exact.
        KnownCase{"seasonal_naive_daily_repeats_a_day", ForecastModel::kSeasonalNaiveDaily, 3,
                  daily, 0},
        KnownCase{"seasonal_naive_weekly_repeats_a_week", ForecastModel::kSeasonalNaiveWeekly, 8,
                  weekly, 0},
        // Holt-Winters initialised on an exact season has no error to smooth.
        KnownCase{"holt_winters_additive_daily_season", ForecastModel::kHoltWintersAdditiveDaily, 4,
                  daily, 1e-9},
        KnownCase{"holt_winters_additive_weekly_season", ForecastModel::kHoltWintersAdditiveWeekly,
                  9, weekly, 1e-9},
        // A linear trend plus a season: the additive trend is exact.
        KnownCase{"holt_winters_additive_linear_trend", ForecastModel::kHoltWintersAdditiveDaily, 5,
                  trend_and_season, 1e-6},
        KnownCase{"holt_winters_multiplicative_daily_season",
                  ForecastModel::kHoltWintersMultiplicativeDaily, 4, daily, 1e-9},
        // A growing level times a season: the multiplicative model follows it closely.
        KnownCase{"holt_winters_multiplicative_growing_level",
                  ForecastModel::kHoltWintersMultiplicativeDaily, 6, level_times_season, 0.05},
        // The daily lag explains the series: the regression's fit is (almost) exact.
        KnownCase{"regression_daily_season", ForecastModel::kRegression, 3, daily, 1e-3},
        KnownCase{"regression_weekly_season", ForecastModel::kRegression, 9, weekly, 1e-3},
        KnownCase{"recent_mean_constant", ForecastModel::kRecentMean, 1, constant, 0}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- minimum history
// ------------------------------------------------------------------------------

struct ShortCase {
  const char* name;
  ForecastModel model;
  int steps;  // history length
  bool ok;
};

class ShortHistoryTest : public ::testing::TestWithParam<ShortCase> {};

TEST_P(ShortHistoryTest, RefusesBelowItsMinimum) {
  const ShortCase& c = GetParam();
  const std::vector<double> history = series(c.steps, daily);
  std::vector<double> out(8, -1);
  auto forecaster = make_forecaster(c.model, kShape);
  EXPECT_EQ(forecaster->forecast(history, out), c.ok);
  if (!c.ok) {
    for (double v : out) EXPECT_EQ(v, -1);  // untouched
  }
}

// Every model forecasts once its documented minimum history is there.
TEST(MinHistory, EnoughForEveryModel) {
  for (ForecastModel model : concrete_models()) {
    const std::vector<double> history = series(min_history_steps(model, kShape), daily);
    std::vector<double> out(8, -1);
    EXPECT_TRUE(make_forecaster(model, kShape)->forecast(history, out))
        << forecast_model_name(model);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ShortHistoryTest,
    ::testing::Values(ShortCase{"recent_mean_needs_a_step", ForecastModel::kRecentMean, 0, false},
                      ShortCase{"recent_mean_one_step", ForecastModel::kRecentMean, 1, true},
                      ShortCase{"seasonal_naive_daily_short", ForecastModel::kSeasonalNaiveDaily,
                                kDay - 1, false},
                      ShortCase{"seasonal_naive_daily_a_day", ForecastModel::kSeasonalNaiveDaily,
                                kDay, true},
                      ShortCase{"seasonal_naive_weekly_short", ForecastModel::kSeasonalNaiveWeekly,
                                7 * kDay - 1, false},
                      ShortCase{"holt_winters_daily_a_season",
                                ForecastModel::kHoltWintersAdditiveDaily, kDay, false},
                      ShortCase{"regression_a_day", ForecastModel::kRegression, kDay, false},
                      ShortCase{"regression_two_days", ForecastModel::kRegression, 2 * kDay, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MinHistory, DocumentedValues) {
  EXPECT_EQ(min_history_steps(ForecastModel::kRecentMean, kShape), 1);
  EXPECT_EQ(min_history_steps(ForecastModel::kSeasonalNaiveDaily, kShape), kDay);
  EXPECT_EQ(min_history_steps(ForecastModel::kSeasonalNaiveWeekly, kShape), 7 * kDay);
  EXPECT_EQ(min_history_steps(ForecastModel::kHoltWintersAdditiveDaily, kShape), 2 * kDay);
  EXPECT_EQ(min_history_steps(ForecastModel::kHoltWintersMultiplicativeWeekly, kShape), 8 * kDay);
  EXPECT_EQ(min_history_steps(ForecastModel::kRegression, kShape), 2 * kDay);
}

TEST(Fallback, WeeklyToDailyToRecentMean) {
  EXPECT_EQ(fallback_of(ForecastModel::kHoltWintersAdditiveWeekly),
            ForecastModel::kHoltWintersAdditiveDaily);
  EXPECT_EQ(fallback_of(ForecastModel::kHoltWintersMultiplicativeWeekly),
            ForecastModel::kHoltWintersMultiplicativeDaily);
  EXPECT_EQ(fallback_of(ForecastModel::kSeasonalNaiveWeekly), ForecastModel::kSeasonalNaiveDaily);
  EXPECT_EQ(fallback_of(ForecastModel::kSeasonalNaiveDaily), ForecastModel::kRecentMean);
  EXPECT_EQ(fallback_of(ForecastModel::kRegression), ForecastModel::kRecentMean);
  EXPECT_EQ(fallback_of(ForecastModel::kRecentMean), ForecastModel::kRecentMean);
}

// ---- robustness: zeros, near-zero levels, level shifts, spikes
// -----------------------------------

struct RobustCase {
  const char* name;
  int days;
  std::function<double(int)> series;
  double max_forecast;  // every forecast must be in [0, max_forecast]
};

class RobustTest : public ::testing::TestWithParam<RobustCase> {};

TEST_P(RobustTest, EveryModelStaysFiniteAndBounded) {
  const RobustCase& c = GetParam();
  const std::vector<double> history = series(c.days * kDay, c.series);
  for (ForecastModel model : concrete_models()) {
    auto forecaster = make_forecaster(model, kShape);
    std::vector<double> out(48, -1);
    if (!forecaster->forecast(history, out)) continue;  // history too short for it
    for (double v : out) {
      ASSERT_TRUE(std::isfinite(v)) << forecast_model_name(model);
      ASSERT_GE(v, 0) << forecast_model_name(model);
      ASSERT_LE(v, c.max_forecast) << forecast_model_name(model);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RobustTest,
    ::testing::Values(
        RobustCase{"all_zeros", 9, [](int) { return 0.0; }, 0},
        // Nights at exactly zero: multiplicative indices of 0 and a level that touches 0.
        RobustCase{"zero_nights", 9, [](int t) { return t % kDay < 8 ? 0.0 : daily(t); }, 300},
        RobustCase{"tiny_level", 9, [](int t) { return 1e-9 * daily(t); }, 1e-6},
        // The load doubles on day 5 and stays there.
        RobustCase{"level_shift", 9, [](int t) { return daily(t) * (t >= 5 * kDay ? 2.0 : 1.0); },
                   600},
        // A load that vanishes for the last day and a half.
        RobustCase{"drop_to_zero", 9, [](int t) { return t >= 9 * kDay - 36 ? 0.0 : daily(t); },
                   300},
        // A one-step spike 50 times the usual load.
        RobustCase{"spike", 9, [](int t) { return t == 8 * kDay + 3 ? 5000.0 : daily(t); }, 15000}),
    [](const auto& info) { return std::string(info.param.name); });

// After a level shift the models follow the new level within a day and a half: an added level
// (the additive model's kind of change) and a doubled one (the multiplicative model's kind; the
// additive model's seasonal terms need days to double their amplitude).
struct ShiftCase {
  const char* name;
  std::function<double(int)> series;
  std::vector<ForecastModel> models;
};

class LevelShiftTest : public ::testing::TestWithParam<ShiftCase> {};

TEST_P(LevelShiftTest, ModelsFollowTheNewLevel) {
  const ShiftCase& c = GetParam();
  const std::vector<double> history = series(8 * kDay + 12, c.series);
  for (ForecastModel model : c.models) {
    EXPECT_LE(worst_relative_error(model, history, 12, c.series), 0.05)
        << forecast_model_name(model);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LevelShiftTest,
    ::testing::Values(ShiftCase{"added_level",
                                [](int t) { return daily(t) + (t >= 7 * kDay ? 100.0 : 0.0); },
                                {ForecastModel::kHoltWintersAdditiveDaily,
                                 ForecastModel::kSeasonalNaiveDaily, ForecastModel::kRegression}},
                      ShiftCase{"doubled_level",
                                [](int t) { return daily(t) * (t >= 7 * kDay ? 2.0 : 1.0); },
                                {ForecastModel::kHoltWintersMultiplicativeDaily,
                                 ForecastModel::kSeasonalNaiveDaily, ForecastModel::kRegression}}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- gaps ---------------------------------------------------------------------------------------

struct GapCase {
  const char* name;
  std::vector<double> in;
  int day;
  std::vector<double> want;
  int finite;
};

class ImputeTest : public ::testing::TestWithParam<GapCase> {};

TEST_P(ImputeTest, FillsGaps) {
  const GapCase& c = GetParam();
  std::vector<double> v = c.in;
  EXPECT_EQ(impute_gaps(v, c.day), c.finite);
  ASSERT_EQ(v.size(), c.want.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(c.want[i])) {
      EXPECT_TRUE(std::isnan(v[i])) << i;
    } else {
      EXPECT_EQ(v[i], c.want[i]) << i;
    }
  }
}

constexpr double kGap = std::numeric_limits<double>::quiet_NaN();

INSTANTIATE_TEST_SUITE_P(
    Cases, ImputeTest,
    ::testing::Values(
        GapCase{"no_gaps", {1, 2, 3}, 2, {1, 2, 3}, 3},
        GapCase{"first_day_carries_forward", {1, kGap, kGap, 4}, 3, {1, 1, 1, 4}, 2},
        GapCase{"later_gap_repeats_yesterday", {1, 2, 3, kGap, 5, kGap}, 3, {1, 2, 3, 1, 5, 3}, 4},
        GapCase{"long_gap_repeats_the_last_day",
                {1, 2, kGap, kGap, kGap, kGap},
                2,
                {1, 2, 1, 2, 1, 2},
                2},
        GapCase{"leading_gaps_take_the_first_value", {kGap, kGap, 7, 8}, 2, {7, 7, 7, 8}, 2},
        GapCase{"negative_becomes_zero", {-1, 2}, 2, {0, 2}, 2},
        GapCase{
            "infinity_is_a_gap", {1, std::numeric_limits<double>::infinity(), 3}, 5, {1, 1, 3}, 2},
        GapCase{"all_gaps", {kGap, kGap}, 2, {kGap, kGap}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide::forecast
