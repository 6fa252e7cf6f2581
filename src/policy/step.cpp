// AWS step scaling and AWS's rounding of adjustments (aws_policies_spec.md section 2).
#include <cmath>
#include <limits>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

// AWS rounding of a non-zero change: truncate toward zero, but never to zero
// (12.7 -> 12, 0.67 -> 1, -0.58 -> -1, -6.67 -> -6). The epsilon keeps float noise such as
// 12.999999999999998 from losing a whole instance.
double aws_round_change(double change) {
  constexpr double kEpsilon = 1e-9;
  if (change >= 1) return std::floor(change + kEpsilon);
  if (change > 0) return 1;
  if (change <= -1) return std::ceil(change - kEpsilon);
  if (change < 0) return -1;
  return 0;
}

bool in_step(const StepAdjustment& step, double diff, bool above) {
  const double lower = step.lower.value_or(-std::numeric_limits<double>::infinity());
  const double upper = step.upper.value_or(std::numeric_limits<double>::infinity());
  // Above the threshold: [lower, upper). Below: (lower, upper].
  return above ? (lower <= diff && diff < upper) : (lower < diff && diff <= upper);
}

}  // namespace

int apply_adjustment(AdjustmentType type, double adjustment, int min_adjustment_magnitude,
                     int current) {
  double target = current;
  switch (type) {
    case AdjustmentType::kChange:
      // ScalingAdjustment is an integer in AWS; a fractional one rounds like a percent change.
      target = current + aws_round_change(adjustment);
      break;
    case AdjustmentType::kExact:
      target = adjustment;
      break;
    case AdjustmentType::kPercent: {
      double change = aws_round_change(static_cast<double>(current) * adjustment / 100.0);
      // MinAdjustmentMagnitude: at least that many instances in the adjustment's direction (also
      // when the percentage of a small or empty group rounds to nothing).
      if (min_adjustment_magnitude > 0 && adjustment != 0 &&
          std::fabs(change) < min_adjustment_magnitude) {
        change = adjustment > 0 ? min_adjustment_magnitude : -min_adjustment_magnitude;
      }
      target = current + change;
      break;
    }
  }
  return detail::clamp_capacity(std::round(target));
}

// The metric's distance from the threshold selects one step. Exactly at the threshold both the
// above-side rule ([0, x) matches) and the below-side rule ((x, 0] matches) are plausible, as the
// alarm's comparison operator (>= or <=) decides upstream; tide tries the above side first, so a
// policy with steps on both sides scales out, and a scale-in-only policy still matches (x, 0].
// No matching step -> the policy abstains (kInactive): like an alarm that did not fire, it must
// not hold capacity up against other policies. A matching 0 % step proposes `base` (hold).
Proposal propose_step(const StepSpec& spec, const MetricReading& reading, int base) {
  double value = 0;
  if (!detail::aggregate(reading, spec.aggregation, value)) return detail::no_data();
  Proposal p;
  p.a = value;
  p.b = spec.threshold;
  const double diff = value - spec.threshold;
  const StepAdjustment* match = nullptr;
  for (int side = 0; side < 2 && match == nullptr; ++side) {
    const bool above = side == 0;
    if (above ? diff < 0 : diff > 0) continue;
    for (const StepAdjustment& step : spec.steps) {
      if (in_step(step, diff, above)) {
        match = &step;
        break;
      }
    }
  }
  if (match == nullptr) {
    p.status = ProposalStatus::kInactive;
    p.reason = Reason::kNoStepMatched;
    return p;
  }
  p.status = ProposalStatus::kValue;
  p.reason = Reason::kStepAdjustment;
  p.c = match->adjustment;
  p.capacity = apply_adjustment(spec.adjustment_type, match->adjustment,
                                spec.min_adjustment_magnitude, base);
  return p;
}

}  // namespace tide
