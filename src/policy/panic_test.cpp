#include "policy/panic.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "policy/policies.hpp"

namespace tide {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = from_unix_seconds(1'800'000'000);  // even: bucket boundary

// newTestAutoscaler-like spec: target 10, total 10/0.75, rates 10, stable window 60 s.
PanicSpec test_spec(double tbc = 100) {
  PanicSpec s;
  s.target = 10;
  s.total = 10 / 0.75;
  s.target_burst_capacity = tbc;
  s.max_scale_up_rate = 10;
  s.max_scale_down_rate = 10;
  return s;
}

struct DecideCase {
  const char* name;
  PanicSpec spec;
  double stable, panic;
  std::optional<int> ready;
  KpaState state;
  int want_desired;
  double want_ebc;
  bool want_valid;
  bool want_panicking;
  int want_max_panic_pods;
};

class KpaDecideTest : public ::testing::TestWithParam<DecideCase> {};

TEST_P(KpaDecideTest, Tick) {
  const DecideCase& c = GetParam();
  KpaResult r = kpa_decide(c.spec, c.stable, c.panic, c.ready, c.state, {}, kT0);
  EXPECT_EQ(r.valid, c.want_valid);
  EXPECT_EQ(r.desired, c.want_desired);
  EXPECT_DOUBLE_EQ(r.excess_burst_capacity, c.want_ebc);
  EXPECT_EQ(r.next.panic_time.has_value(), c.want_panicking);
  EXPECT_EQ(r.next.max_panic_pods, c.want_max_panic_pods);
}

PanicSpec with(PanicSpec s, auto&& change) {
  change(s);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KpaDecideTest,
    ::testing::Values(
        // ceil(50/10) = 5; 5/1 >= 2 enters panic; max(5, 5) = 5 -> maxPanicPods 5.
        // ebc = floor(1 x 13.33 - 100 - 50) = floor(-136.67) = -137.
        DecideCase{
            "stable_increase_enters_panic", test_spec(), 50, 50, 1, {}, 5, -137, true, true, 5},
        // ceil(50/10)=5, panic ceil(10/10)=1 < 2: stable mode, 5 pods.
        DecideCase{"stable_mode", test_spec(), 50, 10, 1, {}, 5, -97, true, false, 0},
        // 100 ready, stable 1: ceil(0.1)=1 but scale-down limit floor(100/10)=10.
        DecideCase{"scale_down_rate_limit", test_spec(61), 1, 1, 100, {}, 10, 1271, true, false, 0},
        // MSDR 1.1: floor(100/1.1) = 90.
        DecideCase{"small_scale_down_rate",
                   with(test_spec(1982), [](PanicSpec& s) { s.max_scale_down_rate = 1.1; }),
                   1,
                   1,
                   100,
                   {},
                   90,
                   -650,
                   true,
                   false,
                   0},
        // Unreachable: no scale-down limit.
        DecideCase{"unreachable_no_down_limit",
                   with(test_spec(0), [](PanicSpec& s) { s.reachable = false; }),
                   1,
                   1,
                   100,
                   {},
                   1,
                   0,
                   true,
                   false,
                   0},
        // 1 ready, stable 1000: ceil(100) capped at ceil(10 x 1) = 10.
        DecideCase{"scale_up_rate_limit", test_spec(0), 1000, 10, 1, {}, 10, 0, true, false, 0},
        // readyRaw 0 -> rate limits use 1 (up to 10); ebc uses 0: floor(0 - 81 - 888) = -969.
        DecideCase{
            "zero_ready_uses_one", test_spec(81), 1000, 888, 0, {}, 10, -969, true, true, 10},
        // The ready count could not be read: invalid, state untouched.
        DecideCase{"ready_unknown_invalid",
                   test_spec(81),
                   1000,
                   888,
                   std::nullopt,
                   {},
                   0,
                   0,
                   false,
                   false,
                   0},
        // In panic since 5 s ago with maxPanicPods 50: stable wants 1 -> hold 50.
        DecideCase{"panic_never_scales_down", test_spec(-1), 10, 10, 10,
                   KpaState{kT0 - seconds(5), 50}, 50, -1, true, true, 50},
        // Panic since exactly 60 s ago: not strictly before now -> still panicking.
        DecideCase{"panic_exit_needs_strictly_more_than_window", test_spec(0), 10, 10, 10,
                   KpaState{kT0 - seconds(60), 50}, 50, 0, true, true, 50},
        // Panic since 61 s: leaves panic, maxPanicPods reset; ceil(1) = 1 (down limit 1).
        DecideCase{"panic_exit", test_spec(0), 10, 10, 10, KpaState{kT0 - seconds(61), 50}, 1, 0,
                   true, false, 0},
        // Panic: max(stable 50, panic 30) = 50 > maxPanicPods 5 -> 50 (target 1).
        DecideCase{"panic_takes_larger_of_stable_and_panic",
                   with(test_spec(0), [](PanicSpec& s) { s.target = 1; }), 50, 30, 5,
                   KpaState{kT0 - seconds(5), 5}, 50, 0, true, true, 50},
        // Activation scale 3 lifts ceil(1/10) = 1 to 3 but leaves 0 at 0.
        DecideCase{"activation_scale_lifts_nonzero",
                   with(test_spec(0), [](PanicSpec& s) { s.activation_scale = 3; }),
                   1,
                   1,
                   1,
                   {},
                   3,
                   0,
                   true,
                   false,
                   0},
        DecideCase{"activation_scale_keeps_zero",
                   with(test_spec(0), [](PanicSpec& s) { s.activation_scale = 3; }),
                   0,
                   0,
                   1,
                   {},
                   0,
                   0,
                   true,
                   false,
                   0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(KpaDecide, DelayWindowKeepsMaxForItsBuckets) {
  PanicSpec spec = test_spec(0);
  spec.scale_down_delay = seconds(300);  // 150 buckets of 2 s
  ASSERT_EQ(kpa_delay_buckets(spec), 150);
  std::vector<Recommendation> window;
  // t0+2 s: 40 -> 4 pods, recorded.
  KpaResult r = kpa_decide(spec, 40, 40, 1, {}, window, kT0 + seconds(2));
  EXPECT_EQ(r.desired, 4);
  kpa_record_delay(spec, r.pre_delay, kT0 + seconds(2), window);
  // t0+300 s: no load, but the value from t0+2 s (bucket idx-149) is still in the window.
  r = kpa_decide(spec, 0, 0, 4, {}, window, kT0 + seconds(300));
  EXPECT_EQ(r.pre_delay, 0);
  EXPECT_EQ(r.desired, 4);
  // t0+302 s: bucket idx-150 has left the window.
  r = kpa_decide(spec, 0, 0, 4, {}, window, kT0 + seconds(302));
  EXPECT_EQ(r.desired, 0);
  // Unreachable: the window is bypassed.
  spec.reachable = false;
  r = kpa_decide(spec, 0, 0, 4, {}, window, kT0 + seconds(60));
  EXPECT_EQ(r.desired, 0);
  EXPECT_FALSE(kpa_records_delay(spec));
}

TEST(KpaDecide, RecordDelayKeepsDecreasingEntriesOnePerBucket) {
  PanicSpec spec = test_spec(0);
  spec.scale_down_delay = seconds(10);  // 5 buckets
  std::vector<Recommendation> w;
  kpa_record_delay(spec, 5, kT0, w);
  kpa_record_delay(spec, 3, kT0 + seconds(2), w);
  kpa_record_delay(spec, 4, kT0 + seconds(3), w);  // same bucket as +2 s: merged, 4 wins
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].value, 5);
  EXPECT_EQ(w[1].value, 4);
  kpa_record_delay(spec, 7, kT0 + seconds(4), w);  // larger: everything before it goes
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].value, 7);
  kpa_record_delay(spec, 1, kT0 + seconds(14), w);  // +4 s is 5 buckets old: pruned
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].value, 1);
}

TEST(KpaAverages, MeanOfPointsInsideEachWindowCurrentIncluded) {
  PanicSpec spec;  // stable 60 s, panic 6 s
  const std::vector<MetricPoint> points = {
      {kT0 - seconds(61), 1000},  // outside both
      {kT0 - seconds(60), 1000},  // age == window: outside (age < window only)
      {kT0 - seconds(30), 10},    // stable only
      {kT0 - seconds(6), 20},     // stable only (age == panic window)
      {kT0 - seconds(3), 30},     // both
      {kT0 + seconds(1), 5000},   // future: ignored
  };
  KpaAverages avg = kpa_window_averages(spec, points, 40, kT0);
  EXPECT_DOUBLE_EQ(avg.stable, (10 + 20 + 30 + 40) / 4.0);
  EXPECT_DOUBLE_EQ(avg.panic, (30 + 40) / 2.0);
  // Rounded to 6 decimals: 10/3 -> 3.333333.
  avg =
      kpa_window_averages(spec, std::vector<MetricPoint>{{kT0 - seconds(1), 0}, {kT0, 0}}, 10, kT0);
  EXPECT_DOUBLE_EQ(avg.stable, 3.333333);
}

TEST(ProposePanic, FirstEvaluationStartsInPanicWithMoreThanOneReadyPod) {
  PanicSpec spec = test_spec(0);
  PolicyState state;  // not initialized
  MetricReading reading{true, 10, {}};
  // 5 ready pods, load for 1: upstream's new autoscaler starts in panic with maxPanicPods = 5.
  Proposal p = propose_panic(spec, reading, 5, state, kT0);
  EXPECT_EQ(p.status, ProposalStatus::kValue);
  EXPECT_EQ(p.capacity, 5);
  EXPECT_EQ(p.reason, Reason::kPanicking);
  EXPECT_EQ(p.panic_time, kT0);
  EXPECT_EQ(p.max_panic_pods, 5);
  // One ready pod: no panic.
  p = propose_panic(spec, reading, 1, state, kT0);
  EXPECT_EQ(p.capacity, 1);
  EXPECT_EQ(p.reason, Reason::kStable);
  EXPECT_FALSE(p.panic_time.has_value());
  EXPECT_EQ(p.max_panic_pods, 1);
}

TEST(ProposePanic, UsesStoredStateAndWindows) {
  PanicSpec spec = test_spec(0);
  PolicyState state;
  state.panic_initialized = true;
  state.metric = {{kT0 - seconds(40), 100}, {kT0 - seconds(20), 100}, {kT0 - seconds(2), 400}};
  // stable = (100 + 100 + 400 + 400) / 4 = 250 -> 25; panic = (400 + 400) / 2 = 400 -> 40,
  // 40 / 4 ready >= 2: panic; ready 4 caps at 40: desired max(25, 40) = 40.
  Proposal p = propose_panic(spec, MetricReading{true, 400, {}}, 4, state, kT0);
  EXPECT_EQ(p.status, ProposalStatus::kValue);
  EXPECT_DOUBLE_EQ(p.a, 250);
  EXPECT_DOUBLE_EQ(p.b, 400);
  EXPECT_EQ(p.capacity, 40);
  EXPECT_EQ(p.reason, Reason::kPanicking);
  EXPECT_EQ(p.max_panic_pods, 40);
  EXPECT_EQ(p.pre_delay_capacity, 40);
}

TEST(ProposePanic, NoDataKeepsState) {
  PolicyState state;
  state.panic_initialized = true;
  state.panic_time = kT0 - seconds(10);
  state.max_panic_pods = 7;
  Proposal p = propose_panic(test_spec(), MetricReading{}, 3, state, kT0);
  EXPECT_EQ(p.status, ProposalStatus::kNoData);
  EXPECT_EQ(p.panic_time, kT0 - seconds(10));
  EXPECT_EQ(p.max_panic_pods, 7);
}

}  // namespace
}  // namespace tide
