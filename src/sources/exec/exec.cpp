#include "sources/exec/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "sources/params.hpp"

extern char** environ;

namespace tide {

Result<std::vector<std::string>> split_command(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      auto end = command.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return fail(ErrorCode::kInvalidArgument, "command: unterminated single quote");
      }
      word.append(command.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < command.size() && command[j] != '"'; ++j) {
        if (command[j] == '\\' && j + 1 < command.size() &&
            std::string_view("\"\\$`").find(command[j + 1]) != std::string_view::npos) {
          ++j;
        }
        word.push_back(command[j]);
      }
      if (j >= command.size()) {
        return fail(ErrorCode::kInvalidArgument, "command: unterminated double quote");
      }
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) {
        return fail(ErrorCode::kInvalidArgument, "command: trailing backslash");
      }
      word.push_back(command[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return fail(ErrorCode::kInvalidArgument, "command: empty");
  return words;
}

namespace {

constexpr std::size_t kMaxOutput = 64u << 10;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Reads what is available from `fd` into `buf` (keeping at most kMaxOutput bytes). False at EOF
// or on an error.
bool drain(int fd, std::string& buf) {
  char chunk[4096];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      std::size_t room = kMaxOutput - std::min(kMaxOutput, buf.size());
      buf.append(chunk, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // EOF or error
  }
}

}  // namespace

Result<ExecOutcome> run_command(const std::vector<std::string>& argv,
                                const std::vector<std::pair<std::string, std::string>>& env,
                                const std::string& working_dir, Duration timeout) {
  using Clock = std::chrono::steady_clock;
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "exec: empty command");
  const std::string& program = argv[0];
  const auto deadline = Clock::now() + timeout;

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return fail(ErrorCode::kInternal, fmt::format("exec: pipe: {}", std::strerror(errno)));
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return fail(ErrorCode::kInternal, fmt::format("exec: pipe: {}", std::strerror(errno)));
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, s);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  // tide's environment with `env` on top.
  std::map<std::string, std::string> merged;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    merged[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(merged.size());
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  pid_t pid = -1;
  int rc = program.find('/') == std::string::npos
               ? posix_spawnp(&pid, program.c_str(), &actions, &attr, argp.data(), envp.data())
               : posix_spawn(&pid, program.c_str(), &actions, &attr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string why = rc == ENOENT   ? "not found"
                      : rc == EACCES ? "permission denied"
                                     : std::strerror(rc);
    if (rc == ENOENT && !working_dir.empty()) {
      why += fmt::format(" (or working_dir '{}' does not exist)", working_dir);
    }
    return fail(ErrorCode::kUnavailable, fmt::format("exec: cannot run '{}': {}", program, why));
  }
  out_w.reset();
  err_w.reset();
  ::fcntl(out_r.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.fd, F_SETFL, O_NONBLOCK);

  ExecOutcome result;
  bool out_open = true, err_open = true;
  int status = 0;
  bool exited = false;
  while (true) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD)) {
      exited = w == pid;
      // Take what the pipes hold; members of its process group left behind are killed.
      if (out_open) drain(out_r.fd, result.out);
      if (err_open) drain(err_r.fd, result.err);
      ::kill(-pid, SIGKILL);
      if (!exited) {
        return fail(
            ErrorCode::kInternal,
            fmt::format("exec: '{}': lost track of the process (reaped elsewhere)", program));
      }
      break;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.timed_out = true;
      return result;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int wait_ms = static_cast<int>(std::clamp<long long>(left, 1, 20));
    pollfd fds[2];
    nfds_t n = 0;
    if (out_open) fds[n++] = pollfd{out_r.fd, POLLIN, 0};
    if (err_open) fds[n++] = pollfd{err_r.fd, POLLIN, 0};
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      continue;
    }
    if (::poll(fds, n, wait_ms) > 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == out_r.fd) {
          out_open = drain(out_r.fd, result.out);
        } else {
          err_open = drain(err_r.fd, result.err);
        }
      }
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

Result<double> parse_command_output(std::string_view out) {
  std::string_view text = params::trim(out);
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "the command printed nothing");
  std::string_view last =
      text.substr(text.rfind('\n') == std::string_view::npos ? 0 : text.rfind('\n') + 1);
  if (auto v = params::parse_double(last)) return *v;
  std::string shown(params::trim(last).substr(0, 80));
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("the command's last output line is not a number: '{}'", shown));
}

namespace {

std::string stderr_excerpt(std::string_view err) {
  std::string text(params::trim(err));
  std::replace(text.begin(), text.end(), '\n', ' ');
  constexpr std::size_t kMax = 300;
  if (text.size() > kMax) text = "..." + text.substr(text.size() - kMax);
  return text;
}

struct ExecQuery {
  std::vector<std::string> argv;
  Duration timeout{0};  // 0 = the source's
};

class ExecSource final : public Source {
 public:
  ExecSource(Duration timeout, std::vector<std::pair<std::string, std::string>> env,
             std::string working_dir)
      : timeout_(timeout), env_(std::move(env)), working_dir_(std::move(working_dir)) {}

  Result<int> prepare(const nlohmann::json& query) override {
    ExecQuery q;
    const std::string command = params::str(query, "command");
    if (params::flag(query, "shell")) {
      if (params::trim(command).empty()) {
        return fail(ErrorCode::kInvalidArgument, "exec: 'command' must not be empty");
      }
      q.argv = {"/bin/sh", "-c", command};
    } else {
      auto words = split_command(command);
      if (!words) return std::unexpected(words.error());
      q.argv = std::move(*words);
    }
    q.timeout = params::duration(query, "timeout", Duration(0));
    std::lock_guard lock(mu_);
    queries_.push_back(std::move(q));
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    ExecQuery q;
    {
      std::lock_guard lock(mu_);
      if (query < 0 || static_cast<std::size_t>(query) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "exec: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(query)];
    }
    const Duration limit = std::min(q.timeout.count() > 0 ? q.timeout : timeout_, timeout);
    const std::string& program = q.argv.front();
    auto r = run_command(q.argv, env_, working_dir_, limit);
    if (!r) return std::unexpected(r.error());
    if (r->timed_out) {
      return fail(ErrorCode::kTimeout, fmt::format("exec: '{}' timed out after {} and was killed",
                                                   program, format_duration(limit)));
    }
    if (r->signal != 0) {
      return fail(
          ErrorCode::kUnavailable,
          fmt::format("exec: '{}' was killed by signal {} ({}){}{}", program, r->signal,
                      strsignal(r->signal), r->err.empty() ? "" : ": ", stderr_excerpt(r->err)));
    }
    if (r->exit_code != 0) {
      std::string err = stderr_excerpt(r->err);
      return fail(ErrorCode::kUnavailable,
                  fmt::format("exec: '{}' exited with status {}{}{}", program, r->exit_code,
                              err.empty() ? "" : ": ", err));
    }
    auto v = parse_command_output(r->out);
    if (!v) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("exec: '{}': {}", program, v.error().message));
    }
    return std::vector<Sample>{Sample{*v, now, ""}};
  }

 private:
  const Duration timeout_;
  const std::vector<std::pair<std::string, std::string>> env_;
  const std::string working_dir_;
  std::mutex mu_;
  std::deque<ExecQuery> queries_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_exec_source(const SourceSpec& spec) {
  std::vector<std::pair<std::string, std::string>> env;
  if (auto it = spec.params.find("env"); it != spec.params.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) env.emplace_back(k, v.get<std::string>());
    }
  }
  return std::make_unique<ExecSource>(params::duration(spec.params, "timeout", Duration(10000)),
                                      std::move(env), params::str(spec.params, "working_dir"));
}

}  // namespace tide
