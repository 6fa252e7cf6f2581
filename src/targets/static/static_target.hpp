// The `static` target: a capacity held in memory, for demos and tests. Nothing runs; each unit of
// capacity is an instance (ids "0", "1", ... in creation order) that counts as warming for
// `boot_delay` after it was added (TargetContext::clock) and ready after that. The initial
// `capacity` (default: the group's min, TargetContext::min) is ready from the start. Scale-in
// removes the newest instances first. With a TargetStateStore the capacity and the instances'
// start times are saved under the key "static" after every change and restored on creation (the
// saved state wins over `capacity`). Thread-safe.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct StaticTargetConfig {
  int capacity = 0;
  Duration boot_delay{0};
};

// `default_capacity` applies when `capacity` is not given.
Result<StaticTargetConfig> parse_static_target_config(const nlohmann::json& params,
                                                      int default_capacity);

inline constexpr const char* kStaticStateKey = "static";

Result<std::unique_ptr<Target>> make_static_target(const TargetRef& ref,
                                                   const TargetContext& context);

}  // namespace tide
