#include <gtest/gtest.h>

#include <vector>

#include "policy/policies.hpp"

namespace tide {
namespace {

// ---- apply_adjustment: AWS rounding ---------------------------------------------------------
struct AdjustCase {
  const char* name;
  AdjustmentType type;
  double adjustment;
  int min_magnitude;
  int current;
  int want;
};

class ApplyAdjustmentTest : public ::testing::TestWithParam<AdjustCase> {};

TEST_P(ApplyAdjustmentTest, Rounds) {
  const AdjustCase& c = GetParam();
  EXPECT_EQ(apply_adjustment(c.type, c.adjustment, c.min_magnitude, c.current), c.want);
}

constexpr auto kChange = AdjustmentType::kChange;
constexpr auto kExact = AdjustmentType::kExact;
constexpr auto kPercent = AdjustmentType::kPercent;

INSTANTIATE_TEST_SUITE_P(
    Aws, ApplyAdjustmentTest,
    ::testing::Values(
        AdjustCase{"change_up", kChange, 3, 0, 10, 13},
        AdjustCase{"change_down", kChange, -4, 0, 10, 6},
        AdjustCase{"change_never_below_zero", kChange, -4, 0, 3, 0},
        AdjustCase{"exact", kExact, 7, 0, 10, 7},
        AdjustCase{"exact_negative_is_zero", kExact, -2, 0, 10, 0},
        // Documented rounding of the change: 12.7 -> 12, 0.67 -> 1, -0.58 -> -1, -6.67 -> -6.
        AdjustCase{"percent_12_7_rounds_down", kPercent, 127, 0, 10, 22},
        AdjustCase{"percent_0_67_rounds_to_1", kPercent, 67, 0, 1, 2},
        AdjustCase{"percent_minus_0_58_rounds_to_minus_1", kPercent, -58, 0, 1, 0},
        AdjustCase{"percent_minus_6_67_rounds_toward_zero", kPercent, -66.7, 0, 10, 4},
        // AWS CLI example: 200 % of 10 -> +20 = 30.
        AdjustCase{"percent_200_of_10", kPercent, 200, 0, 10, 30},
        // MinAdjustmentMagnitude: +25 % of 4 = 1, magnitude 2 -> +2.
        AdjustCase{"min_magnitude_raises_change", kPercent, 25, 2, 4, 6},
        AdjustCase{"min_magnitude_scale_in", kPercent, -25, 2, 4, 2},
        AdjustCase{"min_magnitude_not_needed", kPercent, 50, 2, 10, 15},
        AdjustCase{"min_magnitude_from_zero", kPercent, 50, 2, 0, 2},
        AdjustCase{"percent_of_zero_without_magnitude", kPercent, 50, 0, 0, 0},
        AdjustCase{"percent_zero_is_no_change", kPercent, 0, 3, 10, 10}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- propose_step -----------------------------------------------------------------------------
// The documented example: threshold 50, scale-out [0,10) 0 %, [10,20) +10 %, [20,inf) +30 %;
// scale-in (-10,0] 0 %, (-20,-10] -10 %, (-inf,-20] -30 %.
StepSpec documented_spec() {
  StepSpec s;
  s.threshold = 50;
  s.adjustment_type = kPercent;
  s.steps = {{0, 10, 0},  {10, 20, 10},    {20, std::nullopt, 30},
             {-10, 0, 0}, {-20, -10, -10}, {std::nullopt, -20, -30}};
  return s;
}

struct StepCase {
  const char* name;
  StepSpec spec;
  double metric;
  int base;
  ProposalStatus want_status;
  int want;  // capacity when kValue
};

class ProposeStepTest : public ::testing::TestWithParam<StepCase> {};

TEST_P(ProposeStepTest, Proposes) {
  const StepCase& c = GetParam();
  Proposal p = propose_step(c.spec, MetricReading{true, c.metric, {}}, c.base);
  EXPECT_EQ(p.status, c.want_status);
  if (c.want_status == ProposalStatus::kValue) {
    EXPECT_EQ(p.capacity, c.want);
    EXPECT_EQ(p.reason, Reason::kStepAdjustment);
  }
  EXPECT_DOUBLE_EQ(p.a, c.metric);
  EXPECT_DOUBLE_EQ(p.b, c.spec.threshold);
}

StepSpec out_only() {
  StepSpec s;
  s.threshold = 50;
  s.steps = {{0, std::nullopt, 2}};
  return s;
}

StepSpec in_only() {
  StepSpec s;
  s.threshold = 50;
  s.steps = {{std::nullopt, 0, -1}};
  return s;
}

StepSpec two_out_steps() {
  StepSpec s;
  s.threshold = 50;
  s.steps = {{0, 10, 1}, {10, std::nullopt, 3}};
  s.adjustment_type = kChange;
  return s;
}

StepSpec two_in_steps() {
  StepSpec s;
  s.threshold = 50;
  s.steps = {{-10, 0, -1}, {std::nullopt, -10, -3}};
  s.adjustment_type = kChange;
  return s;
}

constexpr auto kValue = ProposalStatus::kValue;
constexpr auto kInactive = ProposalStatus::kInactive;

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeStepTest,
    ::testing::Values(
        // The documented sequence: 10 -> 11 -> 14 -> 13 -> 10.
        StepCase{"documented_60_from_10", documented_spec(), 60, 10, kValue, 11},
        StepCase{"documented_70_from_11", documented_spec(), 70, 11, kValue, 14},
        StepCase{"documented_40_from_14", documented_spec(), 40, 14, kValue, 13},
        StepCase{"documented_30_from_13", documented_spec(), 30, 13, kValue, 10},
        StepCase{"documented_in_band_holds", documented_spec(), 55, 12, kValue, 12},
        // Bounds: above the threshold lower is inclusive, upper exclusive ...
        StepCase{"above_lower_bound_inclusive", two_out_steps(), 60, 10, kValue, 13},
        StepCase{"above_just_below_upper", two_out_steps(), 59.999, 10, kValue, 11},
        // ... below it lower is exclusive, upper inclusive: -10 is in (-inf,-10], not (-10,0].
        StepCase{"below_upper_bound_inclusive", two_in_steps(), 40, 10, kValue, 7},
        StepCase{"below_just_above_lower", two_in_steps(), 40.001, 10, kValue, 9},
        StepCase{"below_past_lower", two_in_steps(), 39.999, 10, kValue, 7},
        // Exactly at the threshold: the above-side step [0, x) wins; a scale-in-only policy
        // still matches (x, 0].
        StepCase{"at_threshold_prefers_scale_out", documented_spec(), 50, 10, kValue, 10},
        StepCase{"at_threshold_out_only", out_only(), 50, 10, kValue, 12},
        StepCase{"at_threshold_in_only", in_only(), 50, 10, kValue, 9},
        // No matching step: abstain rather than hold capacity.
        StepCase{"out_only_below_threshold_abstains", out_only(), 40, 10, kInactive, 0},
        StepCase{"in_only_above_threshold_abstains", in_only(), 60, 10, kInactive, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProposeStep, NoData) {
  Proposal p = propose_step(documented_spec(), MetricReading{}, 10);
  EXPECT_EQ(p.status, ProposalStatus::kNoData);
}

// Per-instance samples: only ready instances are aggregated.
struct AggregationCase {
  const char* name;
  Aggregation aggregation;
  int want;
};

class StepAggregationTest : public ::testing::TestWithParam<AggregationCase> {};

TEST_P(StepAggregationTest, AggregatesReadyInstances) {
  StepSpec spec = two_out_steps();  // [0,10) +1, [10,inf) +3 around 50
  spec.aggregation = GetParam().aggregation;
  const std::vector<InstanceSample> samples = {
      {52, 0, InstanceState::kReady},  {58, 0, InstanceState::kReady},
      {75, 0, InstanceState::kReady},  {500, 0, InstanceState::kWarming},  // ignored
      {0, 0, InstanceState::kMissing},                                     // ignored
  };
  Proposal p = propose_step(spec, MetricReading{true, 0, samples}, 10);
  EXPECT_EQ(p.capacity, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StepAggregationTest,
    ::testing::Values(AggregationCase{"average_61_7", Aggregation::kAverage, 13},
                      AggregationCase{"minimum_52", Aggregation::kMinimum, 11},
                      AggregationCase{"maximum_75", Aggregation::kMaximum, 13}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProposeStep, OnlyWarmingInstancesIsNoData) {
  const std::vector<InstanceSample> samples = {{90, 0, InstanceState::kWarming}};
  Proposal p = propose_step(two_out_steps(), MetricReading{true, 90, samples}, 10);
  EXPECT_EQ(p.status, ProposalStatus::kNoData);
}

}  // namespace
}  // namespace tide
