#include "simulate/forecast_track.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "forecast/runner.hpp"

namespace tide::sim {

ForecastView ForecastTrack::view(std::size_t i) const {
  ForecastView v;
  v.step = step;
  if (i >= size() || !have[i]) return v;
  v.made_at = made_at[i];
  v.start = start[i];
  v.model = model[i];
  v.values = std::span<const double>(values.data() + i * static_cast<std::size_t>(horizon),
                                     static_cast<std::size_t>(horizon));
  return v;
}

std::vector<double> total_rate_datapoints(const Trace& trace, Duration period) {
  const long long p = period.count();
  const long long s = trace.step.count();
  std::vector<double> out;
  if (p <= 0 || s <= 0) return out;
  const long long end = static_cast<long long>(trace.size()) * s;
  out.reserve(static_cast<std::size_t>(end / p));
  for (long long a = 0; a + p <= end; a += p) {
    const long long b = a + p;
    double sum = 0;
    long long defined = 0;
    for (long long i = a / s; i * s < b; ++i) {
      const double load = trace.load[static_cast<std::size_t>(i)];
      if (std::isnan(load)) continue;
      const long long overlap = std::min(b, (i + 1) * s) - std::max(a, i * s);
      sum += (load > 0 ? load : 0.0) * static_cast<double>(overlap);
      defined += overlap;
    }
    out.push_back(defined > 0 ? sum / static_cast<double>(defined)
                              : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

ForecastTrack make_forecast_track(const Trace& trace, const SimulatedSource& source,
                                  const ForecastSettings& settings, Duration lead) {
  forecast::ForecastRunner runner(settings, lead);
  ForecastTrack track;
  track.step = settings.resolution;
  track.horizon = runner.horizon();
  const std::vector<double> points = total_rate_datapoints(trace, source.period);
  const long long p = source.period.count();
  const long long delay = source.delay.count();
  const long long end = static_cast<long long>(trace.size()) * trace.step.count();
  const long long interval = std::max<long long>(1, settings.interval.count());
  const std::size_t refreshes = static_cast<std::size_t>((end + interval - 1) / interval);
  track.made_at.reserve(refreshes);
  track.start.reserve(refreshes);
  track.model.reserve(refreshes);
  track.have.reserve(refreshes);
  track.values.reserve(refreshes * static_cast<std::size_t>(track.horizon));
  std::size_t j = 0;
  for (long long r = 0; r < end; r += interval) {
    // Datapoint j becomes visible at (j + 1) period + delay.
    while (j < points.size() && static_cast<long long>(j + 1) * p + delay <= r) {
      runner.observe(trace.start + Duration(static_cast<long long>(j) * p), points[j]);
      ++j;
    }
    const TimePoint now = trace.start + Duration(r);
    runner.refresh(now);
    const ForecastView& v = runner.view();
    track.made_at.push_back(now);
    track.start.push_back(v.start);
    track.model.push_back(v.model);
    track.have.push_back(v.empty() ? 0 : 1);
    if (v.empty()) {
      track.values.insert(track.values.end(), static_cast<std::size_t>(track.horizon), 0.0);
    } else {
      track.values.insert(track.values.end(), v.values.begin(), v.values.end());
    }
  }
  return track;
}

}  // namespace tide::sim
