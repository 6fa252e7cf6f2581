// A parser for the Prometheus text exposition format (version 0.0.4, what /metrics endpoints
// serve), tolerant of the OpenMetrics additions a server may send anyway (`# EOF`, `# UNIT`,
// exemplars, quoted UTF-8 names). Histograms' and summaries' _bucket/_sum/_count lines are
// ordinary series here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace tide {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct ExpositionSample {
  std::string name;
  Labels labels;  // in the order written; names are unique
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;  // milliseconds since the epoch, when written

  // The value of label `name`, or "" when absent (Prometheus treats both alike).
  std::string_view label(std::string_view name) const;
};

struct Exposition {
  std::vector<ExpositionSample> samples;     // in the order written
  std::map<std::string, std::string> types;  // from `# TYPE name type`
  std::map<std::string, std::string> help;   // from `# HELP name text`, unescaped
};

// Parses a whole exposition. A malformed line fails the whole parse (as Prometheus fails the
// scrape), with its 1-based line number in the message.
Result<Exposition> parse_exposition(std::string_view text);

}  // namespace tide
