#include "targets/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace tide::proc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- string helpers ----

struct ExcerptCase {
  const char* name;
  std::string text;
  std::size_t max;
  std::string want;
};

class ExcerptTest : public ::testing::TestWithParam<ExcerptCase> {};

TEST_P(ExcerptTest, Excerpts) {
  const ExcerptCase& c = GetParam();
  EXPECT_EQ(excerpt(c.text, c.max), c.want);
}

INSTANTIATE_TEST_SUITE_P(Cases, ExcerptTest,
                         ::testing::Values(ExcerptCase{"empty", "", 10, ""},
                                           ExcerptCase{"trimmed", "  boom \n", 10, "boom"},
                                           ExcerptCase{"lines_joined", "a\nb\n", 10, "a | b"},
                                           ExcerptCase{"keeps_the_end", "0123456789abcdef", 6,
                                                       "...abcdef"},
                                           ExcerptCase{"tabs_become_spaces", "a\tb", 10, "a b"}),
                         [](const auto& info) { return info.param.name; });

TEST(ReplaceAll, ReplacesEveryOccurrence) {
  EXPECT_EQ(replace_all("w {port} {port} {index}", "{port}", "80"), "w 80 80 {index}");
  EXPECT_EQ(replace_all("x", "", "y"), "x");
  EXPECT_EQ(replace_all("{a}{a}", "{a}", "{a}{a}"), "{a}{a}{a}{a}");
}

TEST(ShellQuote, QuotesForSh) {
  EXPECT_EQ(shell_quote("plain"), "'plain'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

struct WaitCase {
  const char* name;
  const char* command;
  std::string want;
};

class DescribeWaitStatusTest : public ::testing::TestWithParam<WaitCase> {};

TEST_P(DescribeWaitStatusTest, Describes) {
  const WaitCase& c = GetParam();
  int status = std::system(c.command);
  EXPECT_EQ(describe_wait_status(status), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DescribeWaitStatusTest,
    ::testing::Values(WaitCase{"exit_0", "exit 0", "exited with status 0"},
                      WaitCase{"exit_3", "exit 3", "exited with status 3"},
                      WaitCase{"sigkill", "kill -9 $$", "killed by signal 9 (SIGKILL)"},
                      WaitCase{"sigterm", "kill -15 $$", "killed by signal 15 (SIGTERM)"}),
    [](const auto& info) { return info.param.name; });

// ---- /proc ----

TEST(ProcStat, ReadsThisProcess) {
  auto st = read_proc_stat(::getpid());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_GT(st->start_ticks, 0u);
  EXPECT_NE(st->state, 'Z');
  auto again = read_proc_stat(::getpid());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->start_ticks, st->start_ticks);
}

TEST(ProcStat, MissingPidIsNone) {
  EXPECT_FALSE(read_proc_stat(0).has_value());
  EXPECT_FALSE(read_proc_stat(-1).has_value());
  EXPECT_FALSE(read_proc_stat(::getpid(), "/nonexistent").has_value());
}

TEST(ProcStat, ParsesCommWithSpacesAndParens) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tide-proc-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "42");
  std::ofstream(dir / "42" / "stat")
      << "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10\n";
  auto st = read_proc_stat(42, dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->pgrp, 42);
  EXPECT_EQ(st->start_ticks, 123456u);
}

TEST(BootId, IsReadable) {
  EXPECT_FALSE(boot_id().empty());
}

TEST(StartTime, IsNearNowForThisProcess) {
  auto st = read_proc_stat(::getpid());
  ASSERT_TRUE(st.has_value());
  auto t = start_time(st->start_ticks);
  ASSERT_TRUE(t.has_value());
  auto now = std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(now - *t), std::chrono::hours(24));
}

// ---- spawning and probing ----

TEST(SpawnShell, ChildRunsInItsOwnSessionAndIsReaped) {
  auto pid = spawn_shell({.command = "sleep 30"});
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  auto st = read_proc_stat(*pid);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pgrp, *pid);
  EXPECT_EQ(::getsid(*pid), *pid);
  EXPECT_EQ(probe(*pid, st->start_ticks, false).liveness, Liveness::kAlive);
  // A wrong start time (a reused pid) is never signalled and counts as gone.
  EXPECT_FALSE(signal_group(*pid, st->start_ticks + 1, SIGKILL));
  EXPECT_EQ(probe(*pid, st->start_ticks + 1, false).liveness, Liveness::kExited);
  EXPECT_EQ(probe(*pid, st->start_ticks, false).liveness, Liveness::kAlive);

  EXPECT_TRUE(signal_group(*pid, st->start_ticks, SIGKILL));
  Probe p;
  for (int i = 0; i < 200; ++i) {
    p = probe(*pid, st->start_ticks, true);
    if (p.liveness == Liveness::kExited) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(p.liveness, Liveness::kExited);
  ASSERT_TRUE(p.wait_status.has_value());
  EXPECT_EQ(describe_wait_status(*p.wait_status), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(::waitpid(*pid, nullptr, WNOHANG), -1);  // reaped
}

TEST(SpawnShell, WritesOutputToTheLogFileWithEnvAndWorkingDir) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tide-spawn-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string log = (dir / "out.log").string();
  auto pid = spawn_shell({.command = "echo \"$GREETING from $(pwd)\"; echo oops >&2",
                          .env = {{"GREETING", "hello"}},
                          .working_dir = dir.string(),
                          .output_path = log});
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  std::ifstream in(log);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "hello from " + std::filesystem::canonical(dir).string() + "\noops\n");
  std::filesystem::remove_all(dir);
}

TEST(SpawnShell, BadLogPathAndWorkingDirAreClearErrors) {
  auto bad_log = spawn_shell({.command = "true", .output_path = "/nonexistent/dir/x.log"});
  ASSERT_FALSE(bad_log.has_value());
  EXPECT_NE(bad_log.error().message.find("cannot open log file '/nonexistent/dir/x.log'"),
            std::string::npos)
      << bad_log.error().message;
  auto bad_dir = spawn_shell({.command = "true", .working_dir = "/nonexistent"});
  ASSERT_FALSE(bad_dir.has_value());
  EXPECT_EQ(bad_dir.error().message, "working_dir '/nonexistent' is not a directory");
}

TEST(Probe, KillsTheRestOfTheGroupWhenTheLeaderDies) {
  // The leader starts a background sleeper in its group and then dies.
  auto pid = spawn_shell({.command = "sleep 30 & echo $! > /dev/null; sleep 30"});
  ASSERT_TRUE(pid.has_value());
  auto st = read_proc_stat(*pid);
  ASSERT_TRUE(st.has_value());
  std::this_thread::sleep_for(milliseconds(100));
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);  // only the leader
  Probe p;
  for (int i = 0; i < 200; ++i) {
    p = probe(*pid, st->start_ticks, /*kill_group_on_exit=*/true);
    if (p.liveness == Liveness::kExited) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(p.liveness, Liveness::kExited);
  // Every member of the group is dead soon after. Not "gone": the sleepers are orphans now, and
  // their zombies wait for pid 1, which in some containers reaps only every two seconds.
  bool dead = false;
  for (int i = 0; i < 1000 && !dead; ++i) {
    dead = !group_has_live_members(*pid);
    if (!dead) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(dead);
  ::kill(-*pid, SIGKILL);
}

struct GroupCase {
  const char* name;
  std::vector<std::string> stats;  // /proc/<n>/stat lines, n = 100, 101, ...
  pid_t pgid;
  bool want;
};

class GroupHasLiveMembersTest : public ::testing::TestWithParam<GroupCase> {};

TEST_P(GroupHasLiveMembersTest, ReadsTheProcTree) {
  const GroupCase& c = GetParam();
  auto root = std::filesystem::temp_directory_path() /
              ("tide-proc-" + std::to_string(::getpid()) + "-" + c.name);
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "self");  // not a pid: skipped
  std::filesystem::create_directories(root / "sys");
  for (std::size_t i = 0; i < c.stats.size(); ++i) {
    auto dir = root / std::to_string(100 + i);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "stat") << c.stats[i];
  }
  EXPECT_EQ(group_has_live_members(c.pgid, root.string()), c.want);
  std::filesystem::remove_all(root);
}

// "pid (comm) state ppid pgrp session ... starttime": 16 fields between pgrp and starttime.
std::string stat_line(int pid, char state, int pgrp) {
  return std::to_string(pid) + " (sh (x)) " + state + " 1 " + std::to_string(pgrp) +
         " 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0\n";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GroupHasLiveMembersTest,
    ::testing::Values(
        GroupCase{"sleeping_member", {stat_line(100, 'S', 7)}, 7, true},
        GroupCase{"running_member", {stat_line(100, 'R', 7)}, 7, true},
        GroupCase{"only_zombies", {stat_line(100, 'Z', 7), stat_line(101, 'Z', 7)}, 7, false},
        GroupCase{"zombie_and_live", {stat_line(100, 'Z', 7), stat_line(101, 'S', 7)}, 7, true},
        GroupCase{"other_group", {stat_line(100, 'S', 8)}, 7, false},
        GroupCase{"unreadable_stat", {"garbage"}, 7, false}, GroupCase{"empty_tree", {}, 7, false},
        GroupCase{"no_group_id", {stat_line(100, 'S', 0)}, 0, false}),
    [](const auto& info) { return info.param.name; });

TEST(LivePidsWithEnv, FindsTheMarkedProcessesThatHaveNotEnded) {
  auto root =
      std::filesystem::temp_directory_path() / ("tide-proc-env-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "self");  // not a pid: skipped
  struct Fake {
    int pid;
    char state;
    std::string environ;  // NUL-separated, as the kernel writes it
  };
  using namespace std::string_literals;
  const Fake fakes[] = {
      {100, 'S', "A=1\0TIDE_RUN=x\0B=2\0"s},  // marked, sleeping
      {101, 'Z', "TIDE_RUN=x\0"s},            // marked, a zombie
      {102, 'R', "TIDE_RUN=xy\0"s},           // another value
      {103, 'R', "PATH=/bin\0"s},             // not marked
      {104, 'R', "TIDE_RUN=x"s},              // marked, last entry without its NUL
  };
  for (const Fake& f : fakes) {
    auto dir = root / std::to_string(f.pid);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "stat") << stat_line(f.pid, f.state, f.pid);
    std::ofstream(dir / "environ", std::ios::binary) << f.environ;
  }
  std::filesystem::create_directories(root / "105");  // no files: ended between list and read
  auto pids = live_pids_with_env("TIDE_RUN=x", root.string());
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{100, 104}));
  EXPECT_EQ(list_pids(root.string()).size(), 6u);
  std::filesystem::remove_all(root);
}

// ---- run_command ----

struct RunCase {
  const char* name;
  std::string command;
  std::vector<std::pair<std::string, std::string>> env;
  Duration timeout;
  bool want_ok;                 // the Result
  std::string want_out;         // when ok
  std::string want_err;         // when ok
  int want_exit;                // when ok
  std::string want_error_part;  // when not ok
};

class RunCommandTest : public ::testing::TestWithParam<RunCase> {};

TEST_P(RunCommandTest, Runs) {
  const RunCase& c = GetParam();
  auto started = std::chrono::steady_clock::now();
  auto r = run_command({.command = c.command, .env = c.env}, c.timeout);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, c.timeout + seconds(5));
  ASSERT_EQ(r.has_value(), c.want_ok) << (r ? r->err : r.error().message);
  if (c.want_ok) {
    EXPECT_EQ(r->out, c.want_out);
    EXPECT_EQ(r->err, c.want_err);
    ASSERT_TRUE(WIFEXITED(r->wait_status));
    EXPECT_EQ(WEXITSTATUS(r->wait_status), c.want_exit);
  } else {
    EXPECT_NE(r.error().message.find(c.want_error_part), std::string::npos) << r.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RunCommandTest,
    ::testing::Values(
        RunCase{"stdout", "echo 3", {}, seconds(10), true, "3\n", "", 0, ""},
        RunCase{
            "stderr_and_status", "echo no >&2; exit 4", {}, seconds(10), true, "", "no\n", 4, ""},
        RunCase{"env", "echo $TIDE_X", {{"TIDE_X", "y"}}, seconds(10), true, "y\n", "", 0, ""},
        RunCase{"stdin_is_dev_null", "cat", {}, seconds(10), true, "", "", 0, ""},
        RunCase{"background_child_does_not_block",
                "sleep 1 & echo started",
                {},
                seconds(10),
                true,
                "started\n",
                "",
                0,
                ""},
        RunCase{"timeout_kills_the_group",
                "echo partial >&2; sleep 30",
                {},
                milliseconds(300),
                false,
                "",
                "",
                0,
                "timed out after 300ms; stderr: partial"},
        RunCase{"closed_stdout_still_times_out",
                "exec >&- 2>&-; sleep 30",
                {},
                milliseconds(300),
                false,
                "",
                "",
                0,
                "timed out after 300ms"}),
    [](const auto& info) { return info.param.name; });

TEST(RunCommand, CapsOutput) {
  auto r = run_command({.command = "head -c 100000 /dev/zero"}, seconds(10), 1000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->ok());
}

struct ArgvCase {
  const char* name;
  std::vector<std::string> argv;
  Duration timeout;
  bool want_ok;
  std::string want_out;           // when ok
  std::string want_error;         // when not ok: the whole message
  std::string never_in_messages;  // an argument that is a secret
};

class RunArgvTest : public ::testing::TestWithParam<ArgvCase> {};

TEST_P(RunArgvTest, RunsWithoutAShell) {
  const ArgvCase& c = GetParam();
  auto r = run_command({.argv = c.argv}, c.timeout);
  ASSERT_EQ(r.has_value(), c.want_ok) << (r ? r->err : r.error().message);
  if (c.want_ok) {
    EXPECT_EQ(r->out, c.want_out);
    EXPECT_TRUE(r->ok());
  } else {
    EXPECT_EQ(r.error().message, c.want_error);
    EXPECT_EQ(r.error().message.find(c.never_in_messages), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RunArgvTest,
    ::testing::Values(ArgvCase{"metacharacters_stay_literal",
                               {"printf", "%s|", "$HOME;x", "a b"},
                               seconds(10),
                               true,
                               "$HOME;x|a b|",
                               "",
                               ""},
                      ArgvCase{
                          "found_by_path", {"/bin/echo", "7"}, seconds(10), true, "7\n", "", ""},
                      ArgvCase{"not_found_names_only_the_program",
                               {"tide-no-such-tool", "--password=hunter2"},
                               seconds(10),
                               false,
                               "",
                               "cannot run 'tide-no-such-tool': not found",
                               "hunter2"},
                      ArgvCase{"timeout_names_only_the_program",
                               {"/bin/sh", "-c", "sleep 30 # hunter2"},
                               milliseconds(300),
                               false,
                               "",
                               "'/bin/sh' timed out after 300ms",
                               "hunter2"}),
    [](const auto& info) { return info.param.name; });

// The pid a command printed (of a background child it left behind), once that child runs.
pid_t left_behind(Leftovers leftovers) {
  auto r = run_command({.command = "sleep 30 & echo $!"}, seconds(10), 1 << 20, leftovers);
  if (!r || !r->ok()) return 0;
  return static_cast<pid_t>(std::atol(r->out.c_str()));
}

bool running(pid_t pid) {
  auto st = read_proc_stat(pid);
  return st && !st->ended();
}

TEST(RunCommand, LeftoversLiveOnOrAreKilled) {
  const pid_t kept = left_behind(Leftovers::kKeep);
  ASSERT_GT(kept, 0);
  EXPECT_TRUE(running(kept));
  ::kill(kept, SIGKILL);

  const pid_t killed = left_behind(Leftovers::kKill);
  ASSERT_GT(killed, 0);
  bool dead = false;
  for (int i = 0; i < 500 && !dead; ++i) {  // SIGKILL was sent; it takes effect at once, nearly
    dead = !running(killed);
    if (!dead) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(dead) << "pid " << killed << " survived its command";
}

}  // namespace
}  // namespace tide::proc
