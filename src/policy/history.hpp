// A group's memory between evaluations: what decide() needs from the past (stabilization windows,
// rate-limit periods, cooldowns, KPA panic state, metric windows). decide() reads it; record()
// (decide.hpp) is the only writer. The state store persists it so restarts keep the windows.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "core/time.hpp"
#include "policy/spec.hpp"

namespace tide {

struct Recommendation {
  TimePoint at;
  int value = 0;  // the combined proposal before behavior (HPA "prenormalized desired")
};

// A change the target applied. HPA keeps one list per direction and reuses the slot of the last
// outdated event; `outdated` survives across evaluations as upstream does.
struct ScaleEvent {
  TimePoint at;
  int change = 0;  // absolute number of instances added or removed
  bool outdated = false;
};

struct MetricPoint {
  TimePoint at;
  double value = 0;
};

struct PolicyState {
  std::optional<TimePoint> last_triggered;  // simple policy cooldown
  // KPA decider state.
  std::optional<TimePoint> panic_time;
  int max_panic_pods = 0;
  bool panic_initialized = false;            // false until the first evaluation (see panic.hpp)
  std::vector<Recommendation> delay_window;  // KPA scale-down delay: desired values by time
  std::vector<MetricPoint> metric;           // recent readings (KPA stable/panic windows)
};

struct GroupHistory {
  std::vector<Recommendation> recommendations;
  std::vector<ScaleEvent> scale_up_events;
  std::vector<ScaleEvent> scale_down_events;
  std::optional<TimePoint> last_scale_out;
  std::optional<TimePoint> last_scale_in;
  int consecutive_no_data = 0;  // evaluations in a row with some policy lacking data (fallback)
  // False until the first record(). Like HPA's recordInitialRecommendation, the first evaluation
  // of a group acts as if `current` had just been recommended, so a freshly started tide does not
  // scale in (or, with an up window, out) before a window of evidence exists.
  bool initialized = false;
  std::array<PolicyState, kMaxPolicies> policies{};
};

}  // namespace tide
