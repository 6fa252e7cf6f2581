// The forecasts a predictive policy reads during a replay (docs/predictive.md, "Simulation"): its
// ForecastRunner is fed the datapoints its simulated source reports (as they become visible, with
// the source's period and delay) and refreshed every forecast interval from the trace start. The
// source must be a total-rate source (the group's arrival rate), which does not depend on the
// supply, so the forecasts can be made before the replay, once, and shared by every replay of the
// same trace, source and settings (tide tune does).
#pragma once

#include <vector>

#include "policy/observation.hpp"
#include "policy/spec.hpp"
#include "simulate/model.hpp"
#include "simulate/trace.hpp"

namespace tide::sim {

struct ForecastTrack {
  Duration step{0};
  int horizon = 0;
  // One entry per refresh, in time order. `have` is 0 when the refresh had no history.
  std::vector<TimePoint> made_at;
  std::vector<TimePoint> start;
  std::vector<ForecastModel> model;
  std::vector<char> have;
  std::vector<double> values;  // horizon values per refresh

  std::size_t size() const { return made_at.size(); }
  // The forecast of refresh i (an empty view when it had none).
  ForecastView view(std::size_t i) const;
};

// The datapoints of a simulated source over the trace: datapoint j averages the load over the
// defined (non-gap) time of [start + j period, start + (j + 1) period); NaN when all of it is a
// gap. Only complete periods. As the simulator's total-rate source reports them.
std::vector<double> total_rate_datapoints(const Trace& trace, Duration period);

// Runs a ForecastRunner(settings, lead) over the trace as a total-rate `source` reports it.
ForecastTrack make_forecast_track(const Trace& trace, const SimulatedSource& source,
                                  const ForecastSettings& settings, Duration lead);

}  // namespace tide::sim
