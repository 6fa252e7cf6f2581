// The environment the AWS code reads (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...), passed in
// as a map so that tests control it completely. Live code takes a snapshot of the process
// environment with process_env().
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace tide::aws {

using Env = std::map<std::string, std::string, std::less<>>;

// A copy of the process environment (environ).
Env process_env();

// The value of `name`, or "" when unset.
inline std::string env_get(const Env& env, std::string_view name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace tide::aws
