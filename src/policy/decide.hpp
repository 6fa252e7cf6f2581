// The decision core (DESIGN section 3). Pure: no I/O, no clock reads, no randomness, no heap
// allocation. tide run and tide simulate both call exactly these two functions.
#pragma once

#include "core/time.hpp"
#include "policy/decision.hpp"
#include "policy/history.hpp"
#include "policy/observation.hpp"
#include "policy/spec.hpp"

namespace tide {

// Proposes, combines and normalizes one evaluation of `spec`. `obs.metrics` must have one reading
// per policy. The returned Decision says what to do and why; nothing is changed.
Decision decide(const GroupSpec& spec, const Observation& obs, const GroupHistory& history,
                TimePoint now);

// Folds a decision into the history: stores the recommendation, policy state (KPA panic, simple
// cooldowns, metric windows) and, when `applied` (the target accepted the new capacity), the
// scale event. Prunes everything older than spec.retention(). Allocation-free once the vectors
// reached their steady-state size.
void record(const GroupSpec& spec, const Observation& obs, const Decision& decision, bool applied,
            GroupHistory& history);

}  // namespace tide
