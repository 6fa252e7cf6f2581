// The `prometheus` source: an instant PromQL query over the HTTP API (GET /api/v1/query with
// `query`, `time` and `timeout`; POST for very long queries).
//
// Result: one Sample per series of a vector result (or one for a scalar), with `instance` = the
// value of the query's `instance_label` (default `instance`; "" when the series lacks it, e.g.
// after `sum(...)`). NaN and infinite values are dropped. An empty vector is "no data".
//
// Sharing: the same PromQL text read by several policies or groups within `cache_window` (1s) of
// the request's start is served by that one request; concurrent reads wait for it.
// Errors carry Prometheus's error type and message (e.g. "bad_data: 1:5: parse error: ...").
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_prometheus_source(const SourceSpec& spec);

struct PromSeries {
  std::map<std::string, std::string> labels;
  double value = 0;  // may be NaN or infinite, as Prometheus sent it
  TimePoint at;
};

// Parses the body of an /api/v1/query response (any HTTP status): the series of a vector, a
// scalar (one series without labels) or a numeric string; errors for error responses (with
// Prometheus's errorType: bad_data -> kInvalidArgument, timeout -> kTimeout, others
// kUnavailable), range vectors and malformed bodies.
Result<std::vector<PromSeries>> parse_query_response(std::string_view body, long http_status);

}  // namespace tide
