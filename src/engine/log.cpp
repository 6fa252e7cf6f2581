#include "engine/log.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <ctime>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace tide {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals_prefix(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) !=
        std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  }
  return true;
}

// Characters that end a URL's authority (or a value) inside free text.
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
         c == '`' || std::isspace(static_cast<unsigned char>(c));
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

bool ends_value(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '&' ||
         c == ',' || c == ';' || c == '}' || c == ']' || c == ')';
}

// Replaces the userinfo of every `scheme://userinfo@host` in `text`.
std::string redact_urls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t sep = text.find("://", pos);
    if (sep == std::string_view::npos) break;
    const std::size_t auth = sep + 3;
    std::size_t end = auth;
    while (end < text.size() && !ends_authority(text[end])) ++end;
    const std::string_view authority = text.substr(auth, end - auth);
    const std::size_t at = authority.rfind('@');
    out.append(text.substr(pos, auth - pos));
    if (at == std::string_view::npos) {
      out.append(authority);
    } else {
      const std::string_view userinfo = authority.substr(0, at);
      const std::size_t colon = userinfo.find(':');
      if (colon == std::string_view::npos) {
        out.append("***");
      } else {
        out.append(userinfo.substr(0, colon));
        out.append(":***");
      }
      out.append(authority.substr(at));
    }
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// "Bearer abc" / "Basic abc" -> "Bearer ***".
std::string redact_auth_schemes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (std::string_view scheme : {std::string_view("bearer "), std::string_view("basic ")}) {
      const bool word_start = i == 0 || !is_key_char(text[i - 1]);
      if (word_start && iequals_prefix(text, i, scheme)) {
        std::size_t v = i + scheme.size();
        while (v < text.size() && text[v] == ' ') ++v;
        std::size_t e = v;
        while (e < text.size() && !ends_value(text[e])) ++e;
        if (e > v) {
          out.append(text.substr(i, v - i));
          out.append("***");
          i = e;
          matched = true;
        }
        break;
      }
    }
    if (!matched) out.push_back(text[i++]);
  }
  return out;
}

// `secret_key=value`, `secret_key: value`, `"secret_key":"value"` -> value replaced by ***.
std::string redact_pairs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_key_char(text[i]) || (i > 0 && is_key_char(text[i - 1]))) {
      out.push_back(text[i++]);
      continue;
    }
    std::size_t k = i;
    while (k < text.size() && is_key_char(text[k])) ++k;
    const std::string_view key = text.substr(i, k - i);
    out.append(key);
    i = k;
    if (!is_secret_key(key)) continue;
    std::size_t j = k;
    if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;  // closing quote of the key
    while (j < text.size() && text[j] == ' ') ++j;
    if (j >= text.size() || (text[j] != '=' && text[j] != ':')) continue;
    ++j;
    while (j < text.size() && text[j] == ' ') ++j;
    char quote = 0;
    if (j < text.size() && (text[j] == '"' || text[j] == '\'')) quote = text[j++];
    std::size_t e = j;
    if (quote != 0) {
      while (e < text.size() && text[e] != quote) {
        if (text[e] == '\\' && e + 1 < text.size()) ++e;
        ++e;
      }
    } else {
      while (e < text.size() && !ends_value(text[e])) ++e;
    }
    if (e == j) continue;
    // "Authorization: Bearer ***": the scheme stays, its credentials were already redacted.
    const std::string value = lower(text.substr(j, e - j));
    if (value == "bearer" || value == "basic" || value == "***") continue;
    out.append(text.substr(k, j - k));
    out.append("***");
    i = e;
  }
  return out;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  return std::any_of(v.begin(), v.end(), [](char c) {
    return c == ' ' || c == '=' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

void append_logfmt_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append(fmt::format("\\u{:04x}", static_cast<int>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string timestamp(const Clock* clock) {
  const auto now = clock != nullptr
                       ? clock->now()
                       : std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  const long long ms = now.time_since_epoch().count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string double_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", d);
}

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  const std::string t = lower(text);
  if (t == "trace") return LogLevel::kTrace;
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warn" || t == "warning") return LogLevel::kWarn;
  if (t == "error") return LogLevel::kError;
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown log level '{}' (trace, debug, info, warn, error)", text));
}

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool is_secret_key(std::string_view key) {
  static constexpr std::array<std::string_view, 14> kWords = {
      "token",   "password",   "passwd",      "secret",      "authorization", "api_key", "apikey",
      "api-key", "credential", "private_key", "session_key", "access_key",    "cookie",  "pwd"};
  const std::string k = lower(key);
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view w) { return k.find(w) != std::string::npos; });
}

std::string redact_text(std::string_view text) {
  return redact_pairs(redact_auth_schemes(redact_urls(text)));
}

Logger::Logger(LogFormat format, LogLevel level)
    : Logger(format, level, [](std::string_view line) {
        std::string out(line);
        out.push_back('\n');
        std::cerr << out << std::flush;
      }) {}

Logger::Logger(LogFormat format, LogLevel level, LogSink sink, const Clock* clock)
    : format_(format), level_(level), sink_(std::move(sink)), clock_(clock) {}

std::string Logger::format_line(LogLevel level, std::string_view msg,
                                std::initializer_list<LogField> fields) const {
  const std::string ts = timestamp(clock_);
  const std::string message = redact_text(msg);
  if (format_.load() == LogFormat::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["level"] = log_level_name(level);
    j["msg"] = message;
    for (const LogField& f : fields) {
      const std::string key(f.key());
      if (is_secret_key(key)) {
        j[key] = "***";
        continue;
      }
      switch (f.kind()) {
        case LogField::Kind::kString:
          j[key] = redact_text(f.text());
          break;
        case LogField::Kind::kInt:
          j[key] = f.integer();
          break;
        case LogField::Kind::kDouble:
          if (std::isfinite(f.number())) {
            j[key] = f.number();
          } else {
            j[key] = double_text(f.number());
          }
          break;
        case LogField::Kind::kBool:
          j[key] = f.boolean();
          break;
      }
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(128);
  out.append("ts=").append(ts);
  out.append(" level=").append(log_level_name(level));
  out.append(" msg=");
  append_logfmt_value(out, message);
  for (const LogField& f : fields) {
    out.push_back(' ');
    out.append(f.key());
    out.push_back('=');
    if (is_secret_key(f.key())) {
      out.append("***");
      continue;
    }
    switch (f.kind()) {
      case LogField::Kind::kString:
        append_logfmt_value(out, redact_text(f.text()));
        break;
      case LogField::Kind::kInt:
        out.append(std::to_string(f.integer()));
        break;
      case LogField::Kind::kDouble:
        out.append(double_text(f.number()));
        break;
      case LogField::Kind::kBool:
        out.append(f.boolean() ? "true" : "false");
        break;
    }
  }
  return out;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  const std::string line = format_line(level, msg, fields);
  std::lock_guard lock(mu_);
  sink_(line);
}

}  // namespace tide
