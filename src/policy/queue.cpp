// Backlog per instance with an activation threshold (KEDA scalers, AWS backlog-per-instance).
#include <algorithm>
#include <cmath>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {

// backlog <= activation -> 0 (KEDA: the scaler is not active, so the group may go to zero if its
// min allows); otherwise at least one instance and ceil(backlog / target_per_instance).
// A non-positive target cannot size anything: treated as no data (config validation rejects it).
Proposal propose_queue(const QueueSpec& spec, const MetricReading& reading) {
  if (!reading.ok || !(spec.target_per_instance > 0) || std::isnan(reading.value)) {
    return detail::no_data();
  }
  Proposal p;
  const double backlog = reading.value;
  p.status = ProposalStatus::kValue;
  p.a = backlog;
  p.b = spec.target_per_instance;
  p.c = spec.activation;
  if (backlog <= spec.activation) {
    p.capacity = 0;
    p.reason = Reason::kBelowActivation;
    return p;
  }
  p.reason = Reason::kBacklog;
  p.capacity = std::max(1, detail::clamp_capacity(std::ceil(backlog / spec.target_per_instance)));
  return p;
}

}  // namespace tide
