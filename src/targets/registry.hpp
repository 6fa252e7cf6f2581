// Target types known to tide, keyed by the `type:` of a group's `target:`. Filled explicitly by
// register_builtin_targets(). Today an entry carries the key schema the config loader validates
// against; the issue that builds the targets adds a factory member to TargetType (creating the
// Target from a TargetRef) without changing the config code.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "core/result.hpp"
#include "policy/spec.hpp"

namespace tide {

class Clock;
class Target;
class TargetStateStore;

// What a target gets besides its own config: its group's name, a key/value space in the state
// store that survives restarts (e.g. pids to re-adopt), and the clock.
struct TargetContext {
  std::string group;
  TargetStateStore* state = nullptr;
  const Clock* clock = nullptr;
  int min = 0;  // the group's min (the static target's default capacity)
};

// Creates a live Target (null for a type not implemented yet).
using TargetFactory =
    std::function<Result<std::unique_ptr<Target>>(const TargetRef&, const TargetContext&)>;

struct TargetType {
  std::string name;      // the config's `type:` value
  std::string summary;   // one line for docs and messages
  KeySchema config;      // keys of the `target:` mapping (besides `type`)
  TargetFactory create;  // set by register_builtin_targets for implemented types
};

class TargetRegistry {
 public:
  void add(TargetType type);  // replaces an entry of the same name
  const TargetType* find(std::string_view name) const;
  std::vector<std::string> names() const;  // in registration order
  const std::vector<TargetType>& types() const { return types_; }

 private:
  std::vector<TargetType> types_;
};

void register_builtin_targets(TargetRegistry& registry);

// The registry with every built-in type, filled on first use by register_builtin_targets().
const TargetRegistry& builtin_targets();

}  // namespace tide
