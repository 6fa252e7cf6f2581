// A small elastic thread pool for the engine's group jobs. It keeps no thread while there is no
// work: `core` workers are started on demand and stay; more (up to `max`) start only when a job
// has waited longer than `stall` (everyone busy, e.g. with a slow source), and those exit again
// after `idle` without work. So a slow group delays no other group by more than `stall`, and an
// idle engine with 100 groups holds a couple of threads, not 100.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tide {

class WorkerPool {
 public:
  using SteadyClock = std::chrono::steady_clock;

  WorkerPool(int core, int max, SteadyClock::duration stall, SteadyClock::duration idle);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; starts a worker when fewer than `core` run. Ignored after shutdown().
  void submit(std::function<void()> job);

  // Starts an extra worker when the oldest queued job waited longer than `stall` (and fewer than
  // `max` exist). Returns when to check again: nullopt while nothing is queued.
  std::optional<SteadyClock::time_point> check_stall();

  // Blocks until nothing is queued or running.
  void wait_idle();

  // Stops: jobs already running finish, queued ones are dropped (drain = false) or run
  // (drain = true); every worker is joined. Idempotent.
  void shutdown(bool drain);

  int threads() const;
  int running() const;

 private:
  void spawn_locked();
  void worker_loop();
  void join_exited();

  const int core_;
  const int max_;
  const SteadyClock::duration stall_;
  const SteadyClock::duration idle_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers wait for jobs
  std::condition_variable state_cv_;  // wait_idle / shutdown wait for progress
  std::deque<std::pair<SteadyClock::time_point, std::function<void()>>> queue_;
  std::map<std::thread::id, std::thread> workers_;
  std::vector<std::thread> exited_;
  int threads_ = 0;
  int idle_threads_ = 0;
  int starting_ = 0;  // spawned, not yet in worker_loop: they will take a queued job too
  int running_ = 0;
  bool stopping_ = false;
  bool drain_ = false;
};

}  // namespace tide
