// Small helpers shared by the source implementations: reading checked config values (the config
// loader already validated kinds, see config/schema.hpp) and parsing numbers strictly.
#pragma once

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/http.hpp"
#include "core/time.hpp"

namespace tide::params {

inline std::string str(const nlohmann::json& j, const char* key, std::string fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline bool flag(const nlohmann::json& j, const char* key, bool fallback = false) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// Durations are stored as integer milliseconds.
inline Duration duration(const nlohmann::json& j, const char* key, Duration fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? Duration(it->get<long long>()) : fallback;
}

inline std::optional<double> number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

inline HttpHeaders headers(const nlohmann::json& j, const char* key) {
  HttpHeaders out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

inline std::string_view trim(std::string_view s) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// A decimal number ("42", "-3.5", "+1e3"), the whole text after trimming blanks. NaN and
// infinities are rejected unless `allow_special` (then "NaN", "+Inf", "-Inf", "Inf", any case).
inline std::optional<double> parse_double(std::string_view text, bool allow_special = false) {
  text = trim(text);
  std::string_view digits = text;
  if (digits.starts_with('+')) {
    digits.remove_prefix(1);
    if (digits.starts_with('+') || digits.starts_with('-')) return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (!std::isfinite(v) && !allow_special) return std::nullopt;
  return v;
}

}  // namespace tide::params
