#include "simulate/trace.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

namespace tide::sim {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr double kGap = std::numeric_limits<double>::quiet_NaN();

// A scratch directory for the inline trace files, removed when the test program ends.
const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("tide_trace_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::temp_directory_path() / ("tide_trace_test_" + std::to_string(::getpid())),
                     ec);
    });
    return d;
  }();
  return dir;
}

std::string write_file(const std::string& name, const std::string& text) {
  fs::path p = scratch() / (name + ".csv");
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

TimePoint utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  using namespace std::chrono;
  return sys_days(year(y) / mo / d) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms);
}

// ---- formats that load ------------------------------------------------------------------------

struct LoadCase {
  const char* name;
  std::string text;
  std::function<void(TraceSpec&)> spec;  // besides path; default: columns "t" and "v", count
  TimePoint start;
  Duration step;
  std::vector<double> load;  // NaN = gap
};

// Default spec: a header, time column `t`, load column `v`, date-time, count per step.
void defaults(TraceSpec& s) {
  s.time_column = "t";
  s.load_column = "v";
}

std::vector<LoadCase> load_cases() {
  return {
      {"unix_seconds_count_per_minute",
       "t,v\n60,120\n120,60\n180,30\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       from_unix_seconds(60),
       minutes(1),
       {2, 1, 0.5}},
      {"unix_seconds_with_fraction_rate",
       "t,v\n0.5,1\n1.5,2\n2.5,4\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.load_kind = LoadKind::kRate;
       },
       from_unix_seconds(0.5),
       seconds(1),
       {1, 2, 4}},
      {"datetime_minutes",
       "t,v\n2020-01-01 00:00,60\n2020-01-01 00:01,120\n",
       {},
       utc(2020, 1, 1),
       minutes(1),
       {1, 2}},
      {"datetime_seconds",
       "t,v\n2020-01-01 00:00:00,10\n2020-01-01 00:00:10,20\n",
       {},
       utc(2020, 1, 1),
       seconds(10),
       {1, 2}},
      {"datetime_T_and_Z",
       "t,v\n2020-01-01T00:00:00Z,60\n2020-01-01T00:01:00Z,0\n",
       {},
       utc(2020, 1, 1),
       minutes(1),
       {1, 0}},
      {"datetime_zone_offsets",
       "t,v\n2020-01-01T02:00:00+02:00,60\n2020-01-01T00:01+0000,60\n"
       "2019-12-31T21:32-02:30,120\n",
       {},
       utc(2020, 1, 1),
       minutes(1),
       {1, 1, 2}},
      {"datetime_fraction_7_digits",
       "t,v\n2023-11-16 18:15:46.6805900,1\n2023-11-16 18:15:46.7805900,2\n",
       [](TraceSpec& s) { s.load_kind = LoadKind::kRate; },
       utc(2023, 11, 16, 18, 15, 46, 680),
       Duration(100),
       {1, 2}},
      {"local_time_minus_utc_offset",
       "t,v\n1995-07-01 00:00,42\n1995-07-01 00:01,61\n",
       [](TraceSpec& s) { s.utc_offset = hours(-4); },
       from_unix_seconds(804571200),
       minutes(1),
       {0.7, 61.0 / 60}},
      {"zone_wins_over_utc_offset",
       "t,v\n2020-01-01 00:00Z,60\n2020-01-01 00:01Z,60\n",
       [](TraceSpec& s) { s.utc_offset = hours(5); },
       utc(2020, 1, 1),
       minutes(1),
       {1, 1}},
      {"date_only_daily",
       "t,v\n2020-02-28,86400\n2020-02-29,0\n2020-03-01,172800\n",
       {},
       utc(2020, 2, 28),
       hours(24),
       {1, 0, 2}},
      {"row_index_default_start",
       "avg_cpu,mem\n0.5,1\n0.25,1\n",
       [](TraceSpec& s) {
         s.time_column = "";
         s.load_column = "avg_cpu";
         s.time_format = TimeFormat::kRowIndex;
         s.step = minutes(5);
         s.load_kind = LoadKind::kRate;
         s.multiplier = 1000;
       },
       TimePoint{},
       minutes(5),
       {500, 250}},
      {"row_index_with_start",
       "v\n300\n600\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kRowIndex;
         s.step = minutes(5);
         s.start = utc(2019, 5, 1);
       },
       utc(2019, 5, 1),
       minutes(5),
       {1, 2}},
      {"no_header_column_indices_semicolon",
       "2010-05-01 00:00:00;3600\n2010-05-01 01:00:00;7200\n",
       [](TraceSpec& s) {
         s.header = false;
         s.separator = ';';
         s.time_column = "0";
         s.load_column = "1";
       },
       utc(2010, 5, 1),
       hours(1),
       {1, 2}},
      {"header_column_by_index",
       "a,b\n0,60\n60,120\n",
       [](TraceSpec& s) {
         s.time_column = "0";
         s.load_column = "1";
         s.time_format = TimeFormat::kUnixSeconds;
       },
       TimePoint{},
       minutes(1),
       {1, 2}},
      {"whitespace_separator",
       "  t   v\n 0\t 60\n60  120  \n",
       [](TraceSpec& s) {
         s.separator = ' ';
         s.time_format = TimeFormat::kUnixSeconds;
       },
       TimePoint{},
       minutes(1),
       {1, 2}},
      {"quotes_crlf_bom_comments_blank_lines",
       "\xEF\xBB\xBF\"t\",\"v\"\r\n# a comment\r\n\"0\", \"60\"\r\n\r\n60,120\r\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       TimePoint{},
       minutes(1),
       {1, 2}},
      {"missing_rows_are_gaps",
       "t,v\n0,60\n60,60\n240,120\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       TimePoint{},
       minutes(1),
       {1, 1, kGap, kGap, 2}},
      {"missing_rows_zero_when_asked",
       "t,v\n0,60\n60,60\n240,120\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.missing_rows_zero = true;
       },
       TimePoint{},
       minutes(1),
       {1, 1, 0, 0, 2}},
      {"flagged_rows_are_gaps_even_with_zero_load",
       "t,v,gap\n0,60,0\n60,0,1\n120,0,0\n180,5,1\n240,60,false\n300,0,true\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.gap_column = "gap";
       },
       TimePoint{},
       minutes(1),
       {1, kGap, 0, kGap, 1, kGap}},
      {"empty_or_nan_load_is_a_gap",
       "t,v\n0,60\n60,\n120,NaN\n180,NA\n240,0\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       TimePoint{},
       minutes(1),
       {1, kGap, kGap, kGap, 0}},
      {"exact_duplicate_rows_dropped",
       "t,v\n0,60\n60,120\n60,120\n120,60\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       TimePoint{},
       minutes(1),
       {1, 2, 1}},
      {"step_inferred_as_smallest_difference",
       "t,v\n0,30\n60,30\n90,60\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; },
       TimePoint{},
       seconds(30),
       {1, kGap, 1, 2}},
      {"explicit_step_finer_than_rows",
       "t,v\n0,60\n120,60\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.step = minutes(1);
       },
       TimePoint{},
       minutes(1),
       {1, kGap, 1}},
      {"explicit_step_single_row",
       "t,v\n600,60\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.step = minutes(1);
       },
       from_unix_seconds(600),
       minutes(1),
       {1}},
      {"multiplier_after_rate",
       "t,v\n0,60\n60,120\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.multiplier = 2.5;
       },
       TimePoint{},
       minutes(1),
       {2.5, 5}},
      {"range_from_inclusive_to_exclusive",
       "t,v\n0,60\n60,120\n120,180\n180,240\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.from = from_unix_seconds(60);
         s.to = from_unix_seconds(180);
       },
       from_unix_seconds(60),
       minutes(1),
       {2, 3}},
      {"per_request_binned_count",
       "TIMESTAMP,tokens\n2023-11-16 18:15:41.1234567,5\n2023-11-16 18:15:43.0000000,7\n"
       "2023-11-16 18:15:43.0000000,1\n2023-11-16 18:16:05.9999999,2\n",
       [](TraceSpec& s) {
         s.time_column = "TIMESTAMP";
         s.load_column = "";
         s.per_request = true;
         s.step = seconds(10);
       },
       utc(2023, 11, 16, 18, 15, 40),
       seconds(10),
       {0.3, 0, 0.1}},
      {"per_request_weighted_by_column",
       "t,tokens\n2023-11-16 18:15:41,5\n2023-11-16 18:15:43,7\n2023-11-16 18:16:05,2\n",
       [](TraceSpec& s) {
         s.load_column = "tokens";
         s.per_request = true;
         s.step = seconds(10);
       },
       utc(2023, 11, 16, 18, 15, 40),
       seconds(10),
       {1.2, 0, 0.2}},
      {"per_request_range",
       "t\n2023-11-16 18:15:41\n2023-11-16 18:15:52\n2023-11-16 18:15:53\n2023-11-16 18:16:05\n",
       [](TraceSpec& s) {
         s.load_column = "";
         s.per_request = true;
         s.step = seconds(10);
         s.multiplier = 10;
         s.from = utc(2023, 11, 16, 18, 15, 50);
         s.to = utc(2023, 11, 16, 18, 16, 0);
       },
       utc(2023, 11, 16, 18, 15, 50),
       seconds(10),
       {2}},
  };
}

class TraceLoad : public testing::TestWithParam<LoadCase> {};

TEST_P(TraceLoad, Loads) {
  const LoadCase& c = GetParam();
  TraceSpec spec;
  defaults(spec);
  spec.path = write_file(c.name, c.text);
  if (c.spec) c.spec(spec);
  auto trace = load_trace(spec);
  ASSERT_TRUE(trace.has_value()) << trace.error();
  EXPECT_EQ(format_time(trace->start), format_time(c.start));
  EXPECT_EQ(trace->step, c.step);
  ASSERT_EQ(trace->size(), c.load.size());
  for (std::size_t i = 0; i < c.load.size(); ++i) {
    if (std::isnan(c.load[i])) {
      EXPECT_TRUE(Trace::is_gap(trace->load[i])) << "step " << i << " = " << trace->load[i];
    } else {
      EXPECT_DOUBLE_EQ(trace->load[i], c.load[i]) << "step " << i;
    }
  }
  EXPECT_EQ(trace->name, c.name);
}

INSTANTIATE_TEST_SUITE_P(Formats, TraceLoad, testing::ValuesIn(load_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- errors -----------------------------------------------------------------------------------

struct ErrorCase {
  const char* name;
  std::string text;
  std::function<void(TraceSpec&)> spec;
  std::string where;     // "" (file), or ":LINE" after the file name
  std::string fragment;  // part of the message after "FILE[:LINE]: "
};

std::vector<ErrorCase> error_cases() {
  auto unix = [](TraceSpec& s) { s.time_format = TimeFormat::kUnixSeconds; };
  return {
      {"missing_column_lists_columns", "time,count\n0,1\n",
       [](TraceSpec& s) {
         s.time_column = "time";
         s.load_column = "cnt";
       },
       ":1", "no load column 'cnt'; the columns are: 'time', 'count'"},
      {"missing_time_column",
       "time,count\n0,1\n",
       {},
       ":1",
       "no time column 't'; the columns are: 'time', 'count'"},
      {"missing_gap_column", "t,v\n0,1\n", [](TraceSpec& s) { s.gap_column = "in_log_gap"; }, ":1",
       "no gap column 'in_log_gap'"},
      {"named_column_without_header", "0,1\n60,1\n", [](TraceSpec& s) { s.header = false; }, "",
       "time column 't': the trace has no header, so give the column as a 0-based index"},
      {"too_few_fields", "t,v\n0,1\n60\n", unix, ":3", "expected at least 2 fields, found 1"},
      {"unparseable_datetime",
       "t,v\n2020-01-01 00:00,1\n2020-13-01 00:00,1\n",
       {},
       ":3",
       "time '2020-13-01 00:00' is not a valid date-time: month 13 is out of range"},
      {"not_a_leap_day",
       "t,v\n2021-02-29 00:00,1\n",
       {},
       ":2",
       "day 29 is out of range for 2021-02"},
      {"hour_out_of_range", "t,v\n2021-02-01 24:00,1\n", {}, ":2", "hour 24 is out of range"},
      {"garbage_after_time",
       "t,v\n2021-02-01 10:00 EDT,1\n",
       {},
       ":2",
       "unexpected text after the time"},
      {"not_a_date_at_all",
       "t,v\nyesterday,1\n",
       {},
       ":2",
       "time 'yesterday' is not a valid date-time: expected a date YYYY-MM-DD"},
      {"unparseable_unix_seconds", "t,v\n0,1\n1e3,1\n", unix, ":3",
       "time '1e3' is not unix seconds"},
      {"unparseable_number", "t,v\n0,1\n60,x1\n", unix, ":3",
       "load 'x1' in column 'v' is not a number"},
      {"negative_load", "t,v\n0,-1\n", unix, ":2", "load -1 in column 'v' is negative"},
      {"unparseable_gap_flag", "t,v,g\n0,1,yes\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.gap_column = "g";
       },
       ":2", "gap flag 'yes' in column 'g' is not a number"},
      {"non_monotonic_time", "t,v\n0,1\n120,1\n60,1\n", unix, ":4",
       "time 1970-01-01T00:01:00Z is earlier than the previous row's 1970-01-01T00:02:00Z (line "
       "3)"},
      {"duplicate_time_different_value", "t,v\n0,1\n0,2\n", unix, ":3",
       "time 1970-01-01T00:00:00Z repeats line 2 with a different value"},
      {"empty_trace_header_only", "t,v\n", unix, "", "the trace is empty (no data rows)"},
      {"empty_file", "", unix, "", "the trace is empty"},
      {"empty_after_range", "t,v\n0,1\n60,1\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.from = from_unix_seconds(600);
       },
       "", "none of its 2 rows is in the range [1970-01-01T00:10:00Z, +inf)"},
      {"inferred_step_does_not_divide", "t,v\n0,1\n60,1\n150,1\n", unix, ":4",
       "bad step: time 1970-01-01T00:02:30Z is 1m30s after the previous row (line 3), which is "
       "not a multiple of the step 1m (the smallest interval between rows)"},
      {"explicit_step_does_not_divide", "t,v\n0,1\n90,1\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.step = minutes(1);
       },
       ":3", "not a multiple of the step 1m"},
      {"single_row_without_step", "t,v\n0,1\n", unix, "",
       "bad step: cannot infer the step from a single row; set step"},
      {"zero_step", "t,v\n0,1\n",
       [](TraceSpec& s) {
         s.time_format = TimeFormat::kUnixSeconds;
         s.step = Duration{0};
       },
       "", "bad step 0s: it must be greater than 0"},
      {"row_index_without_step", "v\n1\n",
       [](TraceSpec& s) { s.time_format = TimeFormat::kRowIndex; }, "",
       "bad step: a trace without a time column (row index) needs a step"},
      {"per_request_without_step", "t\n2020-01-01 00:00\n",
       [](TraceSpec& s) { s.per_request = true; }, "",
       "bad step: a per-request trace needs the step"},
      {"grid_too_long", "t,v\n0,1\n0.001,1\n9000000,1\n", unix, "",
       "bad step: 1970-01-01T00:00:00Z to 1970-04-15T04:00:00Z in steps of 1ms is 9000000001 "
       "steps"},
  };
}

class TraceError : public testing::TestWithParam<ErrorCase> {};

TEST_P(TraceError, Reports) {
  const ErrorCase& c = GetParam();
  TraceSpec spec;
  defaults(spec);
  spec.path = write_file(c.name, c.text);
  if (c.spec) c.spec(spec);
  auto trace = load_trace(spec);
  ASSERT_FALSE(trace.has_value());
  std::string prefix = spec.path + c.where + ": ";
  EXPECT_TRUE(trace.error().starts_with(prefix)) << trace.error() << "\nexpected prefix " << prefix;
  EXPECT_NE(trace.error().find(c.fragment), std::string::npos)
      << trace.error() << "\nexpected " << c.fragment;
}

INSTANTIATE_TEST_SUITE_P(Errors, TraceError, testing::ValuesIn(error_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TraceErrors, MissingFile) {
  TraceSpec spec;
  defaults(spec);
  spec.path = (scratch() / "does-not-exist.csv").string();
  auto trace = load_trace(spec);
  ASSERT_FALSE(trace.has_value());
  EXPECT_EQ(trace.error(), spec.path + ": cannot read the trace: No such file or directory");
}

TEST(TraceErrors, Directory) {
  TraceSpec spec;
  defaults(spec);
  spec.path = scratch().string();
  auto trace = load_trace(spec);
  ASSERT_FALSE(trace.has_value());
  EXPECT_EQ(trace.error(), spec.path + ": cannot read the trace: it is a directory");
}

// ---- gaps are never load ------------------------------------------------------------------------

TEST(TraceGaps, MissingAndFlaggedRowsStayNaN) {
  // Minutes 0-1 present, 2-3 absent, 4 flagged with zero requests (a log gap, as in NASA), 5
  // present with a real zero, 6 flagged with a non-zero count.
  TraceSpec spec;
  defaults(spec);
  spec.path = write_file("gaps_stay_nan",
                         "t,v,in_log_gap\n0,60,0\n60,120,0\n240,0,1\n300,0,0\n"
                         "360,30,1\n");
  spec.time_format = TimeFormat::kUnixSeconds;
  spec.gap_column = "in_log_gap";
  auto trace = load_trace(spec);
  ASSERT_TRUE(trace.has_value()) << trace.error();
  ASSERT_EQ(trace->size(), 7u);
  std::vector<bool> gap;
  for (double v : trace->load) gap.push_back(Trace::is_gap(v));
  EXPECT_EQ(gap, (std::vector<bool>{false, false, true, true, true, false, true}));
  EXPECT_EQ(trace->load[5], 0.0);  // a real zero stays a zero
  EXPECT_EQ(trace->time_at(4), from_unix_seconds(240));
}

}  // namespace
}  // namespace tide::sim
