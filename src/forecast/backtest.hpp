// Backtest of a forecasting model on a series (what `tide forecast` reports, docs/predictive.md):
// the model is run as a predictive policy runs it, refreshed every forecast interval on the
// history up to that moment, and each refresh's forecast is used until the next one. The stitched
// forecast is compared with what happened.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "core/time.hpp"
#include "policy/spec.hpp"

namespace tide::forecast {

struct BacktestResult {
  ForecastModel model = ForecastModel::kAuto;  // as configured (kAuto for auto)
  // Over the scored buckets: those with an actual value and a forecast, at least a day after the
  // first datapoint (AWS asks for 24 hours of history before it forecasts).
  long long scored = 0;
  double mape = 0;         // mean |forecast - actual| / actual in %, over buckets with actual > 0
  double wape = 0;         // sum |forecast - actual| / sum actual in %
  double under_share = 0;  // % of scored buckets where the forecast was below the actual
  double bias = 0;         // sum (forecast - actual) / sum actual in %
  // The stitched forecast, one value per bucket of the series (NaN where there was none).
  std::vector<double> forecast;
  // How many refreshes each model made the forecast (auto and fallbacks), by ForecastModel.
  std::array<long long, kForecastModelCount> used{};
};

// `series`: one value per bucket of settings.resolution starting at `start` (NaN = gap), e.g. the
// mean load per 5 minutes. Deterministic.
BacktestResult backtest(std::span<const double> series, TimePoint start,
                        const ForecastSettings& settings);

}  // namespace tide::forecast
