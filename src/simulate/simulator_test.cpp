#include "simulate/simulator.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tide::sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const TimePoint kStart = from_unix_seconds(1'700'000'000);

Trace make_trace(std::vector<double> load, Duration step = minutes(1)) {
  Trace t;
  t.start = kStart;
  t.step = step;
  t.load = std::move(load);
  t.name = "test";
  return t;
}

// Capacity 10 per instance, no boot or drain, per-second billing with a 60 s minimum, a
// group-total source read every minute without delay.
WorkloadModel base_model() {
  WorkloadModel m;
  m.capacity_per_instance = 10;
  m.boot_delay = {};
  m.drain_delay = {};
  m.billing = {BillingKind::kPerSecond, seconds(60)};
  m.price_per_hour = 1.0;
  m.queue_limit = 0;
  m.initial_capacity = 1;
  m.sources = {{"total", MetricKind::kTotalRate, seconds(60), seconds(0)}};
  return m;
}

// desired = ceil(total / 10): a group that follows the load one interval late, with no behavior
// (no windows, no rate limits), so every step can be computed by hand.
GroupSpec follower(Duration interval = seconds(60), const char* source = "total") {
  GroupSpec g;
  g.name = "follower";
  g.interval = interval;
  g.min = 0;
  g.max = 100;
  g.policies = {{"total", TargetTrackingSpec{{source, {}}, TargetKind::kTotal, 10, 0, 0, false}}};
  g.behavior.scale_up = {seconds(0), SelectPolicy::kMax, {}};
  g.behavior.scale_down = {seconds(0), SelectPolicy::kMax, {}};
  return g;
}

double seconds_to_hours(double s) {
  return s / 3600.0;
}

struct Seen {
  long long at_s;
  Observation obs;
  std::vector<MetricReading> readings;
  GroupHistory history;
  Decision decision;
};

// Records every decision with copies of what decide() was given.
struct Recorder {
  std::vector<Seen> seen;
  DecisionObserver observer() {
    return [this](const GroupSpec&, const Observation& obs, const GroupHistory& history,
                  TimePoint now, const Decision& d) {
      Seen s{
          (now - kStart).count() / 1000, obs, {obs.metrics.begin(), obs.metrics.end()}, history, d};
      seen.push_back(std::move(s));
    };
  }
};

std::vector<int> supply_curve(const PolicyResult& r) {
  std::vector<int> v;
  for (const CurvePoint& p : r.curve) v.push_back(p.supply);
  return v;
}
std::vector<int> desired_curve(const PolicyResult& r) {
  std::vector<int> v;
  for (const CurvePoint& p : r.curve) v.push_back(p.desired);
  return v;
}

TEST(DemandAt, UsesTheModelCapacity) {
  WorkloadModel m = base_model();
  EXPECT_EQ(demand_at(25, m), 3);
  EXPECT_EQ(demand_at(kNaN, m), -1);
}

// ---- a hand-computed replay -------------------------------------------------------------------
// Loads 10 30 30 10 10 (demand 1 3 3 1 1), initial 1. Decisions at 0, 60, ... read the previous
// minute: 0 -> no data, hold 1; 60 -> 10, 1; 120 -> 30, 3; 180 -> 30, 3; 240 -> 10, 1.
// Supply 1 1 3 3 1. Over T = 300 s: step 1 short 2 of 3 -> theta_u = 100/300 x (2/3 x 60) =
// 13.33, tau_u = 20 %; step 3 two over for d = 1 -> theta_o = 100/300 x 120 = 40, tau_o = 20 %.
// upsilon pairs (d, s): (+,0) (0,+) (-,0) (0,-) -> 4 of 4 = 100 %. E_S = 4, E_D = 4 -> jitter 0.
// Cost: one instance 300 s + two for 120-240 s = 540 s, all above the minimum.
TEST(SimulateGroup, FollowsTheLoadOneIntervalLate) {
  const Trace trace = make_trace({10, 30, 30, 10, 10});
  const PolicyResult r = simulate_group(trace, base_model(), follower());
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(supply_curve(r), (std::vector<int>{1, 1, 3, 3, 1}));
  EXPECT_EQ(r.decisions, 5);
  EXPECT_EQ(r.scale_out, 1);
  EXPECT_EQ(r.scale_in, 1);
  EXPECT_NEAR(r.elasticity.theta_u, 100.0 / 300 * 40, 1e-9);
  EXPECT_NEAR(r.elasticity.tau_u, 20, 1e-9);
  EXPECT_NEAR(r.elasticity.theta_o, 40, 1e-9);
  EXPECT_NEAR(r.elasticity.tau_o, 20, 1e-9);
  EXPECT_NEAR(r.elasticity.upsilon, 100, 1e-9);
  EXPECT_NEAR(r.elasticity.a_u, 2.0 * 60 / 300, 1e-9);
  EXPECT_NEAR(r.elasticity.a_o, 2.0 * 60 / 300, 1e-9);
  EXPECT_NEAR(r.elasticity.jitter, 0, 1e-9);
  EXPECT_NEAR(r.cost.instance_hours, seconds_to_hours(540), 1e-12);
  EXPECT_NEAR(r.cost.charged_hours, seconds_to_hours(540), 1e-12);
  EXPECT_NEAR(r.cost.money, seconds_to_hours(540), 1e-12);
  // No queue: in step 1, 1800 arrive and 600 are served, 1200 dropped; 5400 arrived in total.
  EXPECT_NEAR(r.slo.dropped_pct, 100.0 * 1200 / 5400, 1e-9);
  EXPECT_NEAR(r.slo.late_or_dropped_pct, 100.0 * 1200 / 5400, 1e-9);
}

// Boot 120 s and drain 30 s: the two instances launched at 120 are ready at 240, where the
// decision removes them before they serve (readiness is settled first, then they are the newest
// ready ones). Supply stays 1; each of the two is billed 120 s + 30 s of drain.
TEST(SimulateGroup, BootAndDrainAreBilledAndServeNothing) {
  WorkloadModel m = base_model();
  m.boot_delay = seconds(120);
  m.drain_delay = seconds(30);
  Recorder rec;
  const PolicyResult r =
      simulate_group(make_trace({10, 30, 30, 10, 10}), m, follower(), rec.observer());
  EXPECT_EQ(supply_curve(r), (std::vector<int>{1, 1, 1, 1, 1}));
  EXPECT_EQ(desired_curve(r), (std::vector<int>{1, 1, 3, 3, 1}));
  EXPECT_NEAR(r.cost.instance_hours, seconds_to_hours(300 + 2 * 150), 1e-12);
  EXPECT_NEAR(r.cost.charged_hours, seconds_to_hours(300 + 2 * 150), 1e-12);
  ASSERT_EQ(rec.seen.size(), 5u);
  // At 180 s: capacity 3, one ready, two booting (reported as warming).
  EXPECT_EQ(rec.seen[3].obs.current, 3);
  EXPECT_EQ(rec.seen[3].obs.ready, 1);
  EXPECT_EQ(rec.seen[3].obs.warming, 2);
  // At 240 s they are ready, and removed.
  EXPECT_EQ(rec.seen[4].obs.ready, 3);
  EXPECT_EQ(rec.seen[4].decision.desired, 1);
}

// A scale-in removes booting instances before ready ones. Loads 20 40 30 30 30 30, initial 2,
// boot 120 s: at 120 the group goes to 4 (two booting until 240); at 180 to 3, which removes one
// booting instance, so two stay ready at 180 (a ready one removed would leave 1).
TEST(SimulateGroup, ScaleInRemovesBootingFirst) {
  WorkloadModel m = base_model();
  m.boot_delay = seconds(120);
  m.initial_capacity = 2;
  Recorder rec;
  const PolicyResult r =
      simulate_group(make_trace({20, 40, 30, 30, 30, 30}), m, follower(), rec.observer());
  EXPECT_EQ(supply_curve(r), (std::vector<int>{2, 2, 2, 2, 3, 3}));
  EXPECT_EQ(desired_curve(r), (std::vector<int>{2, 2, 4, 3, 3, 3}));
  EXPECT_EQ(rec.seen[4].obs.ready, 3);
  EXPECT_EQ(rec.seen[4].obs.warming, 0);
  // Billing: two for 360 s, one for 120-360 s, one booting 120-180 s (60 s, the minimum).
  EXPECT_NEAR(r.cost.charged_hours, seconds_to_hours(2 * 360 + 240 + 60), 1e-12);
}

// Per-hour billing: every started hour of every run.
TEST(SimulateGroup, HourlyBillingChargesStartedHours) {
  WorkloadModel m = base_model();
  m.billing = {BillingKind::kPerHour, {}};
  const PolicyResult r = simulate_group(make_trace({10, 30, 30, 10, 10}), m, follower());
  // Runs: 300 s, 120 s, 120 s -> 3 charged hours.
  EXPECT_NEAR(r.cost.charged_hours, 3, 1e-12);
  EXPECT_NEAR(r.cost.instance_hours, seconds_to_hours(540), 1e-12);
}

// ---- the source model -------------------------------------------------------------------------
struct SourceCase {
  const char* name;
  MetricKind kind;
  std::vector<double> load;
  int initial;
  double queue_limit;
  std::vector<bool> want_ok;  // per decision (every 60 s)
  std::vector<double> want_value;
};

class SourceTest : public ::testing::TestWithParam<SourceCase> {};

TEST_P(SourceTest, Readings) {
  const SourceCase& c = GetParam();
  WorkloadModel m = base_model();
  m.initial_capacity = c.initial;
  m.queue_limit = c.queue_limit;
  m.slo_wait = seconds(600);
  m.sources = {{"s", c.kind, seconds(60), seconds(0)}};
  GroupSpec g = follower(seconds(60), "s");
  g.min = c.initial;
  g.max = c.initial;  // keep the capacity fixed
  Recorder rec;
  simulate_group(make_trace(c.load), m, g, rec.observer());
  ASSERT_EQ(rec.seen.size(), c.want_ok.size());
  for (std::size_t i = 0; i < rec.seen.size(); ++i) {
    EXPECT_EQ(rec.seen[i].readings[0].ok, c.want_ok[i]) << "decision " << i;
    if (c.want_ok[i]) {
      EXPECT_NEAR(rec.seen[i].readings[0].value, c.want_value[i], 1e-9) << "decision " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SourceTest,
    ::testing::Values(
        // 2 instances of 10: 5/s is 25 %, 30/s is 100 % (served 20 of 30).
        SourceCase{"utilization",
                   MetricKind::kUtilization,
                   {5, 30, 10},
                   2,
                   0,
                   {false, true, true},
                   {0, 25, 100}},
        SourceCase{"per_instance_rate",
                   MetricKind::kPerInstanceRate,
                   {5, 30, 10},
                   2,
                   0,
                   {false, true, true},
                   {0, 2.5, 15}},
        SourceCase{"total_rate",
                   MetricKind::kTotalRate,
                   {5, 30, 10},
                   2,
                   0,
                   {false, true, true},
                   {0, 5, 30}},
        // 1 instance, 20/s: the queue grows 600 per minute: at the end of minute 1 it holds 600,
        // of minute 2 1200. The reading averages the minute's end-of-tick backlog.
        SourceCase{"backlog",
                   MetricKind::kBacklog,
                   {20, 20, 20},
                   1,
                   1e9,
                   {false, true, true},
                   {0, 600, 1200}},
        // Gaps: no data, whatever the kind.
        SourceCase{"gap_is_no_data",
                   MetricKind::kTotalRate,
                   {5, kNaN, 10, 10},
                   2,
                   0,
                   {false, true, false, true},
                   {0, 5, 0, 10}},
        // No ready instance: utilization and per-instance figures have no data.
        SourceCase{
            "nothing_ready", MetricKind::kUtilization, {5, 5}, 0, 0, {false, false}, {0, 0}}),
    [](const auto& info) { return std::string(info.param.name); });

// Period 60 s, delay 120 s: the datapoint for [0, 60) is visible at 180; decisions every 60 s.
TEST(SimulateGroup, SourceDelayHidesRecentData) {
  WorkloadModel m = base_model();
  m.sources = {{"total", MetricKind::kTotalRate, seconds(60), seconds(120)}};
  Recorder rec;
  simulate_group(make_trace({10, 20, 30, 40, 50}), m, follower(), rec.observer());
  ASSERT_EQ(rec.seen.size(), 5u);
  EXPECT_FALSE(rec.seen[0].readings[0].ok);
  EXPECT_FALSE(rec.seen[1].readings[0].ok);
  EXPECT_FALSE(rec.seen[2].readings[0].ok);
  EXPECT_TRUE(rec.seen[3].readings[0].ok);
  EXPECT_DOUBLE_EQ(rec.seen[3].readings[0].value, 10);
  EXPECT_DOUBLE_EQ(rec.seen[4].readings[0].value, 20);
}

// A period of 30 s on a 15 s interval and 60 s steps: the tick is 15 s; each datapoint averages
// two ticks and is visible when its period ends.
TEST(SimulateGroup, PeriodShorterThanStep) {
  WorkloadModel m = base_model();
  m.sources = {{"total", MetricKind::kTotalRate, seconds(30), seconds(0)}};
  Recorder rec;
  simulate_group(make_trace({10, 20}), m, follower(seconds(15)), rec.observer());
  ASSERT_EQ(rec.seen.size(), 8u);                       // 0, 15, ..., 105
  EXPECT_FALSE(rec.seen[1].readings[0].ok);             // 15: [0, 30) not complete
  EXPECT_DOUBLE_EQ(rec.seen[2].readings[0].value, 10);  // 30
  EXPECT_DOUBLE_EQ(rec.seen[5].readings[0].value, 10);  // 75: [30, 60)
  EXPECT_DOUBLE_EQ(rec.seen[6].readings[0].value, 20);  // 90: [60, 90)
}

// ---- time grid --------------------------------------------------------------------------------
struct TickCase {
  const char* name;
  Duration step;
  Duration interval;
  std::size_t steps;
  long long want_decisions;
};

class TickTest : public ::testing::TestWithParam<TickCase> {};

TEST_P(TickTest, DecisionsEveryInterval) {
  const TickCase& c = GetParam();
  const PolicyResult r = simulate_group(make_trace(std::vector<double>(c.steps, 10), c.step),
                                        base_model(), follower(c.interval));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.decisions, c.want_decisions);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TickTest,
    ::testing::Values(TickCase{"interval_divides_step", minutes(1), seconds(15), 4, 16},
                      TickCase{"step_divides_interval", minutes(1), minutes(5), 10, 2},
                      TickCase{"gcd", minutes(1), seconds(45), 4, 6},  // 0 45 90 135 180 225
                      TickCase{"hourly_trace", minutes(60), minutes(1), 2, 120}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- gaps -------------------------------------------------------------------------------------
// Loads 30 - - 10 10, initial 3. The gap steps give no data, so the group cannot scale in until a
// datapoint exists again (decision at 240). Gap time is neither load nor time: T = 180 s, and
// step 3 has 3 instances for a demand of 1: theta_o = 100/180 x 120. Billing goes on through the
// gap: 3 x 240 s + 1 x 60 s.
TEST(SimulateGroup, GapsAreNoDataNoLoadNoTimeButBilled) {
  WorkloadModel m = base_model();
  m.initial_capacity = 3;
  Recorder rec;
  const PolicyResult r =
      simulate_group(make_trace({30, kNaN, kNaN, 10, 10}), m, follower(), rec.observer());
  EXPECT_EQ(supply_curve(r), (std::vector<int>{3, 3, 3, 3, 1}));
  ASSERT_EQ(rec.seen.size(), 5u);
  EXPECT_FALSE(rec.seen[2].readings[0].ok);
  EXPECT_FALSE(rec.seen[3].readings[0].ok);
  EXPECT_EQ(rec.seen[3].decision.desired, 3);
  EXPECT_EQ(rec.seen[4].decision.desired, 1);
  EXPECT_NEAR(r.elasticity.theta_o, 100.0 / 180 * 120, 1e-9);
  EXPECT_NEAR(r.elasticity.tau_o, 100.0 / 3, 1e-9);
  EXPECT_NEAR(r.cost.instance_hours, seconds_to_hours(3 * 240 + 60), 1e-12);
  EXPECT_EQ(r.curve[1].demand, 0);
  EXPECT_TRUE(std::isnan(r.curve[1].load));
}

// ---- static -----------------------------------------------------------------------------------
// Capacity 3 for demands 1 2 3 2: theta_o = 100/240 x (2/1 + 1/2 + 0 + 1/2) x 60 = 75, tau_o 75 %.
TEST(SimulateStatic, ConstantSupply) {
  const PolicyResult r = simulate_static(make_trace({10, 20, 30, 20}), base_model(), 3);
  EXPECT_EQ(supply_curve(r), (std::vector<int>{3, 3, 3, 3}));
  EXPECT_NEAR(r.elasticity.theta_o, 75, 1e-9);
  EXPECT_NEAR(r.elasticity.tau_o, 75, 1e-9);
  EXPECT_NEAR(r.elasticity.theta_u, 0, 1e-9);
  EXPECT_EQ(r.decisions, 0);
  EXPECT_NEAR(r.cost.instance_hours, seconds_to_hours(3 * 240), 1e-12);
  EXPECT_EQ(r.slo.late_or_dropped_pct, 0);
}

// 1 instance serving 10/s against 20/s for a minute, queue limit 300, SLO 1 s: the first 600 are
// served (the unit that arrived at x is served at 2x: late for x > 1, 20 x 29 = 580), 300 are
// dropped, 300 wait and are served late in the second minute: late 880, dropped 300 of 1200.
TEST(SimulateStatic, QueueLateAndDrop) {
  WorkloadModel m = base_model();
  m.queue_limit = 300;
  m.slo_wait = seconds(1);
  const PolicyResult r = simulate_static(make_trace({20, 0}), m, 1);
  EXPECT_NEAR(r.slo.late_or_dropped_pct, 100.0 * (880 + 300) / 1200, 1e-9);
  EXPECT_NEAR(r.slo.dropped_pct, 25, 1e-9);
}

// ---- errors -----------------------------------------------------------------------------------
TEST(SimulateGroup, UnknownSourceIsAnError) {
  const PolicyResult r =
      simulate_group(make_trace({10}), base_model(), follower(seconds(60), "prometheus"));
  EXPECT_NE(r.error.find("reads source 'prometheus'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("sources: total"), std::string::npos) << r.error;
}

TEST(SimulateGroup, LambdaMemoryIsNotSimulated) {
  GroupSpec g = follower();
  LambdaMemorySpec memory;
  memory.metric.source = "total";
  memory.function_timeout = seconds(10);
  g.policies.push_back(PolicySpec{"memory", memory});
  const PolicyResult r = simulate_group(make_trace({10}), base_model(), g);
  EXPECT_NE(r.error.find("policy 'memory' (lambda-memory) sizes a function's memory"),
            std::string::npos)
      << r.error;
}

TEST(SimulateGroup, InvalidModelIsAnError) {
  WorkloadModel m = base_model();
  m.capacity_per_instance = -1;
  EXPECT_FALSE(simulate_group(make_trace({10}), m, follower()).error.empty());
  EXPECT_FALSE(simulate_static(make_trace({10}), m, 1).error.empty());
  EXPECT_FALSE(simulate_oracle(make_trace({10}), m).error.empty());
}

// ---- the decision core, unchanged --------------------------------------------------------------
// A day with a daily shape through an HPA-like group with full behavior (defaults: scale-down
// window 300 s, rate limits), utilization read with CloudWatch-like delay. Every 37th decision is
// replayed through decide() directly with what the observer saw: identical.
Trace daily_trace(std::size_t steps) {
  std::vector<double> load(steps);
  for (std::size_t i = 0; i < steps; ++i) {
    const double phase = 2 * 3.14159265358979 * static_cast<double>(i % 1440) / 1440.0;
    load[i] = 200 + 150 * std::sin(phase) + 40 * std::sin(phase * 17);
  }
  return make_trace(std::move(load));
}

GroupSpec hpa_like() {
  GroupSpec g;
  g.name = "hpa";
  g.interval = seconds(15);
  g.min = 1;
  g.max = 100;
  g.policies = {
      {"cpu", TargetTrackingSpec{{"cpu", {}}, TargetKind::kUtilization, 60, 0.1, 0.1, false}}};
  g.behavior.warmup = seconds(60);
  return g;
}

WorkloadModel cloud_model() {
  WorkloadModel m = base_model();
  m.boot_delay = seconds(90);
  m.drain_delay = seconds(20);
  m.queue_limit = 5000;
  m.initial_capacity = -1;
  m.sources = {{"cpu", MetricKind::kUtilization, seconds(60), seconds(60)}};
  return m;
}

TEST(SimulateGroup, DecisionsMatchDecideCalledDirectly) {
  Recorder rec;
  const GroupSpec g = hpa_like();
  const PolicyResult r = simulate_group(daily_trace(1440), cloud_model(), g, rec.observer());
  ASSERT_EQ(rec.seen.size(), 1440u * 4);
  EXPECT_GT(r.scale_out, 0);
  EXPECT_GT(r.scale_in, 0);
  int compared = 0;
  for (std::size_t i = 0; i < rec.seen.size(); i += 37) {
    const Seen& s = rec.seen[i];
    const Observation obs{s.obs.current, s.obs.ready, s.obs.warming, s.readings};
    const Decision d = decide(g, obs, s.history, kStart + seconds(s.at_s));
    EXPECT_EQ(d.desired, s.decision.desired) << "decision " << i;
    EXPECT_EQ(d.bound_by, s.decision.bound_by) << "decision " << i;
    EXPECT_EQ(d.proposals[0].capacity, s.decision.proposals[0].capacity) << "decision " << i;
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

// ---- determinism ------------------------------------------------------------------------------
bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

void expect_identical(const PolicyResult& a, const PolicyResult& b) {
  EXPECT_TRUE(same_bits(a.cost.instance_hours, b.cost.instance_hours));
  EXPECT_TRUE(same_bits(a.cost.charged_hours, b.cost.charged_hours));
  EXPECT_TRUE(same_bits(a.cost.money, b.cost.money));
  EXPECT_TRUE(same_bits(a.cost_vs_oracle, b.cost_vs_oracle));
  EXPECT_TRUE(same_bits(a.slo.late_or_dropped_pct, b.slo.late_or_dropped_pct));
  EXPECT_TRUE(same_bits(a.slo.dropped_pct, b.slo.dropped_pct));
  const double ea[] = {a.elasticity.theta_u, a.elasticity.theta_o, a.elasticity.tau_u,
                       a.elasticity.tau_o,   a.elasticity.upsilon, a.elasticity.a_u,
                       a.elasticity.a_o,     a.elasticity.jitter,  a.elastic_speedup_vs_hpa};
  const double eb[] = {b.elasticity.theta_u, b.elasticity.theta_o, b.elasticity.tau_u,
                       b.elasticity.tau_o,   b.elasticity.upsilon, b.elasticity.a_u,
                       b.elasticity.a_o,     b.elasticity.jitter,  b.elastic_speedup_vs_hpa};
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(same_bits(ea[i], eb[i])) << i;
  EXPECT_EQ(a.scale_out, b.scale_out);
  EXPECT_EQ(a.scale_in, b.scale_in);
  EXPECT_EQ(a.decisions, b.decisions);
  ASSERT_EQ(a.curve.size(), b.curve.size());
  for (std::size_t i = 0; i < a.curve.size(); ++i) {
    EXPECT_TRUE(same_bits(a.curve[i].load, b.curve[i].load));
    EXPECT_EQ(a.curve[i].supply, b.curve[i].supply);
    EXPECT_EQ(a.curve[i].desired, b.curve[i].desired);
  }
  ASSERT_EQ(a.worst.size(), b.worst.size());
  for (std::size_t i = 0; i < a.worst.size(); ++i) EXPECT_EQ(a.worst[i].label, b.worst[i].label);
}

Scenario three_policies() {
  Scenario s;
  s.name = "test";
  s.model = cloud_model();
  ScenarioPolicy hpa;
  hpa.name = "hpa";
  hpa.preset = "hpa";
  hpa.group = hpa_like();
  ScenarioPolicy tight = hpa;
  tight.name = "tight";
  tight.preset = "";
  tight.group.policies[0].spec = TargetTrackingSpec{{"cpu", {}}, TargetKind::kUtilization, 40};
  ScenarioPolicy peak;
  peak.name = "static-peak";
  peak.kind = PolicyKind::kStaticPeak;
  ScenarioPolicy oracle;
  oracle.name = "oracle";
  oracle.kind = PolicyKind::kOracle;
  s.policies = {hpa, tight, peak, oracle};
  return s;
}

TEST(RunScenario, DeterministicAndIndependentOfThreads) {
  const Trace trace = daily_trace(2 * 1440);
  const Scenario s = three_policies();
  const SimulationReport one = run_scenario(s, trace, 1);
  const SimulationReport two = run_scenario(s, trace, 2);
  const SimulationReport again = run_scenario(s, trace, 4);
  ASSERT_EQ(one.policies.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    expect_identical(one.policies[i], two.policies[i]);
    expect_identical(one.policies[i], again.policies[i]);
  }
}

TEST(RunScenario, OrderRatiosAndReferences) {
  const Trace trace = daily_trace(1440);
  const SimulationReport r = run_scenario(three_policies(), trace, 2);
  ASSERT_EQ(r.policies.size(), 4u);
  EXPECT_EQ(r.policies[0].name, "hpa");
  EXPECT_EQ(r.policies[0].kind, "preset:hpa");
  EXPECT_EQ(r.policies[1].kind, "group");
  EXPECT_EQ(r.policies[2].kind, "static-peak");
  EXPECT_EQ(r.policies[3].kind, "oracle");
  EXPECT_EQ(r.steps, 1440);
  EXPECT_EQ(r.end, trace.start + minutes(1440));
  for (const PolicyResult& p : r.policies) EXPECT_TRUE(p.error.empty()) << p.error;
  EXPECT_DOUBLE_EQ(r.policies[3].cost_vs_oracle, 1.0);
  EXPECT_DOUBLE_EQ(r.policies[0].elastic_speedup_vs_hpa, 1.0);
  // Nobody is cheaper than the oracle; the oracle is exact, static-peak never short.
  for (const PolicyResult& p : r.policies) EXPECT_GE(p.cost_vs_oracle, 1.0) << p.name;
  EXPECT_EQ(r.policies[3].elasticity.theta_u, 0);
  EXPECT_EQ(r.policies[3].elasticity.tau_o, 0);
  EXPECT_EQ(r.policies[2].elasticity.tau_u, 0);
}

}  // namespace
}  // namespace tide::sim
