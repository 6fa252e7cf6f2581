// The path `tide run` takes: config text -> checked SourceSpec/MetricRef -> the registry's factory
// -> Source::prepare. Every implemented type must get through it.
#include "sources/registry.hpp"

#include <gtest/gtest.h>

#include <map>

#include "config/config.hpp"
#include "sources/source.hpp"

namespace tide {
namespace {

TEST(SourceRegistryTest, EveryLiveTypeHasAFactory) {
  for (const char* name : {"prometheus", "prometheus-scrape", "cloudwatch", "sqs", "redis",
                           "system", "http-json", "exec", "static"}) {
    const SourceType* t = builtin_sources().find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_TRUE(static_cast<bool>(t->create)) << name;
  }
}

constexpr const char* kConfig = R"yaml(
sources:
  prom: { type: prometheus, url: "http://127.0.0.1:9090", timeout: 2s, cache_window: 500ms }
  workers: { type: prometheus-scrape, per_instance: true, path: /stats/metrics }
  fixed: { type: prometheus-scrape, urls: ["http://127.0.0.1:8101/metrics"] }
  jobs: { type: redis, url: "redis://127.0.0.1:6379/1" }
  app: { type: http-json, url: "http://127.0.0.1:8080", cache_window: 2s }
  load: { type: static, series: [1, 2, 3], step: 1m }
  cw: { type: cloudwatch, region: eu-west-1 }
  queue: { type: sqs, region: eu-west-1, endpoint_url: "http://127.0.0.1:4566" }
groups:
  - name: g
    target: { type: static }
    max: 10
    policies:
      - { type: queue, target_per_instance: 5, metric: { source: prom, query: "sum(x)", instance_label: pod } }
      - { type: queue, target_per_instance: 5, metric: { source: workers, name: inflight, aggregate: max } }
      - { type: queue, target_per_instance: 5, metric: { source: fixed, name: c, rate: true, labels: { a: b } } }
      - { type: queue, target_per_instance: 5, metric: { source: jobs, key: s, kind: pending, group: g } }
      - { type: queue, target_per_instance: 5, metric: { source: jobs, key: z, kind: zset } }
      - { type: queue, target_per_instance: 5, metric: { source: system, name: load1 } }
      - { type: queue, target_per_instance: 5, metric: { source: app, path: /stats, pointer: /queue/depth } }
      - { type: queue, target_per_instance: 5, metric: { source: exec, command: "echo 1", shell: true, timeout: 1s } }
      - { type: queue, target_per_instance: 5, metric: load }
      - { type: queue, target_per_instance: 5, metric: { source: cw, namespace: AWS/SQS, name: ApproximateNumberOfMessagesVisible, dimensions: { QueueName: jobs }, statistic: Sum, period: 5m } }
      - { type: queue, target_per_instance: 5, metric: { source: cw, expression: "SUM(SEARCH('{AWS/SQS,QueueName} jobs', 'Sum', 60))" } }
      - { type: queue, target_per_instance: 5, metric: { source: queue, queue_url: "http://127.0.0.1:4566/000000000000/jobs", include_delayed: true } }
      - { type: queue, target_per_instance: 5, metric: { source: queue, queue_name: jobs } }
)yaml";

TEST(SourceRegistryTest, ConfigToFactoryToPrepare) {
  auto config = parse_config(kConfig, "test.yaml");
  ASSERT_TRUE(config.has_value()) << (config ? "" : format_diagnostic(config.error().front()));
  std::map<std::string, std::unique_ptr<Source>> sources;
  for (const SourceSpec& spec : config->sources) {
    const SourceType* t = builtin_sources().find(spec.type);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(static_cast<bool>(t->create)) << spec.type;
    auto s = t->create(spec);
    ASSERT_TRUE(s.has_value()) << spec.name << ": " << s.error().message;
    sources[spec.name] = std::move(*s);
  }
  for (const PolicySpec& p : config->groups[0].policies) {
    const MetricRef* m = p.metric();
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(sources.contains(m->source)) << m->source;
    auto q = sources[m->source]->prepare(m->params);
    EXPECT_TRUE(q.has_value()) << m->source << ": " << q.error().message;
  }
  auto load = sources["load"]->read(0, {}, TimePoint(seconds(1)), seconds(1));
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->at(0).value, 1);
}

struct BadCase {
  const char* name;
  const char* source;  // one entry under sources:
  const char* want;
};

class SourceConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SourceConfigErrorTest, Rejects) {
  std::string text = std::string("sources:\n  s: ") + GetParam().source +
                     "\ngroups:\n  - name: g\n    target: { type: static }\n    max: 1\n"
                     "    policies: [ { type: queue, target_per_instance: 1, metric: { source: s, "
                     "name: x } } ]\n";
  auto config = parse_config(text, "t.yaml");
  ASSERT_FALSE(config.has_value());
  std::string all;
  for (const Diagnostic& d : config.error()) all += format_diagnostic(d) + "\n";
  EXPECT_NE(all.find(GetParam().want), std::string::npos) << all;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SourceConfigErrorTest,
    ::testing::Values(BadCase{"scrape_needs_urls_or_per_instance", "{ type: prometheus-scrape }",
                              "needs one of 'urls', 'per_instance'"},
                      BadCase{
                          "scrape_not_both",
                          "{ type: prometheus-scrape, urls: [\"http://a\"], per_instance: true }",
                          "cannot be used together"},
                      BadCase{"path_needs_per_instance",
                              "{ type: prometheus-scrape, urls: [\"http://a\"], path: /m }",
                              "'path' needs 'per_instance'"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide
