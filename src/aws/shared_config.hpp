// The AWS shared config and credentials files (~/.aws/config and ~/.aws/credentials), read as the
// SDKs read them, for the credentials chain (credentials.hpp) and the region (endpoint.hpp).
//
// Files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and AWS_CONFIG_FILE (default
// ~/.aws/config); "~" is HOME. A missing file is empty, not an error. Sections are `[NAME]` in
// the credentials file and `[profile NAME]` (or `[default]`) in the config file; keys are
// `key = value`, names case-insensitive; lines starting with '#' or ';' are comments; indented
// lines under a key with an empty value (sub-sections such as `s3 =`) are ignored.
//
// Profile: tide's `profile:` key, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
// A profile's values merge both files; the credentials file wins for a key in both.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "aws/env.hpp"
#include "core/result.hpp"

namespace tide::aws {

using ProfileValues = std::map<std::string, std::string, std::less<>>;
using IniSections = std::map<std::string, ProfileValues, std::less<>>;

// Parses one file. In a config file (`config_file`), `[profile NAME]` is section NAME, `[default]`
// is "default", and other sections (`[sso-session x]`, `[services y]`, `[x]`) are skipped.
IniSections parse_ini(std::string_view text, bool config_file);

struct ProfileFiles {
  std::string credentials;  // path of the credentials file
  std::string config;       // path of the config file
};
ProfileFiles profile_files(const Env& env);

// The profile to use (see above) and whether it was chosen explicitly (config or environment).
struct ProfileChoice {
  std::string name;
  bool explicit_choice = false;
};
ProfileChoice choose_profile(const Env& env, std::string_view configured);

// The merged values of `profile`, nullopt when neither file has it. Errors: a file that exists
// but cannot be read.
Result<std::optional<ProfileValues>> load_profile(const Env& env, std::string_view profile);

// The value of `key` in `values`, or "".
std::string profile_get(const ProfileValues& values, std::string_view key);

}  // namespace tide::aws
