// Predictive scaling (AWS predictive scaling, docs/predictive.md): the capacity the forecast load
// needs over the next boot delay plus scheduling buffer. The forecast is made outside decide()
// (src/forecast, on a schedule) and read here through the observation, so the policy stays a
// pure function of its inputs and `now`: no I/O, no clock, no allocation.
#include <algorithm>
#include <cmath>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {

double peak_forecast(const ForecastView& forecast, TimePoint from, TimePoint to, bool& covered) {
  covered = false;
  if (forecast.empty() || to <= from) return 0;
  const long long step = forecast.step.count();
  const long long a = (from - forecast.start).count();
  const long long b = (to - forecast.start).count();
  // Buckets k with [k step, (k + 1) step) overlapping [a, b).
  long long first = a >= 0 ? a / step : -((-a + step - 1) / step);
  long long last = b > 0 ? (b - 1) / step : -1;
  first = std::max(first, 0LL);
  last = std::min(last, static_cast<long long>(forecast.values.size()) - 1);
  double peak = 0;
  for (long long k = first; k <= last; ++k) {
    const double v = forecast.values[static_cast<std::size_t>(k)];
    if (!std::isfinite(v)) continue;
    peak = covered ? std::max(peak, v) : v;
    covered = true;
  }
  return std::max(peak, 0.0);
}

Proposal propose_predictive(const PredictiveSpec& spec, const ForecastView& forecast,
                            TimePoint now) {
  Proposal p;
  p.status = ProposalStatus::kInactive;
  p.reason = Reason::kNoForecast;
  p.b = spec.target;
  p.c = to_seconds(spec.lead());
  if (!(spec.target > 0)) return p;
  bool covered = false;
  const double peak = peak_forecast(forecast, now, now + spec.lead(), covered);
  if (!covered) return p;
  p.a = peak;
  p.d = to_seconds(now - forecast.made_at);
  p.forecast_model = forecast.model;
  // 1e-9 absorbs representation error, as the simulator's demand does (3.0000000000000004 -> 3).
  const double q = peak / spec.target - 1e-9;
  p.forecast_capacity = q > 0 ? detail::clamp_capacity(std::ceil(q)) : 0;
  if (spec.forecast_only) {
    p.reason = Reason::kForecastOnly;
    return p;
  }
  p.status = ProposalStatus::kValue;
  p.reason = Reason::kForecast;
  p.capacity = p.forecast_capacity;
  if (spec.max_capacity_breach == MaxCapacityBreach::kIncrease) {
    // AWS: the effective max is the forecast capacity plus the buffer (in percent of it).
    p.raised_max = detail::clamp_capacity(std::ceil(
        static_cast<double>(p.capacity) * (1.0 + spec.max_capacity_buffer / 100.0) - 1e-9));
  }
  return p;
}

}  // namespace tide
