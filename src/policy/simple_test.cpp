#include <gtest/gtest.h>

#include <optional>

#include "policy/policies.hpp"

namespace tide {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix_seconds(1'800'000'000);

SimpleSpec spec(Comparison comparison, double threshold, AdjustmentType type, double adjustment) {
  SimpleSpec s;
  s.threshold = threshold;
  s.comparison = comparison;
  s.adjustment_type = type;
  s.adjustment = adjustment;
  s.cooldown = seconds(300);
  return s;
}

const SimpleSpec kOut = spec(Comparison::kGreaterOrEqual, 70, AdjustmentType::kChange, 2);
const SimpleSpec kOutStrict = spec(Comparison::kGreater, 70, AdjustmentType::kChange, 2);
const SimpleSpec kIn = spec(Comparison::kLess, 30, AdjustmentType::kChange, -1);
const SimpleSpec kInOrEqual = spec(Comparison::kLessOrEqual, 30, AdjustmentType::kChange, -1);
const SimpleSpec kPercentOut = spec(Comparison::kGreater, 70, AdjustmentType::kPercent, 50);

struct Case {
  const char* name;
  SimpleSpec spec;
  bool ok;
  double metric;
  int base;
  std::optional<TimePoint> last_triggered;
  ProposalStatus want_status;
  Reason want_reason;
  int want_capacity;  // when kValue
};

class ProposeSimpleTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProposeSimpleTest, Proposes) {
  const Case& c = GetParam();
  PolicyState state;
  state.last_triggered = c.last_triggered;
  Proposal p = propose_simple(c.spec, MetricReading{c.ok, c.metric, {}}, c.base, state, kNow);
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  EXPECT_EQ(p.triggered, c.want_status == ProposalStatus::kValue);
  if (c.want_status == ProposalStatus::kValue) {
    EXPECT_EQ(p.capacity, c.want_capacity);
  }
}

constexpr auto kValue = ProposalStatus::kValue;
constexpr auto kInactive = ProposalStatus::kInactive;
constexpr auto kNoData = ProposalStatus::kNoData;

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeSimpleTest,
    ::testing::Values(
        Case{"out_breached", kOut, true, 80, 4, {}, kValue, Reason::kSimpleTriggered, 6},
        Case{"out_at_threshold_ge", kOut, true, 70, 4, {}, kValue, Reason::kSimpleTriggered, 6},
        Case{"out_at_threshold_gt_not_breached",
             kOutStrict,
             true,
             70,
             4,
             {},
             kInactive,
             Reason::kSimpleNotBreached,
             0},
        // A scale-out policy that is not breached abstains (does not hold 4).
        Case{"out_not_breached_abstains",
             kOut,
             true,
             50,
             4,
             {},
             kInactive,
             Reason::kSimpleNotBreached,
             0},
        Case{"in_breached", kIn, true, 10, 4, {}, kValue, Reason::kSimpleTriggered, 3},
        Case{"in_at_threshold_lt_not_breached",
             kIn,
             true,
             30,
             4,
             {},
             kInactive,
             Reason::kSimpleNotBreached,
             0},
        Case{
            "in_at_threshold_le", kInOrEqual, true, 30, 4, {}, kValue, Reason::kSimpleTriggered, 3},
        // A scale-in policy that is not breached abstains: it must not veto others' scale-in.
        Case{"in_not_breached_abstains",
             kIn,
             true,
             50,
             4,
             {},
             kInactive,
             Reason::kSimpleNotBreached,
             0},
        Case{"in_never_below_zero", kIn, true, 10, 0, {}, kValue, Reason::kSimpleTriggered, 0},
        // Percent: 50 % of 5 = 2.5 -> +2.
        Case{"percent", kPercentOut, true, 90, 5, {}, kValue, Reason::kSimpleTriggered, 7},
        // Cooldown 300 s from the last trigger: 299 s later still cooling down, 300 s later free.
        Case{"in_cooldown_abstains", kOut, true, 90, 4, kNow - seconds(299), kInactive,
             Reason::kSimpleCooldown, 0},
        Case{"cooldown_over", kOut, true, 90, 4, kNow - seconds(300), kValue,
             Reason::kSimpleTriggered, 6},
        // No data wins over the cooldown: the group must not scale in on a blind evaluation.
        Case{"no_data", kOut, false, 0, 4, {}, kNoData, Reason::kNoData, 0},
        Case{"no_data_during_cooldown", kOut, false, 0, 4, kNow - seconds(10), kNoData,
             Reason::kNoData, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProposeSimple, CooldownReportsSecondsLeft) {
  PolicyState state;
  state.last_triggered = kNow - seconds(100);
  Proposal p = propose_simple(kOut, MetricReading{true, 90, {}}, 4, state, kNow);
  EXPECT_DOUBLE_EQ(p.a, 200);
}

}  // namespace
}  // namespace tide
