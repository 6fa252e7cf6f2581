// A workload trace on a regular time grid: load per step, with gaps kept as gaps (NaN), never as
// zero. Loaded once from CSV or plain files as described by a TraceSpec (docs/simulate.md).
#pragma once

#include <cmath>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace tide::sim {

enum class TimeFormat {
  kUnixSeconds,  // 804571200 (fractions allowed)
  kDateTime,     // ISO 8601 / "YYYY-MM-DD HH:MM[:SS[.frac]]", optional T, Z or +hh:mm
  kRowIndex,     // no time column: row i is at start + i * step
};

enum class LoadKind {
  kCount,  // the column counts work per row (requests in that minute): rate = count / step
  kRate,   // the column already is a rate in load units per second (CPU cores, req/s)
};

struct TraceSpec {
  std::string path;  // resolved relative to the scenario file
  char separator = ',';
  bool header = true;       // first line names the columns
  std::string time_column;  // name (with header) or 0-based index as text
  std::string load_column;
  std::string gap_column;          // optional: rows where this column is non-zero are gaps
  bool missing_rows_zero = false;  // absent grid rows are zero load, not gaps (WorldCup 98)
  TimeFormat time_format = TimeFormat::kDateTime;
  Duration utc_offset{0};          // local times without zone: subtract to get UTC
  std::optional<Duration> step;    // grid step; required for kRowIndex and per_request
  std::optional<TimePoint> start;  // kRowIndex: time of row 0 (default 1970-01-01)
  bool per_request = false;        // one row per arrival: count rows per step
  LoadKind load_kind = LoadKind::kCount;
  double multiplier = 1.0;
  std::optional<TimePoint> from;  // optional time range [from, to)
  std::optional<TimePoint> to;
};

struct Trace {
  TimePoint start;           // time of load[0]
  Duration step{0};          // grid step
  std::vector<double> load;  // load units per second; NaN = gap (no data, not zero)
  std::string name;          // for reports

  std::size_t size() const { return load.size(); }
  static bool is_gap(double v) { return std::isnan(v); }
  TimePoint time_at(std::size_t i) const { return start + step * static_cast<long long>(i); }
};

// Errors name the file and line: "traces/x.csv:17: time '1995-13-01' is not a valid date".
// Covered: missing file, missing column (listing the columns), unparseable time or number,
// non-monotonic time, empty trace (after range filtering), a step that does not divide the data.
std::expected<Trace, std::string> load_trace(const TraceSpec& spec);

// One time as the loader reads it (used for a scenario's `from`, `to` and `start`): unix seconds
// (digits, optional fraction) or a date-time as in kDateTime; without a zone the time is local,
// `utc_offset` ahead of UTC. The error says why the text is not a time.
std::expected<TimePoint, std::string> parse_trace_time(std::string_view text, Duration utc_offset);

}  // namespace tide::sim
