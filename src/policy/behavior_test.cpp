#include "policy/behavior.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace tide {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix_seconds(1'800'000'000);
constexpr int kIntMax = std::numeric_limits<int>::max();
constexpr int kIntMin = std::numeric_limits<int>::min();

TimePoint ago(int s) {
  return kNow - seconds(s);
}

// {value, age in seconds}
std::vector<Recommendation> recs(std::vector<std::pair<int, int>> value_age) {
  std::vector<Recommendation> out;
  for (auto [value, age] : value_age) out.push_back({ago(age), value});
  return out;
}

// {change, age in seconds}
std::vector<ScaleEvent> events(std::vector<std::pair<int, int>> change_age) {
  std::vector<ScaleEvent> out;
  for (auto [change, age] : change_age) out.push_back({ago(age), change, false});
  return out;
}

RateLimit instances(double v, int period) {
  return {RateLimitType::kInstances, v, seconds(period)};
}
RateLimit percent(double v, int period) {
  return {RateLimitType::kPercent, v, seconds(period)};
}

ScalingRules rules(SelectPolicy select, std::vector<RateLimit> policies) {
  return {seconds(0), select, std::move(policies)};
}

// ---- stabilize -----------------------------------------------------------------------------

struct StabilizeCase {
  const char* name;
  int current;
  int proposal;
  std::vector<Recommendation> history;
  int up_window;
  int down_window;
  int want;
};

class Stabilize : public ::testing::TestWithParam<StabilizeCase> {};

TEST_P(Stabilize, Recommends) {
  const StabilizeCase& c = GetParam();
  EXPECT_EQ(stabilize(c.current, c.proposal, c.history, seconds(c.up_window),
                      seconds(c.down_window), kNow),
            c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, Stabilize,
    ::testing::Values(
        // Scale up only to the smallest recommendation of the up window: min(7, 4, 5) = 4.
        StabilizeCase{"up_window_takes_min", 1, 7, recs({{4, 120}, {5, 60}}), 300, 0, 4},
        // Scale down only to the largest of the down window: 10 and 9 are older than 180 s.
        StabilizeCase{"down_window_takes_max", 100, 3,
                      recs({{10, 600}, {4, 60}, {5, 120}, {9, 540}}), 0, 180, 5},
        // Age equal to the window is outside it.
        StabilizeCase{"age_equal_to_window_is_outside", 10, 3, recs({{9, 180}}), 0, 180, 3},
        StabilizeCase{"age_just_inside_window", 10, 3, recs({{9, 179}}), 0, 180, 9},
        // Up window min (1) <= current (2) <= down window max (3): hold current.
        StabilizeCase{"both_windows_hold_current", 2, 1, recs({{2, 6000}, {3, 180}}), 300, 300, 2},
        StabilizeCase{"no_windows_pass_proposal", 100, 3, recs({{10, 60}}), 0, 0, 3},
        // The down window never raises the value above current (no scale-up from old highs).
        StabilizeCase{"down_window_never_scales_up", 3, 3, recs({{8, 60}}), 0, 300, 3},
        StabilizeCase{"empty_history", 4, 9, {}, 300, 300, 9}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- store_recommendation ------------------------------------------------------------------

struct StoreRecommendationCase {
  const char* name;
  std::vector<Recommendation> before;
  int up_window;
  int down_window;
  std::vector<int> want_values;
  int want_now_index;  // where {proposal, now} ends up
};

class StoreRecommendation : public ::testing::TestWithParam<StoreRecommendationCase> {};

TEST_P(StoreRecommendation, ReusesLastOldSlot) {
  const StoreRecommendationCase& c = GetParam();
  std::vector<Recommendation> list = c.before;
  store_recommendation(list, 3, seconds(c.up_window), seconds(c.down_window), kNow);
  std::vector<int> values;
  for (const Recommendation& r : list) values.push_back(r.value);
  EXPECT_EQ(values, c.want_values);
  ASSERT_LT(c.want_now_index, static_cast<int>(list.size()));
  EXPECT_EQ(list[c.want_now_index].at, kNow);
}

INSTANTIATE_TEST_SUITE_P(
    Slots, StoreRecommendation,
    ::testing::Values(
        // 10 and 9 are old for both windows; the last old one (9) is replaced.
        StoreRecommendationCase{"last_old_slot_reused",
                                recs({{10, 600}, {4, 60}, {5, 120}, {9, 540}}),
                                0,
                                180,
                                {10, 4, 5, 3},
                                3},
        StoreRecommendationCase{
            "nothing_old_appends", recs({{4, 120}, {5, 60}}), 300, 0, {4, 5, 3}, 2},
        // Old for the down window but inside the up window: kept.
        StoreRecommendationCase{
            "old_for_one_window_only_is_kept", recs({{4, 200}}), 300, 100, {4, 3}, 1},
        StoreRecommendationCase{"empty_appends", {}, 0, 300, {3}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- change_in_period ----------------------------------------------------------------------

TEST(ChangeInPeriod, CountsEventsYoungerThanPeriod) {
  const auto e = events({{1, 100}, {5, 60}, {9, 20}});
  EXPECT_EQ(change_in_period(e, seconds(60), kNow), 9);  // age 60 is not inside 60 s
  EXPECT_EQ(change_in_period(e, seconds(61), kNow), 14);
  EXPECT_EQ(change_in_period(e, seconds(120), kNow), 15);
  EXPECT_EQ(change_in_period({}, seconds(120), kNow), 0);
  // The outdated flag marks a slot for reuse; it does not hide the event from a longer period.
  auto flagged = e;
  flagged[0].outdated = true;
  EXPECT_EQ(change_in_period(flagged, seconds(120), kNow), 15);
}

// ---- scale_up_limit / scale_down_limit -------------------------------------------------------

struct LimitCase {
  const char* name;
  int current;
  std::vector<ScaleEvent> up;
  std::vector<ScaleEvent> down;
  ScalingRules rules;
  int want;
};

class ScaleUpLimit : public ::testing::TestWithParam<LimitCase> {};
class ScaleDownLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(ScaleUpLimit, Limits) {
  const LimitCase& c = GetParam();
  EXPECT_EQ(scale_up_limit(c.current, c.up, c.down, c.rules, kNow), c.want);
}
TEST_P(ScaleDownLimit, Limits) {
  const LimitCase& c = GetParam();
  EXPECT_EQ(scale_down_limit(c.current, c.up, c.down, c.rules, kNow), c.want);
}

const auto kMax = SelectPolicy::kMax;
const auto kMin = SelectPolicy::kMin;
const auto kDisabled = SelectPolicy::kDisabled;

INSTANTIATE_TEST_SUITE_P(
    Policies, ScaleUpLimit,
    ::testing::Values(
        // HPA defaults from 10: max(10 + 4, 10 x 2) = 20.
        LimitCase{"max_picks_largest", 10, {}, {}, BehaviorSpec{}.scale_up, 20},
        LimitCase{"max_picks_instances_when_larger", 2, {}, {}, BehaviorSpec{}.scale_up, 6},
        // Min: min(1 + 2, ceil(1 x 1.5)) = 2; Percent up rounds up.
        LimitCase{
            "min_picks_smallest", 1, {}, {}, rules(kMin, {instances(2, 60), percent(50, 60)}), 2},
        // Recent scale-ups count against the period: start = 100 - 15 = 85, + 150.
        LimitCase{"events_reduce_period_start",
                  100,
                  events({{1, 100}, {5, 60}, {9, 20}}),
                  {},
                  rules(kMax, {instances(150, 120)}),
                  235},
        // Scale-downs in the period give room back: start 6 - 4 + 2 = 4, x (1 + 300 %) = 16.
        LimitCase{"down_events_raise_period_start", 6, events({{4, 60}}), events({{2, 60}}),
                  rules(kMax, {percent(300, 300)}), 16},
        // An event older than the policy period no longer counts.
        LimitCase{
            "old_events_ignored", 10, events({{5, 60}}), {}, rules(kMax, {instances(2, 60)}), 12},
        // Exact percent: 100 x 110 % = 110 (HPA's float 1.1 x 100 rounds up to 111).
        LimitCase{"percent_is_exact", 100, {}, {}, rules(kMax, {percent(10, 60)}), 110},
        LimitCase{"percent_rounds_up", 3, {}, {}, rules(kMax, {percent(1, 60)}), 4},
        // Fractional instance counts are truncated.
        LimitCase{
            "fractional_instances_truncated", 10, {}, {}, rules(kMax, {instances(2.7, 60)}), 12},
        LimitCase{"disabled_allows_nothing", 10, {}, {}, rules(kDisabled, {instances(5, 60)}), 10},
        LimitCase{"no_policies_no_limit", 10, {}, {}, rules(kMax, {}), kIntMax}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Policies, ScaleDownLimit,
    ::testing::Values(
        // Max allows the largest change: min(100 - 20, trunc(100 x 0.99)) = 80.
        LimitCase{
            "max_picks_lowest", 100, {}, {}, rules(kMax, {instances(20, 60), percent(1, 60)}), 80},
        // Min allows the smallest: max(5 - 2, trunc(5 x 0.5)) = 3.
        LimitCase{
            "min_picks_highest", 5, {}, {}, rules(kMin, {instances(2, 60), percent(50, 60)}), 3},
        // Percent down truncates: 7 x 0.5 = 3.5 -> 3.
        LimitCase{"percent_truncates", 7, {}, {}, rules(kMax, {percent(50, 60)}), 3},
        // start = 100 + 2 + 4 + 6 = 112, x 50 % = 56.
        LimitCase{"down_events_raise_period_start",
                  100,
                  {},
                  events({{2, 100}, {4, 60}, {6, 20}}),
                  rules(kMax, {percent(50, 120)}),
                  56},
        // start = 100 - 10 (a scale-up in the period) = 90, - 5.
        LimitCase{"up_events_lower_period_start",
                  100,
                  events({{10, 30}}),
                  {},
                  rules(kMax, {instances(5, 60)}),
                  85},
        // HPA default: 100 % per 15 s allows scaling to 0.
        LimitCase{"default_allows_zero", 10, {}, {}, BehaviorSpec{}.scale_down, 0},
        LimitCase{"disabled_allows_nothing", 10, {}, {}, rules(kDisabled, {percent(50, 60)}), 10},
        LimitCase{"no_policies_no_limit", 10, {}, {}, rules(kMax, {}), kIntMin}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- rate_limit ------------------------------------------------------------------------------

struct RateLimitCase {
  const char* name;
  int current;
  int desired;
  BehaviorSpec behavior;
  std::vector<ScaleEvent> up;
  std::vector<ScaleEvent> down;
  int want;
};

class RateLimitStage : public ::testing::TestWithParam<RateLimitCase> {};

TEST_P(RateLimitStage, Limits) {
  const RateLimitCase& c = GetParam();
  GroupHistory h;
  h.scale_up_events = c.up;
  h.scale_down_events = c.down;
  EXPECT_EQ(rate_limit(c.current, c.desired, c.behavior, h, kNow), c.want);
}

BehaviorSpec with_up(ScalingRules r) {
  BehaviorSpec b;
  b.scale_up = std::move(r);
  return b;
}
BehaviorSpec with_down(ScalingRules r) {
  BehaviorSpec b;
  b.scale_down = std::move(r);
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Stage, RateLimitStage,
    ::testing::Values(
        RateLimitCase{"within_limits_unchanged", 5, 7, BehaviorSpec{}, {}, {}, 7},
        RateLimitCase{"scale_up_capped", 10, 50, BehaviorSpec{}, {}, {}, 20},
        RateLimitCase{"scale_down_capped",
                      100,
                      2,
                      with_down(rules(kMax, {instances(20, 60), percent(1, 60)})),
                      {},
                      {},
                      80},
        // The period's budget is used up: start 90 - 5 = 85, limit 87 < current. Hold current,
        // never scale down.
        RateLimitCase{"used_up_scale_up_budget_holds",
                      90,
                      95,
                      with_up(rules(kMax, {instances(2, 60)})),
                      events({{5, 30}}),
                      {},
                      90},
        // Earlier scale-downs raise the limit above current: clamp to current, no scale-up.
        RateLimitCase{"used_up_scale_down_budget_holds",
                      100,
                      0,
                      with_down(rules(kMax, {percent(10, 120)})),
                      {},
                      events({{10, 100}, {10, 60}, {10, 20}}),
                      100},
        RateLimitCase{"no_change_passes", 4, 4, BehaviorSpec{}, {}, {}, 4},
        RateLimitCase{"disabled_scale_up_holds", 4, 9, with_up(rules(kDisabled, {})), {}, {}, 4}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- cooldown --------------------------------------------------------------------------------

struct CooldownCase {
  const char* name;
  int current;
  int desired;
  int out_cooldown;
  int in_cooldown;
  std::optional<int> last_out_age;
  std::optional<int> last_in_age;
  int want;
};

class Cooldown : public ::testing::TestWithParam<CooldownCase> {};

TEST_P(Cooldown, Holds) {
  const CooldownCase& c = GetParam();
  BehaviorSpec b;
  b.scale_out_cooldown = seconds(c.out_cooldown);
  b.scale_in_cooldown = seconds(c.in_cooldown);
  GroupHistory h;
  if (c.last_out_age) h.last_scale_out = ago(*c.last_out_age);
  if (c.last_in_age) h.last_scale_in = ago(*c.last_in_age);
  EXPECT_EQ(cooldown(c.current, c.desired, b, h, kNow), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Aws, Cooldown,
    ::testing::Values(
        CooldownCase{"scale_out_inside_cooldown_holds", 4, 6, 300, 0, 100, std::nullopt, 4},
        CooldownCase{"scale_out_at_cooldown_end_proceeds", 4, 6, 300, 0, 300, std::nullopt, 6},
        CooldownCase{"scale_out_never_scaled_proceeds", 4, 6, 300, 300, std::nullopt, std::nullopt,
                     6},
        // The scale-in cooldown does not delay a scale-out.
        CooldownCase{"scale_out_ignores_scale_in_cooldown", 4, 6, 0, 300, std::nullopt, 10, 6},
        CooldownCase{"scale_in_inside_cooldown_holds", 6, 4, 0, 300, std::nullopt, 100, 6},
        CooldownCase{"scale_in_after_cooldown_proceeds", 6, 4, 0, 300, std::nullopt, 301, 4},
        // A scale-out after the last scale-in cancels the scale-in cooldown.
        CooldownCase{"scale_out_cancels_scale_in_cooldown", 6, 4, 0, 300, 50, 100, 4},
        // A scale-out before the last scale-in does not.
        CooldownCase{"earlier_scale_out_does_not_cancel", 6, 4, 0, 300, 200, 100, 6},
        // The scale-out cooldown does not delay a scale-in.
        CooldownCase{"scale_in_ignores_scale_out_cooldown", 6, 4, 300, 0, 10, std::nullopt, 4},
        CooldownCase{"zero_cooldowns_never_hold", 6, 4, 0, 0, 0, 0, 4}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- warmup ----------------------------------------------------------------------------------

struct WarmupCase {
  const char* name;
  int current;
  int desired;
  int warming;
  int warmup;
  std::optional<int> last_out_age;
  int want;
};

class Warmup : public ::testing::TestWithParam<WarmupCase> {};

TEST_P(Warmup, Holds) {
  const WarmupCase& c = GetParam();
  BehaviorSpec b;
  b.warmup = seconds(c.warmup);
  GroupHistory h;
  if (c.last_out_age) h.last_scale_out = ago(*c.last_out_age);
  EXPECT_EQ(warmup(c.current, c.desired, c.warming, b, h, kNow), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Aws, Warmup,
    ::testing::Values(WarmupCase{"warming_blocks_scale_in", 6, 4, 1, 120, std::nullopt, 6},
                      WarmupCase{"no_warmup_configured_allows_scale_in", 6, 4, 1, 0, std::nullopt,
                                 4},
                      WarmupCase{"warming_allows_scale_out", 6, 8, 2, 120, 10, 8},
                      WarmupCase{"recent_scale_out_blocks_scale_in", 6, 4, 0, 120, 60, 6},
                      WarmupCase{"scale_out_past_warmup_allows_scale_in", 6, 4, 0, 120, 120, 4},
                      WarmupCase{"nothing_warming_allows_scale_in", 6, 4, 0, 0, 10, 4}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- store_scale_event -----------------------------------------------------------------------

struct StoreEventCase {
  const char* name;
  std::vector<ScaleEvent> before;
  ScalingRules rules;
  std::vector<int> want_changes;
  std::vector<bool> want_outdated;
};

class StoreScaleEvent : public ::testing::TestWithParam<StoreEventCase> {};

TEST_P(StoreScaleEvent, ReusesLastOutdatedSlot) {
  const StoreEventCase& c = GetParam();
  std::vector<ScaleEvent> list = c.before;
  store_scale_event(list, c.rules, 5, kNow);
  std::vector<int> changes;
  std::vector<bool> outdated;
  for (const ScaleEvent& e : list) {
    changes.push_back(e.change);
    outdated.push_back(e.outdated);
  }
  EXPECT_EQ(changes, c.want_changes);
  EXPECT_EQ(outdated, c.want_outdated);
}

std::vector<ScaleEvent> with_outdated(std::vector<ScaleEvent> e, std::size_t i) {
  e[i].outdated = true;
  return e;
}

INSTANTIATE_TEST_SUITE_P(
    Hpa, StoreScaleEvent,
    ::testing::Values(
        StoreEventCase{"empty_appends", {}, rules(kMax, {instances(10, 60)}), {5}, {false}},
        // 61 s is older than the longest period (60 s): its slot is reused.
        StoreEventCase{
            "outdated_replaced", events({{7, 61}}), rules(kMax, {instances(10, 60)}), {5}, {false}},
        StoreEventCase{"one_of_two_replaced",
                       events({{7, 61}, {6, 59}}),
                       rules(kMax, {instances(10, 60)}),
                       {5, 6},
                       {false, false}},
        // The longest period (120 s) decides: both events still count, append.
        StoreEventCase{"longest_period_keeps_both",
                       events({{7, 58}, {6, 59}}),
                       rules(kMax, {instances(10, 120), percent(100, 30)}),
                       {7, 6, 5},
                       {false, false, false}},
        // Two outdated events: the last one is reused, the other stays marked.
        StoreEventCase{"last_outdated_reused",
                       events({{7, 100}, {6, 90}, {4, 10}}),
                       rules(kMax, {instances(10, 60)}),
                       {7, 5, 4},
                       {true, false, false}},
        // A flag set earlier persists even when the event is younger than today's period.
        StoreEventCase{"outdated_flag_persists",
                       with_outdated(events({{7, 30}, {6, 20}}), 0),
                       rules(kMax, {instances(10, 60)}),
                       {5, 6},
                       {false, false}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide
