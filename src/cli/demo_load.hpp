// The load side of `tide demo`: a real trace turned into a request rate per second of the demo,
// and an open-loop load generator that sends those requests to the workers tide runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace tide::cli {

// One minute of a per-minute trace; `gap` marks minutes the log does not cover (not zero load).
struct TraceMinute {
  std::string time;  // as written in the trace, e.g. "1995-07-13 09:41"
  double requests = 0;
  bool gap = false;
};

// Reads the minutes of `day` ("YYYY-MM-DD", EDT) from the NASA-HTTP per-minute CSV
// (timestamp_edt,unix_ts,requests,in_log_gap) with the simulator's trace loader, so the demo and
// `tide simulate` read the trace alike. Errors name the file, the line and what is wrong.
Result<std::vector<TraceMinute>> load_trace_day(const std::string& path, const std::string& day);

// The demo's offered load: second s of the demo replays the trace minutes
// [s * n / seconds, (s + 1) * n / seconds) and offers their mean requests per minute times
// `scale`, in requests per second. Gap minutes are left out of the mean; a second made only of
// gap minutes keeps the previous second's rate (the log is missing, the visitors were not).
std::vector<double> demo_rates(const std::vector<TraceMinute>& minutes, int seconds, double scale);

// What happened to the requests sent in one second of the demo.
struct SecondStats {
  long long sent = 0;
  long long ok = 0;               // answered 200
  long long late = 0;             // answered 200 after the SLO
  long long rejected = 0;         // 503 from a full worker, or no worker to send to
  long long errors = 0;           // connection or protocol errors after the retry
  std::vector<float> latency_ms;  // of the 200 answers
  // 200 answers that arrived during this second (whenever they were sent) and their latencies:
  // the live view's throughput, complete as soon as the second is over.
  long long completed = 0;
  std::vector<float> completed_latency_ms;
};

// Sends GET /work to the ready workers, round robin, at the rate of each second, open loop:
// requests are sent on schedule whether or not earlier ones were answered, like real visitors.
// A connection error or a 503 "shutting down" (a worker being scaled in) is retried once on the
// next worker, as a load balancer would; a 503 from a full queue counts as rejected.
class LoadGenerator {
 public:
  struct Options {
    int clients = 64;  // concurrent requests at most; a request that finds none free is rejected
    std::chrono::milliseconds slo{300};
    std::chrono::milliseconds timeout{5000};
  };
  explicit LoadGenerator(Options options);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // The workers to send to ("127.0.0.1:PORT"); called whenever the ready set changes.
  void set_workers(std::vector<std::string> addresses);
  // Sends `rate` requests per second, evenly spaced, during second `second` (blocking for that
  // second). Requests still in flight are counted to `second` when they finish.
  void run_second(int second, double rate);
  // Waits for the requests in flight (at most the timeout), stops the clients and returns the
  // statistics of every second run.
  std::vector<SecondStats> finish();
  // Statistics of one second so far (for the live view).
  SecondStats snapshot(int second);

 private:
  struct Job {
    int second;
    std::chrono::steady_clock::time_point due;
  };
  void client_loop();
  void send(const Job& job);
  std::string next_worker(std::size_t& turn);

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  int idle_clients_ = 0;
  bool stopping_ = false;
  std::vector<std::string> workers_;
  std::atomic<std::size_t> turn_{0};
  double carry_ = 0;                               // fraction of a request owed to the next second
  std::chrono::steady_clock::time_point start_{};  // when second 0 began
  std::vector<SecondStats> stats_;
  std::vector<std::thread> clients_;
};

}  // namespace tide::cli
