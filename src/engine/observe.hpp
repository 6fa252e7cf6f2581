// How the engine turns what a source returned into the MetricReading decide() expects (DESIGN
// section 3, "Observe"). Pure; tested in observe_test.cpp.
//
// Samples that name an instance are matched to the target's instances (by id, by address, or by
// the host:port of a URL), giving per-instance samples in the target's order with the target's
// states; a target instance without a sample is kMissing; samples for instances the target does
// not know are ignored. When no sample matches any instance (or the target lists none), every
// sample counts as an aggregate.
//
// The aggregate `value` depends on what the policy reads:
//   target-tracking utilization / value (per instance), step, simple -> average of the samples
//     (step and simple: their `aggregation`, average, minimum or maximum), ready instances only
//     when per-instance samples exist;
//   target-tracking total, queue, panic                              -> sum of the samples.
// Utilization samples are percentages, so each per-instance sample gets request = 100.
// Non-finite values are dropped. No usable sample = no data (ok = false).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "policy/observation.hpp"
#include "policy/spec.hpp"
#include "sources/source.hpp"
#include "targets/target.hpp"

namespace tide {

enum class Combine { kAverage, kSum, kMinimum, kMaximum };

// How several samples of `policy`'s metric combine into one value (see above).
Combine combine_for(const PolicySpec& policy);

// Whether `policy` reads per-instance samples (target-tracking utilization/value, step, simple).
bool uses_instances(const PolicySpec& policy);

// True when `sample_instance` names `instance`: equal to its id or address, or a URL whose
// host:port is its address.
bool instance_matches(std::string_view sample_instance, const InstanceStatus& instance);

// Builds the reading; per-instance samples are written to `storage` (cleared first), which the
// returned reading's span points into.
MetricReading to_reading(const PolicySpec& policy, std::span<const Sample> samples,
                         const TargetStatus& status, std::vector<InstanceSample>& storage);

}  // namespace tide
