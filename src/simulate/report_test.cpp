#include "simulate/report.hpp"

#include <cmath>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tide::sim {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kStart = from_unix_seconds(897'436'800);  // 1998-06-10T00:00:00Z
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PolicyResult policy(std::string name, std::string kind, double instance_hours, double ratio,
                    double late, double theta_u, double theta_o, double speedup, int out, int in) {
  PolicyResult p;
  p.name = std::move(name);
  p.kind = std::move(kind);
  p.cost = {instance_hours, instance_hours * 1.01, instance_hours * 1.01 * 0.1};
  p.cost_vs_oracle = ratio;
  p.slo = {late, late / 4, late * 2};
  p.elasticity = {theta_u, theta_o, late * 2, 50 + late, 7.25, 0.5, 3.75, 0.01};
  p.elastic_speedup_vs_hpa = speedup;
  p.scale_out = out;
  p.scale_in = in;
  p.decisions = 11'520;
  return p;
}

// Two days of one-minute steps with a daily wave; supply lags demand by 20 minutes.
int demand_at_step(long long i) {
  const double day = static_cast<double>(i % 1440) / 1440.0;
  return 4 + static_cast<int>(std::lround(16 * std::pow(std::sin(M_PI * day), 2)));
}

CurvePoint point_at(long long i) {
  CurvePoint p;
  p.at = kStart + minutes(i);
  p.demand = demand_at_step(i);
  p.load = p.demand * 95.0;
  p.supply = demand_at_step(std::max(0LL, i - 20));
  p.desired = demand_at_step(std::max(0LL, i - 18));
  if (i >= 1500 && i < 1560) {  // an hour of no data on day two
    p.load = kNaN;
    p.demand = 0;
  }
  return p;
}

// A report as the simulator would give it: a 4-minute curve and three full-resolution windows.
SimulationReport sample_report() {
  SimulationReport r;
  r.scenario = "worldcup98";
  r.trace = "traces/worldcup98_per_minute.csv";
  r.start = kStart;
  r.end = kStart + hours(48);
  r.step = minutes(1);
  r.steps = 2880;
  r.gap_steps = 60;
  r.policies = {policy("hpa", "preset:hpa", 812.25, 1.3125, 2.5, 3.5, 31.25, 1, 40, 38),
                policy("web-cpu", "group", 733.5, 1.1875, 4.125, 5.25, 22.5, 1.25, 31, 30),
                policy("static-peak", "static-peak", 960, 1.55, 0, 0, 93.75, 0.75, 0, 0),
                policy("oracle", "oracle", 615, 1, 0, 0, 0, 1234.6, 96, 95)};
  for (PolicyResult& p : r.policies) {
    for (long long b = 0; b < 720; ++b) {  // 4-minute buckets: max demand, min supply
      CurvePoint c = point_at(4 * b);
      for (long long i = 4 * b; i < 4 * b + 4; ++i) {
        const CurvePoint q = point_at(i);
        c.demand = std::max(c.demand, q.demand);
        c.supply = std::min(c.supply, q.supply);
        c.desired = q.desired;
      }
      p.curve.push_back(c);
    }
    if (p.kind == "oracle" || p.kind == "static-peak") continue;
    for (long long w : {300LL, 1740LL, 1000LL}) {
      Window win;
      win.label = format_time(kStart + minutes(w)) + ", 42 instance-minutes short";
      for (long long i = w; i < w + 60; ++i) win.points.push_back(point_at(i));
      p.worst.push_back(std::move(win));
    }
  }
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::size_t columns(const std::string& line) {  // UTF-8 characters
  std::size_t n = 0;
  for (char c : line) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// ---- table --------------------------------------------------------------------------------------

TEST(ReportTable, ExactLayout) {
  SimulationReport r = sample_report();
  r.policies.resize(3);
  r.policies[2].cost_vs_oracle = kNaN;
  const std::string want =
      "tide simulate: worldcup98\n"
      "trace: traces/worldcup98_per_minute.csv\n"
      "span:  1998-06-10T00:00:00Z .. 1998-06-12T00:00:00Z (2d), step 1m, 2880 steps, 2.08 % "
      "gaps (60 steps)\n"
      "\n"
      "             ─────────── cost ───────────  ──── SLO ────  ────────── elasticity % "
      "───────────  ─ actions ─\n"
      "policy       inst-h  chrg-h  money  ×orcl  late%  under%    θU    θO    τU    τO     υ  "
      "spdup    out    in\n"
      "hpa           812.2   820.4  82.04   1.31   2.50    5.00  3.50  31.2  5.00  52.5  7.25   "
      "1.00     40    38\n"
      "web-cpu       733.5   740.8  74.08   1.19   4.12    8.25  5.25  22.5  8.25  54.1  7.25   "
      "1.25     31    30\n"
      "static-peak   960.0   969.6  96.96      -   0.00    0.00  0.00  93.8  0.00  50.0  7.25   "
      "0.75      0     0\n"
      "\n"
      "inst-h  instance-hours (booting, ready, draining)     late%   work that waited beyond the "
      "SLO or was dropped\n";
  const std::string got = format_table(r);
  EXPECT_EQ(got.substr(0, want.size()), want) << got;
}

TEST(ReportTable, FitsIn120ColumnsAndExplainsEveryAbbreviation) {
  SimulationReport r = sample_report();
  r.policies[1].name = "a-twenty-char-policy";  // the longest name kept whole
  r.policies[0].cost = {123'456.7, 130'000.2, 13'000.02};
  const std::string table = format_table(r);
  for (const std::string& line : lines_of(table)) {
    EXPECT_LE(columns(line), 120u) << line;
  }
  const std::string legend = table.substr(table.rfind("\n\n"));
  for (const char* abbreviation :
       {"inst-h  ", "chrg-h  ", "money   ", "×orcl   ", "late%   ", "under%  ", "θU θO   ",
        "τU τO   ", "υ       ", "spdup   ", "out in  "}) {
    EXPECT_NE(legend.find(abbreviation), std::string::npos) << "no legend for " << abbreviation;
  }
  EXPECT_NE(table.find("a-twenty-char-policy "), std::string::npos);
}

TEST(ReportTable, EveryRowHasTheSameColumnsAndLongNamesAreShortened) {
  SimulationReport r = sample_report();
  r.policies[1].name = "a-very-long-policy-name-for-a-group";
  const auto lines = lines_of(format_table(r));
  // lines[4] is the group rule, [5] the header, [6..9] the rows.
  ASSERT_GE(lines.size(), 10u);
  const std::size_t width = columns(lines[5]);
  for (std::size_t i = 4; i < 10; ++i) EXPECT_EQ(columns(lines[i]), width) << lines[i];
  EXPECT_EQ(lines[7].substr(0, 21), "a-very-long-policy-~ ");
  EXPECT_NE(lines[9].find(" 1235 "), std::string::npos) << lines[9];  // oracle's speedup
}

// ---- JSON ---------------------------------------------------------------------------------------

TEST(ReportJson, TopLevelAndEveryPolicyKeyInOrder) {
  SimulationReport r = sample_report();
  r.policies[3].cost_vs_oracle = std::numeric_limits<double>::infinity();
  const nlohmann::ordered_json j = report_to_json(r);

  std::vector<std::string> top;
  for (const auto& [key, value] : j.items()) top.push_back(key);
  EXPECT_EQ(top, (std::vector<std::string>{"scenario", "trace", "start", "end", "step_seconds",
                                           "steps", "gap_steps", "policies"}));
  EXPECT_EQ(j["start"], "1998-06-10T00:00:00Z");
  EXPECT_EQ(j["end"], "1998-06-12T00:00:00Z");
  EXPECT_EQ(j["step_seconds"].dump(), "60");
  EXPECT_EQ(j["gap_steps"], 60);

  struct Key {
    const char* path;  // JSON pointer
    nlohmann::ordered_json want;
  };
  const Key keys[] = {
      {"/name", "web-cpu"},
      {"/kind", "group"},
      {"/cost/instance_hours", 733.5},
      {"/cost/charged_hours", 733.5 * 1.01},
      {"/cost/money", 733.5 * 1.01 * 0.1},
      {"/cost_vs_oracle", 1.1875},
      {"/slo/late_or_dropped_pct", 4.125},
      {"/slo/dropped_pct", 4.125 / 4},
      {"/slo/under_provisioned_time_pct", 8.25},
      {"/elasticity/theta_u", 5.25},
      {"/elasticity/theta_o", 22.5},
      {"/elasticity/tau_u", 8.25},
      {"/elasticity/tau_o", 54.125},
      {"/elasticity/upsilon", 7.25},
      {"/elasticity/a_u", 0.5},
      {"/elasticity/a_o", 3.75},
      {"/elasticity/jitter", 0.01},
      {"/elastic_speedup_vs_hpa", 1.25},
      {"/actions/scale_out", 31},
      {"/actions/scale_in", 30},
      {"/decisions", 11'520},
  };
  const auto& p = j["policies"][1];
  for (const Key& k : keys) {
    EXPECT_EQ(p.at(nlohmann::ordered_json::json_pointer(k.path)), k.want) << k.path;
  }
  std::vector<std::string> order;
  for (const auto& [key, value] : p.items()) order.push_back(key);
  EXPECT_EQ(order,
            (std::vector<std::string>{"name", "kind", "cost", "cost_vs_oracle", "slo", "elasticity",
                                      "elastic_speedup_vs_hpa", "actions", "decisions"}));
  EXPECT_TRUE(j["policies"][3]["cost_vs_oracle"].is_null());  // not finite
  EXPECT_EQ(j["policies"].size(), 4u);
  EXPECT_EQ(j.dump(), report_to_json(r).dump());  // deterministic
}

TEST(ReportJson, FractionalStep) {
  SimulationReport r = sample_report();
  r.step = std::chrono::milliseconds(1500);
  EXPECT_EQ(report_to_json(r)["step_seconds"].dump(), "1.5");
}

// ---- time ticks ---------------------------------------------------------------------------------

struct TickCase {
  const char* name;
  const char* from;
  const char* to;
  int max_ticks;
  std::vector<std::string> want;  // "label|context"
};

class TimeTicks : public ::testing::TestWithParam<TickCase> {};

TEST_P(TimeTicks, Labels) {
  const TickCase& c = GetParam();
  std::vector<std::string> got;
  for (const TimeTick& t : time_ticks(*parse_time(c.from), *parse_time(c.to), c.max_ticks)) {
    got.push_back(t.label + "|" + t.context);
  }
  EXPECT_EQ(got, c.want);
}

void PrintTo(const TickCase& c, std::ostream* os) {
  *os << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TimeTicks,
    ::testing::Values(
        TickCase{"seconds",
                 "1998-06-10T23:59:50Z",
                 "1998-06-11T00:00:20Z",
                 4,
                 {"00:00:00|1998-06-11", "00:00:15|"}},
        TickCase{"hours_across_midnight",
                 "1998-06-10T20:10:00Z",
                 "1998-06-11T03:00:00Z",
                 4,
                 {"22:00|1998-06-10", "00:00|1998-06-11", "02:00|"}},
        TickCase{"ten_minutes",
                 "1998-06-10T10:07:00Z",
                 "1998-06-10T11:00:00Z",
                 6,
                 {"10:10|1998-06-10", "10:20|", "10:30|", "10:40|", "10:50|", "11:00|"}},
        TickCase{
            "days", "1998-06-10T00:00:00Z", "1998-06-14T12:00:00Z", 6,
            std::vector<std::string>{"Jun 10|1998", "Jun 11|", "Jun 12|", "Jun 13|", "Jun 14|"}},
        TickCase{"weeks_start_on_monday",
                 "1998-06-01T00:00:00Z",
                 "1998-07-01T00:00:00Z",
                 6,
                 {"Jun 1|1998", "Jun 8|", "Jun 15|", "Jun 22|", "Jun 29|"}},
        TickCase{"months_across_a_year",
                 "1998-10-15T00:00:00Z",
                 "1999-03-20T00:00:00Z",
                 8,
                 {"Nov|1998", "Dec|", "Jan|1999", "Feb|", "Mar|"}},
        TickCase{"years",
                 "2010-01-01T00:00:00Z",
                 "2015-12-31T00:00:00Z",
                 7,
                 {"2010|", "2011|", "2012|", "2013|", "2014|", "2015|"}},
        TickCase{"empty_range", "1998-06-10T00:00:00Z", "1998-06-10T00:00:00Z", 5, {}}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- HTML ---------------------------------------------------------------------------------------

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportHtml, SelfContained) {
  const std::string html = render_html(sample_report());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  struct Forbidden {
    const char* what;
    const char* why;
  };
  for (const Forbidden& f : {Forbidden{"http:", "no network fetch"},
                             {"https:", "no CDN"},
                             {" src=", "no external script or image"},
                             {"<link", "no stylesheet"},
                             {"@import", "no imported CSS"},
                             {"url(", "no CSS resource"},
                             {"<iframe", "no frames"}}) {
    EXPECT_EQ(html.find(f.what), std::string::npos) << f.what << ": " << f.why;
  }
  EXPECT_EQ(count(html, "<script>"), 1u);  // the one inline script
}

TEST(ReportHtml, TableChartsAndWorstWindows) {
  const SimulationReport r = sample_report();
  const std::string html = render_html(r);
  EXPECT_EQ(count(html, "<table class=\"results\">"), 1u);
  EXPECT_EQ(count(html, "<tr><th><a href=\"#p-"), 4u);  // one row per policy
  EXPECT_EQ(count(html, "<section class=\"policy\""), 4u);
  EXPECT_EQ(count(html, "<div class=\"chart main\""), 4u);
  EXPECT_EQ(count(html, "<div class=\"chart worst\""), 6u);  // 3 windows for hpa and web-cpu
  EXPECT_EQ(count(html, "<button type=\"button\" class=\"zoom\""), 6u);
  EXPECT_EQ(count(html, "No under-provisioned period."), 2u);  // static-peak and oracle
  // Every curve is drawn, the gap is shaded, shortfalls are filled.
  EXPECT_EQ(count(html, "class=\"line demand\""), 10u);
  EXPECT_EQ(count(html, "class=\"line supply\""), 10u);
  EXPECT_EQ(count(html, "class=\"line capacity\""), 10u);
  EXPECT_GE(count(html, "<rect class=\"gap\""), 4u);
  EXPECT_GE(count(html, "<path class=\"short\""), 2u);
  // The time axis of the 2-day main chart labels every 6 hours; worst windows every 30 minutes.
  EXPECT_EQ(html.find(">03:00</text>"), std::string::npos);
  EXPECT_NE(html.find(">06:00</text>"), std::string::npos);
  EXPECT_NE(html.find(">05:30</text>"), std::string::npos);
  EXPECT_NE(html.find(">1998-06-10</text>"), std::string::npos);
  EXPECT_NE(html.find("web-cpu</a><span class=\"kind\">group</span>"), std::string::npos);
}

// A policy with a forecast gets a forecast line (broken where it has none), the legend names it
// and the hover data carries it; without any forecast neither appears.
TEST(ReportHtml, ForecastCurveOnlyWhereAPolicyHasOne) {
  SimulationReport r = sample_report();
  const std::string without = render_html(r);
  EXPECT_EQ(count(without, "class=\"line forecast\""), 0u);
  EXPECT_EQ(count(without, "class=\"sw forecast\""), 0u);
  EXPECT_EQ(count(without, "\"f\":["), 0u);

  PolicyResult& web = r.policies[1];
  for (std::size_t i = 0; i < web.curve.size(); ++i) {
    web.curve[i].forecast = i < 100 ? -1 : web.curve[i].demand + 1;  // none for the first 100
  }
  const std::string html = render_html(r);
  EXPECT_EQ(count(html, "class=\"sw forecast\""), 1u);
  EXPECT_EQ(count(html, "class=\"line forecast\""), 1u) << "the main chart of web-cpu only";
  EXPECT_EQ(count(html, "\"f\":[null,"), 1u);
  // The path starts where the forecast does (x = 400 steps: bucket 100 of 4 minutes), at
  // demand + 1 instances, on a y axis whose top is above every value.
  const std::size_t at = html.find("class=\"line forecast\" d=\"M400,");
  EXPECT_NE(at, std::string::npos);
}

TEST(ReportHtml, MainChartSplicesTheWorstWindowsAtFullResolution) {
  const SimulationReport r = sample_report();
  const std::string html = render_html(r);
  const std::regex series(R"re(<script type="application/json" class="series">([^<]*)</script>)re");
  std::vector<nlohmann::json> data;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), series);
       it != std::sregex_iterator(); ++it) {
    data.push_back(nlohmann::json::parse((*it)[1].str()));
  }
  ASSERT_EQ(data.size(), 10u);
  // hpa: 720 buckets, of which 3 x 15 lie inside the windows; 3 x 60 window steps; no bucket
  // resumes after a window because windows end on bucket boundaries.
  const nlohmann::json& main = data[0];
  EXPECT_EQ(main["d"].size(), 720u - 45u + 180u);
  EXPECT_EQ(main["x"].size(), main["d"].size() + 1);
  EXPECT_EQ(main["x"].back(), 2880.0);  // ends at the report's end, in steps
  for (std::size_t i = 1; i < main["x"].size(); ++i) {
    ASSERT_LT(main["x"][i - 1].get<double>(), main["x"][i].get<double>()) << i;
  }
  EXPECT_EQ(main["x"][75], 300.0);  // the first window starts at step 300 = bucket 75
  EXPECT_EQ(main["x"][76], 301.0);  // at full resolution
  // The gap is null demand, never zero.
  bool null_demand = false;
  for (const auto& d : main["d"]) null_demand = null_demand || d.is_null();
  EXPECT_TRUE(null_demand);
  // A worst window's chart: 60 points, one step each.
  EXPECT_EQ(data[1]["d"].size(), 60u);
  EXPECT_EQ(data[1]["x"].front(), 300.0);
  EXPECT_EQ(data[1]["x"].back(), 360.0);
}

TEST(ReportHtml, EscapesEveryText) {
  SimulationReport r = sample_report();
  const std::string evil = "<script>alert('x')</script> & \"co\"";
  r.scenario = evil;
  r.trace = evil;
  r.policies[0].name = evil;
  r.policies[0].kind = evil;
  r.policies[0].worst[0].label = evil;
  const std::string html = render_html(r);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("\"co\""), std::string::npos);
  EXPECT_GE(count(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"),
            7u);
}

TEST(ReportHtml, Deterministic) {
  EXPECT_EQ(render_html(sample_report()), render_html(sample_report()));
}

TEST(ReportHtml, EmptyReportStillRenders) {
  SimulationReport r;
  r.scenario = "empty";
  r.policies.push_back(PolicyResult{.name = "hpa", .kind = "preset:hpa"});
  const std::string html = render_html(r);
  EXPECT_NE(html.find("no data points"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_NE(format_table(r).find("hpa"), std::string::npos);
}

TEST(Report, PolicyThatCouldNotBeReplayed) {
  SimulationReport r = sample_report();
  r.policies[1].error = "metric source 'cpu' is not <simulated>";
  const std::string table = format_table(r);
  EXPECT_NE(table.find("\nweb-cpu      error: metric source 'cpu' is not <simulated>\n"),
            std::string::npos)
      << table;
  const auto j = report_to_json(r);
  EXPECT_EQ(j["policies"][1]["error"], "metric source 'cpu' is not <simulated>");
  EXPECT_FALSE(j["policies"][0].contains("error"));
  const std::string html = render_html(r);
  EXPECT_NE(
      html.find("could not be replayed: metric source &#39;cpu&#39; is not &lt;simulated&gt;"),
      std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"chart main\""), 3u);
}

TEST(HtmlEscape, Characters) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("θU ×"), "θU ×");
}

}  // namespace
}  // namespace tide::sim
