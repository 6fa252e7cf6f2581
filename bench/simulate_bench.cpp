// tide simulate's speed (issue "tide simulate", Speed): a 1-year, 1-minute trace (525,600 steps)
// with a daily and weekly pattern, generated deterministically here (fixed-seed std::mt19937),
// replayed through one target-tracking group with full behavior (stabilization, rate limits,
// cooldowns, warmup) evaluated every 60 s. Goal: under 0.1 s on one core (> 5 M steps/s). Also
// four policies through run_scenario on 1, 2 and 4 threads, to show the parallel scaling, and the
// oracle alone. Heap allocations are counted by the replacement global operator new of
// alloc_counter.cpp.
//
//   cmake --preset release && cmake --build build/release --target simulate_bench
//   build/release/simulate_bench
#include <cmath>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"
#include "simulate/simulator.hpp"

namespace tide::sim {
namespace {

constexpr std::size_t kYearMinutes = 525'600;

// Requests per second: a daily wave (quiet at night), a weekday/weekend difference, slow growth
// over the year and +-5 % noise from a fixed-seed generator.
const Trace& year_trace() {
  static const Trace trace = [] {
    Trace t;
    t.name = "synthetic-year";
    t.start = from_unix_seconds(1'704'067'200);  // 2024-01-01T00:00:00Z
    t.step = std::chrono::minutes(1);
    t.load.resize(kYearMinutes);
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> noise(0.95, 1.05);
    const double two_pi = 6.283185307179586;
    for (std::size_t i = 0; i < kYearMinutes; ++i) {
      const double day = static_cast<double>(i % 1440) / 1440.0;
      const bool weekend = (i / 1440) % 7 >= 5;
      const double daily = 0.55 - 0.45 * std::cos(two_pi * day);
      const double growth = 1.0 + 0.5 * static_cast<double>(i) / kYearMinutes;
      t.load[i] = 2000.0 * daily * (weekend ? 0.6 : 1.0) * growth * noise(rng);
    }
    return t;
  }();
  return trace;
}

WorkloadModel model() {
  WorkloadModel m;
  m.capacity_per_instance = 50;
  m.boot_delay = std::chrono::seconds(120);
  m.drain_delay = std::chrono::seconds(30);
  m.billing = {BillingKind::kPerSecond, std::chrono::seconds(60)};
  m.price_per_hour = 0.0416;
  m.queue_limit = 50'000;
  m.slo_wait = std::chrono::seconds(1);
  // CloudWatch-like: 1-minute datapoints, visible a minute late.
  m.sources = {
      {"cpu", MetricKind::kUtilization, std::chrono::seconds(60), std::chrono::seconds(60)}};
  return m;
}

GroupSpec group(double target) {
  GroupSpec g;
  g.name = "web";
  g.interval = std::chrono::seconds(60);
  g.min = 2;
  g.max = 200;
  g.policies = {
      {"cpu", TargetTrackingSpec{{"cpu", {}}, TargetKind::kUtilization, target, 0.1, 0.1, false}}};
  g.behavior.scale_up.stabilization = std::chrono::seconds(60);
  g.behavior.scale_down.stabilization = std::chrono::seconds(300);
  g.behavior.scale_down.policies = {{RateLimitType::kPercent, 10, std::chrono::seconds(60)},
                                    {RateLimitType::kInstances, 2, std::chrono::seconds(60)}};
  g.behavior.scale_down.select = SelectPolicy::kMin;
  g.behavior.scale_out_cooldown = std::chrono::seconds(60);
  g.behavior.scale_in_cooldown = std::chrono::seconds(300);
  g.behavior.warmup = std::chrono::seconds(120);
  return g;
}

void BM_SimulateYearOneGroup(benchmark::State& state) {
  const Trace& trace = year_trace();
  const WorkloadModel m = model();
  const GroupSpec g = group(55);
  long long allocations = 0;
  for (auto _ : state) {
    const long long before = bench::allocation_count();
    PolicyResult r = simulate_group(trace, m, g);
    allocations = bench::allocation_count() - before;
    benchmark::DoNotOptimize(r);
    state.counters["scale_out"] = static_cast<double>(r.scale_out);
  }
  state.counters["steps/s"] = benchmark::Counter(
      static_cast<double>(trace.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.counters["allocs_per_run"] = static_cast<double>(allocations);
}
BENCHMARK(BM_SimulateYearOneGroup)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_OracleYear(benchmark::State& state) {
  const Trace& trace = year_trace();
  const WorkloadModel m = model();
  for (auto _ : state) {
    PolicyResult r = simulate_oracle(trace, m);
    benchmark::DoNotOptimize(r);
  }
  state.counters["steps/s"] = benchmark::Counter(
      static_cast<double>(trace.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OracleYear)->Unit(benchmark::kMillisecond);

// Four group policies (targets 40, 50, 60, 70) through run_scenario on state.range(0) threads.
// Wall time is what matters here; steps/s counts the steps of all four replays.
void BM_RunScenarioFourPolicies(benchmark::State& state) {
  const Trace& trace = year_trace();
  Scenario s;
  s.name = "bench";
  s.model = model();
  for (double target : {40.0, 50.0, 60.0, 70.0}) {
    ScenarioPolicy p;
    p.name = "target-" + std::to_string(static_cast<int>(target));
    p.group = group(target);
    s.policies.push_back(p);
  }
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    SimulationReport r = run_scenario(s, trace, threads);
    benchmark::DoNotOptimize(r);
  }
  state.counters["steps/s"] = benchmark::Counter(
      4.0 * static_cast<double>(trace.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RunScenarioFourPolicies)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace tide::sim

BENCHMARK_MAIN();
