#include "targets/exec/exec_target.hpp"

#include <sys/wait.h>

#include <charconv>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "targets/params.hpp"
#include "targets/process.hpp"

namespace tide {
namespace {

constexpr const char* kType = "exec";
constexpr int kMaxCapacity = 1'000'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<int> parse_capacity(std::string_view text) {
  text = trim(text);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > kMaxCapacity) {
    return std::nullopt;
  }
  return value;
}

std::optional<InstanceState> parse_state(std::string_view s) {
  if (s == "ready") return InstanceState::kReady;
  if (s == "warming") return InstanceState::kWarming;
  if (s == "missing") return InstanceState::kMissing;
  return std::nullopt;
}

Error bad_output(std::string_view why, std::string_view output) {
  return Error{ErrorCode::kUnavailable, fmt::format("exec target: status_command output {}: '{}'",
                                                    why, proc::excerpt(output, 200))};
}

Result<TargetStatus> parse_json_status(std::string_view output) {
  nlohmann::json j = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::unexpected(bad_output("is not JSON", output));
  TargetStatus status;
  auto capacity = j.find("capacity");
  if (capacity == j.end()) capacity = j.find("desired");
  if (capacity == j.end() || !capacity->is_number_integer() || capacity->get<long long>() < 0 ||
      capacity->get<long long>() > kMaxCapacity) {
    return std::unexpected(
        bad_output("has no \"capacity\" (a whole number in 0..1000000)", output));
  }
  status.desired = capacity->get<int>();
  auto instances = j.find("instances");
  if (instances == j.end()) {
    for (int i = 0; i < status.desired; ++i) {
      status.instances.push_back({.id = std::to_string(i), .state = InstanceState::kReady});
    }
    return status;
  }
  if (!instances->is_array()) {
    return std::unexpected(bad_output("has \"instances\" that is not a list", output));
  }
  for (const nlohmann::json& e : *instances) {
    InstanceStatus instance;
    if (e.is_string()) {
      instance.id = e.get<std::string>();
      instance.state = InstanceState::kReady;
    } else if (e.is_object() && e.contains("id") &&
               (e["id"].is_string() || e["id"].is_number_integer())) {
      instance.id = e["id"].is_string() ? e["id"].get<std::string>() : e["id"].dump();
      auto text = [&](const char* key) -> std::optional<std::string> {
        auto it = e.find(key);
        if (it == e.end()) return std::string();
        if (!it->is_string()) return std::nullopt;
        return it->get<std::string>();
      };
      auto address = text("address");
      auto state = text("state");
      auto detail = text("detail");
      if (!address || !state || !detail) {
        return std::unexpected(bad_output("has an instance with a non-string field", output));
      }
      instance.address = *address;
      instance.detail = *detail;
      instance.state = InstanceState::kReady;
      if (!state->empty()) {
        auto s = parse_state(*state);
        if (!s) {
          return std::unexpected(bad_output(
              fmt::format("has an instance state '{}' (expected ready, warming or missing)",
                          *state),
              output));
        }
        instance.state = *s;
      }
    } else {
      return std::unexpected(bad_output("has an instance without an \"id\"", output));
    }
    status.instances.push_back(std::move(instance));
  }
  return status;
}

}  // namespace

Result<TargetStatus> parse_exec_status(std::string_view output) {
  std::string_view trimmed = trim(output);
  if (trimmed.empty()) return std::unexpected(bad_output("is empty", output));
  if (trimmed.front() == '{') return parse_json_status(trimmed);
  TargetStatus status;
  std::istringstream lines{std::string(trimmed)};
  std::string line;
  bool first = true;
  bool listed = false;
  while (std::getline(lines, line)) {
    std::string_view l = trim(line);
    if (l.empty()) continue;
    if (first) {
      auto capacity = parse_capacity(l);
      if (!capacity) {
        return std::unexpected(bad_output(
            "does not start with the capacity (a whole number in 0..1000000, or a JSON object)",
            output));
      }
      status.desired = *capacity;
      first = false;
      continue;
    }
    std::istringstream fields{std::string(l)};
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    InstanceStatus instance;
    instance.id = f[0];
    instance.state = InstanceState::kReady;
    std::size_t next = 1;
    if (next < f.size() && !parse_state(f[next])) instance.address = f[next++];
    if (next < f.size()) {
      auto s = parse_state(f[next]);
      if (!s) {
        return std::unexpected(bad_output(
            fmt::format("has instance line '{}': expected 'ID [ADDRESS] [ready|warming|missing] "
                        "[DETAIL]'",
                        l),
            output));
      }
      instance.state = *s;
      ++next;
    }
    for (; next < f.size(); ++next) {
      if (!instance.detail.empty()) instance.detail += ' ';
      instance.detail += f[next];
    }
    status.instances.push_back(std::move(instance));
    listed = true;
  }
  if (!listed) {
    for (int i = 0; i < status.desired; ++i) {
      status.instances.push_back({.id = std::to_string(i), .state = InstanceState::kReady});
    }
  }
  return status;
}

namespace {

class ExecTarget final : public Target {
 public:
  ExecTarget(ExecTargetConfig config, std::string group)
      : config_(std::move(config)), group_(std::move(group)) {}

  Result<TargetStatus> status() override {
    auto run = run_checked("status_command", config_.status_command, base_env());
    if (!run) return std::unexpected(run.error());
    return parse_exec_status(*run);
  }

  Result<void> scale(const ScaleRequest& request) override {
    if (request.desired < 0 || request.desired > kMaxCapacity) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("exec target: capacity {} is outside 0..{}", request.desired, kMaxCapacity));
    }
    const std::string n = std::to_string(request.desired);
    std::string command = proc::replace_all(config_.scale_command, "{capacity}", n);
    command = proc::replace_all(std::move(command), "{desired}", n);
    auto env = base_env();
    env.emplace_back("TIDE_CAPACITY", n);
    env.emplace_back("TIDE_DESIRED", n);
    env.emplace_back("TIDE_REASON", request.reason);
    env.emplace_back("TIDE_DECISION_ID", std::to_string(request.decision_id));
    auto run = run_checked("scale_command", command, std::move(env));
    if (!run) return std::unexpected(run.error());
    return {};
  }

 private:
  std::vector<std::pair<std::string, std::string>> base_env() const {
    auto env = config_.env;
    env.emplace_back("TIDE_GROUP", group_);
    return env;
  }

  // stdout of a command that exited 0, or an error quoting what went wrong.
  Result<std::string> run_checked(const char* which, const std::string& command,
                                  std::vector<std::pair<std::string, std::string>> env) const {
    proc::SpawnOptions options;
    options.command = command;
    options.env = std::move(env);
    options.working_dir = config_.working_dir;
    auto result = proc::run_command(options, config_.timeout);
    if (!result) {
      return fail(result.error().code,
                  fmt::format("exec target: {}: {}", which, result.error().message));
    }
    if (!result->ok()) {
      std::string message =
          fmt::format("exec target: {} '{}' {}", which, proc::excerpt(command, 200),
                      proc::describe_wait_status(result->wait_status));
      if (!proc::excerpt(result->err).empty()) {
        message += "; stderr: " + proc::excerpt(result->err);
      } else if (!proc::excerpt(result->out).empty()) {
        message += "; stdout: " + proc::excerpt(result->out);
      }
      return fail(ErrorCode::kUnavailable, message);
    }
    return std::move(result->out);
  }

  ExecTargetConfig config_;
  std::string group_;
};

}  // namespace

Result<ExecTargetConfig> parse_exec_target_config(const nlohmann::json& p) {
  if (!p.is_object()) return fail(ErrorCode::kInvalidArgument, "exec target: expected a mapping");
  ExecTargetConfig c;
  auto status = params::string(p, kType, "status_command");
  if (!status) return std::unexpected(status.error());
  auto scale = params::string(p, kType, "scale_command");
  if (!scale) return std::unexpected(scale.error());
  if (trim(*status).empty() || trim(*scale).empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "exec target: 'status_command' and 'scale_command' are required");
  }
  c.status_command = *status;
  c.scale_command = *scale;
  auto timeout = params::duration(p, kType, "timeout", c.timeout);
  if (!timeout) return std::unexpected(timeout.error());
  if (*timeout <= Duration::zero()) {
    return fail(ErrorCode::kInvalidArgument, "exec target: 'timeout' must be more than 0");
  }
  c.timeout = *timeout;
  auto env = params::string_map(p, kType, "env");
  if (!env) return std::unexpected(env.error());
  c.env = *env;
  auto dir = params::string(p, kType, "working_dir");
  if (!dir) return std::unexpected(dir.error());
  c.working_dir = *dir;
  return c;
}

Result<std::unique_ptr<Target>> make_exec_target(const TargetRef& ref,
                                                 const TargetContext& context) {
  auto config = parse_exec_target_config(ref.params);
  if (!config) return std::unexpected(config.error());
  return std::unique_ptr<Target>(std::make_unique<ExecTarget>(std::move(*config), context.group));
}

}  // namespace tide
