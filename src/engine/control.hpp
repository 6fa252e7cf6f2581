// What the running engine offers the HTTP API and the CLI: a read-only view of every group and
// the few commands that steer it. The API (src/api) depends only on this interface, so it is
// tested against a fake and the engine can change behind it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "state/state.hpp"
#include "targets/target.hpp"

namespace tide {

struct GroupView {
  std::string name;
  std::string target_type;
  int min = 0, max = 0;
  Duration interval{0};
  bool dry_run = false;
  GroupFlags flags;                    // paused, manual override
  std::optional<TargetStatus> status;  // last status read from the target
  std::optional<DecisionRecord> last;  // last recorded decision
  int consecutive_failures = 0;        // evaluations in a row with a source or target error
  std::string last_error;              // never contains credentials
  std::optional<TimePoint> next_evaluation;
};

class EngineControl {
 public:
  virtual ~EngineControl() = default;
  virtual std::vector<GroupView> groups() = 0;
  virtual std::optional<GroupView> group(std::string_view name) = 0;
  virtual Result<std::vector<DecisionRecord>> decisions(std::string_view name, int limit,
                                                        std::optional<long long> before) = 0;
  virtual Result<std::optional<DecisionRecord>> decision(std::string_view name, long long id) = 0;
  // Errors: kNotFound for an unknown group; kInvalidArgument for a capacity outside the bounds.
  virtual Result<void> pause(std::string_view name) = 0;
  virtual Result<void> resume(std::string_view name) = 0;
  // Holds the group at `capacity` until `until` (then policies decide again); persisted.
  virtual Result<void> set_capacity(std::string_view name, int capacity, TimePoint until) = 0;
  // Prometheus text exposition format (version 0.0.4) of the engine's metrics.
  virtual std::string metrics_text() = 0;
  virtual bool healthy() = 0;
};

}  // namespace tide
