#include "sources/prometheus_scrape/exposition.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "sources/params.hpp"

namespace tide {

std::string_view ExpositionSample::label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool label_start(char c) {
  return c != ':' && name_start(c);
}
bool label_char(char c) {
  return c != ':' && name_char(c);
}

// A cursor over one line; errors are strings ("" = fine).
class LineParser {
 public:
  explicit LineParser(std::string_view line) : s_(line) {}

  void skip_blanks() {
    while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
  }
  bool at_end() const { return i_ >= s_.size(); }
  void advance() {
    if (i_ < s_.size()) ++i_;
  }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  std::string_view rest() const { return s_.substr(i_); }

  // A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, for labels, [a-zA-Z_][a-zA-Z0-9_]*.
  std::string_view name(bool label) {
    std::size_t start = i_;
    if (at_end() || !(label ? label_start(s_[i_]) : name_start(s_[i_]))) return {};
    ++i_;
    while (i_ < s_.size() && (label ? label_char(s_[i_]) : name_char(s_[i_]))) ++i_;
    return s_.substr(start, i_ - start);
  }

  // A double-quoted string with the escapes \\, \" and \n; the cursor is on the opening quote.
  std::string quoted(std::string& error) {
    std::string out;
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (i_ >= s_.size()) break;
        char e = s_[i_++];
        switch (e) {
          case '\\':
            out.push_back('\\');
            break;
          case '"':
            out.push_back('"');
            break;
          case 'n':
            out.push_back('\n');
            break;
          default:
            error = fmt::format("invalid escape '\\{}' in a quoted string", e);
            return out;
        }
        continue;
      }
      out.push_back(c);
    }
    error = "unterminated quoted string";
    return out;
  }

  // The next blank-separated token.
  std::string_view token() {
    std::size_t start = i_;
    while (i_ < s_.size() && !is_blank(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::string unescape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      char e = text[i + 1];
      if (e == '\\' || e == 'n') {
        out.push_back(e == 'n' ? '\n' : '\\');
        ++i;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool valid_type(std::string_view t) {
  for (std::string_view k : {"counter", "gauge", "histogram", "summary", "untyped", "unknown",
                             "gaugehistogram", "stateset", "info"}) {
    if (t == k) return true;
  }
  return false;
}

// `# HELP name text`, `# TYPE name type`, other comments. Returns an error or "".
std::string parse_comment(std::string_view line, Exposition& out, bool& eof) {
  LineParser p(line);
  p.token();  // '#'
  p.skip_blanks();
  std::string_view keyword = p.token();
  if (keyword == "EOF" && p.rest().empty()) {
    eof = true;
    return "";
  }
  if (keyword != "HELP" && keyword != "TYPE") return "";  // a plain comment
  p.skip_blanks();
  std::string name;
  if (p.peek() == '"') {
    std::string error;
    name = p.quoted(error);
    if (!error.empty()) return error;
  } else {
    name = std::string(p.token());
  }
  if (name.empty()) return fmt::format("# {} without a metric name", keyword);
  if (!p.at_end() && !is_blank(p.peek()))
    return fmt::format("invalid metric name in # {}", keyword);
  if (keyword == "HELP") {
    std::string_view text = p.rest();
    if (!text.empty()) text.remove_prefix(1);  // the one blank after the name
    out.help[name] = unescape_help(text);
    return "";
  }
  p.skip_blanks();
  std::string_view type = p.token();
  p.skip_blanks();
  if (!valid_type(type) || !p.at_end()) {
    return fmt::format("invalid metric type '{}' for {}", type, name);
  }
  out.types[name] = std::string(type);
  return "";
}

std::optional<std::int64_t> parse_timestamp(std::string_view t) {
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
  if (ec == std::errc() && end == t.data() + t.size()) return ms;
  // OpenMetrics writes timestamps as (fractional) seconds.
  if (auto s = params::parse_double(t); s && std::abs(*s) < 1e13) {
    return static_cast<std::int64_t>(std::llround(*s * 1000.0));
  }
  return std::nullopt;
}

std::string parse_sample(std::string_view line, ExpositionSample& s) {
  LineParser p(line);
  std::string error;
  if (p.peek() != '{') {
    std::string_view name = p.name(false);
    if (name.empty()) return "expected a metric name";
    s.name = std::string(name);
  }
  if (p.peek() == '{') {
    p.advance();
    bool first = true;
    while (true) {
      p.skip_blanks();
      if (p.peek() == '}') break;
      std::string label;
      if (p.peek() == '"') {
        label = p.quoted(error);
        if (!error.empty()) return error;
      } else {
        std::string_view n = p.name(true);
        if (n.empty()) return fmt::format("expected a label name at '{}'", p.rest().substr(0, 20));
        label = std::string(n);
      }
      p.skip_blanks();
      if (p.peek() != '=') {
        // Prometheus 3 / OpenMetrics 2: a quoted metric name inside the braces, first.
        if (first && s.name.empty() && (p.peek() == ',' || p.peek() == '}')) {
          s.name = std::move(label);
          first = false;
          if (p.peek() == ',') p.advance();
          continue;
        }
        return fmt::format("expected '=' after label name '{}'", label);
      }
      p.advance();
      p.skip_blanks();
      if (p.peek() != '"') return fmt::format("expected a quoted value for label '{}'", label);
      std::string value = p.quoted(error);
      if (!error.empty()) return error;
      for (const auto& [k, v] : s.labels) {
        if (k == label) return fmt::format("duplicate label '{}'", label);
      }
      s.labels.emplace_back(std::move(label), std::move(value));
      first = false;
      p.skip_blanks();
      if (p.peek() == ',') {
        p.advance();
        continue;
      }
      if (p.peek() != '}') return "expected ',' or '}' after a label value";
    }
    p.advance();  // '}'
  }
  if (s.name.empty()) return "expected a metric name";
  if (!p.at_end() && !is_blank(p.peek())) {
    return fmt::format("unexpected '{}' after the metric name", p.peek());
  }
  p.skip_blanks();
  std::string_view value = p.token();
  if (value.empty()) return "missing value";
  auto v = params::parse_double(value, /*allow_special=*/true);
  if (!v) return fmt::format("invalid value '{}'", value);
  s.value = *v;
  p.skip_blanks();
  if (!p.at_end() && p.peek() != '#') {
    std::string_view ts = p.token();
    auto t = parse_timestamp(ts);
    if (!t) return fmt::format("invalid timestamp '{}'", ts);
    s.timestamp_ms = *t;
    p.skip_blanks();
  }
  // OpenMetrics exemplars (" # {...} value [ts]") are ignored; anything else is an error.
  if (!p.at_end() && p.peek() != '#') {
    return fmt::format("unexpected text '{}' after the value", p.rest().substr(0, 20));
  }
  return "";
}

}  // namespace

Result<Exposition> parse_exposition(std::string_view text) {
  Exposition out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.ends_with('\r')) line.remove_suffix(1);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    if (line.empty()) continue;
    std::string error;
    if (line.front() == '#') {
      bool eof = false;
      error = parse_comment(line, out, eof);
      if (eof) break;
    } else {
      ExpositionSample s;
      error = parse_sample(line, s);
      if (error.empty()) out.samples.push_back(std::move(s));
    }
    if (!error.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("line {}: {}", line_no, error));
    }
  }
  return out;
}

}  // namespace tide
