#include "cli/worker.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <ostream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "cli/commands.hpp"

namespace tide::cli {

WorkerStats::WorkerStats(int concurrency, Clock::duration window, double start_unix_seconds)
    : concurrency_(std::max(1, concurrency)),
      window_(window),
      start_unix_seconds_(start_unix_seconds) {}

void WorkerStats::finish(double seconds) {
  working_--;
  in_flight_--;
  requests_++;
  duration_us_sum_ += static_cast<long long>(seconds * 1e6);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bucket_counts_[i]++;
      return;
    }
  }
}

void WorkerStats::drop_admitted() {
  in_flight_--;
  rejected_++;
}

void WorkerStats::sample(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!samples_.empty() && now < samples_.back().first) return;
  samples_.emplace_back(now, busy_ns_.load());
  // Keep one sample at or before the window's start, and nothing older.
  while (samples_.size() > 2 && samples_[1].first <= now - window_) samples_.pop_front();
}

double WorkerStats::utilization_percent(Clock::time_point now) {
  sample(now);
  std::lock_guard lock(mu_);
  const auto& [then, busy_then] = samples_.front();
  const auto& [last, busy_now] = samples_.back();
  const auto span = std::chrono::duration_cast<std::chrono::nanoseconds>(last - then).count();
  if (span <= 0) return 0;
  double u = static_cast<double>(busy_now - busy_then) /
             (static_cast<double>(span) * static_cast<double>(concurrency_));
  return std::clamp(u, 0.0, 1.0) * 100.0;
}

std::string WorkerStats::metrics_text(Clock::time_point now, double cpu_seconds) {
  const double utilization = utilization_percent(now);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  metric("tide_worker_requests_total", "counter", "/work requests answered with 200.",
         requests_.load());
  metric("tide_worker_rejected_total", "counter",
         "/work requests answered with 503 (queue full or shutting down).", rejected_.load());
  metric("tide_worker_in_flight", "gauge", "/work requests admitted and not yet answered.",
         in_flight_.load());
  metric("tide_worker_queued", "gauge", "/work requests waiting for a free slot.", queued());
  metric("tide_worker_concurrency", "gauge", "Work slots (requests served at the same time).",
         concurrency_);
  metric("tide_worker_busy_seconds_total", "counter",
         "Slot-seconds spent working (summed over slots).", static_cast<double>(busy_ns_) / 1e9);
  metric(
      "tide_worker_utilization_percent", "gauge",
      fmt::format("Share of the slots' time spent working over the last {}s, 0..100.",
                  std::chrono::duration_cast<std::chrono::milliseconds>(window_).count() / 1000.0)
          .c_str(),
      utilization);

  const char* h = "tide_worker_request_duration_seconds";
  out += fmt::format(
      "# HELP {0} Time from admission to answer of /work requests (queue + work).\n"
      "# TYPE {0} histogram\n",
      h);
  long long cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += bucket_counts_[i].load();
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", h, kBuckets[i], cumulative);
  }
  const long long count = requests_.load();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", h, count);
  out += fmt::format("{}_sum {}\n", h, static_cast<double>(duration_us_sum_.load()) / 1e6);
  out += fmt::format("{}_count {}\n", h, count);

  metric("process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", start_unix_seconds_);
  metric("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.",
         cpu_seconds);
  return out;
}

namespace {

using Steady = std::chrono::steady_clock;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// The work slots: a bounded number of requests work at once, a bounded number wait.
class Slots {
 public:
  Slots(int slots, int queue) : free_(slots), queue_(queue) {}

  enum class Admission { kAdmitted, kFull, kDraining };
  Admission admit(WorkerStats& stats) {
    std::lock_guard lock(mu_);
    if (draining_) return Admission::kDraining;
    if (free_ == 0 && waiting_ >= queue_) return Admission::kFull;
    waiting_++;
    stats.admit();
    return Admission::kAdmitted;
  }
  // After admit(): waits for a slot; false when aborted (shutdown deadline).
  bool acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0 || aborted_; });
    waiting_--;
    if (aborted_) return false;
    free_--;
    return true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      free_++;
    }
    cv_.notify_one();
  }
  void drain() {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  void abort() {
    {
      std::lock_guard lock(mu_);
      aborted_ = true;
    }
    aborted_flag_ = true;
    cv_.notify_all();
  }
  bool aborted() const { return aborted_flag_.load(); }
  bool draining() {
    std::lock_guard lock(mu_);
    return draining_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  const int queue_;
  int waiting_ = 0;
  bool draining_ = false;
  bool aborted_ = false;
  std::atomic<bool> aborted_flag_{false};
};

// Spends `ms` of this thread's CPU time, adding the wall time to the busy counter as it goes.
void burn(int ms, WorkerStats& stats, const Slots& slots) {
  const double end_cpu = thread_cpu_seconds() + ms / 1000.0;
  auto last = Steady::now();
  // On a starved machine a request may take much longer than its CPU time; never forever.
  const auto give_up = last + std::chrono::milliseconds(ms) * 50 + std::chrono::seconds(5);
  volatile double sink = 1.0;
  while (thread_cpu_seconds() < end_cpu && !slots.aborted()) {
    for (int i = 0; i < 4000; ++i) sink = sink * 1.0000001 + 1e-9;
    auto now = Steady::now();
    stats.add_busy(now - last);
    last = now;
    if (now > give_up) break;
  }
}

// Holds the slot for `ms` of wall time without using the CPU, like a request waiting on a
// database or a downstream call; the slot counts as busy.
void wait_downstream(int ms, WorkerStats& stats, const Slots& slots) {
  auto last = Steady::now();
  const auto end = last + std::chrono::milliseconds(ms);
  while (last < end && !slots.aborted()) {
    std::this_thread::sleep_for(
        std::min<Steady::duration>(end - last, std::chrono::milliseconds(20)));
    const auto now = Steady::now();
    stats.add_busy(now - last);
    last = now;
  }
}

// Parses a ?NAME= parameter in 0..10000 ms into `ms`; false (and a 400 answer) when invalid.
bool ms_param(const httplib::Request& req, httplib::Response& res, const char* name, int& ms) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
  if (ec == std::errc() && end == v.data() + v.size() && ms >= 0 && ms <= 10000) return true;
  res.status = 400;
  res.set_content(fmt::format("{} must be a whole number of milliseconds in 0..10000\n", name),
                  "text/plain");
  return false;
}

}  // namespace

int run_worker(const WorkerOptions& options, std::ostream& out, std::ostream& err) {
  if (options.concurrency < 1 || options.concurrency > 256) {
    err << "tide worker: --concurrency must be in 1..256\n";
    return 2;
  }
  if (options.queue < 0 || options.queue > 10000) {
    err << "tide worker: --queue must be in 0..10000\n";
    return 2;
  }
  if (options.work_ms < 0 || options.work_ms > 10000) {
    err << "tide worker: --work-ms must be in 0..10000\n";
    return 2;
  }
  if (options.wait_ms < 0 || options.wait_ms > 10000) {
    err << "tide worker: --wait-ms must be in 0..10000\n";
    return 2;
  }
  if (options.startup_ms < 0 || options.startup_ms > 600000) {
    err << "tide worker: --startup-ms must be in 0..600000\n";
    return 2;
  }
  if (options.port < 0 || options.port > 65535) {
    err << "tide worker: --port must be in 0..65535\n";
    return 2;
  }
  // Signals are taken by one thread (sigtimedwait); every thread started below inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const double start_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  WorkerStats stats(
      options.concurrency,
      std::chrono::milliseconds(static_cast<long long>(options.window_seconds * 1000)), start_unix);
  stats.sample(Steady::now());
  Slots slots(options.concurrency, options.queue);

  httplib::Server server;
  // Enough connection threads for every admitted request plus a few for /metrics and /healthz,
  // so that a saturated worker still answers its scrapes.
  const int threads = options.concurrency + options.queue + 8;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // worker share a port that is in use instead of failing.
  server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_keep_alive_max_count(100);
  server.set_keep_alive_timeout(2);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);

  server.Get("/work", [&](const httplib::Request& req, httplib::Response& res) {
    int ms = options.work_ms;
    int wait_ms = options.wait_ms;
    if (!ms_param(req, res, "ms", ms) || !ms_param(req, res, "wait_ms", wait_ms)) return;
    const auto admitted_at = Steady::now();
    switch (slots.admit(stats)) {
      case Slots::Admission::kAdmitted:
        break;
      case Slots::Admission::kFull:
        stats.reject();
        res.status = 503;
        res.set_header("Retry-After", "1");
        res.set_content("overloaded: every slot is busy and the queue is full\n", "text/plain");
        return;
      case Slots::Admission::kDraining:
        stats.reject();
        res.status = 503;
        res.set_content("shutting down\n", "text/plain");
        return;
    }
    if (!slots.acquire()) {
      stats.drop_admitted();
      res.status = 503;
      res.set_content("shutting down\n", "text/plain");
      return;
    }
    const auto started_at = Steady::now();
    stats.start_work();
    burn(ms, stats, slots);
    wait_downstream(wait_ms, stats, slots);
    slots.release();
    const auto done_at = Steady::now();
    const double seconds = std::chrono::duration<double>(done_at - admitted_at).count();
    stats.finish(seconds);
    res.set_content(
        fmt::format("{{\"ms\":{},\"wait_ms\":{},\"queued_ms\":{:.3f},\"wall_ms\":{:.3f}}}\n", ms,
                    wait_ms,
                    std::chrono::duration<double, std::milli>(started_at - admitted_at).count(),
                    std::chrono::duration<double, std::milli>(done_at - admitted_at).count()),
        "application/json");
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats.metrics_text(Steady::now(), process_cpu_seconds()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  const auto ready_at = Steady::now() + std::chrono::milliseconds(options.startup_ms);
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    if (Steady::now() < ready_at) {
      res.status = 503;
      res.set_content("starting\n", "text/plain");
    } else if (slots.draining()) {
      res.status = 503;
      res.set_content("draining\n", "text/plain");
    } else {
      res.set_content("ok\n", "text/plain");
    }
  });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host.c_str());
    if (port <= 0) {
      err << "tide worker: cannot listen on " << options.host << ": no free port\n";
      return 1;
    }
  } else if (!server.bind_to_port(options.host.c_str(), port)) {
    err << "tide worker: cannot listen on " << options.host << ':' << port
        << " (in use, or not a local address)\n";
    return 1;
  }
  out << "tide worker listening on " << options.host << ':' << port << " (concurrency "
      << options.concurrency << ", queue " << options.queue << ", " << options.work_ms
      << " ms per request)" << std::endl;

  std::atomic<bool> stopping{false};
  std::thread sampler([&] {
    while (!stopping.load()) {
      stats.sample(Steady::now());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::thread signals([&] {
    const timespec tick{0, 100'000'000};
    while (!stopping.load()) {
      int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig != SIGTERM && sig != SIGINT) continue;
      // Refuse new work, give admitted requests up to a second, then cut the rest short.
      slots.drain();
      const auto deadline = Steady::now() + std::chrono::seconds(1);
      while (stats.in_flight() > 0 && Steady::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      slots.abort();
      server.stop();
      return;
    }
  });

  const bool served = server.listen_after_bind();
  stopping = true;
  server.stop();
  signals.join();
  sampler.join();
  if (!served && !slots.draining()) {
    err << "tide worker: the server stopped unexpectedly\n";
    return 1;
  }
  return 0;
}

}  // namespace tide::cli
