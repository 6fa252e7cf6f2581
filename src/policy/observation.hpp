// What was observed for one evaluation of a group: the target's capacity and one metric reading
// per policy. Spans point into storage owned by the caller, so building an Observation for every
// evaluation costs no allocation.
#pragma once

#include <cstdint>
#include <span>

#include "core/time.hpp"
#include "policy/spec.hpp"

namespace tide {

enum class InstanceState : std::uint8_t {
  kReady,    // serving and reporting; its sample counts fully
  kWarming,  // booting or inside its warmup: its sample must not cause a scale-up (HPA "unready")
  kMissing,  // known to the target but without a sample
};

// "ready", "warming", "missing": the spelling in situation files and in the HTTP API.
inline const char* instance_state_name(InstanceState state) {
  switch (state) {
    case InstanceState::kReady:
      return "ready";
    case InstanceState::kWarming:
      return "warming";
    case InstanceState::kMissing:
      return "missing";
  }
  return "unknown";
}

struct InstanceSample {
  double value = 0;    // usage (utilization policies) or the per-instance metric value
  double request = 0;  // capacity the usage is measured against (utilization only); 0 = unknown
  InstanceState state = InstanceState::kReady;
};

struct MetricReading {
  bool ok = false;   // false: the source failed or returned no data
  double value = 0;  // the aggregate (average for utilization/per-instance, sum for totals/queues)
  // Optional per-instance samples. When present, target-tracking uses them (HPA pod semantics)
  // instead of `value`.
  std::span<const InstanceSample> instances;
};

// A load forecast as a predictive policy reads it: values[k] is the mean load forecast for
// [start + k x step, start + (k + 1) x step). Made by the driver (src/forecast) every forecast
// interval from the metric's history; empty values = no forecast yet.
struct ForecastView {
  TimePoint made_at;
  TimePoint start;
  Duration step{0};
  std::span<const double> values;
  ForecastModel model = ForecastModel::kAuto;  // the model that made it (after auto and fallback)

  bool empty() const { return values.empty() || step.count() <= 0; }
};

struct Observation {
  int current = 0;  // the target's desired capacity (HPA scale.spec.replicas)
  int ready = 0;    // instances that serve (booted, past warmup)
  int warming = 0;  // instances still booting or warming up
  // One reading per policy, aligned with GroupSpec::policies. Scheduled policies ignore theirs.
  std::span<const MetricReading> metrics;
  // One forecast per policy, aligned with GroupSpec::policies, or empty; only predictive
  // policies read theirs.
  std::span<const ForecastView> forecasts = {};
};

}  // namespace tide
