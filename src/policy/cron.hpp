// 5-field cron expressions (minute hour day-of-month month day-of-week) evaluated in an IANA time
// zone. Supports *, lists, ranges, steps, month and weekday names (JAN, MON-FRI), 0 and 7 for
// Sunday, and the vixie-cron rule that a restricted day-of-month and day-of-week match on either.
#pragma once

#include <bitset>
#include <memory>
#include <optional>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool dom_restricted = false;
  bool dow_restricted = false;
};

// Errors name the field and what is wrong: "hour: 25 is out of range 0-23".
Result<CronSchedule> parse_cron(std::string_view text);

struct TimeZoneRef;  // wraps a resolved IANA zone
// Errors for an unknown zone name; "UTC" always resolves.
Result<std::shared_ptr<const TimeZoneRef>> resolve_time_zone(std::string_view name);

// The most recent minute at or before `now` (local time in `zone`) that matches, looking back at
// most `lookback`. nullopt when none.
std::optional<TimePoint> previous_fire(const CronSchedule& cron, const TimeZoneRef& zone,
                                       TimePoint now, Duration lookback);
// The first matching minute strictly after `after`, looking ahead at most `horizon`.
std::optional<TimePoint> next_fire(const CronSchedule& cron, const TimeZoneRef& zone,
                                   TimePoint after, Duration horizon);

}  // namespace tide
