#include "sources/prometheus/prometheus.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "sources/testing/fake_http.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;

struct ParseCase {
  const char* name;
  long status;
  const char* body;
  // expected series as (instance label, value); empty on error
  std::vector<std::pair<std::string, double>> want;
  const char* error = nullptr;  // substring of the error message
  ErrorCode code = ErrorCode::kUnavailable;
};

class ParseQueryResponseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseQueryResponseTest, Parses) {
  const ParseCase& c = GetParam();
  auto r = parse_query_response(c.body, c.status);
  if (c.error != nullptr) {
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    return;
  }
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), c.want.size());
  for (std::size_t i = 0; i < c.want.size(); ++i) {
    auto it = (*r)[i].labels.find("instance");
    EXPECT_EQ(it == (*r)[i].labels.end() ? "" : it->second, c.want[i].first);
    if (std::isnan(c.want[i].second)) {
      EXPECT_TRUE(std::isnan((*r)[i].value));
    } else {
      EXPECT_EQ((*r)[i].value, c.want[i].second);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseQueryResponseTest,
    ::testing::Values(
        ParseCase{"vector_two_series",
                  200,
                  R"({"status":"success","data":{"resultType":"vector","result":[
                     {"metric":{"__name__":"up","instance":"a:1","job":"j"},"value":[1700000000.5,"1"]},
                     {"metric":{"__name__":"up","instance":"b:1","job":"j"},"value":[1700000000.5,"0"]}]}})",
                  {{"a:1", 1}, {"b:1", 0}}},
        ParseCase{
            "vector_aggregate_without_labels",
            200,
            R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"42.5"]}]}})",
            {{"", 42.5}}},
        ParseCase{"empty_vector",
                  200,
                  R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                  {}},
        ParseCase{
            "scalar",
            200,
            R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"3.25"]}})",
            {{"", 3.25}}},
        ParseCase{"numeric_string",
                  200,
                  R"({"status":"success","data":{"resultType":"string","result":[1,"7"]}})",
                  {{"", 7}}},
        ParseCase{"special_values",
                  200,
                  R"({"status":"success","data":{"resultType":"vector","result":[
                     {"metric":{"instance":"x"},"value":[1,"NaN"]},
                     {"metric":{"instance":"y"},"value":[1,"+Inf"]}]}})",
                  {{"x", NAN}, {"y", INFINITY}}},
        ParseCase{
            "warnings_are_ignored",
            200,
            R"({"status":"success","warnings":["w"],"data":{"resultType":"scalar","result":[1,"1"]}})",
            {{"", 1}}},
        ParseCase{"native_histogram_series_are_skipped",
                  200,
                  R"({"status":"success","data":{"resultType":"vector","result":[
                     {"metric":{"instance":"h"},"histogram":[1,{"count":"3"}]},
                     {"metric":{"instance":"v"},"value":[1,"2"]}]}})",
                  {{"v", 2}}},
        ParseCase{
            "bad_data_error",
            400,
            R"({"status":"error","errorType":"bad_data","error":"1:9: parse error: unclosed left parenthesis"})",
            {},
            "bad_data: 1:9: parse error: unclosed left parenthesis",
            ErrorCode::kInvalidArgument},
        ParseCase{
            "execution_error",
            422,
            R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})",
            {},
            "execution: many-to-many matching not allowed"},
        ParseCase{
            "timeout_error",
            503,
            R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
            {},
            "timeout: query timed out",
            ErrorCode::kTimeout},
        ParseCase{"matrix_is_rejected",
                  200,
                  R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                  {},
                  "range vector",
                  ErrorCode::kInvalidArgument},
        ParseCase{"non_json_error_page",
                  502,
                  "<html>Bad Gateway</html>",
                  {},
                  "HTTP 502: <html>Bad Gateway</html>"},
        ParseCase{"non_json_success", 200, "hello", {}, "not a JSON object"},
        ParseCase{"missing_data", 200, R"({"status":"success"})", {}, "no data.result"},
        ParseCase{"bad_point",
                  200,
                  R"({"status":"success","data":{"resultType":"scalar","result":["x","1"]}})",
                  {},
                  "expected [time, \"value\"]"},
        ParseCase{"non_numeric_value",
                  200,
                  R"({"status":"success","data":{"resultType":"string","result":[1,"abc"]}})",
                  {},
                  "non-numeric value 'abc'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseQueryResponseTest, KeepsTimestampsAndLabels) {
  auto r = parse_query_response(
      R"({"status":"success","data":{"resultType":"vector","result":[
         {"metric":{"instance":"a","queue":"jobs"},"value":[1700000000.123,"1"]}]}})",
      200);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].at, TimePoint(Duration(1700000000123)));
  EXPECT_EQ((*r)[0].labels.at("queue"), "jobs");
}

// ---- the source against an in-process fake of /api/v1/query ----

class PrometheusSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      ++fake_.hits;
      {
        std::lock_guard lock(mu_);
        last_query_ = req.get_param_value("query");
        last_time_ = req.get_param_value("time");
        last_timeout_ = req.get_param_value("timeout");
        last_auth_ = req.get_header_value("Authorization");
        last_custom_ = req.get_header_value("X-Org");
        last_method_ = req.method;
      }
      if (delay_.count() > 0) fake_.sleep(delay_);
      const std::string q = req.get_param_value("query");
      if (q == "bad(") {
        res.status = 400;
        res.set_content(
            R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"})",
            "application/json");
        return;
      }
      if (q == "up") {
        res.set_content(
            R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"__name__":"up","instance":"w1:9100","pod":"p1"},"value":[1700000000,"1"]},
               {"metric":{"__name__":"up","instance":"w2:9100","pod":"p2"},"value":[1700000000,"NaN"]},
               {"metric":{"__name__":"up","instance":"w3:9100","pod":"p3"},"value":[1700000000,"0"]}]}})",
            "application/json");
        return;
      }
      res.set_content(
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}})",
          "application/json");
    };
    fake_.server().Get("/prom/api/v1/query", handler);
    fake_.server().Post("/prom/api/v1/query", handler);
    fake_.start();
  }

  std::unique_ptr<Source> make(nlohmann::json params) {
    params["url"] = fake_.url("/prom/");
    auto s = make_prometheus_source(
        SourceSpec{.name = "prom", .type = "prometheus", .params = std::move(params)});
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  testing::FakeHttp fake_;
  std::mutex mu_;
  std::string last_query_, last_time_, last_timeout_, last_auth_, last_custom_, last_method_;
  milliseconds delay_{0};
  const TimePoint now_ = TimePoint(Duration(1700000000250));
};

TEST_F(PrometheusSourceTest, InstantQueryWithTimeAndTimeout) {
  auto src = make({{"headers", {{"X-Org", "7"}}}});
  auto q = src->prepare({{"query", "sum(rate(x[5m]))"}});
  ASSERT_TRUE(q.has_value());
  auto r = src->read(*q, {}, now_, milliseconds(1500));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 42);
  EXPECT_EQ((*r)[0].instance, "");
  EXPECT_EQ((*r)[0].at, from_unix_seconds(1700000000));
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_method_, "GET");
  EXPECT_EQ(last_query_, "sum(rate(x[5m]))");
  EXPECT_EQ(last_time_, "1700000000.250");
  EXPECT_EQ(last_timeout_, "1500ms");
  EXPECT_EQ(last_custom_, "7");
  EXPECT_EQ(last_auth_, "");
}

TEST_F(PrometheusSourceTest, SeriesBecomePerInstanceSamplesWithoutNaN) {
  auto src = make({});
  auto by_instance = src->prepare({{"query", "up"}});
  auto by_pod = src->prepare({{"query", "up"}, {"instance_label", "pod"}});
  auto r = src->read(*by_instance, {}, now_, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].instance, "w1:9100");
  EXPECT_EQ((*r)[1].instance, "w3:9100");
  EXPECT_EQ((*r)[1].value, 0);
  r = src->read(*by_pod, {}, now_, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].instance, "p1");
  EXPECT_EQ(fake_.hits.load(), 1) << "both queries have the same PromQL: one request";
}

TEST_F(PrometheusSourceTest, BadPromQLCarriesPrometheusError) {
  auto src = make({});
  auto q = src->prepare({{"query", "bad("}});
  auto r = src->read(*q, {}, now_, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message,
            "query 'bad(': bad_data: 1:5: parse error: unclosed left parenthesis");
  // Errors are not cached: the next read asks again.
  r = src->read(*q, {}, now_, seconds(2));
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(fake_.hits.load(), 2);
}

TEST_F(PrometheusSourceTest, ConcurrentIdenticalQueriesShareOneRequest) {
  delay_ = milliseconds(200);
  auto src = make({});
  std::vector<int> handles;
  for (int i = 0; i < 4; ++i) handles.push_back(*src->prepare({{"query", "sum(x)"}}));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      auto r =
          src->read(handles[static_cast<std::size_t>(i) % handles.size()], {}, now_, seconds(2));
      if (r && r->size() == 1 && (*r)[0].value == 42) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(fake_.hits.load(), 1);
}

TEST_F(PrometheusSourceTest, TheCacheWindowExpires) {
  auto src = make({{"cache_window", 100}});
  auto q = src->prepare({{"query", "sum(x)"}});
  ASSERT_TRUE(src->read(*q, {}, now_, seconds(2)).has_value());
  ASSERT_TRUE(src->read(*q, {}, now_, seconds(2)).has_value());
  EXPECT_EQ(fake_.hits.load(), 1);
  std::this_thread::sleep_for(milliseconds(150));
  ASSERT_TRUE(src->read(*q, {}, now_, seconds(2)).has_value());
  EXPECT_EQ(fake_.hits.load(), 2);
}

TEST_F(PrometheusSourceTest, BearerTokenFromTheEnvironment) {
  ::setenv("TIDE_TEST_PROM_TOKEN", "tok-123", 1);
  auto src = make({{"bearer_token_env", "TIDE_TEST_PROM_TOKEN"}});
  auto q = src->prepare({{"query", "sum(x)"}});
  ASSERT_TRUE(src->read(*q, {}, now_, seconds(2)).has_value());
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(last_auth_, "Bearer tok-123");
  }
  ::unsetenv("TIDE_TEST_PROM_TOKEN");
  auto missing = make_prometheus_source(
      SourceSpec{.name = "p",
                 .type = "prometheus",
                 .params = {{"url", fake_.url()}, {"bearer_token_env", "TIDE_TEST_PROM_TOKEN"}}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("TIDE_TEST_PROM_TOKEN is not set"), std::string::npos);
}

TEST_F(PrometheusSourceTest, LongQueriesArePosted) {
  auto src = make({});
  // Over 4000 characters (not the fake server's 8 KiB limit on form bodies).
  std::string long_query = "sum(" + std::string(4500, 'x') + ")";
  auto q = src->prepare({{"query", long_query}});
  auto r = src->read(*q, {}, now_, seconds(2));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_method_, "POST");
  EXPECT_EQ(last_query_, long_query);
}

TEST_F(PrometheusSourceTest, ASlowServerIsATimeoutNotAHang) {
  delay_ = milliseconds(3000);
  auto src = make({});
  auto q = src->prepare({{"query", "sum(x)"}});
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, {}, now_, milliseconds(300));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST_F(PrometheusSourceTest, ADeadServerIsUnavailable) {
  auto src = make({});
  fake_.stop();
  auto q = src->prepare({{"query", "sum(x)"}});
  auto r = src->read(*q, {}, now_, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("query 'sum(x)': GET http://127.0.0.1:"), std::string::npos)
      << r.error().message;
}

TEST_F(PrometheusSourceTest, EmptyQueryAndUnknownHandleAreErrors) {
  auto src = make({});
  EXPECT_FALSE(src->prepare({{"query", "  "}}).has_value());
  EXPECT_FALSE(src->read(3, {}, now_, seconds(1)).has_value());
}

}  // namespace
}  // namespace tide
