#include "policy/cron.hpp"

#include <gtest/gtest.h>

#include <date/date.h>

#include <string>
#include <vector>

namespace tide {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// A UTC instant.
TimePoint utc(int y, unsigned mo, unsigned d, int h, int mi) {
  return TimePoint(date::sys_days(date::year(y) / mo / d)) + hours(h) + minutes(mi);
}

std::string bits(auto set, int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) {
    if (set[static_cast<std::size_t>(i)]) out += (out.empty() ? "" : ",") + std::to_string(i);
  }
  return out;
}

// ---- parsing -----------------------------------------------------------------------------------
struct ParseCase {
  const char* name;
  const char* text;
  const char* minutes;
  const char* hours;
  const char* doms;
  const char* months;
  const char* dows;
  bool dom_restricted;
  bool dow_restricted;
};

class ParseCronTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseCronTest, Parses) {
  const ParseCase& c = GetParam();
  auto cron = parse_cron(c.text);
  ASSERT_TRUE(cron.has_value()) << cron.error().message;
  EXPECT_EQ(bits(cron->minutes, 0, 59), c.minutes);
  EXPECT_EQ(bits(cron->hours, 0, 23), c.hours);
  EXPECT_EQ(bits(cron->days_of_month, 1, 31), c.doms);
  EXPECT_EQ(bits(cron->months, 1, 12), c.months);
  EXPECT_EQ(bits(cron->days_of_week, 0, 6), c.dows);
  EXPECT_EQ(cron->dom_restricted, c.dom_restricted);
  EXPECT_EQ(cron->dow_restricted, c.dow_restricted);
}

constexpr const char* kAllHours = "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23";
constexpr const char* kAllDoms =
    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31";
constexpr const char* kAllMonths = "1,2,3,4,5,6,7,8,9,10,11,12";
constexpr const char* kAllDows = "0,1,2,3,4,5,6";

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseCronTest,
    ::testing::Values(
        ParseCase{"weekdays_at_8", "0 8 * * MON-FRI", "0", "8", kAllDoms, kAllMonths, "1,2,3,4,5",
                  false, true},
        ParseCase{"every_15_minutes", "*/15 * * * *", "0,15,30,45", kAllHours, kAllDoms, kAllMonths,
                  kAllDows, false, false},
        ParseCase{"list_and_range_step", "5-10/2,59 0 1,15 * *", "5,7,9,59", "0", "1,15",
                  kAllMonths, kAllDows, true, false},
        ParseCase{"start_slash_step", "10/20 * * * *", "10,30,50", kAllHours, kAllDoms, kAllMonths,
                  kAllDows, false, false},
        ParseCase{"sunday_is_7", "0 0 * * 7", "0", "0", kAllDoms, kAllMonths, "0", false, true},
        ParseCase{"range_through_7", "0 0 * * 5-7", "0", "0", kAllDoms, kAllMonths, "0,5,6", false,
                  true},
        ParseCase{"names_any_case", "0 0 * jan,Mar-may sun", "0", "0", kAllDoms, "1,3,4,5", "0",
                  false, true},
        // vixie-cron: a day field starting with '*' counts as unrestricted.
        ParseCase{"star_step_day_unrestricted", "0 0 */10 * MON", "0", "0", "1,11,21,31",
                  kAllMonths, "1", false, true},
        ParseCase{"tabs_and_extra_spaces", "  0\t12  * *   * ", "0", "12", kAllDoms, kAllMonths,
                  kAllDows, false, false},
        ParseCase{"macro_daily", "@daily", "0", "0", kAllDoms, kAllMonths, kAllDows, false, false},
        ParseCase{"macro_weekly", "@weekly", "0", "0", kAllDoms, kAllMonths, "0", false, true}),
    [](const auto& info) { return std::string(info.param.name); });

struct ErrorCase {
  const char* name;
  const char* text;
  const char* message;
};

class ParseCronErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseCronErrorTest, NamesTheField) {
  auto cron = parse_cron(GetParam().text);
  ASSERT_FALSE(cron.has_value());
  EXPECT_EQ(cron.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(cron.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseCronErrorTest,
    ::testing::Values(
        ErrorCase{"minute_range", "60 * * * *", "minute: 60 is out of range 0-59"},
        ErrorCase{"hour_range", "0 25 * * *", "hour: 25 is out of range 0-23"},
        ErrorCase{"dom_zero", "0 0 0 * *", "day-of-month: 0 is out of range 1-31"},
        ErrorCase{"month_range", "0 0 * 13 *", "month: 13 is out of range 1-12"},
        ErrorCase{"dow_range", "0 0 * * 8", "day-of-week: 8 is out of range 0-7"},
        ErrorCase{"month_name", "0 0 * FOO *", "month: unknown name 'FOO' (use 1-12 or JAN..DEC)"},
        ErrorCase{"not_a_number", "x 0 * * *", "minute: 'x' is not a number"},
        ErrorCase{"trailing_garbage", "5x 0 * * *", "minute: '5x' is not a number"},
        ErrorCase{"reversed_range", "0 0 * * FRI-MON", "day-of-week: range FRI-MON is reversed"},
        ErrorCase{"zero_step", "*/0 * * * *", "minute: step '0' must be a positive number"},
        ErrorCase{"empty_step", "0 */ * * *", "hour: step '' must be a positive number"},
        ErrorCase{"empty_list_item", "1,,2 * * * *", "minute: empty list item in '1,,2'"},
        ErrorCase{"missing_range_end", "0 1- * * *", "hour: missing value"},
        ErrorCase{"too_few_fields", "0 8 *",
                  "expected 5 fields (minute hour day-of-month month day-of-week), got 3"},
        ErrorCase{"too_many_fields", "0 8 * * * 2026",
                  "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
        ErrorCase{"empty", "",
                  "expected 5 fields (minute hour day-of-month month day-of-week), got 0"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ResolveTimeZone, KnownAndUnknown) {
  EXPECT_TRUE(resolve_time_zone("UTC").has_value());
  EXPECT_TRUE(resolve_time_zone("Europe/Berlin").has_value());
  auto bad = resolve_time_zone("Mars/Olympus_Mons");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("unknown time zone 'Mars/Olympus_Mons'"), std::string::npos);
}

// ---- fires -------------------------------------------------------------------------------------
enum class Dir { kPrevious, kNext };

struct FireCase {
  const char* name;
  const char* cron;
  const char* zone;
  Dir dir;
  TimePoint at;
  Duration window;  // lookback or horizon
  std::optional<TimePoint> want;
};

class FireTest : public ::testing::TestWithParam<FireCase> {};

TEST_P(FireTest, Finds) {
  const FireCase& c = GetParam();
  auto cron = parse_cron(c.cron);
  ASSERT_TRUE(cron.has_value()) << cron.error().message;
  auto zone = resolve_time_zone(c.zone);
  ASSERT_TRUE(zone.has_value()) << zone.error().message;
  std::optional<TimePoint> got = c.dir == Dir::kPrevious
                                     ? previous_fire(*cron, **zone, c.at, c.window)
                                     : next_fire(*cron, **zone, c.at, c.window);
  ASSERT_EQ(got.has_value(), c.want.has_value()) << (got ? date::format("%F %T", *got) : "none");
  if (got) {
    EXPECT_EQ(date::format("%F %T", *got), date::format("%F %T", *c.want));
  }
}

constexpr Duration kDay = hours(24);
constexpr Duration kYear = hours(24 * 366);
constexpr auto kPrev = Dir::kPrevious;
constexpr auto kNext = Dir::kNext;

// Europe/Berlin 2026: summer time starts 2026-03-29 01:00Z (02:00 CET -> 03:00 CEST) and ends
// 2026-10-25 01:00Z (03:00 CEST -> 02:00 CET). 2026-11-25 is a Wednesday.
INSTANTIATE_TEST_SUITE_P(
    Utc, FireTest,
    ::testing::Values(
        FireCase{"prev_same_day", "0 8 * * MON-FRI", "UTC", kPrev, utc(2026, 11, 25, 12, 0), kDay,
                 utc(2026, 11, 25, 8, 0)},
        FireCase{"prev_at_fire_minute_included", "0 8 * * MON-FRI", "UTC", kPrev,
                 utc(2026, 11, 25, 8, 0), kDay, utc(2026, 11, 25, 8, 0)},
        FireCase{"prev_skips_weekend", "0 8 * * MON-FRI", "UTC", kPrev, utc(2026, 11, 29, 12, 0),
                 7 * kDay, utc(2026, 11, 27, 8, 0)},
        FireCase{"prev_outside_lookback", "0 8 * * MON-FRI", "UTC", kPrev, utc(2026, 11, 29, 12, 0),
                 kDay, std::nullopt},
        FireCase{"prev_lookback_boundary_inclusive", "0 8 * * *", "UTC", kPrev,
                 utc(2026, 11, 25, 9, 0), hours(1), utc(2026, 11, 25, 8, 0)},
        FireCase{"next_strictly_after", "0 8 * * MON-FRI", "UTC", kNext, utc(2026, 11, 25, 8, 0),
                 7 * kDay, utc(2026, 11, 26, 8, 0)},
        FireCase{"next_over_weekend", "0 8 * * MON-FRI", "UTC", kNext, utc(2026, 11, 27, 9, 0),
                 7 * kDay, utc(2026, 11, 30, 8, 0)},
        FireCase{"next_beyond_horizon", "0 8 * * MON-FRI", "UTC", kNext, utc(2026, 11, 27, 9, 0),
                 kDay, std::nullopt},
        // vixie rule: both day fields restricted -> either matches (13th OR Friday).
        FireCase{"dom_or_dow", "0 0 13 * FRI", "UTC", kNext, utc(2026, 11, 1, 0, 0), 31 * kDay,
                 utc(2026, 11, 6, 0, 0)},
        FireCase{"dom_or_dow_13th", "0 0 13 * FRI", "UTC", kNext, utc(2026, 11, 7, 0, 0), 31 * kDay,
                 utc(2026, 11, 13, 0, 0)},
        // A '*/10' day field counts as unrestricted, so it is ANDed with Monday: the first
        // Monday on day 1, 11, 21 or 31 after 2026-11-01 is 2026-12-21.
        FireCase{"star_step_and_dow", "0 0 */10 * MON", "UTC", kNext, utc(2026, 11, 1, 0, 0), kYear,
                 utc(2026, 12, 21, 0, 0)},
        FireCase{"leap_day_previous", "0 0 29 2 *", "UTC", kPrev, utc(2027, 3, 1, 0, 0), 3 * kYear,
                 utc(2024, 2, 29, 0, 0)},
        FireCase{"leap_day_next", "0 0 29 2 *", "UTC", kNext, utc(2024, 3, 1, 0, 0), 5 * kYear,
                 utc(2028, 2, 29, 0, 0)},
        // Never matches: must return quickly even over 50 years (skips by month and day).
        FireCase{"never_matches", "0 0 30 2 *", "UTC", kPrev, utc(2026, 11, 25, 0, 0), 50 * kYear,
                 std::nullopt},
        FireCase{"every_minute_prev_floors", "* * * * *", "UTC", kPrev,
                 utc(2026, 11, 25, 8, 0) + std::chrono::seconds(59), kDay,
                 utc(2026, 11, 25, 8, 0)}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Berlin, FireTest,
    ::testing::Values(
        // Winter: 08:00 CET = 07:00Z; summer: 08:00 CEST = 06:00Z.
        FireCase{"winter_offset", "0 8 * * *", "Europe/Berlin", kPrev, utc(2026, 11, 25, 12, 0),
                 kDay, utc(2026, 11, 25, 7, 0)},
        FireCase{"summer_offset", "0 8 * * *", "Europe/Berlin", kPrev, utc(2026, 3, 30, 12, 0),
                 kDay, utc(2026, 3, 30, 6, 0)},
        FireCase{"prev_across_spring_change", "0 8 * * *", "Europe/Berlin", kPrev,
                 utc(2026, 3, 29, 5, 0), kDay, utc(2026, 3, 28, 7, 0)},
        // Gap: 02:30 does not exist on 2026-03-29; a fixed-time schedule fires at the jump.
        FireCase{"gap_fixed_next", "30 2 * * *", "Europe/Berlin", kNext, utc(2026, 3, 28, 12, 0),
                 kDay, utc(2026, 3, 29, 1, 0)},
        FireCase{"gap_fixed_prev", "30 2 * * *", "Europe/Berlin", kPrev, utc(2026, 3, 29, 2, 0),
                 kDay, utc(2026, 3, 29, 1, 0)},
        FireCase{"gap_fixed_day_before", "30 2 * * *", "Europe/Berlin", kPrev,
                 utc(2026, 3, 29, 0, 59), kDay, utc(2026, 3, 28, 1, 30)},
        FireCase{"gap_fixed_day_after", "30 2 * * *", "Europe/Berlin", kNext,
                 utc(2026, 3, 29, 1, 0), kDay, utc(2026, 3, 30, 0, 30)},
        // Gap, wildcard hour: the missing 02:30 is skipped, next is 03:30 CEST = 01:30Z.
        FireCase{"gap_wildcard_next", "30 * * * *", "Europe/Berlin", kNext, utc(2026, 3, 29, 0, 45),
                 kDay, utc(2026, 3, 29, 1, 30)},
        FireCase{"gap_wildcard_prev", "30 * * * *", "Europe/Berlin", kPrev, utc(2026, 3, 29, 1, 29),
                 kDay, utc(2026, 3, 29, 0, 30)},
        // Overlap: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET). Fixed-time: first only.
        FireCase{"overlap_fixed_prev", "30 2 * * *", "Europe/Berlin", kPrev,
                 utc(2026, 10, 25, 2, 0), kDay, utc(2026, 10, 25, 0, 30)},
        FireCase{"overlap_fixed_next", "30 2 * * *", "Europe/Berlin", kNext,
                 utc(2026, 10, 25, 0, 30), 2 * kDay, utc(2026, 10, 26, 1, 30)},
        FireCase{"overlap_fixed_first", "30 2 * * *", "Europe/Berlin", kNext,
                 utc(2026, 10, 24, 12, 0), kDay, utc(2026, 10, 25, 0, 30)},
        // Wildcard hour: both passes fire.
        FireCase{"overlap_wildcard_next", "30 * * * *", "Europe/Berlin", kNext,
                 utc(2026, 10, 25, 0, 30), kDay, utc(2026, 10, 25, 1, 30)},
        FireCase{"overlap_wildcard_prev", "30 * * * *", "Europe/Berlin", kPrev,
                 utc(2026, 10, 25, 1, 45), kDay, utc(2026, 10, 25, 1, 30)},
        FireCase{"never_matches_with_dst", "0 0 30 2 *", "Europe/Berlin", kPrev,
                 utc(2026, 11, 25, 0, 0), 50 * kYear, std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide

namespace tide {
namespace {

using LocalMinutes = date::local_time<minutes>;

// Property check of the skipping search against a plain minute-by-minute scan, in zones and
// seasons without offset changes (the DST rules are covered by the table above).
bool brute_matches(const CronSchedule& c, LocalMinutes m) {
  const date::local_days day = date::floor<date::days>(m);
  const date::year_month_day ymd(day);
  const auto tod = m - day;
  const int h = static_cast<int>(tod.count() / 60), mi = static_cast<int>(tod.count() % 60);
  const bool dom = c.days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = c.days_of_week[date::weekday(day).c_encoding()];
  const bool day_ok = c.dom_restricted && c.dow_restricted ? dom || dow : dom && dow;
  return c.minutes[mi] && c.hours[h] && c.months[static_cast<unsigned>(ymd.month())] && day_ok;
}

TEST(CronSearch, AgreesWithMinuteScan) {
  const char* crons[] = {"*/7 * * * *",   "13 2,14 * * *", "0 0 1 * *",
                         "59 23 * * SUN", "5 4 13 * FRI",  "0 9-17/2 * JAN,JUL MON-FRI",
                         "30 6 29 2 *",   "* * * * *",     "0 12 31 * *"};
  struct Window {
    const char* zone;
    TimePoint now;
    Duration offset;  // fixed offset in force during the window
  };
  const Window windows[] = {
      {"UTC", utc(2026, 6, 10, 13, 17), Duration{0}},
      {"Asia/Kolkata", utc(2026, 1, 31, 20, 3), hours(5) + minutes(30)},
      {"Europe/Berlin", utc(2026, 7, 20, 1, 59), hours(2)},
  };
  for (const char* text : crons) {
    const CronSchedule cron = *parse_cron(text);
    for (const Window& w : windows) {
      const std::shared_ptr<const TimeZoneRef> zone_ref = *resolve_time_zone(w.zone);
      const TimeZoneRef& zone = *zone_ref;
      for (Duration window : {hours(3), hours(50), hours(24 * 20)}) {
        std::optional<TimePoint> want_prev, want_next;
        const auto local_now =
            LocalMinutes(date::floor<minutes>(w.now.time_since_epoch() + w.offset));
        for (auto m = local_now; m >= local_now - date::floor<minutes>(window); m -= minutes(1)) {
          if (brute_matches(cron, m)) {
            want_prev = TimePoint(m.time_since_epoch() - w.offset);
            break;
          }
        }
        for (auto m = local_now + minutes(1); m <= local_now + date::floor<minutes>(window);
             m += minutes(1)) {
          if (brute_matches(cron, m)) {
            want_next = TimePoint(m.time_since_epoch() - w.offset);
            break;
          }
        }
        EXPECT_EQ(previous_fire(cron, zone, w.now, window), want_prev) << text << " " << w.zone;
        EXPECT_EQ(next_fire(cron, zone, w.now, window), want_next) << text << " " << w.zone;
      }
    }
  }
}

}  // namespace
}  // namespace tide
