#include "sources/prometheus_scrape/scrape.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "sources/testing/fake_http.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);

ScrapeSnapshot snap(const std::string& text, TimePoint at) {
  auto parsed = parse_exposition(text);
  EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
  return ScrapeSnapshot{parsed.value_or(Exposition{}), at};
}

struct EvalCase {
  const char* name;
  ScrapeQuery query;
  const char* cur;
  const char* prev;  // nullptr: no previous scrape
  std::optional<double> want;
};

class EvaluateScrapeTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(EvaluateScrapeTest, Evaluates) {
  const EvalCase& c = GetParam();
  ScrapeSnapshot cur = snap(c.cur, kT0 + seconds(10));
  std::optional<ScrapeSnapshot> prev;
  if (c.prev != nullptr) prev = snap(c.prev, kT0);
  auto got = evaluate_scrape(c.query, cur, prev ? &*prev : nullptr);
  ASSERT_EQ(got.has_value(), c.want.has_value());
  if (c.want) {
    EXPECT_DOUBLE_EQ(got->value, *c.want);
  }
}

constexpr const char* kWorkers =
    "# TYPE inflight gauge\n"
    "inflight{path=\"/a\",method=\"GET\"} 3\n"
    "inflight{path=\"/b\",method=\"GET\"} 5\n"
    "inflight{path=\"/b\",method=\"POST\"} 1\n"
    "inflight_other 100\n"
    "broken NaN\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, EvaluateScrapeTest,
    ::testing::Values(
        EvalCase{"sum_by_default", {.name = "inflight"}, kWorkers, nullptr, 9},
        EvalCase{"exact_name_only", {.name = "inflight_other"}, kWorkers, nullptr, 100},
        EvalCase{"label_matcher",
                 {.name = "inflight", .labels = {{"path", "/b"}}},
                 kWorkers,
                 nullptr,
                 6},
        EvalCase{"two_label_matchers",
                 {.name = "inflight", .labels = {{"path", "/b"}, {"method", "POST"}}},
                 kWorkers,
                 nullptr,
                 1},
        EvalCase{"empty_matcher_matches_missing_label",
                 {.name = "inflight_other", .labels = {{"path", ""}}},
                 kWorkers,
                 nullptr,
                 100},
        EvalCase{"no_match",
                 {.name = "inflight", .labels = {{"path", "/c"}}},
                 kWorkers,
                 nullptr,
                 std::nullopt},
        EvalCase{"avg", {.name = "inflight", .aggregate = Aggregate::kAvg}, kWorkers, nullptr, 3},
        EvalCase{"min", {.name = "inflight", .aggregate = Aggregate::kMin}, kWorkers, nullptr, 1},
        EvalCase{"max", {.name = "inflight", .aggregate = Aggregate::kMax}, kWorkers, nullptr, 5},
        EvalCase{
            "count", {.name = "inflight", .aggregate = Aggregate::kCount}, kWorkers, nullptr, 3},
        EvalCase{"count_of_nothing_is_zero",
                 {.name = "absent", .aggregate = Aggregate::kCount},
                 kWorkers,
                 nullptr,
                 0},
        EvalCase{"nan_is_no_value", {.name = "broken"}, kWorkers, nullptr, std::nullopt},
        EvalCase{"rate_needs_a_previous_scrape",
                 {.name = "req_total", .rate = true},
                 "req_total 100\n",
                 nullptr,
                 std::nullopt},
        EvalCase{"rate_over_ten_seconds",
                 {.name = "req_total", .rate = true},
                 "req_total 150\n",
                 "req_total 100\n",
                 5},
        EvalCase{"rate_counter_reset",
                 {.name = "req_total", .rate = true},
                 "req_total 20\n",
                 "req_total 100\n",
                 2},
        EvalCase{
            "rate_sums_series_matched_by_labels",
            {.name = "req_total", .rate = true},
            "req_total{code=\"500\"} 10\nreq_total{code=\"200\"} 300\nreq_total{code=\"404\"} 1\n",
            "req_total{code=\"200\"} 100\nreq_total{code=\"500\"} 0\n",
            21},
        EvalCase{"rate_label_order_does_not_matter",
                 {.name = "c", .rate = true},
                 "c{b=\"2\",a=\"1\"} 30\n",
                 "c{a=\"1\",b=\"2\"} 10\n",
                 2},
        EvalCase{"rate_uses_sample_timestamps",
                 {.name = "c", .rate = true},
                 "c 40 1700000004000\n",
                 "c 0 1700000000000\n",
                 10}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(EvaluateScrapeTest, UsesTheLatestSampleTimestamp) {
  ScrapeSnapshot cur = snap("a 1 1700000001000\na 2 1700000002000\nb 1\n", kT0 + seconds(60));
  auto v = evaluate_scrape({.name = "a"}, cur, nullptr);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at, from_unix_seconds(1'700'000'002));
  v = evaluate_scrape({.name = "b"}, cur, nullptr);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at, kT0 + seconds(60));
}

// ---- the source against in-process /metrics servers ----

SourceSpec spec(nlohmann::json params) {
  return SourceSpec{.name = "workers", .type = "prometheus-scrape", .params = std::move(params)};
}

// A /metrics endpoint whose body the test sets.
struct Endpoint {
  testing::FakeHttp http;
  std::mutex mu;
  std::string body = "inflight 1\n";
  int status = 200;
  milliseconds delay{0};

  Endpoint() {
    http.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      ++http.hits;
      milliseconds d;
      {
        std::lock_guard lock(mu);
        d = delay;
        res.status = status;
        res.set_content(body, "text/plain; version=0.0.4");
      }
      if (d.count() > 0) http.sleep(d);
    });
    http.server().Get("/custom/path", [this](const httplib::Request&, httplib::Response& res) {
      ++http.hits;
      std::lock_guard lock(mu);
      res.set_content(body, "text/plain");
    });
    http.start();
  }
  void set(std::string b, int s = 200) {
    std::lock_guard lock(mu);
    body = std::move(b);
    status = s;
  }
};

std::unique_ptr<Source> make(nlohmann::json params) {
  auto s = make_prometheus_scrape_source(spec(std::move(params)));
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

TEST(ScrapeSourceTest, SingleUrlGivesOneAggregateSample) {
  Endpoint e;
  e.set("# TYPE inflight gauge\ninflight{path=\"/a\"} 4\ninflight{path=\"/b\"} 6\n");
  auto src = make({{"urls", {e.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "inflight"}});
  ASSERT_TRUE(q.has_value());
  auto r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 10);
  EXPECT_EQ((*r)[0].instance, "");
  EXPECT_EQ((*r)[0].at, kT0);
}

TEST(ScrapeSourceTest, SeveralUrlsGiveOneSamplePerHostPort) {
  Endpoint a, b;
  a.set("inflight 2\n");
  b.set("inflight 7\n");
  auto src = make({{"urls", {a.http.url("/metrics"), b.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "inflight"}});
  auto r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].instance, a.http.address());
  EXPECT_EQ((*r)[0].value, 2);
  EXPECT_EQ((*r)[1].instance, b.http.address());
  EXPECT_EQ((*r)[1].value, 7);
}

TEST(ScrapeSourceTest, PerInstanceScrapesTheGivenEndpointsInParallel) {
  Endpoint a, b, c;
  a.set("inflight 1\n");
  b.set("inflight 2\n");
  c.set("inflight 3\n");
  for (Endpoint* e : {&a, &b, &c}) e->delay = milliseconds(600);
  auto src = make({{"per_instance", true}});
  auto q = src->prepare({{"name", "inflight"}});
  std::vector<InstanceEndpoint> eps = {{"w1", a.http.address()},
                                       {"w2", b.http.address()},
                                       {"w3", c.http.address()},
                                       {"booting", ""}};
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, eps, kT0, seconds(3));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].instance, "w1");
  EXPECT_EQ((*r)[0].value, 1);
  EXPECT_EQ((*r)[1].instance, "w2");
  EXPECT_EQ((*r)[2].instance, "w3");
  EXPECT_EQ((*r)[2].value, 3);
  EXPECT_LT(took, milliseconds(1500)) << "the three 600 ms scrapes should overlap";
  // No endpoints (a group scaled to zero): no data, not an error.
  r = src->read(*q, {}, kT0, seconds(1));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->empty());
}

TEST(ScrapeSourceTest, PerInstanceUsesTheConfiguredPath) {
  Endpoint a;
  a.set("x 5\n");
  auto src = make({{"per_instance", true}, {"path", "custom/path"}});
  auto q = src->prepare({{"name", "x"}});
  auto r = src->read(*q, {{"w", a.http.address()}}, kT0, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 5);
}

TEST(ScrapeSourceTest, OneScrapeServesEveryQueryInTheWindow) {
  Endpoint e;
  e.set("a 1\nb 2\n");
  auto src = make({{"urls", {e.http.url("/metrics")}}, {"cache_window", 60000}});
  auto qa = src->prepare({{"name", "a"}});
  auto qb = src->prepare({{"name", "b"}});
  EXPECT_EQ(src->read(*qa, {}, kT0, seconds(2))->at(0).value, 1);
  EXPECT_EQ(src->read(*qb, {}, kT0, seconds(2))->at(0).value, 2);
  EXPECT_EQ(src->read(*qa, {}, kT0, seconds(2))->at(0).value, 1);
  EXPECT_EQ(e.http.hits.load(), 1);
}

TEST(ScrapeSourceTest, ConcurrentReadsShareOneScrape) {
  Endpoint e;
  e.set("a 1\n");
  e.delay = milliseconds(200);
  auto src = make({{"urls", {e.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "a"}});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = src->read(*q, {}, kT0, seconds(2));
      if (r && r->size() == 1 && (*r)[0].value == 1) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(e.http.hits.load(), 1);
}

TEST(ScrapeSourceTest, ExpiredWindowScrapesAgainAndRatesUseTheLastTwoScrapes) {
  Endpoint e;
  e.set("req_total 100\n");
  auto src = make({{"urls", {e.http.url("/metrics")}}, {"cache_window", 0}});
  auto q = src->prepare({{"name", "req_total"}, {"rate", true}});
  auto r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->empty()) << "no rate after the first scrape";
  e.set("req_total 160\n");
  r = src->read(*q, {}, kT0 + seconds(15), seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_DOUBLE_EQ((*r)[0].value, 4);
  EXPECT_EQ(e.http.hits.load(), 2);
}

TEST(ScrapeSourceTest, AFailingEndpointOnlyLosesItsSample) {
  Endpoint good, bad;
  good.set("a 1\n");
  bad.set("oops", 500);
  auto src = make({{"per_instance", true}});
  auto q = src->prepare({{"name", "a"}});
  auto r =
      src->read(*q, {{"good", good.http.address()}, {"bad", bad.http.address()}}, kT0, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].instance, "good");
}

TEST(ScrapeSourceTest, AllEndpointsFailingIsAnError) {
  Endpoint bad;
  bad.set("boom", 503);
  auto src = make({{"urls", {bad.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "a"}});
  auto r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("HTTP 503: boom"), std::string::npos) << r.error().message;

  bad.set("a{b=} 1\n");
  r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not in the Prometheus text format: line 1"), std::string::npos)
      << r.error().message;
}

TEST(ScrapeSourceTest, AMissingMetricIsNotFound) {
  Endpoint e;
  e.set("other 1\n");
  auto src = make({{"urls", {e.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "inflight"}, {"labels", {{"path", "/x"}}}});
  auto r = src->read(*q, {}, kT0, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("no series inflight{path=\"/x\"}"), std::string::npos)
      << r.error().message;
}

TEST(ScrapeSourceTest, ASlowEndpointTimesOutWithinTheReadTimeout) {
  Endpoint slow;
  slow.delay = milliseconds(3000);
  auto src = make({{"urls", {slow.http.url("/metrics")}}});
  auto q = src->prepare({{"name", "inflight"}});
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, {}, kT0, milliseconds(300));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST(ScrapeSourceTest, ConfigErrors) {
  EXPECT_FALSE(make_prometheus_scrape_source(spec(nlohmann::json::object())).has_value());
  EXPECT_FALSE(
      make_prometheus_scrape_source(spec({{"urls", {"http://a/metrics"}}, {"per_instance", true}}))
          .has_value());
  auto src = make({{"per_instance", true}});
  EXPECT_FALSE(src->prepare({{"name", "a"}, {"aggregate", "median"}}).has_value());
  EXPECT_FALSE(src->read(7, {}, kT0, seconds(1)).has_value());
}

}  // namespace
}  // namespace tide
