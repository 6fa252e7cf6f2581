// The only place that reads wall time. Everything that needs "now" takes a Clock (live code) or a
// TimePoint (pure code), so tests and the simulator control time completely.
#pragma once

#include <atomic>

#include "core/time.hpp"

namespace tide {

class Clock {
 public:
  virtual ~Clock() = default;
  // Current time. Must be monotone non-decreasing for a given clock instance.
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// A clock that only moves when told to: for tests and the simulator.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(now_.load())); }
  void advance(Duration d) { now_ += d.count(); }
  void set(TimePoint t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<long long> now_;
};

}  // namespace tide
