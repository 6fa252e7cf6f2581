// Time in tide is explicit: a TimePoint is passed in, never read from a global clock inside the
// decision core. Millisecond resolution is enough for every scaling interval and keeps arithmetic
// in integers (bit-for-bit reproducible simulations).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace tide {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

constexpr Duration seconds(double s) {
  return Duration(static_cast<long long>(s * 1000.0));
}
constexpr double to_seconds(Duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}
constexpr TimePoint from_unix_seconds(double s) {
  return TimePoint(seconds(s));
}
constexpr double to_unix_seconds(TimePoint t) {
  return to_seconds(t.time_since_epoch());
}

// Parses "250ms", "15s", "5m", "1h30m", "2d", "1h30m15s". A bare "0" is zero. Negative durations
// and unknown units are errors whose message says what is accepted.
Result<Duration> parse_duration(std::string_view text);

// The shortest exact spelling that parse_duration reads back: 90000ms -> "1m30s".
std::string format_duration(Duration d);

// ISO 8601 UTC with milliseconds when non-zero: 2026-11-26T19:14:31Z.
std::string format_time(TimePoint t);

// Reads RFC 3339 / ISO 8601 (with Z or an offset) or unix seconds given as digits.
Result<TimePoint> parse_time(std::string_view text);

}  // namespace tide
