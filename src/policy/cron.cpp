// 5-field cron expressions evaluated in an IANA time zone (Howard Hinnant's date/tz, reading the
// system tzdata).
//
// Daylight saving time. Fire times are local wall-clock minutes; where the wall clock jumps, tide
// follows cronie/vixie-cron's rule, which distinguishes fixed-time schedules (both the minute
// and the hour field restricted, e.g. "30 2 * * *") from wildcard ones (minute or hour field
// matching every value, e.g. "*/15 * * * *", "0 * * * *"):
//  - Gap (spring forward, e.g. 02:00-02:59 does not exist): a fixed-time schedule whose minute
//    falls into the gap fires once, at the instant of the jump (03:00 new time), so a daily
//    "30 2 * * *" still starts that day. A wildcard schedule simply has no fires for the missing
//    minutes (the next existing match fires as usual).
//  - Overlap (fall back, 01:00-01:59 happens twice): a fixed-time schedule fires once, at the
//    first occurrence; a wildcard schedule fires in both passes (it runs every real hour/quarter).
// Implementation: time is cut into the zone's intervals of constant UTC offset (tzdb's sys_info).
// Inside one interval local time is UTC + offset, a bijection, so the search is a plain calendar
// search over local minutes that skips whole months and days that do not match and finds the
// hour and minute with bit operations; the DST rules above only look at the boundary with the
// previous interval (whose offset is looked up only when a candidate lies within 48 h of it). A
// long lookback costs one step per non-matching month or day plus one tz lookup per offset
// change, never a minute-by-minute scan; a typical call is one tz lookup and no allocation.
// Besides the 5 fields, the usual macros are accepted: @yearly/@annually, @monthly, @weekly,
// @daily/@midnight, @hourly.
#include "policy/cron.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

namespace tide {

// nullptr = UTC, which needs no tzdata.
struct TimeZoneRef {
  const date::time_zone* zone = nullptr;
};

namespace {

using std::chrono::minutes;
using LocalMs = date::local_time<Duration>;
using LocalMin = date::local_time<minutes>;

// ---- parsing ---------------------------------------------------------------------------------

struct FieldInfo {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is value names_base + i; nullptr when none
  int names_base;
  int names_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldInfo kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0},       {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0}, {"month", 1, 12, kMonthNames, 1, 12},
    {"day-of-week", 0, 7, kDayNames, 0, 7},  // 7 is Sunday too
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

Result<int> parse_value(const FieldInfo& f, std::string_view text) {
  if (text.empty())
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: missing value", f.name));
  if (std::isalpha(static_cast<unsigned char>(text[0]))) {
    for (int i = 0; i < f.names_count; ++i) {
      if (iequals(text, f.names[i])) return f.names_base + i;
    }
    if (f.names == nullptr) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: '{}' is not a number", f.name, text));
    }
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: unknown name '{}' (use {}-{} or {}..{})", f.name, text, f.min,
                            f.max, f.names[0], f.names[f.names_count - 1]));
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: '{}' is not a number", f.name, text));
  }
  if (v < f.min || v > f.max) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: {} is out of range {}-{}", f.name, v, f.min, f.max));
  }
  return v;
}

// Parses one field into `bits` (index = value). Returns whether the field starts with '*'
// (vixie-cron: such a day field counts as unrestricted for the day-of-month/day-of-week rule).
Result<bool> parse_field(const FieldInfo& f, std::string_view text, std::bitset<64>& bits) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: empty", f.name));
  const bool star = text[0] == '*';
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: empty list item in '{}'", f.name, text));
    }
    int step = 1;
    const std::size_t slash = item.find('/');
    const bool has_step = slash != std::string_view::npos;
    if (has_step) {
      std::string_view step_text = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || ec != std::errc() || end != step_text.data() + step_text.size() ||
          step < 1) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{}: step '{}' must be a positive number", f.name, step_text));
      }
      item = item.substr(0, slash);
    }
    int lo = f.min, hi = f.max;
    if (item == "*") {
      // whole range
    } else if (std::size_t dash = item.find('-'); dash != std::string_view::npos) {
      auto a = parse_value(f, item.substr(0, dash));
      if (!a) return std::unexpected(a.error());
      auto b = parse_value(f, item.substr(dash + 1));
      if (!b) return std::unexpected(b.error());
      if (*a > *b) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{}: range {} is reversed", f.name, item));
      }
      lo = *a;
      hi = *b;
    } else {
      auto a = parse_value(f, item);
      if (!a) return std::unexpected(a.error());
      lo = *a;
      // "N/step" means N to the end of the range (vixie-cron); a bare N is just N.
      hi = has_step ? f.max : *a;
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(v));
    if (comma == text.size()) break;
  }
  return star;
}

template <std::size_t N>
std::bitset<N> narrow(const std::bitset<64>& bits) {
  std::bitset<N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = bits[i];
  return out;
}

std::string_view expand_macro(std::string_view text) {
  struct Macro {
    std::string_view name, expansion;
  };
  static constexpr Macro kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  };
  for (const Macro& m : kMacros) {
    if (iequals(text, m.name)) return m.expansion;
  }
  return text;
}

// ---- matching ----------------------------------------------------------------------------------

bool day_matches(const CronSchedule& cron, date::local_days day) {
  const date::year_month_day ymd(day);
  const unsigned wd = date::weekday(day).c_encoding();
  const bool dom = cron.days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = cron.days_of_week[wd];
  // vixie-cron: when both day fields are restricted, either may match.
  if (cron.dom_restricted && cron.dow_restricted) return dom || dow;
  return dom && dow;
}

// Fixed-time schedules fire once around DST changes; wildcard ones follow the real clock.
bool fixed_time(const CronSchedule& cron) {
  return !cron.minutes.all() && !cron.hours.all();
}

// Highest set bit at or below `limit` (-1 when none) and lowest set bit at or above `limit` (64
// when none) of a field mask; a cron field fits in 64 bits.
int highest_at_or_below(std::uint64_t bits, int limit) {
  if (limit < 0) return -1;
  const std::uint64_t mask = limit >= 63 ? ~0ULL : ((1ULL << (limit + 1)) - 1);
  const std::uint64_t x = bits & mask;
  return x == 0 ? -1 : 63 - std::countl_zero(x);
}
int lowest_at_or_above(std::uint64_t bits, int limit) {
  if (limit > 63) return 64;
  const std::uint64_t x = bits & (~0ULL << limit);
  return x == 0 ? 64 : std::countr_zero(x);
}

// Latest matching local minute in [lo, hi], skipping whole months, days and hours.
std::optional<LocalMin> latest_match(const CronSchedule& cron, LocalMin lo, LocalMin hi) {
  const std::uint64_t minute_bits = cron.minutes.to_ullong();
  const std::uint64_t hour_bits = cron.hours.to_ullong();
  if (minute_bits == 0 || hour_bits == 0) return std::nullopt;
  const int last_minute = highest_at_or_below(minute_bits, 59);
  LocalMin t = hi;
  while (t >= lo) {
    const date::local_days day = date::floor<date::days>(t);
    const date::year_month_day ymd(day);
    if (!cron.months[static_cast<unsigned>(ymd.month())]) {
      t = LocalMin(date::local_days(ymd.year() / ymd.month() / 1)) - minutes(1);
      continue;
    }
    if (day_matches(cron, day)) {
      const int minute_of_day = static_cast<int>((t - day).count());
      const int h = minute_of_day / 60;
      int hit = -1;
      if (hour_bits >> h & 1) {
        const int m = highest_at_or_below(minute_bits, minute_of_day % 60);
        if (m >= 0) hit = h * 60 + m;
      }
      if (hit < 0) {
        const int earlier_hour = highest_at_or_below(hour_bits, h - 1);
        if (earlier_hour >= 0) hit = earlier_hour * 60 + last_minute;
      }
      if (hit >= 0) {
        const LocalMin found = LocalMin(day) + minutes(hit);
        if (found < lo) return std::nullopt;
        return found;
      }
    }
    t = LocalMin(day) - minutes(1);
  }
  return std::nullopt;
}

// Earliest matching local minute in [lo, hi].
std::optional<LocalMin> earliest_match(const CronSchedule& cron, LocalMin lo, LocalMin hi) {
  const std::uint64_t minute_bits = cron.minutes.to_ullong();
  const std::uint64_t hour_bits = cron.hours.to_ullong();
  if (minute_bits == 0 || hour_bits == 0) return std::nullopt;
  const int first_minute = lowest_at_or_above(minute_bits, 0);
  LocalMin t = lo;
  while (t <= hi) {
    const date::local_days day = date::floor<date::days>(t);
    const date::year_month_day ymd(day);
    if (!cron.months[static_cast<unsigned>(ymd.month())]) {
      t = LocalMin(date::local_days((ymd.year() / ymd.month() + date::months(1)) / 1));
      continue;
    }
    if (day_matches(cron, day)) {
      const int minute_of_day = static_cast<int>((t - day).count());
      const int h = minute_of_day / 60;
      int hit = -1;
      if (hour_bits >> h & 1) {
        const int m = lowest_at_or_above(minute_bits, minute_of_day % 60);
        if (m < 60) hit = h * 60 + m;
      }
      if (hit < 0) {
        const int later_hour = lowest_at_or_above(hour_bits, h + 1);
        if (later_hour < 24) hit = later_hour * 60 + first_minute;
      }
      if (hit >= 0) {
        const LocalMin found = LocalMin(day) + minutes(hit);
        if (found > hi) return std::nullopt;
        return found;
      }
    }
    t = LocalMin(day + date::days(1));
  }
  return std::nullopt;
}

// A span of constant UTC offset: [begin, end) in UTC, `offset` inside, `prev_offset` just before
// `begin` (equal to `offset` when nothing changes there). `prev_known` is false until looked up.
struct Interval {
  TimePoint begin, end;
  Duration offset{0}, prev_offset{0};
  bool prev_known = false;
};

// The largest change of UTC offset at one transition, bounding how far after an interval's begin
// DST effects (gap fire, repeated minutes) can reach. Real changes are at most ~24 h (Pacific/Apia
// skipped 30 Dec 2011); 48 h leaves room.
constexpr Duration kMaxOffsetChange = std::chrono::hours(48);

TimePoint earliest_time() {
  return TimePoint(date::sys_days(date::year::min() / 1 / 1));
}

Interval interval_at(const TimeZoneRef& zone, TimePoint t) {
  if (zone.zone == nullptr) {
    // UTC: one interval over every representable year of date's calendar.
    return {earliest_time(), TimePoint(date::sys_days(date::year::max() / 12 / 31)), Duration{0},
            Duration{0}, true};
  }
  const date::sys_info info = zone.zone->get_info(date::floor<std::chrono::seconds>(t));
  return {TimePoint(info.begin), TimePoint(info.end), info.offset, info.offset,
          TimePoint(info.begin) <= earliest_time()};
}

// Looks up the offset in force just before iv.begin (one tz lookup), once.
void know_prev(const TimeZoneRef& zone, Interval& iv) {
  if (iv.prev_known) return;
  iv.prev_offset =
      zone.zone->get_info(date::floor<std::chrono::seconds>(iv.begin) - std::chrono::seconds(1))
          .offset;
  iv.prev_known = true;
}

LocalMs to_local(TimePoint t, Duration offset) {
  return LocalMs(t.time_since_epoch() + offset);
}
TimePoint to_utc(LocalMin m, Duration offset) {
  return TimePoint(std::chrono::duration_cast<Duration>(m.time_since_epoch()) - offset);
}
LocalMin floor_min(LocalMs t) {
  return date::floor<minutes>(t);
}
LocalMin ceil_min(LocalMs t) {
  return date::ceil<minutes>(t);
}

// Whether a fixed-time schedule has a minute inside the gap before `iv` (it then fires at begin).
bool gap_fire(const CronSchedule& cron, const Interval& iv) {
  if (!(iv.prev_offset < iv.offset) || !fixed_time(cron)) return false;
  const LocalMin first = ceil_min(to_local(iv.begin, iv.prev_offset));
  const LocalMin last = ceil_min(to_local(iv.begin, iv.offset)) - minutes(1);
  return first <= last && earliest_match(cron, first, last).has_value();
}

// The first local minute of `iv` that is not a repeat, for fixed-time schedules, of a minute the
// previous interval already had (overlap).
LocalMs first_new_local(const CronSchedule& cron, const Interval& iv) {
  if (iv.prev_offset > iv.offset && fixed_time(cron)) return to_local(iv.begin, iv.prev_offset);
  return to_local(iv.begin, iv.offset);
}

}  // namespace

Result<CronSchedule> parse_cron(std::string_view text) {
  text = expand_macro(text);
  std::string_view parts[5];
  int count = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos >= text.size()) break;
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (count < 5) parts[count] = text.substr(pos, end - pos);
    ++count;
    pos = end;
  }
  if (count != 5) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), "
                            "got {}",
                            count));
  }
  CronSchedule cron;
  std::bitset<64> bits[5];
  bool star[5] = {};
  for (int i = 0; i < 5; ++i) {
    auto r = parse_field(kFields[i], parts[i], bits[i]);
    if (!r) return std::unexpected(r.error());
    star[i] = *r;
  }
  if (bits[4][7]) bits[4].set(0);  // 7 is Sunday
  cron.minutes = narrow<60>(bits[0]);
  cron.hours = narrow<24>(bits[1]);
  cron.days_of_month = narrow<32>(bits[2]);
  cron.months = narrow<13>(bits[3]);
  cron.days_of_week = narrow<7>(bits[4]);
  cron.dom_restricted = !star[2];
  cron.dow_restricted = !star[4];
  return cron;
}

Result<std::shared_ptr<const TimeZoneRef>> resolve_time_zone(std::string_view name) {
  if (name == "UTC") return std::make_shared<const TimeZoneRef>();
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Load the zone's rules now (config load) rather than inside the first decision.
    (void)zone->get_info(std::chrono::time_point_cast<std::chrono::seconds>(
        date::sys_days(date::year(2000) / 1 / 1)));
    return std::make_shared<const TimeZoneRef>(TimeZoneRef{zone});
  } catch (const std::exception&) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("unknown time zone '{}' (use an IANA name such as Europe/Berlin or "
                            "America/New_York, or UTC)",
                            name));
  }
}

std::optional<TimePoint> previous_fire(const CronSchedule& cron, const TimeZoneRef& zone,
                                       TimePoint now, Duration lookback) {
  if (lookback.count() < 0) return std::nullopt;
  const TimePoint lo = now - lookback;
  TimePoint t = now;
  while (t >= lo) {
    Interval iv = interval_at(zone, t);
    const TimePoint from = std::max(iv.begin, lo);
    const LocalMin local_hi = floor_min(to_local(t, iv.offset));
    // Fast path: far enough after the interval's begin, nothing depends on the previous offset.
    if (!iv.prev_known) {
      const LocalMin safe_lo =
          ceil_min(to_local(std::max(from, iv.begin + kMaxOffsetChange), iv.offset));
      if (safe_lo <= local_hi) {
        if (auto m = latest_match(cron, safe_lo, local_hi)) return to_utc(*m, iv.offset);
      }
      know_prev(zone, iv);
    }
    const LocalMin local_lo =
        std::max(ceil_min(to_local(from, iv.offset)), ceil_min(first_new_local(cron, iv)));
    if (local_lo <= local_hi) {
      if (auto m = latest_match(cron, local_lo, local_hi)) return to_utc(*m, iv.offset);
    }
    if (iv.begin >= lo && gap_fire(cron, iv)) return iv.begin;
    if (iv.begin <= lo) break;
    t = iv.begin - Duration(1);
  }
  return std::nullopt;
}

std::optional<TimePoint> next_fire(const CronSchedule& cron, const TimeZoneRef& zone,
                                   TimePoint after, Duration horizon) {
  if (horizon.count() <= 0) return std::nullopt;
  const TimePoint lo = after + Duration(1);
  const TimePoint hi = after + horizon;
  TimePoint t = lo;
  std::optional<Duration> carried_prev;  // offset of the interval just left
  while (t <= hi) {
    Interval iv = interval_at(zone, t);
    if (!iv.prev_known && carried_prev) {
      iv.prev_offset = *carried_prev;
      iv.prev_known = true;
    }
    // The previous offset matters only within kMaxOffsetChange of the interval's begin.
    if (!iv.prev_known && t - iv.begin < kMaxOffsetChange) know_prev(zone, iv);
    if (iv.prev_known && iv.begin >= lo && gap_fire(cron, iv)) return iv.begin;
    LocalMin local_lo = ceil_min(to_local(t, iv.offset));
    if (iv.prev_known) local_lo = std::max(local_lo, ceil_min(first_new_local(cron, iv)));
    const LocalMin local_hi = floor_min(to_local(std::min(iv.end - Duration(1), hi), iv.offset));
    if (local_lo <= local_hi) {
      if (auto m = earliest_match(cron, local_lo, local_hi)) return to_utc(*m, iv.offset);
    }
    if (iv.end > hi) break;
    t = iv.end;
    carried_prev = iv.offset;
  }
  return std::nullopt;
}

}  // namespace tide
