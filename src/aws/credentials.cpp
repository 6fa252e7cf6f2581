#include "aws/credentials.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "aws/endpoint.hpp"
#include "aws/errors.hpp"
#include "aws/shared_config.hpp"
#include "aws/xml.hpp"

namespace tide::aws {
namespace {

using Found = Result<std::optional<Credentials>>;

std::optional<Credentials> none() {
  return std::nullopt;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool truthy(std::string_view v) {
  std::string t = trim(v);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t == "true";
}

Result<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: cannot read {}", what, path));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return trim(s.str());
}

// A header value must not smuggle in another header.
bool header_safe(std::string_view v) {
  return v.find_first_of("\r\n") == std::string_view::npos;
}

Result<TimePoint> parse_expiration(const std::string& text, const std::string& source) {
  auto t = parse_time(text);
  if (!t) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: credentials with an unreadable Expiration", source));
  }
  return *t;
}

// The host of an http(s) URL, without brackets, port or user info.
std::string url_host(std::string_view url) {
  std::string hp = url_host_port(url);
  if (hp.starts_with('[')) return hp.substr(1, hp.find(']') - 1);
  return hp.substr(0, hp.rfind(':'));
}

class DefaultChain final : public CredentialsProvider {
 public:
  explicit DefaultChain(CredentialsOptions options) : opt_(std::move(options)) {
    steps_ = {
        {"environment", [this](std::string& note) { return from_env(note); }},
        {"shared files", [this](std::string& note) { return from_profile(note); }},
        {"web identity", [this](std::string& note) { return from_web_identity_env(note); }},
        {"container", [this](std::string& note) { return from_container(note); }},
        {"instance metadata", [this](std::string& note) { return from_imds(note); }},
    };
  }

  Result<Credentials> get() override {
    std::lock_guard lock(mu_);
    const TimePoint now = opt_.clock->now();
    if (cached_ && (!cached_->expires || now < *cached_->expires - opt_.refresh_ahead)) {
      return *cached_;
    }
    auto fetched = fetch_locked();
    if (fetched) {
      cached_ = *fetched;
      return *cached_;
    }
    if (cached_ && cached_->expires && now < *cached_->expires) return *cached_;
    cached_.reset();
    return std::unexpected(fetched.error());
  }

  void invalidate() override {
    std::lock_guard lock(mu_);
    cached_.reset();
  }

 private:
  struct Step {
    std::string name;
    std::function<Found(std::string& note)> fetch;
  };

  Result<Credentials> fetch_locked() {
    if (chosen_ >= 0) {
      std::string note;
      auto r = steps_[static_cast<std::size_t>(chosen_)].fetch(note);
      if (!r) return std::unexpected(r.error());
      if (*r) return **r;
      chosen_ = -1;  // no longer configured (e.g. the instance lost its role): look again
    }
    std::vector<std::string> notes;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      std::string note;
      auto r = steps_[i].fetch(note);
      if (!r) return std::unexpected(r.error());
      if (*r) {
        chosen_ = static_cast<int>(i);
        return **r;
      }
      notes.push_back(fmt::format("{}: {}", steps_[i].name, note));
    }
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("no AWS credentials found ({}); set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, or use a profile, a web identity, a container "
                            "role or an instance profile",
                            fmt::join(notes, "; ")));
  }

  std::string env(const char* name) const { return env_get(opt_.env, name); }

  Found from_env(std::string& note) {
    if (!opt_.profile.empty()) {
      note = fmt::format("skipped (the config names profile '{}')", opt_.profile);
      return none();
    }
    const std::string id = env("AWS_ACCESS_KEY_ID");
    const std::string secret = env("AWS_SECRET_ACCESS_KEY");
    if (id.empty() && secret.empty()) {
      note = "AWS_ACCESS_KEY_ID not set";
      return none();
    }
    if (id.empty() || secret.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("AWS credentials from the environment: {} is set but {} is not",
                              id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
                              id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"));
    }
    return Credentials{id, secret, env("AWS_SESSION_TOKEN"), std::nullopt, "environment"};
  }

  Found from_profile(std::string& note) {
    const ProfileChoice choice = choose_profile(opt_.env, opt_.profile);
    const ProfileFiles files = profile_files(opt_.env);
    auto loaded = load_profile(opt_.env, choice.name);
    if (!loaded) {
      return fail(loaded.error().code,
                  fmt::format("AWS profile '{}': {}", choice.name, loaded.error().message));
    }
    if (!*loaded) {
      if (choice.explicit_choice) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("AWS profile '{}' not found in {} or {}", choice.name,
                                files.credentials, files.config));
      }
      note =
          fmt::format("no profile '{}' in {} or {}", choice.name, files.credentials, files.config);
      return none();
    }
    const ProfileValues& p = **loaded;
    const std::string source = fmt::format("profile {}", choice.name);
    const std::string id = profile_get(p, "aws_access_key_id");
    const std::string secret = profile_get(p, "aws_secret_access_key");
    if (!id.empty() || !secret.empty()) {
      if (id.empty() || secret.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("AWS {}: {} is set but {} is not", source,
                                id.empty() ? "aws_secret_access_key" : "aws_access_key_id",
                                id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
      }
      return Credentials{id, secret, profile_get(p, "aws_session_token"), std::nullopt, source};
    }
    const std::string role = profile_get(p, "role_arn");
    const std::string token_file = profile_get(p, "web_identity_token_file");
    if (!role.empty() && !token_file.empty()) {
      return assume_role_with_web_identity(role, token_file, profile_get(p, "role_session_name"),
                                           source + " (web identity)");
    }
    for (const char* unsupported :
         {"role_arn", "credential_process", "sso_session", "sso_start_url", "login_session"}) {
      if (!profile_get(p, unsupported).empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("AWS {}: '{}' is not supported by tide (use static keys, a web "
                                "identity token file, a container role or an instance profile)",
                                source, unsupported));
      }
    }
    note = fmt::format("profile '{}' has no credentials", choice.name);
    return none();
  }

  Found from_web_identity_env(std::string& note) {
    const std::string token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const std::string role = env("AWS_ROLE_ARN");
    if (token_file.empty() && role.empty()) {
      note = "AWS_WEB_IDENTITY_TOKEN_FILE not set";
      return none();
    }
    if (token_file.empty() || role.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("AWS web identity: {} is set but {} is not",
                              token_file.empty() ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                              token_file.empty() ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN"));
    }
    return assume_role_with_web_identity(role, token_file, env("AWS_ROLE_SESSION_NAME"),
                                         "web identity");
  }

  Found assume_role_with_web_identity(const std::string& role, const std::string& token_file,
                                      std::string session, const std::string& source) {
    const std::string what = fmt::format("AWS {} (role {})", source, role);
    auto token = read_text_file(token_file, what + ": web identity token file");
    if (!token) return std::unexpected(token.error());
    if (token->empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: the token file {} is empty", what, token_file));
    }
    if (session.empty()) {
      session = fmt::format("tide-{}", std::chrono::duration_cast<std::chrono::seconds>(
                                           opt_.clock->now().time_since_epoch())
                                           .count());
    }
    auto endpoint = resolve_endpoint(Service::kSts, opt_.region, "", opt_.env, nullptr);
    if (!endpoint) return std::unexpected(endpoint.error());
    HttpRequest req;
    req.method = "POST";
    req.url = *endpoint + "/";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                   {"Accept", "application/xml"}};
    req.body = fmt::format(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&"
        "WebIdentityToken={}",
        url_encode(role), url_encode(session), url_encode(*token));
    req.timeout = std::chrono::seconds(5);
    const Credentials token_only{"", "", *token};
    auto resp = opt_.http->send(req);
    if (!resp) {
      return fail(resp.error().code, scrub(fmt::format("{}: STS AssumeRoleWithWebIdentity: {}",
                                                       what, resp.error().message),
                                           token_only));
    }
    if (!resp->ok()) {
      AwsError e = parse_error_response(*resp);
      e.context = what + ": STS AssumeRoleWithWebIdentity";
      return fail(e.code, scrub(e.text(), token_only));
    }
    auto creds = parse_assume_role_response(resp->body, what);
    if (!creds) return std::unexpected(creds.error());
    creds->source = source;
    return *creds;
  }

  Found from_container(std::string& note) {
    const std::string relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const std::string full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string url;
    if (!relative.empty()) {
      url = "http://169.254.170.2" + (relative.starts_with('/') ? relative : "/" + relative);
    } else if (!full.empty()) {
      url = full;
      if (url.starts_with("http://")) {
        static const std::vector<std::string> kAllowed = {"169.254.170.2", "169.254.170.23",
                                                          "fd00:ec2::23", "localhost", "::1"};
        const std::string host = url_host(url);
        const bool loopback = host.starts_with("127.") ||
                              std::find(kAllowed.begin(), kAllowed.end(), host) != kAllowed.end();
        if (!loopback) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("AWS container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
                                  "must be https, or http to a loopback address or the ECS/EKS "
                                  "agent (got host '{}')",
                                  host));
        }
      } else if (!url.starts_with("https://")) {
        return fail(ErrorCode::kInvalidArgument,
                    "AWS container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an "
                    "http(s) URL");
      }
    } else {
      note = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set";
      return none();
    }
    HttpRequest req;
    req.url = url;
    req.timeout = std::chrono::seconds(2);
    req.headers = {{"Accept", "application/json"}};
    std::string auth;
    if (std::string file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
      auto token = read_text_file(file, "AWS container credentials: authorization token file");
      if (!token) return std::unexpected(token.error());
      auth = *token;
    } else {
      auth = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (!auth.empty()) {
      if (!header_safe(auth)) {
        return fail(ErrorCode::kInvalidArgument,
                    "AWS container credentials: the authorization token contains a line break");
      }
      req.headers.emplace_back("Authorization", auth);
    }
    const std::string what = fmt::format("AWS container credentials ({})", redact_url(url));
    const Credentials auth_only{"", "", auth};
    Result<HttpResponse> resp = fail(ErrorCode::kUnavailable, "not sent");
    for (int attempt = 0; attempt < 2; ++attempt) {
      resp = opt_.http->send(req);
      if (resp && resp->status < 500) break;
    }
    if (!resp) {
      return fail(resp.error().code,
                  scrub(fmt::format("{}: {}", what, resp.error().message), auth_only));
    }
    if (!resp->ok()) {
      AwsError e = parse_error_response(*resp);
      e.context = what;
      return fail(ErrorCode::kUnavailable, scrub(e.text(), auth_only));
    }
    auto creds = parse_credentials_json(resp->body, what);
    if (!creds) return std::unexpected(creds.error());
    creds->source = "container";
    return *creds;
  }

  Found from_imds(std::string& note) {
    if (truthy(env("AWS_EC2_METADATA_DISABLED"))) {
      note = "disabled by AWS_EC2_METADATA_DISABLED";
      return none();
    }
    std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) {
      std::string mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
      for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      base = mode == "ipv6" ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
    }
    while (base.ends_with('/')) base.pop_back();
    Duration timeout = std::chrono::seconds(1);
    if (auto t = params_seconds(env("AWS_METADATA_SERVICE_TIMEOUT"))) timeout = *t;
    int attempts = 1;
    if (std::string n = env("AWS_METADATA_SERVICE_NUM_ATTEMPTS"); !n.empty()) {
      attempts = std::clamp(std::atoi(n.c_str()), 1, 5);
    }
    auto send = [&](HttpRequest req) -> Result<HttpResponse> {
      req.timeout = timeout;
      Result<HttpResponse> r = fail(ErrorCode::kUnavailable, "not sent");
      for (int i = 0; i < attempts; ++i) {
        r = opt_.http->send(req);
        if (r && r->status < 500) break;
      }
      return r;
    };

    HttpRequest token_req;
    token_req.method = "PUT";
    token_req.url = base + "/latest/api/token";
    token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    auto token = send(token_req);
    if (!token) {
      note = fmt::format("{} did not answer ({})", base, token.error().message);
      return none();
    }
    std::string session;
    if (token->ok()) {
      session = trim(token->body);
    } else if (token->status != 403 && token->status != 404 && token->status != 405) {
      note = fmt::format("{}/latest/api/token answered HTTP {}", base, token->status);
      return none();
    }
    HttpHeaders headers;
    if (!session.empty() && header_safe(session)) {
      headers.emplace_back("X-aws-ec2-metadata-token", session);
    }
    const std::string roles_url = base + "/latest/meta-data/iam/security-credentials/";
    auto roles = send(HttpRequest{.url = roles_url, .headers = headers});
    if (!roles || !roles->ok()) {
      note = roles ? (roles->status == 404
                          ? "no instance profile (no IAM role on this instance)"
                          : fmt::format("{} answered HTTP {}", roles_url, roles->status))
                   : fmt::format("{}: {}", roles_url, roles.error().message);
      return none();
    }
    std::string role = trim(roles->body);
    role = role.substr(0, role.find('\n'));
    if (role.empty() || role.find('/') != std::string::npos) {
      note = "no instance profile (no IAM role on this instance)";
      return none();
    }
    auto creds_resp = send(HttpRequest{.url = roles_url + url_encode(role), .headers = headers});
    if (!creds_resp || !creds_resp->ok()) {
      note = creds_resp ? fmt::format("role {}: HTTP {}", role, creds_resp->status)
                        : fmt::format("role {}: {}", role, creds_resp.error().message);
      return none();
    }
    const std::string what = fmt::format("AWS instance metadata (role {})", role);
    auto creds = parse_credentials_json(creds_resp->body, what);
    if (!creds) {
      note = creds.error().message;
      return none();
    }
    creds->source = fmt::format("instance profile {}", role);
    return *creds;
  }

  static std::optional<Duration> params_seconds(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    double s = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(s > 0) || s > 60) return std::nullopt;
    return seconds(s);
  }

  CredentialsOptions opt_;
  std::vector<Step> steps_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
  int chosen_ = -1;
};

class StaticCredentials final : public CredentialsProvider {
 public:
  explicit StaticCredentials(Credentials c) : creds_(std::move(c)) {}
  Result<Credentials> get() override { return creds_; }
  void invalidate() override {}

 private:
  Credentials creds_;
};

}  // namespace

Result<Credentials> parse_credentials_json(std::string_view body, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: the response is not a JSON object", source));
  }
  auto str = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (std::string code = str("Code"); !code.empty() && code != "Success") {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: the credentials endpoint answered Code {} ({})", source, code,
                            str("Message")));
  }
  Credentials c{str("AccessKeyId"), str("SecretAccessKey"), str("Token"), std::nullopt, source};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: the response has no AccessKeyId or SecretAccessKey", source));
  }
  if (std::string exp = str("Expiration"); !exp.empty()) {
    auto t = parse_expiration(exp, source);
    if (!t) return std::unexpected(t.error());
    c.expires = *t;
  }
  return c;
}

Result<Credentials> parse_assume_role_response(std::string_view body, const std::string& source) {
  auto doc = xml::parse(body, source);
  if (!doc) return std::unexpected(doc.error());
  pugi::xml_node creds = xml::find(**doc, "Credentials");
  if (!creds) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: the STS response has no Credentials", source));
  }
  Credentials c{xml::text(creds, "AccessKeyId"), xml::text(creds, "SecretAccessKey"),
                xml::text(creds, "SessionToken"), std::nullopt, source};
  if (c.access_key_id.empty() || c.secret_access_key.empty() || c.session_token.empty()) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: the STS response lacks AccessKeyId, SecretAccessKey or "
                            "SessionToken",
                            source));
  }
  auto t = parse_expiration(xml::text(creds, "Expiration"), source);
  if (!t) return std::unexpected(t.error());
  c.expires = *t;
  return c;
}

std::shared_ptr<CredentialsProvider> make_default_credentials(CredentialsOptions options) {
  return std::make_shared<DefaultChain>(std::move(options));
}

std::shared_ptr<CredentialsProvider> make_static_credentials(Credentials credentials) {
  return std::make_shared<StaticCredentials>(std::move(credentials));
}

std::shared_ptr<CredentialsProvider> shared_default_credentials(const std::string& profile,
                                                                const std::string& region) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::shared_ptr<CredentialsProvider>>
      providers;
  static const SystemClock clock;
  std::lock_guard lock(mu);
  auto& p = providers[{profile, region}];
  if (!p) {
    CredentialsOptions o;
    o.env = process_env();
    o.clock = &clock;
    o.http = &HttpClient::shared();
    o.profile = profile;
    o.region = region;
    p = make_default_credentials(std::move(o));
  }
  return p;
}

}  // namespace tide::aws
