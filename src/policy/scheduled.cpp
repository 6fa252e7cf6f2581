// Scheduled capacity (AWS scheduled actions, KEDA cron scaler): a start cron plus either an end
// cron or a duration, evaluated in the schedule's time zone (see cron.cpp for DST handling).
#include <chrono>

#include "policy/cron.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

// How far back an `end`-based schedule looks for its last start: 8 years, so that even a start
// on 29 February is found across the 2100-style gaps of leap years. Cheap: the cron search skips
// non-matching months and days, and the usual start is found within a day or a week.
constexpr Duration kStartLookback = std::chrono::hours(24 * 366 * 8);

}  // namespace

// Active when the last start fire is later than the last end fire (`end`), or within `duration`
// of the last start fire. A start and an end in the same minute leave the schedule inactive.
// Config requires exactly one of `end` and `duration`; a spec with neither (or without a parsed
// cron or zone) is never active.
bool schedule_active(const ScheduledSpec& spec, TimePoint now) {
  if (!spec.start || !spec.zone) return false;
  if (!spec.end && !spec.duration) return false;
  const Duration lookback = spec.end ? kStartLookback : *spec.duration;
  const std::optional<TimePoint> start = previous_fire(*spec.start, *spec.zone, now, lookback);
  if (!start) return false;
  if (spec.duration && now - *start < *spec.duration) return true;
  if (spec.end) {
    // Any end fire in [start, now] closes the window.
    return !previous_fire(*spec.end, *spec.zone, now, now - *start).has_value();
  }
  return false;
}

// Active with `capacity` -> kValue capacity: a floor, since the largest proposal wins.
// Active with only min/max -> kInactive (it proposes no capacity, so it must not block or raise
// anything), but with reason kScheduleActive and a/b/c = capacity/min/max (-1 when unset). The
// bounds stage applies min/max of active schedules itself: decide()'s effective_bounds() calls
// schedule_active(); it could equally read them from this proposal.
// Inactive -> kInactive (kScheduleInactive).
Proposal propose_scheduled(const ScheduledSpec& spec, TimePoint now) {
  Proposal p;
  p.status = ProposalStatus::kInactive;
  if (!schedule_active(spec, now)) {
    p.reason = Reason::kScheduleInactive;
    return p;
  }
  p.reason = Reason::kScheduleActive;
  p.a = spec.capacity ? *spec.capacity : -1;
  p.b = spec.min ? *spec.min : -1;
  p.c = spec.max ? *spec.max : -1;
  if (spec.capacity) {
    p.status = ProposalStatus::kValue;
    p.capacity = *spec.capacity;
  }
  return p;
}

}  // namespace tide
