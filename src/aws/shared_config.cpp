#include "aws/shared_config.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

extern char** environ;

namespace tide::aws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string expand_home(const Env& env, std::string path) {
  if (path == "~" || path.starts_with("~/")) {
    std::string home = env_get(env, "HOME");
    path = home + path.substr(1);
  }
  return path;
}

// nullopt when the file does not exist.
Result<std::optional<std::string>> read_optional(const std::string& path) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return std::optional<std::string>(s.str());
}

}  // namespace

Env process_env() {
  Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

IniSections parse_ini(std::string_view text, bool config_file) {
  IniSections out;
  ProfileValues* current = nullptr;
  bool in_subsection = false;  // after `key =` with an empty value: indented lines belong to it
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string_view raw =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    if (line.front() == '[') {
      in_subsection = false;
      current = nullptr;
      auto close = line.find(']');
      if (close == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(1, close - 1));
      if (config_file) {
        if (name.starts_with("profile ") || name.starts_with("profile\t")) {
          name = trim(name.substr(8));
        } else if (name != "default") {
          continue;  // [sso-session x], [services y], [other]: not profiles
        }
      }
      if (name.empty()) continue;
      current = &out[std::string(name)];
      continue;
    }
    if (current == nullptr) continue;
    if (indented && in_subsection) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.empty()) {
      in_subsection = true;
      continue;
    }
    in_subsection = false;
    // Inline comments need whitespace before them (as in botocore).
    for (std::size_t i = 1; i < value.size(); ++i) {
      if ((value[i] == '#' || value[i] == ';') &&
          std::isspace(static_cast<unsigned char>(value[i - 1]))) {
        value = trim(value.substr(0, i));
        break;
      }
    }
    (*current)[key] = std::string(value);
  }
  return out;
}

ProfileFiles profile_files(const Env& env) {
  ProfileFiles f;
  f.credentials = env_get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (f.credentials.empty()) f.credentials = "~/.aws/credentials";
  f.config = env_get(env, "AWS_CONFIG_FILE");
  if (f.config.empty()) f.config = "~/.aws/config";
  f.credentials = expand_home(env, f.credentials);
  f.config = expand_home(env, f.config);
  return f;
}

ProfileChoice choose_profile(const Env& env, std::string_view configured) {
  if (!configured.empty()) return {std::string(configured), true};
  for (const char* name : {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}) {
    std::string v = env_get(env, name);
    if (!v.empty()) return {v, true};
  }
  return {"default", false};
}

Result<std::optional<ProfileValues>> load_profile(const Env& env, std::string_view profile) {
  const ProfileFiles files = profile_files(env);
  auto config = read_optional(files.config);
  if (!config) return std::unexpected(config.error());
  auto credentials = read_optional(files.credentials);
  if (!credentials) return std::unexpected(credentials.error());
  bool found = false;
  ProfileValues merged;
  if (*config) {
    IniSections s = parse_ini(**config, true);
    if (auto it = s.find(profile); it != s.end()) {
      found = true;
      merged = it->second;
    }
  }
  if (*credentials) {
    IniSections s = parse_ini(**credentials, false);
    if (auto it = s.find(profile); it != s.end()) {
      found = true;
      for (const auto& [k, v] : it->second) merged[k] = v;
    }
  }
  if (!found) return std::optional<ProfileValues>();
  return std::optional<ProfileValues>(std::move(merged));
}

std::string profile_get(const ProfileValues& values, std::string_view key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

}  // namespace tide::aws
