#include <gtest/gtest.h>

#include <date/date.h>

#include "policy/cron.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TimePoint utc(int y, unsigned mo, unsigned d, int h, int mi) {
  return TimePoint(date::sys_days(date::year(y) / mo / d)) + hours(h) + minutes(mi);
}

std::shared_ptr<const CronSchedule> cron(const char* text) {
  auto c = parse_cron(text);
  EXPECT_TRUE(c.has_value()) << text;
  return std::make_shared<const CronSchedule>(*c);
}

ScheduledSpec schedule(const char* start, const char* end, std::optional<Duration> duration,
                       const char* zone) {
  ScheduledSpec s;
  s.cron_text = start;
  s.start = cron(start);
  if (end != nullptr) s.end = cron(end);
  s.duration = duration;
  s.timezone = zone;
  s.zone = *resolve_time_zone(zone);
  return s;
}

struct ActiveCase {
  const char* name;
  ScheduledSpec spec;
  TimePoint now;
  bool want;
};

class ScheduleActiveTest : public ::testing::TestWithParam<ActiveCase> {};

TEST_P(ScheduleActiveTest, Active) {
  EXPECT_EQ(schedule_active(GetParam().spec, GetParam().now), GetParam().want);
}

// Office hours: 08:00-18:00 on weekdays. 2026-11-25 is a Wednesday; 2026-11-28 a Saturday.
const ScheduledSpec kOfficeUtc = schedule("0 8 * * MON-FRI", "0 18 * * MON-FRI", {}, "UTC");
const ScheduledSpec kOfficeBerlin =
    schedule("0 8 * * MON-FRI", "0 18 * * MON-FRI", {}, "Europe/Berlin");
const ScheduledSpec kTwoHours = schedule("0 8 * * *", nullptr, hours(2), "UTC");
// Friday 18:00 to Monday 06:00 (a weekend window spanning days).
const ScheduledSpec kWeekend = schedule("0 18 * * FRI", "0 6 * * MON", {}, "UTC");

INSTANTIATE_TEST_SUITE_P(
    Cases, ScheduleActiveTest,
    ::testing::Values(
        ActiveCase{"end_before_start_inactive", kOfficeUtc, utc(2026, 11, 25, 7, 59), false},
        ActiveCase{"end_at_start_minute_active", kOfficeUtc, utc(2026, 11, 25, 8, 0), true},
        ActiveCase{"end_midday_active", kOfficeUtc, utc(2026, 11, 25, 12, 0), true},
        ActiveCase{"end_just_before_end", kOfficeUtc, utc(2026, 11, 25, 17, 59), true},
        ActiveCase{"end_at_end_minute_inactive", kOfficeUtc, utc(2026, 11, 25, 18, 0), false},
        ActiveCase{"end_weekend_inactive", kOfficeUtc, utc(2026, 11, 28, 12, 0), false},
        // 08:00 CET = 07:00Z.
        ActiveCase{"zone_before_local_start", kOfficeBerlin, utc(2026, 11, 25, 6, 59), false},
        ActiveCase{"zone_after_local_start", kOfficeBerlin, utc(2026, 11, 25, 7, 0), true},
        ActiveCase{"zone_local_end", kOfficeBerlin, utc(2026, 11, 25, 17, 0), false},
        ActiveCase{"duration_start", kTwoHours, utc(2026, 11, 25, 8, 0), true},
        ActiveCase{"duration_inside", kTwoHours, utc(2026, 11, 25, 9, 59), true},
        ActiveCase{"duration_over", kTwoHours, utc(2026, 11, 25, 10, 0), false},
        ActiveCase{"duration_before", kTwoHours, utc(2026, 11, 25, 7, 0), false},
        ActiveCase{"weekend_saturday", kWeekend, utc(2026, 11, 28, 12, 0), true},
        ActiveCase{"weekend_monday_early", kWeekend, utc(2026, 11, 30, 5, 59), true},
        ActiveCase{"weekend_monday_after", kWeekend, utc(2026, 11, 30, 6, 0), false},
        ActiveCase{"weekend_thursday", kWeekend, utc(2026, 11, 26, 12, 0), false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ScheduleActive, IncompleteSpecIsNeverActive) {
  ScheduledSpec s = kTwoHours;
  s.zone.reset();
  EXPECT_FALSE(schedule_active(s, utc(2026, 11, 25, 9, 0)));
  s = kTwoHours;
  s.duration.reset();  // neither end nor duration
  EXPECT_FALSE(schedule_active(s, utc(2026, 11, 25, 9, 0)));
}

struct ProposeCase {
  const char* name;
  std::optional<int> capacity, min, max;
  TimePoint now;
  ProposalStatus want_status;
  Reason want_reason;
  int want_capacity;
  double want_a, want_b, want_c;
};

class ProposeScheduledTest : public ::testing::TestWithParam<ProposeCase> {};

TEST_P(ProposeScheduledTest, Proposes) {
  const ProposeCase& c = GetParam();
  ScheduledSpec s = kTwoHours;
  s.capacity = c.capacity;
  s.min = c.min;
  s.max = c.max;
  Proposal p = propose_scheduled(s, c.now);
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  EXPECT_EQ(p.capacity, c.want_capacity);
  EXPECT_DOUBLE_EQ(p.a, c.want_a);
  EXPECT_DOUBLE_EQ(p.b, c.want_b);
  EXPECT_DOUBLE_EQ(p.c, c.want_c);
}

const TimePoint kInside = utc(2026, 11, 25, 9, 0);
const TimePoint kOutside = utc(2026, 11, 25, 11, 0);

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeScheduledTest,
    ::testing::Values(ProposeCase{"capacity_active",
                                  6,
                                  {},
                                  {},
                                  kInside,
                                  ProposalStatus::kValue,
                                  Reason::kScheduleActive,
                                  6,
                                  6,
                                  -1,
                                  -1},
                      ProposeCase{"capacity_and_bounds_active", 6, 4, 20, kInside,
                                  ProposalStatus::kValue, Reason::kScheduleActive, 6, 6, 4, 20},
                      ProposeCase{"bounds_only_active_abstains",
                                  {},
                                  4,
                                  20,
                                  kInside,
                                  ProposalStatus::kInactive,
                                  Reason::kScheduleActive,
                                  0,
                                  -1,
                                  4,
                                  20},
                      ProposeCase{"inactive", 6, 4, 20, kOutside, ProposalStatus::kInactive,
                                  Reason::kScheduleInactive, 0, 0, 0, 0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide
