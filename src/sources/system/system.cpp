#include "sources/system/system.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/text.hpp"
#include "sources/params.hpp"

namespace tide {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<unsigned long long> to_ull(std::string_view s) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kUnavailable, fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::string_view line = next_line(text, pos);
    auto f = fields(line);
    if (f.empty() || f[0] != "cpu") continue;
    if (f.size() < 5) return fail(ErrorCode::kUnavailable, "/proc/stat: short cpu line");
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    unsigned long long v[8] = {0};
    for (std::size_t i = 1; i < f.size() && i <= 8; ++i) {
      auto n = to_ull(f[i]);
      if (!n) return fail(ErrorCode::kUnavailable, "/proc/stat: bad number in the cpu line");
      v[i - 1] = *n;
    }
    CpuTimes t;
    for (unsigned long long x : v) t.total += x;
    t.busy = t.total - v[3] - v[4];
    return t;
  }
  return fail(ErrorCode::kUnavailable, "/proc/stat: no cpu line");
}

Result<double> parse_meminfo_used_percent(std::string_view text) {
  std::optional<double> total, available, free, buffers, cached, reclaimable;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::string_view line = next_line(text, pos);
    auto f = fields(line);
    if (f.size() < 2) continue;
    auto n = to_ull(f[1]);
    if (!n) continue;
    double kb = static_cast<double>(*n);
    if (f[0] == "MemTotal:") total = kb;
    if (f[0] == "MemAvailable:") available = kb;
    if (f[0] == "MemFree:") free = kb;
    if (f[0] == "Buffers:") buffers = kb;
    if (f[0] == "Cached:") cached = kb;
    if (f[0] == "SReclaimable:") reclaimable = kb;
  }
  if (!total || *total <= 0) return fail(ErrorCode::kUnavailable, "/proc/meminfo: no MemTotal");
  if (!available) {  // kernels before 3.14
    if (!free) return fail(ErrorCode::kUnavailable, "/proc/meminfo: no MemAvailable or MemFree");
    available = *free + buffers.value_or(0) + cached.value_or(0) + reclaimable.value_or(0);
  }
  return std::clamp(100.0 * (1.0 - *available / *total), 0.0, 100.0);
}

Result<std::array<double, 3>> parse_loadavg(std::string_view text) {
  auto f = fields(params::trim(text));
  if (f.size() < 3) return fail(ErrorCode::kUnavailable, "/proc/loadavg: expected 3 numbers");
  std::array<double, 3> out{};
  for (int i = 0; i < 3; ++i) {
    auto v = params::parse_double(f[static_cast<std::size_t>(i)]);
    if (!v || *v < 0) return fail(ErrorCode::kUnavailable, "/proc/loadavg: bad number");
    out[static_cast<std::size_t>(i)] = *v;
  }
  return out;
}

namespace {

enum class What { kCpu, kMemory, kLoad1, kLoad5, kLoad15 };

class SystemSource final : public Source {
 public:
  SystemSource(std::string proc_root, Duration min_interval)
      : root_(std::move(proc_root)), min_interval_(min_interval) {
    std::lock_guard lock(cpu_mu_);
    if (auto t = cpu_times()) {
      prev_ = *t;
      prev_at_ = std::chrono::steady_clock::now();
    }
  }

  Result<int> prepare(const nlohmann::json& query) override {
    const std::string name = params::str(query, "name");
    static const std::pair<const char*, What> kNames[] = {{"cpu", What::kCpu},
                                                          {"memory", What::kMemory},
                                                          {"load1", What::kLoad1},
                                                          {"load5", What::kLoad5},
                                                          {"load15", What::kLoad15}};
    for (const auto& [n, w] : kNames) {
      if (name == n) return static_cast<int>(w);
    }
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("system: unknown name '{}' (cpu, memory, load1, load5, load15)", name));
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    Result<double> v = fail(ErrorCode::kInvalidArgument, "system: unknown query handle");
    switch (static_cast<What>(query)) {
      case What::kCpu:
        v = cpu(timeout);
        break;
      case What::kMemory: {
        auto text = read_file(root_ + "/meminfo");
        v = text ? parse_meminfo_used_percent(*text) : std::unexpected(text.error());
        break;
      }
      case What::kLoad1:
      case What::kLoad5:
      case What::kLoad15: {
        auto text = read_file(root_ + "/loadavg");
        if (!text) return std::unexpected(text.error());
        auto loads = parse_loadavg(*text);
        if (!loads) return std::unexpected(loads.error());
        v = (*loads)[static_cast<std::size_t>(query - static_cast<int>(What::kLoad1))];
        break;
      }
      default:
        break;
    }
    if (!v) return std::unexpected(v.error());
    return std::vector<Sample>{Sample{*v, now, ""}};
  }

 private:
  Result<CpuTimes> cpu_times() {
    auto text = read_file(root_ + "/stat");
    if (!text) return std::unexpected(text.error());
    return parse_proc_stat(*text);
  }

  Result<double> cpu(Duration timeout) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    std::lock_guard lock(cpu_mu_);
    while (true) {
      auto cur = cpu_times();
      if (!cur) return std::unexpected(cur.error());
      const auto at = Clock::now();
      if (!prev_) {
        prev_ = *cur;
        prev_at_ = at;
      } else if (at - prev_at_ >= min_interval_ && cur->total > prev_->total) {
        unsigned long long busy = cur->busy >= prev_->busy ? cur->busy - prev_->busy : 0;
        double pct =
            100.0 * static_cast<double>(busy) / static_cast<double>(cur->total - prev_->total);
        last_ = std::clamp(pct, 0.0, 100.0);
        prev_ = *cur;
        prev_at_ = at;
        return *last_;
      } else if (cur->total < prev_->total) {  // counters went back (a new proc_root): restart
        prev_ = *cur;
        prev_at_ = at;
      }
      if (last_) return *last_;
      // No value yet: wait for the interval to pass, within the read's time.
      auto wake = std::max(prev_at_ + min_interval_, at + std::chrono::milliseconds(20));
      if (wake >= deadline) {
        return fail(ErrorCode::kTimeout,
                    "system: cpu: not enough time between /proc/stat readings for a first value");
      }
      std::this_thread::sleep_until(wake);
    }
  }

  const std::string root_;
  const Duration min_interval_;
  std::mutex cpu_mu_;
  std::optional<CpuTimes> prev_;
  std::chrono::steady_clock::time_point prev_at_;
  std::optional<double> last_;
};

}  // namespace

std::unique_ptr<Source> make_system_source(std::string proc_root, Duration min_cpu_interval) {
  return std::make_unique<SystemSource>(std::move(proc_root), min_cpu_interval);
}

Result<std::unique_ptr<Source>> make_system_source(const SourceSpec& spec) {
  std::string root = params::str(spec.params, "proc_root", "/proc");
  while (root.size() > 1 && root.ends_with('/')) root.pop_back();
  return make_system_source(std::move(root), Duration(500));
}

}  // namespace tide
