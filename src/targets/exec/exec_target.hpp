// The `exec` target: two user commands stand in for a real API.
//
// - `status_command` prints the current capacity. Either plain text: the first non-empty line is
//   the capacity (a whole number >= 0), every further non-empty line one instance as
//   `ID [ADDRESS] [ready|warming|missing]` (state defaults to ready; a second field that is a
//   state is the state); or one JSON object:
//   {"capacity": 3, "instances": [{"id": "a", "address": "10.0.0.1:80", "state": "warming",
//   "detail": "..."}]} ("desired" is accepted for "capacity"). Without instance lines, the
//   capacity is reported as that many ready instances with ids "0".."N-1".
// - `scale_command` sets it: `{capacity}` (or `{desired}`) is replaced by the new capacity, which
//   is also in the environment as TIDE_CAPACITY (and TIDE_DESIRED), with TIDE_GROUP, TIDE_REASON
//   and TIDE_DECISION_ID. Exit status 0 means accepted.
// Both run as `/bin/sh -c` in their own process group with `env` and `working_dir`; after
// `timeout` (30 s) the group is killed. Errors quote the exit status and a stderr excerpt.
// Thread-safe: no shared mutable state.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct ExecTargetConfig {
  std::string status_command;
  std::string scale_command;
  Duration timeout = std::chrono::seconds(30);
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;
};

Result<ExecTargetConfig> parse_exec_target_config(const nlohmann::json& params);

// Parses what a status command printed (exposed for tests).
Result<TargetStatus> parse_exec_status(std::string_view output);

Result<std::unique_ptr<Target>> make_exec_target(const TargetRef& ref,
                                                 const TargetContext& context);

}  // namespace tide
