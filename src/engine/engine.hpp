// The live loop of `tide run` (DESIGN sections 1, 3 and 4): evaluates every group on its own
// interval against real sources and targets, records every decision before acting on it, and
// offers the running state to the HTTP API through EngineControl.
//
// Threading. One scheduler thread knows every group's next due time and hands due groups to an
// elastic worker pool (pool.hpp). A group is never dispatched while its previous job still runs,
// so its evaluations never overlap and its history is touched by one thread at a time. The pool
// keeps `core_workers` threads and grows (up to one thread per group) only when a job waited
// longer than `stall`, i.e. when slow sources or targets hold every worker; the extra threads
// exit after `worker_idle`. An idle engine with 100 groups therefore runs 1 + core_workers
// threads, and a slow group delays others by at most `stall` (100 ms). Every source read gets a
// deadline (the group's interval, 1 s to 30 s); targets enforce their own call timeouts
// (target.hpp); calls that overrun are logged.
//
// One evaluation (DESIGN section 3): maintain() and status() of the target -> reconcile any
// decision a previous run left "pending" -> read each policy's source with the group's instance
// endpoints (observe.hpp maps samples to readings; a failed read is "no data" for that policy)
// -> decide() -> pause / manual override -> commit history and decision to the state store
// (outcome "pending" when it will act) -> target.scale() with bounded exponential backoff
// (absolute capacity, decision id passed; before each retry the target's status is checked so a
// call that took effect despite an error is not repeated) -> outcome applied / failed: why.
// A failed status() makes no decision (the error is recorded in the group's view and metrics).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "engine/control.hpp"
#include "engine/log.hpp"
#include "engine/metrics.hpp"
#include "engine/pool.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"
#include "state/state.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct RetryPolicy {
  int attempts = 4;  // target.scale() calls at most, the first included
  Duration initial_backoff = std::chrono::milliseconds(500);
  Duration max_backoff = std::chrono::seconds(8);
  double multiplier = 2;
};

struct EngineOptions {
  const Clock* clock = nullptr;             // default: the system clock
  Logger* logger = nullptr;                 // default: logfmt on stderr, level from the config
  const SourceRegistry* sources = nullptr;  // default: builtin_sources()
  const TargetRegistry* targets = nullptr;  // default: builtin_targets()
  int core_workers = 2;
  int max_workers = 0;  // 0: one per group (at least core_workers, at most 256)
  Duration stall = std::chrono::milliseconds(100);
  Duration worker_idle = std::chrono::seconds(30);
  RetryPolicy retry;
  Duration maintain_every = std::chrono::seconds(5);  // target.maintain() at least this often
  Duration min_read_timeout = std::chrono::seconds(1);
  Duration max_read_timeout = std::chrono::seconds(30);
  int decision_log_keep = 10000;  // decisions kept per group (older ones pruned)
  int prune_every = 200;          // commits between prunes
  // Waits between scale retries; returns false when the engine is stopping (the remaining
  // attempts are skipped). Default: a real wait that stop() interrupts. Tests record instead.
  std::function<bool(Duration)> backoff_wait;
};

class Engine final : public EngineControl {
 public:
  // Builds every source a policy uses (one per SourceSpec, shared by its groups) and one target
  // per group through the registries' factories, prepares every policy's query, and loads each
  // group's history, flags and last decisions from `store`. Errors (an unknown or unimplemented
  // type, a query the source rejects, an unreadable store) name the group, policy or source.
  static Result<std::unique_ptr<Engine>> create(const Config& config, StateStore& store,
                                                EngineOptions options = {});
  ~Engine() override;

  // Starts the scheduler thread. Groups are first evaluated right away.
  void start();
  // Stops scheduling, lets evaluations in flight finish (scale retries are cut short), joins
  // every thread. Idempotent; the destructor calls it.
  void stop();

  // Swaps in a new config: groups that stay keep their history, flags, target object (when the
  // target's settings are unchanged; a local process pool is not restarted) and schedule; new
  // groups load their state from the store; removed groups stop. Sources with unchanged settings
  // are kept. On any error nothing changes and the error says why.
  Result<void> reload(const Config& config);

  // One scheduling pass, what the scheduler thread runs: dispatches every due group that is not
  // in flight and returns the earliest next due time. Public for tests with a ManualClock.
  TimePoint run_due();
  // Blocks until no group job is queued or running.
  void wait_idle();
  // Wakes the scheduler thread (after a ManualClock moved, or a flag changed).
  void wake();

  // Evaluates one group now on the calling thread (tests; a future `tide run --once`). Returns
  // the recorded decision, or nullopt when none was made (status failed). kNotFound for an
  // unknown group, kUnavailable when the group's job is running.
  Result<std::optional<DecisionRecord>> evaluate_now(std::string_view group);

  // EngineControl.
  std::vector<GroupView> groups() override;
  std::optional<GroupView> group(std::string_view name) override;
  Result<std::vector<DecisionRecord>> decisions(std::string_view name, int limit,
                                                std::optional<long long> before) override;
  Result<std::optional<DecisionRecord>> decision(std::string_view name, long long id) override;
  Result<void> pause(std::string_view name) override;
  Result<void> resume(std::string_view name) override;
  Result<void> set_capacity(std::string_view name, int capacity, TimePoint until) override;
  std::string metrics_text() override;
  bool healthy() override;

  EngineMetrics& metrics() { return metrics_; }
  int worker_threads() const { return pool_->threads(); }

  struct Group;
  struct Plan;
  struct SourceEntry;

 private:
  Engine(StateStore& store, EngineOptions options);

  struct Built;
  Result<Built> build(const Config& config);
  Result<void> load_state(Group& group, const Plan& plan);
  std::shared_ptr<Group> find(std::string_view name) const;

  void scheduler_loop();
  void run_job(const std::shared_ptr<Group>& group, bool evaluate);
  std::optional<DecisionRecord> evaluate(Group& group, const Plan& plan);
  void update_forecasts(Group& group, const Plan& plan, TimePoint now);
  void reconcile_pending(Group& group, const TargetStatus& status);
  Result<void> scale_with_retry(Group& group, const Plan& plan, const ScaleRequest& request);
  Result<void> update_flags(std::string_view name,
                            const std::function<Result<void>(Group&, GroupFlags&)>& change,
                            bool evaluate_soon);
  GroupView view_of(const Group& group) const;

  StateStore& store_;
  EngineOptions options_;
  std::unique_ptr<Clock> own_clock_;
  std::unique_ptr<Logger> own_logger_;
  const Clock* clock_ = nullptr;
  Logger* log_ = nullptr;
  EngineMetrics metrics_;
  std::unique_ptr<WorkerPool> pool_;

  mutable std::mutex mu_;  // guards groups_, sources_, the scheduler flags
  std::vector<std::shared_ptr<Group>> groups_;
  std::map<std::string, std::shared_ptr<SourceEntry>, std::less<>> sources_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread scheduler_;
  std::mutex reload_mu_;  // one reload at a time
};

}  // namespace tide
