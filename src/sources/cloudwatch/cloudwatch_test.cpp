#include "sources/cloudwatch/cloudwatch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// 2026-01-01T00:10:30Z
const TimePoint kNow = TimePoint(std::chrono::seconds(1767225600 + 630));

TimePoint at(const char* text) {
  return *parse_time(text);
}

// ---- query keys ------------------------------------------------------------------------------

struct QueryCase {
  const char* name;
  json query;
  std::string want_error;  // "" = valid
};

class ParseCwQueryTest : public ::testing::TestWithParam<QueryCase> {};

TEST_P(ParseCwQueryTest, Checks) {
  auto q = parse_cw_query(GetParam().query);
  if (GetParam().want_error.empty()) {
    EXPECT_TRUE(q.has_value()) << q.error().message;
  } else {
    ASSERT_FALSE(q.has_value());
    EXPECT_NE(q.error().message.find(GetParam().want_error), std::string::npos)
        << q.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseCwQueryTest,
    ::testing::Values(
        QueryCase{"metric", {{"namespace", "AWS/EC2"}, {"name", "CPUUtilization"}}, ""},
        QueryCase{
            "expression", {{"expression", "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\""}}, ""},
        QueryCase{"high_resolution", {{"expression", "x"}, {"period", 10000}}, ""},
        QueryCase{"five_minutes", {{"expression", "x"}, {"period", 300000}}, ""},
        QueryCase{"odd_period", {{"expression", "x"}, {"period", 90000}}, "multiple of 60s"},
        QueryCase{"sub_second", {{"expression", "x"}, {"period", 1500}}, "whole number"},
        QueryCase{
            "both", {{"expression", "x"}, {"namespace", "A"}, {"name", "B"}}, "exactly one of"},
        QueryCase{"neither", json::object(), "exactly one of"},
        QueryCase{"name_without_namespace", {{"name", "B"}}, "needs 'namespace'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseCwQuery, Defaults) {
  auto q =
      parse_cw_query({{"namespace", "AWS/EC2"}, {"name", "CPUUtilization"}, {"period", 300000}});
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->statistic, "Average");
  EXPECT_EQ(q->period, seconds(300));
  EXPECT_EQ(q->delay, seconds(300));  // one period
}

// ---- the window and the reporting delay ------------------------------------------------------

struct WindowCase {
  const char* name;
  int period_s;
  int delay_s;
  const char* now;
  const char* want_start;
  const char* want_end;
};

class CwWindowTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(CwWindowTest, AlignsToThePeriodAfterTheDelay) {
  const WindowCase& c = GetParam();
  CwQuery q;
  q.period = seconds(c.period_s);
  q.delay = seconds(c.delay_s);
  CwWindow w = cw_window(q, at(c.now));
  EXPECT_EQ(format_time(w.start), c.want_start);
  EXPECT_EQ(format_time(w.end), c.want_end);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CwWindowTest,
    ::testing::Values(
        // 00:10:30 minus 60 s = 00:09:30 -> end 00:09:00: the newest usable datapoint is 00:08.
        WindowCase{"minute", 60, 60, "2026-01-01T00:10:30Z", "2026-01-01T00:04:00Z",
                   "2026-01-01T00:09:00Z"},
        WindowCase{"on_the_boundary", 60, 60, "2026-01-01T00:10:00Z", "2026-01-01T00:04:00Z",
                   "2026-01-01T00:09:00Z"},
        WindowCase{"no_delay", 60, 0, "2026-01-01T00:10:30Z", "2026-01-01T00:05:00Z",
                   "2026-01-01T00:10:00Z"},
        WindowCase{"five_minutes", 300, 120, "2026-01-01T00:10:30Z", "2025-12-31T23:40:00Z",
                   "2026-01-01T00:05:00Z"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- request and response --------------------------------------------------------------------

TEST(GetMetricDataParams, SerializesMetricsAndExpressions) {
  CwQuery cpu;
  cpu.metric_namespace = "AWS/EC2";
  cpu.name = "CPUUtilization";
  cpu.dimensions = {{"AutoScalingGroupName", "web"}};
  cpu.statistic = "p90";
  cpu.unit = "Percent";
  CwQuery math;
  math.expression = "SEARCH('{AWS/SQS,QueueName} ApproximateNumberOfMessagesVisible', 'Sum')";
  math.period = seconds(300);
  auto p = get_metric_data_params({{"q0", &cpu}, {"q7", &math}}, at("2026-01-01T00:04:00Z"),
                                  at("2026-01-01T00:09:00Z"), "tok");
  aws::QueryParams want = {
      {"MetricDataQueries.member.1.Id", "q0"},
      {"MetricDataQueries.member.1.MetricStat.Metric.Namespace", "AWS/EC2"},
      {"MetricDataQueries.member.1.MetricStat.Metric.MetricName", "CPUUtilization"},
      {"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name",
       "AutoScalingGroupName"},
      {"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value", "web"},
      {"MetricDataQueries.member.1.MetricStat.Period", "60"},
      {"MetricDataQueries.member.1.MetricStat.Stat", "p90"},
      {"MetricDataQueries.member.1.MetricStat.Unit", "Percent"},
      {"MetricDataQueries.member.1.ReturnData", "true"},
      {"MetricDataQueries.member.2.Id", "q7"},
      {"MetricDataQueries.member.2.Expression",
       "SEARCH('{AWS/SQS,QueueName} ApproximateNumberOfMessagesVisible', 'Sum')"},
      {"MetricDataQueries.member.2.Period", "300"},
      {"MetricDataQueries.member.2.ReturnData", "true"},
      {"StartTime", "2026-01-01T00:04:00Z"},
      {"EndTime", "2026-01-01T00:09:00Z"},
      {"ScanBy", "TimestampDescending"},
      {"NextToken", "tok"},
  };
  EXPECT_EQ(p, want);
}

// As in the GetMetricData API reference (Query protocol, XML).
constexpr const char* kResponse =
    R"(<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <GetMetricDataResult>
    <MetricDataResults>
      <member>
        <Timestamps>
          <member>2026-01-01T00:08:00Z</member>
          <member>2026-01-01T00:07:00Z</member>
        </Timestamps>
        <StatusCode>Complete</StatusCode>
        <Values>
          <member>42.5</member>
          <member>40.0</member>
        </Values>
        <Id>q0</Id>
        <Label>CPUUtilization</Label>
      </member>
      <member>
        <Timestamps/>
        <StatusCode>Forbidden</StatusCode>
        <Values/>
        <Messages>
          <member><Code>Forbidden</Code><Value>Account 1 is not a monitoring account</Value></member>
        </Messages>
        <Id>q1</Id>
        <Label>other</Label>
      </member>
    </MetricDataResults>
    <NextToken>page-2</NextToken>
    <Messages/>
  </GetMetricDataResult>
  <ResponseMetadata>
    <RequestId>9f6ba2d4-ec44-4b25-a2c6-EXAMPLE</RequestId>
  </ResponseMetadata>
</GetMetricDataResponse>)";

TEST(ParseGetMetricData, ReadsResultsMessagesAndTheNextToken) {
  auto page = parse_get_metric_data(kResponse);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  EXPECT_EQ(page->next_token, "page-2");
  ASSERT_EQ(page->results.size(), 2u);
  const CwSeries& cpu = page->results[0];
  EXPECT_EQ(cpu.id, "q0");
  EXPECT_EQ(cpu.label, "CPUUtilization");
  EXPECT_EQ(cpu.status_code, "Complete");
  ASSERT_EQ(cpu.points.size(), 2u);
  EXPECT_EQ(cpu.points[0].first, at("2026-01-01T00:08:00Z"));
  EXPECT_EQ(cpu.points[0].second, 42.5);
  EXPECT_EQ(page->results[1].messages,
            std::vector<std::string>{"Forbidden: Account 1 is not a monitoring account"});
}

TEST(ParseGetMetricData, RejectsMalformedResults) {
  EXPECT_FALSE(parse_get_metric_data("<x/>").has_value());
  EXPECT_FALSE(parse_get_metric_data(
                   "<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>q0"
                   "</Id><Timestamps><member>2026-01-01T00:08:00Z</member></Timestamps><Values/>"
                   "</member></MetricDataResults></GetMetricDataResult></GetMetricDataResponse>")
                   .has_value());
}

struct SampleCase {
  const char* name;
  std::vector<CwSeries> series;
  bool want_ok;
  std::vector<Sample> want;
  std::string want_error;
};

class CwSamplesTest : public ::testing::TestWithParam<SampleCase> {};

TEST_P(CwSamplesTest, TakesTheNewestCompleteDatapoint) {
  const SampleCase& c = GetParam();
  CwQuery q;
  q.metric_namespace = "AWS/EC2";
  q.name = "CPUUtilization";
  auto r = cw_samples(q, c.series, kNow);  // window [00:04, 00:09)
  ASSERT_EQ(r.has_value(), c.want_ok) << (r ? "" : r.error().message);
  if (!c.want_ok) {
    EXPECT_NE(r.error().message.find(c.want_error), std::string::npos) << r.error().message;
    return;
  }
  ASSERT_EQ(r->size(), c.want.size());
  for (std::size_t i = 0; i < c.want.size(); ++i) {
    EXPECT_EQ((*r)[i].value, c.want[i].value) << i;
    EXPECT_EQ((*r)[i].at, c.want[i].at) << i;
    EXPECT_EQ((*r)[i].instance, c.want[i].instance) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CwSamplesTest,
    ::testing::Values(
        SampleCase{"partial_newest_skipped",
                   {{"q0",
                     "cpu",
                     "Complete",
                     {{at("2026-01-01T00:10:00Z"), 99},
                      {at("2026-01-01T00:09:00Z"), 98},
                      {at("2026-01-01T00:08:00Z"), 42},
                      {at("2026-01-01T00:07:00Z"), 40}},
                     {}}},
                   true,
                   {{42, at("2026-01-01T00:08:00Z"), ""}},
                   ""},
        SampleCase{"sparse_metric_uses_an_older_point",
                   {{"q0", "cpu", "Complete", {{at("2026-01-01T00:05:00Z"), 7}}, {}}},
                   true,
                   {{7, at("2026-01-01T00:05:00Z"), ""}},
                   ""},
        SampleCase{"too_old_is_no_data",
                   {{"q0", "cpu", "Complete", {{at("2026-01-01T00:03:00Z"), 7}}, {}}},
                   true,
                   {},
                   ""},
        SampleCase{"no_series_is_no_data", {}, true, {}, ""},
        SampleCase{
            "search_gives_one_sample_per_series",
            {{"q0", "i-1", "Complete", {{at("2026-01-01T00:08:00Z"), 10}}, {}},
             {"q0", "i-2", "Complete", {{at("2026-01-01T00:08:00Z"), 30}}, {}}},
            true,
            {{10, at("2026-01-01T00:08:00Z"), "i-1"}, {30, at("2026-01-01T00:08:00Z"), "i-2"}},
            ""},
        SampleCase{
            "forbidden",
            {{"q0", "cpu", "Forbidden", {}, {"Forbidden: not allowed"}}},
            false,
            {},
            "CloudWatch AWS/EC2 CPUUtilization Average: StatusCode Forbidden: Forbidden: not "
            "allowed"},
        SampleCase{"messages_without_data",
                   {{"q0", "cpu", "Complete", {}, {"ArithmeticError: division by zero"}}},
                   false,
                   {},
                   "no datapoint: ArithmeticError: division by zero"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- the source: batching across groups -------------------------------------------------------

class CloudWatchSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      auto f = aws::testing::form(req);
      std::vector<std::string> ids;
      for (int n = 1; f.contains("MetricDataQueries.member." + std::to_string(n) + ".Id"); ++n) {
        ids.push_back(f["MetricDataQueries.member." + std::to_string(n) + ".Id"]);
      }
      const bool first_page = !f.contains("NextToken");
      int call = 0;
      {
        std::lock_guard lock(mu_);
        calls_.push_back(ids);
        last_form_ = f;
        call = static_cast<int>(calls_.size());
      }
      // Every query gets the datapoint at EndTime - 1 min (value 10 * call number + id number);
      // with `paginate`, the first page has none and a NextToken.
      const TimePoint end = *parse_time(f["EndTime"]);
      std::string results;
      for (const std::string& id : ids) {
        std::string status = forbidden_ == id ? "Forbidden" : "Complete";
        std::string points;
        if (status == "Complete" && (!paginate_ || !first_page)) {
          points = "<Timestamps><member>" + format_time(end - seconds(60)) +
                   "</member></Timestamps><Values><member>" +
                   std::to_string(10 * call + std::stoi(id.substr(1))) + "</member></Values>";
        }
        results += "<member><Id>" + id + "</Id><Label>" + id + "</Label><StatusCode>" + status +
                   "</StatusCode>" + points + "</member>";
      }
      res.set_content("<GetMetricDataResponse><GetMetricDataResult><MetricDataResults>" + results +
                          "</MetricDataResults>" +
                          (paginate_ && first_page ? "<NextToken>more</NextToken>" : "") +
                          "</GetMetricDataResult></GetMetricDataResponse>",
                      "text/xml");
    });
    fake_.start();
    source_ = make_cloudwatch_source(aws::testing::fake_client(aws::Service::kCloudWatch, fake_));
  }

  int prepare(int period_s = 60) {
    auto h = source_->prepare(
        {{"namespace", "AWS/EC2"}, {"name", "CPUUtilization"}, {"period", period_s * 1000}});
    EXPECT_TRUE(h.has_value());
    return *h;
  }

  Result<std::vector<Sample>> read(int h, TimePoint now) {
    return source_->read(h, {}, now, seconds(5));
  }

  std::vector<std::vector<std::string>> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  tide::testing::FakeHttp fake_;
  std::unique_ptr<Source> source_;
  std::mutex mu_;
  std::vector<std::vector<std::string>> calls_;
  std::map<std::string, std::string> last_form_;
  std::atomic<bool> paginate_{false};
  std::string forbidden_;  // set only between reads
};

TEST_F(CloudWatchSourceTest, OneCallPerPeriodServesEveryGroup) {
  const int a = prepare(), b = prepare(), c = prepare();
  // First reads: each query is new, so each fetches alone.
  ASSERT_TRUE(read(a, kNow).has_value());
  ASSERT_TRUE(read(b, kNow).has_value());
  auto first_c = read(c, kNow);
  ASSERT_TRUE(first_c.has_value());
  ASSERT_EQ(first_c->size(), 1u);
  EXPECT_EQ((*first_c)[0].value, 32);  // call 3, query q2
  EXPECT_EQ((*first_c)[0].at, at("2026-01-01T00:08:00Z"));
  EXPECT_EQ(calls().size(), 3u);

  // Within the period: served from the last call.
  ASSERT_TRUE(read(a, kNow + seconds(15)).has_value());
  EXPECT_EQ(calls().size(), 3u);

  // The window moved (00:11:00 - 60 s -> end 00:10:00): the first reader fetches all three.
  auto next_a = read(a, at("2026-01-01T00:11:00Z"));
  ASSERT_TRUE(next_a.has_value());
  EXPECT_EQ((*next_a)[0].value, 40);
  EXPECT_EQ((*next_a)[0].at, at("2026-01-01T00:09:00Z"));
  auto next_b = read(b, at("2026-01-01T00:11:05Z"));
  auto next_c = read(c, at("2026-01-01T00:11:10Z"));
  ASSERT_TRUE(next_b.has_value() && next_c.has_value());
  EXPECT_EQ((*next_b)[0].value, 41);
  EXPECT_EQ((*next_c)[0].value, 42);
  ASSERT_EQ(calls().size(), 4u);
  EXPECT_EQ(calls()[3], (std::vector<std::string>{"q0", "q1", "q2"}));
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_form_["StartTime"], "2026-01-01T00:05:00Z");
  EXPECT_EQ(last_form_["EndTime"], "2026-01-01T00:10:00Z");
  EXPECT_EQ(last_form_["Action"], "GetMetricData");
  EXPECT_EQ(last_form_["Version"], "2010-08-01");
}

TEST_F(CloudWatchSourceTest, QueriesNotReadLatelyAreLeftOut) {
  const int a = prepare(), b = prepare();
  ASSERT_TRUE(read(b, kNow).has_value());
  ASSERT_TRUE(read(a, kNow + std::chrono::minutes(20)).has_value());
  EXPECT_EQ(calls().back(), std::vector<std::string>{"q0"});  // b was last read 20 min ago
}

TEST_F(CloudWatchSourceTest, PagesAreFollowed) {
  paginate_ = true;
  const int a = prepare();
  auto r = read(a, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(calls().size(), 2u);
}

TEST_F(CloudWatchSourceTest, APerQueryErrorFailsOnlyThatQuery) {
  const int a = prepare(), b = prepare();
  ASSERT_TRUE(read(a, kNow).has_value());
  ASSERT_TRUE(read(b, kNow).has_value());
  forbidden_ = "q1";
  const TimePoint later = at("2026-01-01T00:11:00Z");
  ASSERT_TRUE(read(a, later).has_value());  // batched a and b
  auto rb = read(b, later);
  ASSERT_FALSE(rb.has_value());
  EXPECT_NE(rb.error().message.find("StatusCode Forbidden"), std::string::npos);
  forbidden_ = "";
  ASSERT_TRUE(read(b, later).has_value());  // errors are not cached
}

TEST_F(CloudWatchSourceTest, ACallThatFailsFailsItsQueries) {
  const int a = prepare();
  fake_.stop();
  auto r = source_->read(a, {}, kNow, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("monitoring GetMetricData"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace tide
