// The `aws-lambda-concurrency` target: provisioned concurrency of a Lambda function's alias or
// version (`function` + `qualifier`); the group's capacity is the number of provisioned
// concurrent executions.
//
// status(): GetProvisionedConcurrencyConfig. No config (404
// ProvisionedConcurrencyConfigNotFoundException) is capacity 0. Otherwise `desired` is
// RequestedProvisionedConcurrentExecutions and the instances are synthetic units
// ("<function>:<qualifier>#<n>"): AllocatedProvisionedConcurrentExecutions ready ones and
// requested - allocated warming ones (Status IN_PROGRESS; READY has all allocated). Status FAILED
// is an error carrying StatusReason (e.g. not enough unreserved concurrency).
//
// scale(n): PutProvisionedConcurrencyConfig with ProvisionedConcurrentExecutions n; n = 0 is
// DeleteProvisionedConcurrencyConfig (already absent counts as done).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "core/result.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

// "/2019-09-30/functions/<function, encoded>/provisioned-concurrency"
std::string provisioned_concurrency_path(const std::string& function);

// The status from a GetProvisionedConcurrencyConfig body (`found` false: the 404 "no config").
Result<TargetStatus> provisioned_concurrency_status(const nlohmann::json& body, bool found,
                                                    const std::string& unit_prefix);

std::unique_ptr<Target> make_aws_lambda_concurrency_target(std::string function,
                                                           std::string qualifier,
                                                           std::shared_ptr<aws::AwsClient> client);

Result<std::unique_ptr<Target>> make_aws_lambda_concurrency_target(const TargetRef& ref,
                                                                   const TargetContext& context);

}  // namespace tide
