#include "config/checks.hpp"

#include <cctype>

namespace tide::checks {
namespace {

bool all_of(std::string_view s, auto pred) {
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_number_text(std::string_view s) {
  // digits with at most one '.', not empty, not starting or ending with '.'
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots <= 1;
}

}  // namespace

std::string http_url(std::string_view value) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (value.starts_with(scheme)) {
      if (value.size() == scheme.size() || value[scheme.size()] == '/') {
        return "URL has no host";
      }
      return "";
    }
  }
  return "expected an http:// or https:// URL";
}

std::string redis_url(std::string_view value) {
  for (std::string_view scheme : {"redis://", "rediss://", "unix://"}) {
    if (value.starts_with(scheme) && value.size() > scheme.size()) return "";
  }
  return "expected a redis://HOST:PORT[/DB], rediss:// or unix:// URL";
}

std::string aws_region(std::string_view value) {
  // Letters, digits and dashes, starting with a letter and containing a dash: eu-west-1.
  bool ok =
      !value.empty() && std::isalpha(static_cast<unsigned char>(value.front())) &&
      value.find('-') != std::string_view::npos &&
      all_of(value, [](unsigned char c) { return std::islower(c) || std::isdigit(c) || c == '-'; });
  return ok ? "" : "expected an AWS region name such as eu-west-1";
}

std::string cw_statistic(std::string_view value) {
  for (std::string_view s : {"Average", "Sum", "Minimum", "Maximum", "SampleCount"}) {
    if (value == s) return "";
  }
  // Extended statistics: pNN[.NN], tmNN, wmNN, tcNN, tsNN (CloudWatch percentile statistics).
  for (std::string_view prefix : {"p", "tm", "wm", "tc", "ts"}) {
    if (value.starts_with(prefix) && is_number_text(value.substr(prefix.size()))) return "";
  }
  return "expected Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p90";
}

std::string json_pointer(std::string_view value) {
  if (value.empty() || value.front() == '/') return "";
  return "expected a JSON pointer such as /queue/depth (RFC 6901), starting with '/'";
}

std::string not_empty(std::string_view value) {
  return value.empty() ? "must not be empty" : "";
}

}  // namespace tide::checks
