// Reading YAML mappings with file:line:col diagnostics: the error collector, the mapping reader
// that reports unknown keys with a "did you mean" hint, and the scalar conversions with their
// messages. Shared by the config loader (config.cpp) and the scenario loader
// (simulate/scenario.cpp), so that both speak the same language about the same mistakes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "core/time.hpp"

namespace tide::config_detail {

// ---- small text helpers ------------------------------------------------------------------------

// " (did you mean 'x'?)" when a candidate is close enough to `word` to be a plausible typo of
// it (case-insensitive edit distance with transpositions, or a prefix either way), or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// "'a', 'b'".
std::string quoted_list(const std::vector<std::string>& items);

// A short rendering of a scalar for messages: control characters escaped, long text cut.
std::string excerpt(std::string_view text);

// The node's position, or the null mark when it has none.
YAML::Mark mark_of(const YAML::Node& node);

// "'abc'", "a list", "a mapping", "nothing".
std::string describe(const YAML::Node& node);

// 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit.
bool valid_name(std::string_view name);

// ---- diagnostics -------------------------------------------------------------------------------

// Collects the diagnostics of one file (at most kMaxDiagnostics, then a note).
class Ctx {
 public:
  explicit Ctx(std::string_view file) : file_(file) {}

  void error(const YAML::Mark& mark, std::string message);
  void error(const YAML::Node& node, std::string message) {
    error(mark_of(node), std::move(message));
  }
  void error_file(std::string message) {
    diags_.push_back(Diagnostic{file_, 0, 0, std::move(message)});
  }
  // Diagnostics found by another parse of the same file.
  void add(Diagnostics more);

  std::size_t count() const { return diags_.size(); }
  bool failed() const { return !diags_.empty(); }
  const std::string& file() const { return file_; }

  // Sorted by position, duplicates (the same node reached twice through an alias) removed.
  Diagnostics take();

  // Budget for generic YAML -> JSON conversion (guards against alias bombs).
  long json_budget = 100'000;

 private:
  std::string file_;
  Diagnostics diags_;
  bool truncated_ = false;
};

// ---- mappings ----------------------------------------------------------------------------------

// The entries of one YAML mapping. Every get() declares a key as allowed; finish() reports the
// keys nobody asked for as unknown, suggesting the closest allowed one.
class Fields {
 public:
  // `quiet`: the mapping was already read once (with a less specific context), so malformed and
  // duplicate keys were reported then.
  Fields(Ctx& ctx, const YAML::Node& map, std::string context, bool quiet = false);

  // The value of `key`, when present (a present key with an empty value is a Null node).
  std::optional<YAML::Node> get(std::string_view key);

  // As get(), reporting a missing key; `why` is appended to the message (e.g. " (the load)").
  std::optional<YAML::Node> require(std::string_view key, std::string_view why = "");

  void missing(std::string_view key, std::string_view why = "");

  void allow(std::string_view key);

  bool has(std::string_view key) const { return find(key) != nullptr; }

  // The key node of `key` (for errors about the key itself); the mapping when absent.
  YAML::Node key_node(std::string_view key) const;

  // Entries no get() asked for, marked as used.
  std::vector<std::pair<std::string, YAML::Node>> take_rest();

  void ignore_rest() { take_rest(); }

  // Keys that belong somewhere else: finish() says where (`note`) instead of guessing a typo.
  void hint(const KeySchema& keys, std::string note);

  void finish();

  const YAML::Node& node() const { return node_; }
  const std::string& context() const { return context_; }
  Ctx& ctx() { return ctx_; }

 private:
  struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
    bool used = false;
  };
  const Entry* find(std::string_view name) const;

  Ctx& ctx_;
  YAML::Node node_;
  std::string context_;
  std::vector<Entry> entries_;
  std::vector<std::string> allowed_;
  std::vector<std::pair<std::string, std::string>> hints_;
};

// ---- node kinds --------------------------------------------------------------------------------

// Whether `node` is a mapping (a list); otherwise reports "KEY: expected WHAT, got ..." at it.
bool expect_map(Ctx& ctx, const YAML::Node& node, std::string_view key,
                std::string_view what = "a mapping");
bool expect_list(Ctx& ctx, const YAML::Node& node, std::string_view key, std::string_view what);

// ---- scalar conversions ------------------------------------------------------------------------
// Each reports at `node`, prefixing the message with `key`, and returns nullopt on a bad value.

// Durations longer than this are rejected.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

std::optional<std::string> to_string(Ctx& ctx, const YAML::Node& node, std::string_view key);

// true/True/TRUE or false/False/FALSE.
std::optional<bool> to_bool(Ctx& ctx, const YAML::Node& node, std::string_view key);

// "15s", "5m", "1h30m"; at most kMaxDuration.
std::optional<Duration> to_duration(Ctx& ctx, const YAML::Node& node, std::string_view key);

// A string that must be one of `choices`.
std::optional<std::string> to_choice(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                     const std::vector<std::string>& choices);

// The message to_choice() reports for a value that is not one of `choices`.
std::string unknown_choice(std::string_view key, std::string_view value,
                           const std::vector<std::string>& choices);

}  // namespace tide::config_detail
