#include "simulate/charts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "simulate/report.hpp"

namespace tide::sim {
namespace {

constexpr int kWidth = 1100, kHeight = 280;
constexpr int kLeft = 64, kRight = 16, kTop = 12, kBottom = 40;

std::string num(double v) {
  return fmt::format("{:.2f}", v);
}

// A round axis step for a range, and the top of the axis.
double nice_step(double range, int ticks) {
  if (!(range > 0)) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string label_number(double v) {
  if (std::fabs(v) >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (std::fabs(v) >= 1e4) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.4g}", v);
}

}  // namespace

std::string line_chart(const std::vector<LineSeries>& lines, TimePoint origin, Duration step,
                       std::string_view unit, int max_points) {
  std::size_t n = 0;
  for (const LineSeries& l : lines) n = std::max(n, l.values.size());
  if (n == 0) return "<p class=\"empty\">no data</p>";
  const std::size_t bucket = std::max<std::size_t>(1, (n + max_points - 1) / max_points);
  const std::size_t points = (n + bucket - 1) / bucket;
  std::vector<std::vector<double>> reduced(lines.size());
  double top = 0;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    reduced[l].assign(points, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t p = 0; p < points; ++p) {
      double sum = 0;
      int count = 0;
      for (std::size_t i = p * bucket; i < std::min(n, (p + 1) * bucket); ++i) {
        if (i < lines[l].values.size() && std::isfinite(lines[l].values[i])) {
          sum += lines[l].values[i];
          ++count;
        }
      }
      if (count > 0) {
        reduced[l][p] = sum / count;
        top = std::max(top, reduced[l][p]);
      }
    }
  }
  const double ystep = nice_step(top, 4);
  const double ytop = std::max(ystep, std::ceil(top / ystep) * ystep);
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto xs = [&](double p) { return kLeft + pw * p / static_cast<double>(points); };
  auto ys = [&](double v) { return kTop + ph * (1 - v / ytop); };

  std::string svg = fmt::format(
      "<svg class=\"lc\" viewBox=\"0 0 {} {}\" role=\"img\" preserveAspectRatio=\"none\">", kWidth,
      kHeight);
  for (double v = 0; v <= ytop + ystep / 2; v += ystep) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/><text class=\"yl\" x=\"{}\" "
        "y=\"{}\">{}</text>",
        kLeft, kWidth - kRight, num(ys(v)), num(ys(v)), kLeft - 6, num(ys(v) + 4), label_number(v));
  }
  const TimePoint end = origin + step * static_cast<long long>(n);
  for (const TimeTick& t : time_ticks(origin, end, 10)) {
    const double x = xs(static_cast<double>((t.at - origin).count()) /
                        static_cast<double>(step.count() * static_cast<long long>(bucket)));
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"xl\" "
        "x=\"{0}\" y=\"{3}\">{4}</text>",
        num(x), kTop, kTop + ph, kTop + ph + 14, html_escape(t.label));
    if (!t.context.empty()) {
      svg += fmt::format("<text class=\"xc\" x=\"{}\" y=\"{}\">{}</text>", num(x), kTop + ph + 28,
                         html_escape(t.context));
    }
  }
  svg += fmt::format("<text class=\"unit\" x=\"{}\" y=\"{}\">{}</text>", kLeft + 6, kTop + 12,
                     html_escape(unit));
  for (std::size_t l = 0; l < lines.size(); ++l) {
    std::string d;
    bool pen = false;
    for (std::size_t p = 0; p < points; ++p) {
      const double v = reduced[l][p];
      if (!std::isfinite(v)) {
        pen = false;
        continue;
      }
      d += fmt::format("{}{} {}", pen ? " L" : (d.empty() ? "M" : " M"), num(xs(p + 0.5)),
                       num(ys(v)));
      pen = true;
    }
    svg +=
        fmt::format("<path class=\"ln\" d=\"{}\" stroke=\"{}\"{}><title>{}</title></path>", d,
                    html_escape(lines[l].color), lines[l].dashed ? " stroke-dasharray=\"5 3\"" : "",
                    html_escape(lines[l].label));
  }
  svg += "</svg>";
  std::string legend = "<div class=\"lg\">";
  for (const LineSeries& l : lines) {
    legend +=
        fmt::format("<span><i style=\"border-color:{}\"{}></i>{}</span>", html_escape(l.color),
                    l.dashed ? " class=\"dash\"" : "", html_escape(l.label));
  }
  legend += "</div>";
  return "<div class=\"chartbox\">" + legend + svg + "</div>";
}

std::string scatter_chart(const std::vector<ScatterSeries>& series, std::string_view x_label,
                          std::string_view y_label, double x_marker,
                          std::string_view marker_label) {
  double xmax = 0, ymax = 0;
  for (const ScatterSeries& s : series) {
    for (const auto* list : {&s.points, &s.front, &s.highlight}) {
      for (const ScatterPoint& p : *list) {
        if (std::isfinite(p.x)) xmax = std::max(xmax, p.x);
        if (std::isfinite(p.y)) ymax = std::max(ymax, p.y);
      }
    }
  }
  if (std::isfinite(x_marker)) xmax = std::max(xmax, x_marker * 1.2);
  const double xstep = nice_step(xmax, 6), ystep = nice_step(ymax, 5);
  const double xtop = std::max(xstep, std::ceil(xmax / xstep) * xstep);
  const double ytop = std::max(ystep, std::ceil(ymax / ystep) * ystep);
  const double pw = kWidth - kLeft - kRight, ph = 360 - kTop - kBottom;
  auto xs = [&](double v) { return kLeft + pw * v / xtop; };
  auto ys = [&](double v) { return kTop + ph * (1 - v / ytop); };
  std::string svg =
      fmt::format("<svg class=\"sc\" viewBox=\"0 0 {} {}\" role=\"img\">", kWidth, 360);
  for (double v = 0; v <= ytop + ystep / 2; v += ystep) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/><text class=\"yl\" x=\"{}\" "
        "y=\"{}\">{}</text>",
        kLeft, kWidth - kRight, num(ys(v)), num(ys(v)), kLeft - 6, num(ys(v) + 4), label_number(v));
  }
  for (double v = 0; v <= xtop + xstep / 2; v += xstep) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"xl\" "
        "x=\"{0}\" y=\"{3}\">{4}</text>",
        num(xs(v)), kTop, kTop + ph, kTop + ph + 14, label_number(v));
  }
  svg += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>", kLeft + pw / 2,
                     kTop + ph + 32, html_escape(x_label));
  svg += fmt::format("<text class=\"unit\" x=\"{}\" y=\"{}\">{}</text>", kLeft + 6, kTop + 12,
                     html_escape(y_label));
  if (std::isfinite(x_marker)) {
    svg += fmt::format(
        "<line class=\"marker\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"mk\" "
        "x=\"{3}\" y=\"{4}\">{5}</text>",
        num(xs(x_marker)), kTop, kTop + ph, num(xs(x_marker) + 4), kTop + 28,
        html_escape(marker_label));
  }
  for (const ScatterSeries& s : series) {
    const std::string color = html_escape(s.color);
    for (const ScatterPoint& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      svg += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" fill-opacity=\".35\"><title>{}</title>"
          "</circle>",
          num(xs(std::min(p.x, xtop))), num(ys(p.y)), color, html_escape(p.title));
    }
    if (!s.front.empty()) {
      std::string d;
      for (std::size_t i = 0; i < s.front.size(); ++i) {
        const ScatterPoint& p = s.front[i];
        d +=
            fmt::format("{}{} {}", i == 0 ? "M" : " L", num(xs(std::min(p.x, xtop))), num(ys(p.y)));
      }
      svg += fmt::format("<path class=\"ln\" d=\"{}\" stroke=\"{}\"/>", d, color);
    }
    for (const ScatterPoint& p : s.highlight) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      svg += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"7\" fill=\"{}\" stroke=\"#111827\" stroke-width=\"1.5\">"
          "<title>{}</title></circle>",
          num(xs(std::min(p.x, xtop))), num(ys(p.y)), color, html_escape(p.title));
    }
  }
  svg += "</svg>";
  std::string legend = "<div class=\"lg\">";
  for (const ScatterSeries& s : series) {
    legend += fmt::format("<span><b style=\"background:{}\"></b>{}</span>", html_escape(s.color),
                          html_escape(s.label));
  }
  legend +=
      "<span class=\"note\">small dots: candidates; line: Pareto front; large dot: the "
      "cheapest that meets the SLO</span></div>";
  return "<div class=\"chartbox\">" + legend + svg + "</div>";
}

std::string_view charts_css() {
  return R"css(
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:22px 28px 40px}
h1{font-size:22px;margin:0 0 2px;font-weight:650}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px;color:#374151}
.meta{color:var(--muted);margin:0 0 16px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin:0 0 18px}
table.t{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
table.t th,table.t td{padding:5px 9px;text-align:right;white-space:nowrap;
border-bottom:1px solid var(--line)}
table.t th:first-child,table.t td.l{text-align:left}
table.t td.w{text-align:left;white-space:normal;min-width:220px;max-width:360px}
table.t tr.with-cfg td{border-bottom:none}
table.t tr.cfg td{text-align:left;white-space:normal;font-size:12px;color:#4b5563;padding-top:0}
.card{overflow-x:auto}
table.t thead th{font-size:12px;color:#4b5563}
td.bar{background-repeat:no-repeat;background-position:right 2px center;
background-size:calc(var(--bar,0%) - 4px) 70%;background-image:linear-gradient(#dbeafe,#dbeafe)}
td.ok{color:#047857}td.no{color:#dc2626}
pre{background:#f3f4f6;border-radius:8px;padding:10px 12px;overflow-x:auto;font-size:12px}
.chartbox svg{display:block;width:100%;height:auto}
.chartbox .grid{stroke:#eef0f3}
.chartbox text{font-size:11px;fill:var(--muted)}
.chartbox .yl{text-anchor:end}.chartbox .xl,.chartbox .xc{text-anchor:middle}
.chartbox .xc{font-size:10px;fill:#9ca3af}
.chartbox .ln{fill:none;stroke-width:1.4;stroke-linejoin:round}
.chartbox .marker{stroke:#dc2626;stroke-dasharray:4 3}
.chartbox .mk{fill:#dc2626}
.lg{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#374151;margin:0 0 4px}
.lg i{display:inline-block;width:18px;border-top:2px solid;margin-right:6px;vertical-align:3px}
.lg i.dash{border-top-style:dashed}
.lg b{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
.lg .note{color:var(--muted);margin-left:auto}
footer{color:var(--muted);font-size:12px;margin-top:24px}
)css";
}

std::string chart_page_start(std::string_view title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><meta "
      "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{}</style></head>"
      "<body><main>",
      html_escape(title), charts_css());
}

std::string_view chart_page_end() {
  return "</main></body></html>\n";
}

}  // namespace tide::sim
