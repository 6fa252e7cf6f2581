// One function per `tide` subcommand; main.cpp only wires them to CLI11. Each returns the exit
// code and writes to the streams it is given (so tests can run commands in-process).
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace tide::cli {

// tide decide FILE.json [--explain]: one decision from a JSON situation (docs/decide.md),
// printed as JSON, or as readable text with --explain.
int run_decide(const std::string& file, bool explain, std::ostream& out, std::ostream& err);

// tide demo: starts `tide run` on an embedded config scaling a pool of `tide worker` processes,
// replays a real day of web traffic at them as HTTP requests, shows tide's decisions live, and
// ends with a summary and an HTML chart (cli/demo.cpp). Stops every process it started.
struct DemoOptions {
  std::string trace = "traces/nasa_http_1995_per_minute.csv";
  int seconds = 96;                       // the day is replayed in this many seconds
  double scale = 0.65;                    // requests/s sent per request/minute of the trace
  std::string report = "tide-demo.html";  // the HTML chart; empty: none
};
int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::cli

namespace tide::cli {

// tide worker --port N: the demo's worker process (see cli/worker.hpp for the HTTP API and the
// metrics). Runs until SIGTERM/SIGINT; returns the exit code.
struct WorkerOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: any free port (printed on stdout)
  int concurrency = 2;        // work slots
  int queue = 32;             // requests that may wait for a slot; more get 503
  int work_ms = 20;           // CPU per /work request without ?ms=
  int wait_ms = 0;            // wall time a request then holds its slot without CPU (?wait_ms=)
  int startup_ms = 0;         // /healthz answers 503 "starting" this long after the start
  double window_seconds = 5;  // utilization window
};
int run_worker(const WorkerOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::cli

// ---- live control over the HTTP API (cli/client.cpp; the API is in api/server.hpp) ----
namespace CLI {
class App;
}

namespace tide::cli {

inline constexpr const char* kDefaultApi = "http://127.0.0.1:9460";

struct ClientOptions {
  std::string api = kDefaultApi;  // http(s)://host:port[/prefix]; a bare host:port means http
  std::string token;              // bearer token for pause/resume/set; never printed
};

// tide status [--json]: every group as a table.
int run_status(const ClientOptions& options, bool json, std::ostream& out, std::ostream& err);
// tide history GROUP [--limit N] [--before ID] [--json]: recent decisions, newest first.
int run_history(const ClientOptions& options, const std::string& group, int limit,
                std::optional<long long> before, bool json, std::ostream& out, std::ostream& err);
// tide explain GROUP [DECISION_ID] [--json]: one decision's account (default: the latest).
int run_explain(const ClientOptions& options, const std::string& group,
                std::optional<long long> decision_id, bool json, std::ostream& out,
                std::ostream& err);
// tide pause GROUP / tide resume GROUP.
int run_pause(const ClientOptions& options, const std::string& group, bool pause, bool json,
              std::ostream& out, std::ostream& err);
// tide set GROUP N --for 30m.
int run_set(const ClientOptions& options, const std::string& group, int capacity,
            const std::string& for_duration, bool json, std::ostream& out, std::ostream& err);

// Adds status, history, explain, pause, resume and set (with --api, default $TIDE_API, and
// --token, default $TIDE_TOKEN) to `app`. After app.parse(), the returned function runs the one
// that was chosen and returns its exit code, or nullopt when none of them was.
std::function<std::optional<int>()> add_client_commands(CLI::App& app, std::ostream& out,
                                                        std::ostream& err);

}  // namespace tide::cli

namespace tide::cli {

// tide run -c FILE [--log-format logfmt|json]: the daemon (src/cli/run.cpp). Config errors are
// printed as FILE:LINE:COL and give exit code 1; SIGHUP reloads the config, SIGTERM/SIGINT stop
// after the evaluations in flight (exit 0). `log_format` empty: the config's log.format.
int run_daemon(const std::string& config_path, const std::string& log_format, std::ostream& out,
               std::ostream& err);

}  // namespace tide::cli

namespace tide::cli {

// tide simulate SCENARIO.yaml [--json] [--report FILE.html] [--policy NAME ...] [--threads N]
// [--dump-situations DIR [--sample N]] (src/cli/simulate_command.cpp, docs/simulate.md): replays
// the scenario's trace through every policy and prints the results table (or, with --json, one
// JSON document), and writes the HTML report. Scenario errors are printed as FILE:LINE:COL, trace
// errors as FILE:LINE; both give exit code 1, as does a policy that could not be replayed.
struct SimulateOptions {
  std::string scenario;
  bool json = false;
  std::string report;                 // --report: the HTML page to write ("" = none)
  std::vector<std::string> policies;  // --policy: only these (hpa and oracle stay: the references)
  int threads = 0;                    // 0 = every core
  std::string dump_dir;  // --dump-situations: every sample-th decision of every group as
                         // DIR/<policy>-<n>.json (a tide decide situation) + .expected
  long long sample = 100;
};
int run_simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::cli

namespace tide::cli {

// tide forecast SCENARIO.yaml [--forecaster NAME ...] [--resolution D] [--interval D]
// [--history D] [--json] [--report FILE.html] [--threads N] (src/cli/forecast_command.cpp,
// docs/predictive.md): backtests forecasters on the scenario's trace (its load per resolution
// bucket) and prints their error: MAPE, WAPE, under-forecast share, bias.
struct ForecastOptions {
  std::string scenario;
  std::vector<std::string> forecasters;  // empty: auto and every model
  std::string resolution;                // "": 5m, or the trace's step when longer
  std::string interval = "1h";
  std::string history = "14d";
  bool json = false;
  std::string report;
  int threads = 0;
};
int run_forecast(const ForecastOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::cli

namespace tide::cli {

// tide tune SCENARIO.yaml [--slo RULE ...] [--family NAME ...] [--samples N] [--seed S]
// [--split F] [--threads N] [--json] [--report FILE.html] [--write FILE.yaml]
// (src/cli/tune_command.cpp, simulate/tune.hpp, docs/predictive.md): per policy family, the
// cheapest configuration that meets the SLO on the first part of the trace, with its figures on
// the held-out rest. A progress bar on stderr when it is a terminal.
struct TuneCommandOptions {
  std::string scenario;
  std::vector<std::string> slo;       // empty: under_provisioned_time_pct <= 1
  std::vector<std::string> families;  // empty: all
  int samples = 40;
  int refine = 40;
  std::string from, to;  // a range of the trace, written like its times ("" = the scenario's)
  unsigned long long seed = 1;
  double split = 2.0 / 3.0;
  int threads = 0;
  bool json = false;
  std::string report;
  std::string write;  // the winners as YAML
};
int run_tune_command(const TuneCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::cli
