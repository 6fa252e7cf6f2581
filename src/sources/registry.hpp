// Source types known to tide, keyed by the config's `type:`. The registry is filled explicitly by
// register_builtin_sources() (no static self-registration). Today an entry carries the key schema
// the config loader validates against; the issue that builds the sources adds a factory member to
// SourceType (creating the Source from a SourceSpec) without changing the config code.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/schema.hpp"
#include "core/result.hpp"

namespace tide {

// One entry of the config's `sources:`: a named, typed source with its validated keys.
// Durations in `params` are integer milliseconds (see config/schema.hpp).
struct SourceSpec {
  std::string name;
  std::string type;
  nlohmann::json params = nlohmann::json::object();
  bool implicit = false;  // not written under `sources:`; referenced by its type name (config.md)
};

class Source;
// Creates a live Source from its checked spec (null for a type not implemented yet: the config
// validates, but `tide run` reports the type as unavailable).
using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const SourceSpec&)>;

struct SourceType {
  std::string name;      // the config's `type:` value
  std::string summary;   // one line for docs and messages
  KeySchema config;      // keys of the source's own mapping (besides `name` and `type`)
  KeySchema query;       // keys of a policy's `metric:` mapping (besides `source`)
  SourceFactory create;  // set by register_builtin_sources for implemented types
};

class SourceRegistry {
 public:
  void add(SourceType type);  // replaces an entry of the same name
  const SourceType* find(std::string_view name) const;
  std::vector<std::string> names() const;  // in registration order
  const std::vector<SourceType>& types() const { return types_; }

 private:
  std::vector<SourceType> types_;
};

void register_builtin_sources(SourceRegistry& registry);

// The registry with every built-in type, filled on first use by register_builtin_sources().
const SourceRegistry& builtin_sources();

}  // namespace tide
