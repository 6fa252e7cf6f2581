#include "targets/aws_lambda_memory/aws_lambda_memory.hpp"

#include <fmt/format.h>

#include "targets/params.hpp"

namespace tide {
namespace {

constexpr const char* kType = "aws-lambda-memory";
constexpr int kMinMemory = 128;
constexpr int kMaxMemory = 10240;

class LambdaMemoryTarget final : public Target {
 public:
  LambdaMemoryTarget(LambdaMemoryConfig config, std::shared_ptr<aws::AwsClient> client)
      : config_(std::move(config)),
        path_(function_configuration_path(config_.function)),
        client_(std::move(client)) {}

  Result<TargetStatus> status() override {
    auto f = read();
    if (!f) return std::unexpected(f.error());
    TargetStatus s;
    s.desired = f->memory_mb;
    if (f->updating) {
      s.instances.push_back(
          InstanceStatus{config_.function, "", InstanceState::kWarming, f->detail});
    }
    return s;
  }

  Result<void> scale(const ScaleRequest& request) override {
    auto body = update_function_configuration_body(config_, request.desired);
    if (!body) return std::unexpected(body.error());
    auto f = read();
    if (!f) return std::unexpected(f.error());
    if (f->updating) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("Lambda function '{}': an update is in progress ({}); not starting "
                              "another (memory {} MB asked)",
                              config_.function, f->detail, request.desired));
    }
    auto r = client_->rest_json("PUT", path_, {}, &*body, "UpdateFunctionConfiguration");
    if (!r) return std::unexpected(r.error().to_error());
    return {};
  }

 private:
  Result<LambdaFunctionState> read() {
    auto r = client_->rest_json("GET", path_, {}, nullptr, "GetFunctionConfiguration");
    if (!r) return std::unexpected(r.error().to_error());
    auto f = parse_function_configuration(r->body);
    if (!f) {
      return fail(f.error().code,
                  fmt::format("Lambda function '{}': {}", config_.function, f.error().message));
    }
    return f;
  }

  const LambdaMemoryConfig config_;
  const std::string path_;
  std::shared_ptr<aws::AwsClient> client_;
};

}  // namespace

Result<LambdaMemoryConfig> parse_lambda_memory_config(const nlohmann::json& p) {
  LambdaMemoryConfig c;
  auto function = params::string(p, kType, "function");
  if (!function) return std::unexpected(function.error());
  if (function->empty()) {
    return fail(ErrorCode::kInvalidArgument, "aws-lambda-memory target: 'function' is required");
  }
  c.function = *function;
  if (p.contains("timeout") && !p["timeout"].is_null()) {
    auto t = params::duration(p, kType, "timeout", Duration(0));
    if (!t) return std::unexpected(t.error());
    if (t->count() % 1000 != 0 || *t < std::chrono::seconds(1) || *t > std::chrono::seconds(900)) {
      return std::unexpected(
          params::bad(kType, "timeout", "whole seconds from 1s to 900s (Lambda's limits)"));
    }
    c.timeout_seconds = static_cast<int>(t->count() / 1000);
  }
  return c;
}

std::string function_configuration_path(const std::string& function) {
  return "/2015-03-31/functions/" + aws::path_segment(function) + "/configuration";
}

Result<LambdaFunctionState> parse_function_configuration(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("MemorySize") || !body["MemorySize"].is_number()) {
    return fail(ErrorCode::kUnavailable, "GetFunctionConfiguration: no MemorySize");
  }
  LambdaFunctionState f;
  f.memory_mb = body["MemorySize"].get<int>();
  if (auto t = body.find("Timeout"); t != body.end() && t->is_number()) {
    f.timeout_seconds = t->get<int>();
  }
  const std::string update = body.value("LastUpdateStatus", "");
  const std::string state = body.value("State", "");
  if (update == "InProgress") {
    f.updating = true;
    f.detail = "LastUpdateStatus InProgress";
    if (std::string reason = body.value("LastUpdateStatusReason", ""); !reason.empty()) {
      f.detail += ": " + reason;
    }
  } else if (state == "Pending") {
    f.updating = true;
    f.detail = "State Pending";
    if (std::string reason = body.value("StateReason", ""); !reason.empty()) {
      f.detail += ": " + reason;
    }
  }
  return f;
}

Result<nlohmann::json> update_function_configuration_body(const LambdaMemoryConfig& config,
                                                          int memory_mb) {
  if (memory_mb < kMinMemory || memory_mb > kMaxMemory) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("Lambda memory must be {} to {} MB, not {} (set the group's min/max "
                            "within that range)",
                            kMinMemory, kMaxMemory, memory_mb));
  }
  nlohmann::json body = {{"MemorySize", memory_mb}};
  if (config.timeout_seconds) body["Timeout"] = *config.timeout_seconds;
  return body;
}

std::unique_ptr<Target> make_aws_lambda_memory_target(LambdaMemoryConfig config,
                                                      std::shared_ptr<aws::AwsClient> client) {
  return std::make_unique<LambdaMemoryTarget>(std::move(config), std::move(client));
}

Result<std::unique_ptr<Target>> make_aws_lambda_memory_target(const TargetRef& ref,
                                                              const TargetContext&) {
  auto config = parse_lambda_memory_config(ref.params);
  if (!config) return std::unexpected(config.error());
  auto client =
      aws::make_aws_client(aws::Service::kLambda, aws::aws_keys(ref.params), aws::process_env());
  if (!client) {
    return fail(client.error().code, std::string(kType) + " target: " + client.error().message);
  }
  return make_aws_lambda_memory_target(std::move(*config), std::move(*client));
}

}  // namespace tide
