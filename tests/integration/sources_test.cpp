// Integration tests of the live sources against real servers: Prometheus and redis-server from
// Debian packages, started on loopback by tests/sources_test.sh, which runs this binary in three
// phases (selected with --gtest_filter and TIDE_TEST_PHASE):
//   Live.*     servers running: real queries, real data
//   Frozen.*   servers stopped with SIGSTOP: they accept connections but never answer
//   Stopped.*  servers killed: connections are refused
// Environment: TIDE_TEST_PROMETHEUS_URL (http://127.0.0.1:P), TIDE_TEST_REDIS_URL
// (redis://127.0.0.1:P), TIDE_TEST_EXPORTER (127.0.0.1:P, a /metrics file Prometheus scrapes).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/http.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Fails the test (never skips) when the driver did not provide the servers.
#define REQUIRE_PHASE(phase)                                                          \
  do {                                                                                \
    ASSERT_EQ(env("TIDE_TEST_PHASE"), phase)                                          \
        << "run this binary through tests/sources_test.sh, which starts the servers"; \
    ASSERT_FALSE(env("TIDE_TEST_PROMETHEUS_URL").empty());                            \
    ASSERT_FALSE(env("TIDE_TEST_REDIS_URL").empty());                                 \
    ASSERT_FALSE(env("TIDE_TEST_EXPORTER").empty());                                  \
  } while (0)

TimePoint wall_now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

std::unique_ptr<Source> make(const std::string& type, nlohmann::json params) {
  const SourceType* t = builtin_sources().find(type);
  EXPECT_NE(t, nullptr);
  if (t == nullptr || !t->create) return nullptr;
  auto s = t->create(SourceSpec{.name = "it-" + type, .type = type, .params = std::move(params)});
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

Result<std::vector<Sample>> read_once(Source& src, nlohmann::json query,
                                      Duration timeout = seconds(5),
                                      const std::vector<InstanceEndpoint>& endpoints = {}) {
  auto q = src.prepare(query);
  if (!q) return std::unexpected(q.error());
  return src.read(*q, endpoints, wall_now(), timeout);
}

std::string host_port(const std::string& url) {
  return url_host_port(url);
}

// ---- a plain hiredis connection for putting test data into Redis ----

class RedisClient {
 public:
  RedisClient() {
    std::string url = env("TIDE_TEST_REDIS_URL");  // redis://127.0.0.1:PORT
    std::string hp = url.substr(url.find("://") + 3);
    std::string host = hp.substr(0, hp.rfind(':'));
    int port = std::stoi(hp.substr(hp.rfind(':') + 1));
    c_ = redisConnectWithTimeout(host.c_str(), port, timeval{2, 0});
    if (c_ != nullptr) redisSetTimeout(c_, timeval{2, 0});
  }
  ~RedisClient() {
    if (c_ != nullptr) redisFree(c_);
  }
  bool ok() const { return c_ != nullptr && c_->err == 0; }

  // Runs a command; returns the integer reply, or -1, or the error text through `error`.
  long long run(const std::vector<std::string>& args, std::string* error = nullptr) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      if (error) *error = c_->errstr;
      return -1;
    }
    long long out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r->type == REDIS_REPLY_ERROR && error) *error = std::string(r->str, r->len);
    freeReplyObject(r);
    return out;
  }

 private:
  redisContext* c_ = nullptr;
};

// ================================ Live ================================

TEST(Live, PrometheusInstantQueryReturnsTheScrapedValue) {
  REQUIRE_PHASE("live");
  auto prom = make("prometheus", {{"url", env("TIDE_TEST_PROMETHEUS_URL")}});
  ASSERT_NE(prom, nullptr);
  auto r = read_once(*prom, {{"query", "tide_test_queue_depth{queue=\"jobs\"}"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 42);
  EXPECT_EQ((*r)[0].instance, env("TIDE_TEST_EXPORTER")) << "the series' instance label";
  EXPECT_LT(std::chrono::abs((*r)[0].at - wall_now()), seconds(30));

  r = read_once(*prom, {{"query", "sum(tide_test_queue_depth)"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 50);
  EXPECT_EQ((*r)[0].instance, "");

  r = read_once(*prom, {{"query", "scalar(sum(tide_test_queue_depth)) * 2"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 100);

  r = read_once(*prom, {{"query", "tide_test_queue_depth"}, {"instance_label", "queue"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  std::map<std::string, double> by_queue;
  for (const Sample& s : *r) by_queue[s.instance] = s.value;
  EXPECT_EQ(by_queue["jobs"], 42);
  EXPECT_EQ(by_queue["mail"], 8);

  r = read_once(*prom, {{"query", "tide_test_does_not_exist"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->empty()) << "an empty result is no data";
}

TEST(Live, PrometheusBadPromQLGivesAClearError) {
  REQUIRE_PHASE("live");
  auto prom = make("prometheus", {{"url", env("TIDE_TEST_PROMETHEUS_URL")}});
  auto r = read_once(*prom, {{"query", "sum(rate(tide_test_requests_total[1m]"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("query 'sum(rate(tide_test_requests_total[1m]': bad_data: "),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("parse error"), std::string::npos) << r.error().message;

  r = read_once(*prom, {{"query", "tide_test_queue_depth[1m]"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("range vector"), std::string::npos) << r.error().message;
}

TEST(Live, PrometheusServesConcurrentIdenticalQueriesWithOneRequest) {
  REQUIRE_PHASE("live");
  const std::string url = env("TIDE_TEST_PROMETHEUS_URL");
  auto prom = make("prometheus", {{"url", url}, {"cache_window", 10000}});
  // Prometheus counts its own API requests; read the counter through the scrape source.
  auto self = make("prometheus-scrape", {{"urls", {url + "/metrics"}}, {"cache_window", 0}});
  nlohmann::json counter = {{"name", "prometheus_http_requests_total"},
                            {"labels", {{"handler", "/api/v1/query"}}}};
  auto before = read_once(*self, counter);
  double base = before && !before->empty() ? (*before)[0].value : 0;  // absent before any query

  std::vector<int> handles;
  for (int i = 0; i < 3; ++i) {
    handles.push_back(*prom->prepare({{"query", "count(up)"}}));  // three groups, one PromQL
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 9; ++i) {
    threads.emplace_back([&, i] {
      auto r = prom->read(handles[static_cast<std::size_t>(i % 3)], {}, wall_now(), seconds(5));
      if (r && r->size() == 1 && (*r)[0].value >= 1) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 9);
  auto after = read_once(*self, counter);
  ASSERT_TRUE(after.has_value()) << after.error().message;
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].value - base, 1) << "nine reads, one request to Prometheus";
}

TEST(Live, ScrapeParsesPrometheusOwnMetrics) {
  REQUIRE_PHASE("live");
  const std::string url = env("TIDE_TEST_PROMETHEUS_URL");
  auto scrape = make("prometheus-scrape", {{"urls", {url + "/metrics"}}});
  // A real exposition: HELP/TYPE, histograms, escaped labels, thousands of lines.
  auto r = read_once(*scrape, {{"name", "prometheus_build_info"}, {"aggregate", "count"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 1);
  r = read_once(*scrape, {{"name", "prometheus_http_request_duration_seconds_bucket"},
                          {"labels", {{"handler", "/metrics"}, {"le", "+Inf"}}}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_GE((*r)[0].value, 1);
  r = read_once(*scrape, {{"name", "go_goroutines"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_GT((*r)[0].value, 0);
}

TEST(Live, ScrapePerInstanceReadsEachEndpoint) {
  REQUIRE_PHASE("live");
  auto scrape = make("prometheus-scrape", {{"per_instance", true}, {"timeout", 2000}});
  std::vector<InstanceEndpoint> endpoints = {
      {"prometheus", host_port(env("TIDE_TEST_PROMETHEUS_URL"))},
      {"exporter", env("TIDE_TEST_EXPORTER")},
      {"gone", env("TIDE_TEST_DEAD_ADDRESS")},  // nothing listens there
  };
  auto r = read_once(*scrape, {{"name", "process_start_time_seconds"}}, seconds(3), endpoints);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].instance, "prometheus");
  EXPECT_GT((*r)[0].value, 1e9);
  EXPECT_EQ((*r)[1].instance, "exporter");
  EXPECT_EQ((*r)[1].value, 1.7e9);
  r = read_once(*scrape, {{"name", "tide_test_queue_depth"}, {"labels", {{"queue", "mail"}}}},
                seconds(3), endpoints);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].instance, "exporter");
  EXPECT_EQ((*r)[0].value, 8);
}

TEST(Live, RedisListStreamPendingAndSortedSet) {
  REQUIRE_PHASE("live");
  RedisClient redis;
  ASSERT_TRUE(redis.ok());
  redis.run({"DEL", "it:jobs", "it:events", "it:delayed"});
  for (int i = 0; i < 5; ++i) redis.run({"RPUSH", "it:jobs", "job-" + std::to_string(i)});
  for (int i = 0; i < 3; ++i) redis.run({"XADD", "it:events", "*", "n", std::to_string(i)});
  std::string error;
  redis.run({"XGROUP", "CREATE", "it:events", "workers", "0"}, &error);
  ASSERT_EQ(error, "");
  // A consumer takes two entries without acknowledging them: two pending.
  redis.run({"XREADGROUP", "GROUP", "workers", "w1", "COUNT", "2", "STREAMS", "it:events", ">"},
            &error);
  ASSERT_EQ(error, "");
  redis.run({"ZADD", "it:delayed", "1", "a", "2", "b", "3", "c", "4", "d"});

  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}, {"timeout", 2000}});
  ASSERT_NE(src, nullptr);
  auto value = [&](nlohmann::json q) -> double {
    auto r = read_once(*src, q);
    EXPECT_TRUE(r.has_value()) << q.dump() << ": " << r.error().message;
    if (!r || r->size() != 1) return -1;
    EXPECT_EQ((*r)[0].instance, "");
    return (*r)[0].value;
  };
  EXPECT_EQ(value({{"key", "it:jobs"}}), 5);
  EXPECT_EQ(value({{"key", "it:jobs"}, {"kind", "list"}}), 5);
  EXPECT_EQ(value({{"key", "it:events"}, {"kind", "stream"}}), 3);
  EXPECT_EQ(value({{"key", "it:events"}, {"kind", "pending"}, {"group", "workers"}}), 2);
  EXPECT_EQ(value({{"key", "it:delayed"}, {"kind", "zset"}}), 4);
  EXPECT_EQ(value({{"key", "it:missing"}}), 0) << "a missing list is empty";

  // The backlog follows the data: more jobs, one acknowledged.
  redis.run({"RPUSH", "it:jobs", "job-5", "job-6"});
  EXPECT_EQ(value({{"key", "it:jobs"}}), 7);

  // Errors carry Redis's own message.
  auto r = read_once(*src, {{"key", "it:events"}, {"kind", "pending"}, {"group", "nobody"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("NOGROUP"), std::string::npos) << r.error().message;
  r = read_once(*src, {{"key", "it:jobs"}, {"kind", "stream"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("WRONGTYPE"), std::string::npos) << r.error().message;
}

TEST(Live, RedisSelectsTheDatabaseOfTheUrl) {
  REQUIRE_PHASE("live");
  RedisClient redis;
  ASSERT_TRUE(redis.ok());
  redis.run({"SELECT", "3"});
  redis.run({"DEL", "it:db3"});
  redis.run({"RPUSH", "it:db3", "a", "b"});
  redis.run({"SELECT", "0"});
  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL") + "/3"}});
  auto r = read_once(*src, {{"key", "it:db3"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 2);
}

TEST(Live, RedisReconnectsAfterItsConnectionIsKilled) {
  REQUIRE_PHASE("live");
  RedisClient redis;
  ASSERT_TRUE(redis.ok());
  redis.run({"DEL", "it:re"});
  redis.run({"RPUSH", "it:re", "x"});
  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}});
  auto q = src->prepare({{"key", "it:re"}});
  ASSERT_TRUE(src->read(*q, {}, wall_now(), seconds(2)).has_value());
  // Kill every other client connection (the source's pooled one), as a Redis restart would.
  redis.run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  auto r = src->read(*q, {}, wall_now(), seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 1);
}

TEST(Live, RedisPasswordFromTheEnvironment) {
  REQUIRE_PHASE("live");
  RedisClient redis;
  ASSERT_TRUE(redis.ok());
  std::string error;
  redis.run({"CONFIG", "SET", "requirepass", "it-s3cret"}, &error);
  ASSERT_EQ(error, "");
  redis.run({"AUTH", "it-s3cret"});
  redis.run({"DEL", "it:auth"});
  redis.run({"RPUSH", "it:auth", "1", "2", "3"});

  ::setenv("TIDE_IT_REDIS_PASSWORD", "it-s3cret", 1);
  auto with = make(
      "redis", {{"url", env("TIDE_TEST_REDIS_URL")}, {"password_env", "TIDE_IT_REDIS_PASSWORD"}});
  auto without = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}});
  auto from_url =
      make("redis", {{"url", "redis://:it-s3cret@" + env("TIDE_TEST_REDIS_URL").substr(8)}});
  auto r1 = read_once(*with, {{"key", "it:auth"}});
  auto r2 = read_once(*without, {{"key", "it:auth"}});
  auto r3 = read_once(*from_url, {{"key", "it:auth"}});
  redis.run({"CONFIG", "SET", "requirepass", ""});  // restore before asserting
  ::unsetenv("TIDE_IT_REDIS_PASSWORD");

  ASSERT_TRUE(r1.has_value()) << r1.error().message;
  EXPECT_EQ((*r1)[0].value, 3);
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message.find("NOAUTH"), std::string::npos) << r2.error().message;
  ASSERT_TRUE(r3.has_value()) << r3.error().message;
  EXPECT_EQ((*r3)[0].value, 3);
  for (const auto* r : {&r1, &r2, &r3}) {
    if (!r->has_value()) {
      EXPECT_EQ(r->error().message.find("it-s3cret"), std::string::npos);
    }
  }
}

TEST(Live, RedisIsSafeFromSeveralThreads) {
  REQUIRE_PHASE("live");
  RedisClient redis;
  ASSERT_TRUE(redis.ok());
  redis.run({"DEL", "it:mt"});
  redis.run({"RPUSH", "it:mt", "a", "b", "c", "d"});
  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}});
  auto q = *src->prepare({{"key", "it:mt"}});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = src->read(q, {}, wall_now(), seconds(2));
        if (r && r->size() == 1 && (*r)[0].value == 4) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

// ================================ Frozen ================================
// SIGSTOP'd servers: the kernel still accepts connections, nothing answers. Every read must end
// in an error within its timeout.

template <class F>
void expect_error_within(F&& read, milliseconds limit, ErrorCode code) {
  auto start = Steady::now();
  Result<std::vector<Sample>> r = read();
  auto took = Steady::now() - start;
  ASSERT_FALSE(r.has_value()) << "a frozen or stopped server gave data";
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_LT(took, limit) << r.error().message;
}

TEST(Frozen, RedisReadTimesOut) {
  REQUIRE_PHASE("frozen");
  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}, {"timeout", 500}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"key", "it:jobs"}}, seconds(5));
      },
      milliseconds(1500), ErrorCode::kTimeout);
}

TEST(Frozen, PrometheusQueryTimesOut) {
  REQUIRE_PHASE("frozen");
  auto src = make("prometheus", {{"url", env("TIDE_TEST_PROMETHEUS_URL")}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"query", "up"}}, milliseconds(500));
      },
      milliseconds(1500), ErrorCode::kTimeout);
}

TEST(Frozen, ScrapeTimesOut) {
  REQUIRE_PHASE("frozen");
  auto src = make("prometheus-scrape",
                  {{"urls", {env("TIDE_TEST_PROMETHEUS_URL") + "/metrics"}}, {"timeout", 500}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"name", "up"}}, seconds(5));
      },
      milliseconds(1500), ErrorCode::kTimeout);
}

// ================================ Stopped ================================

TEST(Stopped, RedisIsUnavailableAtOnce) {
  REQUIRE_PHASE("stopped");
  auto src = make("redis", {{"url", env("TIDE_TEST_REDIS_URL")}, {"timeout", 2000}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"key", "it:jobs"}});
      },
      milliseconds(1000), ErrorCode::kUnavailable);
}

TEST(Stopped, PrometheusIsUnavailableAtOnce) {
  REQUIRE_PHASE("stopped");
  auto src = make("prometheus", {{"url", env("TIDE_TEST_PROMETHEUS_URL")}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"query", "up"}}, seconds(2));
      },
      milliseconds(1000), ErrorCode::kUnavailable);
}

TEST(Stopped, ScrapeIsUnavailableAtOnce) {
  REQUIRE_PHASE("stopped");
  auto src = make("prometheus-scrape", {{"urls", {env("TIDE_TEST_PROMETHEUS_URL") + "/metrics"}}});
  expect_error_within(
      [&] {
        return read_once(*src, {{"name", "up"}}, seconds(2));
      },
      milliseconds(1000), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace tide
