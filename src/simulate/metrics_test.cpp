#include "simulate/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tide::sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- demand -----------------------------------------------------------------------------------
struct DemandCase {
  const char* name;
  double load;
  double capacity;
  int want;
};

class DemandTest : public ::testing::TestWithParam<DemandCase> {};

TEST_P(DemandTest, Ceil) {
  EXPECT_EQ(demand_of(GetParam().load, GetParam().capacity), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DemandTest,
    ::testing::Values(DemandCase{"zero", 0, 1, 0}, DemandCase{"exact", 3, 1, 3},
                      DemandCase{"fraction_rounds_up", 2.5, 1, 3},
                      DemandCase{"binary_error_absorbed", 0.3, 0.1, 3},
                      DemandCase{"just_over", 3.001, 1, 4}, DemandCase{"gap", kNaN, 1, -1},
                      DemandCase{"negative_load", -5, 1, 0}, DemandCase{"no_capacity", 5, 0, 0}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- billing ----------------------------------------------------------------------------------
struct BillingCase {
  const char* name;
  BillingKind kind;
  Duration minimum;
  long long run_ms;
  long long want_charged_ms;
};

class BillingTest : public ::testing::TestWithParam<BillingCase> {};

TEST_P(BillingTest, Charged) {
  const BillingCase& c = GetParam();
  WorkloadModel m;
  m.billing = {c.kind, c.minimum};
  EXPECT_EQ(BillingMeter(m).charged_ms(c.run_ms), c.want_charged_ms);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BillingTest,
    ::testing::Values(
        BillingCase{"second_below_minimum", BillingKind::kPerSecond, seconds(60), 30'000, 60'000},
        BillingCase{"second_above_minimum", BillingKind::kPerSecond, seconds(60), 90'500, 90'500},
        BillingCase{"second_no_minimum", BillingKind::kPerSecond, seconds(0), 1, 1},
        BillingCase{"hour_started", BillingKind::kPerHour, seconds(0), 1, 3'600'000},
        BillingCase{"hour_exact", BillingKind::kPerHour, seconds(0), 3'600'000, 3'600'000},
        BillingCase{"hour_and_a_bit", BillingKind::kPerHour, seconds(0), 3'600'001, 7'200'000},
        BillingCase{"hour_empty_run", BillingKind::kPerHour, seconds(0), 0, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BillingMeter, CostSumsRuns) {
  WorkloadModel m;
  m.billing = {BillingKind::kPerSecond, seconds(60)};
  m.price_per_hour = 2.0;
  BillingMeter meter(m);
  meter.charge(30'000);     // charged 60 s
  meter.charge(3'540'000);  // 59 min
  const Cost c = meter.cost();
  EXPECT_DOUBLE_EQ(c.instance_hours, 3'570'000.0 / 3'600'000.0);
  EXPECT_DOUBLE_EQ(c.charged_hours, 1.0);
  EXPECT_DOUBLE_EQ(c.money, 2.0);
}

// ---- work -------------------------------------------------------------------------------------
WorkloadModel queue_model(double limit, Duration slo) {
  WorkloadModel m;
  m.queue_limit = limit;
  m.slo_wait = slo;
  return m;
}

struct Tick {
  double rate;
  double capacity;
};

struct WorkCase {
  const char* name;
  WorkloadModel model;
  std::vector<Tick> ticks;  // of 60 s each
  double want_served;       // over all ticks
  double want_late;         // after finish()
  double want_dropped;
};

class WorkTest : public ::testing::TestWithParam<WorkCase> {};

TEST_P(WorkTest, Figures) {
  const WorkCase& c = GetParam();
  WorkQueue q(c.model, 60'000);
  double served = 0;
  long long t = 0;
  for (const Tick& tick : c.ticks) {
    served += q.tick(t, 60'000, tick.rate, tick.capacity);
    t += 60'000;
  }
  q.finish();
  EXPECT_NEAR(served, c.want_served, 1e-9);
  EXPECT_NEAR(q.late(), c.want_late, 1e-9);
  EXPECT_NEAR(q.dropped(), c.want_dropped, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WorkTest,
    ::testing::Values(
        // 5/s against 10/s: everything served on arrival.
        WorkCase{"served_on_arrival", queue_model(1000, seconds(1)), {{5, 10}}, 300, 0, 0},
        // 10/s against 5/s, queue up to 1000, slo 1 s. Tick 1: arrivals 600, the first 300 (those
        // of [0, 30)) served; the unit that arrived at x is served at 2x, so it waited x and is
        // late for x > 1: 10 x 29 = 290. 300 stay queued. Tick 2 (no arrivals, 10/s): the 300
        // are served, all late. Late 590.
        WorkCase{
            "queue_then_drain", queue_model(1000, seconds(1)), {{10, 5}, {0, 10}}, 600, 590, 0},
        // Same with a 30 s SLO: tick 1 late for x > 30 -> none of [0, 30); tick 2 serves the
        // queue [30, 60) from t = 60: the unit at x is served at 60 + (x - 30) = x + 30, wait 30,
        // not late (late means longer than the SLO). Late 0.
        WorkCase{"queue_within_slo", queue_model(1000, seconds(30)), {{10, 5}, {0, 10}}, 600, 0, 0},
        // Queue limit 100: tick 1 leaves 300 queued, 200 dropped (newest first). Tick 2 serves
        // the 100 left, late. Late = 290 + 100.
        WorkCase{
            "drop_beyond_limit", queue_model(100, seconds(1)), {{10, 5}, {0, 10}}, 400, 390, 200},
        // No queue: served on arrival up to capacity, the rest dropped at once, nothing late.
        WorkCase{"no_queue", queue_model(0, seconds(1)), {{10, 5}}, 300, 0, 300},
        // No ready instance: all queued, and still queued at the end -> late.
        WorkCase{"nothing_ready", queue_model(1000, seconds(1)), {{2, 0}}, 0, 120, 0},
        // Queued work is still served in a gap (rate 0).
        WorkCase{"gap_serves_queue",
                 queue_model(1000, seconds(100)),
                 {{10, 5}, {0, 5}, {0, 5}},
                 600,
                 0,
                 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WorkQueue, QueuedReportsTheBacklog) {
  WorkQueue q(queue_model(1000, seconds(1)), 60'000);
  q.tick(0, 60'000, 10, 5);
  EXPECT_NEAR(q.queued(), 300, 1e-9);
  EXPECT_DOUBLE_EQ(q.arrived(), 600);
}

// ---- elasticity ---------------------------------------------------------------------------------
Trace trace_of(std::size_t steps, Duration step = minutes(1)) {
  Trace t;
  t.start = from_unix_seconds(1'700'000'000);
  t.step = step;
  t.load.assign(steps, 1.0);
  return t;
}

struct StepFeed {
  int demand;              // -1 = gap
  std::vector<int> ready;  // per tick; the ticks split the step evenly
};

PolicyResult feed(const Trace& trace, const std::vector<StepFeed>& steps) {
  Metrics m(trace);
  WorkQueue work(WorkloadModel{}, trace.step.count());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const StepFeed& s = steps[i];
    m.begin_step(i, s.demand < 0 ? kNaN : s.demand, s.demand);
    const long long dt = trace.step.count() / static_cast<long long>(s.ready.size());
    for (int r : s.ready) m.add_tick(dt, r, r);
    m.end_step();
  }
  PolicyResult out;
  m.finish(work, out);
  return out;
}

struct ElasticityCase {
  const char* name;
  std::vector<StepFeed> steps;
  Elasticity want;
};

class ElasticityTest : public ::testing::TestWithParam<ElasticityCase> {};

TEST_P(ElasticityTest, HandComputed) {
  const ElasticityCase& c = GetParam();
  const PolicyResult r = feed(trace_of(c.steps.size()), c.steps);
  const Elasticity& e = r.elasticity;
  EXPECT_NEAR(e.theta_u, c.want.theta_u, 1e-9);
  EXPECT_NEAR(e.theta_o, c.want.theta_o, 1e-9);
  EXPECT_NEAR(e.tau_u, c.want.tau_u, 1e-9);
  EXPECT_NEAR(e.tau_o, c.want.tau_o, 1e-9);
  EXPECT_NEAR(e.upsilon, c.want.upsilon, 1e-9);
  EXPECT_NEAR(e.a_u, c.want.a_u, 1e-9);
  EXPECT_NEAR(e.a_o, c.want.a_o, 1e-9);
  EXPECT_NEAR(e.jitter, c.want.jitter, 1e-9);
  EXPECT_NEAR(r.slo.under_provisioned_time_pct, c.want.tau_u, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ElasticityTest,
    ::testing::Values(
        // d = 2 4 4 1, s = 2 2 4 3 over 4 minutes (T = 240 s).
        //  theta_u = 100/240 x (2/4 x 60) = 12.5      tau_u = 60/240 = 25 %
        //  theta_o = 100/240 x (2/1 x 60) = 50        tau_o = 25 %
        //  a_u = 2 x 60 / 240 = 0.5, a_o = 0.5
        //  upsilon: (+,0) (0,+) (-,-) -> 2 of 3 pairs = 66.67 %
        //  jitter: E_S = 0+2+1 = 3, E_D = 2+0+3 = 5 -> (3-5)/4 min = -0.5
        ElasticityCase{"four_steps",
                       {{2, {2}}, {4, {2}}, {4, {4}}, {1, {3}}},
                       {12.5, 50, 25, 25, 200.0 / 3.0, 0.5, 0.5, -0.5}},
        // Perfect supply: everything 0.
        ElasticityCase{"exact", {{1, {1}}, {3, {3}}, {2, {2}}}, {0, 0, 0, 0, 0, 0, 0, 0}},
        // A gap is neither load nor time: d = 2 - 4, s = 2 3 3. T = 120 s; only step 3 is short
        // (1 of 4 for 60 s): theta_u = 100/120 x 15 = 12.5, tau_u = 50 %; no consecutive
        // non-gap pair: upsilon 0; no unit change counted across the gap.
        ElasticityCase{
            "gap_excluded", {{2, {2}}, {-1, {3}}, {4, {3}}}, {12.5, 0, 50, 0, 0, 0.5, 0, 0}},
        // d = 0 counts with max(d, 1): one idle instance for the whole time is theta_o 100 %.
        ElasticityCase{"zero_demand", {{0, {1}}}, {0, 100, 0, 100, 0, 0, 1, 0}},
        // Ticks inside a step: d = 2, ready 1 for 30 s then 2: theta_u = 100/60 x (1/2 x 30) =
        // 25, tau_u = 50 %, a_u = 0.5; E_S = 1 (tick to tick), E_D = 0 -> jitter 1 per minute.
        ElasticityCase{"ticks", {{2, {1, 2}}}, {25, 0, 50, 0, 0, 0.5, 0, 1}},
        // upsilon uses the time-averaged supply of a step: d = 2 2, ready 2 then (1, 3): the
        // average is unchanged, so sgn(delta s) = 0 = sgn(delta d): stable. theta_u: 100/120 x
        // (1/2 x 30), theta_o the same; E_S = |1-2| + |3-1| = 3 -> jitter 3 / 2 min.
        ElasticityCase{"upsilon_on_step_average",
                       {{2, {2, 2}}, {2, {1, 3}}},
                       {12.5, 12.5, 25, 25, 0, 0.25, 0.25, 1.5}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Metrics, SloShares) {
  WorkQueue q(queue_model(100, seconds(1)), 60'000);
  q.tick(0, 60'000, 10, 5);  // 600 arrive, 300 served (290 late), 200 dropped, 100 queued
  q.finish();                // the 100 still queued are late
  const Trace trace = trace_of(1);
  Metrics m(trace);
  m.begin_step(0, 10, 10);
  m.add_tick(60'000, 5, 5);
  m.end_step();
  PolicyResult r;
  m.finish(q, r);
  EXPECT_NEAR(r.slo.late_or_dropped_pct, 100.0 * (290 + 100 + 200) / 600, 1e-9);
  EXPECT_NEAR(r.slo.dropped_pct, 100.0 * 200 / 600, 1e-9);
}

// ---- curves -----------------------------------------------------------------------------------
TEST(Metrics, CurveIsBucketedWithMaxDemandAndMinSupply) {
  const std::size_t n = 5000;  // bucket = ceil(5000 / 2000) = 3 steps
  Trace trace = trace_of(n);
  Metrics m(trace);
  ASSERT_EQ(m.bucket_steps(), 3u);
  for (std::size_t i = 0; i < n; ++i) {
    const int d = static_cast<int>(i % 3) + 1;     // 1 2 3 per bucket
    const int s = 5 - static_cast<int>(i % 3);     // 5 4 3 per bucket
    const double load = i == 3 ? kNaN : 10.0 * d;  // one gap in the second bucket
    m.begin_step(i, load, i == 3 ? -1 : d);
    m.add_tick(60'000, s, s + 1);
    m.end_step();
  }
  PolicyResult r;
  m.finish(WorkQueue(WorkloadModel{}, 60'000), r);
  ASSERT_EQ(r.curve.size(), 1667u);
  EXPECT_LE(r.curve.size(), static_cast<std::size_t>(kCurvePoints));
  EXPECT_EQ(r.curve[0].demand, 3);
  EXPECT_EQ(r.curve[0].supply, 3);
  EXPECT_EQ(r.curve[0].desired, 4);  // at the end of the bucket
  EXPECT_DOUBLE_EQ(r.curve[0].load, 20.0);
  EXPECT_DOUBLE_EQ(r.curve[1].load, 25.0);  // the gap is left out of the mean
  EXPECT_EQ(r.curve[1].at, trace.time_at(3));
  EXPECT_EQ(r.curve.back().at, trace.time_at(4998));
  EXPECT_TRUE(r.worst.empty());  // never short
}

TEST(Metrics, WorstWindowsAreTheMostShortNonOverlapping) {
  const std::size_t n = 1000;  // windows of 200 steps: 0-199, 200-399, ...
  Trace trace = trace_of(n);
  Metrics m(trace);
  ASSERT_EQ(m.window_steps(), 200u);
  // Short by 1 instance during 1 step in window 0, 5 steps in window 3, 3 steps in window 4 and
  // 2 steps in window 1.
  auto short_at = [](std::size_t i) {
    return i == 10 || (i >= 600 && i < 605) || (i >= 800 && i < 803) || (i >= 200 && i < 202);
  };
  for (std::size_t i = 0; i < n; ++i) {
    m.begin_step(i, 10, 2);
    m.add_tick(60'000, short_at(i) ? 1 : 2, 2);
    m.end_step();
  }
  PolicyResult r;
  m.finish(WorkQueue(WorkloadModel{}, 60'000), r);
  ASSERT_EQ(r.worst.size(), 3u);
  EXPECT_EQ(r.worst[0].points.front().at, trace.time_at(600));
  EXPECT_EQ(r.worst[1].points.front().at, trace.time_at(800));
  EXPECT_EQ(r.worst[2].points.front().at, trace.time_at(200));
  for (const Window& w : r.worst) EXPECT_EQ(w.points.size(), 200u);
  EXPECT_EQ(r.worst[0].points[0].supply, 1);
  EXPECT_NE(r.worst[0].label.find("0.0833 instance-hours short"), std::string::npos)
      << r.worst[0].label;
}

}  // namespace
}  // namespace tide::sim
