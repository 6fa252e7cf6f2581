#include "sources/registry.hpp"

#include <algorithm>
#include <utility>

#include "config/checks.hpp"
#include "sources/cloudwatch/cloudwatch.hpp"
#include "sources/exec/exec.hpp"
#include "sources/http_json/http_json.hpp"
#include "sources/prometheus/prometheus.hpp"
#include "sources/prometheus_scrape/scrape.hpp"
#include "sources/redis/redis.hpp"
#include "sources/sqs/sqs.hpp"
#include "sources/static/static.hpp"
#include "sources/system/system.hpp"

namespace tide {

void SourceRegistry::add(SourceType type) {
  auto it = std::find_if(types_.begin(), types_.end(),
                         [&](const SourceType& t) { return t.name == type.name; });
  if (it != types_.end()) {
    *it = std::move(type);
  } else {
    types_.push_back(std::move(type));
  }
}

const SourceType* SourceRegistry::find(std::string_view name) const {
  for (const SourceType& type : types_) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

std::vector<std::string> SourceRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(types_.size());
  for (const SourceType& type : types_) out.push_back(type.name);
  return out;
}

namespace {

using K = ValueKind;

// Keys shared by the AWS sources (issue: AWS client; endpoints and regions).
std::vector<KeySpec> aws_keys() {
  return {
      {.name = "region",
       .help = "AWS region; default from AWS_REGION / AWS_DEFAULT_REGION",
       .check = checks::aws_region},
      {.name = "endpoint_url",
       .help = "endpoint override (LocalStack, moto); default from AWS_ENDPOINT_URL_<SERVICE>",
       .check = checks::http_url},
      {.name = "profile", .help = "shared-config profile; default from AWS_PROFILE"},
  };
}

}  // namespace

void register_builtin_sources(SourceRegistry& registry) {
  registry.add({
      .name = "prometheus",
      .summary = "instant PromQL query over the Prometheus HTTP API",
      .config = {.keys =
                     {
                         {.name = "url",
                          .required = true,
                          .help = "base URL of the Prometheus server, e.g. http://127.0.0.1:9090",
                          .check = checks::http_url},
                         {.name = "timeout", .kind = K::kDuration, .help = "request timeout (5s)"},
                         {.name = "headers",
                          .kind = K::kStringMap,
                          .help = "extra HTTP headers sent with every query"},
                         {.name = "bearer_token_env",
                          .help = "environment variable holding a bearer token"},
                         {.name = "cache_window",
                          .kind = K::kDuration,
                          .help = "identical queries within this window share one request (1s)"},
                     }},
      .query = {.keys =
                    {
                        {.name = "query",
                         .required = true,
                         .help = "PromQL expression; a scalar or one-element vector is the value",
                         .check = checks::not_empty},
                        {.name = "instance_label",
                         .help = "label whose values name instances: per-instance samples"},
                    }},
      .create = make_prometheus_source,
  });
  registry.add({
      .name = "prometheus-scrape",
      .summary = "scrape /metrics endpoints (text exposition format) directly",
      .config = {.keys =
                     {
                         {.name = "urls",
                          .kind = K::kStringList,
                          .help = "endpoints to scrape; one per instance",
                          .check = checks::http_url},
                         {.name = "per_instance",
                          .kind = K::kBool,
                          .help = "scrape each of the group's instances at its address instead"},
                         {.name = "path",
                          .help = "path scraped on each instance (/metrics)",
                          .needs = {"per_instance"}},
                         {.name = "timeout", .kind = K::kDuration, .help = "scrape timeout (5s)"},
                         {.name = "headers",
                          .kind = K::kStringMap,
                          .help = "extra HTTP headers sent with every scrape"},
                         {.name = "cache_window",
                          .kind = K::kDuration,
                          .help = "a scrape serves every query within this window (1s)"},
                     },
                 .exactly_one_of = {{"urls", "per_instance"}}},
      .query = {.keys =
                    {
                        {.name = "name",
                         .required = true,
                         .help = "metric name, e.g. http_requests_in_flight",
                         .check = checks::not_empty},
                        {.name = "labels",
                         .kind = K::kStringMap,
                         .help = "label values a sample must have"},
                        {.name = "rate",
                         .kind = K::kBool,
                         .help = "per-second rate of a counter between two scrapes (false)"},
                        {.name = "aggregate",
                         .help = "how an endpoint's matching series combine (sum)",
                         .choices = {"sum", "avg", "min", "max", "count"}},
                    }},
      .create = make_prometheus_scrape_source,
  });
  registry.add({
      .name = "cloudwatch",
      .summary = "Amazon CloudWatch GetMetricData (batched across groups)",
      .config = {.keys = aws_keys()},
      .query = {.keys =
                    {
                        {.name = "namespace", .help = "metric namespace, e.g. AWS/EC2"},
                        {.name = "name",
                         .help = "metric name, e.g. CPUUtilization",
                         .needs = {"namespace"}},
                        {.name = "dimensions",
                         .kind = K::kStringMap,
                         .help = "dimension name -> value",
                         .needs = {"name"}},
                        {.name = "statistic",
                         .help = "Average (default), Sum, Minimum, Maximum, SampleCount, p90, ...",
                         .check = checks::cw_statistic},
                        {.name = "period", .kind = K::kDuration, .help = "period (60s)"},
                        {.name = "unit", .help = "CloudWatch unit, e.g. Percent"},
                        {.name = "expression",
                         .help = "metric math expression instead of a metric"},
                        {.name = "delay",
                         .kind = K::kDuration,
                         .help = "reporting delay: ignore datapoints younger than this (period)"},
                    },
                .exactly_one_of = {{"name", "expression"}}},
      .create = [](const SourceSpec& spec) { return make_cloudwatch_source(spec); },
  });
  {
    SourceType sqs{
        .name = "sqs",
        .summary = "Amazon SQS queue attributes (ApproximateNumberOfMessages...)",
        .config = {.keys = aws_keys()},
        .query = {.keys =
                      {
                          {.name = "queue_url", .help = "queue URL", .check = checks::http_url},
                          {.name = "queue_name", .help = "queue name (resolved with GetQueueUrl)"},
                          {.name = "include_in_flight",
                           .kind = K::kBool,
                           .help = "add ApproximateNumberOfMessagesNotVisible (true)"},
                          {.name = "include_delayed",
                           .kind = K::kBool,
                           .help = "add ApproximateNumberOfMessagesDelayed (false)"},
                      },
                  .exactly_one_of = {{"queue_url", "queue_name"}}},
        .create = [](const SourceSpec& spec) { return make_sqs_source(spec); },
    };
    registry.add(std::move(sqs));
  }
  registry.add({
      .name = "redis",
      .summary = "Redis list or stream length, or a consumer group's pending entries",
      .config = {.keys =
                     {
                         {.name = "url",
                          .required = true,
                          .help = "redis://HOST:PORT[/DB], rediss://... or unix:///path",
                          .check = checks::redis_url},
                         {.name = "password_env",
                          .help = "environment variable holding the password"},
                         {.name = "timeout", .kind = K::kDuration, .help = "command timeout (2s)"},
                     }},
      .query = {.keys =
                    {
                        {.name = "key",
                         .required = true,
                         .help = "the list or stream key",
                         .check = checks::not_empty},
                        {.name = "kind",
                         .help = "list (LLEN, default), stream (XLEN), pending (XPENDING) or zset "
                                 "(ZCARD)",
                         .choices = {"list", "stream", "pending", "zset"}},
                        {.name = "group", .help = "consumer group (kind: pending)"},
                    }},
      .create = make_redis_source,
  });
  registry.add({
      .name = "system",
      .summary = "this host's CPU, memory and load from /proc",
      .config = {.keys = {{.name = "proc_root", .help = "where /proc is mounted (/proc)"}}},
      .query = {.keys = {{.name = "name",
                          .required = true,
                          .help = "cpu (%), memory (%), load1, load5 or load15",
                          .choices = {"cpu", "memory", "load1", "load5", "load15"}}}},
      .create = [](const SourceSpec& spec) { return make_system_source(spec); },
  });
  registry.add({
      .name = "http-json",
      .summary = "GET a URL and pick a number with a JSON pointer",
      .config =
          {.keys =
               {
                   {.name = "url", .required = true, .help = "base URL", .check = checks::http_url},
                   {.name = "timeout", .kind = K::kDuration, .help = "request timeout (5s)"},
                   {.name = "headers", .kind = K::kStringMap, .help = "extra HTTP headers"},
                   {.name = "cache_window",
                    .kind = K::kDuration,
                    .help = "queries of the same URL within this window share one request (1s)"},
               }},
      .query = {.keys =
                    {
                        {.name = "pointer",
                         .required = true,
                         .help = "JSON pointer to the value, e.g. /queue/depth",
                         .check = checks::json_pointer},
                        {.name = "path", .help = "appended to the source's url"},
                    }},
      .create = make_http_json_source,
  });
  registry.add({
      .name = "exec",
      .summary = "run a command and read a number from its standard output",
      .config = {.keys =
                     {
                         {.name = "timeout", .kind = K::kDuration, .help = "command timeout (10s)"},
                         {.name = "env", .kind = K::kStringMap, .help = "extra environment"},
                         {.name = "working_dir", .help = "working directory"},
                     }},
      .query = {.keys =
                    {
                        {.name = "command",
                         .required = true,
                         .help = "command printing one number (split into words, no shell)",
                         .check = checks::not_empty},
                        {.name = "shell",
                         .kind = K::kBool,
                         .help = "run the command with /bin/sh -c (false)"},
                        {.name = "timeout",
                         .kind = K::kDuration,
                         .help = "overrides the source's timeout"},
                    }},
      .create = make_exec_source,
  });
  registry.add({
      .name = "static",
      .summary = "a fixed value or a replayed series, for demos and tests",
      .config =
          {.keys =
               {
                   {.name = "value", .kind = K::kNumber, .help = "the value every read returns"},
                   {.name = "series",
                    .kind = K::kNumberList,
                    .help = "values returned one per `step`, cycling"},
                   {.name = "step",
                    .kind = K::kDuration,
                    .help = "how long each series value lasts (15s)",
                    .needs = {"series"}},
               },
           .exactly_one_of = {{"value", "series"}}},
      .query = {.keys = {{.name = "value",
                          .kind = K::kNumber,
                          .help = "overrides the source's value for this metric"}}},
      .create = make_static_source,
  });
}

const SourceRegistry& builtin_sources() {
  static const SourceRegistry registry = [] {
    SourceRegistry r;
    register_builtin_sources(r);
    return r;
  }();
  return registry;
}

}  // namespace tide
