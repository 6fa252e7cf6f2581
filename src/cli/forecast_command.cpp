// tide forecast SCENARIO.yaml: the backtest of every forecaster on a scenario's trace
// (forecast/backtest.hpp), as a table, JSON or an HTML page (simulate/forecast_report.hpp).
#include <algorithm>
#include <atomic>
#include <fstream>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "forecast/forecaster.hpp"
#include "simulate/forecast_report.hpp"
#include "simulate/forecast_track.hpp"
#include "simulate/scenario.hpp"

namespace tide::cli {
namespace {

std::optional<Duration> duration_option(const std::string& text, const char* name,
                                        std::ostream& err) {
  auto d = parse_duration(text);
  if (!d || d->count() <= 0) {
    err << fmt::format(
        "tide forecast: error: --{}: expected a positive duration (5m, 1h), got "
        "'{}'\n",
        name, text);
    return std::nullopt;
  }
  return *d;
}

}  // namespace

int run_forecast(const ForecastOptions& options, std::ostream& out, std::ostream& err) {
  auto scenario = sim::load_scenario(options.scenario);
  if (!scenario) {
    for (const Diagnostic& d : scenario.error()) err << format_diagnostic(d) << '\n';
    return 1;
  }
  std::vector<ForecastModel> models;
  if (options.forecasters.empty()) {
    models.push_back(ForecastModel::kAuto);
    for (ForecastModel m : forecast::concrete_models()) models.push_back(m);
  } else {
    for (const std::string& name : options.forecasters) {
      bool found = false;
      for (int m = 0; m < kForecastModelCount; ++m) {
        if (name == forecast_model_name(static_cast<ForecastModel>(m))) {
          models.push_back(static_cast<ForecastModel>(m));
          found = true;
        }
      }
      if (!found) {
        std::string known;
        for (int m = 0; m < kForecastModelCount; ++m) {
          known += fmt::format("{}{}", m ? ", " : "",
                               forecast_model_name(static_cast<ForecastModel>(m)));
        }
        err << fmt::format(
            "tide forecast: error: --forecaster: unknown forecaster '{}' (known: "
            "{})\n",
            name, known);
        return 1;
      }
    }
  }
  auto interval = duration_option(options.interval, "interval", err);
  auto history = duration_option(options.history, "history", err);
  if (!interval || !history) return 1;

  auto trace = sim::load_trace(scenario->trace);
  if (!trace) {
    err << trace.error() << '\n';
    return 1;
  }
  Duration resolution = std::max<Duration>(std::chrono::minutes(5), trace->step);
  if (!options.resolution.empty()) {
    auto r = duration_option(options.resolution, "resolution", err);
    if (!r) return 1;
    resolution = *r;
  }
  if (std::chrono::milliseconds(std::chrono::hours(24)).count() % resolution.count() != 0) {
    err << fmt::format(
        "tide forecast: error: the resolution ({}) must divide a day; set "
        "--resolution\n",
        format_duration(resolution));
    return 1;
  }

  sim::ForecastReport report;
  report.scenario = scenario->name;
  report.trace = trace->name;
  report.start = trace->start;
  report.resolution = resolution;
  report.interval = *interval;
  report.history = *history;
  report.actual = sim::total_rate_datapoints(*trace, resolution);
  report.results.resize(models.size());

  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < models.size(); i = next.fetch_add(1)) {
      ForecastSettings settings;
      settings.model = models[i];
      settings.resolution = resolution;
      settings.history = *history;
      settings.interval = *interval;
      report.results[i] = forecast::backtest(report.actual, report.start, settings);
    }
  };
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t workers = std::clamp<std::size_t>(
      options.threads > 0 ? static_cast<std::size_t>(options.threads) : cores, 1, models.size());
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  if (options.json) {
    out << sim::forecast_report_to_json(report).dump(2) << '\n';
  } else {
    out << sim::format_forecast_table(report);
  }
  if (!options.report.empty()) {
    std::ofstream file(options.report, std::ios::binary | std::ios::trunc);
    file << sim::render_forecast_html(report);
    file.close();
    if (!file) {
      err << options.report << ": error: cannot write the file\n";
      return 1;
    }
    if (!options.json) out << "\nreport: " << options.report << '\n';
  }
  return 0;
}

}  // namespace tide::cli
