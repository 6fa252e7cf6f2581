#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "policy/policies.hpp"

namespace tide {
namespace {

constexpr auto kReady = InstanceState::kReady;
constexpr auto kWarming = InstanceState::kWarming;
constexpr auto kMissing = InstanceState::kMissing;

TargetTrackingSpec spec(TargetKind kind, double target, double down = 0.1, double up = 0.1,
                        bool disable_scale_in = false) {
  return {{"prom", {}}, kind, target, down, up, disable_scale_in};
}
TargetTrackingSpec utilization(double target) {
  return spec(TargetKind::kUtilization, target);
}
TargetTrackingSpec per_instance(double target) {
  return spec(TargetKind::kPerInstance, target);
}
TargetTrackingSpec total(double target) {
  return spec(TargetKind::kTotal, target);
}

struct Case {
  const char* name;
  TargetTrackingSpec spec;
  bool ok;
  double value;  // aggregate; ignored by per-instance specs when `instances` is not empty
  std::vector<InstanceSample> instances;
  int current;
  int ready;
  ProposalStatus want_status;
  int want_capacity;
  Reason want_reason;
  double want_metric;  // Proposal.a
  double want_ratio;   // Proposal.c
  double want_count;   // Proposal.d
};

class ProposeTargetTracking : public ::testing::TestWithParam<Case> {};

TEST_P(ProposeTargetTracking, Proposes) {
  const Case& c = GetParam();
  const MetricReading reading{c.ok, c.value, c.instances};
  const Proposal p = propose_target_tracking(c.spec, reading, c.current, c.ready);
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  if (c.want_status != ProposalStatus::kValue) return;
  EXPECT_EQ(p.capacity, c.want_capacity);
  EXPECT_DOUBLE_EQ(p.a, c.want_metric);
  EXPECT_DOUBLE_EQ(p.b, c.spec.target);
  EXPECT_NEAR(p.c, c.want_ratio, 1e-12);
  EXPECT_DOUBLE_EQ(p.d, c.want_count);
}

constexpr auto kValue = ProposalStatus::kValue;
constexpr auto kNoData = ProposalStatus::kNoData;
constexpr double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Utilization, ProposeTargetTracking,
    ::testing::Values(
        // (300+500+700)/3000 = 50 % vs 30 %: ratio 5/3, ceil(3 x 1.67) = 5.
        Case{"proportional_scale_up",
             utilization(30),
             true,
             0,
             {{300, 1000, kReady}, {500, 1000, kReady}, {700, 1000, kReady}},
             3,
             3,
             kValue,
             5,
             Reason::kProportional,
             50,
             50.0 / 30,
             3},
        // 3015/3000 = 100.5 % is truncated to 100 % first: 3 x 2.0 = 6 (7 without truncation).
        Case{"utilization_truncated_before_ratio",
             utilization(50),
             true,
             0,
             {{1005, 1000, kReady}, {1005, 1000, kReady}, {1005, 1000, kReady}},
             3,
             3,
             kValue,
             6,
             Reason::kProportional,
             100,
             2.0,
             3},
        // 0.29 of 1.0 is 29 %, not 28 % from 28.999999999999996.
        Case{"utilization_truncation_absorbs_binary_error",
             utilization(29),
             true,
             0,
             {{0.29, 1.0, kReady}},
             1,
             1,
             kValue,
             1,
             Reason::kWithinTolerance,
             29,
             1.0,
             1},
        // 55 % vs 50 %: ratio exactly 1.1 is inside the band (HPA >= 1.33; older releases
        // scaled here).
        Case{"upper_tolerance_boundary_is_within",
             utilization(50),
             true,
             0,
             {{550, 1000, kReady}, {550, 1000, kReady}},
             2,
             2,
             kValue,
             2,
             Reason::kWithinTolerance,
             55,
             1.1,
             2},
        Case{"lower_tolerance_boundary_is_within",
             utilization(50),
             true,
             0,
             {{450, 1000, kReady}, {450, 1000, kReady}},
             2,
             2,
             kValue,
             2,
             Reason::kWithinTolerance,
             45,
             0.9,
             2},
        // Per-direction tolerance: 101 % vs 100 % with a zero band scales to ceil(3 x 1.01) = 4.
        Case{"zero_tolerance_scales",
             spec(TargetKind::kUtilization, 100, 0, 0),
             true,
             0,
             {{1818, 1800, kReady}, {2020, 2000, kReady}, {2222, 2200, kReady}},
             3,
             3,
             kValue,
             4,
             Reason::kProportional,
             101,
             1.01,
             3},
        // 65 % vs 100 % is within a 36 % scale-down band ...
        Case{"wide_scale_down_tolerance_holds",
             spec(TargetKind::kUtilization, 100, 0.36, 0.1),
             true,
             0,
             {{1320, 1800, kReady}, {1280, 2000, kReady}, {1300, 2200, kReady}},
             3,
             3,
             kValue,
             3,
             Reason::kWithinTolerance,
             65,
             0.65,
             3},
        // ... and outside a 34 % one: ceil(3 x 0.65) = 2.
        Case{"narrower_scale_down_tolerance_scales",
             spec(TargetKind::kUtilization, 100, 0.34, 0.1),
             true,
             0,
             {{1320, 1800, kReady}, {1280, 2000, kReady}, {1300, 2200, kReady}},
             3,
             3,
             kValue,
             2,
             Reason::kProportional,
             65,
             0.65,
             3},
        // The first pass multiplies by the ready instances (3), not by current (5).
        Case{"first_pass_uses_ready_count",
             utilization(50),
             true,
             0,
             {{300, 1000, kReady}, {300, 1000, kReady}, {300, 1000, kReady}},
             5,
             5,
             kValue,
             2,
             Reason::kProportional,
             30,
             0.6,
             3},
        // Warming instances are dropped on scale-down: 600/3000 = 20 % vs 50 %, ceil(3 x 0.4).
        Case{"warming_dropped_on_scale_down",
             utilization(50),
             true,
             0,
             {{200, 1000, kReady},
              {200, 1000, kReady},
              {200, 1000, kReady},
              {900, 1000, kWarming},
              {900, 1000, kWarming}},
             5,
             3,
             kValue,
             2,
             Reason::kProportional,
             20,
             0.4,
             3},
        // Ready 2400/4000 = 60 % vs 30 % (ratio 2) with a warming instance: fill it with 0 at its
        // request, 2400/6000 = 40 %, ratio 4/3, ceil(3 x 4/3) = 4 instead of 4 x 2 = 8.
        Case{"warming_filled_with_zero_on_scale_up",
             utilization(30),
             true,
             0,
             {{600, 2000, kWarming}, {1000, 2000, kReady}, {1400, 2000, kReady}},
             3,
             2,
             kValue,
             4,
             Reason::kFilledUnreadyOrMissing,
             60,
             40.0 / 30,
             3},
        // Ready 40 % vs 30 % asks up; with the two warming instances idle it is 800/6000 = 13 %:
        // the fill reverses the direction, hold current.
        Case{"warming_fill_reversing_direction_holds",
             utilization(30),
             true,
             0,
             {{800, 2000, kReady}, {1000, 2000, kWarming}, {1400, 2000, kWarming}},
             3,
             1,
             kValue,
             3,
             Reason::kDirectionFlipHeld,
             40,
             13.0 / 30,
             3},
        // The fill brings the ratio into tolerance: hold. Ready 1200/2000 = 60 % vs 50 %;
        // with the warming instance idle 1200/2400 = 50 %.
        Case{"warming_fill_within_tolerance_holds",
             utilization(50),
             true,
             0,
             {{1200, 2000, kReady}, {0, 400, kWarming}},
             2,
             1,
             kValue,
             2,
             Reason::kWithinTolerance,
             60,
             1.0,
             2},
        // Ratio exactly 1.0 with a missing instance: nothing is filled, hold current.
        Case{"ratio_one_does_not_fill_missing",
             utilization(100),
             true,
             0,
             {{2000, 2000, kReady}, {0, 2000, kMissing}},
             2,
             1,
             kValue,
             2,
             Reason::kWithinTolerance,
             100,
             1.0,
             1},
        // Scale-down with a missing instance: it is assumed at max(100 %, target) of its
        // request. Ready 400/6000 = 6 % vs 300 %; missing filled 4000 x 300 % = 12000:
        // 12400/10000 = 124 %, ratio 0.413, ceil(3 x 0.413) = 2 (1 with a 100 % fill).
        Case{"missing_filled_at_target_over_100",
             utilization(300),
             true,
             0,
             {{400, 2000, kWarming}, {200, 2000, kReady}, {200, 4000, kReady}, {0, 4000, kMissing}},
             4,
             2,
             kValue,
             2,
             Reason::kFilledUnreadyOrMissing,
             6,
             124.0 / 300,
             3},
        // Scale-down: missing filled at 100 % (target 50 < 100): (200+200+2000)/6000 = 40 %,
        // within? 0.8 < 0.9, no: ceil(3 x 0.8) = 3 < current 4.
        Case{"missing_filled_at_full_request",
             utilization(50),
             true,
             0,
             {{200, 2000, kReady}, {200, 2000, kReady}, {0, 2000, kMissing}},
             4,
             2,
             kValue,
             3,
             Reason::kFilledUnreadyOrMissing,
             10,
             0.8,
             3},
        // Scale-up with a missing instance filled with 0: 4000/2000 = 200 % ready, (4000+0)/4000
        // = 100 % after the fill, ratio 2.0, ceil(2 x 2) = 4.
        Case{"missing_filled_with_zero_on_scale_up",
             utilization(50),
             true,
             0,
             {{4000, 2000, kReady}, {0, 2000, kMissing}},
             3,
             1,
             kValue,
             4,
             Reason::kFilledUnreadyOrMissing,
             200,
             2.0,
             2},
        // Direction flip: 60 % vs 50 % asks up, the idle fill gives 30 %: hold current.
        Case{"fill_reversing_direction_holds",
             utilization(50),
             true,
             0,
             {{600, 1000, kReady}, {0, 1000, kMissing}},
             2,
             1,
             kValue,
             2,
             Reason::kDirectionFlipHeld,
             60,
             0.6,
             2},
        // Second guard: up ratio after filling (66 % / 50 %) but ceil(3 x 1.32) = 4 < current 10.
        Case{"fill_proposing_against_direction_holds",
             utilization(50),
             true,
             0,
             {{1000, 1000, kReady}, {1000, 1000, kReady}, {0, 1000, kMissing}},
             10,
             2,
             kValue,
             10,
             Reason::kDirectionFlipHeld,
             100,
             66.0 / 50,
             3},
        // A ready instance without a request (capacity unknown) has no usable sample: it counts
        // as missing, filled at the ready instances' mean request. Ready 300/1000 = 30 % vs 50 %;
        // the fill (1000 at 100 %) gives 1300/2000 = 65 %, which reverses the direction: hold.
        Case{"ready_without_request_counts_as_missing",
             utilization(50),
             true,
             0,
             {{300, 1000, kReady}, {300, 0, kReady}},
             2,
             2,
             kValue,
             2,
             Reason::kDirectionFlipHeld,
             30,
             1.3,
             2},
        // A missing instance without a request is filled at the mean request (1000), exactly as
        // if it had reported 1000: 20 % vs 80 % -> (400 + 1000)/3000 = 46 %, ceil(3 x 0.575) = 2.
        Case{"missing_without_request_uses_mean_request",
             utilization(80),
             true,
             0,
             {{200, 1000, kReady}, {200, 1000, kReady}, {0, 0, kMissing}},
             4,
             2,
             kValue,
             2,
             Reason::kFilledUnreadyOrMissing,
             20,
             46.0 / 80,
             3},
        Case{"missing_with_same_request_agrees",
             utilization(80),
             true,
             0,
             {{200, 1000, kReady}, {200, 1000, kReady}, {0, 1000, kMissing}},
             4,
             2,
             kValue,
             2,
             Reason::kFilledUnreadyOrMissing,
             20,
             46.0 / 80,
             3},
        // No ready instance with a known capacity: no data (HPA's "missing request" error).
        Case{"no_ready_request_is_no_data",
             utilization(50),
             true,
             0,
             {{300, 0, kReady}, {0, 1000, kMissing}},
             2,
             2,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0},
        Case{"no_ready_sample_is_no_data",
             utilization(50),
             true,
             0,
             {{300, 1000, kWarming}, {0, 1000, kMissing}},
             2,
             0,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0},
        Case{"reading_not_ok_is_no_data",
             utilization(50),
             false,
             80,
             {},
             2,
             2,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0},
        Case{"zero_target_is_no_data",
             utilization(0),
             true,
             80,
             {},
             2,
             2,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0},
        // disable_scale_in: 20 % vs 50 % would give 2; hold 5.
        Case{"disable_scale_in_holds",
             spec(TargetKind::kUtilization, 50, 0.1, 0.1, true),
             true,
             0,
             {{200, 1000, kReady},
              {200, 1000, kReady},
              {200, 1000, kReady},
              {200, 1000, kReady},
              {200, 1000, kReady}},
             5,
             5,
             kValue,
             5,
             Reason::kScaleInDisabled,
             20,
             0.4,
             5},
        // disable_scale_in does not hinder scale-out.
        Case{"disable_scale_in_allows_scale_out",
             spec(TargetKind::kUtilization, 50, 0.1, 0.1, true),
             true,
             0,
             {{900, 1000, kReady}},
             1,
             1,
             kValue,
             2,
             Reason::kProportional,
             90,
             1.8,
             1}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    PerInstance, ProposeTargetTracking,
    ::testing::Values(
        // Averages are not truncated (HPA truncates milli-units): (1+1+1.5)/3 = 1.1667, ceil(3.5).
        Case{"average_not_truncated",
             per_instance(1),
             true,
             0,
             {{1, 0, kReady}, {1, 0, kReady}, {1.5, 0, kReady}},
             3,
             3,
             kValue,
             4,
             Reason::kProportional,
             3.5 / 3,
             3.5 / 3,
             3},
        // Requests play no role for per-instance values.
        Case{"request_ignored",
             per_instance(15000),
             true,
             0,
             {{50000, 0, kReady}, {10000, 0, kReady}, {30000, 0, kReady}},
             3,
             3,
             kValue,
             6,
             Reason::kProportional,
             30000,
             2.0,
             3},
        // Missing on scale-down is filled with exactly the target: (10+12+20)/3 = 14 vs 20 ->
        // ratio 0.7, ceil(3 x 0.7) = 3 < current 4.
        Case{"missing_filled_with_target",
             per_instance(20),
             true,
             0,
             {{10, 0, kReady}, {12, 0, kReady}, {0, 0, kMissing}},
             4,
             2,
             kValue,
             3,
             Reason::kFilledUnreadyOrMissing,
             11,
             0.7,
             3},
        // Average exactly at the target with missing instances: hold, no fill.
        Case{"average_at_target_with_missing_holds",
             per_instance(20000),
             true,
             0,
             {{20000, 0, kReady},
              {19000, 0, kReady},
              {21000, 0, kReady},
              {0, 0, kMissing},
              {0, 0, kMissing}},
             5,
             3,
             kValue,
             5,
             Reason::kWithinTolerance,
             20000,
             1.0,
             3},
        // A ready instance with a NaN value has no usable sample: it counts as missing.
        Case{"nan_sample_counts_as_missing",
             per_instance(10),
             true,
             0,
             {{30, 0, kReady}, {std::nan(""), 0, kReady}},
             2,
             2,
             kValue,
             3,
             Reason::kFilledUnreadyOrMissing,
             30,
             1.5,
             2}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Aggregate, ProposeTargetTracking,
    ::testing::Values(
        // Aggregate ratio applies to the ready instances: 50/10 = 5 x 1 ready = 5 (not 15).
        Case{"aggregate_uses_ready",
             per_instance(10),
             true,
             50,
             {},
             3,
             1,
             kValue,
             5,
             Reason::kProportional,
             50,
             5.0,
             1},
        // Readiness not reported (0): the ratio applies to current.
        Case{"aggregate_without_ready_uses_current",
             utilization(50),
             true,
             75,
             {},
             4,
             0,
             kValue,
             6,
             Reason::kProportional,
             75,
             1.5,
             4},
        Case{"aggregate_within_tolerance",
             utilization(50),
             true,
             52,
             {},
             4,
             4,
             kValue,
             4,
             Reason::kWithinTolerance,
             52,
             1.04,
             4},
        // Scale from zero: ceil(ratio) with no tolerance (1.05 would be within).
        Case{"aggregate_from_zero",
             per_instance(100),
             true,
             105,
             {},
             0,
             0,
             kValue,
             2,
             Reason::kProportional,
             105,
             1.05,
             1},
        Case{"aggregate_nan_is_no_data",
             per_instance(100),
             true,
             std::nan(""),
             {},
             2,
             2,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0},
        Case{"aggregate_overflow_clamps",
             per_instance(1),
             true,
             1e300,
             {},
             3,
             3,
             kValue,
             std::numeric_limits<int>::max(),
             Reason::kProportional,
             1e300,
             1e300,
             3}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Total, ProposeTargetTracking,
    ::testing::Values(
        // ceil(20000 / 5000) = 4, independent of current except for the tolerance test.
        Case{"total_ceil",
             total(5000),
             true,
             20000,
             {},
             3,
             3,
             kValue,
             4,
             Reason::kTotal,
             20000,
             4.0,
             3},
        // 8600 / (2900 x 3) = 0.9885 is within tolerance: hold 3 (ceil(2.97) would be 3 anyway).
        Case{"total_tolerance_on_per_instance_ratio",
             total(2900),
             true,
             8600,
             {},
             3,
             3,
             kValue,
             3,
             Reason::kWithinTolerance,
             8600,
             8600.0 / 8700,
             3},
        // 20208 / (5000 x 4) = 1.0104: outside a 1 % band, ceil(4.04) = 5.
        Case{"total_narrow_tolerance",
             spec(TargetKind::kTotal, 5000, 0.1, 0.01),
             true,
             20208,
             {},
             4,
             4,
             kValue,
             5,
             Reason::kTotal,
             20208,
             20208.0 / 5000,
             4},
        Case{"total_scale_down",
             total(2000),
             true,
             6000,
             {},
             5,
             5,
             kValue,
             3,
             Reason::kTotal,
             6000,
             3.0,
             5},
        // Per-instance samples do not change a total.
        Case{"total_ignores_instances",
             total(10),
             true,
             35,
             {{1, 1, kReady}},
             2,
             2,
             kValue,
             4,
             Reason::kTotal,
             35,
             3.5,
             2},
        Case{"total_from_zero",
             total(10),
             true,
             35,
             {},
             0,
             0,
             kValue,
             4,
             Reason::kTotal,
             35,
             3.5,
             0},
        Case{"total_overflow_clamps",
             total(1),
             true,
             9.2e18,
             {},
             1,
             1,
             kValue,
             std::numeric_limits<int>::max(),
             Reason::kTotal,
             9.2e18,
             9.2e18,
             1},
        Case{"total_infinite_is_no_data",
             total(1),
             true,
             kInf,
             {},
             1,
             1,
             kNoData,
             0,
             Reason::kNoData,
             0,
             0,
             0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(InstanceMetric, ReportsFirstPassFigures) {
  // 1500m of 1800m at any target: 83 % (83.3 truncated), raw average 500m over 3 ready; the
  // warming and missing instances are not counted.
  const std::vector<InstanceSample> samples{{500, 600, kReady},
                                            {500, 600, kReady},
                                            {500, 600, kReady},
                                            {900, 600, kWarming},
                                            {0, 600, kMissing}};
  auto m = instance_metric(utilization(50), samples);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->metric, 83);
  EXPECT_DOUBLE_EQ(m->average, 500);
  EXPECT_EQ(m->ready, 3);

  auto avg = instance_metric(per_instance(10), samples);
  ASSERT_TRUE(avg.has_value());
  EXPECT_DOUBLE_EQ(avg->metric, 500);
}

TEST(InstanceMetric, ExplainsWhyThereIsNoData) {
  const std::vector<InstanceSample> no_request{{400, 0, kReady}, {0, 600, kMissing}};
  auto m = instance_metric(utilization(50), no_request);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message.find("missing request for instance 0"), std::string::npos);

  const std::vector<InstanceSample> none_ready{{500, 600, kWarming}, {0, 600, kMissing}};
  auto n = instance_metric(utilization(50), none_ready);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, ErrorCode::kUnavailable);
}

TEST(InstanceMetric, SkipsReadyInstancesWithoutRequest) {
  const std::vector<InstanceSample> samples{{500, 600, kReady}, {400, 0, kReady}};
  auto m = instance_metric(utilization(50), samples);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->metric, 83);
  EXPECT_EQ(m->ready, 1);
  // Per-instance values need no request.
  auto avg = instance_metric(per_instance(10), samples);
  ASSERT_TRUE(avg.has_value());
  EXPECT_EQ(avg->ready, 2);
  EXPECT_DOUBLE_EQ(avg->metric, 450);
}

}  // namespace
}  // namespace tide
