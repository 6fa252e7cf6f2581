// AWS simple scaling (aws_policies_spec.md section 3): one threshold, one adjustment, a cooldown.
#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

bool breached(double value, Comparison comparison, double threshold) {
  switch (comparison) {
    case Comparison::kGreaterOrEqual:
      return value >= threshold;
    case Comparison::kGreater:
      return value > threshold;
    case Comparison::kLessOrEqual:
      return value <= threshold;
    case Comparison::kLess:
      return value < threshold;
  }
  return false;
}

}  // namespace

// How a simple policy combines with "largest proposal wins" and "no scale-in while no data":
//  - no data            -> kNoData. Checked first, even during the cooldown: a metric that cannot
//                          be read blocks scale-in for the whole group (DESIGN section 3), whatever
//                          this policy would have done with it.
//  - in cooldown        -> kInactive (kSimpleCooldown, a = seconds left). AWS ignores further
//                          alarms until the cooldown ends; proposing `base` instead would hold
//                          capacity against every other policy for the whole cooldown.
//  - not breached       -> kInactive (kSimpleNotBreached). An alarm that did not fire does
//                          nothing in AWS; proposing `base` would make a scale-in policy veto
//                          every other policy's scale-in (the largest proposal wins).
//  - breached           -> kValue apply_adjustment(base) and `triggered`, which starts the
//                          cooldown (record() stores now in PolicyState::last_triggered).
// With every policy abstaining, decide() keeps the current capacity.
Proposal propose_simple(const SimpleSpec& spec, const MetricReading& reading, int base,
                        const PolicyState& state, TimePoint now) {
  double value = 0;
  if (!detail::aggregate(reading, spec.aggregation, value)) return detail::no_data();
  Proposal p;
  p.a = value;
  p.b = spec.threshold;
  p.c = spec.adjustment;
  if (state.last_triggered && now - *state.last_triggered < spec.cooldown) {
    p.status = ProposalStatus::kInactive;
    p.reason = Reason::kSimpleCooldown;
    p.a = to_seconds(spec.cooldown - (now - *state.last_triggered));
    return p;
  }
  if (!breached(value, spec.comparison, spec.threshold)) {
    p.status = ProposalStatus::kInactive;
    p.reason = Reason::kSimpleNotBreached;
    return p;
  }
  p.status = ProposalStatus::kValue;
  p.reason = Reason::kSimpleTriggered;
  p.capacity =
      apply_adjustment(spec.adjustment_type, spec.adjustment, spec.min_adjustment_magnitude, base);
  p.triggered = true;
  return p;
}

}  // namespace tide
