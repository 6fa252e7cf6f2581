// The `system` source: this host's CPU utilization (%), memory used (%) and load averages, read
// from procfs (`proc_root`, default /proc). CPU utilization is the busy share of all CPUs between
// two readings of /proc/stat: the source takes a reading when created, computes a new value when
// at least `min_cpu_interval` (500ms) has passed since the last one and otherwise returns the
// last value, so any number of groups may read it at any rate. The very first read waits (within
// its timeout) until the interval has passed. Memory used = 100 * (1 - MemAvailable / MemTotal).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_system_source(const SourceSpec& spec);
std::unique_ptr<Source> make_system_source(std::string proc_root, Duration min_cpu_interval);

struct CpuTimes {
  unsigned long long busy = 0;
  unsigned long long total = 0;
};

// The aggregate "cpu" line of /proc/stat, in jiffies.
Result<CpuTimes> parse_proc_stat(std::string_view text);
// Percent of memory in use from /proc/meminfo.
Result<double> parse_meminfo_used_percent(std::string_view text);
// load1, load5, load15 from /proc/loadavg.
Result<std::array<double, 3>> parse_loadavg(std::string_view text);

}  // namespace tide
