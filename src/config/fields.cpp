#include "config/fields.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace tide::config_detail {

// ---- small text helpers ------------------------------------------------------------------------

namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return "";
  std::string best;
  std::size_t best_distance = 0;
  for (const std::string& c : candidates) {
    std::size_t dist = edit_distance(word, c);
    if (best.empty() || dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  if (best.empty()) return "";
  std::size_t limit = word.size() <= 3 ? 1 : word.size() <= 6 ? 2 : 3;
  if (best_distance <= limit) return best;
  // A prefix of a longer key ("max_scale_up" for "max_scale_up_rate") or the reverse ("maximum"
  // for "max") is also a likely mistake.
  for (const std::string& c : candidates) {
    if (word.size() >= 4 && c.starts_with(word)) return c;
    if (c.size() >= 3 && word.starts_with(c)) return c;
  }
  return "";
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? "" : fmt::format(" (did you mean '{}'?)", c);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::vector<std::string> q;
  q.reserve(items.size());
  for (const std::string& s : items) q.push_back(fmt::format("'{}'", s));
  return join(q);
}

std::string excerpt(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  if (text.size() > 40) out += "...";
  return out;
}

YAML::Mark mark_of(const YAML::Node& node) {
  try {
    return node.Mark();
  } catch (...) {
    return YAML::Mark::null_mark();
  }
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", excerpt(node.Scalar()));
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '_' || c == '.';
  });
}

// ---- diagnostics -------------------------------------------------------------------------------

void Ctx::error(const YAML::Mark& mark, std::string message) {
  if (diags_.size() >= kMaxDiagnostics) {
    truncated_ = true;
    return;
  }
  int line = mark.line >= 0 ? mark.line + 1 : 1;
  int column = mark.column >= 0 ? mark.column + 1 : 1;
  diags_.push_back(Diagnostic{file_, line, column, std::move(message)});
}

void Ctx::add(Diagnostics more) {
  for (Diagnostic& d : more) diags_.push_back(std::move(d));
}

Diagnostics Ctx::take() {
  std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.line == b.line && a.column == b.column && a.message == b.message;
  };
  diags_.erase(std::unique(diags_.begin(), diags_.end(), same), diags_.end());
  if (truncated_) {
    diags_.push_back(Diagnostic{
        file_, 0, 0, fmt::format("too many errors; only the first {} are shown", kMaxDiagnostics)});
  }
  return std::move(diags_);
}

// ---- mappings ----------------------------------------------------------------------------------

Fields::Fields(Ctx& ctx, const YAML::Node& map, std::string context, bool quiet)
    : ctx_(ctx), node_(map), context_(std::move(context)) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node key(it->first);  // a copy: it->first lives in a temporary
    if (!key.IsScalar()) {
      if (!quiet) {
        ctx_.error(key, fmt::format("expected a key name in {}, got {}", context_, describe(key)));
      }
      continue;
    }
    if (const Entry* prev = find(key.Scalar())) {
      if (!quiet) {
        ctx_.error(key, fmt::format("duplicate key '{}' in {} (first at line {})",
                                    excerpt(key.Scalar()), context_, mark_of(prev->key).line + 1));
      }
      continue;
    }
    entries_.push_back(Entry{key.Scalar(), key, it->second, false});
  }
}

std::optional<YAML::Node> Fields::get(std::string_view key) {
  allow(key);
  for (Entry& e : entries_) {
    if (e.name == key) {
      e.used = true;
      return e.value;
    }
  }
  return std::nullopt;
}

std::optional<YAML::Node> Fields::require(std::string_view key, std::string_view why) {
  auto value = get(key);
  if (!value) missing(key, why);
  return value;
}

void Fields::missing(std::string_view key, std::string_view why) {
  ctx_.error(node_, fmt::format("missing required key '{}' in {}{}", key, context_, why));
}

void Fields::allow(std::string_view key) {
  if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) {
    allowed_.emplace_back(key);
  }
}

YAML::Node Fields::key_node(std::string_view key) const {
  const Entry* e = find(key);
  return e ? e->key : node_;
}

std::vector<std::pair<std::string, YAML::Node>> Fields::take_rest() {
  std::vector<std::pair<std::string, YAML::Node>> rest;
  for (Entry& e : entries_) {
    if (!e.used) {
      e.used = true;
      rest.emplace_back(e.name, e.value);
    }
  }
  return rest;
}

void Fields::hint(const KeySchema& keys, std::string note) {
  for (const KeySpec& k : keys.keys) hints_.emplace_back(k.name, note);
}

void Fields::finish() {
  for (Entry& e : entries_) {
    if (e.used) continue;
    e.used = true;
    std::string extra = did_you_mean(e.name, allowed_);
    for (const auto& [key, note] : hints_) {
      if (key == e.name) extra = fmt::format(" ({})", note);
    }
    ctx_.error(e.key, fmt::format("unknown key '{}' in {}{}", excerpt(e.name), context_, extra));
  }
}

const Fields::Entry* Fields::find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// ---- node kinds --------------------------------------------------------------------------------

bool expect_map(Ctx& ctx, const YAML::Node& node, std::string_view key, std::string_view what) {
  if (node.IsMap()) return true;
  ctx.error(node, fmt::format("{}: expected {}, got {}", key, what, describe(node)));
  return false;
}

bool expect_list(Ctx& ctx, const YAML::Node& node, std::string_view key, std::string_view what) {
  if (node.IsSequence()) return true;
  ctx.error(node, fmt::format("{}: expected {}, got {}", key, what, describe(node)));
  return false;
}

// ---- scalar conversions ------------------------------------------------------------------------

std::optional<std::string> to_string(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  if (node.IsScalar()) return node.Scalar();
  ctx.error(node, fmt::format("{}: expected a string, got {}", key, describe(node)));
  return std::nullopt;
}

std::optional<bool> to_bool(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  ctx.error(node, fmt::format("{}: expected true or false, got {}", key, describe(node)));
  return std::nullopt;
}

std::optional<Duration> to_duration(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar()) {
    ctx.error(node, fmt::format("{}: expected a duration such as 15s, 5m or 1h30m, got {}", key,
                                describe(node)));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  if (text.size() > 32) {
    ctx.error(node, fmt::format("{}: invalid duration '{}': too long", key, excerpt(text)));
    return std::nullopt;
  }
  auto d = parse_duration(text);
  if (!d) {
    ctx.error(node, fmt::format("{}: {}", key, d.error().message));
    return std::nullopt;
  }
  if (*d > kMaxDuration) {
    ctx.error(node, fmt::format("{}: duration '{}' is too long (at most 365d)", key, text));
    return std::nullopt;
  }
  return *d;
}

std::string unknown_choice(std::string_view key, std::string_view value,
                           const std::vector<std::string>& choices) {
  return fmt::format("{}: unknown value '{}'{}; expected one of: {}", key, excerpt(value),
                     did_you_mean(value, choices), join(choices));
}

std::optional<std::string> to_choice(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                     const std::vector<std::string>& choices) {
  auto s = to_string(ctx, node, key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    ctx.error(node, unknown_choice(key, *s, choices));
    return std::nullopt;
  }
  return s;
}

}  // namespace tide::config_detail
