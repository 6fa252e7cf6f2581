#include "simulate/report.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

// date.h trips GCC 12's -Wmaybe-uninitialized when inlined at -O2 (see core/time.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#pragma GCC diagnostic pop
#include <fmt/format.h>

namespace tide::sim {
namespace {

// ---- numbers ------------------------------------------------------------------------------------

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // No "-0.00": values that round to zero print as zero.
  if (std::abs(v) < 0.5 * std::pow(10.0, -decimals)) v = 0;
  return fmt::format("{:.{}f}", v, decimals);
}

// Fewer decimals as values grow, so columns stay narrow without losing what matters.
std::string fmt_hours(double v) {
  const double a = std::abs(v);
  return fixed(v, a < 10 ? 2 : a < 10'000 ? 1 : 0);
}
std::string fmt_money(double v) {
  return fixed(v, std::abs(v) < 100'000 ? 2 : 0);
}
std::string fmt_pct(double v) {
  const double a = std::abs(v);
  return fixed(v, a < 10 ? 2 : a < 1000 ? 1 : 0);
}
std::string fmt_ratio(double v) {
  const double a = std::abs(v);
  return fixed(v, a < 100 ? 2 : a < 1000 ? 1 : 0);
}

// Terminal columns of a UTF-8 string (every character tide prints is one column wide).
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string_view s, std::size_t width, bool left_align) {
  const std::size_t w = display_width(s);
  const std::string fill(width > w ? width - w : 0, ' ');
  return left_align ? std::string(s) + fill : fill + std::string(s);
}

// At most `max` columns: the first max-1 characters (whole UTF-8 sequences) and "~".
std::string shorten(std::string_view s, std::size_t max) {
  if (display_width(s) <= max) return std::string(s);
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool lead = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (lead && ++chars == max) break;
    out += s[i];
  }
  return out + "~";
}

std::string step_text(Duration step) {
  return step.count() > 0 ? format_duration(step) : "?";
}

double gap_pct(const SimulationReport& r) {
  return r.steps > 0 ? 100.0 * static_cast<double>(r.gap_steps) / static_cast<double>(r.steps) : 0;
}

std::string span_text(const SimulationReport& r) {
  return fmt::format("{} .. {} ({})", format_time(r.start), format_time(r.end),
                     format_duration(r.end - r.start));
}

// ---- the terminal table -------------------------------------------------------------------------

struct Column {
  std::string_view group;   // header over a run of columns with the same group
  std::string_view header;  // abbreviated; explained in the legend
  bool left = false;
  std::string (*cell)(const PolicyResult&);
};

const Column kColumns[] = {
    {"", "policy", true, [](const PolicyResult& p) { return shorten(p.name, 20); }},
    {"cost", "inst-h", false,
     [](const PolicyResult& p) { return fmt_hours(p.cost.instance_hours); }},
    {"cost", "chrg-h", false,
     [](const PolicyResult& p) { return fmt_hours(p.cost.charged_hours); }},
    {"cost", "money", false, [](const PolicyResult& p) { return fmt_money(p.cost.money); }},
    {"cost", "×orcl", false, [](const PolicyResult& p) { return fmt_ratio(p.cost_vs_oracle); }},
    {"SLO", "late%", false,
     [](const PolicyResult& p) { return fmt_pct(p.slo.late_or_dropped_pct); }},
    {"SLO", "under%", false,
     [](const PolicyResult& p) { return fmt_pct(p.slo.under_provisioned_time_pct); }},
    {"elasticity %", "θU", false,
     [](const PolicyResult& p) { return fmt_pct(p.elasticity.theta_u); }},
    {"elasticity %", "θO", false,
     [](const PolicyResult& p) { return fmt_pct(p.elasticity.theta_o); }},
    {"elasticity %", "τU", false,
     [](const PolicyResult& p) { return fmt_pct(p.elasticity.tau_u); }},
    {"elasticity %", "τO", false,
     [](const PolicyResult& p) { return fmt_pct(p.elasticity.tau_o); }},
    {"elasticity %", "υ", false,
     [](const PolicyResult& p) { return fmt_pct(p.elasticity.upsilon); }},
    {"elasticity %", "spdup", false,
     [](const PolicyResult& p) { return fmt_ratio(p.elastic_speedup_vs_hpa); }},
    {"actions", "out", false, [](const PolicyResult& p) { return std::to_string(p.scale_out); }},
    {"actions", "in", false, [](const PolicyResult& p) { return std::to_string(p.scale_in); }},
};
constexpr std::size_t kColumnCount = std::size(kColumns);
constexpr std::string_view kSeparator = "  ";

// The legend under the table: two columns of "abbreviation  meaning", each line under 120 columns.
struct LegendEntry {
  std::string_view abbreviation, meaning;
};
constexpr LegendEntry kLegend[][2] = {
    {{"inst-h", "instance-hours (booting, ready, draining)"},
     {"late%", "work that waited beyond the SLO or was dropped"}},
    {{"chrg-h", "charged hours under the billing rule"},
     {"under%", "time with demand above the ready supply"}},
    {{"money", "chrg-h x price per instance-hour"},
     {"θU θO", "under-/over-provisioning accuracy (ELASTICITY.md)"}},
    {{"×orcl", "cost / the oracle's cost"}, {"τU τO", "under-/over-provisioning timeshare"}},
    {{"spdup", "elastic speedup vs hpa (> 1: more elastic)"}, {"υ", "instability"}},
    {{"out in", "scale-out and scale-in actions"}, {"", ""}},
};

}  // namespace

std::string format_table(const SimulationReport& report) {
  std::vector<std::array<std::string, kColumnCount>> rows;
  std::array<std::size_t, kColumnCount> width{};
  for (std::size_t c = 0; c < kColumnCount; ++c) width[c] = display_width(kColumns[c].header);
  for (const PolicyResult& p : report.policies) {
    auto& row = rows.emplace_back();
    for (std::size_t c = 0; c < kColumnCount; ++c) {
      if (c > 0 && !p.error.empty()) continue;
      row[c] = kColumns[c].cell(p);
      width[c] = std::max(width[c], display_width(row[c]));
    }
  }

  // A group's label must fit over its columns with a dash on each side: widen its columns evenly.
  for (std::size_t c = 0; c < kColumnCount;) {
    std::size_t end = c, span = 0;
    for (; end < kColumnCount && kColumns[end].group == kColumns[c].group; ++end) {
      span += width[end] + (end > c ? kSeparator.size() : 0);
    }
    const std::size_t need = kColumns[c].group.empty() ? 0 : display_width(kColumns[c].group) + 4;
    for (std::size_t i = c; span < need; i = i + 1 < end ? i + 1 : c, ++span) ++width[i];
    c = end;
  }

  // Group headers: " cost " centered in a rule spanning its columns.
  std::string groups;
  std::string headers;
  for (std::size_t c = 0; c < kColumnCount;) {
    std::size_t end = c;
    std::size_t span = 0;
    while (end < kColumnCount && kColumns[end].group == kColumns[c].group) {
      span += width[end] + (end > c ? kSeparator.size() : 0);
      ++end;
    }
    if (c > 0) groups += kSeparator;
    if (kColumns[c].group.empty()) {
      groups += std::string(span, ' ');
    } else {
      const std::string label = fmt::format(" {} ", kColumns[c].group);
      const std::size_t lw = display_width(label);
      const std::size_t left = span > lw ? (span - lw) / 2 : 0;
      const std::size_t right = span > lw + left ? span - lw - left : 0;
      std::string rule;
      for (std::size_t i = 0; i < left; ++i) rule += "─";
      rule += label;
      for (std::size_t i = 0; i < right; ++i) rule += "─";
      groups += rule;
    }
    c = end;
  }
  for (std::size_t c = 0; c < kColumnCount; ++c) {
    if (c > 0) headers += kSeparator;
    headers += pad(kColumns[c].header, width[c], kColumns[c].left);
  }

  std::string out;
  out += fmt::format("tide simulate: {}\n", report.scenario);
  out += fmt::format("trace: {}\n", report.trace);
  out +=
      fmt::format("span:  {}, step {}, {} steps, {} % gaps ({} steps)\n\n", span_text(report),
                  step_text(report.step), report.steps, fmt_pct(gap_pct(report)), report.gap_steps);
  auto trimmed = [](std::string line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  out += trimmed(groups);
  out += trimmed(headers);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    std::string line;
    if (!report.policies[r].error.empty()) {  // a policy that could not be replayed
      line = pad(row[0], width[0], true) + std::string(kSeparator) +
             "error: " + report.policies[r].error;
      out += trimmed(line);
      continue;
    }
    for (std::size_t c = 0; c < kColumnCount; ++c) {
      if (c > 0) line += kSeparator;
      line += pad(row[c], width[c], kColumns[c].left);
    }
    out += trimmed(line);
  }
  out += "\n";
  for (const auto& line : kLegend) {
    out += trimmed(fmt::format("{}  {}  {}  {}", pad(line[0].abbreviation, 6, true),
                               pad(line[0].meaning, 44, true), pad(line[1].abbreviation, 6, true),
                               line[1].meaning));
  }
  return out;
}

// ---- JSON ---------------------------------------------------------------------------------------

namespace {

nlohmann::ordered_json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace

nlohmann::ordered_json report_to_json(const SimulationReport& report) {
  using J = nlohmann::ordered_json;
  J policies = J::array();
  for (const PolicyResult& p : report.policies) {
    J cost = J::object();
    cost["instance_hours"] = number(p.cost.instance_hours);
    cost["charged_hours"] = number(p.cost.charged_hours);
    cost["money"] = number(p.cost.money);
    J slo = J::object();
    slo["late_or_dropped_pct"] = number(p.slo.late_or_dropped_pct);
    slo["dropped_pct"] = number(p.slo.dropped_pct);
    slo["under_provisioned_time_pct"] = number(p.slo.under_provisioned_time_pct);
    J el = J::object();
    el["theta_u"] = number(p.elasticity.theta_u);
    el["theta_o"] = number(p.elasticity.theta_o);
    el["tau_u"] = number(p.elasticity.tau_u);
    el["tau_o"] = number(p.elasticity.tau_o);
    el["upsilon"] = number(p.elasticity.upsilon);
    el["a_u"] = number(p.elasticity.a_u);
    el["a_o"] = number(p.elasticity.a_o);
    el["jitter"] = number(p.elasticity.jitter);
    J actions = J::object();
    actions["scale_out"] = p.scale_out;
    actions["scale_in"] = p.scale_in;

    J entry = J::object();
    entry["name"] = p.name;
    entry["kind"] = p.kind;
    if (!p.error.empty()) entry["error"] = p.error;
    entry["cost"] = std::move(cost);
    entry["cost_vs_oracle"] = number(p.cost_vs_oracle);
    entry["slo"] = std::move(slo);
    entry["elasticity"] = std::move(el);
    entry["elastic_speedup_vs_hpa"] = number(p.elastic_speedup_vs_hpa);
    entry["actions"] = std::move(actions);
    entry["decisions"] = p.decisions;
    policies.push_back(std::move(entry));
  }
  J out = J::object();
  out["scenario"] = report.scenario;
  out["trace"] = report.trace;
  out["start"] = format_time(report.start);
  out["end"] = format_time(report.end);
  if (report.step.count() % 1000 == 0) {
    out["step_seconds"] = report.step.count() / 1000;
  } else {
    out["step_seconds"] = to_seconds(report.step);
  }
  out["steps"] = report.steps;
  out["gap_steps"] = report.gap_steps;
  out["policies"] = std::move(policies);
  return out;
}

// ---- time ticks ---------------------------------------------------------------------------------

namespace {

constexpr long long kDayMs = 86'400'000;
// Fixed tick intervals; the JS in the page has the same list (FIXED).
constexpr long long kFixedMs[] = {1'000,     5'000,      15'000,     30'000,     60'000,
                                  120'000,   300'000,    600'000,    900'000,    1'800'000,
                                  3'600'000, 7'200'000,  10'800'000, 21'600'000, 43'200'000,
                                  kDayMs,    2 * kDayMs, 7 * kDayMs};
constexpr int kMonthSteps[] = {1, 2, 3, 6, 12, 24, 60, 120};
constexpr double kMonthMs = 30.436875 * static_cast<double>(kDayMs);
constexpr const char* kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

long long floor_div(long long a, long long b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}
long long ceil_div(long long a, long long b) {
  return -floor_div(-a, b);
}

TimePoint month_start(long long index) {  // index = year * 12 + month - 1
  const date::year_month_day ymd{
      date::year{static_cast<int>(floor_div(index, 12))},
      date::month{static_cast<unsigned>(index - 12 * floor_div(index, 12) + 1)}, date::day{1}};
  return std::chrono::time_point_cast<Duration>(date::sys_days{ymd});
}

}  // namespace

std::vector<TimeTick> time_ticks(TimePoint from, TimePoint to, int max_ticks) {
  std::vector<TimeTick> ticks;
  if (to <= from || max_ticks < 1) return ticks;
  const long long t0 = from.time_since_epoch().count();
  const long long t1 = to.time_since_epoch().count();
  const long long span = t1 - t0;
  long long interval = 0;
  for (long long iv : kFixedMs) {
    if (span / iv + 1 <= max_ticks) {
      interval = iv;
      break;
    }
  }
  int months = kMonthSteps[std::size(kMonthSteps) - 1];
  if (interval == 0) {
    for (int k : kMonthSteps) {
      if (static_cast<double>(span) / (k * kMonthMs) + 1 <= max_ticks) {
        months = k;
        break;
      }
    }
  }
  std::vector<TimePoint> at;
  if (interval != 0) {
    const long long align = interval == 7 * kDayMs ? 4 * kDayMs : 0;  // 1970-01-05 was a Monday
    for (long long t = align + ceil_div(t0 - align, interval) * interval; t <= t1; t += interval) {
      at.push_back(TimePoint(Duration(t)));
    }
  } else {
    const date::year_month_day first{date::floor<date::days>(from)};
    long long index = static_cast<int>(first.year()) * 12LL +
                      static_cast<long long>(static_cast<unsigned>(first.month())) - 1;
    if (month_start(index) < from) ++index;
    index = ceil_div(index, months) * months;
    for (; month_start(index) <= to; index += months) at.push_back(month_start(index));
  }

  std::string previous;
  bool first = true;
  for (TimePoint t : at) {
    const auto day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss<Duration> hms{t - day};
    const int year = static_cast<int>(ymd.year());
    const unsigned month = static_cast<unsigned>(ymd.month());
    TimeTick tick{t, "", ""};
    std::string context;
    if (interval != 0 && interval < 60'000) {
      tick.label = fmt::format("{:02}:{:02}:{:02}", hms.hours().count(), hms.minutes().count(),
                               hms.seconds().count());
      context = fmt::format("{:04}-{:02}-{:02}", year, month, static_cast<unsigned>(ymd.day()));
    } else if (interval != 0 && interval < kDayMs) {
      tick.label = fmt::format("{:02}:{:02}", hms.hours().count(), hms.minutes().count());
      context = fmt::format("{:04}-{:02}-{:02}", year, month, static_cast<unsigned>(ymd.day()));
    } else if (interval != 0) {
      tick.label = fmt::format("{} {}", kMonthNames[month - 1], static_cast<unsigned>(ymd.day()));
      context = std::to_string(year);
    } else if (months < 12) {
      tick.label = kMonthNames[month - 1];
      context = std::to_string(year);
    } else {
      tick.label = std::to_string(year);
    }
    if (first || context != previous) tick.context = context;
    previous = context;
    first = false;
    ticks.push_back(std::move(tick));
  }
  return ticks;
}

// ---- HTML ---------------------------------------------------------------------------------------

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Geometry of one chart, in SVG user units (the SVG scales to the page width).
struct Layout {
  int width, height;
  int ml, mr, mt, mb;  // margins around the plot area
  int max_ticks;
  int plot_width() const { return width - ml - mr; }
  int plot_height() const { return height - mt - mb; }
};
constexpr Layout kMainLayout{1200, 300, 54, 28, 14, 44, 14};
constexpr Layout kWorstLayout{400, 220, 44, 24, 12, 44, 4};

bool is_gap(const CurvePoint& p) {
  return std::isnan(p.load) || p.demand < 0;
}

// A chart's data: points on x (in steps since the report's start, so SVG coordinates stay exact
// integers for a year of minutes), the last point ending at x_end.
struct Series {
  std::vector<CurvePoint> points;
  std::vector<double> x;  // points.size() + 1 entries: x[i] .. x[i+1] is point i's span
};

double step_index(TimePoint t, TimePoint origin, Duration step) {
  return static_cast<double>((t - origin).count()) / static_cast<double>(step.count());
}

Series make_series(std::vector<CurvePoint> points, TimePoint origin, Duration step,
                   TimePoint end_hint) {
  Series s;
  s.points = std::move(points);
  for (const CurvePoint& p : s.points) s.x.push_back(step_index(p.at, origin, step));
  if (s.points.empty()) return s;
  double width = 1;
  if (s.x.size() >= 2) width = s.x[s.x.size() - 1] - s.x[s.x.size() - 2];
  double end = s.x.back() + width;
  const double hinted = step_index(end_hint, origin, step);
  if (hinted > s.x.back()) end = std::min(end, hinted);
  s.x.push_back(end);
  return s;
}

// The main chart's points: the downsampled curve, with the worst windows spliced in at full
// resolution (so zooming into one shows every step).
std::vector<CurvePoint> merged_points(const PolicyResult& p, Duration step) {
  std::vector<std::pair<TimePoint, TimePoint>> ranges;
  for (const Window& w : p.worst) {
    if (!w.points.empty()) ranges.emplace_back(w.points.front().at, w.points.back().at + step);
  }
  auto inside = [&](TimePoint t) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const auto& r) { return t >= r.first && t < r.second; });
  };
  std::vector<CurvePoint> out;
  for (std::size_t i = 0; i < p.curve.size(); ++i) {
    const CurvePoint& c = p.curve[i];
    if (!inside(c.at)) out.push_back(c);
    // The bucket a window ends in resumes at the window's end.
    const TimePoint bucket_end = i + 1 < p.curve.size() ? p.curve[i + 1].at : c.at + step;
    for (const auto& r : ranges) {
      if (r.second > c.at && r.second < bucket_end && !inside(r.second)) {
        CurvePoint resumed = c;
        resumed.at = r.second;
        out.push_back(resumed);
      }
    }
  }
  for (const Window& w : p.worst) out.insert(out.end(), w.points.begin(), w.points.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const CurvePoint& a, const CurvePoint& b) { return a.at < b.at; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const CurvePoint& a, const CurvePoint& b) { return a.at == b.at; }),
            out.end());
  return out;
}

std::string coord(double v) {
  return fmt::format("{:.10g}", v);
}

// A nice y range: 0 .. top with ticks every `step` instances (at most 5 intervals).
struct YScale {
  int top = 1;
  int step = 1;
};
YScale y_scale(const Series& s) {
  int peak = 1;
  for (const CurvePoint& p : s.points) {
    peak = std::max({peak, p.demand, p.supply, p.desired, p.forecast});
  }
  const double raw = std::max(1.0, std::ceil(peak * 1.05) / 5.0);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  int step = 1;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = std::max(1, static_cast<int>(std::lround(m * magnitude)));
      break;
    }
  }
  YScale y;
  y.step = step;
  y.top = std::max(step, static_cast<int>(std::ceil(peak * 1.05 / step)) * step);
  return y;
}

std::string x_axis(const Layout& L, TimePoint origin, Duration step, double x0, double x1) {
  std::string out;
  const TimePoint t0 = origin + Duration(std::llround(x0 * static_cast<double>(step.count())));
  const TimePoint t1 = origin + Duration(std::llround(x1 * static_cast<double>(step.count())));
  const double span = static_cast<double>((t1 - t0).count());
  for (const TimeTick& tick : time_ticks(t0, t1, L.max_ticks)) {
    const double x = L.ml + static_cast<double>((tick.at - t0).count()) / span * L.plot_width();
    out += fmt::format(R"(<line class="vgrid" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>)", coord(x),
                       L.mt, L.mt + L.plot_height());
    out += fmt::format(R"(<text class="tl" x="{}" y="{}">{}</text>)", coord(x),
                       L.mt + L.plot_height() + 16, html_escape(tick.label));
    if (!tick.context.empty()) {
      out += fmt::format(R"(<text class="tc" x="{}" y="{}">{}</text>)", coord(x),
                         L.mt + L.plot_height() + 31, html_escape(tick.context));
    }
  }
  return out;
}

// Step-function paths in data coordinates (x in steps, y = top - instances).
std::string plot_paths(const Series& s, int top) {
  const auto& pts = s.points;
  const auto& x = s.x;
  const std::size_t n = pts.size();
  std::string gaps, area, shortfall, supply, capacity, demand, forecast;
  auto y = [&](int v) { return top - std::max(0, v); };
  for (std::size_t i = 0; i < n;) {  // gaps, merged into runs
    if (!is_gap(pts[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && is_gap(pts[j])) ++j;
    gaps += fmt::format(R"(<rect class="gap" x="{}" y="0" width="{}" height="{}"/>)", coord(x[i]),
                        coord(x[j] - x[i]), top);
    i = j;
  }
  if (n > 0) {
    area = fmt::format("M{},{}", coord(x[0]), top);
    supply = fmt::format("M{},{}", coord(x[0]), y(pts[0].supply));
    capacity = fmt::format("M{},{}", coord(x[0]), y(pts[0].desired));
  }
  bool in_demand = false;
  for (std::size_t i = 0; i < n; ++i) {
    const CurvePoint& p = pts[i];
    area += fmt::format("V{}H{}", y(p.supply), coord(x[i + 1]));
    supply += fmt::format("V{}H{}", y(p.supply), coord(x[i + 1]));
    capacity += fmt::format("V{}H{}", y(p.desired), coord(x[i + 1]));
    if (p.forecast >= 0) {  // broken where there is no forecast
      const bool joined = i > 0 && pts[i - 1].forecast >= 0;
      forecast += joined ? fmt::format("V{}H{}", y(p.forecast), coord(x[i + 1]))
                         : fmt::format("M{},{}H{}", coord(x[i]), y(p.forecast), coord(x[i + 1]));
    }
    if (is_gap(p)) {
      in_demand = false;
      continue;
    }
    if (!in_demand) {
      demand += fmt::format("M{},{}", coord(x[i]), y(p.demand));
      in_demand = true;
    }
    demand += fmt::format("V{}H{}", y(p.demand), coord(x[i + 1]));
    if (p.supply < p.demand) {
      shortfall += fmt::format("M{},{}H{}V{}H{}Z", coord(x[i]), y(p.demand), coord(x[i + 1]),
                               y(p.supply), coord(x[i]));
    }
  }
  if (n > 0) area += fmt::format("V{}Z", top);
  std::string out = gaps;
  out += fmt::format(R"(<path class="supply-area" d="{}"/>)", area);
  if (!shortfall.empty()) out += fmt::format(R"(<path class="short" d="{}"/>)", shortfall);
  out += fmt::format(R"(<path class="line capacity" d="{}"/>)", capacity);
  out += fmt::format(R"(<path class="line supply" d="{}"/>)", supply);
  if (!demand.empty()) out += fmt::format(R"(<path class="line demand" d="{}"/>)", demand);
  // On top: it mostly runs along the capacity it drives.
  if (!forecast.empty()) out += fmt::format(R"(<path class="line forecast" d="{}"/>)", forecast);
  return out;
}

// The chart's data for the page's JS (hover read-out): x, demand (null in gaps), supply, capacity
// and, for a group with a predictive policy, the forecast's capacity (null without a forecast).
std::string series_json(const Series& s) {
  nlohmann::json x = nlohmann::json::array(), d = nlohmann::json::array(),
                 sup = nlohmann::json::array(), cap = nlohmann::json::array(),
                 fc = nlohmann::json::array();
  bool any_forecast = false;
  for (double v : s.x) x.push_back(v);
  for (const CurvePoint& p : s.points) {
    d.push_back(is_gap(p) ? nlohmann::json() : nlohmann::json(p.demand));
    sup.push_back(p.supply);
    cap.push_back(p.desired);
    fc.push_back(p.forecast >= 0 ? nlohmann::json(p.forecast) : nlohmann::json());
    any_forecast |= p.forecast >= 0;
  }
  nlohmann::json data{{"x", x}, {"d", d}, {"s", sup}, {"c", cap}};
  if (any_forecast) data["f"] = std::move(fc);
  std::string text = data.dump();
  // Inside <script>: never let the data close the element.
  std::string safe;
  for (char c : text) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return safe;
}

// One chart: a <div class="chart"> with the SVG and its data. `kind` is "main" (zoomable) or
// "worst".
std::string chart(const Series& s, const Layout& L, TimePoint origin, Duration step,
                  std::string_view kind, std::string_view title) {
  if (s.points.empty()) return R"(<p class="empty">no data points</p>)";
  const double x0 = s.x.front();
  const double x1 = std::max(s.x.back(), x0 + 1e-9);
  const YScale ys = y_scale(s);
  std::string out = fmt::format(
      R"(<div class="chart {}" data-origin="{}" data-step="{}" data-x0="{}" data-x1="{}" )"
      R"(data-yh="{}" data-ml="{}" data-mt="{}" data-pw="{}" data-ph="{}" data-ticks="{}">)",
      kind, origin.time_since_epoch().count(), step.count(), coord(x0), coord(x1), ys.top, L.ml,
      L.mt, L.plot_width(), L.plot_height(), L.max_ticks);
  out += fmt::format(R"(<svg viewBox="0 0 {} {}" role="img" aria-label="{}">)", L.width, L.height,
                     html_escape(title));
  out += fmt::format("<title>{}</title>", html_escape(title));
  // y grid and labels
  out += R"(<g class="ygrid">)";
  for (int v = 0; v <= ys.top; v += ys.step) {
    const double y = L.mt + L.plot_height() * (1.0 - static_cast<double>(v) / ys.top);
    out += fmt::format(R"(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>)", L.ml,
                       L.ml + L.plot_width(), coord(y));
    out += fmt::format(R"(<text x="{}" y="{}">{}</text>)", L.ml - 6, coord(y + 4), v);
  }
  out += "</g>";
  out += fmt::format(
      R"s(<text class="ylabel" transform="translate(12,{}) rotate(-90)">instances</text>)s",
      L.mt + L.plot_height() / 2);
  out += R"(<g class="xaxis">)" + x_axis(L, origin, step, x0, x1) + "</g>";
  out += fmt::format(
      R"(<svg class="plot" x="{}" y="{}" width="{}" height="{}" viewBox="{} 0 {} {}" preserveAspectRatio="none">)",
      L.ml, L.mt, L.plot_width(), L.plot_height(), coord(x0), coord(x1 - x0), ys.top);
  out += plot_paths(s, ys.top);
  out += "</svg>";
  out += fmt::format(R"(<line class="frame" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>)", L.ml,
                     L.ml + L.plot_width(), L.mt + L.plot_height());
  out +=
      fmt::format(R"(<line class="cursor" x1="0" x2="0" y1="{}" y2="{}" visibility="hidden"/>)"
                  R"(<rect class="brush" x="0" y="{}" width="0" height="{}" visibility="hidden"/>)"
                  R"(<rect class="overlay" x="{}" y="{}" width="{}" height="{}"/>)",
                  L.mt, L.mt + L.plot_height(), L.mt, L.plot_height(), L.ml, L.mt, L.plot_width(),
                  L.plot_height());
  out += "</svg>";
  out += R"(<div class="tip" hidden></div>)";
  out += R"(<script type="application/json" class="series">)" + series_json(s) + "</script>";
  out += "</div>";
  return out;
}

// Widths of the little bars behind table cells, relative to the column's largest finite value.
std::string bar_style(double v, double max) {
  if (!std::isfinite(v) || !std::isfinite(max) || max <= 0 || v <= 0) return "";
  const double pct = std::min(100.0, 100.0 * v / max);
  if (pct < 4) return "";  // a sliver reads as a glitch, not as a value
  return fmt::format(R"( style="--bar:{:.1f}%")", pct);
}

std::string results_table(const SimulationReport& r) {
  auto column_max = [&](double (*get)(const PolicyResult&)) {
    double m = 0;
    for (const PolicyResult& p : r.policies) {
      const double v = get(p);
      if (std::isfinite(v)) m = std::max(m, v);
    }
    return m;
  };
  const double max_ratio = column_max([](const PolicyResult& p) { return p.cost_vs_oracle; });
  const double max_late =
      column_max([](const PolicyResult& p) { return p.slo.late_or_dropped_pct; });
  const double max_under =
      column_max([](const PolicyResult& p) { return p.slo.under_provisioned_time_pct; });

  std::string out = R"(<div class="table-wrap"><table class="results"><thead>)";
  out += R"(<tr class="groups"><th></th><th colspan="4">cost</th><th colspan="2">SLO</th>)"
         R"(<th colspan="6">elasticity (%, lower is better)</th><th colspan="2">actions</th></tr>)";
  out +=
      "<tr>"
      "<th>policy</th>"
      R"(<th title="instance-hours: booting, ready and draining">instance<br>hours</th>)"
      R"(<th title="instance-hours charged under the billing rule">charged<br>hours</th>)"
      R"(<th title="charged hours x price per instance-hour">money</th>)"
      R"(<th title="cost / the oracle's cost">×<br>oracle</th>)"
      R"(<th title="share of work that waited beyond the SLO or was dropped">late or<br>dropped %</th>)"
      R"(<th title="share of time with demand above ready supply">under-<br>provisioned<br>time %</th>)"
      R"(<th title="under-provisioning accuracy">θ<sub>U</sub></th>)"
      R"(<th title="over-provisioning accuracy">θ<sub>O</sub></th>)"
      R"(<th title="under-provisioning timeshare">τ<sub>U</sub></th>)"
      R"(<th title="over-provisioning timeshare">τ<sub>O</sub></th>)"
      R"(<th title="instability">υ</th>)"
      R"(<th title="elastic speedup vs hpa: geometric mean of hpa's metric / this policy's; above 1 is more elastic">speedup<br>vs hpa</th>)"
      R"(<th title="scale-out actions">out</th>)"
      R"(<th title="scale-in actions">in</th>)"
      "</tr></thead><tbody>";
  for (std::size_t i = 0; i < r.policies.size(); ++i) {
    const PolicyResult& p = r.policies[i];
    out += fmt::format(R"(<tr><th><a href="#p-{}">{}</a>{}</th>)", i, html_escape(p.name),
                       p.kind == p.name
                           ? ""
                           : fmt::format(R"(<span class="kind">{}</span>)", html_escape(p.kind)));
    if (!p.error.empty()) {
      out += fmt::format(R"(<td class="error" colspan="14">error: {}</td></tr>)",
                         html_escape(p.error));
      continue;
    }
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td>", fmt_hours(p.cost.instance_hours),
                       fmt_hours(p.cost.charged_hours), fmt_money(p.cost.money));
    out += fmt::format(R"(<td class="bar cost"{}>{}</td>)", bar_style(p.cost_vs_oracle, max_ratio),
                       fmt_ratio(p.cost_vs_oracle));
    out += fmt::format(R"(<td class="bar bad"{}>{}</td>)",
                       bar_style(p.slo.late_or_dropped_pct, max_late),
                       fmt_pct(p.slo.late_or_dropped_pct));
    out += fmt::format(R"(<td class="bar bad"{}>{}</td>)",
                       bar_style(p.slo.under_provisioned_time_pct, max_under),
                       fmt_pct(p.slo.under_provisioned_time_pct));
    for (double v : {p.elasticity.theta_u, p.elasticity.theta_o, p.elasticity.tau_u,
                     p.elasticity.tau_o, p.elasticity.upsilon}) {
      out += fmt::format("<td>{}</td>", fmt_pct(v));
    }
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td></tr>",
                       fmt_ratio(p.elastic_speedup_vs_hpa), p.scale_out, p.scale_in);
  }
  out += "</tbody></table></div>";
  return out;
}

// `forecast`: some policy has a forecast curve.
std::string legend(bool forecast) {
  return std::string(
             R"(<div class="legend">)"
             R"(<span><i class="sw demand"></i>demand (instances needed)</span>)"
             R"(<span><i class="sw supply"></i>supply (ready instances)</span>)"
             R"(<span><i class="sw capacity"></i>capacity (desired: ready + booting)</span>)") +
         (forecast ? R"(<span><i class="sw forecast"></i>forecast (the capacity a predictive )"
                     R"(policy's forecast asks for)</span>)"
                   : "") +
         R"(<span><i class="sw short"></i>under-provisioned</span>)"
         R"(<span><i class="sw gap"></i>no data (gap in the trace)</span>)"
         R"(<span class="note">times in UTC</span>)"
         "</div>";
}

std::string stat(std::string_view value, std::string_view label, std::string_view cls = "") {
  return fmt::format(R"(<div class="stat {}"><b>{}</b><span>{}</span></div>)", cls, value, label);
}

std::string policy_section(const SimulationReport& r, std::size_t index) {
  const PolicyResult& p = r.policies[index];
  const Duration step = r.step.count() > 0 ? r.step : std::chrono::seconds(1);
  std::string out = fmt::format(R"(<section class="policy" id="p-{}">)", index);
  out += fmt::format(R"(<h2>{} <span class="kind">{}</span></h2>)", html_escape(p.name),
                     html_escape(p.kind));
  if (!p.error.empty()) {
    out += fmt::format(R"(<p class="error">This policy could not be replayed: {}</p></section>)",
                       html_escape(p.error));
    return out;
  }
  out += R"(<div class="stats">)";
  out += stat(fmt_ratio(p.cost_vs_oracle) + "×",
              fmt::format("cost vs oracle ({} charged-h, {} money)",
                          fmt_hours(p.cost.charged_hours), fmt_money(p.cost.money)));
  out += stat(fmt_pct(p.slo.late_or_dropped_pct) + " %",
              fmt::format("work late or dropped ({} % dropped)", fmt_pct(p.slo.dropped_pct)),
              p.slo.late_or_dropped_pct > 0 ? "bad" : "");
  out += stat(fmt_pct(p.slo.under_provisioned_time_pct) + " %", "of the time under-provisioned",
              p.slo.under_provisioned_time_pct > 0 ? "bad" : "");
  out +=
      stat(fmt::format("{} % / {} %", fmt_pct(p.elasticity.theta_u), fmt_pct(p.elasticity.theta_o)),
           fmt::format("θU / θO (a_U {} / a_O {} instances)", fmt_ratio(p.elasticity.a_u),
                       fmt_ratio(p.elasticity.a_o)));
  out += stat(fmt_ratio(p.elastic_speedup_vs_hpa), "elastic speedup vs hpa");
  out += stat(fmt::format("{} ↑ {} ↓", p.scale_out, p.scale_in),
              fmt::format("scale-outs / scale-ins ({} decisions)", p.decisions));
  out += "</div>";

  const Series main = make_series(merged_points(p, step), r.start, step, r.end);
  out +=
      R"(<div class="zoombar"><button type="button" class="reset" disabled>whole trace</button>)";
  if (!p.worst.empty()) out += R"(<span class="hint">zoom to a worst period:</span>)";
  for (std::size_t w = 0; w < p.worst.size(); ++w) {
    const Window& win = p.worst[w];
    if (win.points.empty()) continue;
    const TimePoint from = win.points.front().at;
    const auto day = date::floor<date::days>(from);
    const date::hh_mm_ss<Duration> hms{from - day};
    out += fmt::format(
        R"(<button type="button" class="zoom" data-x0="{}" data-x1="{}" title="{}">{}. {} )"
        R"({:02}:{:02}</button>)",
        coord(step_index(from, r.start, step)),
        coord(step_index(win.points.back().at + step, r.start, step)), html_escape(win.label),
        w + 1, date::format("%F", day), hms.hours().count(), hms.minutes().count());
  }
  out += R"(<span class="hint right">drag to zoom, double-click to reset</span></div>)";
  out += chart(main, kMainLayout, r.start, step, "main",
               fmt::format("{}: demand, supply and capacity over the trace", p.name));

  if (p.worst.empty()) {
    out += R"(<p class="empty">No under-provisioned period.</p>)";
  } else {
    out += R"(<h3>Worst periods at full resolution</h3><div class="worst">)";
    for (std::size_t w = 0; w < p.worst.size(); ++w) {
      const Window& win = p.worst[w];
      const Series s = make_series(win.points, r.start, step,
                                   win.points.empty() ? r.end : win.points.back().at + step);
      out +=
          fmt::format(R"(<figure><figcaption>{}. {}</figcaption>)", w + 1, html_escape(win.label));
      out += chart(s, kWorstLayout, r.start, step, "worst",
                   fmt::format("{}: worst period {}", p.name, w + 1));
      out += "</figure>";
    }
    out += "</div>";
  }
  out += "</section>";
  return out;
}

constexpr std::string_view kCss = R"css(
:root{--demand:#111827;--supply:#2563eb;--capacity:#d97706;--forecast:#7c3aed;--short:#dc2626;--gap:#9ca3af;
--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:22px 28px 40px}
header h1{font-size:22px;margin:0 0 2px;font-weight:650}
header h1 .tool{color:var(--muted);font-weight:500}
.meta{color:var(--muted);margin:0 0 16px}
.meta code{color:var(--ink);background:#e8ecf2;border-radius:4px;padding:0 4px}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:16px 0 6px;color:#374151}
.kind{font-size:12px;font-weight:500;color:var(--muted);margin-left:8px}
.card,section.policy{background:#fff;border:1px solid var(--line);border-radius:10px;
padding:16px 18px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.03)}
.table-wrap{overflow-x:auto}
table.results{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
table.results th,table.results td{padding:6px 9px;text-align:right;white-space:nowrap;
border-bottom:1px solid var(--line)}
table.results thead th{font-size:12px;font-weight:600;color:#4b5563;vertical-align:bottom}
table.results tr.groups th{text-align:center;color:var(--muted);font-weight:500;
border-bottom:2px solid var(--line);letter-spacing:.02em}
table.results th:first-child{text-align:left}
table.results tbody th{font-weight:600}
table.results tbody th a{color:var(--ink);text-decoration:none}
table.results tbody th a:hover{text-decoration:underline}
table.results tbody th .kind{display:block;margin:0}
table.results tbody tr:hover{background:#f9fafb}
td.bar{background-repeat:no-repeat;background-position:right 2px center;
background-size:calc(var(--bar,0%) - 4px) 70%}
td.bar.cost{background-image:linear-gradient(#dbeafe,#dbeafe)}
td.bar.bad{background-image:linear-gradient(#fee2e2,#fee2e2)}
dl.notes{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:2px 12px;
margin:12px 0 0;font-size:12px;color:var(--muted)}
dl.notes dt{font-weight:600;color:#374151}
dl.notes dd{margin:0}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 12px}
.stat{flex:1 1 0;min-width:150px;border:1px solid var(--line);border-radius:8px;padding:6px 12px}
.stat b{display:block;font-size:18px;font-variant-numeric:tabular-nums}
.stat span{font-size:12px;color:var(--muted)}
.stat.bad b{color:var(--short)}
.legend .note{color:var(--muted);margin-left:auto}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12px;color:#374151;margin:0 0 6px}
.sw{display:inline-block;width:18px;height:10px;margin-right:6px;vertical-align:-1px;
border-radius:2px}
.sw.demand{height:0;border-top:2px solid var(--demand);vertical-align:3px}
.sw.supply{background:rgba(37,99,235,.15);border-top:2px solid var(--supply)}
.sw.capacity{height:0;border-top:2px dashed var(--capacity);vertical-align:3px}
.sw.forecast{height:0;border-top:2px dotted var(--forecast);vertical-align:3px}
.sw.short{background:rgba(220,38,38,.4)}
.sw.gap{background:rgba(156,163,175,.35)}
.legend.top{position:sticky;top:0;z-index:2;background:var(--bg);padding:8px 0;margin:0 0 8px}
.zoombar{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:0 0 4px;font-size:12px}
.zoombar .hint{color:var(--muted)}
.zoombar .right{margin-left:auto}
.zoombar button{font:inherit;border:1px solid #d1d5db;background:#fff;border-radius:6px;
padding:2px 8px;cursor:pointer;color:#1f2937}
.zoombar button:hover:not(:disabled){border-color:var(--supply);color:var(--supply)}
.zoombar button:disabled{opacity:.45;cursor:default}
.zoombar button.zoom{border-color:#fecaca;background:#fef2f2}
.chart{position:relative}
.chart svg{display:block;width:100%;height:auto;overflow:visible}
.chart svg.plot{overflow:hidden}
.chart .ygrid line,.chart .vgrid{stroke:#eef0f3;stroke-width:1}
.chart text{font-size:11px;fill:var(--muted)}
.chart .ygrid text{text-anchor:end}
.chart .tl,.chart .tc{text-anchor:middle}
.chart .tc{font-size:10px;fill:#9ca3af}
.chart .ylabel{text-anchor:middle;font-size:11px}
.chart .frame{stroke:#9ca3af}
.chart .line{fill:none;vector-effect:non-scaling-stroke;stroke-linejoin:round}
.chart .demand{stroke:var(--demand);stroke-width:1.6}
.chart .supply{stroke:var(--supply);stroke-width:1.3}
.chart .capacity{stroke:var(--capacity);stroke-width:1.3;stroke-dasharray:5 3}
.chart .forecast{stroke:var(--forecast);stroke-width:1.6;stroke-dasharray:2 2}
.chart .supply-area{fill:var(--supply);fill-opacity:.12}
.chart .short{fill:var(--short);fill-opacity:.4}
.chart .gap{fill:var(--gap);fill-opacity:.3}
.chart .overlay{fill:transparent;cursor:crosshair}
.chart .cursor{stroke:#6b7280;stroke-width:1;stroke-dasharray:2 2;pointer-events:none}
.chart .brush{fill:rgba(37,99,235,.12);stroke:var(--supply);pointer-events:none}
.chart .tip{position:absolute;top:6px;pointer-events:none;background:rgba(17,24,39,.92);
color:#fff;font-size:12px;padding:4px 8px;border-radius:6px;white-space:nowrap}
.worst{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
.worst figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px 10px 4px}
.worst figcaption{font-size:12px;color:#374151;margin:0 0 4px}
.empty{color:var(--muted);font-size:13px}
.error{color:var(--short);text-align:left!important;white-space:normal!important}
footer{color:var(--muted);font-size:12px;margin-top:24px}
)css";

// The page's only script: hover read-out on every chart; zoom on the main charts (drag to select,
// double-click or "whole trace" to reset, worst-period buttons). It computes the same time ticks
// as time_ticks() above.
constexpr std::string_view kScript = R"js(
(function () {
  "use strict";
  var FIXED = [1e3, 5e3, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5,
               432e5, 864e5, 1728e5, 6048e5];
  var MONTHS = [1, 2, 3, 6, 12, 24, 60, 120];
  var MONTH_MS = 30.436875 * 864e5;
  var NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function p2(n) { return (n < 10 ? "0" : "") + n; }
  function day(d) { return d.getUTCFullYear() + "-" + p2(d.getUTCMonth() + 1) + "-" + p2(d.getUTCDate()); }
  function monthStart(i) { return Date.UTC(Math.floor(i / 12), ((i % 12) + 12) % 12, 1); }

  function ticks(t0, t1, max) {
    var span = t1 - t0, iv = 0, k = MONTHS[MONTHS.length - 1], raw = [], i, t;
    if (!(span > 0) || max < 1) return [];
    for (i = 0; i < FIXED.length; i++) {
      if (Math.floor(span / FIXED[i]) + 1 <= max) { iv = FIXED[i]; break; }
    }
    if (!iv) {
      for (i = 0; i < MONTHS.length; i++) {
        if (span / (MONTHS[i] * MONTH_MS) + 1 <= max) { k = MONTHS[i]; break; }
      }
      var d0 = new Date(t0), idx = d0.getUTCFullYear() * 12 + d0.getUTCMonth();
      if (monthStart(idx) < t0) idx++;
      idx = Math.ceil(idx / k) * k;
      for (; monthStart(idx) <= t1; idx += k) raw.push(monthStart(idx));
    } else {
      var align = iv === 6048e5 ? 4 * 864e5 : 0;
      for (t = align + Math.ceil((t0 - align) / iv) * iv; t <= t1; t += iv) raw.push(t);
    }
    var prev = null;
    return raw.map(function (t) {
      var d = new Date(t), label, ctx = "";
      if (iv && iv < 6e4) {
        label = p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes()) + ":" + p2(d.getUTCSeconds());
        ctx = day(d);
      } else if (iv && iv < 864e5) {
        label = p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes());
        ctx = day(d);
      } else if (iv) {
        label = NAMES[d.getUTCMonth()] + " " + d.getUTCDate();
        ctx = String(d.getUTCFullYear());
      } else if (k < 12) {
        label = NAMES[d.getUTCMonth()];
        ctx = String(d.getUTCFullYear());
      } else {
        label = String(d.getUTCFullYear());
      }
      var show = ctx !== prev ? ctx : "";
      prev = ctx;
      return { t: t, label: label, ctx: show };
    });
  }

  function add(parent, name, attrs, text) {
    var el = document.createElementNS(parent.namespaceURI, name);
    for (var a in attrs) el.setAttribute(a, attrs[a]);
    if (text !== undefined) el.textContent = text;
    parent.appendChild(el);
    return el;
  }
  function num(el, name) { return parseFloat(el.getAttribute("data-" + name)); }
  function when(t) {
    var d = new Date(t);
    return day(d) + " " + p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes()) +
      (d.getUTCSeconds() ? ":" + p2(d.getUTCSeconds()) : "") + " UTC";
  }

  function Chart(el) {
    var c = this;
    c.el = el;
    c.svg = el.querySelector("svg");
    c.plot = el.querySelector("svg.plot");
    c.xaxis = el.querySelector("g.xaxis");
    c.overlay = el.querySelector("rect.overlay");
    c.cursor = el.querySelector("line.cursor");
    c.brush = el.querySelector("rect.brush");
    c.tip = el.querySelector(".tip");
    c.data = JSON.parse(el.querySelector("script.series").textContent);
    ["origin", "step", "x0", "x1", "yh", "ml", "mt", "pw", "ph", "ticks"].forEach(function (k) {
      c[k] = num(el, k);
    });
    c.full0 = c.x0;
    c.full1 = c.x1;
    c.frac = function (ev) {
      var r = c.overlay.getBoundingClientRect();
      return Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    };
    c.overlay.addEventListener("mousemove", function (ev) { c.hover(ev); });
    c.overlay.addEventListener("mouseleave", function () {
      c.cursor.setAttribute("visibility", "hidden");
      c.tip.hidden = true;
    });
  }
  Chart.prototype.hover = function (ev) {
    var c = this, f = c.frac(ev), x = c.x0 + f * (c.x1 - c.x0), xs = c.data.x;
    var lo = 0, hi = xs.length - 2;
    if (hi < 0) return;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (xs[mid] <= x) lo = mid; else hi = mid - 1;
    }
    var px = c.ml + f * c.pw;
    c.cursor.setAttribute("x1", px);
    c.cursor.setAttribute("x2", px);
    c.cursor.setAttribute("visibility", "visible");
    var d = c.data.d[lo];
    c.tip.textContent = when(c.origin + xs[lo] * c.step) + "  \u00b7  " +
      (d === null ? "no data" : "demand " + d) + "  \u00b7  ready " + c.data.s[lo] +
      "  \u00b7  capacity " + c.data.c[lo] +
      (c.data.f && c.data.f[lo] !== null ? "  \u00b7  forecast " + c.data.f[lo] : "");
    c.tip.hidden = false;
    var box = c.el.getBoundingClientRect(), left = ev.clientX - box.left + 14;
    if (left + c.tip.offsetWidth > box.width) left = ev.clientX - box.left - c.tip.offsetWidth - 14;
    c.tip.style.left = Math.max(0, left) + "px";
  };
  Chart.prototype.setDomain = function (x0, x1) {
    var c = this;
    x0 = Math.max(c.full0, x0);
    x1 = Math.min(c.full1, x1);
    if (!(x1 - x0 >= 1)) return;
    c.x0 = x0;
    c.x1 = x1;
    c.plot.setAttribute("viewBox", x0 + " 0 " + (x1 - x0) + " " + c.yh);
    while (c.xaxis.firstChild) c.xaxis.removeChild(c.xaxis.firstChild);
    var t0 = c.origin + x0 * c.step, t1 = c.origin + x1 * c.step;
    ticks(t0, t1, c.ticks).forEach(function (tk) {
      var x = c.ml + (tk.t - t0) / (t1 - t0) * c.pw;
      add(c.xaxis, "line", { "class": "vgrid", x1: x, x2: x, y1: c.mt, y2: c.mt + c.ph });
      add(c.xaxis, "text", { "class": "tl", x: x, y: c.mt + c.ph + 16 }, tk.label);
      if (tk.ctx) add(c.xaxis, "text", { "class": "tc", x: x, y: c.mt + c.ph + 31 }, tk.ctx);
    });
    if (c.reset) c.reset.disabled = x0 <= c.full0 && x1 >= c.full1;
  };

  var charts = 0, mains = [];
  document.querySelectorAll(".chart").forEach(function (el) {
    var c = new Chart(el);
    charts++;
    if (!el.classList.contains("main")) return;
    mains.push(c);
    var bar = el.previousElementSibling;
    c.reset = bar && bar.querySelector("button.reset");
    if (c.reset) c.reset.addEventListener("click", function () { c.setDomain(c.full0, c.full1); });
    if (bar) bar.querySelectorAll("button.zoom").forEach(function (b) {
      b.addEventListener("click", function () {
        var a = num(b, "x0"), z = num(b, "x1"), pad = Math.max(2, (z - a) * 0.25);
        c.setDomain(a - pad, z + pad);
      });
    });
    var start = null;
    c.overlay.addEventListener("mousedown", function (ev) {
      start = c.frac(ev);
      ev.preventDefault();
    });
    window.addEventListener("mousemove", function (ev) {
      if (start === null) return;
      var f = c.frac(ev), a = Math.min(start, f), z = Math.max(start, f);
      c.brush.setAttribute("x", c.ml + a * c.pw);
      c.brush.setAttribute("width", (z - a) * c.pw);
      c.brush.setAttribute("visibility", "visible");
    });
    window.addEventListener("mouseup", function (ev) {
      if (start === null) return;
      var f = c.frac(ev), a = Math.min(start, f), z = Math.max(start, f), w = c.x1 - c.x0;
      start = null;
      c.brush.setAttribute("visibility", "hidden");
      if ((z - a) * c.pw > 4) c.setDomain(c.x0 + a * w, c.x0 + z * w);
    });
    c.overlay.addEventListener("dblclick", function () { c.setDomain(c.full0, c.full1); });
  });
  // #zoom=P:X0:X1 opens the page with policy P's main chart zoomed to steps X0..X1.
  var m = /^#zoom=(\d+):([\d.]+):([\d.]+)$/.exec(window.location.hash);
  if (m && mains[+m[1]]) {
    mains[+m[1]].setDomain(+m[2], +m[3]);
  }
  document.body.setAttribute("data-charts", String(charts));
})();
)js";

}  // namespace

std::string render_html(const SimulationReport& report) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>tide simulate: {}</title>\n", html_escape(report.scenario));
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n<main>\n", kCss);
  out += fmt::format(R"(<header><h1><span class="tool">tide simulate</span> {}</h1>)",
                     html_escape(report.scenario));
  out += fmt::format(
      R"(<p class="meta">trace <code>{}</code> · {} · step {} · {} steps · {} % gaps ({} steps))"
      R"( · {} policies</p></header>)",
      html_escape(report.trace), html_escape(span_text(report)), step_text(report.step),
      report.steps, fmt_pct(gap_pct(report)), report.gap_steps, report.policies.size());
  out += "\n<section class=\"card\" id=\"results\"><h2>Results</h2>";
  out += results_table(report);
  out += R"(<dl class="notes">)"
         "<dt>cost</dt><dd>instance-hours (booting, ready, draining); charged hours under the "
         "billing rule; money = charged hours x price; × oracle = cost / the offline optimum's</dd>"
         "<dt>SLO</dt><dd>work that waited beyond the SLO or was dropped; share of time with "
         "fewer ready instances than the demand needs</dd>"
         "<dt>θ<sub>U</sub> θ<sub>O</sub></dt><dd>under-/over-provisioning accuracy: mean "
         "shortage/excess relative to demand</dd>"
         "<dt>τ<sub>U</sub> τ<sub>O</sub></dt><dd>under-/over-provisioning timeshare</dd>"
         "<dt>υ</dt><dd>instability: how often supply moves against demand</dd>"
         "<dt>speedup</dt><dd>elastic speedup vs hpa: geometric mean of hpa's metrics over this "
         "policy's (metrics floored at 0.001); above 1 is more elastic</dd>"
         "</dl></section>\n";
  // One legend for every chart: the colors are the same for every policy.
  out +=
      R"(<div class="legend top">)" +
      legend(std::any_of(report.policies.begin(), report.policies.end(), [](const PolicyResult& p) {
        return std::any_of(p.curve.begin(), p.curve.end(),
                           [](const CurvePoint& c) { return c.forecast >= 0; });
      })).substr(std::string_view(R"(<div class="legend">)").size());
  out += "\n";
  for (std::size_t i = 0; i < report.policies.size(); ++i) {
    out += policy_section(report, i);
    out += "\n";
  }
  out += fmt::format("<footer>tide {} · one self-contained page: no external assets</footer>\n",
                     TIDE_VERSION);
  out += fmt::format("</main>\n<script>{}</script>\n</body>\n</html>\n", kScript);
  return out;
}

}  // namespace tide::sim
