#include "cli/demo_load.hpp"

#include <chrono>
#include <cmath>

#include <date/date.h>
#include <fmt/format.h>
#include <httplib.h>

#include "simulate/trace.hpp"

namespace tide::cli {

Result<std::vector<TraceMinute>> load_trace_day(const std::string& path, const std::string& day) {
  const Duration edt = std::chrono::hours(-4);  // the log's clock: UTC-4
  auto from = sim::parse_trace_time(day + " 00:00", edt);
  if (!from)
    return fail(ErrorCode::kInvalidArgument, fmt::format("day '{}': {}", day, from.error()));
  sim::TraceSpec spec;
  spec.path = path;
  spec.time_column = "timestamp_edt";
  spec.load_column = "requests";
  spec.gap_column = "in_log_gap";
  spec.utc_offset = edt;
  spec.step = std::chrono::minutes(1);
  spec.load_kind = sim::LoadKind::kRate;  // keep the column as it is: requests per minute
  spec.from = *from;
  spec.to = *from + std::chrono::days(1);
  auto trace = sim::load_trace(spec);
  if (!trace) return fail(ErrorCode::kInvalidArgument, trace.error());
  std::vector<TraceMinute> minutes;
  minutes.reserve(trace->size());
  for (std::size_t i = 0; i < trace->size(); ++i) {
    const double v = trace->load[i];
    const auto local = std::chrono::time_point_cast<std::chrono::minutes>(trace->time_at(i) + edt);
    minutes.push_back(
        {date::format("%F %R", local), sim::Trace::is_gap(v) ? 0 : v, sim::Trace::is_gap(v)});
  }
  return minutes;
}

std::vector<double> demo_rates(const std::vector<TraceMinute>& minutes, int seconds, double scale) {
  std::vector<double> rates;
  if (seconds <= 0 || minutes.empty()) return rates;
  rates.reserve(static_cast<std::size_t>(seconds));
  const auto n = static_cast<long long>(minutes.size());
  double previous = 0;
  for (long long s = 0; s < seconds; ++s) {
    const long long from = s * n / seconds;
    const long long to = std::max(from + 1, (s + 1) * n / seconds);
    double sum = 0;
    int counted = 0;
    for (long long i = from; i < to && i < n; ++i) {
      if (minutes[static_cast<std::size_t>(i)].gap) continue;
      sum += minutes[static_cast<std::size_t>(i)].requests;
      ++counted;
    }
    const double rate = counted > 0 ? sum / counted * scale : previous;
    rates.push_back(rate);
    previous = rate;
  }
  return rates;
}

LoadGenerator::LoadGenerator(Options options) : options_(options) {
  idle_clients_ = options_.clients;
  for (int i = 0; i < options_.clients; ++i) clients_.emplace_back([this] { client_loop(); });
}

LoadGenerator::~LoadGenerator() {
  finish();
}

void LoadGenerator::set_workers(std::vector<std::string> addresses) {
  std::lock_guard lock(mu_);
  workers_ = std::move(addresses);
}

template <typename Update>
void record_locked(std::vector<SecondStats>& stats, int second, Update&& update) {
  if (second < 0) return;
  if (static_cast<std::size_t>(second) >= stats.size()) {
    stats.resize(static_cast<std::size_t>(second) + 1);
  }
  update(stats[static_cast<std::size_t>(second)]);
}

void LoadGenerator::run_second(int second, double rate) {
  using namespace std::chrono;
  const auto start = steady_clock::now();
  if (second == 0) {
    std::lock_guard lock(mu_);
    start_ = start;
  }
  // Whole requests this second; the fractions are carried so the total follows the trace.
  const double wanted = std::max(0.0, rate) + carry_;
  const int count = static_cast<int>(std::floor(wanted));
  carry_ = wanted - count;
  for (int k = 0; k < count; ++k) {
    std::this_thread::sleep_until(start + duration_cast<steady_clock::duration>(
                                              duration<double>(static_cast<double>(k) / count)));
    std::lock_guard lock(mu_);
    record_locked(stats_, second, [](SecondStats& s) { s.sent++; });
    if (static_cast<int>(jobs_.size()) >= idle_clients_) {
      // Every client is busy: the load generator itself is the bottleneck; count it against
      // the system rather than silently sending less.
      record_locked(stats_, second, [](SecondStats& s) { s.rejected++; });
      continue;
    }
    jobs_.push_back({second, steady_clock::now()});
    cv_.notify_one();
  }
  std::this_thread::sleep_until(start + seconds(1));
}

void LoadGenerator::client_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
      idle_clients_--;
    }
    send(job);
    std::lock_guard lock(mu_);
    idle_clients_++;
  }
}

std::string LoadGenerator::next_worker(std::size_t& turn) {
  std::lock_guard lock(mu_);
  if (workers_.empty()) return {};
  return workers_[turn++ % workers_.size()];
}

void LoadGenerator::send(const Job& job) {
  std::size_t turn = turn_.fetch_add(1);
  int status = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string worker = next_worker(turn);
    if (worker.empty()) break;
    const auto colon = worker.rfind(':');
    httplib::Client client(worker.substr(0, colon), std::stoi(worker.substr(colon + 1)));
    client.set_keep_alive(false);
    client.set_connection_timeout(std::chrono::seconds(1));
    client.set_read_timeout(options_.timeout);
    auto res = client.Get("/work");
    if (!res) {
      status = -1;
      continue;  // the worker is gone: try the next one
    }
    status = res->status;
    if (status == 503 && res->body.rfind("shutting down", 0) == 0) continue;
    break;
  }
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - job.due).count();
  std::lock_guard lock(mu_);
  if (status == 200) {
    const auto done_second =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(now - start_).count());
    record_locked(stats_, done_second, [&](SecondStats& s) {
      s.completed++;
      s.completed_latency_ms.push_back(static_cast<float>(ms));
    });
  }
  record_locked(stats_, job.second, [&](SecondStats& s) {
    if (status == 200) {
      s.ok++;
      if (ms > static_cast<double>(options_.slo.count())) s.late++;
      s.latency_ms.push_back(static_cast<float>(ms));
    } else if (status == 503 || status == 0) {
      s.rejected++;
    } else {
      s.errors++;
    }
  });
}

SecondStats LoadGenerator::snapshot(int second) {
  std::lock_guard lock(mu_);
  if (second < 0 || static_cast<std::size_t>(second) >= stats_.size()) return {};
  return stats_[static_cast<std::size_t>(second)];
}

std::vector<SecondStats> LoadGenerator::finish() {
  {
    std::unique_lock lock(mu_);
    if (clients_.empty()) return stats_;
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : clients_) t.join();
  clients_.clear();
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tide::cli
