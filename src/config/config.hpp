// The config language (docs/config.md): YAML parsed once into typed specs. Loading reports every
// problem it finds, each with the file, line and column of the offending node, and never throws:
// yaml-cpp's exceptions are caught here, at the edge, and turned into diagnostics.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/node/node.h>

#include "policy/spec.hpp"
#include "sources/registry.hpp"

namespace tide {

// One problem in a config file. Lines and columns are 1-based; line 0 means "the file as a whole"
// (for instance when it cannot be read).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
};

// "FILE:LINE:COL: error: message" (or "FILE: error: message" when line is 0).
std::string format_diagnostic(const Diagnostic& d);

using Diagnostics = std::vector<Diagnostic>;

enum class LogFormat { kLogfmt, kJson };

struct ApiConfig {
  std::string listen = "127.0.0.1:9460";  // HOST:PORT
  std::string token;                      // bearer token for mutating calls
  std::string token_env;                  // or: the environment variable holding it
};

struct LogConfig {
  LogFormat format = LogFormat::kLogfmt;
  std::string level = "info";  // trace, debug, info, warn, error
};

struct Config {
  std::string state = "./tide.db";
  ApiConfig api;
  bool dry_run = false;  // global; when true every group's dry_run is true as well
  LogConfig log;
  // Every source a policy can read: those under `sources:` in file order, then the implicit ones
  // (referenced by type name, see docs/config.md) in order of first use.
  std::vector<SourceSpec> sources;
  std::vector<GroupSpec> groups;

  const SourceSpec* find_source(std::string_view name) const;
  const GroupSpec* find_group(std::string_view name) const;
};

// Reads and parses a config file. Errors: every diagnostic found, sorted by line and column.
std::expected<Config, Diagnostics> load_config(const std::string& path);

// Parses config text; `filename` is only used in diagnostics.
std::expected<Config, Diagnostics> parse_config(std::string_view text, std::string_view filename);

// Parses `text` as exactly one YAML (or JSON) document, with syntax errors as diagnostics. Use it
// instead of YAML::LoadAll, which never returns on some inputs in yaml-cpp 0.7 (e.g. ",").
std::expected<YAML::Node, Diagnostics> parse_yaml(std::string_view text, std::string_view filename);

// Parses one group mapping with the same schema and checks as under `groups:` (used by
// `tide decide` for the situation's `group`). With `sources == nullptr` metric sources are not
// checked and their query keys are kept as given; otherwise a metric must name one of `sources`
// (or an implicit source) and its query keys are validated against that source's type.
std::expected<GroupSpec, Diagnostics> parse_group(const YAML::Node& node, std::string_view filename,
                                                  const std::vector<SourceSpec>* sources);

// Limits the loader enforces (documented in docs/config.md).
inline constexpr int kMaxCapacity = 1'000'000;           // min, max, capacities
inline constexpr int kMaxSteps = 20;                     // step adjustments per policy (AWS quota)
inline constexpr int kMaxRateLimits = 10;                // rate-limit policies per direction
inline constexpr std::size_t kMaxConfigBytes = 4 << 20;  // config file size
inline constexpr std::size_t kMaxDiagnostics = 500;      // further errors are summarised

}  // namespace tide
