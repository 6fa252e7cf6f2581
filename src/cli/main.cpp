// The tide binary: parses the command line and hands over to one function per command.
// Exceptions stop here: no command ever ends in a stack trace.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/validate.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tide: capacity that follows load.\nDocs: README.md, docs/config.md, docs/decide.md",
               "tide"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tide ") + TIDE_VERSION);

  auto* version = app.add_subcommand("version", "Print tide's version");

  std::vector<std::string> validate_files;
  bool validate_json = false;
  auto* validate = app.add_subcommand("validate", "Check config files; print every error");
  validate->add_option("FILE", validate_files, "Config files (YAML)")->required();
  validate->add_flag("--json", validate_json, "Machine-readable output");

  std::string decide_file;
  bool decide_explain = false;
  auto* decide = app.add_subcommand(
      "decide", "One decision from a JSON situation, printed as JSON (see docs/decide.md)");
  decide->add_option("FILE", decide_file, "Situation file (JSON or YAML)")->required();
  decide->add_flag("--explain", decide_explain, "Readable text instead of JSON");

  tide::cli::DemoOptions demo_options;
  auto* demo = app.add_subcommand(
      "demo",
      "tide run scaling a pool of real worker processes under a replayed day of real "
      "web traffic, live");
  demo->add_option("--trace", demo_options.trace, "NASA-HTTP per-minute CSV")
      ->capture_default_str();
  demo->add_option("--seconds", demo_options.seconds, "Replay the day in this many seconds")
      ->capture_default_str();
  demo->add_option("--scale", demo_options.scale, "Requests/s sent per request/minute of the trace")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  demo->add_option("--report", demo_options.report, "HTML chart of the run (\"\": none)")
      ->capture_default_str();

  // The demo's worker process; hidden from the command list (group "").
  tide::cli::WorkerOptions worker_options;
  auto* worker = app.add_subcommand("worker",
                                    "Run the demo's worker: an HTTP server whose "
                                    "requests cost CPU, with Prometheus metrics");
  worker->group("");
  worker->add_option("--port", worker_options.port, "Port on 127.0.0.1 (0: any free port)")
      ->capture_default_str();
  worker
      ->add_option("--concurrency", worker_options.concurrency,
                   "Requests worked on at the same time")
      ->capture_default_str();
  worker->add_option("--queue", worker_options.queue, "Requests that may wait; more get 503")
      ->capture_default_str();
  worker->add_option("--work-ms", worker_options.work_ms, "CPU ms per /work request without ?ms=")
      ->capture_default_str();
  worker
      ->add_option("--wait-ms", worker_options.wait_ms,
                   "Wall ms a request then holds its slot without CPU (without ?wait_ms=)")
      ->capture_default_str();
  worker
      ->add_option("--startup-ms", worker_options.startup_ms,
                   "/healthz answers 503 'starting' this long after the start")
      ->capture_default_str();
  worker->add_option("--window", worker_options.window_seconds, "Utilization window in seconds")
      ->capture_default_str();

  std::string run_config;
  std::string run_log_format;
  auto* run = app.add_subcommand("run",
                                 "Run the autoscaler: evaluate every group on its interval "
                                 "and scale its target (SIGHUP reloads, SIGTERM stops)");
  run->add_option("-c,--config", run_config, "Config file (YAML)")->required();
  run->add_option("--log-format", run_log_format,
                  "logfmt or json (default: the config's log.format)")
      ->check(CLI::IsMember({"logfmt", "json"}));

  tide::cli::SimulateOptions simulate_options;
  auto* simulate = app.add_subcommand(
      "simulate",
      "Replay a trace through policies and compare them with the offline optimum (see "
      "docs/simulate.md)");
  simulate->footer(
      "Prints a table per policy: cost (instance-hours, charged hours, money, x oracle), SLO "
      "(work late or dropped, time under-provisioned), the elasticity metrics, speedup vs hpa and "
      "scale actions.\nExamples:\n"
      "  tide simulate examples/simulate-worldcup98.yaml\n"
      "  tide simulate examples/simulate-worldcup98.yaml --json > results.json\n"
      "  tide simulate examples/simulate-worldcup98.yaml --report report.html\n"
      "  tide simulate examples/simulate-nasa.yaml --policy kpa --dump-situations /tmp/s "
      "--sample 500\n");
  simulate->add_option("SCENARIO", simulate_options.scenario, "Scenario file (YAML)")->required();
  simulate->add_flag("--json", simulate_options.json,
                     "Print one JSON document instead of the table");
  simulate->add_option("--report", simulate_options.report,
                       "Also write a self-contained HTML report with charts to this file");
  simulate->add_option("--policy", simulate_options.policies,
                       "Only this policy (repeatable; hpa and oracle always run: they are the "
                       "references of the ratios)");
  simulate
      ->add_option("--threads", simulate_options.threads,
                   "Policies replayed in parallel (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  auto* dump_option = simulate->add_option(
      "--dump-situations", simulate_options.dump_dir,
      "Write every Nth decision of every group as a tide decide situation (DIR/<policy>-<n>.json) "
      "with the simulator's decision (DIR/<policy>-<n>.expected)");
  simulate
      ->add_option("--sample", simulate_options.sample,
                   "N for --dump-situations: every Nth decision")
      ->check(CLI::PositiveNumber)
      ->needs(dump_option)
      ->capture_default_str();

  tide::cli::ForecastOptions forecast_options;
  auto* forecast = app.add_subcommand(
      "forecast",
      "Backtest the predictive policy's forecasters on a scenario's trace: MAPE, under-forecast "
      "share (see docs/predictive.md)");
  forecast->footer(
      "Examples:\n"
      "  tide forecast examples/simulate-nasa.yaml\n"
      "  tide forecast examples/simulate-wikipedia.yaml --forecaster auto --forecaster "
      "seasonal-naive-weekly --report forecast.html\n");
  forecast->add_option("SCENARIO", forecast_options.scenario, "Scenario file (YAML)")->required();
  forecast->add_option("--forecaster", forecast_options.forecasters,
                       "Only this forecaster (repeatable; default: auto and every model)");
  forecast->add_option("--resolution", forecast_options.resolution,
                       "Bucket length (default: 5m, or the trace's step when longer)");
  forecast->add_option("--interval", forecast_options.interval, "Refit every ...")
      ->capture_default_str();
  forecast->add_option("--history", forecast_options.history, "Fit on the last ...")
      ->capture_default_str();
  forecast->add_flag("--json", forecast_options.json, "Print one JSON document");
  forecast->add_option("--report", forecast_options.report,
                       "Also write an HTML page with the charts");
  forecast
      ->add_option("--threads", forecast_options.threads,
                   "Forecasters backtested in parallel (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  tide::cli::TuneCommandOptions tune_options;
  auto* tune = app.add_subcommand(
      "tune",
      "Search each policy family's parameters on a scenario's trace for the cheapest "
      "configuration that meets an SLO, checked on a held-out part (see docs/predictive.md)");
  tune->footer(
      "Families: hpa, aws-target-tracking, kpa (reactive); predictive (a predictive policy "
      "with HPA-style target tracking); predictive+hpa, predictive+aws-target-tracking, "
      "predictive+kpa (a forecast added to that reactive family's best).\nExamples:\n"
      "  tide tune examples/simulate-nasa.yaml --slo 'under_provisioned_time_pct <= 1'\n"
      "  tide tune examples/simulate-wikipedia.yaml --family hpa --family predictive --samples "
      "60 --report tune.html --write winners.yaml\n");
  tune->add_option("SCENARIO", tune_options.scenario, "Scenario file (YAML)")->required();
  tune->add_option("--slo", tune_options.slo,
                   "A rule every winner must meet, e.g. 'under_provisioned_time_pct <= 1' "
                   "(repeatable; metrics: under_provisioned_time_pct, late_or_dropped_pct, "
                   "dropped_pct, theta_u, tau_u)");
  tune->add_option("--family", tune_options.families, "Only this family (repeatable)");
  tune->add_option("--samples", tune_options.samples,
                   "Candidates per family (the preset's included)")
      ->capture_default_str();
  tune->add_option("--refine", tune_options.refine,
                   "Further candidates per family for local refinement around the best")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  tune->add_option("--from", tune_options.from,
                   "Only the trace from this time (written like the trace's times)");
  tune->add_option("--to", tune_options.to, "Only the trace before this time");
  tune->add_option("--seed", tune_options.seed, "Seed of the random search")->capture_default_str();
  tune->add_option("--split", tune_options.split,
                   "Share of the trace the search sees; the rest is held out")
      ->capture_default_str();
  tune->add_option("--threads", tune_options.threads, "Replays in parallel (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  tune->add_flag("--json", tune_options.json, "Print one JSON document");
  tune->add_option("--report", tune_options.report, "Also write an HTML page with the charts");
  tune->add_option("--write", tune_options.write,
                   "Write every family's winner as YAML to this file");

  // status, history, explain, pause, resume, set: clients of `tide run`'s HTTP API.
  auto run_client = tide::cli::add_client_commands(app, std::cout, std::cerr);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*version) {
      std::cout << "tide " << TIDE_VERSION << '\n';
      return 0;
    }
    if (*validate)
      return tide::cli::run_validate(validate_files, validate_json, std::cout, std::cerr);
    if (*run) return tide::cli::run_daemon(run_config, run_log_format, std::cout, std::cerr);
    if (*decide) return tide::cli::run_decide(decide_file, decide_explain, std::cout, std::cerr);
    if (*demo) return tide::cli::run_demo(demo_options, std::cout, std::cerr);
    if (*simulate) return tide::cli::run_simulate(simulate_options, std::cout, std::cerr);
    if (*forecast) return tide::cli::run_forecast(forecast_options, std::cout, std::cerr);
    if (*tune) return tide::cli::run_tune_command(tune_options, std::cout, std::cerr);
    if (auto code = run_client()) return *code;
    if (*worker) return tide::cli::run_worker(worker_options, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "tide: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
