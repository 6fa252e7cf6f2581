// Small static SVG charts for the `tide forecast` and `tide tune` HTML pages (the `tide simulate`
// page has its own, zoomable ones in report.cpp). Pure functions; every text is escaped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace tide::sim {

// One line over time: values[i] at origin + i x step (NaN: no point, the line breaks).
struct LineSeries {
  std::string label;
  std::string color;  // CSS color
  std::vector<double> values;
  bool dashed = false;
};

// A line chart over time, at most `max_points` points per line (buckets of consecutive values
// are averaged, so long series stay small). `unit` labels the y axis.
std::string line_chart(const std::vector<LineSeries>& lines, TimePoint origin, Duration step,
                       std::string_view unit, int max_points = 1200);

struct ScatterPoint {
  double x = 0, y = 0;
  std::string title;  // hover text
};

struct ScatterSeries {
  std::string label;
  std::string color;
  std::vector<ScatterPoint> points;
  std::vector<ScatterPoint> front;      // drawn as a connected step line (a Pareto front)
  std::vector<ScatterPoint> highlight;  // drawn large (winners)
};

// A scatter chart with optional vertical marker line at `x_marker` (NaN: none).
std::string scatter_chart(const std::vector<ScatterSeries>& series, std::string_view x_label,
                          std::string_view y_label, double x_marker, std::string_view marker_label);

// The CSS the charts and the pages' tables use.
std::string_view charts_css();

// The start of a self-contained page titled `title` (escaped here) with charts_css(), up to the
// opening <main>; the page ends with chart_page_end().
std::string chart_page_start(std::string_view title);
std::string_view chart_page_end();

}  // namespace tide::sim
