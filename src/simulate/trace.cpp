#include "simulate/trace.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "core/text.hpp"

namespace tide::sim {
namespace {

// A grid longer than this is a mistake (a typo in a year, a step of 1ms over a month), not a trace.
constexpr long long kMaxGridSteps = 100'000'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits one line into fields. A separator of ' ' splits on runs of blanks (spaces and tabs);
// otherwise fields are trimmed of blanks and may be double-quoted (no separators inside quotes
// are needed by any bundled trace, but a quoted field may hold one).
void split(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  const std::size_t n = line.size();
  std::size_t i = 0;
  if (sep == ' ') {
    while (true) {
      while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i == n) return;
      std::size_t start = i;
      while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
      out.push_back(line.substr(start, i - start));
    }
  }
  while (true) {
    while (i < n && line[i] != sep && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string_view field;
    std::size_t end = 0;
    if (i < n && line[i] == '"') {
      std::size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) close = n;
      field = line.substr(i + 1, close - i - 1);
      end = line.find(sep, std::min(close + 1, n));
    } else {
      end = line.find(sep, i);
      field = trim(line.substr(i, end == std::string_view::npos ? n - i : end - i));
    }
    out.push_back(field);
    if (end == std::string_view::npos) return;
    i = end + 1;
  }
}

// A finite number; a leading '+' is accepted.
bool parse_number(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

// A load value that means "no data": an empty field, NaN, NA, null.
bool is_missing_value(std::string_view s) {
  return s.empty() || s == "nan" || s == "NaN" || s == "NAN" || s == "NA" || s == "N/A" ||
         s == "null";
}

// ---- time -----------------------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

unsigned days_in_month(long long y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[pos + static_cast<std::size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  out = v;
  return true;
}

// "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|±hh:mm|±hhmm|±hh]". Without a zone the time is local,
// `utc_offset` ahead of UTC. Returns "" and sets `out`, or the reason it is not a time.
std::string parse_datetime(std::string_view s, Duration utc_offset, TimePoint& out) {
  std::size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  long long ms = 0;
  if (!digits(s, p, 4, year) || p >= s.size() || s[p++] != '-' || !digits(s, p, 2, month) ||
      p >= s.size() || s[p++] != '-' || !digits(s, p, 2, day)) {
    return "expected a date YYYY-MM-DD";
  }
  if (month < 1 || month > 12) return fmt::format("month {} is out of range", month);
  if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return fmt::format("day {} is out of range for {:04}-{:02}", day, year, month);
  }
  Duration zone = utc_offset;
  if (p < s.size()) {
    char sep = s[p++];
    if (sep != ' ' && sep != 'T' && sep != 't') return "expected 'T' or a space after the date";
    if (!digits(s, p, 2, hour) || p >= s.size() || s[p++] != ':' || !digits(s, p, 2, minute)) {
      return "expected a time HH:MM after the date";
    }
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!digits(s, p, 2, second)) return "expected seconds SS after HH:MM:";
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        std::size_t start = p;
        long long scale = 100;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          ms += (s[p] - '0') * scale;  // extra digits beyond milliseconds are truncated
          scale /= 10;
          ++p;
        }
        if (p == start) return "expected digits after the decimal point";
      }
    }
    if (hour > 23) return fmt::format("hour {} is out of range", hour);
    if (minute > 59) return fmt::format("minute {} is out of range", minute);
    if (second > 59) return fmt::format("second {} is out of range", second);
    if (p < s.size()) {
      char z = s[p++];
      if ((z == 'Z' || z == 'z') && p == s.size()) {
        zone = Duration{0};
      } else if (z == '+' || z == '-') {
        int zh = 0, zm = 0;
        if (!digits(s, p, 2, zh)) return "expected a zone offset ±hh:mm";
        if (p < s.size() && s[p] == ':') ++p;
        if (p < s.size() && !digits(s, p, 2, zm)) return "expected a zone offset ±hh:mm";
        if (p != s.size() || zh > 23 || zm > 59) return "expected a zone offset ±hh:mm";
        zone = std::chrono::minutes((z == '-' ? -1 : 1) * (zh * 60 + zm));
      } else {
        return "unexpected text after the time";
      }
    }
  }
  long long days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  long long total_ms = ((days * 24 + hour) * 60 + minute) * 60'000LL + second * 1000LL + ms;
  out = TimePoint(Duration(total_ms)) - zone;
  return "";
}

// Unix seconds: an optional '-', digits, an optional fraction (exact to the millisecond).
bool parse_unix(std::string_view s, TimePoint& out) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative || (!s.empty() && s.front() == '+')) s.remove_prefix(1);
  std::size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 15 || !all_digits(whole)) return false;
  if (dot != std::string_view::npos && !frac.empty() && !all_digits(frac)) return false;
  long long secs = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  long long ms = 0;
  long long scale = 100;
  for (std::size_t k = 0; k < frac.size() && k < 3; ++k, scale /= 10) ms += (frac[k] - '0') * scale;
  long long total = secs * 1000 + ms;
  out = TimePoint(Duration(negative ? -total : total));
  return true;
}

// ---- the file -------------------------------------------------------------------------------

std::expected<std::string, std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return std::unexpected(fmt::format("{}: cannot read the trace: it is a directory", path));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return std::unexpected(
        fmt::format("{}: cannot read the trace: {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, got);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return std::unexpected(fmt::format("{}: cannot read the trace: read error", path));
  return text;
}

struct Row {
  long long t;  // ms since the epoch
  double value;
  bool gap;
  long line;
};

std::string join_columns(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += fmt::format("'{}'", names[i]);
  }
  return out;
}

std::string show_time(long long ms) {
  return format_time(TimePoint(Duration(ms)));
}

long long floor_div(long long a, long long b) {
  long long q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class Loader {
 public:
  explicit Loader(const TraceSpec& spec) : spec_(spec), file_(spec.path) {}

  std::expected<Trace, std::string> run() {
    if (auto bad = check_spec(); !bad.empty()) return fail(bad);
    auto text = read_file(spec_.path);
    if (!text) return std::unexpected(text.error());
    if (auto bad = read_rows(*text); !bad.empty()) return std::unexpected(bad);
    Trace trace;
    trace.name = std::filesystem::path(spec_.path).stem().string();
    std::string bad = spec_.per_request ? bin_arrivals(trace) : build_grid(trace);
    if (!bad.empty()) return std::unexpected(bad);
    return trace;
  }

 private:
  std::unexpected<std::string> fail(const std::string& message) const {
    return std::unexpected(fmt::format("{}: {}", file_, message));
  }
  std::string at(long line, const std::string& message) const {
    return fmt::format("{}:{}: {}", file_, line, message);
  }

  std::string check_spec() const {
    if (spec_.step && spec_.step->count() <= 0) {
      return fmt::format("bad step {}: it must be greater than 0", format_duration(*spec_.step));
    }
    if (spec_.time_format == TimeFormat::kRowIndex) {
      if (!spec_.step) return "bad step: a trace without a time column (row index) needs a step";
      if (spec_.per_request) return "a per-request trace needs a time column, not a row index";
    } else if (spec_.time_column.empty()) {
      return "no time column given (or use the row index format with a step)";
    }
    if (spec_.per_request && !spec_.step) {
      return "bad step: a per-request trace needs the step to bin arrivals into";
    }
    if (!spec_.per_request && spec_.load_column.empty()) return "no load column given";
    if (spec_.per_request && !spec_.gap_column.empty()) {
      return "a per-request trace has no gap column (bins without arrivals are zero load)";
    }
    if (!std::isfinite(spec_.multiplier) || spec_.multiplier < 0) {
      return fmt::format("multiplier {} must be a finite number >= 0", spec_.multiplier);
    }
    if (spec_.from && spec_.to && *spec_.to <= *spec_.from) {
      return fmt::format("the range is empty: to ({}) is not after from ({})",
                         format_time(*spec_.to), format_time(*spec_.from));
    }
    return "";
  }

  // Finds a column by name (with a header) or 0-based index. Returns "" or an error.
  std::string resolve(std::string_view what, const std::string& column,
                      const std::vector<std::string_view>& header, int& index) const {
    if (spec_.header) {
      for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == column) {
          index = static_cast<int>(i);
          return "";
        }
      }
      if (all_digits(column) && column.size() < 6 && std::stoi(column) < std::ssize(header)) {
        index = std::stoi(column);
        return "";
      }
      return at(header_line_, fmt::format("no {} column '{}'; the columns are: {}", what, column,
                                          join_columns(header)));
    }
    if (!all_digits(column) || column.size() >= 6) {
      return fmt::format(
          "{}: {} column '{}': the trace has no header, so give the column as a 0-based index",
          file_, what, column);
    }
    index = std::stoi(column);
    return "";
  }

  std::string read_rows(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
    std::vector<std::string_view> fields;
    fields.reserve(16);
    const bool row_index = spec_.time_format == TimeFormat::kRowIndex;
    bool have_columns = false;
    long line_no = 0;
    long long data_rows = 0;
    long long prev_t = std::numeric_limits<long long>::min();
    long prev_line = 0;
    double prev_value = 0;
    bool prev_gap = false;
    const long long from =
        spec_.from ? spec_.from->time_since_epoch().count() : std::numeric_limits<long long>::min();
    const long long to =
        spec_.to ? spec_.to->time_since_epoch().count() : std::numeric_limits<long long>::max();
    const long long start = spec_.start ? spec_.start->time_since_epoch().count() : 0;
    const long long step = spec_.step ? spec_.step->count() : 0;

    std::size_t pos = 0;
    while (pos < text.size()) {
      std::string_view line = next_line(text, pos);
      ++line_no;
      std::string_view content = trim(line);
      if (content.empty() || content.front() == '#') continue;
      split(line, spec_.separator, fields);
      if (!have_columns) {
        have_columns = true;
        std::vector<std::string_view> header;
        if (spec_.header) {
          header = fields;
          header_line_ = line_no;
        }
        if (!row_index) {
          if (auto e = resolve("time", spec_.time_column, header, time_col_); !e.empty()) return e;
        }
        if (!spec_.load_column.empty()) {
          if (auto e = resolve("load", spec_.load_column, header, load_col_); !e.empty()) return e;
        }
        if (!spec_.gap_column.empty()) {
          if (auto e = resolve("gap", spec_.gap_column, header, gap_col_); !e.empty()) return e;
        }
        needed_ = std::max({time_col_, load_col_, gap_col_}) + 1;
        if (spec_.header) continue;
      }
      if (std::ssize(fields) < needed_) {
        return at(line_no,
                  fmt::format("expected at least {} fields, found {}", needed_, fields.size()));
      }
      // time
      long long t = 0;
      if (row_index) {
        t = start + data_rows * step;
      } else {
        std::string_view text_t = fields[static_cast<std::size_t>(time_col_)];
        TimePoint tp;
        if (spec_.time_format == TimeFormat::kUnixSeconds) {
          if (!parse_unix(text_t, tp)) {
            return at(line_no,
                      fmt::format("time '{}' is not unix seconds (digits, optionally with a "
                                  "fraction)",
                                  text_t));
          }
        } else {
          std::string why = parse_datetime(text_t, spec_.utc_offset, tp);
          if (!why.empty()) {
            return at(line_no, fmt::format("time '{}' is not a valid date-time: {} (expected "
                                           "YYYY-MM-DD HH:MM[:SS[.frac]], optional T, Z or "
                                           "+hh:mm)",
                                           text_t, why));
          }
        }
        t = tp.time_since_epoch().count();
      }
      ++data_rows;
      // load and gap flag
      double value = 1;
      bool gap = false;
      if (load_col_ >= 0) {
        std::string_view v = fields[static_cast<std::size_t>(load_col_)];
        if (is_missing_value(v) && !spec_.per_request) {
          gap = true;
          value = 0;
        } else if (!parse_number(v, value)) {
          return at(line_no,
                    fmt::format("load '{}' in column '{}' is not a number", v, spec_.load_column));
        } else if (value < 0) {
          return at(line_no,
                    fmt::format("load {} in column '{}' is negative", v, spec_.load_column));
        }
      }
      if (gap_col_ >= 0) {
        std::string_view g = fields[static_cast<std::size_t>(gap_col_)];
        double flag = 0;
        if (g == "true" || g == "True" || g == "TRUE") {
          flag = 1;
        } else if (g.empty() || g == "false" || g == "False" || g == "FALSE") {
          flag = 0;
        } else if (!parse_number(g, flag)) {
          return at(line_no, fmt::format("gap flag '{}' in column '{}' is not a number", g,
                                         spec_.gap_column));
        }
        if (flag != 0) gap = true;
      }
      // order
      if (spec_.per_request) {
        if (t < prev_t) {
          return at(line_no, fmt::format("time {} is earlier than the previous row's {} (line "
                                         "{}); sort the trace by time",
                                         show_time(t), show_time(prev_t), prev_line));
        }
      } else if (t < prev_t) {
        return at(line_no, fmt::format("time {} is earlier than the previous row's {} (line {}); "
                                       "the rows must be sorted by time",
                                       show_time(t), show_time(prev_t), prev_line));
      } else if (t == prev_t) {
        if (value != prev_value || gap != prev_gap) {
          return at(line_no, fmt::format("time {} repeats line {} with a different value",
                                         show_time(t), prev_line));
        }
        ++duplicates_;
        continue;  // an exact duplicate row (the Wikipedia trace has 7)
      }
      prev_t = t;
      prev_line = line_no;
      prev_value = value;
      prev_gap = gap;
      if (t < from || t >= to) continue;
      rows_.push_back(Row{t, value, gap, line_no});
    }
    if (rows_.empty()) {
      if (data_rows == 0) return fmt::format("{}: the trace is empty (no data rows)", file_);
      return fmt::format("{}: the trace is empty: none of its {} rows is in the range [{}, {})",
                         file_, data_rows, spec_.from ? format_time(*spec_.from) : "-inf",
                         spec_.to ? format_time(*spec_.to) : "+inf");
    }
    return "";
  }

  std::string build_grid(Trace& trace) {
    long long step = spec_.step ? spec_.step->count() : 0;
    if (step == 0) {
      if (rows_.size() < 2) {
        return fmt::format("{}: bad step: cannot infer the step from a single row; set step",
                           file_);
      }
      for (std::size_t i = 1; i < rows_.size(); ++i) {
        long long d = rows_[i].t - rows_[i - 1].t;
        if (step == 0 || d < step) step = d;
      }
    }
    const long long first = rows_.front().t;
    for (std::size_t i = 1; i < rows_.size(); ++i) {
      long long d = rows_[i].t - rows_[i - 1].t;
      if (d % step != 0) {
        return at(rows_[i].line,
                  fmt::format("bad step: time {} is {} after the previous row (line {}), "
                              "which is not a multiple of the step {}{}",
                              show_time(rows_[i].t), format_duration(Duration(d)),
                              rows_[i - 1].line, format_duration(Duration(step)),
                              spec_.step ? "" : " (the smallest interval between rows)"));
      }
    }
    long long n = (rows_.back().t - first) / step + 1;
    if (n > kMaxGridSteps) {
      return fmt::format("{}: bad step: {} to {} in steps of {} is {} steps (at most {})", file_,
                         show_time(first), show_time(rows_.back().t),
                         format_duration(Duration(step)), n, kMaxGridSteps);
    }
    const double fill = spec_.missing_rows_zero ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    const double scale =
        spec_.multiplier /
        (spec_.load_kind == LoadKind::kCount ? static_cast<double>(step) / 1000.0 : 1.0);
    trace.start = TimePoint(Duration(first));
    trace.step = Duration(step);
    trace.load.assign(static_cast<std::size_t>(n), fill);
    for (const Row& r : rows_) {
      trace.load[static_cast<std::size_t>((r.t - first) / step)] =
          r.gap ? std::numeric_limits<double>::quiet_NaN() : r.value * scale;
    }
    return "";
  }

  std::string bin_arrivals(Trace& trace) {
    const long long step = spec_.step->count();
    const long long first_bin = floor_div(rows_.front().t, step);
    const long long last_bin = floor_div(rows_.back().t, step);
    long long n = last_bin - first_bin + 1;
    if (n > kMaxGridSteps) {
      return fmt::format("{}: bad step: {} to {} in steps of {} is {} steps (at most {})", file_,
                         show_time(rows_.front().t), show_time(rows_.back().t),
                         format_duration(Duration(step)), n, kMaxGridSteps);
    }
    trace.start = TimePoint(Duration(first_bin * step));
    trace.step = Duration(step);
    trace.load.assign(static_cast<std::size_t>(n), 0.0);
    for (const Row& r : rows_) {
      trace.load[static_cast<std::size_t>(floor_div(r.t, step) - first_bin)] += r.value;
    }
    const double scale = spec_.multiplier / (static_cast<double>(step) / 1000.0);
    for (double& v : trace.load) v *= scale;
    return "";
  }

  const TraceSpec& spec_;
  std::string file_;
  long header_line_ = 1;
  int time_col_ = -1, load_col_ = -1, gap_col_ = -1;
  int needed_ = 0;
  long long duplicates_ = 0;
  std::vector<Row> rows_;
};

}  // namespace

std::expected<Trace, std::string> load_trace(const TraceSpec& spec) {
  return Loader(spec).run();
}

std::expected<TimePoint, std::string> parse_trace_time(std::string_view text, Duration utc_offset) {
  text = trim(text);
  TimePoint t;
  if (!text.empty() && text.find('-', 1) == std::string_view::npos) {
    if (parse_unix(text, t)) return t;
    return std::unexpected(fmt::format("time '{}' is not unix seconds or a date-time", text));
  }
  std::string why = parse_datetime(text, utc_offset, t);
  if (!why.empty()) {
    return std::unexpected(fmt::format(
        "time '{}' is not a valid date-time: {} (expected YYYY-MM-DD HH:MM[:SS[.frac]], optional "
        "T, Z or +hh:mm, or unix seconds)",
        text, why));
  }
  return t;
}

}  // namespace tide::sim
