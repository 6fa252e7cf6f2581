// The key schema of a source or target type: which keys its config mapping (and, for sources, a
// policy's metric query) may hold, their value kinds, which are required. The config loader
// validates a type's keys against it and stores the checked values as JSON in the typed spec
// (SourceSpec::params, TargetRef::params, MetricRef::params), so each type's code later reads
// values that are known to be present and of the right kind.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tide {

enum class ValueKind {
  kString,      // JSON string
  kNumber,      // JSON number (finite double)
  kInteger,     // JSON integer
  kBool,        // JSON bool
  kDuration,    // "15s", "5m", "1h30m"; stored as integer milliseconds
  kStringList,  // list of strings (a single string is accepted as a one-element list)
  kStringMap,   // mapping of string to string (e.g. CloudWatch dimensions, HTTP headers)
  kNumberList,  // list of numbers
};

const char* value_kind_name(ValueKind kind);  // "a string", "a duration", ...

struct KeySpec {
  std::string name;
  ValueKind kind = ValueKind::kString;
  bool required = false;
  std::string help;                  // one line, used by docs and `tide validate`
  std::vector<std::string> choices;  // kString only: the allowed values (empty = any)
  std::optional<double> minimum;     // kNumber/kInteger: inclusive lower bound
  std::vector<std::string> needs;    // keys that must also be present when this one is
  // Optional extra check of a string value: returns an error message, or "" when fine.
  std::function<std::string(std::string_view)> check;
};

struct KeySchema {
  std::vector<KeySpec> keys;
  // Each inner list names keys of which exactly one must be present (e.g. {"name", "expression"}).
  std::vector<std::vector<std::string>> exactly_one_of;

  const KeySpec* find(std::string_view name) const;
  bool has_required() const;  // any required key or exactly_one_of group
};

}  // namespace tide
