#include "targets/local_process/local_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "state/state.hpp"
#include "targets/params.hpp"
#include "targets/process.hpp"
#include "targets/readiness.hpp"

namespace tide {
namespace {

constexpr const char* kType = "local-process";
// How long one readiness check may take.
constexpr Duration kCheckTimeout = std::chrono::milliseconds(500);
// A process that ran this long before exiting restarts without accumulated backoff.
constexpr Duration kBackoffReset = std::chrono::seconds(60);

long long to_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
TimePoint from_ms(long long ms) {
  return TimePoint(Duration(ms));
}

std::string tide_binary() {
  char buffer[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return "tide";
  return std::string(buffer, static_cast<std::size_t>(n));
}

struct Slot {
  int index = 0;
  int port = 0;
  long long seq = 0;  // creation order: the largest is the newest
  pid_t pid = 0;      // 0: no process (waiting for a (re)start)
  unsigned long long start_ticks = 0;
  TimePoint started_at{};
  bool ready = false;
  bool adopted = false;
  int restarts = 0;        // of this slot, after unexpected exits
  int failures = 0;        // consecutive, for the backoff
  TimePoint restart_at{};  // pid == 0: when to start
  std::string last_exit;   // set once a process of this slot exited unexpectedly
  std::string error;       // the last spawn error
};

struct Stopping {
  int index = 0;
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
  TimePoint kill_at{};
  bool killed = false;
};

struct Check {
  int index;
  pid_t pid;
  int port;
};

class LocalProcessTarget final : public Target {
 public:
  LocalProcessTarget(LocalProcessConfig config, const TargetContext& context)
      : config_(std::move(config)),
        group_(context.group),
        state_(context.state),
        clock_(context.clock != nullptr ? context.clock : &system_clock_),
        boot_id_(proc::boot_id()),
        tide_path_(tide_binary()) {}

  Result<void> load();

  Result<TargetStatus> status() override;
  Result<void> scale(const ScaleRequest& request) override;
  void maintain() override;

 private:
  void reap_locked(TimePoint now);
  void on_exit_locked(Slot& slot, TimePoint now, std::string why);
  Result<void> start_locked(Slot& slot, TimePoint now);
  void stop_locked(const Slot& slot, TimePoint now);
  Result<void> resize_locked(TimePoint now);
  int pick_index_locked() const;
  Result<void> persist_locked();
  std::string render(const std::string& text, int index, int port) const;
  std::string detail_locked(const Slot& slot, TimePoint now) const;

  LocalProcessConfig config_;
  std::string group_;
  TargetStateStore* state_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::string boot_id_;
  std::string tide_path_;

  std::mutex mu_;
  std::mutex maintain_mu_;
  int desired_ = 0;
  long long next_seq_ = 0;
  std::vector<Slot> slots_;
  std::vector<Stopping> stopping_;
  long long unexpected_exits_ = 0;
  bool dirty_ = false;
};

std::string LocalProcessTarget::render(const std::string& text, int index, int port) const {
  std::string out = proc::replace_all(text, "{index}", std::to_string(index));
  out = proc::replace_all(std::move(out), "{port}", std::to_string(port));
  return proc::replace_all(std::move(out), "{tide}", proc::shell_quote(tide_path_));
}

Result<void> LocalProcessTarget::load() {
  if (state_ == nullptr) return {};
  auto text = state_->get(kLocalProcessStateKey);
  if (!text) {
    return fail(text.error().code,
                fmt::format("local-process target: cannot read saved state (refusing to start "
                            "processes that may already run): {}",
                            text.error().message));
  }
  if (!*text) return {};
  auto pool = pool_from_string(**text);
  if (!pool) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("local-process target: saved state is unreadable: {}", pool.error().message));
  }
  std::lock_guard lock(mu_);
  const TimePoint now = clock_->now();
  const bool same_boot = !boot_id_.empty() && pool->boot_id == boot_id_;
  for (const PersistedProcess& p : pool->processes) {
    bool alive = same_boot && p.pid > 0 &&
                 proc::probe(p.pid, p.start_ticks, /*kill_group_on_exit=*/true).liveness ==
                     proc::Liveness::kAlive;
    if (p.stopping) {
      if (alive) {
        stopping_.push_back({.index = p.index,
                             .pid = p.pid,
                             .start_ticks = p.start_ticks,
                             .kill_at = from_ms(p.kill_at_ms),
                             .killed = false});
      } else {
        dirty_ = true;
      }
      continue;
    }
    Slot slot;
    slot.index = p.index;
    slot.port = p.port;
    slot.seq = next_seq_++;
    if (alive) {
      slot.pid = p.pid;
      slot.start_ticks = p.start_ticks;
      slot.started_at = from_ms(p.started_ms);
      slot.ready = p.ready || config_.readiness == Readiness::kNone;
      slot.adopted = true;
    } else {
      // Exited while tide was away, or its pid now belongs to another process: forget the pid
      // and treat the slot as crashed.
      slot.last_exit =
          p.pid > 0 ? fmt::format("pid {} was gone when tide started", p.pid) : "not running";
      slot.restart_at = now;
      dirty_ = true;
    }
    slots_.push_back(std::move(slot));
  }
  desired_ = std::clamp(pool->desired, 0, kMaxLocalProcesses);
  if (static_cast<int>(slots_.size()) != desired_) dirty_ = true;
  if (dirty_) (void)persist_locked();
  return {};
}

void LocalProcessTarget::on_exit_locked(Slot& slot, TimePoint now, std::string why) {
  if (now - slot.started_at >= kBackoffReset) slot.failures = 0;
  slot.failures++;
  slot.pid = 0;
  slot.start_ticks = 0;
  slot.ready = false;
  slot.last_exit = std::move(why);
  slot.restart_at = now + restart_backoff(slot.failures);
  unexpected_exits_++;
  dirty_ = true;
}

void LocalProcessTarget::reap_locked(TimePoint now) {
  for (Slot& slot : slots_) {
    if (slot.pid == 0) continue;
    proc::Probe p = proc::probe(slot.pid, slot.start_ticks, /*kill_group_on_exit=*/true);
    if (p.liveness == proc::Liveness::kAlive) continue;
    on_exit_locked(slot, now,
                   p.wait_status ? proc::describe_wait_status(*p.wait_status)
                                 : std::string("exited (status unknown: adopted process)"));
  }
  // A stopping instance is its whole process group: `sh -c` may exit on SIGTERM before the
  // server it started has drained, and the grace period belongs to the server.
  for (auto it = stopping_.begin(); it != stopping_.end();) {
    const bool leader =
        proc::probe(it->pid, it->start_ticks, /*kill_group_on_exit=*/false).liveness ==
        proc::Liveness::kAlive;
    const bool rest = !leader && proc::orphaned_group_exists(it->pid);
    if ((!leader && !rest) || (it->killed && !leader)) {
      it = stopping_.erase(it);
      dirty_ = true;
      continue;
    }
    if (!it->killed && now >= it->kill_at) {
      if (leader) {
        proc::signal_group(it->pid, it->start_ticks, SIGKILL);
      } else {
        ::kill(-it->pid, SIGKILL);
      }
      it->killed = true;
      dirty_ = true;
    }
    ++it;
  }
}

Result<void> LocalProcessTarget::start_locked(Slot& slot, TimePoint now) {
  dirty_ = true;
  auto failed = [&](Error error) -> Result<void> {
    slot.error = error.message;
    slot.failures++;
    slot.restart_at = now + restart_backoff(slot.failures);
    return std::unexpected(std::move(error));
  };
  if (config_.base_port && slot.port > 65535) {
    return failed({ErrorCode::kInvalidArgument,
                   fmt::format("local-process target: port {} of instance {} is above 65535",
                               slot.port, slot.index)});
  }
  proc::SpawnOptions options;
  options.command = render(config_.command, slot.index, slot.port);
  options.env = config_.env;
  options.env.emplace_back("TIDE_GROUP", group_);
  options.env.emplace_back("TIDE_INDEX", std::to_string(slot.index));
  if (config_.base_port) options.env.emplace_back("TIDE_PORT", std::to_string(slot.port));
  options.working_dir = config_.working_dir;
  if (!config_.log_file.empty()) {
    options.output_path = render(config_.log_file, slot.index, slot.port);
  }
  options.new_session = true;
  auto pid = proc::spawn_shell(options);
  if (!pid) {
    return failed({pid.error().code, "local-process target: " + pid.error().message});
  }
  slot.pid = *pid;
  auto st = proc::read_proc_stat(*pid);
  slot.start_ticks = st ? st->start_ticks : 0;
  slot.started_at = now;
  slot.ready = config_.readiness == Readiness::kNone;
  slot.adopted = false;
  slot.error.clear();
  return {};
}

void LocalProcessTarget::stop_locked(const Slot& slot, TimePoint now) {
  if (slot.pid == 0) return;
  const bool kill_now = config_.grace_period <= Duration::zero();
  proc::signal_group(slot.pid, slot.start_ticks, kill_now ? SIGKILL : SIGTERM);
  stopping_.push_back({.index = slot.index,
                       .pid = slot.pid,
                       .start_ticks = slot.start_ticks,
                       .kill_at = now + config_.grace_period,
                       .killed = kill_now});
  dirty_ = true;
}

int LocalProcessTarget::pick_index_locked() const {
  std::set<int> used;
  for (const Slot& s : slots_) used.insert(s.index);
  for (const Stopping& s : stopping_) used.insert(s.index);
  const int search_ports_until = static_cast<int>(used.size()) + 64;
  for (int i = 0;; ++i) {
    if (used.contains(i)) continue;
    if (!config_.base_port || i >= search_ports_until) return i;
    const int port = *config_.base_port + i;
    if (port > 65535 || readiness::port_free(port)) return i;
  }
}

Result<void> LocalProcessTarget::resize_locked(TimePoint now) {
  std::optional<Error> first_error;
  while (static_cast<int>(slots_.size()) < desired_) {
    Slot slot;
    slot.index = pick_index_locked();
    slot.port = config_.base_port ? *config_.base_port + slot.index : 0;
    slot.seq = next_seq_++;
    slots_.push_back(slot);
    auto started = start_locked(slots_.back(), now);
    if (!started && !first_error) first_error = started.error();
  }
  if (static_cast<int>(slots_.size()) > desired_) {
    // Slots without a process go first, then the newest.
    std::vector<Slot*> order;
    for (Slot& s : slots_) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const Slot* a, const Slot* b) {
      if ((a->pid == 0) != (b->pid == 0)) return a->pid == 0;
      return a->seq > b->seq;
    });
    std::set<long long> victims;
    for (std::size_t i = 0; i < slots_.size() - static_cast<std::size_t>(desired_); ++i) {
      stop_locked(*order[i], now);
      victims.insert(order[i]->seq);
    }
    std::erase_if(slots_, [&](const Slot& s) { return victims.contains(s.seq); });
    dirty_ = true;
  }
  if (first_error) return std::unexpected(*first_error);
  return {};
}

Result<void> LocalProcessTarget::persist_locked() {
  if (state_ == nullptr) {
    dirty_ = false;
    return {};
  }
  PersistedPool pool;
  pool.boot_id = boot_id_;
  pool.desired = desired_;
  for (const Slot& s : slots_) {
    pool.processes.push_back({.index = s.index,
                              .port = s.port,
                              .pid = s.pid,
                              .start_ticks = s.start_ticks,
                              .started_ms = to_ms(s.started_at),
                              .ready = s.ready});
  }
  for (const Stopping& s : stopping_) {
    pool.processes.push_back({.index = s.index,
                              .pid = s.pid,
                              .start_ticks = s.start_ticks,
                              .stopping = true,
                              .kill_at_ms = to_ms(s.kill_at)});
  }
  auto put = state_->put(kLocalProcessStateKey, pool_to_string(pool));
  if (!put) {
    return fail(put.error().code,
                "local-process target: cannot save the pool (a restarted tide could not re-adopt "
                "its processes): " +
                    put.error().message);
  }
  dirty_ = false;
  return {};
}

std::string LocalProcessTarget::detail_locked(const Slot& slot, TimePoint now) const {
  std::string out;
  if (slot.pid != 0) {
    out = fmt::format("pid {}", slot.pid);
    if (slot.adopted) out += ", adopted after a tide restart";
    if (!slot.ready) {
      out += config_.readiness == Readiness::kHttp
                 ? fmt::format(", waiting for GET http://127.0.0.1:{}{} to answer 2xx", slot.port,
                               config_.readiness_path)
                 : fmt::format(", waiting for 127.0.0.1:{} to accept connections", slot.port);
    }
  } else if (!slot.error.empty()) {
    out = slot.error;
  } else if (!slot.last_exit.empty()) {
    out = slot.last_exit;
  } else {
    out = "not started";
  }
  if (slot.restarts > 0) {
    out += fmt::format("; restarted {} time{}, last after: {}", slot.restarts,
                       slot.restarts == 1 ? "" : "s", slot.last_exit);
  }
  if (slot.pid == 0) {
    if (config_.restart || slot.last_exit.empty()) {
      Duration wait = std::max(Duration::zero(), slot.restart_at - now);
      out += wait > Duration::zero() ? fmt::format("; starting again in {}", format_duration(wait))
                                     : "; starting again";
    } else {
      out += "; not restarted (restart: false)";
    }
  }
  return out;
}

Result<TargetStatus> LocalProcessTarget::status() {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_->now();
  reap_locked(now);
  TargetStatus status;
  status.desired = desired_;
  status.unexpected_exits = unexpected_exits_;
  for (const Slot& slot : slots_) {
    InstanceStatus instance;
    instance.id = std::to_string(slot.index);
    if (config_.base_port) instance.address = fmt::format("127.0.0.1:{}", slot.port);
    instance.state = slot.pid == 0 ? InstanceState::kMissing
                     : slot.ready  ? InstanceState::kReady
                                   : InstanceState::kWarming;
    instance.detail = detail_locked(slot, now);
    status.instances.push_back(std::move(instance));
  }
  if (dirty_) (void)persist_locked();  // retried by the next call when it fails
  return status;
}

Result<void> LocalProcessTarget::scale(const ScaleRequest& request) {
  if (request.desired < 0 || request.desired > kMaxLocalProcesses) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("local-process target: capacity {} is outside 0..{}", request.desired,
                            kMaxLocalProcesses));
  }
  std::lock_guard lock(mu_);
  const TimePoint now = clock_->now();
  reap_locked(now);
  if (desired_ != request.desired) dirty_ = true;
  desired_ = request.desired;
  auto resized = resize_locked(now);
  auto persisted = dirty_ ? persist_locked() : Result<void>{};
  if (!resized) return resized;
  return persisted;
}

void LocalProcessTarget::maintain() {
  std::unique_lock only_one(maintain_mu_, std::try_to_lock);
  if (!only_one.owns_lock()) return;
  std::vector<Check> checks;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_->now();
    reap_locked(now);
    (void)resize_locked(now);
    for (Slot& slot : slots_) {
      if (slot.pid != 0 || now < slot.restart_at) continue;
      if (!config_.restart && !slot.last_exit.empty()) continue;
      const bool restart = !slot.last_exit.empty();
      if (start_locked(slot, now) && restart) slot.restarts++;
    }
    for (Slot& slot : slots_) {
      if (slot.pid == 0 || slot.ready) continue;
      if (now - slot.started_at >= config_.readiness_timeout) {
        proc::signal_group(slot.pid, slot.start_ticks, SIGKILL);
        stopping_.push_back({.index = slot.index,
                             .pid = slot.pid,
                             .start_ticks = slot.start_ticks,
                             .kill_at = now,
                             .killed = true});
        on_exit_locked(slot, now,
                       fmt::format("not ready within {} (killed)",
                                   format_duration(config_.readiness_timeout)));
        continue;
      }
      checks.push_back({slot.index, slot.pid, slot.port});
    }
    if (dirty_) (void)persist_locked();
  }
  if (checks.empty()) return;
  std::vector<int> ready;
  for (const Check& c : checks) {
    bool ok =
        config_.readiness == Readiness::kTcp
            ? readiness::tcp_connects("127.0.0.1", c.port, kCheckTimeout)
            : readiness::http_status("127.0.0.1", c.port, config_.readiness_path, kCheckTimeout) /
                      100 ==
                  2;
    if (ok) ready.push_back(c.index);
  }
  if (ready.empty()) return;
  std::lock_guard lock(mu_);
  for (const Check& c : checks) {
    if (std::find(ready.begin(), ready.end(), c.index) == ready.end()) continue;
    for (Slot& slot : slots_) {
      if (slot.index == c.index && slot.pid == c.pid && !slot.ready) {
        slot.ready = true;
        dirty_ = true;
      }
    }
  }
  if (dirty_) (void)persist_locked();
}

}  // namespace

Duration restart_backoff(int failures) {
  if (failures <= 0) return Duration::zero();
  const Duration cap = std::chrono::seconds(30);
  Duration d = std::chrono::milliseconds(500);
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

Result<LocalProcessConfig> parse_local_process_config(const nlohmann::json& p) {
  if (!p.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "local-process target: expected a mapping");
  }
  LocalProcessConfig c;
  auto command = params::string(p, kType, "command");
  if (!command) return std::unexpected(command.error());
  if (command->empty()) {
    return fail(ErrorCode::kInvalidArgument, "local-process target: 'command' is required");
  }
  c.command = *command;
  auto base_port = params::integer(p, kType, "base_port", 0);
  if (!base_port) return std::unexpected(base_port.error());
  if (p.contains("base_port")) {
    if (*base_port < 1 || *base_port > 65535) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("local-process target: base_port must be in 1..65535, got {}", *base_port));
    }
    c.base_port = static_cast<int>(*base_port);
  }
  auto working_dir = params::string(p, kType, "working_dir");
  if (!working_dir) return std::unexpected(working_dir.error());
  c.working_dir = *working_dir;
  auto env = params::string_map(p, kType, "env");
  if (!env) return std::unexpected(env.error());
  c.env = *env;
  auto log_file = params::string(p, kType, "log_file");
  if (!log_file) return std::unexpected(log_file.error());
  c.log_file = *log_file;
  auto grace = params::duration(p, kType, "grace_period", c.grace_period);
  if (!grace) return std::unexpected(grace.error());
  c.grace_period = *grace;
  auto readiness = params::string(p, kType, "readiness", "none");
  if (!readiness) return std::unexpected(readiness.error());
  if (*readiness == "none") {
    c.readiness = Readiness::kNone;
  } else if (*readiness == "tcp") {
    c.readiness = Readiness::kTcp;
  } else if (*readiness == "http") {
    c.readiness = Readiness::kHttp;
  } else {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("local-process target: readiness must be none, tcp or http, got '{}'",
                            *readiness));
  }
  auto path = params::string(p, kType, "readiness_path", c.readiness_path);
  if (!path) return std::unexpected(path.error());
  c.readiness_path = path->empty() || path->front() != '/' ? "/" + *path : *path;
  auto timeout = params::duration(p, kType, "readiness_timeout", c.readiness_timeout);
  if (!timeout) return std::unexpected(timeout.error());
  c.readiness_timeout = *timeout;
  auto restart = params::boolean(p, kType, "restart", true);
  if (!restart) return std::unexpected(restart.error());
  c.restart = *restart;

  const bool uses_port = c.command.find("{port}") != std::string::npos ||
                         c.log_file.find("{port}") != std::string::npos;
  if (!c.base_port && uses_port) {
    return fail(ErrorCode::kInvalidArgument,
                "local-process target: the command uses {port} but no base_port is set");
  }
  if (!c.base_port && c.readiness != Readiness::kNone) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("local-process target: readiness '{}' needs base_port (the check "
                            "connects to 127.0.0.1:base_port+index)",
                            *readiness));
  }
  return c;
}

std::string pool_to_string(const PersistedPool& pool) {
  nlohmann::json out;
  out["version"] = 1;
  out["boot_id"] = pool.boot_id;
  out["desired"] = pool.desired;
  nlohmann::json list = nlohmann::json::array();
  for (const PersistedProcess& p : pool.processes) {
    nlohmann::json j = {{"index", p.index},
                        {"port", p.port},
                        {"pid", p.pid},
                        {"start_ticks", p.start_ticks},
                        {"started_ms", p.started_ms},
                        {"ready", p.ready}};
    if (p.stopping) {
      j["stopping"] = true;
      j["kill_at_ms"] = p.kill_at_ms;
    }
    list.push_back(std::move(j));
  }
  out["processes"] = std::move(list);
  return out.dump();
}

Result<PersistedPool> pool_from_string(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "not a JSON object");
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<long long>() != 1) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("unknown version {}",
                            j.contains("version") ? j["version"].dump() : std::string("(none)")));
  }
  PersistedPool pool;
  auto get_int = [](const nlohmann::json& o, const char* key, long long& out) {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->is_number_integer()) return false;
    out = it->get<long long>();
    return true;
  };
  if (j.contains("boot_id") && j["boot_id"].is_string()) pool.boot_id = j["boot_id"];
  long long desired = 0;
  if (!get_int(j, "desired", desired) || desired < 0 || desired > kMaxLocalProcesses) {
    return fail(ErrorCode::kInvalidArgument, "'desired' is not a capacity");
  }
  pool.desired = static_cast<int>(desired);
  auto list = j.find("processes");
  if (list == j.end() || !list->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "'processes' is not a list");
  }
  for (const nlohmann::json& e : *list) {
    if (!e.is_object()) return fail(ErrorCode::kInvalidArgument, "a process is not an object");
    long long index = -1, port = 0, pid = 0, ticks = 0, started = 0, kill_at = 0;
    if (!get_int(e, "index", index) || !get_int(e, "port", port) || !get_int(e, "pid", pid) ||
        !get_int(e, "start_ticks", ticks) || !get_int(e, "started_ms", started) ||
        !get_int(e, "kill_at_ms", kill_at) || index < 0 || index > INT_MAX || pid < 0 ||
        pid > INT_MAX || port < 0 || port > INT_MAX || ticks < 0) {
      return fail(ErrorCode::kInvalidArgument, "a process has a bad index, port, pid or time");
    }
    PersistedProcess p;
    p.index = static_cast<int>(index);
    p.port = static_cast<int>(port);
    p.pid = static_cast<int>(pid);
    p.start_ticks = static_cast<unsigned long long>(ticks);
    p.started_ms = started;
    p.kill_at_ms = kill_at;
    auto flag = [&](const char* key) {
      auto it = e.find(key);
      return it != e.end() && it->is_boolean() && it->get<bool>();
    };
    p.ready = flag("ready");
    p.stopping = flag("stopping");
    pool.processes.push_back(p);
  }
  return pool;
}

Result<std::unique_ptr<Target>> make_local_process_target(const TargetRef& ref,
                                                          const TargetContext& context) {
  auto config = parse_local_process_config(ref.params);
  if (!config) return std::unexpected(config.error());
  auto target = std::make_unique<LocalProcessTarget>(std::move(*config), context);
  if (auto loaded = target->load(); !loaded) return std::unexpected(loaded.error());
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace tide
