// Small helpers shared by the policy files (private to src/policy).
#pragma once

#include <cmath>
#include <limits>
#include <span>

#include "policy/decision.hpp"
#include "policy/observation.hpp"
#include "policy/spec.hpp"

namespace tide::detail {

// A capacity from a double that may be huge, negative or NaN: clamped to [0, INT_MAX], NaN -> 0.
inline int clamp_capacity(double v) {
  if (!(v > 0)) return 0;
  if (v >= static_cast<double>(std::numeric_limits<int>::max())) {
    return std::numeric_limits<int>::max();
  }
  return static_cast<int>(v);
}

// The proposal of a policy without usable data: it blocks scale-in for the group (DESIGN
// section 3).
inline Proposal no_data() {
  Proposal p;
  p.status = ProposalStatus::kNoData;
  p.reason = Reason::kNoData;
  return p;
}

// The value a step or simple policy compares with its threshold. With per-instance samples, the
// `aggregation` of the ready instances' values (AWS: instances still warming up do not contribute
// to the group's aggregated metric; missing instances have no sample). Without samples, the
// reading's aggregate `value`. Returns false when there is nothing to aggregate (no data).
inline bool aggregate(const MetricReading& reading, Aggregation aggregation, double& out) {
  if (!reading.ok) return false;
  if (reading.instances.empty()) {
    out = reading.value;
    return true;
  }
  double sum = 0, lo = 0, hi = 0;
  int n = 0;
  for (const InstanceSample& s : reading.instances) {
    if (s.state != InstanceState::kReady) continue;
    if (n == 0) {
      lo = hi = s.value;
    } else {
      lo = std::fmin(lo, s.value);
      hi = std::fmax(hi, s.value);
    }
    sum += s.value;
    ++n;
  }
  if (n == 0) return false;
  switch (aggregation) {
    case Aggregation::kAverage:
      out = sum / n;
      break;
    case Aggregation::kMinimum:
      out = lo;
      break;
    case Aggregation::kMaximum:
      out = hi;
      break;
  }
  return true;
}

}  // namespace tide::detail
