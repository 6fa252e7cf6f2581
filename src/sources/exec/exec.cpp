#include "sources/exec/exec.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "sources/params.hpp"
#include "targets/process.hpp"

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

constexpr std::size_t kMaxOutput = 64u << 10;

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
    auto r = proc::run_command(
        {.argv = q.argv, .env = env_, .working_dir = working_dir_, .new_session = false}, limit,
        kMaxOutput, proc::Leftovers::kKill);
    if (!r) {
      if (r.error().code == ErrorCode::kTimeout) {
        return fail(ErrorCode::kTimeout, fmt::format("exec: '{}' timed out after {} and was killed",
                                                     program, format_duration(limit)));
      }
      return fail(r.error().code, "exec: " + r.error().message);
    }
    if (WIFSIGNALED(r->wait_status)) {
      const int sig = WTERMSIG(r->wait_status);
      return fail(ErrorCode::kUnavailable,
                  fmt::format("exec: '{}' was killed by signal {} ({}){}{}", program, sig,
                              strsignal(sig), r->err.empty() ? "" : ": ", stderr_excerpt(r->err)));
    }
    if (!r->ok()) {
      std::string err = stderr_excerpt(r->err);
      return fail(ErrorCode::kUnavailable,
                  fmt::format("exec: '{}' exited with status {}{}{}", program,
                              WEXITSTATUS(r->wait_status), err.empty() ? "" : ": ", err));
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
