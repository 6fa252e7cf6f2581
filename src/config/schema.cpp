#include "config/schema.hpp"

namespace tide {

const char* value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kString:
      return "a string";
    case ValueKind::kNumber:
      return "a number";
    case ValueKind::kInteger:
      return "a whole number";
    case ValueKind::kBool:
      return "true or false";
    case ValueKind::kDuration:
      return "a duration";
    case ValueKind::kStringList:
      return "a list of strings";
    case ValueKind::kStringMap:
      return "a mapping of strings";
    case ValueKind::kNumberList:
      return "a list of numbers";
  }
  return "a value";
}

const KeySpec* KeySchema::find(std::string_view name) const {
  for (const KeySpec& key : keys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

bool KeySchema::has_required() const {
  if (!exactly_one_of.empty()) return true;
  for (const KeySpec& key : keys) {
    if (key.required) return true;
  }
  return false;
}

}  // namespace tide
