// The `aws-lambda-memory` target: vertical scaling of a Lambda function; the group's capacity is
// the function's memory size in MB (128 to 10240), and `timeout` (optional) is also set as the
// function's timeout with every change.
//
// status(): GetFunctionConfiguration. `desired` is MemorySize. While LastUpdateStatus is
// InProgress (or the function's State is Pending) the function is listed as one warming instance
// (id: the function) with the update's state as detail; otherwise no instance is listed (a memory
// size is not a count of instances, so policies use the capacity itself).
//
// scale(mb): UpdateFunctionConfiguration with MemorySize (and Timeout). Refused while an update
// is in progress (Lambda would answer ResourceConflictException): tide does not stack a second
// update on a running one; the next evaluation tries again.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "core/result.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct LambdaMemoryConfig {
  std::string function;
  std::optional<int> timeout_seconds;  // 1..900
};

Result<LambdaMemoryConfig> parse_lambda_memory_config(const nlohmann::json& params);

// "/2015-03-31/functions/<function, encoded>/configuration"
std::string function_configuration_path(const std::string& function);

struct LambdaFunctionState {
  int memory_mb = 0;
  int timeout_seconds = 0;
  bool updating = false;
  std::string detail;  // "LastUpdateStatus InProgress", "State Pending: ..."
};

Result<LambdaFunctionState> parse_function_configuration(const nlohmann::json& body);

// The UpdateFunctionConfiguration body, or why `memory_mb` cannot be set.
Result<nlohmann::json> update_function_configuration_body(const LambdaMemoryConfig& config,
                                                          int memory_mb);

std::unique_ptr<Target> make_aws_lambda_memory_target(LambdaMemoryConfig config,
                                                      std::shared_ptr<aws::AwsClient> client);

Result<std::unique_ptr<Target>> make_aws_lambda_memory_target(const TargetRef& ref,
                                                              const TargetContext& context);

}  // namespace tide
