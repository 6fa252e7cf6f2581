// Process plumbing shared by the local-process and exec targets and the exec source: spawning a
// shell command line or an argv with posix_spawn (in its own process group or session, with a clean
// signal state, stdin from /dev/null and no inherited descriptors), running a command to completion
// with a timeout while capturing its output, and reading /proc to tell a live process from a dead,
// zombie or reused pid. Linux only. Nothing here throws.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide::proc {

struct SpawnOptions {
  std::string command;  // run as `/bin/sh -c command`, unless argv is set
  // When set: run directly (argv[0] searched in PATH when it has no '/'), and errors name only
  // argv[0], never the arguments, which may hold secrets.
  std::vector<std::string> argv;
  // Extra environment, "KEY=VALUE"; added to (and overriding) tide's own environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;  // empty: tide's
  // Where stdout and stderr go (opened for append, created 0644). Empty: /dev/null.
  std::string output_path;
  // true: the process leads a new session (setsid), so it outlives tide and a terminal's
  // signals; false: a new process group in tide's session. Either way pgid == pid, so
  // kill(-pid, sig) reaches the whole tree the command starts.
  bool new_session = true;
};

// Starts the command; returns its pid. Errors name the command and the cause.
Result<pid_t> spawn_shell(const SpawnOptions& options);

// What /proc/<pid>/stat says about a process.
struct ProcStat {
  char state = '?';  // R, S, D, Z (zombie), T, X, ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  unsigned long long start_ticks = 0;  // field 22: start time in clock ticks after boot
  bool ended() const { return state == 'Z' || state == 'X'; }  // a zombie, or on its way out
};
std::optional<ProcStat> read_proc_stat(pid_t pid, const std::string& proc_root = "/proc");

// The pids listed in /proc, in directory order.
std::vector<pid_t> list_pids(const std::string& proc_root = "/proc");

// The processes not ended whose environment holds the entry `entry` ("KEY=VALUE"): how tide finds
// the processes it marked (the demo's workers, a test's children).
std::vector<pid_t> live_pids_with_env(std::string_view entry,
                                      const std::string& proc_root = "/proc");

// The kernel's boot id (/proc/sys/kernel/random/boot_id): start ticks only identify a process
// within one boot. Empty when unavailable.
std::string boot_id(const std::string& proc_root = "/proc");

// The process's start time as wall time (boot time from /proc/stat + ticks / CLK_TCK).
std::optional<TimePoint> start_time(unsigned long long start_ticks,
                                    const std::string& proc_root = "/proc");

// Liveness of a process tide knows by pid and start ticks.
enum class Liveness {
  kAlive,
  kExited,  // gone, a zombie, or the pid now belongs to another process
};
struct Probe {
  Liveness liveness = Liveness::kAlive;
  std::optional<int> wait_status;  // the raw waitpid status when tide reaped it
};
// For a child of this process, reaps it when it has exited (waitpid WNOHANG). Otherwise (a
// process adopted after a restart, or a child already reaped elsewhere) checks /proc: alive
// means the pid exists, has the same start ticks and is not a zombie. When `kill_group_on_exit`
// and the process has exited, the rest of its process group is sent SIGKILL (so stragglers
// holding a port die with their leader) -- never when the pid now belongs to another process.
Probe probe(pid_t pid, unsigned long long start_ticks, bool kill_group_on_exit);

// true when a process in group `pgid` is still running. Zombies do not count: they are dead, and
// an orphaned one waits for pid 1 to reap it, which some container inits do only every few
// seconds (or never).
bool group_has_live_members(pid_t pgid, const std::string& proc_root = "/proc");

// true when the process `pid` is gone but live members of the process group it led remain (a
// group id cannot be taken by a new process while the old group exists).
bool orphaned_group_exists(pid_t pid);

// Sends `sig` to the process group led by pid (falls back to the pid alone when it leads no
// group). Only when the pid still has `start_ticks`, so a reused pid is never signalled.
// Returns false when the process is gone.
bool signal_group(pid_t pid, unsigned long long start_ticks, int sig);

// "exited with status 1", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

struct CommandResult {
  int wait_status = 0;  // raw waitpid status
  std::string out;      // stdout, at most max_output bytes
  std::string err;      // stderr, at most max_output bytes
  bool ok() const;      // exited with status 0
};

// What becomes of the processes a command left in its group when it exits.
enum class Leftovers {
  kKeep,  // they live on (a command may start a daemon); output is read 200 ms more at most
  kKill,  // SIGKILL, while the exited leader still holds the group id (no reused id is hit)
};

// Runs the command to completion in its own process group (options.new_session and output_path
// are ignored), stdin /dev/null, stdout and stderr captured. On timeout the whole group is killed
// and a kTimeout error returned. Non-zero exits are not errors here: see CommandResult.
Result<CommandResult> run_command(const SpawnOptions& options, Duration timeout,
                                  std::size_t max_output = 1 << 20,
                                  Leftovers leftovers = Leftovers::kKeep);

// The last `max` bytes of `text` at most, trimmed, on one line (newlines shown as " | "), with
// "..." in front when cut: for error messages quoting a command's stderr.
std::string excerpt(std::string_view text, std::size_t max = 400);

// Replaces every `from` in `text` by `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to);

// `s` quoted for /bin/sh (single quotes).
std::string shell_quote(std::string_view s);

}  // namespace tide::proc
