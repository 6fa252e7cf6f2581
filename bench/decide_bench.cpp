// One decision for a group with three policies and full behavior, with a 300 s history at a 15 s
// interval (issue "Start here", Speed). Reports time per decision and heap allocations per
// decision, counted by the replacement global operator new of alloc_counter.cpp.
#include <vector>

#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"
#include "policy/decide.hpp"

namespace tide {
namespace {

GroupSpec make_group() {
  GroupSpec g;
  g.name = "web";
  g.min = 2;
  g.max = 40;
  g.interval = std::chrono::seconds(15);
  g.policies.push_back(
      {"cpu", TargetTrackingSpec{{"prom", {}}, TargetKind::kUtilization, 55, 0.1, 0.1, false}});
  StepSpec step;
  step.metric = {"prom", {}};
  step.threshold = 200;
  step.adjustment_type = AdjustmentType::kPercent;
  step.steps = {{0.0, 100.0, 10}, {100.0, std::nullopt, 30}};
  g.policies.push_back({"latency", step});
  g.policies.push_back({"queue", QueueSpec{{"redis", {}}, 50, 0}});
  g.behavior.scale_down.policies = {{RateLimitType::kPercent, 10, std::chrono::seconds(60)},
                                    {RateLimitType::kInstances, 2, std::chrono::seconds(60)}};
  g.behavior.scale_down.select = SelectPolicy::kMin;
  g.behavior.scale_up.stabilization = std::chrono::seconds(30);
  g.behavior.scale_in_cooldown = std::chrono::seconds(120);
  g.behavior.warmup = std::chrono::seconds(60);
  return g;
}

struct Situation {
  GroupSpec spec = make_group();
  std::vector<InstanceSample> samples;
  std::vector<MetricReading> readings;
  GroupHistory history;
  TimePoint now = from_unix_seconds(1'800'000'000);

  Situation() {
    for (int i = 0; i < 10; ++i) {
      samples.push_back(
          {600.0 + 10 * i, 1000.0, i < 9 ? InstanceState::kReady : InstanceState::kWarming});
    }
    readings = {{true, 0, samples}, {true, 180, {}}, {true, 420, {}}};
    // 300 s of history at 15 s: 20 recommendations, a few scale events.
    for (int i = 20; i >= 1; --i) {
      history.recommendations.push_back({now - std::chrono::seconds(15 * i), 8 + i % 4});
    }
    history.scale_up_events.push_back({now - std::chrono::seconds(45), 2, false});
    history.scale_down_events.push_back({now - std::chrono::seconds(200), 1, false});
    history.last_scale_out = now - std::chrono::seconds(45);
    history.last_scale_in = now - std::chrono::seconds(200);
    history.initialized = true;
  }
  Observation observation() const { return {10, 9, 1, readings}; }
};

// decide() on `obs` in a loop, counting heap allocations per decision.
void measure_decide(benchmark::State& state, const Situation& s, const Observation& obs) {
  const long long before = bench::allocation_count();
  for (auto _ : state) {
    Decision d = decide(s.spec, obs, s.history, s.now);
    benchmark::DoNotOptimize(d);
  }
  state.counters["allocs_per_decision"] = benchmark::Counter(
      static_cast<double>(bench::allocation_count() - before), benchmark::Counter::kAvgIterations);
}

void BM_Decide(benchmark::State& state) {
  Situation s;
  const Observation obs = s.observation();
  measure_decide(state, s, obs);
}
BENCHMARK(BM_Decide);

// The loop the daemon and the simulator run: decide, then fold the decision into the history,
// with time advancing by the interval. Warmed up first so vectors reach their steady size.
void BM_DecideAndRecord(benchmark::State& state) {
  Situation s;
  const Observation obs = s.observation();
  TimePoint now = s.now;
  for (int i = 0; i < 100; ++i) {
    now += s.spec.interval;
    record(s.spec, obs, decide(s.spec, obs, s.history, now), true, s.history);
  }
  long long before = bench::allocation_count();
  for (auto _ : state) {
    now += s.spec.interval;
    Decision d = decide(s.spec, obs, s.history, now);
    record(s.spec, obs, d, true, s.history);
    benchmark::DoNotOptimize(d);
  }
  state.counters["allocs_per_decision"] = benchmark::Counter(
      static_cast<double>(bench::allocation_count() - before), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_DecideAndRecord);

// A predictive policy next to target tracking: decide() reads the forecast through the
// observation (a 16-step span) and stays allocation-free.
void BM_DecidePredictive(benchmark::State& state) {
  Situation s;
  PredictiveSpec p;
  p.metric = {"prom", {}};
  p.target = 300;
  p.boot_delay = std::chrono::minutes(4);
  p.scheduling_buffer = std::chrono::minutes(5);
  s.spec.policies.push_back({"forecast", p});
  s.readings.push_back({true, 2400, {}});
  std::vector<double> values(16);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 2000 + 50.0 * static_cast<double>(i);
  std::vector<ForecastView> forecasts(s.spec.policies.size());
  forecasts.back() =
      ForecastView{s.now - std::chrono::minutes(20), s.now - std::chrono::minutes(20),
                   std::chrono::minutes(5), values, ForecastModel::kHoltWintersAdditiveDaily};
  const Observation obs{10, 9, 1, s.readings, forecasts};
  measure_decide(state, s, obs);
}
BENCHMARK(BM_DecidePredictive);

}  // namespace
}  // namespace tide

BENCHMARK_MAIN();
