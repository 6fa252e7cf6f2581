#include "forecast/backtest.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

namespace tide::forecast {
namespace {

using std::chrono::hours;

const TimePoint kStart = from_unix_seconds(1'704'067'200);  // 2024-01-01, a Monday

std::vector<double> hourly_daily(int days) {
  std::vector<double> v;
  for (int h = 0; h < days * 24; ++h)
    v.push_back(60 + 40 * std::sin(2 * std::numbers::pi * (h % 24) / 24));
  return v;
}

ForecastSettings settings(ForecastModel model) {
  ForecastSettings s;
  s.model = model;
  s.resolution = hours(1);
  s.history = hours(24 * 14);
  s.interval = hours(3);
  return s;
}

// A series that repeats every day: seasonal naive is exact from the second day on, which is
// where scoring starts.
TEST(Backtest, RepeatingSeriesSeasonalNaiveIsExact) {
  const std::vector<double> series = hourly_daily(5);
  const BacktestResult r = backtest(series, kStart, settings(ForecastModel::kSeasonalNaiveDaily));
  EXPECT_EQ(r.scored, 4 * 24);
  EXPECT_EQ(r.mape, 0);
  EXPECT_EQ(r.wape, 0);
  EXPECT_EQ(r.under_share, 0);
  EXPECT_EQ(r.bias, 0);
  // The first day is forecast by the fallback (recent mean) until a day of history exists.
  EXPECT_GT(r.used[static_cast<int>(ForecastModel::kRecentMean)], 0);
  EXPECT_GT(r.used[static_cast<int>(ForecastModel::kSeasonalNaiveDaily)], 0);
  EXPECT_TRUE(std::isnan(r.forecast[0]));  // nothing known at the start
}

// Known error: a constant series forecast by the recent mean after a step up.
TEST(Backtest, ErrorFiguresAreHandComputable) {
  // 48 hours at 100, then 24 hours at 200: the recent mean (the last hour, refreshed every 3
  // hours) forecasts 100 for the first three hours at 200 and 200 afterwards.
  std::vector<double> series(72, 100.0);
  for (int h = 48; h < 72; ++h) series[static_cast<std::size_t>(h)] = 200;
  const BacktestResult r = backtest(series, kStart, settings(ForecastModel::kRecentMean));
  EXPECT_EQ(r.scored, 48);
  // Three buckets 50 % off, the rest exact.
  EXPECT_NEAR(r.mape, 100.0 * 3 * 0.5 / 48, 1e-9);
  EXPECT_NEAR(r.wape, 100.0 * 300 / (24 * 100 + 24 * 200), 1e-9);
  EXPECT_NEAR(r.under_share, 100.0 * 3 / 48, 1e-9);
  EXPECT_NEAR(r.bias, -100.0 * 300 / (24 * 100 + 24 * 200), 1e-9);
}

TEST(Backtest, GapsAreNotScored) {
  std::vector<double> series = hourly_daily(4);
  for (int h = 50; h < 60; ++h)
    series[static_cast<std::size_t>(h)] = std::numeric_limits<double>::quiet_NaN();
  const BacktestResult r = backtest(series, kStart, settings(ForecastModel::kSeasonalNaiveDaily));
  EXPECT_EQ(r.scored, 3 * 24 - 10);
  EXPECT_NEAR(r.mape, 0, 1e-12);  // imputed from yesterday: still exact
}

}  // namespace
}  // namespace tide::forecast
