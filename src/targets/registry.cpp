#include "targets/registry.hpp"

#include <algorithm>
#include <utility>

#include "config/checks.hpp"
#include "targets/aws_asg/aws_asg.hpp"
#include "targets/aws_ec2/aws_ec2.hpp"
#include "targets/aws_lambda_concurrency/aws_lambda_concurrency.hpp"
#include "targets/aws_lambda_memory/aws_lambda_memory.hpp"
#include "targets/exec/exec_target.hpp"
#include "targets/local_process/local_process.hpp"
#include "targets/static/static_target.hpp"

namespace tide {

void TargetRegistry::add(TargetType type) {
  auto it = std::find_if(types_.begin(), types_.end(),
                         [&](const TargetType& t) { return t.name == type.name; });
  if (it != types_.end()) {
    *it = std::move(type);
  } else {
    types_.push_back(std::move(type));
  }
}

const TargetType* TargetRegistry::find(std::string_view name) const {
  for (const TargetType& type : types_) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

std::vector<std::string> TargetRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(types_.size());
  for (const TargetType& type : types_) out.push_back(type.name);
  return out;
}

namespace {

using K = ValueKind;

std::vector<KeySpec> with_aws_keys(std::vector<KeySpec> keys) {
  keys.push_back({.name = "region",
                  .help = "AWS region; default from AWS_REGION / AWS_DEFAULT_REGION",
                  .check = checks::aws_region});
  keys.push_back({.name = "endpoint_url",
                  .help = "endpoint override (LocalStack, moto); default from AWS_ENDPOINT_URL_*",
                  .check = checks::http_url});
  keys.push_back({.name = "profile", .help = "shared-config profile; default from AWS_PROFILE"});
  return keys;
}

}  // namespace

void register_builtin_targets(TargetRegistry& registry) {
  registry.add({
      .name = "local-process",
      .summary = "a pool of local processes started from a command template",
      .config = {.keys =
                     {
                         {.name = "command",
                          .required = true,
                          .help = "shell command; {index} and {port} are replaced per process",
                          .check = checks::not_empty},
                         {.name = "base_port",
                          .kind = K::kInteger,
                          .help = "{port} = base_port + index",
                          .minimum = 1},
                         {.name = "working_dir", .help = "working directory"},
                         {.name = "env", .kind = K::kStringMap, .help = "extra environment"},
                         {.name = "grace_period",
                          .kind = K::kDuration,
                          .help = "SIGTERM to SIGKILL delay on scale-in (10s)"},
                         {.name = "readiness",
                          .help = "when a new process counts as ready: none (default), tcp, http",
                          .choices = {"none", "tcp", "http"}},
                         {.name = "readiness_path",
                          .help = "HTTP path for readiness: http (/healthz)",
                          .needs = {"readiness"}},
                         {.name = "readiness_timeout",
                          .kind = K::kDuration,
                          .help = "give up on a process not ready after this (60s)"},
                         {.name = "restart",
                          .kind = K::kBool,
                          .help = "restart crashed processes (true)"},
                         {.name = "log_file",
                          .help = "stdout and stderr of each process, appended; {index} and "
                                  "{port} are replaced (default: discarded)",
                          .check = checks::not_empty},
                     }},
      .create = make_local_process_target,
  });
  registry.add({
      .name = "exec",
      .summary = "user commands that report and set the capacity",
      .config = {.keys =
                     {
                         {.name = "status_command",
                          .required = true,
                          .help = "prints the current capacity (a number, or JSON)",
                          .check = checks::not_empty},
                         {.name = "scale_command",
                          .required = true,
                          .help = "sets the capacity; {capacity} is replaced",
                          .check = checks::not_empty},
                         {.name = "timeout", .kind = K::kDuration, .help = "per command (30s)"},
                         {.name = "env", .kind = K::kStringMap, .help = "extra environment"},
                         {.name = "working_dir", .help = "working directory"},
                     }},
      .create = make_exec_target,
  });
  registry.add({
      .name = "aws-asg",
      .summary = "an EC2 Auto Scaling group's desired capacity",
      .config = {.keys = with_aws_keys({
                     {.name = "name",
                      .required = true,
                      .help = "Auto Scaling group name",
                      .check = checks::not_empty},
                 })},
      .create = [](const TargetRef& ref,
                   const TargetContext& context) { return make_aws_asg_target(ref, context); },
  });
  registry.add({
      .name = "aws-ec2",
      .summary = "start and stop a fixed fleet of EC2 instances",
      .config = {.keys = with_aws_keys({
                     {.name = "instance_ids",
                      .kind = K::kStringList,
                      .help = "the fleet, by instance id"},
                     {.name = "tags",
                      .kind = K::kStringMap,
                      .help = "the fleet, by tags (all must match)"},
                     {.name = "stop_order",
                      .help = "which running instances to stop first: newest (default), oldest",
                      .choices = {"newest", "oldest"}},
                     {.name = "wait_timeout",
                      .kind = K::kDuration,
                      .help = "how long to wait for state changes (5m)"},
                 }),
                 .exactly_one_of = {{"instance_ids", "tags"}}},
      .create = [](const TargetRef& ref,
                   const TargetContext& context) { return make_aws_ec2_target(ref, context); },
  });
  registry.add({
      .name = "aws-lambda-concurrency",
      .summary = "provisioned concurrency of a Lambda alias or version",
      .config = {.keys = with_aws_keys({
                     {.name = "function",
                      .required = true,
                      .help = "function name or ARN",
                      .check = checks::not_empty},
                     {.name = "qualifier",
                      .required = true,
                      .help = "alias or version",
                      .check = checks::not_empty},
                 })},
      .create =
          [](const TargetRef& ref, const TargetContext& context) {
            return make_aws_lambda_concurrency_target(ref, context);
          },
  });
  registry.add({
      .name = "aws-lambda-memory",
      .summary = "a Lambda function's memory size in MB (vertical scaling)",
      .config = {.keys = with_aws_keys({
                     {.name = "function",
                      .required = true,
                      .help = "function name or ARN",
                      .check = checks::not_empty},
                     {.name = "timeout",
                      .kind = K::kDuration,
                      .help = "also set the function timeout to this"},
                 })},
      .create =
          [](const TargetRef& ref, const TargetContext& context) {
            return make_aws_lambda_memory_target(ref, context);
          },
  });
  registry.add({
      .name = "static",
      .summary = "a no-op target holding a capacity, for demos and tests",
      .config = {.keys =
                     {
                         {.name = "capacity",
                          .kind = K::kInteger,
                          .help = "initial capacity (the group's min)",
                          .minimum = 0},
                         {.name = "boot_delay",
                          .kind = K::kDuration,
                          .help = "new instances are warming for this long (0)"},
                     }},
      .create = make_static_target,
  });
}

const TargetRegistry& builtin_targets() {
  static const TargetRegistry registry = [] {
    TargetRegistry r;
    register_builtin_targets(r);
    return r;
  }();
  return registry;
}

}  // namespace tide
