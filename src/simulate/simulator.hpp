// The replay (DESIGN section 5): trace -> load per step -> demand -> a synthetic observation per
// policy as its source would report it -> decide() (the very function tide run calls) -> supply
// with boot and drain delays -> work served, queued, late or dropped -> cost, SLO and elasticity.
// Deterministic: same inputs, same outputs, bit for bit.
#pragma once

#include <functional>

#include "policy/decide.hpp"
#include "simulate/model.hpp"
#include "simulate/result.hpp"
#include "simulate/scenario.hpp"
#include "simulate/trace.hpp"

namespace tide::sim {

// Called for every decision of a group replay, with exactly what decide() was given; used to
// cross-check the simulator against `tide decide` and to write situation dumps.
using DecisionObserver = std::function<void(const GroupSpec&, const Observation&,
                                            const GroupHistory&, TimePoint, const Decision&)>;

// d_t = ceil(load / capacity_per_instance); gaps give -1.
int demand_at(double load, const WorkloadModel& model);

PolicyResult simulate_group(const Trace& trace, const WorkloadModel& model, const GroupSpec& group,
                            const DecisionObserver& observer = {});

// The offline optimum (oracle.cpp): the cheapest supply schedule that has d_t instances ready at
// every step under the billing rule, starting instances one boot delay ahead.
PolicyResult simulate_oracle(const Trace& trace, const WorkloadModel& model);

// A constant capacity (static-peak uses the trace's peak demand).
PolicyResult simulate_static(const Trace& trace, const WorkloadModel& model, int capacity);

// Runs every policy of the scenario, in parallel on up to `threads` threads (0 = all cores), and
// fills cost_vs_oracle and elastic_speedup_vs_hpa. Results are in scenario order.
SimulationReport run_scenario(const Scenario& scenario, const Trace& trace, int threads = 0);

}  // namespace tide::sim
