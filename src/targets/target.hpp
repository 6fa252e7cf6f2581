// A Target is the thing tide scales (DESIGN sections 2 and 7): it reports its capacity and the
// state of each instance, and applies a new capacity. Concrete targets live in src/targets/<type>/
// and are created by the factory in their TargetType entry (registry.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/observation.hpp"

namespace tide {

class TargetStateStore;  // state.hpp: per-group key/value a target may persist (e.g. its pids)

struct InstanceStatus {
  std::string id;       // stable id (pid, instance id)
  std::string address;  // host:port where the instance serves and exposes metrics, if any
  InstanceState state = InstanceState::kWarming;  // ready, warming (booting/not yet ready), missing
  std::string detail;                             // e.g. "restarted after exit 137"
};

struct TargetStatus {
  int desired = 0;  // the capacity the target was last asked for (HPA scale.spec.replicas)
  std::vector<InstanceStatus> instances;
  // Instances that exited without being asked to (crashes, kills by others, readiness timeouts)
  // since the target object was created: a counter for the engine's /metrics. 0 for targets that
  // cannot tell.
  long long unexpected_exits = 0;
  int ready() const;
  int warming() const;
};

struct ScaleRequest {
  int desired = 0;
  std::string reason;         // the decision's one-line explanation, for the target's own logs
  long long decision_id = 0;  // the recorded decision this applies; targets may use it to be
                              // idempotent across restarts
  // The bounds an active scheduled policy sets (its `min`/`max`), when they differ from the
  // group's; nullopt otherwise. Targets with bounds of their own (aws-asg) write them along with
  // the capacity; the others ignore them (tide enforces them through `desired` anyway).
  std::optional<int> min, max;
};

class Target {
 public:
  virtual ~Target() = default;
  // Current capacity and instance states. Must return within the target's timeout; never throws.
  virtual Result<TargetStatus> status() = 0;
  // Sets the capacity to `request.desired` (an absolute value, so applying the same request
  // twice is harmless). Returns once the change is accepted, not when instances are ready.
  virtual Result<void> scale(const ScaleRequest& request) = 0;
  // Periodic housekeeping between evaluations (restart crashed processes, poll transitions).
  // Default: nothing.
  virtual void maintain() {}
};

}  // namespace tide
