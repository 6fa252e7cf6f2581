// The state store (DESIGN section 4): per group, the history decide() needs (windows, events,
// cooldowns, KPA state), the decision log with each decision's full account, pause/override
// flags, and a small key/value space for targets (e.g. the pids of local processes). SQLite in
// WAL mode; every commit is one transaction, so a crash loses nothing that was committed and
// never leaves a decision without its history.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/history.hpp"

namespace tide {

struct DecisionRecord {
  long long id = 0;  // assigned by commit(), increasing
  std::string group;
  TimePoint at;
  int current = 0;
  int desired = 0;
  std::string bound_by;    // stage name or ""
  std::string outcome;     // "unchanged", "pending", "applied", "failed: ...", "dry-run", "paused"
  nlohmann::json account;  // decision_to_json() of the decision
};

struct GroupFlags {
  bool paused = false;
  std::optional<int> override_capacity;  // manual capacity (tide set), within bounds
  std::optional<TimePoint> override_until;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The group's history as of its last commit; an empty, uninitialized history when none.
  virtual Result<GroupHistory> load_history(std::string_view group) = 0;

  // In one transaction: appends `record` (its id is assigned and returned) and replaces the
  // group's history with `history`.
  virtual Result<long long> commit(std::string_view group, const GroupHistory& history,
                                   const DecisionRecord& record) = 0;

  // Updates a recorded decision's outcome (pending -> applied / failed: why).
  virtual Result<void> set_outcome(long long decision_id, std::string_view outcome) = 0;

  // Newest first, at most `limit`, only ids below `before` when given.
  virtual Result<std::vector<DecisionRecord>> decisions(std::string_view group, int limit,
                                                        std::optional<long long> before = {}) = 0;
  virtual Result<std::optional<DecisionRecord>> decision(long long id) = 0;

  virtual Result<GroupFlags> flags(std::string_view group) = 0;
  virtual Result<void> set_flags(std::string_view group, const GroupFlags& flags) = 0;

  // Key/value space of one group's target (TargetStateStore below wraps it).
  virtual Result<std::optional<std::string>> get(std::string_view group, std::string_view key) = 0;
  virtual Result<void> put(std::string_view group, std::string_view key,
                           std::string_view value) = 0;

  // Removes decisions older than `keep` per group (the log is bounded).
  virtual Result<void> prune(std::string_view group, int keep) = 0;

  // Metric history of predictive policies (DESIGN section 4), so that a restart keeps the history
  // a forecast is fitted on: one point per bucket of the policy's resolution, in a named series
  // per policy. Writing a point at a time the series already has replaces it.
  virtual Result<void> put_metric_points(std::string_view group, std::string_view series,
                                         std::span<const MetricPoint> points) = 0;
  // The series' points at or after `since`, oldest first.
  virtual Result<std::vector<MetricPoint>> metric_points(std::string_view group,
                                                         std::string_view series,
                                                         TimePoint since) = 0;
  // Removes the series' points before `before`.
  virtual Result<void> prune_metric_points(std::string_view group, std::string_view series,
                                           TimePoint before) = 0;
};

// Opens (creating if needed) a SQLite store; ":memory:" for tests. Safe for concurrent use from
// several threads (one connection guarded by a mutex, or one per thread).
Result<std::unique_ptr<StateStore>> open_state_store(const std::string& path);

// GroupHistory <-> JSON, exact (times in integer milliseconds).
nlohmann::json history_to_json(const GroupHistory& history);
Result<GroupHistory> history_from_json(const nlohmann::json& json);

// The slice of the store a target sees: its own group's key/value space.
class TargetStateStore {
 public:
  TargetStateStore(StateStore& store, std::string group)
      : store_(store), group_(std::move(group)) {}
  Result<std::optional<std::string>> get(std::string_view key) { return store_.get(group_, key); }
  Result<void> put(std::string_view key, std::string_view value) {
    return store_.put(group_, key, value);
  }

 private:
  StateStore& store_;
  std::string group_;
};

}  // namespace tide
