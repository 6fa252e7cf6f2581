// Reading a target's checked `params` (config/schema.hpp: durations are integer milliseconds,
// string maps are JSON objects). The config loader has already validated kinds; these readers
// check again so that a factory called with hand-written JSON (tests, tide decide) fails with a
// clear error instead of throwing.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide::params {

inline Error bad(const std::string& type, const std::string& key, const char* want) {
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("{} target: '{}' must be {}", type, key, want)};
}

inline Result<std::string> string(const nlohmann::json& p, const std::string& type,
                                  const std::string& key, std::string fallback = {}) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  if (!it->is_string()) return std::unexpected(bad(type, key, "a string"));
  return it->get<std::string>();
}

inline Result<long long> integer(const nlohmann::json& p, const std::string& type,
                                 const std::string& key, long long fallback) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) return std::unexpected(bad(type, key, "a whole number"));
  return it->get<long long>();
}

inline Result<bool> boolean(const nlohmann::json& p, const std::string& type,
                            const std::string& key, bool fallback) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return std::unexpected(bad(type, key, "true or false"));
  return it->get<bool>();
}

// Integer milliseconds (as the config loader stores durations) or a duration string ("10s").
inline Result<Duration> duration(const nlohmann::json& p, const std::string& type,
                                 const std::string& key, Duration fallback) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  if (it->is_number_integer() && it->get<long long>() >= 0) return Duration(it->get<long long>());
  if (it->is_string()) {
    auto d = parse_duration(it->get<std::string>());
    if (d) return *d;
  }
  return std::unexpected(bad(type, key, "a duration such as 10s"));
}

inline Result<std::vector<std::pair<std::string, std::string>>> string_map(const nlohmann::json& p,
                                                                           const std::string& type,
                                                                           const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return out;
  if (!it->is_object()) return std::unexpected(bad(type, key, "a mapping of strings"));
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return std::unexpected(bad(type, key + "." + k, "a string"));
    out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

}  // namespace tide::params
