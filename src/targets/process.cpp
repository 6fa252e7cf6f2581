#include "targets/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

extern char** environ;

namespace tide::proc {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::vector<std::string> build_env(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden = overridden || k == key;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// RAII for the posix_spawn attribute and file-action objects.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Common attributes: own group or session, empty signal mask, every signal at its default
// (signals tide ignores, e.g. SIGPIPE, would otherwise stay ignored across exec).
void set_attributes(SpawnSetup& s, bool new_session) {
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  flags |= new_session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setflags(&s.attr, flags);
  if (!new_session) posix_spawnattr_setpgroup(&s.attr, 0);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&s.attr, &mask);
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigdefault(&s.attr, &defaults);
}

Result<pid_t> do_spawn(SpawnSetup& s, const SpawnOptions& options) {
  std::vector<std::string> env = build_env(options.env);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // A command line runs as `sh -c`; an argv runs directly, found in PATH without a '/'.
  const bool shell = options.argv.empty();
  std::vector<std::string> args =
      shell ? std::vector<std::string>{"sh", "-c", options.command} : options.argv;
  const std::string program = shell ? "/bin/sh" : args.front();
  std::vector<char*> argp;
  argp.reserve(args.size() + 1);
  for (std::string& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  pid_t pid = 0;
  int rc = program.find('/') == std::string::npos
               ? posix_spawnp(&pid, program.c_str(), &s.actions, &s.attr, argp.data(), envp.data())
               : posix_spawn(&pid, program.c_str(), &s.actions, &s.attr, argp.data(), envp.data());
  if (rc == 0) return pid;
  if (shell) {
    return fail(
        ErrorCode::kUnavailable,
        fmt::format("cannot start '{}': {}", excerpt(options.command, 200), errno_text(rc)));
  }
  std::string why = rc == ENOENT   ? "not found"
                    : rc == EACCES ? "permission denied"
                                   : errno_text(rc);
  return fail(ErrorCode::kUnavailable, fmt::format("cannot run '{}': {}", program, why));
}

// true when `pid`, a child of this process, has exited and is not reaped yet: its zombie still
// holds the pid and the group id, so signalling the group cannot reach a stranger.
bool exited_unreaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// How errors name what ran: the program alone when argv is set (its arguments may be secrets).
std::string shown_command(const SpawnOptions& options) {
  return options.argv.empty() ? excerpt(options.command, 200) : options.argv.front();
}

Result<void> check_working_dir(const SpawnOptions& options) {
  if (options.working_dir.empty()) return {};
  struct stat st {};
  if (::stat(options.working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("working_dir '{}' is not a directory", options.working_dir));
  }
  return {};
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<pid_t> spawn_shell(const SpawnOptions& options) {
  if (auto ok = check_working_dir(options); !ok) return std::unexpected(ok.error());
  const std::string output = options.output_path.empty() ? "/dev/null" : options.output_path;
  // Open the log once here so that a bad path is a clear error instead of a failed spawn.
  int probe_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (probe_fd < 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot open log file '{}': {}", output, errno_text(errno)));
  }
  ::close(probe_fd);

  SpawnSetup s;
  set_attributes(s, options.new_session);
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&s.actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&s.actions, 1, 2);
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&s.actions, options.working_dir.c_str());
  }
  // Nothing of tide's (state database, API socket) leaks into a process that outlives it.
  posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
  return do_spawn(s, options);
}

std::optional<ProcStat> read_proc_stat(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) return std::nullopt;
  auto text = read_small_file(fmt::format("{}/{}/stat", proc_root, pid));
  if (!text) return std::nullopt;
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime ..."; comm may hold spaces and
  // parentheses, so parse from the last ')'.
  std::size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text->substr(close + 1));
  ProcStat st;
  std::string field;
  rest >> st.state >> st.ppid >> st.pgrp;
  // Fields 6..21 (session .. itrealvalue): 16 of them.
  for (int i = 0; i < 16 && rest; ++i) rest >> field;
  rest >> st.start_ticks;
  if (!rest) return std::nullopt;
  return st;
}

std::string boot_id(const std::string& proc_root) {
  auto text = read_small_file(proc_root + "/sys/kernel/random/boot_id");
  if (!text) return "";
  while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) text->pop_back();
  return *text;
}

std::optional<TimePoint> start_time(unsigned long long start_ticks, const std::string& proc_root) {
  auto text = read_small_file(proc_root + "/stat");
  if (!text) return std::nullopt;
  std::size_t at = text->find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  long long btime = std::atoll(text->c_str() + at + 7);
  long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (btime <= 0 || ticks_per_second <= 0) return std::nullopt;
  long long ms = btime * 1000 + static_cast<long long>(start_ticks) * 1000 / ticks_per_second;
  return TimePoint(Duration(ms));
}

Probe probe(pid_t pid, unsigned long long start_ticks, bool kill_group_on_exit) {
  Probe result;
  if (exited_unreaped(pid)) {
    if (kill_group_on_exit) ::kill(-pid, SIGKILL);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) result.wait_status = status;
    result.liveness = Liveness::kExited;
    return result;
  }
  // A live child, or not our child (adopted after a restart, or reaped elsewhere): /proc decides.
  auto st = read_proc_stat(pid);
  if (!st) {
    // The pid exists no more, so a process group with its id can only hold the stragglers of
    // the process that led it (a new group needs a new process with that pid).
    if (kill_group_on_exit) ::kill(-pid, SIGKILL);
    result.liveness = Liveness::kExited;
    return result;
  }
  if (st->start_ticks != start_ticks) {  // reused by another process: never signal it
    result.liveness = Liveness::kExited;
    return result;
  }
  if (st->ended()) {
    if (kill_group_on_exit && st->pgrp == pid) ::kill(-pid, SIGKILL);
    // Our own child that exited between the waitid above and this read: reap it here, or its
    // zombie would stay and its exit status be reported as unknown.
    int status = 0;
    if (st->ppid == ::getpid() && ::waitpid(pid, &status, WNOHANG) == pid) {
      result.wait_status = status;
    }
    result.liveness = Liveness::kExited;
    return result;
  }
  result.liveness = Liveness::kAlive;
  return result;
}

std::vector<pid_t> list_pids(const std::string& proc_root) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc_root, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
      continue;
    }
    pids.push_back(static_cast<pid_t>(std::atol(name.c_str())));
  }
  return pids;
}

std::vector<pid_t> live_pids_with_env(std::string_view entry, const std::string& proc_root) {
  std::vector<pid_t> out;
  for (pid_t pid : list_pids(proc_root)) {
    auto env = read_small_file(fmt::format("{}/{}/environ", proc_root, pid));
    if (!env) continue;  // gone, or not ours to read
    bool marked = false;
    for (std::size_t at = 0; at < env->size() && !marked;) {
      std::size_t end = std::min(env->find('\0', at), env->size());
      marked = std::string_view(*env).substr(at, end - at) == entry;
      at = end + 1;
    }
    if (!marked) continue;
    auto st = read_proc_stat(pid, proc_root);
    if (st && !st->ended()) out.push_back(pid);
  }
  return out;
}

bool group_has_live_members(pid_t pgid, const std::string& proc_root) {
  if (pgid <= 0) return false;
  for (pid_t pid : list_pids(proc_root)) {
    // A process may end between listing and reading: then it is not a live member.
    auto st = read_proc_stat(pid, proc_root);
    if (st && st->pgrp == pgid && !st->ended()) return true;
  }
  return false;
}

bool orphaned_group_exists(pid_t pid) {
  if (pid <= 0 || read_proc_stat(pid)) return false;
  return group_has_live_members(pid);
}

bool signal_group(pid_t pid, unsigned long long start_ticks, int sig) {
  auto st = read_proc_stat(pid);
  if (!st || st->start_ticks != start_ticks) return false;
  int rc = st->pgrp == pid ? ::kill(-pid, sig) : ::kill(pid, sig);
  return rc == 0;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return name != nullptr ? fmt::format("killed by signal {} (SIG{})", sig, name)
                           : fmt::format("killed by signal {}", sig);
  }
  return fmt::format("ended with wait status {}", status);
}

bool CommandResult::ok() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

Result<CommandResult> run_command(const SpawnOptions& options, Duration timeout,
                                  std::size_t max_output, Leftovers leftovers) {
  if (auto ok = check_working_dir(options); !ok) return std::unexpected(ok.error());
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return fail(ErrorCode::kInternal, fmt::format("pipe: {}", errno_text(errno)));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return fail(ErrorCode::kInternal, fmt::format("pipe: {}", errno_text(errno)));
  }
  Result<pid_t> spawned;
  {
    SpawnSetup s;
    set_attributes(s, /*new_session=*/false);
    posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&s.actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&s.actions, err_pipe[1], 2);
    if (!options.working_dir.empty()) {
      posix_spawn_file_actions_addchdir_np(&s.actions, options.working_dir.c_str());
    }
    posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
    spawned = do_spawn(s, options);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!spawned) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return std::unexpected(spawned.error());
  }
  const pid_t pid = *spawned;

  using Steady = std::chrono::steady_clock;
  const auto deadline = Steady::now() + timeout;
  CommandResult result;
  struct Stream {
    int fd;
    std::string* into;
  } streams[2] = {{out_pipe[0], &result.out}, {err_pipe[0], &result.err}};
  bool exited = false;
  bool timed_out = false;
  int status = 0;
  // Once the shell has exited, background processes it left behind may keep the pipes open:
  // give them a moment to flush, then stop reading.
  Steady::time_point drain_until{};
  char buffer[8192];
  while (true) {
    auto now = Steady::now();
    const bool open = streams[0].fd >= 0 || streams[1].fd >= 0;
    if (exited && (!open || now >= drain_until)) break;
    if (now >= deadline) {
      timed_out = !exited;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int wait_ms = std::max(1, static_cast<int>(std::min<long long>(left, open ? 50 : 10)));
    pollfd fds[2];
    int n = 0;
    for (Stream& s : streams) {
      if (s.fd >= 0) fds[n++] = pollfd{s.fd, POLLIN, 0};
    }
    int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    for (int i = 0; i < n && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      for (Stream& s : streams) {
        if (s.fd != fds[i].fd) continue;
        ssize_t got = ::read(s.fd, buffer, sizeof buffer);
        if (got > 0) {
          std::size_t room = max_output > s.into->size() ? max_output - s.into->size() : 0;
          s.into->append(buffer, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          ::close(s.fd);
          s.fd = -1;
        }
      }
    }
    if (!exited) {
      // Leftovers die before the leader is reaped, while its zombie keeps the group id.
      if (leftovers == Leftovers::kKill && exited_unreaped(pid)) ::kill(-pid, SIGKILL);
      pid_t rc = ::waitpid(pid, &status, WNOHANG);
      if (rc == pid) {
        exited = true;
        drain_until = Steady::now() + std::chrono::milliseconds(200);
      } else if (rc < 0 && errno == ECHILD) {
        // Reaped by someone else (SIGCHLD ignored, or a waitpid(-1) elsewhere).
        for (Stream& s : streams) {
          if (s.fd >= 0) ::close(s.fd);
        }
        return fail(ErrorCode::kInternal,
                    fmt::format("'{}': exit status unavailable", shown_command(options)));
      }
    }
  }
  for (Stream& s : streams) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    std::string message =
        fmt::format("'{}' timed out after {}", shown_command(options), format_duration(timeout));
    if (!result.err.empty()) message += "; stderr: " + excerpt(result.err);
    return fail(ErrorCode::kTimeout, message);
  }
  result.wait_status = status;
  return result;
}

std::string excerpt(std::string_view text, std::size_t max) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  bool cut = text.size() > max;
  if (cut) text = text.substr(text.size() - max);
  std::string out = cut ? "..." : "";
  for (char c : text) {
    if (c == '\n') {
      out += " | ";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  std::size_t at = 0;
  while ((at = text.find(from, at)) != std::string::npos) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

}  // namespace tide::proc
