#include "policy/decide.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tide {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix_seconds(1'800'000'000);

PolicySpec utilization_policy(const char* name, double target) {
  return {name,
          TargetTrackingSpec{{"prom", {}}, TargetKind::kUtilization, target, 0.1, 0.1, false}};
}

// A group with two utilization policies (target 50) and no behavior limits unless a case sets
// them, so each case isolates one stage.
GroupSpec plain_group() {
  GroupSpec g;
  g.name = "web";
  g.min = 1;
  g.max = 100;
  g.policies = {utilization_policy("a", 50), utilization_policy("b", 50)};
  // No rate-limit policies means no limit (kDisabled would forbid any change).
  g.behavior.scale_up = {seconds(0), SelectPolicy::kMax, {}};
  g.behavior.scale_down = {seconds(0), SelectPolicy::kMax, {}};
  return g;
}

GroupHistory initialized_history() {
  GroupHistory h;
  h.initialized = true;
  return h;
}

struct Case {
  const char* name;
  GroupSpec spec;
  GroupHistory history;
  int current;
  int warming;
  std::vector<MetricReading> readings;
  int want_desired;
  std::optional<Stage> want_bound_by;
};

class DecideTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTest, Desired) {
  const Case& c = GetParam();
  Observation obs{c.current, c.current - c.warming, c.warming, c.readings};
  Decision d = decide(c.spec, obs, c.history, kNow);
  EXPECT_EQ(d.desired, c.want_desired) << describe(d, c.spec);
  EXPECT_EQ(d.bound_by, c.want_bound_by) << describe(d, c.spec);
  EXPECT_EQ(d.current, c.current);
  EXPECT_EQ(d.proposal_count, static_cast<int>(c.spec.policies.size()));
}

MetricReading ok(double v) {
  return {true, v, {}};
}
const MetricReading kNoData{};

GroupSpec with_bounds(int min, int max) {
  GroupSpec g = plain_group();
  g.min = min;
  g.max = max;
  return g;
}

GroupSpec with_fallback(int failures, int capacity) {
  GroupSpec g = plain_group();
  g.fallback = FallbackSpec{failures, capacity};
  return g;
}

GroupHistory failing_history(int failures) {
  GroupHistory h = initialized_history();
  h.consecutive_no_data = failures;
  return h;
}

GroupSpec with_down_window(Duration window) {
  GroupSpec g = plain_group();
  g.behavior.scale_down.stabilization = window;
  return g;
}

GroupHistory recommendations(std::vector<std::pair<int, int>> age_value) {
  GroupHistory h = initialized_history();
  for (auto [age, value] : age_value) h.recommendations.push_back({kNow - seconds(age), value});
  return h;
}

GroupSpec with_hpa_defaults() {
  GroupSpec g = plain_group();
  g.behavior = BehaviorSpec{};
  return g;
}

GroupSpec with_warmup() {
  GroupSpec g = plain_group();
  g.behavior.warmup = seconds(120);
  return g;
}

GroupSpec with_scale_in_cooldown() {
  GroupSpec g = plain_group();
  g.behavior.scale_in_cooldown = seconds(300);
  return g;
}

GroupHistory scaled_in_ago(int age) {
  GroupHistory h = initialized_history();
  h.last_scale_in = kNow - seconds(age);
  return h;
}

INSTANTIATE_TEST_SUITE_P(
    Stages, DecideTest,
    ::testing::Values(
        // 4 x 100/50 = 8 and 4 x 75/50 = 6: the largest proposal wins.
        Case{"largest_proposal_wins",
             plain_group(),
             initialized_history(),
             4,
             0,
             {ok(100), ok(75)},
             8,
             std::nullopt},
        // Both ask for 2 (4 x 25/50): scale in.
        Case{"scale_in_when_all_agree",
             plain_group(),
             initialized_history(),
             4,
             0,
             {ok(25), ok(25)},
             2,
             std::nullopt},
        // One policy wants 2, the other has no data: hold 4 (HPA: no scale-in on partial data).
        Case{"no_data_blocks_scale_in",
             plain_group(),
             initialized_history(),
             4,
             0,
             {ok(25), kNoData},
             4,
             Stage::kNoDataGuard},
        // One policy wants 8, the other has no data: scale out anyway.
        Case{"no_data_allows_scale_out",
             plain_group(),
             initialized_history(),
             4,
             0,
             {ok(100), kNoData},
             8,
             std::nullopt},
        Case{"all_no_data_holds",
             plain_group(),
             initialized_history(),
             4,
             0,
             {kNoData, kNoData},
             4,
             std::nullopt},
        // Fewer readings than policies: the missing ones count as no data.
        Case{"missing_reading_is_no_data",
             plain_group(),
             initialized_history(),
             4,
             0,
             {ok(25)},
             4,
             Stage::kNoDataGuard},
        Case{"fallback_after_failures",
             with_fallback(3, 10),
             failing_history(2),
             4,
             0,
             {kNoData, kNoData},
             10,
             Stage::kFallback},
        Case{"no_fallback_before_failures",
             with_fallback(3, 10),
             failing_history(1),
             4,
             0,
             {kNoData, kNoData},
             4,
             std::nullopt},
        // Down window 300 s holds the largest recommendation inside it (7 at 100 s ago).
        Case{"down_stabilization_holds_max",
             with_down_window(seconds(300)),
             recommendations({{400, 9}, {100, 7}, {50, 5}}),
             8,
             0,
             {ok(25), ok(25)},
             7,
             Stage::kStabilization},
        // HPA defaults: from 2, scale-up limited to max(2+4, 2x2) = 6 per 15 s.
        Case{"rate_limit_scale_up",
             with_hpa_defaults(),
             initialized_history(),
             2,
             0,
             {ok(500), ok(10)},
             6,
             Stage::kRateLimit},
        Case{"bounds_max",
             with_bounds(1, 5),
             initialized_history(),
             4,
             0,
             {ok(100), ok(50)},
             5,
             Stage::kBounds},
        Case{"bounds_min",
             with_bounds(3, 10),
             initialized_history(),
             4,
             0,
             {ok(10), ok(10)},
             3,
             Stage::kBounds},
        Case{"warmup_blocks_scale_in",
             with_warmup(),
             initialized_history(),
             4,
             1,
             {ok(10), ok(10)},
             4,
             Stage::kWarmup},
        Case{"cooldown_blocks_scale_in",
             with_scale_in_cooldown(),
             scaled_in_ago(100),
             4,
             0,
             {ok(10), ok(10)},
             4,
             Stage::kCooldown},
        Case{"cooldown_expired",
             with_scale_in_cooldown(),
             scaled_in_ago(400),
             4,
             0,
             {ok(10), ok(10)},
             1,
             std::nullopt},
        // A group seen for the first time acts as if `current` was just recommended.
        Case{"first_evaluation_no_scale_in",
             with_hpa_defaults(),
             GroupHistory{},
             4,
             0,
             {ok(10), ok(10)},
             4,
             Stage::kStabilization}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Decide, IsPureAndRepeatable) {
  GroupSpec spec = with_hpa_defaults();
  GroupHistory h = recommendations({{100, 7}, {50, 5}});
  std::vector<MetricReading> readings{ok(80), ok(30)};
  Observation obs{6, 6, 0, readings};
  Decision a = decide(spec, obs, h, kNow);
  Decision b = decide(spec, obs, h, kNow);
  EXPECT_EQ(a.desired, b.desired);
  EXPECT_EQ(a.after, b.after);
  EXPECT_EQ(describe(a, spec), describe(b, spec));
}

TEST(Record, KeepsWindowsAndEvents) {
  GroupSpec spec = with_hpa_defaults();
  GroupHistory h;
  std::vector<MetricReading> readings{ok(100), ok(100)};
  Observation obs{4, 4, 0, readings};
  TimePoint t = kNow;
  Decision first = decide(spec, obs, h, t);
  record(spec, obs, first, /*applied=*/true, h);
  EXPECT_TRUE(h.initialized);
  // The virtual initial recommendation plus this one.
  ASSERT_EQ(h.recommendations.size(), 2u);
  EXPECT_EQ(h.recommendations[0].value, 4);
  EXPECT_EQ(h.recommendations[1].value, 8);
  ASSERT_EQ(first.desired, 8);
  ASSERT_EQ(h.scale_up_events.size(), 1u);
  EXPECT_EQ(h.scale_up_events[0].change, 4);
  EXPECT_EQ(h.last_scale_out, t);

  // 20 minutes of evaluations every 15 s: the recommendation list stays bounded by the 300 s
  // down window.
  obs.current = 8;
  for (int i = 1; i <= 80; ++i) {
    t += seconds(15);
    record(spec, obs, decide(spec, obs, h, t), /*applied=*/false, h);
  }
  EXPECT_LE(h.recommendations.size(), 21u);
  EXPECT_GE(h.recommendations.size(), 20u);
}

TEST(Record, NotAppliedStoresNoEvent) {
  GroupSpec spec = plain_group();
  GroupHistory h = initialized_history();
  std::vector<MetricReading> readings{ok(100), ok(100)};
  Observation obs{4, 4, 0, readings};
  Decision d = decide(spec, obs, h, kNow);
  ASSERT_TRUE(d.scales());
  record(spec, obs, d, /*applied=*/false, h);
  EXPECT_TRUE(h.scale_up_events.empty());
  EXPECT_FALSE(h.last_scale_out.has_value());
}

}  // namespace
}  // namespace tide
