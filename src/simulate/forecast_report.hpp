// What `tide forecast` prints and writes (docs/predictive.md, "tide forecast"): the backtest of
// every forecaster on a scenario's trace as a table, a JSON document and an HTML page with charts.
// Pure functions of the report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "forecast/backtest.hpp"

namespace tide::sim {

struct ForecastReport {
  std::string scenario;
  std::string trace;
  TimePoint start;                                // the first bucket
  Duration resolution{0};                         // bucket length
  Duration interval{0};                           // the forecast is recomputed this often
  Duration history{0};                            // the window a model is fitted on
  std::vector<double> actual;                     // the load per bucket (NaN = gap)
  std::vector<forecast::BacktestResult> results;  // one per forecaster, in the order asked
};

// Header lines, one row per forecaster (MAPE, WAPE, under-forecast share, bias, scored buckets,
// models used) and a legend.
std::string format_forecast_table(const ForecastReport& report);

// {"scenario","trace","start","resolution_seconds","interval_seconds","history_seconds",
//  "forecasters":[{"forecaster","mape_pct","wape_pct","under_forecast_pct","bias_pct","scored",
//  "models_used":{model: refreshes}}]}
nlohmann::ordered_json forecast_report_to_json(const ForecastReport& report);

// A self-contained page: the table with bars and, per forecaster, the actual load against the
// stitched forecast over the whole trace and over its last seven days.
std::string render_forecast_html(const ForecastReport& report);

}  // namespace tide::sim
