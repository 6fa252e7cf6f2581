#include "simulate/forecast_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "simulate/charts.hpp"
#include "simulate/report.hpp"

namespace tide::sim {
namespace {

std::string models_used(const forecast::BacktestResult& r) {
  long long total = 0;
  for (long long n : r.used) total += n;
  if (total == 0) return "-";
  std::vector<std::pair<long long, int>> order;
  for (int m = 0; m < kForecastModelCount; ++m) {
    if (r.used[static_cast<std::size_t>(m)] > 0)
      order.push_back({r.used[static_cast<std::size_t>(m)], m});
  }
  std::stable_sort(order.begin(), order.end(), [](auto a, auto b) { return a.first > b.first; });
  std::string out;
  for (const auto& [n, m] : order) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.0f}%", forecast_model_name(static_cast<ForecastModel>(m)),
                       100.0 * static_cast<double>(n) / static_cast<double>(total));
  }
  return out;
}

std::string pct(double v) {
  return std::isfinite(v) ? fmt::format("{:.1f}", v) : std::string("-");
}

std::string name_of(const forecast::BacktestResult& r) {
  return forecast_model_name(r.model);
}

}  // namespace

std::string format_forecast_table(const ForecastReport& r) {
  std::string out = fmt::format("tide forecast: {}\n", r.scenario);
  const TimePoint end = r.start + r.resolution * static_cast<long long>(r.actual.size());
  out += fmt::format("trace: {}, {} .. {}, {} buckets of {}\n", r.trace, format_time(r.start),
                     format_time(end), r.actual.size(), format_duration(r.resolution));
  out += fmt::format(
      "backtest: each forecaster refits every {} on the last {} of history and its forecast is "
      "used until the next refit;\nscored on every bucket from a day after the first datapoint "
      "(gaps left out)\n\n",
      format_duration(r.interval), format_duration(r.history));
  out += fmt::format("{:<36} {:>7} {:>7} {:>7} {:>7} {:>8}  {}\n", "forecaster", "MAPE%", "WAPE%",
                     "under%", "bias%", "scored", "models used");
  for (const forecast::BacktestResult& b : r.results) {
    out += fmt::format("{:<36} {:>7} {:>7} {:>7} {:>7} {:>8}  {}\n", name_of(b), pct(b.mape),
                       pct(b.wape), pct(b.under_share), pct(b.bias), b.scored, models_used(b));
  }
  out +=
      "\nMAPE%   mean |forecast - actual| / actual (buckets with actual > 0)\n"
      "WAPE%   sum |forecast - actual| / sum actual\n"
      "under%  share of buckets where the forecast was below the actual load\n"
      "bias%   sum (forecast - actual) / sum actual (negative: under-forecasts on the whole)\n";
  return out;
}

nlohmann::ordered_json forecast_report_to_json(const ForecastReport& r) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const forecast::BacktestResult& b : r.results) {
    nlohmann::ordered_json used = nlohmann::ordered_json::object();
    for (int m = 0; m < kForecastModelCount; ++m) {
      if (b.used[static_cast<std::size_t>(m)] > 0) {
        used[forecast_model_name(static_cast<ForecastModel>(m))] =
            b.used[static_cast<std::size_t>(m)];
      }
    }
    nlohmann::ordered_json entry;
    entry["forecaster"] = name_of(b);
    entry["mape_pct"] = b.mape;
    entry["wape_pct"] = b.wape;
    entry["under_forecast_pct"] = b.under_share;
    entry["bias_pct"] = b.bias;
    entry["scored"] = b.scored;
    entry["models_used"] = std::move(used);
    list.push_back(std::move(entry));
  }
  nlohmann::ordered_json out;
  out["scenario"] = r.scenario;
  out["trace"] = r.trace;
  out["start"] = format_time(r.start);
  out["resolution_seconds"] = to_seconds(r.resolution);
  out["interval_seconds"] = to_seconds(r.interval);
  out["history_seconds"] = to_seconds(r.history);
  out["buckets"] = r.actual.size();
  out["forecasters"] = std::move(list);
  return out;
}

std::string render_forecast_html(const ForecastReport& r) {
  std::string page = chart_page_start("tide forecast: " + r.scenario);
  page += fmt::format(
      "<h1>tide forecast: {}</h1><p class=\"meta\">trace {}, {} buckets of {} from {}. Each "
      "forecaster refits every {} on the last {} of history; its forecast is used until the next "
      "refit. Scored from a day after the first datapoint; gaps are left out.</p>",
      html_escape(r.scenario), html_escape(r.trace), r.actual.size(), format_duration(r.resolution),
      format_time(r.start), format_duration(r.interval), format_duration(r.history));

  double max_mape = 0, max_under = 0;
  for (const auto& b : r.results) {
    if (std::isfinite(b.mape)) max_mape = std::max(max_mape, b.mape);
    max_under = std::max(max_under, b.under_share);
  }
  auto bar = [](double v, double max) {
    return max > 0 && std::isfinite(v) ? fmt::format(" style=\"--bar:{:.1f}%\"", 100 * v / max)
                                       : std::string();
  };
  page +=
      "<div class=\"card\"><h2>Forecast error by forecaster</h2><table class=\"t\"><thead><tr>"
      "<th>forecaster</th><th>MAPE %</th><th>WAPE %</th><th>under-forecast %</th><th>bias %</th>"
      "<th>scored</th><th>models used</th></tr></thead><tbody>";
  for (const auto& b : r.results) {
    page += fmt::format(
        "<tr><td class=\"l\"><a href=\"#f-{0}\">{0}</a></td><td class=\"bar\"{1}>{2}</td><td>{3}"
        "</td><td class=\"bar\"{4}>{5}</td><td>{6}</td><td>{7}</td><td class=\"w\">{8}</td></tr>",
        html_escape(name_of(b)), bar(b.mape, max_mape), pct(b.mape), pct(b.wape),
        bar(b.under_share, max_under), pct(b.under_share), pct(b.bias), b.scored,
        html_escape(models_used(b)));
  }
  page +=
      "</tbody></table><p class=\"meta\">MAPE: mean absolute percentage error (buckets with "
      "load); WAPE: total absolute error over total load; under-forecast: share of buckets where "
      "the forecast was below the load (the reactive policy has to catch those); bias: total "
      "forecast minus total load.</p></div>";

  const std::size_t n = r.actual.size();
  const std::size_t week = static_cast<std::size_t>(std::chrono::hours(24 * 7) / r.resolution);
  const std::size_t tail = n > week ? n - week : 0;
  for (const auto& b : r.results) {
    const std::vector<LineSeries> whole = {{"actual load", "#9ca3af", r.actual, false},
                                           {"forecast", "#2563eb", b.forecast, false}};
    const std::vector<LineSeries> last = {
        {"actual load", "#9ca3af",
         std::vector<double>(r.actual.begin() + static_cast<std::ptrdiff_t>(tail), r.actual.end()),
         false},
        {"forecast", "#2563eb",
         std::vector<double>(b.forecast.begin() + static_cast<std::ptrdiff_t>(tail),
                             b.forecast.end()),
         false}};
    page += fmt::format(
        "<div class=\"card\" id=\"f-{0}\"><h2>{0}</h2><p class=\"meta\">MAPE {1} %, WAPE {2} %, "
        "under-forecast {3} % of buckets, bias {4} %</p><h3>Whole trace (averaged per point)</h3>"
        "{5}<h3>Last seven days, every bucket</h3>{6}</div>",
        html_escape(name_of(b)), pct(b.mape), pct(b.wape), pct(b.under_share), pct(b.bias),
        line_chart(whole, r.start, r.resolution, "load"),
        line_chart(last, r.start + r.resolution * static_cast<long long>(tail), r.resolution,
                   "load", 4000));
  }
  page += "<footer>Made by tide forecast. Self-contained: no scripts, no external assets.</footer>";
  page += chart_page_end();
  return page;
}

}  // namespace tide::sim
