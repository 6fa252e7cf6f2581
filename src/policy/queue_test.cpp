#include <gtest/gtest.h>

#include "policy/policies.hpp"

namespace tide {
namespace {

struct Case {
  const char* name;
  double target_per_instance;
  double activation;
  bool ok;
  double backlog;
  ProposalStatus want_status;
  Reason want_reason;
  int want;
};

class ProposeQueueTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProposeQueueTest, Proposes) {
  const Case& c = GetParam();
  QueueSpec spec;
  spec.target_per_instance = c.target_per_instance;
  spec.activation = c.activation;
  Proposal p = propose_queue(spec, MetricReading{c.ok, c.backlog, {}});
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  EXPECT_EQ(p.capacity, c.want);
}

constexpr auto kValue = ProposalStatus::kValue;

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeQueueTest,
    ::testing::Values(
        Case{"exact_multiple", 100, 0, true, 1000, kValue, Reason::kBacklog, 10},
        Case{"rounds_up", 100, 0, true, 1001, kValue, Reason::kBacklog, 11},
        Case{"small_backlog_needs_one", 100, 0, true, 1, kValue, Reason::kBacklog, 1},
        Case{"empty_queue_scales_to_zero", 100, 0, true, 0, kValue, Reason::kBelowActivation, 0},
        Case{"at_activation_is_zero", 100, 5, true, 5, kValue, Reason::kBelowActivation, 0},
        Case{"above_activation_at_least_one", 100, 5, true, 6, kValue, Reason::kBacklog, 1},
        Case{"fractional_target", 0.5, 0, true, 3, kValue, Reason::kBacklog, 6},
        Case{"huge_backlog_saturates", 1, 0, true, 1e300, kValue, Reason::kBacklog, 2147483647},
        Case{"no_data", 100, 0, false, 0, ProposalStatus::kNoData, Reason::kNoData, 0},
        Case{"zero_target_is_no_data", 0, 0, true, 10, ProposalStatus::kNoData, Reason::kNoData,
             0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide
