// `tide demo`: tide's main job, live, with nothing to configure. It starts `tide run` on an
// embedded config whose one group is a pool of real `tide worker` processes (local-process
// target), scraped directly for their utilization (prometheus-scrape, per instance). A load
// generator replays 13 July 1995 of the NASA web server (with the STS-70 launch flash crowd),
// compressed into a minute and a half, as real HTTP requests to the ready workers. The terminal
// shows load, workers and tide's decisions as they happen; at the end come a summary and an HTML
// chart. Every process the demo started is stopped, also on Ctrl-C.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/demo_load.hpp"
#include "cli/demo_report.hpp"
#include "core/time.hpp"
#include "targets/process.hpp"

namespace tide::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

// The workers: 4 slots each; a request costs 2 ms of CPU and then waits 100 ms on a
// "database", so one worker serves about 38 requests/s with every slot busy and the demo's peak
// needs several workers while the whole machine stays far from its 2 cores.
constexpr int kConcurrency = 4;
constexpr int kWorkMs = 2;
constexpr int kWaitMs = 100;
constexpr double kTargetUtilization = 60;
constexpr int kMaxWorkers = 12;

constexpr std::string_view kConfig = R"(# tide demo: written by `tide demo`, removed when it ends.
log: {{ level: warn }}
state: {tmp}/tide.db
api: {{ listen: "127.0.0.1:{api_port}", token_env: TIDE_DEMO_TOKEN }}
sources:
  - name: workers
    type: prometheus-scrape
    per_instance: true      # scrape every worker tide runs, at its own address
    timeout: 1s
    cache_window: 100ms
groups:
  - name: web
    interval: 1s
    min: 1
    max: {max}
    target:
      type: local-process
      command: "{{tide}} worker --port {{port}} --concurrency {concurrency} --queue 64 --work-ms {work_ms} --wait-ms {wait_ms} --startup-ms 2000 --window 1"
      base_port: {base_port}
      readiness: http         # /healthz answers 503 for the worker's 2 s start-up
      readiness_timeout: 20s
      grace_period: 3s
      log_file: "{tmp}/worker-{{index}}.log"
      env: {{ TIDE_DEMO_RUN: "{run_id}" }}
    policies:
      - name: utilization
        type: target-tracking
        metric: {{ source: workers, name: tide_worker_utilization_percent }}
        target: {target}
    behavior:
      scale_up:
        stabilization: 0s
        policies: [ {{ type: percent, value: 100, period: 2s }}, {{ type: instances, value: 2, period: 2s }} ]
      scale_down:
        stabilization: 10s
        policies: [ {{ type: instances, value: 1, period: 2s }} ]
)";

std::atomic<bool> g_interrupted{false};
extern "C" void on_demo_signal(int) {
  g_interrupted = true;
}

std::string self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tide") : p.string();
}

std::string find_trace(const std::string& given) {
  if (fs::exists(given)) return given;
  // Run from anywhere: the trace also sits two levels above build/<preset>/tide.
  fs::path beside = fs::path(self_exe()).parent_path() / "../.." / given;
  return fs::exists(beside) ? beside.lexically_normal().string() : given;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string random_hex(int bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string out;
  for (int i = 0; i < bytes; ++i)
    out += fmt::format("{:02x}", static_cast<unsigned>(in.get()) & 0xff);
  return out;
}

// Everything the demo started, stopped again when this goes out of scope: `tide run` (SIGTERM,
// then SIGKILL), every worker process (found by the TIDE_DEMO_RUN value in its environment,
// since workers lead their own sessions and outlive tide by design), the temporary directory.
class DemoProcesses {
 public:
  explicit DemoProcesses(std::string run_id, fs::path dir)
      : run_id_(std::move(run_id)), dir_(std::move(dir)) {}
  DemoProcesses(const DemoProcesses&) = delete;
  DemoProcesses& operator=(const DemoProcesses&) = delete;
  ~DemoProcesses() { stop(); }

  Result<void> start_tide(const fs::path& config, const std::string& token) {
    // `exec` so that the pid is tide's, not the shell's. A process group of its own in this
    // session: the demo, not the terminal's Ctrl-C, stops it.
    proc::SpawnOptions spawn;
    spawn.command = fmt::format("exec {} run -c {}", proc::shell_quote(self_exe()),
                                proc::shell_quote(config.string()));
    spawn.env = {{"TIDE_DEMO_TOKEN", token}};
    spawn.output_path = (dir_ / "tide.log").string();
    spawn.new_session = false;
    auto pid = proc::spawn_shell(spawn);
    if (!pid) return fail(pid.error().code, "cannot start tide run: " + pid.error().message);
    tide_ = *pid;
    return {};
  }

  bool tide_alive() {
    if (tide_ <= 0) return false;
    int status = 0;
    if (::waitpid(tide_, &status, WNOHANG) == tide_) {
      tide_ = 0;
      return false;
    }
    return true;
  }

  std::string tide_log_tail() const {
    std::ifstream in(dir_ / "tide.log");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  // Stops tide (it finishes its evaluation in flight), then the workers; returns how many
  // worker processes had to be stopped.
  int stop() {
    if (stopped_) return 0;
    stopped_ = true;
    if (tide_alive()) {
      ::kill(tide_, SIGTERM);
      wait_gone([&] { return !tide_alive(); }, std::chrono::seconds(10));
      if (tide_alive()) {
        ::kill(tide_, SIGKILL);
        ::waitpid(tide_, nullptr, 0);
      }
    }
    const std::vector<pid_t> workers = find_workers();
    for (pid_t pid : workers) ::kill(pid, SIGTERM);
    wait_gone([&] { return find_workers().empty(); }, std::chrono::seconds(5));
    for (pid_t pid : find_workers()) ::kill(pid, SIGKILL);
    wait_gone([&] { return find_workers().empty(); }, std::chrono::seconds(2));
    std::error_code ec;
    fs::remove_all(dir_, ec);
    return static_cast<int>(workers.size());
  }

 private:
  template <typename Done>
  static void wait_gone(Done done, Steady::duration limit) {
    const auto until = Steady::now() + limit;
    while (!done() && Steady::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Live processes (not zombies) whose environment carries TIDE_DEMO_RUN=<this run>.
  std::vector<pid_t> find_workers() const {
    return proc::live_pids_with_env("TIDE_DEMO_RUN=" + run_id_);
  }

  std::string run_id_;
  fs::path dir_;
  pid_t tide_ = 0;
  bool stopped_ = false;
};

// What the live view reads from GET /v1/groups/web.
struct GroupState {
  bool ok = false;
  int current = 0, ready = 0, warming = 0;
  std::vector<std::string> ready_addresses;
  long long last_id = 0;
  int last_from = 0, last_to = 0;
  std::string last_explanation;
};

GroupState read_group(httplib::Client& api) {
  GroupState g;
  auto res = api.Get("/v1/groups/web");
  if (!res || res->status != 200) return g;
  json v = json::parse(res->body, nullptr, false);
  if (v.is_discarded()) return g;
  g.ok = true;
  // The capacity asked for: the last decision's (the target's status is read at the start of an
  // evaluation, so it lags a scale call by one interval).
  g.current = v["desired"].is_number()   ? v["desired"].get<int>()
              : v["current"].is_number() ? v["current"].get<int>()
                                         : 0;
  g.ready = v["ready"].is_number() ? v["ready"].get<int>() : 0;
  g.warming = v["warming"].is_number() ? v["warming"].get<int>() : 0;
  for (const json& i : v["instances"]) {
    if (i.value("state", "") == "ready" && !i.value("address", "").empty()) {
      g.ready_addresses.push_back(i["address"].get<std::string>());
    }
  }
  const json& last = v["last_decision"];
  if (last.is_object()) {
    g.last_id = last.value("id", 0LL);
    g.last_from = last.value("current", 0);
    g.last_to = last.value("desired", 0);
    if (last.contains("account")) g.last_explanation = last["account"].value("explanation", "");
  }
  return g;
}

// Applied capacity changes from tide's decision log, oldest first.
std::vector<DemoAction> read_actions(httplib::Client& api,
                                     std::chrono::system_clock::time_point start) {
  std::vector<DemoAction> actions;
  std::string before;
  for (int page = 0; page < 20; ++page) {
    auto res = api.Get("/v1/groups/web/decisions?limit=1000" + before);
    if (!res || res->status != 200) break;
    json body = json::parse(res->body, nullptr, false);
    if (body.is_discarded()) break;
    for (const json& d : body["decisions"]) {
      if (d.value("outcome", "") != "applied" || d.value("current", 0) == d.value("desired", 0)) {
        continue;
      }
      auto at = parse_time(d.value("at", ""));
      if (!at) continue;
      actions.push_back({std::chrono::duration<double>(*at - start).count(), d.value("current", 0),
                         d.value("desired", 0), d["account"].value("explanation", "")});
    }
    if (!body["next_before"].is_number()) break;
    before = fmt::format("&before={}", body["next_before"].get<long long>());
  }
  std::sort(actions.begin(), actions.end(),
            [](const DemoAction& a, const DemoAction& b) { return a.at < b.at; });
  return actions;
}

// The reason lines of a decision's explanation (its first line repeats current -> desired),
// on one line.
std::string one_line_reason(const std::string& explanation, std::size_t max) {
  std::string out;
  std::size_t start = explanation.find('\n');
  while (start != std::string::npos && start + 1 < explanation.size()) {
    const std::size_t end = explanation.find('\n', start + 1);
    std::string line =
        explanation.substr(start + 1, end == std::string::npos ? end : end - start - 1);
    line.erase(0, line.find_first_not_of(' '));
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
    start = end;
  }
  if (out.empty()) out = explanation;
  if (out.size() > max) out = out.substr(0, max - 3) + "...";
  return out;
}

// Mean duration of the group's evaluations (read, decide, record, scale call) from tide's
// /metrics, in ms; 0 when unavailable.
std::pair<long long, double> evaluation_latency(httplib::Client& api) {
  auto res = api.Get("/metrics");
  if (!res || res->status != 200) return {0, 0};
  double sum = 0;
  long long count = 0;
  std::istringstream lines(res->body);
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (line.rfind("tide_evaluation_duration_seconds_sum", 0) == 0)
      sum += std::stod(line.substr(space + 1));
    if (line.rfind("tide_evaluation_duration_seconds_count", 0) == 0)
      count += std::stoll(line.substr(space + 1));
  }
  return {count, count > 0 ? sum / static_cast<double>(count) * 1000 : 0};
}

}  // namespace

int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  if (options.seconds < 10 || options.seconds > 3600) {
    err << "tide demo: --seconds must be in 10..3600\n";
    return 2;
  }
  const std::string trace = find_trace(options.trace);
  auto minutes = load_trace_day(trace, "1995-07-13");
  if (!minutes) {
    err << "tide demo: " << minutes.error().message << '\n';
    return 1;
  }
  const std::vector<double> rates = demo_rates(*minutes, options.seconds, options.scale);

  char dir_template[] = "/tmp/tide-demo-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    err << "tide demo: cannot create a temporary directory: " << std::strerror(errno) << '\n';
    return 1;
  }
  const fs::path dir = dir_template;
  const std::string run_id = dir.filename().string();
  DemoProcesses processes(run_id, dir);

  struct sigaction sa {};
  sa.sa_handler = on_demo_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  struct RestoreSignals {
    struct sigaction a, b;
    ~RestoreSignals() {
      ::sigaction(SIGINT, &a, nullptr);
      ::sigaction(SIGTERM, &b, nullptr);
    }
  } restore{old_int, old_term};

  const int api_port = free_port();
  const int base_port = free_port();
  const std::string token = random_hex(16);
  const fs::path config = dir / "tide.yaml";
  {
    std::ofstream file(config);
    file << fmt::format(kConfig, fmt::arg("tmp", dir.string()), fmt::arg("api_port", api_port),
                        fmt::arg("max", kMaxWorkers), fmt::arg("concurrency", kConcurrency),
                        fmt::arg("work_ms", kWorkMs), fmt::arg("wait_ms", kWaitMs),
                        fmt::arg("base_port", base_port), fmt::arg("run_id", run_id),
                        fmt::arg("target", kTargetUtilization));
  }
  if (auto started = processes.start_tide(config, token); !started) {
    err << "tide demo: " << started.error().message << '\n';
    return 1;
  }

  httplib::Client api("127.0.0.1", api_port);
  api.set_connection_timeout(std::chrono::seconds(1));
  api.set_read_timeout(std::chrono::seconds(2));
  // Wait for the API and a first ready worker.
  GroupState state;
  const auto setup_limit = Steady::now() + std::chrono::seconds(30);
  while (!g_interrupted && Steady::now() < setup_limit) {
    if (!processes.tide_alive()) break;
    state = read_group(api);
    if (state.ok && state.ready > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!state.ok || state.ready == 0) {
    err << "tide demo: tide run did not bring up a ready worker within 30 s; its log:\n"
        << processes.tide_log_tail() << '\n';
    return 1;
  }

  // One worker at the policy's target serves this many requests per second.
  const double slot_seconds = (kWorkMs + kWaitMs) / 1000.0;
  DemoModel model;
  model.capacity_rps = kConcurrency / slot_seconds;
  model.target_rps = model.capacity_rps * kTargetUtilization / 100;

  const double minutes_per_second = static_cast<double>(minutes->size()) / options.seconds;
  out << fmt::format(
      "tide demo: NASA web server, 13 July 1995 (Space Shuttle STS-70 launched at 09:41 EDT),\n"
      "{} trace minutes per second, replayed as real HTTP requests to a pool of `tide worker`\n"
      "processes that `tide run` scales on their scraped utilization (target {} %, 1..{} "
      "workers).\n"
      "One worker serves ~{:.0f} requests/s at the target. Watch it live: tide status --api "
      "http://127.0.0.1:{}\n\n",
      std::lround(minutes_per_second), kTargetUtilization, kMaxWorkers, model.target_rps, api_port);
  out << fmt::format("{:>5}  {:>5}  {:>7}  {:>6}  {:>13}  {:>6}  {}\n", "time", "trace", "load/s",
                     "served", "workers", "p95 ms", "tide");
  out.flush();

  LoadGenerator load({});
  std::vector<DemoSample> samples;
  const auto wall_start = std::chrono::system_clock::now();
  long long seen_decision = state.last_id;
  for (int s = 0; s < options.seconds && !g_interrupted; ++s) {
    state = read_group(api);
    if (!processes.tide_alive()) {
      err << "tide demo: tide run exited; its log:\n" << processes.tide_log_tail() << '\n';
      return 1;
    }
    load.set_workers(state.ready_addresses);
    const std::size_t minute =
        static_cast<std::size_t>(static_cast<double>(s) * minutes_per_second);
    samples.push_back({s,
                       (*minutes)[std::min(minute, minutes->size() - 1)].time,
                       rates[s],
                       {},
                       state.current,
                       state.ready,
                       state.warming});
    std::string note;
    if (state.last_id != seen_decision && state.last_to != state.last_from) {
      note =
          fmt::format("{} {} -> {}: {}", state.last_to > state.last_from ? "scale-out" : "scale-in",
                      state.last_from, state.last_to, one_line_reason(state.last_explanation, 100));
    }
    seen_decision = state.last_id;
    if (s > 0 && (s % 3 == 0 || !note.empty())) {
      const SecondStats prev = load.snapshot(s - 1);
      out << fmt::format("{:>4}s  {:>5}  {:>7.0f}  {:>6}  {:>2} ready {:>2} up  {:>6.0f}  {}\n", s,
                         samples.back().trace_time.substr(11, 5), rates[s], prev.completed,
                         state.ready, state.warming, quantile(prev.completed_latency_ms, 0.95),
                         note);
      out.flush();
    }
    load.run_second(s, rates[s]);
  }
  const std::vector<SecondStats> stats = load.finish();
  for (DemoSample& sample : samples) {
    if (static_cast<std::size_t>(sample.second) < stats.size()) {
      sample.requests = stats[static_cast<std::size_t>(sample.second)];
    }
  }
  std::vector<DemoAction> actions = read_actions(api, wall_start);
  for (DemoAction& a : actions) a.explanation = one_line_reason(a.explanation, 300);
  const auto [evaluations, evaluation_ms] = evaluation_latency(api);
  const int stopped = processes.stop();

  const DemoSummary summary = summarize(samples, actions, model);
  out << '\n' << (g_interrupted ? "Interrupted. " : "") << format_summary(summary) << '\n';
  out << fmt::format(
      "tide: {} evaluations, {:.1f} ms each on average (scrape every worker, decide, record, "
      "scale call)\n",
      evaluations, evaluation_ms);
  out << fmt::format("cleanup: tide run stopped, {} worker processes stopped, {} removed\n",
                     stopped, dir.string());
  if (!options.report.empty()) {
    std::ofstream html(options.report);
    html << render_demo_html(samples, actions, model, summary,
                             "tide demo: NASA-HTTP, 13 July 1995, live");
    if (!html) {
      err << "tide demo: cannot write " << options.report << '\n';
      return 1;
    }
    out << "chart: " << fs::absolute(options.report).string() << '\n';
  }
  return g_interrupted ? 130 : 0;
}

}  // namespace tide::cli
