// The local-process target with real processes: `tide worker` pools becoming ready over HTTP,
// scale-in with SIGTERM and SIGKILL after the grace period, crash restarts, re-adoption after a
// tide restart (processes that are no longer our children) and PID-reuse protection.
//
// Run by tests/local_process_test.sh (ctest: integration.local_process_test).
//
// Every process a test starts carries TIDE_GROUP=<a name unique to the test>; TearDown kills every
// process group whose leader has it (found through /proc/*/environ), whatever the test did. Every
// wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "targets/local_process/local_process.hpp"
#include "targets/process.hpp"
#include "targets/readiness.hpp"
#include "targets/testing/fake_state_store.hpp"

namespace tide {
namespace {

// The tide executable (for `tide worker`): $TIDE_BINARY (tests/local_process_test.sh sets it), or
// `tide` next to this test binary.
std::string tide_binary() {
  if (const char* env = std::getenv("TIDE_BINARY"); env != nullptr && *env != '\0') return env;
  return (std::filesystem::canonical("/proc/self/exe").parent_path() / "tide").string();
}

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

// Generous: CI machines are slow and shared.
constexpr auto kLong = seconds(60);

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The process-group leaders among them: one per instance (`sh -c` may keep a child).
std::vector<pid_t> leaders_with_env(const std::string& marker) {
  std::vector<pid_t> out;
  for (pid_t pid : proc::live_pids_with_env(marker)) {
    auto st = proc::read_proc_stat(pid);
    if (st && st->pgrp == pid) out.push_back(pid);
  }
  return out;
}

class LocalProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    group_ = "lp-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    // A base port per test, away from the usual ones and below Linux's ephemeral range (32768 and
    // up, where the parallel tests' own connections take ports); busy ports are still possible
    // and are skipped by the target, so no test assumes index 0, 1, 2.
    base_port_ = 20000 + static_cast<int>((::getpid() * 37 + counter * 101) % 12000);
    dir_ = std::filesystem::temp_directory_path() / group_;
    state_ = std::make_unique<TargetStateStore>(store_, group_);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    targets_.clear();
    for (int round = 0; round < 3; ++round) {
      for (pid_t pid : proc::live_pids_with_env("TIDE_GROUP=" + group_)) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
      }
      // Verified by start time: after the first round the pid may belong to someone else.
      for (auto [pid, ticks] : extra_) proc::signal_group(pid, ticks, SIGKILL);
      // Reap whatever was ours.
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    EXPECT_TRUE(proc::live_pids_with_env("TIDE_GROUP=" + group_).empty())
        << "processes left behind";
    std::filesystem::remove_all(dir_);
  }

  Target& make(json params) {
    auto target =
        make_local_process_target({"local-process", std::move(params)},
                                  {.group = group_, .state = state_.get(), .clock = &clock_});
    EXPECT_TRUE(target.has_value()) << target.error().message;
    if (!target) std::abort();
    targets_.push_back(std::move(*target));
    return *targets_.back();
  }

  // Calls maintain() every 50 ms until `done(status)` holds; false after `timeout`.
  bool eventually(Target& target, const std::function<bool(const TargetStatus&)>& done,
                  Duration timeout = kLong) {
    const auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      target.maintain();
      auto status = target.status();
      if (status && done(*status)) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  // index -> pid of the active (not stopping) processes, from the saved state.
  std::map<int, pid_t> saved_pids() {
    std::map<int, pid_t> out;
    auto text = store_.value(group_, kLocalProcessStateKey);
    if (!text) return out;
    auto pool = pool_from_string(*text);
    EXPECT_TRUE(pool.has_value());
    if (!pool) return out;
    for (const PersistedProcess& p : pool->processes) {
      if (!p.stopping) out[p.index] = p.pid;
    }
    return out;
  }

  // Alive, and still the process first seen with that pid (pids are reused quickly when tests
  // run in parallel).
  bool alive(pid_t pid) {
    auto st = proc::read_proc_stat(pid);
    if (!st || st->ended()) return false;
    auto [it, inserted] = seen_.emplace(pid, st->start_ticks);
    return it->second == st->start_ticks;
  }

  std::string worker_command() const {
    return proc::shell_quote(tide_binary()) + " worker --port {port} --concurrency 1";
  }

  std::string group_;
  int base_port_ = 0;
  std::filesystem::path dir_;
  testing::FakeStateStore store_;
  std::unique_ptr<TargetStateStore> state_;
  SystemClock clock_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::map<pid_t, unsigned long long> seen_;
  // Processes started by the test itself: pid and start ticks.
  std::vector<std::pair<pid_t, unsigned long long>> extra_;
  void track(pid_t pid) {
    auto st = proc::read_proc_stat(pid);
    if (st) extra_.emplace_back(pid, st->start_ticks);
  }
};

TEST_F(LocalProcessTest, ScalesUpWorkersThatBecomeReadyOverHttp) {
  Target& target = make({{"command", worker_command()},
                         {"base_port", base_port_},
                         {"readiness", "http"},
                         {"readiness_path", "/healthz"},
                         {"log_file", (dir_ / "worker-{index}.log").string()}});
  const auto started = Steady::now();
  ASSERT_TRUE(target.scale({.desired = 3, .reason = "test"}).has_value());
  EXPECT_LT(Steady::now() - started, seconds(5)) << "scale() must not wait for readiness";

  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 3);
  ASSERT_EQ(status->instances.size(), 3u);
  EXPECT_EQ(status->ready(), 0) << "nothing counts as ready before its check passed";

  ASSERT_TRUE(eventually(target, [](const TargetStatus& s) { return s.ready() == 3; }))
      << "workers did not become ready";
  status = target.status();
  ASSERT_TRUE(status.has_value());
  std::set<std::string> ids;
  for (const InstanceStatus& i : status->instances) {
    ids.insert(i.id);
    const int port = base_port_ + std::stoi(i.id);
    EXPECT_EQ(i.address, "127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(readiness::http_status("127.0.0.1", port, "/work?ms=1", seconds(10)), 200)
        << i.address;
  }
  EXPECT_EQ(ids.size(), 3u);  // 0, 1, 2 unless another test held one of their ports
  EXPECT_EQ(saved_pids().size(), 3u);
  EXPECT_EQ(status->unexpected_exits, 0);
  // The log file receives the worker's output.
  EXPECT_NE(read_file((dir_ / ("worker-" + *ids.begin() + ".log")).string())
                .find("tide worker listening on"),
            std::string::npos);
  // The processes lead their own sessions (they survive tide).
  for (auto [index, pid] : saved_pids()) EXPECT_EQ(::getsid(pid), pid) << index;
}

TEST_F(LocalProcessTest, ScaleInSendsSigtermThenSigkillAfterTheGracePeriod) {
  // Instance 2 ignores SIGTERM; the others honour it. Each says when its trap is set.
  Target& target = make(
      {{"command", "if [ {index} = 2 ]; then trap '' TERM; fi; touch started-{index}; sleep 60"},
       {"working_dir", dir_.string()},
       {"grace_period", 3000}});
  ASSERT_TRUE(target.scale({.desired = 3}).has_value());
  ASSERT_TRUE(eventually(target, [&](const TargetStatus& s) {
    return s.ready() == 3 && std::filesystem::exists(dir_ / "started-0") &&
           std::filesystem::exists(dir_ / "started-1") &&
           std::filesystem::exists(dir_ / "started-2");
  }));
  const auto pids = saved_pids();
  ASSERT_EQ(pids.size(), 3u);
  for (auto [index, pid] : pids) ASSERT_TRUE(alive(pid)) << index;

  const auto asked = Steady::now();
  ASSERT_TRUE(target.scale({.desired = 1}).has_value());
  EXPECT_LT(Steady::now() - asked, seconds(2)) << "scale() must not wait for processes to stop";
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 1);
  ASSERT_EQ(status->instances.size(), 1u);
  EXPECT_EQ(status->instances[0].id, "0") << "the newest instances go first";

  // The polite one is gone well before the grace period ends; the stubborn one is not.
  ASSERT_TRUE(eventually(
      target, [&](const TargetStatus&) { return !alive(pids.at(1)); }, seconds(20)));
  const auto polite_gone = Steady::now() - asked;
  target.maintain();
  if (Steady::now() - asked < milliseconds(2500)) {
    EXPECT_TRUE(alive(pids.at(2))) << "a process ignoring SIGTERM died before the grace period";
  }
  // The stubborn one is killed once the grace period has passed.
  ASSERT_TRUE(eventually(
      target, [&](const TargetStatus&) { return !alive(pids.at(2)); }, seconds(30)));
  const auto stubborn_gone = Steady::now() - asked;
  EXPECT_GE(stubborn_gone, milliseconds(3000));
  EXPECT_LT(polite_gone, stubborn_gone);
  EXPECT_TRUE(alive(pids.at(0)));
  // Once both are gone, the saved state lists only instance 0.
  target.maintain();
  auto text = store_.value(group_, kLocalProcessStateKey);
  ASSERT_TRUE(text.has_value());
  auto pool = pool_from_string(*text);
  ASSERT_TRUE(pool.has_value());
  ASSERT_EQ(pool->processes.size(), 1u);
  EXPECT_EQ(pool->processes[0].index, 0);
  EXPECT_EQ(pool->desired, 1);
  status = target.status();
  EXPECT_EQ(status->unexpected_exits, 0) << "stopping on request is not a crash";
}

TEST_F(LocalProcessTest, CrashedProcessIsRestartedAndReported) {
  Target& target = make({{"command", "sleep 60"}});
  ASSERT_TRUE(target.scale({.desired = 2}).has_value());
  ASSERT_TRUE(eventually(target, [](const TargetStatus& s) { return s.ready() == 2; }));
  const pid_t victim = saved_pids().at(0);
  const pid_t bystander = saved_pids().at(1);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  ASSERT_TRUE(eventually(target, [&](const TargetStatus& s) {
    auto pids = saved_pids();
    return s.ready() == 2 && pids.count(0) && pids.at(0) != 0 && pids.at(0) != victim;
  })) << "the crashed process was not restarted";
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->unexpected_exits, 1);
  EXPECT_EQ(saved_pids().at(1), bystander);
  EXPECT_NE(status->instances[0].detail.find(
                "restarted 1 time, last after: killed by signal 9 (SIGKILL)"),
            std::string::npos)
      << status->instances[0].detail;
}

TEST_F(LocalProcessTest, ProcessesNotReadyInTimeAreKilledAndRestarted) {
  Target& target = make({{"command", "sleep 60"},
                         {"base_port", base_port_},
                         {"readiness", "tcp"},
                         {"readiness_timeout", 1000}});
  ASSERT_TRUE(target.scale({.desired = 1}).has_value());
  // Not necessarily index 0: the target skips an index whose port another test holds.
  const auto pids = saved_pids();
  ASSERT_EQ(pids.size(), 1u);
  const pid_t first = pids.begin()->second;
  ASSERT_TRUE(alive(first));
  ASSERT_TRUE(eventually(target, [](const TargetStatus& s) { return s.unexpected_exits >= 1; }));
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->ready(), 0);
  EXPECT_NE(status->instances[0].detail.find("not ready within 1s (killed)"), std::string::npos)
      << status->instances[0].detail;
  ASSERT_TRUE(eventually(
      target, [&](const TargetStatus&) { return !alive(first); }, seconds(10)));
}

// Runs `body` in a child process that exits afterwards, so the processes it starts are no longer
// children of the test (as after a tide restart). Returns the saved state the child wrote.
std::string in_another_process(const std::string& state_file,
                               const std::function<std::string()>& body) {
  pid_t child = ::fork();
  if (child == 0) {
    std::string state = body();
    std::ofstream(state_file) << state;
    ::_exit(state.empty() ? 1 : 0);
  }
  int status = 0;
  const auto deadline = Steady::now() + kLong;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (Steady::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return "";
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? read_file(state_file) : "";
}

TEST_F(LocalProcessTest, ANewTargetReadoptsLiveProcessesInsteadOfStartingDuplicates) {
  const json params = {{"command", worker_command()},
                       {"base_port", base_port_},
                       {"readiness", "http"},
                       {"grace_period", 5000}};
  // "tide #1" starts two workers and exits; the workers stay.
  const std::string saved =
      in_another_process((dir_ / "state.json").string(), [&]() -> std::string {
        testing::FakeStateStore store;
        TargetStateStore state(store, group_);
        auto target = make_local_process_target({"local-process", params},
                                                {.group = group_, .state = &state});
        if (!target || !(*target)->scale({.desired = 2})) return "";
        const auto deadline = Steady::now() + kLong;
        while (Steady::now() < deadline) {
          (*target)->maintain();
          auto s = (*target)->status();
          if (s && s->ready() == 2) return store.value(group_, kLocalProcessStateKey).value_or("");
          std::this_thread::sleep_for(milliseconds(50));
        }
        return "";
      });
  ASSERT_FALSE(saved.empty()) << "the first target did not get two ready workers";
  store_.set(group_, kLocalProcessStateKey, saved);
  const auto before = saved_pids();
  ASSERT_EQ(before.size(), 2u);
  for (auto [index, pid] : before) {
    ASSERT_TRUE(alive(pid)) << index;
    EXPECT_NE(proc::read_proc_stat(pid)->ppid, ::getpid()) << "should not be our child";
  }

  // "tide #2" adopts them: same pids, ready at once, nothing new started.
  Target& target = make(params);
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 2);
  EXPECT_EQ(status->ready(), 2);
  for (int i = 0; i < 10; ++i) {
    target.maintain();
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(saved_pids(), before);
  EXPECT_EQ(leaders_with_env("TIDE_GROUP=" + group_).size(), 2u) << "duplicates were started";
  status = target.status();
  EXPECT_NE(status->instances[0].detail.find("adopted after a tide restart"), std::string::npos)
      << status->instances[0].detail;

  // An adopted process that crashes is noticed through /proc and restarted. (The indices need
  // not be 0 and 1: the target skips an index whose port another test holds.)
  const pid_t kept_pid = before.begin()->second;
  const int victim_index = std::next(before.begin())->first;
  const pid_t victim_pid = std::next(before.begin())->second;
  ASSERT_EQ(::kill(victim_pid, SIGKILL), 0);
  ASSERT_TRUE(eventually(target, [&](const TargetStatus& s) {
    auto pids = saved_pids();
    return s.ready() == 2 && pids.count(victim_index) && pids.at(victim_index) != 0 &&
           pids.at(victim_index) != victim_pid;
  })) << "the adopted process was not restarted";
  // (At least 1: a restart may race the old worker for its port and be retried.)
  EXPECT_GE(target.status()->unexpected_exits, 1);
  const pid_t restarted = saved_pids().at(victim_index);

  // Scaling in stops an adopted process (SIGTERM: the worker exits cleanly, well before the
  // grace period).
  ASSERT_TRUE(target.scale({.desired = 1}).has_value());
  const auto asked = Steady::now();
  ASSERT_TRUE(eventually(
      target, [&](const TargetStatus&) { return !proc::group_has_live_members(restarted); },
      seconds(30)));
  EXPECT_LT(Steady::now() - asked, seconds(5));
  EXPECT_TRUE(alive(kept_pid));
  EXPECT_EQ(leaders_with_env("TIDE_GROUP=" + group_).size(), 1u);
}

TEST_F(LocalProcessTest, APersistedPidWithAnotherStartTimeIsForgottenAndNeverSignalled) {
  // An unrelated process that happens to hold a pid tide once saved (PID reuse).
  auto stranger = proc::spawn_shell({.command = "sleep 60"});
  ASSERT_TRUE(stranger.has_value());
  track(*stranger);
  auto st = proc::read_proc_stat(*stranger);
  ASSERT_TRUE(st.has_value());
  // A zombie child with its true start time: dead, even though /proc still lists it.
  auto zombie = proc::spawn_shell({.command = "exit 0"});
  ASSERT_TRUE(zombie.has_value());
  auto zst = proc::read_proc_stat(*zombie);
  ASSERT_TRUE(zst.has_value());
  for (int i = 0; i < 200 && proc::read_proc_stat(*zombie)->state != 'Z'; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }

  PersistedPool pool;
  pool.boot_id = proc::boot_id();
  pool.desired = 2;
  pool.processes = {
      {.index = 0, .pid = *stranger, .start_ticks = st->start_ticks + 12345, .ready = true},
      {.index = 1, .pid = *zombie, .start_ticks = zst->start_ticks, .ready = true},
      {.index = 2,
       .pid = *stranger,
       .start_ticks = st->start_ticks + 1,
       .stopping = true,
       .kill_at_ms = 0}};
  store_.set(group_, kLocalProcessStateKey, pool_to_string(pool));

  Target& target = make({{"command", "sleep 60"}, {"grace_period", 0}});
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->instances.size(), 2u);
  EXPECT_EQ(status->instances[0].state, InstanceState::kMissing);
  EXPECT_EQ(status->instances[1].state, InstanceState::kMissing);
  EXPECT_NE(status->instances[0].detail.find("was gone when tide started"), std::string::npos);

  // The slots are refilled with new processes, and scaling to zero signals none but ours.
  ASSERT_TRUE(eventually(target, [](const TargetStatus& s) { return s.ready() == 2; }));
  for (auto [index, pid] : saved_pids()) {
    EXPECT_NE(pid, *stranger);
    EXPECT_NE(pid, *zombie);
  }
  ASSERT_TRUE(target.scale({.desired = 0}).has_value());
  ASSERT_TRUE(eventually(
      target,
      [&](const TargetStatus&) { return proc::live_pids_with_env("TIDE_GROUP=" + group_).empty(); },
      seconds(30)));
  EXPECT_TRUE(alive(*stranger)) << "tide signalled a process it did not start";
}

TEST_F(LocalProcessTest, BusyPortsAreSkippedWhenPickingAnIndex) {
  // Something else listens on base_port + 0.
  auto squatter = proc::spawn_shell({.command = proc::shell_quote(tide_binary()) +
                                                " worker --port " + std::to_string(base_port_)});
  ASSERT_TRUE(squatter.has_value());
  track(*squatter);
  const auto deadline = Steady::now() + kLong;
  while (readiness::port_free(base_port_) && Steady::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_FALSE(readiness::port_free(base_port_));

  Target& target =
      make({{"command", worker_command()}, {"base_port", base_port_}, {"readiness", "tcp"}});
  ASSERT_TRUE(target.scale({.desired = 1}).has_value());
  auto status = target.status();
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->instances.size(), 1u);
  EXPECT_EQ(status->instances[0].id, "1");
  EXPECT_TRUE(eventually(target, [](const TargetStatus& s) { return s.ready() == 1; }));
}

}  // namespace
}  // namespace tide
