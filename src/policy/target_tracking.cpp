// Target tracking: the Kubernetes HPA replica calculation (hpa_spec.md sections 4-5) on tide's
// inputs. Pure and allocation-free: samples are read through the reading's span, never copied.
//
// Mapping of HPA's pod groups onto tide's instance states:
//   ready   (counted, metric used)          -> InstanceState::kReady
//   unready (metric dropped, 0 on scale-up) -> InstanceState::kWarming
//   missing (no metric row)                 -> InstanceState::kMissing
//   ignored (deleted / failed)              -> not reported by the target at all
//
// Choices where tide's inputs differ from HPA's (see docs/conformance.md):
//  - Values are doubles in the source's unit, not integer milli-units. Utilization is still
//    truncated to an integer percent before the ratio (HPA section 9.1); per-instance averages are
//    not truncated, since truncating e.g. 0.5 requests/s to 0 would be meaningless.
//  - request <= 0 means the instance's capacity is unknown (HPA always knows pod requests and
//    fails the metric otherwise). Under a utilization target a ready instance without a request
//    has no usable sample and counts as missing; a missing or warming instance without one is
//    filled as if it had the mean request of the ready instances. The fills stay conservative, and
//    one instance the source knows nothing about does not silence the policy (which would also
//    stop its scale-out). With no usable ready sample at all there is no data.
//  - With an aggregate value only, the ratio applies to the `ready` instances (HPA Object/External
//    Value multiply by Running-and-Ready pods). ready <= 0 means "readiness not reported": the
//    ratio applies to `current` instead of proposing 0.
#include <cmath>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

// Absorbs binary representation error before truncating a percentage, so 0.29 of 1.0 is 29 %,
// not 28 % (28.999999999999996). Far below any real utilization difference.
constexpr double kPercentEpsilon = 1e-9;

struct Totals {
  double usage = 0;    // sum of values (filled values included in the second pass)
  double request = 0;  // sum of requests of the same instances (utilization only)
  int count = 0;       // instances summed: HPA len(metrics)
};

enum class SampleProblem { kNone, kMissingRequest, kNoReadySample };

struct FirstPass {
  SampleProblem problem = SampleProblem::kNone;
  int problem_index = -1;  // a ready instance without a request (kMissingRequest)
  Totals ready;
  int warming = 0;
  int missing = 0;
};

bool within_tolerance(const TargetTrackingSpec& spec, double ratio) {
  return 1.0 - spec.tolerance_down <= ratio && ratio <= 1.0 + spec.tolerance_up;
}

// A sample that can be counted: ready, with a finite value and, for utilization, a known
// request. A ready instance without a usable sample counts as missing.
bool has_sample(const TargetTrackingSpec& spec, const InstanceSample& s) {
  return s.state == InstanceState::kReady && std::isfinite(s.value) &&
         (spec.kind != TargetKind::kUtilization || s.request > 0);
}

bool is_missing(const TargetTrackingSpec& spec, const InstanceSample& s) {
  return s.state == InstanceState::kMissing ||
         (s.state == InstanceState::kReady && !has_sample(spec, s));
}

// HPA GetResourceUtilizationRatio: the integer percentage of the summed usage over the summed
// requests. GetMetricUsageRatio: the mean value.
double metric_of(const TargetTrackingSpec& spec, const Totals& t) {
  if (spec.kind == TargetKind::kUtilization) {
    return std::floor(t.usage * 100.0 / t.request + kPercentEpsilon);
  }
  return t.usage / t.count;
}

FirstPass first_pass(const TargetTrackingSpec& spec, std::span<const InstanceSample> instances) {
  FirstPass p;
  int without_request = -1;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const InstanceSample& s = instances[i];
    if (has_sample(spec, s)) {
      p.ready.usage += s.value;
      p.ready.request += s.request;
      ++p.ready.count;
    } else if (is_missing(spec, s)) {
      ++p.missing;
      if (s.state == InstanceState::kReady && std::isfinite(s.value) && without_request < 0) {
        without_request = static_cast<int>(i);
      }
    } else {
      ++p.warming;
    }
  }
  if (p.ready.count == 0) {
    p.problem =
        without_request >= 0 ? SampleProblem::kMissingRequest : SampleProblem::kNoReadySample;
    p.problem_index = without_request;
  }
  return p;
}

// The capacity a fill assumes for an instance: its own request, or the ready instances' mean
// when it is unknown.
double request_of(const InstanceSample& s, const Totals& ready) {
  return s.request > 0 ? s.request : ready.request / ready.count;
}

Proposal value(int capacity, Reason reason, double a, double b, double c, double d) {
  Proposal p;
  p.status = ProposalStatus::kValue;
  p.capacity = capacity;
  p.reason = reason;
  p.a = a;
  p.b = b;
  p.c = c;
  p.d = d;
  return p;
}

int ceil_capacity(double v) {
  return detail::clamp_capacity(std::ceil(v));
}

// HPA GetResourceReplicas / GetMetricReplicas (hpa_spec.md 5.2 and 5.3) over instance samples.
Proposal from_instances(const TargetTrackingSpec& spec, std::span<const InstanceSample> instances,
                        int current) {
  const FirstPass first = first_pass(spec, instances);
  if (first.problem != SampleProblem::kNone) return detail::no_data();

  const double metric = metric_of(spec, first.ready);
  const double ratio = metric / spec.target;
  const bool scale_up_with_warming = first.warming > 0 && ratio > 1.0;

  if (!scale_up_with_warming && first.missing == 0) {
    if (within_tolerance(spec, ratio)) {
      return value(current, Reason::kWithinTolerance, metric, spec.target, ratio,
                   first.ready.count);
    }
    // First pass: the ratio applies to the ready instances only.
    return value(ceil_capacity(ratio * first.ready.count), Reason::kProportional, metric,
                 spec.target, ratio, first.ready.count);
  }

  // Second pass: fill instances without usable data so that they damp the move, never cause it.
  Totals filled = first.ready;
  for (const InstanceSample& s : instances) {
    if (is_missing(spec, s)) {
      if (ratio < 1.0) {
        // Scale-down: assume a missing instance runs at the target (for utilization at least at
        // its full request, HPA's max(100 %, target)), so it holds capacity back.
        filled.usage += spec.kind == TargetKind::kUtilization
                            ? request_of(s, first.ready) * std::fmax(100.0, spec.target) / 100.0
                            : spec.target;
      } else if (ratio > 1.0) {
        // Scale-up: assume it is idle, so it cannot push the group up.
      } else {
        continue;  // ratio exactly 1: HPA adds no missing instance at all
      }
      filled.request += request_of(s, first.ready);
      ++filled.count;
    } else if (s.state == InstanceState::kWarming && scale_up_with_warming) {
      // A warming instance is idle as far as scale-up is concerned (HPA unready pods).
      filled.request += request_of(s, first.ready);
      ++filled.count;
    }
  }

  const double new_ratio = metric_of(spec, filled) / spec.target;
  // The fills must not reverse the direction the ready instances asked for.
  if (within_tolerance(spec, new_ratio)) {
    return value(current, Reason::kWithinTolerance, metric, spec.target, new_ratio, filled.count);
  }
  if ((ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0)) {
    return value(current, Reason::kDirectionFlipHeld, metric, spec.target, new_ratio, filled.count);
  }
  const int proposed = ceil_capacity(new_ratio * filled.count);
  if ((new_ratio < 1.0 && proposed > current) || (new_ratio > 1.0 && proposed < current)) {
    return value(current, Reason::kDirectionFlipHeld, metric, spec.target, new_ratio, filled.count);
  }
  return value(proposed, Reason::kFilledUnreadyOrMissing, metric, spec.target, new_ratio,
               filled.count);
}

// HPA Object/External Value (hpa_spec.md 5.4): one value proportional to load per instance.
Proposal from_aggregate(const TargetTrackingSpec& spec, double metric, int current, int ready) {
  const double ratio = metric / spec.target;
  if (current <= 0) {
    // Scale from zero: no instance to apply the ratio to, and no tolerance (HPA).
    return value(ceil_capacity(ratio), Reason::kProportional, metric, spec.target, ratio, 1);
  }
  const int instances = ready > 0 ? ready : current;
  if (within_tolerance(spec, ratio)) {
    return value(current, Reason::kWithinTolerance, metric, spec.target, ratio, instances);
  }
  return value(ceil_capacity(ratio * instances), Reason::kProportional, metric, spec.target, ratio,
               instances);
}

// HPA External/Object AverageValue (hpa_spec.md 5.5): desired = ceil(total / target), with the
// tolerance tested on the per-instance ratio total / (target x current).
Proposal from_total(const TargetTrackingSpec& spec, double total, int current) {
  if (current > 0) {
    const double ratio = total / (spec.target * current);
    if (within_tolerance(spec, ratio)) {
      return value(current, Reason::kWithinTolerance, total, spec.target, ratio, current);
    }
  }
  const double quotient = total / spec.target;
  return value(ceil_capacity(quotient), Reason::kTotal, total, spec.target, quotient, current);
}

}  // namespace

Result<InstanceMetric> instance_metric(const TargetTrackingSpec& spec,
                                       std::span<const InstanceSample> instances) {
  const FirstPass first = first_pass(spec, instances);
  switch (first.problem) {
    case SampleProblem::kMissingRequest:
      return fail(ErrorCode::kInvalidArgument,
                  "missing request for instance " + std::to_string(first.problem_index) +
                      ": no ready instance has both a sample and a known capacity");
    case SampleProblem::kNoReadySample:
      return fail(ErrorCode::kUnavailable, "no ready instance reported a sample");
    case SampleProblem::kNone:
      break;
  }
  return InstanceMetric{metric_of(spec, first.ready), first.ready.usage / first.ready.count,
                        first.ready.count};
}

Proposal propose_target_tracking(const TargetTrackingSpec& spec, const MetricReading& reading,
                                 int current, int ready) {
  if (!reading.ok || !(spec.target > 0)) return detail::no_data();

  Proposal p;
  if (spec.kind == TargetKind::kTotal) {
    // Totals are group-wide; per-instance samples carry no extra information for them.
    if (!std::isfinite(reading.value)) return detail::no_data();
    p = from_total(spec, reading.value, current);
  } else if (!reading.instances.empty()) {
    p = from_instances(spec, reading.instances, current);
  } else {
    if (!std::isfinite(reading.value)) return detail::no_data();
    p = from_aggregate(spec, reading.value, current, ready);
  }

  if (spec.disable_scale_in && p.status == ProposalStatus::kValue && p.capacity < current) {
    p.capacity = current;
    p.reason = Reason::kScaleInDisabled;
  }
  return p;
}

}  // namespace tide
