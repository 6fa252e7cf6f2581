#include "forecast/backtest.hpp"

#include <cmath>
#include <limits>

#include "forecast/runner.hpp"

namespace tide::forecast {

BacktestResult backtest(std::span<const double> series, TimePoint start,
                        const ForecastSettings& settings) {
  BacktestResult out;
  out.model = settings.model;
  const std::size_t n = series.size();
  out.forecast.assign(n, std::numeric_limits<double>::quiet_NaN());
  const long long step = std::max<long long>(1, settings.resolution.count());
  const long long interval = std::max<long long>(step, settings.interval.count());
  ForecastRunner runner(settings, Duration{0});

  std::size_t observed = 0;
  const long long end = static_cast<long long>(n) * step;
  for (long long r = 0; r < end; r += interval) {
    // Every bucket that ended by r is known at r.
    while (observed < n && static_cast<long long>(observed + 1) * step <= r) {
      runner.observe(start + Duration(static_cast<long long>(observed) * step), series[observed]);
      ++observed;
    }
    const TimePoint now = start + Duration(r);
    runner.refresh(now);
    const ForecastView& v = runner.view();
    if (v.empty()) continue;
    ++out.used[static_cast<std::size_t>(v.model)];
    // Used until the next refresh.
    for (long long t = r; t < std::min(end, r + interval); t += step) {
      const long long k = (start + Duration(t) - v.start).count() / step;
      if (k < 0 || k >= static_cast<long long>(v.values.size())) continue;
      out.forecast[static_cast<std::size_t>(t / step)] = v.values[static_cast<std::size_t>(k)];
    }
  }

  // Score from a day after the first datapoint on.
  std::size_t first = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(series[i])) {
      first = i;
      break;
    }
  }
  const std::size_t day =
      static_cast<std::size_t>(std::chrono::milliseconds(std::chrono::hours(24)).count() / step);
  double ape = 0, abs_error = 0, total = 0, signed_error = 0;
  long long ape_count = 0, under = 0;
  for (std::size_t i = first == n ? n : first + day; i < n; ++i) {
    const double a = series[i];
    const double f = out.forecast[i];
    if (!std::isfinite(a) || !std::isfinite(f)) continue;
    ++out.scored;
    abs_error += std::fabs(f - a);
    signed_error += f - a;
    total += std::fabs(a);
    if (f < a) ++under;
    if (a > 0) {
      ape += std::fabs(f - a) / a;
      ++ape_count;
    }
  }
  if (ape_count > 0) out.mape = 100.0 * ape / static_cast<double>(ape_count);
  if (total > 0) {
    out.wape = 100.0 * abs_error / total;
    out.bias = 100.0 * signed_error / total;
  }
  if (out.scored > 0)
    out.under_share = 100.0 * static_cast<double>(under) / static_cast<double>(out.scored);
  return out;
}

}  // namespace tide::forecast
