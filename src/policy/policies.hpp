// One pure function per policy type: observation in, Proposal out. Each lives in its own file
// (target_tracking.cpp, step.cpp, ...) with its table-driven test next to it.
#pragma once

#include <span>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/decision.hpp"
#include "policy/history.hpp"
#include "policy/observation.hpp"
#include "policy/spec.hpp"

namespace tide {

// HPA replica calculation (hpa_spec.md sections 4-5). `current` is the target's desired capacity,
// `ready` the instances that serve. Per-instance samples, when present, follow HPA pod grouping:
// warming = unready, missing = no sample.
Proposal propose_target_tracking(const TargetTrackingSpec& spec, const MetricReading& reading,
                                 int current, int ready);

// What target tracking reads from per-instance samples before any filling (HPA
// GetResourceUtilizationRatio / GetMetricUsageRatio over the ready instances): the figure HPA
// reports as the current metric. For explanations and the conformance runner; allocates only for
// the error message.
struct InstanceMetric {
  double metric = 0;   // utilization percent (truncated to an integer, as HPA) or the mean value
  double average = 0;  // mean value of the ready samples (HPA's raw average, not truncated)
  int ready = 0;       // ready instances with a sample
};
// Fails when no instance is ready with a usable sample: kInvalidArgument when a ready instance
// lacked the request a utilization target needs (capacity unknown), else kUnavailable.
Result<InstanceMetric> instance_metric(const TargetTrackingSpec& spec,
                                       std::span<const InstanceSample> instances);

// AWS step scaling. `base` is the capacity the adjustment applies to: the current capacity
// without warming instances, so repeated breaches inside one step add capacity once.
Proposal propose_step(const StepSpec& spec, const MetricReading& reading, int base);

// AWS simple scaling with its own cooldown, measured from state.last_triggered.
Proposal propose_simple(const SimpleSpec& spec, const MetricReading& reading, int base,
                        const PolicyState& state, TimePoint now);

// Active -> capacity floor (and bounds, read by the bounds stage); inactive -> kInactive.
Proposal propose_scheduled(const ScheduledSpec& spec, TimePoint now);
bool schedule_active(const ScheduledSpec& spec, TimePoint now);

// KEDA-style backlog per instance with an activation threshold.
Proposal propose_queue(const QueueSpec& spec, const MetricReading& reading);

// Knative KPA decider over the stable and panic window averages of the metric (the current
// reading included), with state from `state` (kpa_spec.md section 4).
Proposal propose_panic(const PanicSpec& spec, const MetricReading& reading, int ready,
                       const PolicyState& state, TimePoint now);

// Lambda memory right-sizing (LambdaMemorySpec): the memory, a multiple of spec.step within
// Lambda's 128..10240 MB, that is estimated to keep the duration under the target at the lowest
// cost; `current` is the function's memory in MB, the reading its duration in ms there.
Proposal propose_lambda_memory(const LambdaMemorySpec& spec, const MetricReading& reading,
                               int current);

// The model behind it: the estimated duration (ms) at `memory_mb` from `observed_ms` at
// `current_mb`, and the estimated cost of one invocation in GB-seconds.
double lambda_duration_ms(const LambdaMemorySpec& spec, double observed_ms, int current_mb,
                          int memory_mb);
double lambda_gb_seconds(int memory_mb, double duration_ms);

// Predictive scaling: ceil(peak forecast load over [now, now + spec.lead()] / target). Abstains
// (kInactive) when no forecast covers that window, or with forecast_only (the would-be capacity is
// in forecast_capacity). With max_capacity_breach: increase, raised_max is the max the group may
// reach.
Proposal propose_predictive(const PredictiveSpec& spec, const ForecastView& forecast,
                            TimePoint now);

// The largest finite forecast value over the steps that overlap [from, to); `covered` says
// whether any did (0 when none).
double peak_forecast(const ForecastView& forecast, TimePoint from, TimePoint to, bool& covered);

// AWS rounding of an adjustment (aws_policies_spec.md section 2): the new capacity for
// `current` under `type`/`adjustment`, honouring min_adjustment_magnitude for percent.
int apply_adjustment(AdjustmentType type, double adjustment, int min_adjustment_magnitude,
                     int current);

}  // namespace tide
