#include "sources/prometheus_scrape/exposition.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tide {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Want {
  std::string name;
  Labels labels;
  double value;
  std::optional<std::int64_t> ts;
};

struct ParseCase {
  const char* name;
  const char* text;
  std::vector<Want> want;
};

class ExpositionParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ExpositionParseTest, Parses) {
  const ParseCase& c = GetParam();
  auto r = parse_exposition(c.text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->samples.size(), c.want.size());
  for (std::size_t i = 0; i < c.want.size(); ++i) {
    const ExpositionSample& got = r->samples[i];
    const Want& w = c.want[i];
    EXPECT_EQ(got.name, w.name) << i;
    EXPECT_EQ(got.labels, w.labels) << i;
    if (std::isnan(w.value)) {
      EXPECT_TRUE(std::isnan(got.value)) << i;
    } else {
      EXPECT_EQ(got.value, w.value) << i;
    }
    EXPECT_EQ(got.timestamp_ms, w.ts) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpositionParseTest,
    ::testing::Values(
        ParseCase{"empty", "", {}},
        ParseCase{"only_comments", "# just a comment\n#\n# HELP x y\n", {}},
        ParseCase{"bare_sample", "up 1\n", {{"up", {}, 1, {}}}},
        ParseCase{"no_trailing_newline", "up 1", {{"up", {}, 1, {}}}},
        ParseCase{"crlf_lines", "a 1\r\nb 2\r\n", {{"a", {}, 1, {}}, {"b", {}, 2, {}}}},
        ParseCase{
            "labels",
            R"(http_requests_total{method="post",code="200"} 1027 1395066363000)",
            {{"http_requests_total", {{"method", "post"}, {"code", "200"}}, 1027, 1395066363000}}},
        ParseCase{
            "escaped_label_values",
            R"(msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9)",
            {{"msdos_file_access_time_seconds",
              {{"path", R"(C:\DIR\FILE.TXT)"}, {"error", "Cannot find file:\n\"FILE.TXT\""}},
              1.458255915e9,
              {}}}},
        ParseCase{"special_values",
                  "a NaN\nb +Inf\nc -Inf\nd Inf\ne -0\nf 1e-3\n",
                  {{"a", {}, kNaN, {}},
                   {"b", {}, kInf, {}},
                   {"c", {}, -kInf, {}},
                   {"d", {}, kInf, {}},
                   {"e", {}, 0, {}},
                   {"f", {}, 0.001, {}}}},
        ParseCase{"negative_timestamp", "a 1 -1000\n", {{"a", {}, 1, -1000}}},
        ParseCase{
            "openmetrics_float_timestamp", "a 1 1520879607.789\n", {{"a", {}, 1, 1520879607789}}},
        ParseCase{"trailing_comma_and_spaces",
                  "a{ x = \"1\" , y=\"2\", } 3  \n",
                  {{"a", {{"x", "1"}, {"y", "2"}}, 3, {}}}},
        ParseCase{"empty_braces", "a{} 3\n", {{"a", {}, 3, {}}}},
        ParseCase{"colons_in_names",
                  "job:request_rate:5m{a=\"b\"} 7\n",
                  {{"job:request_rate:5m", {{"a", "b"}}, 7, {}}}},
        ParseCase{"tabs_and_leading_blanks", "\t  a\t5\t123\n", {{"a", {}, 5, 123}}},
        ParseCase{
            "value_with_braces_in_label", "a{q=\"}{ , =\"} 1\n", {{"a", {{"q", "}{ , ="}}, 1, {}}}},
        ParseCase{"histogram_series",
                  "# HELP rpc_seconds RPC latency.\n"
                  "# TYPE rpc_seconds histogram\n"
                  "rpc_seconds_bucket{le=\"0.05\"} 24054\n"
                  "rpc_seconds_bucket{le=\"+Inf\"} 144320\n"
                  "rpc_seconds_sum 53423\n"
                  "rpc_seconds_count 144320\n",
                  {{"rpc_seconds_bucket", {{"le", "0.05"}}, 24054, {}},
                   {"rpc_seconds_bucket", {{"le", "+Inf"}}, 144320, {}},
                   {"rpc_seconds_sum", {}, 53423, {}},
                   {"rpc_seconds_count", {}, 144320, {}}}},
        ParseCase{"summary_quantiles",
                  "# TYPE s summary\ns{quantile=\"0.5\"} 4773\ns_sum 1.7560473e+07\ns_count 2693\n",
                  {{"s", {{"quantile", "0.5"}}, 4773, {}},
                   {"s_sum", {}, 1.7560473e+07, {}},
                   {"s_count", {}, 2693, {}}}},
        ParseCase{
            "openmetrics_eof_and_exemplar",
            "# TYPE c counter\n# UNIT c seconds\nc_total 5 # {trace_id=\"abc\"} 1 123\n# EOF\n"
            "ignored after eof\n",
            {{"c_total", {}, 5, {}}}},
        ParseCase{"quoted_utf8_name",
                  "{\"my.metric\", \"la.bel\"=\"v\"} 2\n",
                  {{"my.metric", {{"la.bel", "v"}}, 2, {}}}},
        ParseCase{"hash_inside_label_value", "a{x=\"#1\"} 1\n", {{"a", {{"x", "#1"}}, 1, {}}}}),
    [](const auto& info) { return std::string(info.param.name); });

struct ErrorCase {
  const char* name;
  const char* text;
  const char* want;  // substring of the error
};

class ExpositionErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ExpositionErrorTest, Rejects) {
  auto r = parse_exposition(GetParam().text);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(GetParam().want), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpositionErrorTest,
    ::testing::Values(
        ErrorCase{"missing_value", "up\n", "line 1: missing value"},
        ErrorCase{"bad_value", "ok 1\nup one\n", "line 2: invalid value 'one'"},
        ErrorCase{"bad_timestamp", "up 1 later\n", "invalid timestamp 'later'"},
        ErrorCase{"junk_after_timestamp", "up 1 2 3\n", "unexpected text '3'"},
        ErrorCase{"unterminated_label_value", "up{a=\"x} 1\n", "unterminated quoted string"},
        ErrorCase{"unquoted_label_value", "up{a=x} 1\n", "expected a quoted value for label 'a'"},
        ErrorCase{"missing_equals", "up{a \"x\"} 1\n", "expected '=' after label name 'a'"},
        ErrorCase{"bad_escape", "up{a=\"\\t\"} 1\n", "invalid escape"},
        ErrorCase{"duplicate_label", "up{a=\"1\",a=\"2\"} 1\n", "duplicate label 'a'"},
        ErrorCase{"missing_comma", "up{a=\"1\" b=\"2\"} 1\n", "expected ',' or '}'"},
        ErrorCase{"bad_name_start", "1up 1\n", "expected a metric name"},
        ErrorCase{"label_name_with_colon", "up{a:b=\"1\"} 1\n",
                  "expected '=' after label name 'a'"},
        ErrorCase{"bad_type", "# TYPE up countr\n", "invalid metric type 'countr'"},
        ErrorCase{"junk_after_name", "up-down 1\n", "unexpected '-' after the metric name"},
        ErrorCase{"hex_value", "up 0x10\n", "invalid value '0x10'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ExpositionTest, KeepsHelpAndTypes) {
  auto r = parse_exposition(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# HELP esc A \\\\ backslash and a\\nnewline.\n"
      "# TYPE http_requests_total counter\n"
      "# TYPE g gauge\n"
      "http_requests_total 3\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->help["http_requests_total"], "The total number of HTTP requests.");
  EXPECT_EQ(r->help["esc"], "A \\ backslash and a\nnewline.");
  EXPECT_EQ(r->types["http_requests_total"], "counter");
  EXPECT_EQ(r->types["g"], "gauge");
}

TEST(ExpositionTest, LabelLookupTreatsMissingAsEmpty) {
  auto r = parse_exposition("a{x=\"1\"} 1\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->samples[0].label("x"), "1");
  EXPECT_EQ(r->samples[0].label("y"), "");
}

TEST(ExpositionTest, ParsesALargeExposition) {
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += "series_" + std::to_string(i % 100) + "{instance=\"i" + std::to_string(i) +
            "\",job=\"j\"} " + std::to_string(i) + "\n";
  }
  auto r = parse_exposition(text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->samples.size(), 20000u);
  EXPECT_EQ(r->samples.back().value, 19999);
}

}  // namespace
}  // namespace tide
