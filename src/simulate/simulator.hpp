// The replay (DESIGN section 5): trace -> load per step -> demand -> a synthetic observation per
// policy as its source would report it -> decide() (the very function tide run calls) -> supply
// with boot and drain delays -> work served, queued, late or dropped -> cost, SLO and elasticity.
// Deterministic: same inputs, same outputs, bit for bit.
#pragma once

#include <functional>
#include <memory>

#include "policy/decide.hpp"
#include "simulate/forecast_track.hpp"
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

struct ReplayOptions {
  DecisionObserver observer;
  // Figures (cost, SLO, elasticity, actions) count from this trace step on; the steps before it
  // only warm the group up (its history, its forecasts). Instances running at the step are billed
  // from it on, as if launched then (tide tune's held-out part).
  std::size_t measure_from = 0;
  // Forecasts of the predictive policies, by policy index (missing or null: made here from the
  // trace). A track must come from make_forecast_track() with the policy's source and settings.
  std::vector<std::shared_ptr<const ForecastTrack>> tracks;
};
PolicyResult simulate_group(const Trace& trace, const WorkloadModel& model, const GroupSpec& group,
                            const ReplayOptions& options);

// The forecast track of policy `index` of `group` (a predictive policy reading a total-rate
// source of `model`), or an error.
Result<std::shared_ptr<const ForecastTrack>> forecast_track_for(const Trace& trace,
                                                                const WorkloadModel& model,
                                                                const GroupSpec& group,
                                                                std::size_t index);

// The offline optimum (oracle.cpp): the cheapest supply schedule that has d_t instances ready at
// every step under the billing rule, starting instances one boot delay ahead.
PolicyResult simulate_oracle(const Trace& trace, const WorkloadModel& model);

// A constant capacity (static-peak uses the trace's peak demand).
PolicyResult simulate_static(const Trace& trace, const WorkloadModel& model, int capacity);

// Runs every policy of the scenario, in parallel on up to `threads` threads (0 = all cores), and
// fills cost_vs_oracle and elastic_speedup_vs_hpa. Results are in scenario order.
SimulationReport run_scenario(const Scenario& scenario, const Trace& trace, int threads = 0);

}  // namespace tide::sim
