#include "core/time.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <sstream>

// date.h's parser trips GCC 12's -Wmaybe-uninitialized when inlined at -O2 (a false positive in
// the library's seconds parsing).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#include <fmt/format.h>

namespace tide {
namespace {

struct Unit {
  std::string_view name;
  long long ms;
};
// Longest names first so "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("invalid duration '{}': {} (use e.g. 250ms, 15s, 5m, 1h30m, 2d)", text, why));
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Duration{0};
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return text[i] == '-' ? bad("negative") : bad("expected a number");
    }
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || ptr != text.data() + i) return bad("bad number");
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad(i == text.size() ? "missing unit" : "unknown unit");
    i += unit->name.size();
    double ms = number * static_cast<double>(unit->ms);
    if (ms > static_cast<double>(std::numeric_limits<long long>::max() / 4))
      return bad("too large");
    const long long part = static_cast<long long>(ms + 0.5);
    if (total > std::numeric_limits<long long>::max() / 4 - part) return bad("too large");
    total += part;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const Unit& u : {kUnits[4], kUnits[3], kUnits[2], kUnits[1], kUnits[0]}) {
    if (ms >= u.ms) {
      out += fmt::format("{}{}", ms / u.ms, u.name);
      ms %= u.ms;
    }
  }
  return out;
}

std::string format_time(TimePoint t) {
  auto ms = t.time_since_epoch().count() % 1000;
  if (ms == 0) {
    return date::format("%FT%TZ", std::chrono::time_point_cast<std::chrono::seconds>(t));
  }
  return date::format("%FT%TZ", t);
}

Result<TimePoint> parse_time(std::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
      })) {
    double s = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
    if (ec == std::errc() && ptr == text.data() + text.size()) return from_unix_seconds(s);
  }
  std::string input(text);
  for (const char* format : {"%FT%T%Ez", "%FT%TZ", "%F %T%Ez", "%F %TZ", "%FT%T", "%F %T"}) {
    std::istringstream in(input);
    date::sys_time<std::chrono::milliseconds> tp;
    in >> date::parse(format, tp);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) return tp;
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("invalid time '{}': expected RFC 3339 (2026-11-26T19:14:00Z) or unix "
                          "seconds",
                          text));
}

}  // namespace tide

#pragma GCC diagnostic pop
