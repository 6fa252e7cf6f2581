// The `cloudwatch` source: Amazon CloudWatch GetMetricData, batched across every group.
//
// Query keys (docs/config.md): a metric (`namespace`, `name`, `dimensions`, `statistic`
// (Average; Sum, Minimum, Maximum, SampleCount, or an extended statistic such as p90, tm95),
// `unit`) or a metric math `expression` (standing alone: SEARCH(...), a Metrics Insights query,
// or math over those, since each query gets its own id), with `period` (60s) and `delay` (one
// period).
//
// Which datapoint is read (the reporting-delay rule): at time `now` a query reads the window
//   end   = floor((now - delay) / period) * period
//   start = end - 5 periods
// and takes the newest datapoint whose whole period lies before `end`, i.e. that ended at least
// `delay` ago. The newest period, still being filled in, is never used: deciding on a partial
// Sum or SampleCount would scale in on a half-counted minute. An older datapoint in the window
// is used when the newest complete one is absent (a sparse metric); none in the window is "no
// data". The sample's time is the datapoint's timestamp (the start of its period). A query whose
// result has several series (a SEARCH) gives one sample per series with `instance` = the series
// label (an instance id when searching by InstanceId).
//
// Batching: a query's result is kept until its window moves (end + period + delay). The first
// read that finds its result out of date fetches, in one GetMetricData call (500 queries per
// call, every page of NextToken), every query that is out of date and was read in the last 15
// minutes, so that all groups reading CloudWatch share one call per period. Readers of a query
// already being fetched wait for that fetch. The call's StartTime/EndTime are the earliest start
// and latest end of its queries (all aligned to their periods).
//
// Errors: a failed call fails every query of the batch (not cached: the next read retries); a
// query whose StatusCode is InternalError or Forbidden, or that has Messages and no datapoint,
// fails alone with its code and messages.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

struct CwQuery {
  std::string metric_namespace;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  std::string statistic = "Average";
  std::string unit;
  std::string expression;
  Duration period = std::chrono::seconds(60);
  Duration delay = std::chrono::seconds(60);
};

// Checks a policy's `metric:` keys (period: 1, 5, 10, 20 or 30 s, or a multiple of 60 s).
Result<CwQuery> parse_cw_query(const nlohmann::json& query);

struct CwWindow {
  TimePoint start;
  TimePoint end;
};
// The window `query` reads at `now` (see above).
CwWindow cw_window(const CwQuery& query, TimePoint now);

// The GetMetricData parameters for `queries` (id, query) over [start, end).
aws::QueryParams get_metric_data_params(
    const std::vector<std::pair<std::string, const CwQuery*>>& queries, TimePoint start,
    TimePoint end, const std::string& next_token);

struct CwSeries {
  std::string id;
  std::string label;
  std::string status_code;
  std::vector<std::pair<TimePoint, double>> points;
  std::vector<std::string> messages;  // "Code: Value"
};

struct CwPage {
  std::vector<CwSeries> results;
  std::string next_token;
  std::vector<std::string> messages;
};

// Parses one GetMetricData response page.
Result<CwPage> parse_get_metric_data(std::string_view xml);

// The samples of `query` from its series (all pages merged) at `now`: see the rule above.
Result<std::vector<Sample>> cw_samples(const CwQuery& query, const std::vector<CwSeries>& series,
                                       TimePoint now);

// With a given client (tests).
std::unique_ptr<Source> make_cloudwatch_source(std::shared_ptr<aws::AwsClient> client);

Result<std::unique_ptr<Source>> make_cloudwatch_source(const SourceSpec& spec);

}  // namespace tide
