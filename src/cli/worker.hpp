// `tide worker`: the demo's worker process (run_worker in commands.hpp). An HTTP server on
// 127.0.0.1:PORT whose requests cost real CPU, with a fixed number of work slots so that a worker
// saturates like a real one, and its own metrics in the Prometheus text format:
//
//   GET /work?ms=N&wait_ms=W
//                    spends N ms of CPU (thread CPU time; default --work-ms, 0..10000), then
//                    holds the slot W ms more without CPU (default --wait-ms: the time a real
//                    request waits on a database), in one of --concurrency slots; waits for a
//                    free slot when all are busy; answers 503 when --queue requests already
//                    wait or the worker is shutting down.
//                    200 answer: {"ms":N,"wait_ms":W,"queued_ms":...,"wall_ms":...}
//   GET /metrics     see WorkerStats::metrics_text
//   GET /healthz     200 "ok"; 503 "starting" for --startup-ms after the start (a boot delay
//                    that a readiness check sees), 503 "draining" after SIGTERM
//
// SIGTERM/SIGINT: stops accepting work, lets in-flight requests finish (at most 1 s), exits 0.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace tide::cli {

// The worker's counters. Thread-safe; the clock is passed in so tests control it.
class WorkerStats {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10};

  WorkerStats(int concurrency, Clock::duration window, double start_unix_seconds);

  void admit() { in_flight_++; }     // a /work request was admitted (it may wait)
  void start_work() { working_++; }  // it got a slot
  void add_busy(Clock::duration d) { busy_ns_ += d.count(); }  // slot time while working
  void finish(double seconds);    // answered 200 after `seconds` (queue + work)
  void drop_admitted();           // admitted, then answered 503 (shutting down)
  void reject() { rejected_++; }  // answered 503 without admitting

  // Records the busy total at `now` (called every ~100 ms and before each utilization read).
  void sample(Clock::time_point now);
  // Share of the slots' time spent working over the window before `now`, in percent (0..100).
  double utilization_percent(Clock::time_point now);

  long long in_flight() const { return in_flight_.load(); }
  long long queued() const { return in_flight_.load() - working_.load(); }

  // The Prometheus text exposition (0.0.4). `cpu_seconds` is the process's CPU time.
  std::string metrics_text(Clock::time_point now, double cpu_seconds);

 private:
  const int concurrency_;
  const Clock::duration window_;
  const double start_unix_seconds_;
  std::atomic<long long> in_flight_{0};
  std::atomic<long long> working_{0};
  std::atomic<long long> requests_{0};
  std::atomic<long long> rejected_{0};
  std::atomic<long long> busy_ns_{0};
  std::array<std::atomic<long long>, kBuckets.size()> bucket_counts_{};
  std::atomic<long long> duration_us_sum_{0};
  std::mutex mu_;
  std::deque<std::pair<Clock::time_point, long long>> samples_;  // (time, busy_ns)
};

}  // namespace tide::cli
