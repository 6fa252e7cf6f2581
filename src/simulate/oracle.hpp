// The offline optimum's supply plan (oracle.cpp), exposed for tests and reports: the cheapest set
// of instance runs that has need[t] instances ready during every step t under the billing rule.
#pragma once

#include <span>
#include <vector>

#include "simulate/model.hpp"

namespace tide::sim {

struct OraclePlan {
  long long charged_ms = 0;   // under the billing rule
  long long instance_ms = 0;  // launch -> stop + drain of every run, cut at the trace end
  long long launches = 0;     // instance runs
  // Per step: instances running at the step's start (booting, serving, or kept idle because that
  // is cheaper than stopping and relaunching them).
  std::vector<int> alive;
};

// `need[t]` instances must be ready during step t (of `step_ms`). Instances needed at step 0 are
// ready at the start without a boot (as a replay's initial capacity is); one needed at step t is
// launched boot_delay earlier, but not before the start (launched at the start, it is taken as
// ready in time). A run is billed from its launch until it stops plus drain_delay, but nothing
// after the trace end is billed (as in every replay).
OraclePlan plan_oracle(std::span<const int> need, long long step_ms, const WorkloadModel& model);

}  // namespace tide::sim
