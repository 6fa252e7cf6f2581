// Structured logs of the live loop: one line per event, logfmt by default
// (`ts=... level=info msg=evaluation group=web current=3 ...`) or one JSON object per line.
// Secrets never reach the output: every field whose key names a secret is replaced, and every
// string value passes through redact_text() (URL userinfo, bearer tokens, key=value secrets).
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"

namespace tide {

class Clock;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// "trace", "debug", "info", "warn" (or "warning"), "error".
Result<LogLevel> parse_log_level(std::string_view text);
const char* log_level_name(LogLevel level);

// One key/value of a log line. Keys are plain identifiers chosen in code.
class LogField {
 public:
  enum class Kind { kString, kInt, kDouble, kBool };

  LogField(std::string_view key, std::string_view value)
      : key_(key), kind_(Kind::kString), text_(value) {}
  LogField(std::string_view key, const char* value)
      : key_(key), kind_(Kind::kString), text_(value == nullptr ? "" : value) {}
  LogField(std::string_view key, const std::string& value)
      : key_(key), kind_(Kind::kString), text_(value) {}
  LogField(std::string_view key, int value) : key_(key), kind_(Kind::kInt), int_(value) {}
  LogField(std::string_view key, long value) : key_(key), kind_(Kind::kInt), int_(value) {}
  LogField(std::string_view key, long long value) : key_(key), kind_(Kind::kInt), int_(value) {}
  LogField(std::string_view key, unsigned long value)
      : key_(key), kind_(Kind::kInt), int_(static_cast<long long>(value)) {}
  LogField(std::string_view key, double value) : key_(key), kind_(Kind::kDouble), double_(value) {}
  LogField(std::string_view key, bool value) : key_(key), kind_(Kind::kBool), bool_(value) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  long long integer() const { return int_; }
  double number() const { return double_; }
  bool boolean() const { return bool_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view text_;
  long long int_ = 0;
  double double_ = 0;
  bool bool_ = false;
};

// Where finished lines go (without the trailing newline). Called under the logger's mutex.
using LogSink = std::function<void(std::string_view line)>;

class Logger {
 public:
  // Writes to stderr with wall-clock timestamps.
  Logger(LogFormat format = LogFormat::kLogfmt, LogLevel level = LogLevel::kInfo);
  // Writes to `sink`; timestamps from `clock` when given (tests), else the wall clock.
  Logger(LogFormat format, LogLevel level, LogSink sink, const Clock* clock = nullptr);

  void set_format(LogFormat format) { format_.store(format); }
  void set_level(LogLevel level) { level_.store(level); }
  bool enabled(LogLevel level) const { return level >= level_.load(); }

  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kDebug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kInfo, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kWarn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kError, msg, fields);
  }

  // The line log() would write (no level filtering); for tests.
  std::string format_line(LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields) const;

 private:
  std::atomic<LogFormat> format_;
  std::atomic<LogLevel> level_;
  LogSink sink_;
  const Clock* clock_ = nullptr;
  std::mutex mu_;
};

// True for keys that hold secrets: containing (case-insensitively) token, password, passwd,
// secret, authorization, api_key/apikey, credential, private_key, session_key, access_key,
// cookie.
bool is_secret_key(std::string_view key);

// Redacts secrets anywhere in free text (error messages, commands): the password of every URL's
// userinfo ("https://user:pw@host" -> "https://user:***@host"; a userinfo without a password, often
// a token, becomes "***"), "Bearer <token>" / "Basic <credentials>", and `key=value` /
// `key: value` / `"key":"value"` pairs whose key is_secret_key (query parameters included). For
// one URL, core/http.hpp's redact_url() does the same.
std::string redact_text(std::string_view text);

}  // namespace tide
