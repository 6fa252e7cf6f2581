#include "cli/demo_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "simulate/report.hpp"  // html_escape

namespace tide::cli {

using sim::html_escape;

double quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  const auto rank =
      static_cast<std::size_t>(std::clamp(std::ceil(q * static_cast<double>(values.size())), 1.0,
                                          static_cast<double>(values.size())) -
                               1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return values[rank];
}

DemoSummary summarize(const std::vector<DemoSample>& samples,
                      const std::vector<DemoAction>& actions, const DemoModel& model) {
  DemoSummary s;
  s.seconds = static_cast<int>(samples.size());
  std::vector<float> latencies;
  for (const DemoSample& x : samples) {
    s.sent += x.requests.sent;
    s.ok += x.requests.ok;
    s.late += x.requests.late;
    s.rejected += x.requests.rejected;
    s.errors += x.requests.errors;
    latencies.insert(latencies.end(), x.requests.latency_ms.begin(), x.requests.latency_ms.end());
    if (x.offered > x.ready * model.capacity_rps) s.under_provisioned_seconds++;
    s.worker_seconds += x.ready + x.warming;
    s.peak_workers = std::max(s.peak_workers, x.desired);
  }
  s.p50_ms = quantile(latencies, 0.50);
  s.p95_ms = quantile(latencies, 0.95);
  s.p99_ms = quantile(latencies, 0.99);
  for (const DemoAction& a : actions) (a.to > a.from ? s.scale_outs : s.scale_ins)++;

  // Load steps and tide's reaction to each.
  double answered_until = -1;  // a step is open until the scale-out that answered it
  bool in_step = false;
  for (const DemoSample& x : samples) {
    const double second = x.second;
    if (second < answered_until) continue;
    const bool short_of_target = x.offered > x.desired * model.target_rps * (1 + model.step_margin);
    if (!short_of_target) {
      in_step = false;
      continue;
    }
    if (in_step) continue;
    in_step = true;
    s.load_steps++;
    for (const DemoAction& a : actions) {
      if (a.to > a.from && a.at >= second) {
        s.reactions.push_back(a.at - second);
        answered_until = a.at;
        in_step = false;
        break;
      }
    }
  }
  return s;
}

std::string format_summary(const DemoSummary& s) {
  auto pct = [](long long part, long long whole) {
    return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  std::string out = fmt::format(
      "requests: {} sent, {} served ({:.1f} % later than the SLO), {} rejected ({:.2f} %), {} "
      "failed; latency p50 {:.0f} ms, p95 {:.0f} ms, p99 {:.0f} ms\n",
      s.sent, s.ok, pct(s.late, s.ok), s.rejected, pct(s.rejected, s.sent), s.errors, s.p50_ms,
      s.p95_ms, s.p99_ms);
  out += fmt::format(
      "actions: {} scale-outs, {} scale-ins; under-provisioned {} s of {} s ({:.1f} %)\n",
      s.scale_outs, s.scale_ins, s.under_provisioned_seconds, s.seconds,
      pct(s.under_provisioned_seconds, s.seconds));
  const double static_peak = static_cast<double>(s.peak_workers) * s.seconds;
  out += fmt::format(
      "worker-seconds: {:.0f} (a pool fixed at the peak of {} would have used {:.0f}: {:.0f} % "
      "saved)\n",
      s.worker_seconds, s.peak_workers, static_peak,
      static_peak > 0 ? 100.0 * (1 - s.worker_seconds / static_peak) : 0.0);
  std::vector<float> r(s.reactions.begin(), s.reactions.end());
  out += fmt::format(
      "reaction: {} load steps, {} answered by a scale-out; delay from the step to the scale call "
      "median {:.1f} s, max {:.1f} s",
      s.load_steps, s.reactions.size(), quantile(r, 0.5), quantile(r, 1.0));
  if (!s.reactions.empty() && s.reactions.size() <= 12) {
    out += " (";
    for (std::size_t i = 0; i < s.reactions.size(); ++i) {
      out += fmt::format("{}{:.1f}", i > 0 ? ", " : "", s.reactions[i]);
    }
    out += ")";
  }
  return out;
}

namespace {

struct Frame {
  double width = 960, height = 240, left = 56, right = 16, top = 12, bottom = 28;
  double x_max = 1, y_max = 1;
  double x(double v) const { return left + (width - left - right) * v / x_max; }
  double y(double v) const { return top + (height - top - bottom) * (1 - v / y_max); }
};

double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= v) return m * magnitude;
  }
  return 10 * magnitude;
}

std::string polyline(const Frame& f, const std::vector<double>& values, bool steps,
                     const std::string& style) {
  std::string points;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double x0 = f.x(static_cast<double>(i));
    if (steps) {
      points += fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} ", x0, f.y(values[i]),
                            f.x(static_cast<double>(i + 1)), f.y(values[i]));
    } else {
      points += fmt::format("{:.1f},{:.1f} ", x0 + (f.x(1) - f.x(0)) / 2, f.y(values[i]));
    }
  }
  return fmt::format("<polyline fill=\"none\" {} points=\"{}\"/>\n", style, points);
}

std::string axes(const Frame& f, const std::vector<DemoSample>& samples, const std::string& unit) {
  std::string out = fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#fafafa\" "
      "stroke=\"#ccc\"/>\n",
      f.left, f.top, f.width - f.left - f.right, f.height - f.top - f.bottom);
  for (int i = 0; i <= 4; ++i) {
    const double v = f.y_max * i / 4;
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
        f.left, f.width - f.right, f.y(v), f.y(v), f.left - 4, f.y(v) + 4, v);
  }
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" transform=\"rotate(-90 12 {:.1f})\" "
      "text-anchor=\"middle\">{}</text>\n",
      12.0, (f.top + f.height - f.bottom) / 2, (f.top + f.height - f.bottom) / 2, unit);
  const std::size_t every = std::max<std::size_t>(1, samples.size() / 8);
  for (std::size_t i = 0; i < samples.size(); i += every) {
    const std::string& t = samples[i].trace_time;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}s · {}</text>\n",
                       f.x(static_cast<double>(i)), f.height - 8, i,
                       html_escape(t.size() >= 16 ? t.substr(11, 5) : t));
  }
  return out;
}

}  // namespace

std::string render_demo_html(const std::vector<DemoSample>& samples,
                             const std::vector<DemoAction>& actions, const DemoModel& model,
                             const DemoSummary& summary, const std::string& title) {
  std::vector<double> offered, served, at_target, full, desired, ready;
  double load_max = 0;
  int workers_max = 1;
  for (const DemoSample& x : samples) {
    offered.push_back(x.offered);
    served.push_back(static_cast<double>(x.requests.ok));
    at_target.push_back(x.ready * model.target_rps);
    full.push_back(x.ready * model.capacity_rps);
    desired.push_back(x.desired);
    ready.push_back(x.ready);
    load_max = std::max({load_max, x.offered, x.ready * model.capacity_rps});
    workers_max = std::max({workers_max, x.desired, x.ready + x.warming});
  }
  Frame load;
  load.x_max = std::max<double>(1, static_cast<double>(samples.size()));
  load.y_max = nice_ceiling(load_max * 1.05);
  Frame workers = load;
  workers.height = 200;
  workers.y_max = workers_max + 1;

  std::string svg_load = fmt::format(
      "<svg viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"load and capacity\">\n",
      load.width, load.height);
  svg_load += axes(load, samples, "requests/s");
  svg_load += polyline(load, full, true, "stroke=\"#d62728\" stroke-width=\"1\" opacity=\"0.7\"");
  svg_load += polyline(load, at_target, true,
                       "stroke=\"#ff7f0e\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
  svg_load += polyline(load, offered, false, "stroke=\"#1f77b4\" stroke-width=\"2\"");
  svg_load += polyline(load, served, false, "stroke=\"#2ca02c\" stroke-width=\"1\"");
  svg_load += "</svg>\n";

  std::string svg_workers =
      fmt::format("<svg viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"workers\">\n",
                  workers.width, workers.height);
  svg_workers += axes(workers, samples, "workers");
  svg_workers += polyline(workers, desired, true, "stroke=\"#333\" stroke-width=\"2\"");
  svg_workers += polyline(workers, ready, true, "stroke=\"#2ca02c\" stroke-width=\"1.5\"");
  for (const DemoAction& a : actions) {
    if (a.at < 0 || a.at > workers.x_max) continue;  // before the replay (the first scale-out)
    const double x = workers.x(a.at), y = workers.y(a.to);
    const bool out = a.to > a.from;
    svg_workers += fmt::format(
        "<path d=\"M{:.1f},{:.1f} l-5,{} l10,0 z\" fill=\"{}\"><title>{:.1f}s: {} -> {}: "
        "{}</title></path>\n",
        x, y, out ? 8 : -8, out ? "#d62728" : "#1f77b4", a.at, a.from, a.to,
        html_escape(a.explanation));
  }
  svg_workers += "</svg>\n";

  std::string rows;
  for (const DemoAction& a : actions) {
    rows += fmt::format("<tr><td>{:.1f} s</td><td>{} → {}</td><td>{}</td></tr>\n", a.at, a.from,
                        a.to, html_escape(a.explanation));
  }
  return fmt::format(
      R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }}
svg {{ width: 100%; height: auto; font-size: 11px; }}
.key span {{ margin-right: 16px; }} .key i {{ display: inline-block; width: 18px; height: 3px;
  vertical-align: middle; margin-right: 4px; }}
pre {{ background: #f4f4f4; padding: 12px; white-space: pre-wrap; }}
table {{ border-collapse: collapse; }} td {{ padding: 2px 8px; border-bottom: 1px solid #eee; }} td:nth-child(-n+2) {{ white-space: nowrap; }}
</style></head><body>
<h1>{0}</h1>
<h2>Load and capacity</h2>
<p class="key"><span><i style="background:#1f77b4"></i>offered load</span><span><i style="background:#2ca02c"></i>served</span><span><i style="background:#ff7f0e"></i>ready workers at the target utilization</span><span><i style="background:#d62728"></i>ready workers at 100 %</span></p>
{1}
<h2>Workers</h2>
<p class="key"><span><i style="background:#333"></i>asked for by tide</span><span><i style="background:#2ca02c"></i>ready</span><span>▲ scale-out ▼ scale-in (hover for tide's reason)</span></p>
{2}
<h2>Summary</h2>
<pre>{3}</pre>
<h2>tide's actions</h2>
<table>{4}</table>
</body></html>
)",
      html_escape(title), svg_load, svg_workers, html_escape(format_summary(summary)), rows);
}

}  // namespace tide::cli
