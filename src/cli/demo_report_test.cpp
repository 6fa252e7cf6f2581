#include "cli/demo_report.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "cli/demo_load.hpp"

namespace tide::cli {
namespace {

std::vector<TraceMinute> minutes(std::initializer_list<double> values, std::vector<int> gaps = {}) {
  std::vector<TraceMinute> out;
  int i = 0;
  for (double v : values) {
    out.push_back({"1995-07-13 00:0" + std::to_string(i), v, false});
    ++i;
  }
  for (int g : gaps) out[static_cast<std::size_t>(g)].gap = true;
  return out;
}

struct RatesCase {
  const char* name;
  std::vector<TraceMinute> trace;
  int seconds;
  double scale;
  std::vector<double> want;
};

class DemoRatesTest : public testing::TestWithParam<RatesCase> {};

TEST_P(DemoRatesTest, Rates) {
  const RatesCase& c = GetParam();
  EXPECT_EQ(demo_rates(c.trace, c.seconds, c.scale), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DemoRatesTest,
    testing::Values(
        RatesCase{"two_minutes_per_second", minutes({10, 20, 30, 50}), 2, 1, {15, 40}},
        RatesCase{"scaled", minutes({10, 20, 30, 50}), 2, 0.5, {7.5, 20}},
        RatesCase{"one_minute_per_second", minutes({10, 20, 30}), 3, 1, {10, 20, 30}},
        // More seconds than minutes: each minute lasts several seconds.
        RatesCase{"stretched", minutes({10, 20}), 4, 1, {10, 10, 20, 20}},
        // A gap is not zero load: it is left out of the mean...
        RatesCase{"gap_left_out", minutes({10, 0, 30, 50}, {1}), 2, 1, {10, 40}},
        // ...and a second made only of gaps keeps the previous rate.
        RatesCase{"all_gap_keeps_previous", minutes({10, 20, 0, 0}, {2, 3}), 2, 1, {15, 15}},
        RatesCase{"leading_gap_is_zero", minutes({0, 0, 30, 50}, {0, 1}), 2, 1, {0, 40}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DemoTrace, ReadsOneDayAndMarksGaps) {
  const std::string path = testing::TempDir() + "/demo_trace.csv";
  std::ofstream(path) << "timestamp_edt,unix_ts,requests,in_log_gap\n"
                         "1995-07-12 23:59,805607940,5,0\n"
                         "1995-07-13 00:00,805608000,42,0\n"
                         "1995-07-13 00:01,805608060,0,1\n"
                         "1995-07-14 00:00,805694400,7,0\n";
  auto day = load_trace_day(path, "1995-07-13");
  ASSERT_TRUE(day.has_value()) << day.error().message;
  ASSERT_EQ(day->size(), 2u);
  EXPECT_EQ((*day)[0].time, "1995-07-13 00:00");
  EXPECT_EQ((*day)[0].requests, 42);
  EXPECT_FALSE((*day)[0].gap);
  EXPECT_TRUE((*day)[1].gap);
}

TEST(DemoTrace, Errors) {
  const std::string path = testing::TempDir() + "/demo_trace_bad.csv";
  std::ofstream(path) << "timestamp_edt,unix_ts,requests,in_log_gap\n"
                         "1995-07-13 00:00,805608000,many,0\n";
  auto bad = load_trace_day(path, "1995-07-13");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, path + ":2: load 'many' in column 'requests' is not a number");
  auto missing = load_trace_day(path + ".nope", "1995-07-13");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message,
            path + ".nope: cannot read the trace: No such file or directory");
  auto bad_day = load_trace_day(path, "13 July");
  ASSERT_FALSE(bad_day.has_value());
  EXPECT_EQ(bad_day.error().message,
            "day '13 July': time '13 July 00:00' is not unix seconds or a date-time");
  std::ofstream(path) << "timestamp_edt,unix_ts,requests,in_log_gap\n"
                         "1995-07-13 00:00,805608000,3,0\n";
  auto none = load_trace_day(path, "1995-07-20");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message, path +
                                      ": the trace is empty: none of its 1 rows is in the range "
                                      "[1995-07-20T04:00:00Z, 1995-07-21T04:00:00Z)");
}

TEST(DemoQuantile, NearestRank) {
  EXPECT_EQ(quantile({}, 0.5), 0);
  EXPECT_EQ(quantile({5}, 0.99), 5);
  EXPECT_EQ(quantile({4, 1, 3, 2}, 0.5), 2);
  EXPECT_EQ(quantile({4, 1, 3, 2}, 0.75), 3);
  EXPECT_EQ(quantile({4, 1, 3, 2}, 1.0), 4);
}

DemoSample sample(int second, double offered, int desired, int ready, int warming,
                  SecondStats requests = {}) {
  return {second, "1995-07-13 00:00", offered, std::move(requests), desired, ready, warming};
}

TEST(DemoSummary, CountsHandComputed) {
  DemoModel model;
  model.capacity_rps = 10;  // per ready worker at 100 %
  model.target_rps = 6;     // at the target
  model.step_margin = 0.25;
  SecondStats a;
  a.sent = 10, a.ok = 8, a.late = 2, a.rejected = 2, a.latency_ms = {100, 200, 300, 400};
  SecondStats b;
  b.sent = 30, b.ok = 29, b.errors = 1, b.latency_ms = {100, 100, 100, 900};
  const std::vector<DemoSample> samples = {
      sample(0, 10, 2, 2, 0, a),  // fine: 2 x 6 x 1.25 = 15 >= 10
      sample(1, 30, 2, 2, 0, b),  // step (30 > 15); under-provisioned (30 > 2 x 10)
      sample(2, 30, 4, 2, 2),     // tide answered at 1.5 s; under-provisioned, 4 processes
      sample(3, 30, 4, 4, 0),     // 30 <= 4 x 6 x 1.25 = 30: no step
      sample(4, 50, 4, 4, 0),     // step, never answered; under-provisioned (50 > 40)
  };
  const std::vector<DemoAction> actions = {
      {-2, 0, 1, "start"}, {1.5, 2, 4, "out"}, {3.5, 4, 3, "in"}};
  const DemoSummary s = summarize(samples, actions, model);
  EXPECT_EQ(s.seconds, 5);
  EXPECT_EQ(s.sent, 40);
  EXPECT_EQ(s.ok, 37);
  EXPECT_EQ(s.late, 2);
  EXPECT_EQ(s.rejected, 2);
  EXPECT_EQ(s.errors, 1);
  EXPECT_EQ(s.p50_ms, 100);
  EXPECT_EQ(s.p99_ms, 900);
  EXPECT_EQ(s.scale_outs, 2);  // the start (0 -> 1) and 2 -> 4
  EXPECT_EQ(s.scale_ins, 1);
  EXPECT_EQ(s.under_provisioned_seconds, 3);
  EXPECT_EQ(s.worker_seconds, 2 + 2 + 4 + 4 + 4);
  EXPECT_EQ(s.peak_workers, 4);
  EXPECT_EQ(s.load_steps, 2);
  ASSERT_EQ(s.reactions.size(), 1u);
  EXPECT_DOUBLE_EQ(s.reactions[0], 0.5);
}

TEST(DemoReport, HtmlIsSelfContainedAndEscaped) {
  DemoModel model{10, 6};
  const std::vector<DemoSample> samples = {sample(0, 10, 2, 2, 0), sample(1, 30, 2, 2, 0)};
  const std::vector<DemoAction> actions = {{0.5, 2, 4, "metric <95> vs target & 60"}};
  const std::string html =
      render_demo_html(samples, actions, model, summarize(samples, actions, model), "t");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("metric &lt;95&gt; vs target &amp; 60"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace tide::cli
