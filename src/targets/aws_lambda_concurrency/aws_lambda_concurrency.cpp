#include "targets/aws_lambda_concurrency/aws_lambda_concurrency.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "targets/params.hpp"

namespace tide {
namespace {

constexpr const char* kType = "aws-lambda-concurrency";
constexpr const char* kNoConfig = "ProvisionedConcurrencyConfigNotFoundException";

class LambdaConcurrencyTarget final : public Target {
 public:
  LambdaConcurrencyTarget(std::string function, std::string qualifier,
                          std::shared_ptr<aws::AwsClient> client)
      : function_(std::move(function)),
        qualifier_(std::move(qualifier)),
        path_(provisioned_concurrency_path(function_)),
        client_(std::move(client)) {}

  Result<TargetStatus> status() override {
    auto r = client_->rest_json("GET", path_, {{"Qualifier", qualifier_}}, nullptr,
                                "GetProvisionedConcurrencyConfig");
    if (!r) {
      if (r.error().aws_code == kNoConfig) {
        return provisioned_concurrency_status(nullptr, false, unit_prefix());
      }
      return std::unexpected(r.error().to_error());
    }
    auto s = provisioned_concurrency_status(r->body, true, unit_prefix());
    if (!s) {
      return fail(s.error().code,
                  fmt::format("{}:{}: {}", function_, qualifier_, s.error().message));
    }
    return s;
  }

  Result<void> scale(const ScaleRequest& request) override {
    if (request.desired < 0) {
      return fail(ErrorCode::kInvalidArgument, "provisioned concurrency cannot be negative");
    }
    if (request.desired == 0) {
      auto r = client_->rest_json("DELETE", path_, {{"Qualifier", qualifier_}}, nullptr,
                                  "DeleteProvisionedConcurrencyConfig");
      if (!r && r.error().aws_code != kNoConfig) return std::unexpected(r.error().to_error());
      return {};
    }
    const nlohmann::json body = {{"ProvisionedConcurrentExecutions", request.desired}};
    auto r = client_->rest_json("PUT", path_, {{"Qualifier", qualifier_}}, &body,
                                "PutProvisionedConcurrencyConfig");
    if (!r) return std::unexpected(r.error().to_error());
    return {};
  }

 private:
  std::string unit_prefix() const { return function_ + ":" + qualifier_ + "#"; }

  const std::string function_;
  const std::string qualifier_;
  const std::string path_;
  std::shared_ptr<aws::AwsClient> client_;
};

int count(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

std::string provisioned_concurrency_path(const std::string& function) {
  return "/2019-09-30/functions/" + aws::path_segment(function) + "/provisioned-concurrency";
}

Result<TargetStatus> provisioned_concurrency_status(const nlohmann::json& body, bool found,
                                                    const std::string& unit_prefix) {
  TargetStatus s;
  if (!found) return s;
  if (!body.is_object() || !body.contains("RequestedProvisionedConcurrentExecutions")) {
    return fail(ErrorCode::kUnavailable,
                "GetProvisionedConcurrencyConfig: no RequestedProvisionedConcurrentExecutions");
  }
  const std::string status = body.value("Status", "");
  if (status == "FAILED") {
    return fail(ErrorCode::kUnavailable,
                fmt::format("provisioned concurrency FAILED: {}",
                            body.value("StatusReason", "no reason given")));
  }
  const int requested = std::max(0, count(body, "RequestedProvisionedConcurrentExecutions"));
  const int allocated =
      std::clamp(count(body, "AllocatedProvisionedConcurrentExecutions"), 0, requested);
  s.desired = requested;
  s.instances.reserve(static_cast<std::size_t>(requested));
  for (int i = 0; i < requested; ++i) {
    InstanceStatus u;
    u.id = unit_prefix + std::to_string(i);
    u.state = i < allocated ? InstanceState::kReady : InstanceState::kWarming;
    if (i >= allocated) u.detail = status.empty() ? "allocating" : status;
    s.instances.push_back(std::move(u));
  }
  return s;
}

std::unique_ptr<Target> make_aws_lambda_concurrency_target(std::string function,
                                                           std::string qualifier,
                                                           std::shared_ptr<aws::AwsClient> client) {
  return std::make_unique<LambdaConcurrencyTarget>(std::move(function), std::move(qualifier),
                                                   std::move(client));
}

Result<std::unique_ptr<Target>> make_aws_lambda_concurrency_target(const TargetRef& ref,
                                                                   const TargetContext&) {
  auto function = params::string(ref.params, kType, "function");
  if (!function) return std::unexpected(function.error());
  auto qualifier = params::string(ref.params, kType, "qualifier");
  if (!qualifier) return std::unexpected(qualifier.error());
  if (function->empty() || qualifier->empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "aws-lambda-concurrency target: 'function' and 'qualifier' are required");
  }
  if (*qualifier == "$LATEST") {
    return fail(ErrorCode::kInvalidArgument,
                "aws-lambda-concurrency target: provisioned concurrency needs an alias or a "
                "published version, not $LATEST");
  }
  auto client =
      aws::make_aws_client(aws::Service::kLambda, aws::aws_keys(ref.params), aws::process_env());
  if (!client)
    return fail(client.error().code, std::string(kType) + " target: " + client.error().message);
  return make_aws_lambda_concurrency_target(*function, *qualifier, std::move(*client));
}

}  // namespace tide
