// The forecasters' cost (docs/predictive.md, "Cost"): one fit and forecast of each model on 14
// days of 5-minute history (4,032 steps) for a 16-step horizon, the daily re-use of Holt-Winters'
// parameters (update), and one refresh of an `auto` ForecastRunner (every model, scored). Heap
// allocations per call are counted by the replacement global operator new of alloc_counter.cpp:
// after construction, fitting allocates nothing.
//
//   cmake --preset release && cmake --build build/release --target forecast_bench
//   build/release/forecast_bench
#include <cmath>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"
#include "forecast/forecaster.hpp"
#include "forecast/runner.hpp"

namespace tide::forecast {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr int kSteps = 14 * 288;

// Requests per second per 5 minutes: a daily wave, quieter weekends, +-10 % noise.
const std::vector<double>& history() {
  static const std::vector<double> h = [] {
    std::vector<double> v(kSteps);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> noise(0.9, 1.1);
    for (int i = 0; i < kSteps; ++i) {
      const double day = static_cast<double>(i % 288) / 288.0;
      const bool weekend = (i / 288) % 7 >= 5;
      v[static_cast<std::size_t>(i)] =
          (600 - 450 * std::cos(6.283185307179586 * day)) * (weekend ? 0.6 : 1.0) * noise(rng);
    }
    return v;
  }();
  return h;
}

void BM_Fit(benchmark::State& state) {
  const auto model = static_cast<ForecastModel>(state.range(0));
  const Shape shape = shape_for(minutes(5), hours(24 * 14), 16);
  auto forecaster = make_forecaster(model, shape);
  std::vector<double> out(16);
  forecaster->forecast(history(), out);  // warm
  long long before = bench::allocation_count();
  for (auto _ : state) {
    benchmark::DoNotOptimize(forecaster->forecast(history(), out));
  }
  state.counters["allocs_per_fit"] = benchmark::Counter(
      static_cast<double>(bench::allocation_count() - before), benchmark::Counter::kAvgIterations);
  state.SetLabel(forecast_model_name(model));
}
BENCHMARK(BM_Fit)->DenseRange(1, kForecastModelCount - 1)->Unit(benchmark::kMicrosecond);

void BM_HoltWintersUpdate(benchmark::State& state) {
  const Shape shape = shape_for(minutes(5), hours(24 * 14), 16);
  auto forecaster = make_forecaster(ForecastModel::kHoltWintersAdditiveWeekly, shape);
  std::vector<double> out(16);
  forecaster->forecast(history(), out);
  long long before = bench::allocation_count();
  for (auto _ : state) {
    benchmark::DoNotOptimize(forecaster->update(history(), out));
  }
  state.counters["allocs_per_fit"] = benchmark::Counter(
      static_cast<double>(bench::allocation_count() - before), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_HoltWintersUpdate)->Unit(benchmark::kMicrosecond);

// One refresh of an auto runner with 14 days of history: every model forecasts and is scored.
// Alternates a parameter-searching refresh (a new day) and an updating one.
void BM_RunnerRefreshAuto(benchmark::State& state) {
  ForecastSettings settings;
  ForecastRunner runner(settings, minutes(8));
  const TimePoint start = from_unix_seconds(1'704'067'200);
  for (int i = 0; i < kSteps; ++i) {
    runner.observe(start + minutes(5) * i, history()[static_cast<std::size_t>(i)]);
  }
  TimePoint now = start + minutes(5) * kSteps;
  runner.refresh(now);
  long long before = bench::allocation_count();
  long long i = 0;
  for (auto _ : state) {
    // An hour of 5-minute datapoints, then the refresh.
    for (int k = 0; k < 12; ++k) {
      runner.observe(now + minutes(5) * k, history()[static_cast<std::size_t>(i++ % kSteps)]);
    }
    now += hours(1);
    runner.refresh(now);
    benchmark::DoNotOptimize(runner.view());
  }
  const long long allocations = bench::allocation_count() - before;
  state.counters["allocs_per_refresh"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.counters["model_is_seasonal"] = runner.view().model != ForecastModel::kRecentMean;
}
BENCHMARK(BM_RunnerRefreshAuto)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tide::forecast

BENCHMARK_MAIN();
