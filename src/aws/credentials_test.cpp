#include "aws/credentials.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "aws/shared_config.hpp"
#include "sources/testing/fake_http.hpp"

namespace tide::aws {
namespace {

namespace fs = std::filesystem;

const TimePoint kStart = TimePoint(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tide-aws-creds-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---- shared config files ---------------------------------------------------------------------

TEST(ParseIni, ReadsProfilesAsTheCliWritesThem) {
  const char* config = R"(# comment
[default]
region = eu-west-1
output=json ; inline comment

[profile dev]
Region = us-east-2
s3 =
  max_concurrent_requests = 20
aws_access_key_id = AKIDDEV
[sso-session corp]
sso_region = us-east-1
[stray]
region = nowhere-1
)";
  IniSections s = parse_ini(config, true);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(profile_get(s["default"], "region"), "eu-west-1");
  EXPECT_EQ(profile_get(s["default"], "output"), "json");
  EXPECT_EQ(profile_get(s["dev"], "region"), "us-east-2");  // key names are case-insensitive
  EXPECT_EQ(profile_get(s["dev"], "max_concurrent_requests"), "");
  EXPECT_EQ(profile_get(s["dev"], "aws_access_key_id"), "AKIDDEV");

  IniSections c = parse_ini("[dev]\naws_secret_access_key = a#b\n[profile x]\nk = v\n", false);
  EXPECT_EQ(profile_get(c["dev"], "aws_secret_access_key"), "a#b");  // '#' without a space
  EXPECT_EQ(profile_get(c["profile x"], "k"), "v");  // the credentials file has no prefix
}

TEST(ChooseProfile, ConfigThenEnvironmentThenDefault) {
  EXPECT_EQ(choose_profile({}, "").name, "default");
  EXPECT_FALSE(choose_profile({}, "").explicit_choice);
  EXPECT_EQ(choose_profile({{"AWS_DEFAULT_PROFILE", "b"}}, "").name, "b");
  EXPECT_EQ(choose_profile({{"AWS_PROFILE", "a"}, {"AWS_DEFAULT_PROFILE", "b"}}, "").name, "a");
  EXPECT_EQ(choose_profile({{"AWS_PROFILE", "a"}}, "cfg").name, "cfg");
  EXPECT_TRUE(choose_profile({{"AWS_PROFILE", "a"}}, "").explicit_choice);
}

TEST(ProfileFiles, DefaultsUnderHomeAndOverrides) {
  ProfileFiles f = profile_files({{"HOME", "/home/u"}});
  EXPECT_EQ(f.credentials, "/home/u/.aws/credentials");
  EXPECT_EQ(f.config, "/home/u/.aws/config");
  f = profile_files({{"HOME", "/home/u"},
                     {"AWS_SHARED_CREDENTIALS_FILE", "~/c"},
                     {"AWS_CONFIG_FILE", "/etc/aws"}});
  EXPECT_EQ(f.credentials, "/home/u/c");
  EXPECT_EQ(f.config, "/etc/aws");
}

// ---- the chain without HTTP -----------------------------------------------------------------

struct ChainCase {
  const char* name;
  Env env;                  // HOME is set to the temp dir; IMDS is disabled
  std::string credentials;  // ~/.aws/credentials ("" = no file)
  std::string config;       // ~/.aws/config ("" = no file)
  std::string profile;      // tide's `profile:`
  std::string want_key;     // access key id ("" = an error)
  std::string want_token;
  std::string want_source;
  std::string want_error;  // substring
};

class DefaultChainTest : public ::testing::TestWithParam<ChainCase> {};

TEST_P(DefaultChainTest, Resolves) {
  const ChainCase& c = GetParam();
  TempDir dir;
  if (!c.credentials.empty()) dir.write(".aws/credentials", c.credentials);
  if (!c.config.empty()) dir.write(".aws/config", c.config);
  ManualClock clock(kStart);
  HttpClient http;
  CredentialsOptions o;
  o.env = c.env;
  o.env["HOME"] = dir.path().string();
  o.env["AWS_EC2_METADATA_DISABLED"] = "true";
  o.clock = &clock;
  o.http = &http;
  o.profile = c.profile;
  auto creds = make_default_credentials(o)->get();
  if (c.want_key.empty()) {
    ASSERT_FALSE(creds.has_value()) << creds->access_key_id;
    EXPECT_NE(creds.error().message.find(c.want_error), std::string::npos) << creds.error().message;
    for (const char* secret : {"wJalrS3CR3TV4L", "s3cr3t", "FwoT0K3NV4L"}) {
      EXPECT_EQ(creds.error().message.find(secret), std::string::npos) << creds.error().message;
    }
    return;
  }
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, c.want_key);
  EXPECT_EQ(creds->session_token, c.want_token);
  EXPECT_EQ(creds->source, c.want_source);
  EXPECT_FALSE(creds->expires.has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DefaultChainTest,
    ::testing::Values(
        ChainCase{"environment",
                  {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                   {"AWS_SECRET_ACCESS_KEY", "wJalrS3CR3TV4L"},
                   {"AWS_SESSION_TOKEN", "FwoT0K3NV4L"}},
                  "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s3cr3t\n",
                  "",
                  "",
                  "AKIDENV",
                  "FwoT0K3NV4L",
                  "environment",
                  ""},
        ChainCase{"environment_half_set",
                  {{"AWS_ACCESS_KEY_ID", "AKIDENV"}},
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
        ChainCase{"credentials_file_default",
                  {},
                  "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s3cr3t\n",
                  "",
                  "",
                  "AKIDFILE",
                  "",
                  "profile default",
                  ""},
        ChainCase{"aws_profile_from_config_file",
                  {{"AWS_PROFILE", "dev"}},
                  "",
                  "[profile dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s3cr3t\n"
                  "aws_session_token = FwoT0K3NV4L\n",
                  "",
                  "AKIDDEV",
                  "FwoT0K3NV4L",
                  "profile dev",
                  ""},
        ChainCase{"credentials_file_wins_over_config",
                  {{"AWS_PROFILE", "dev"}},
                  "[dev]\naws_access_key_id = AKIDCRED\naws_secret_access_key = s3cr3t\n",
                  "[profile dev]\naws_access_key_id = AKIDCONF\naws_secret_access_key = x\n",
                  "",
                  "AKIDCRED",
                  "",
                  "profile dev",
                  ""},
        ChainCase{"configured_profile_skips_environment",
                  {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "wJalrS3CR3TV4L"}},
                  "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s3cr3t\n",
                  "",
                  "ops",
                  "AKIDOPS",
                  "",
                  "profile ops",
                  ""},
        ChainCase{"explicit_profile_missing",
                  {{"AWS_PROFILE", "nope"}},
                  "[default]\naws_access_key_id = A\naws_secret_access_key = s3cr3t\n",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "AWS profile 'nope' not found in"},
        ChainCase{"unsupported_profile_setting",
                  {},
                  "",
                  "[default]\ncredential_process = /bin/creds\n",
                  "",
                  "",
                  "",
                  "",
                  "'credential_process' is not supported"},
        ChainCase{"profile_half_set",
                  {},
                  "[default]\naws_secret_access_key = s3cr3t\n",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "aws_secret_access_key is set but aws_access_key_id is not"},
        ChainCase{"nothing_anywhere",
                  {},
                  "",
                  "[default]\nregion = eu-west-1\n",
                  "",
                  "",
                  "",
                  "",
                  "no AWS credentials found (environment: AWS_ACCESS_KEY_ID not set; shared "
                  "files: profile 'default' has no credentials; web identity: "
                  "AWS_WEB_IDENTITY_TOKEN_FILE not set; container: "
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set; instance "
                  "metadata: disabled by AWS_EC2_METADATA_DISABLED)"},
        ChainCase{"web_identity_half_set",
                  {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}},
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"},
        ChainCase{"container_full_uri_must_be_local_when_http",
                  {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"}},
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "must be https, or http to a loopback address"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- STS, container and IMDS against a local server ----------------------------------------

class CredentialsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = fake_.server();
    s.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      ++sts_hits;
      std::lock_guard lock(mu_);
      last_sts_body = req.body;
      last_sts_auth = req.get_header_value("Authorization");
      if (sts_status == 500) {
        res.status = 500;
        res.set_content("internal error", "text/plain");
        return;
      }
      if (sts_status != 200) {
        res.status = sts_status;
        res.set_content(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
            "<Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform "
            "sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>req-1</RequestId>"
            "</ErrorResponse>",
            "text/xml");
        return;
      }
      res.set_content(
          "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/"
          "\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>sub"
          "</SubjectFromWebIdentityToken><Credentials><SessionToken>STS-TOKEN-" +
              std::to_string(sts_hits.load()) +
              "</SessionToken><SecretAccessKey>STS-SECRET</SecretAccessKey><Expiration>" +
              expiration +
              "</Expiration><AccessKeyId>ASIASTS</AccessKeyId></Credentials>"
              "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r"
              "</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
          "text/xml");
    });
    s.Get("/container", [this](const httplib::Request& req, httplib::Response& res) {
      ++container_hits;
      if (req.get_header_value("Authorization") != "Bearer c0ntainer") {
        res.status = 401;
        res.set_content(R"({"code":"Unauthorized","message":"bad token"})", "application/json");
        return;
      }
      res.set_content(json_credentials("ASIACONTAINER", container_hits.load()), "application/json");
    });
    s.Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++imds_token_hits;
      if (imds_v1_only) {
        res.status = 404;
        return;
      }
      if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds") != "21600") {
        res.status = 400;
        return;
      }
      res.set_content("IMDS-SESSION", "text/plain");
    });
    s.Get("/latest/meta-data/iam/security-credentials/",
          [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req)) {
              res.status = 401;
              return;
            }
            res.set_content("web-role\n", "text/plain");
          });
    s.Get("/latest/meta-data/iam/security-credentials/web-role",
          [this](const httplib::Request& req, httplib::Response& res) {
            ++imds_hits;
            if (!authorized(req)) {
              res.status = 401;
              return;
            }
            if (imds_status != 200) {
              res.status = imds_status;
              return;
            }
            res.set_content(json_credentials("ASIAIMDS", imds_hits.load()), "application/json");
          });
    fake_.start();
  }

  bool authorized(const httplib::Request& req) const {
    return imds_v1_only || req.get_header_value("X-aws-ec2-metadata-token") == "IMDS-SESSION";
  }

  std::string json_credentials(const std::string& key, int n) const {
    return R"({"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC",)"
           R"("AccessKeyId":")" +
           key + R"(","SecretAccessKey":"SECRET-)" + std::to_string(n) + R"(","Token":"TOKEN-)" +
           std::to_string(n) + R"(","Expiration":")" + expiration + R"("})";
  }

  std::shared_ptr<CredentialsProvider> chain(Env env) {
    env["HOME"] = dir_.path().string();
    CredentialsOptions o;
    o.env = std::move(env);
    o.clock = &clock_;
    o.http = &http_;
    o.region = "eu-west-1";
    return make_default_credentials(std::move(o));
  }

  Env imds_env() const { return {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_.url("/")}}; }

  Env web_identity_env() const {
    return {{"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.write("token", "W3B-1D3NT1TY\n")},
            {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/tide"},
            {"AWS_ROLE_SESSION_NAME", "tide-test"},
            {"AWS_ENDPOINT_URL_STS", fake_.url()}};
  }

  testing::FakeHttp fake_;
  HttpClient http_;
  ManualClock clock_{kStart};
  TempDir dir_;
  std::mutex mu_;
  std::string expiration = "2026-01-01T01:00:00Z";  // kStart + 1h
  std::string last_sts_body, last_sts_auth;
  std::atomic<int> sts_status{200}, imds_status{200};
  std::atomic<bool> imds_v1_only{false};
  std::atomic<int> sts_hits{0}, container_hits{0}, imds_token_hits{0}, imds_hits{0};
};

TEST_F(CredentialsHttpTest, WebIdentityCallsStsUnsigned) {
  auto creds = chain(web_identity_env())->get();
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, "ASIASTS");
  EXPECT_EQ(creds->secret_access_key, "STS-SECRET");
  EXPECT_EQ(creds->session_token, "STS-TOKEN-1");
  EXPECT_EQ(creds->source, "web identity");
  ASSERT_TRUE(creds->expires.has_value());
  EXPECT_EQ(*creds->expires, kStart + std::chrono::hours(1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_sts_auth, "");  // AssumeRoleWithWebIdentity is not signed
  EXPECT_EQ(last_sts_body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
            "123456789012%3Arole%2Ftide&RoleSessionName=tide-test&WebIdentityToken=W3B-1D3NT1TY");
}

TEST_F(CredentialsHttpTest, WebIdentityFromTheProfile) {
  const std::string token = dir_.write("profile-token", "PR0F1LE-T0KEN");
  dir_.write(".aws/config",
             "[profile k8s]\nrole_arn = arn:aws:iam::1:role/p\n"
             "web_identity_token_file = " +
                 token + "\n");
  auto creds = chain({{"AWS_PROFILE", "k8s"}, {"AWS_ENDPOINT_URL_STS", fake_.url()}})->get();
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, "ASIASTS");
  EXPECT_EQ(creds->source, "profile k8s (web identity)");
  std::lock_guard lock(mu_);
  EXPECT_NE(last_sts_body.find("WebIdentityToken=PR0F1LE-T0KEN"), std::string::npos);
  EXPECT_NE(last_sts_body.find("RoleSessionName=tide-1767225600"), std::string::npos);
}

TEST_F(CredentialsHttpTest, StsErrorsAreClearAndCarryNoSecret) {
  sts_status = 403;
  auto creds = chain(web_identity_env())->get();
  ASSERT_FALSE(creds.has_value());
  const std::string& m = creds.error().message;
  EXPECT_NE(m.find("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity "
                   "(request id req-1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("arn:aws:iam::123456789012:role/tide"), std::string::npos) << m;
  EXPECT_EQ(m.find("W3B-1D3NT1TY"), std::string::npos) << m;
}

TEST_F(CredentialsHttpTest, TemporaryCredentialsAreCachedAndRefreshedFiveMinutesEarly) {
  auto provider = chain(web_identity_env());
  ASSERT_TRUE(provider->get().has_value());
  ASSERT_TRUE(provider->get().has_value());
  EXPECT_EQ(sts_hits.load(), 1);
  clock_.advance(std::chrono::minutes(54));  // 6 min left: still fresh
  EXPECT_EQ(provider->get()->session_token, "STS-TOKEN-1");
  EXPECT_EQ(sts_hits.load(), 1);
  expiration = "2026-01-01T02:00:00Z";
  clock_.advance(std::chrono::minutes(2));  // 4 min left: refreshed
  EXPECT_EQ(provider->get()->session_token, "STS-TOKEN-2");
  EXPECT_EQ(sts_hits.load(), 2);

  provider->invalidate();  // the service said ExpiredToken
  EXPECT_EQ(provider->get()->session_token, "STS-TOKEN-3");
}

TEST_F(CredentialsHttpTest, AFailedRefreshKeepsTheOldCredentialsUntilTheyExpire) {
  auto provider = chain(web_identity_env());
  ASSERT_TRUE(provider->get().has_value());
  sts_status = 500;
  clock_.advance(std::chrono::minutes(57));  // inside the refresh window, not expired
  auto still = provider->get();
  ASSERT_TRUE(still.has_value()) << still.error().message;
  EXPECT_EQ(still->session_token, "STS-TOKEN-1");
  clock_.advance(std::chrono::minutes(4));  // expired
  auto gone = provider->get();
  ASSERT_FALSE(gone.has_value());
  EXPECT_NE(gone.error().message.find("HTTP 500"), std::string::npos) << gone.error().message;
}

TEST_F(CredentialsHttpTest, ConcurrentCallersShareOneRefresh) {
  auto provider = chain(web_identity_env());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (provider->get()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(sts_hits.load(), 1);
}

TEST_F(CredentialsHttpTest, ContainerFullUriWithTokenFile) {
  Env env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", fake_.url("/container")},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir_.write("ctok", "Bearer c0ntainer\n")},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored when the file is set"}};
  auto creds = chain(env)->get();
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(creds->session_token, "TOKEN-1");
  EXPECT_EQ(creds->source, "container");
  EXPECT_EQ(*creds->expires, kStart + std::chrono::hours(1));
}

TEST_F(CredentialsHttpTest, ContainerRejectionNamesTheEndpointNotTheToken) {
  Env env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", fake_.url("/container")},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wr0ng-t0ken"}};
  auto creds = chain(env)->get();
  ASSERT_FALSE(creds.has_value());
  EXPECT_NE(creds.error().message.find("Unauthorized: bad token"), std::string::npos)
      << creds.error().message;
  EXPECT_EQ(creds.error().message.find("wr0ng-t0ken"), std::string::npos) << creds.error().message;
}

TEST_F(CredentialsHttpTest, ImdsV2AsksForASessionTokenFirst) {
  auto provider = chain(imds_env());
  auto creds = provider->get();
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, "ASIAIMDS");
  EXPECT_EQ(creds->secret_access_key, "SECRET-1");
  EXPECT_EQ(creds->source, "instance profile web-role");
  EXPECT_EQ(imds_token_hits.load(), 1);
  // Refresh goes back to IMDS (the remembered step).
  clock_.advance(std::chrono::minutes(56));
  EXPECT_EQ(provider->get()->secret_access_key, "SECRET-2");
  EXPECT_EQ(imds_token_hits.load(), 2);
}

TEST_F(CredentialsHttpTest, ImdsWithoutTheTokenApiFallsBackToV1) {
  imds_v1_only = true;
  auto creds = chain(imds_env())->get();
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_EQ(creds->access_key_id, "ASIAIMDS");
}

TEST_F(CredentialsHttpTest, ImdsFailureFallsThroughToNoCredentials) {
  imds_status = 500;
  auto creds = chain(imds_env())->get();
  ASSERT_FALSE(creds.has_value());
  EXPECT_NE(creds.error().message.find("no AWS credentials found"), std::string::npos);
  EXPECT_NE(creds.error().message.find("instance metadata: role web-role: HTTP 500"),
            std::string::npos)
      << creds.error().message;
}

TEST_F(CredentialsHttpTest, UnreachableImdsIsQuick) {
  fake_.stop();
  auto started = std::chrono::steady_clock::now();
  auto creds = chain(imds_env())->get();
  ASSERT_FALSE(creds.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_NE(creds.error().message.find("did not answer"), std::string::npos)
      << creds.error().message;
}

TEST(ParseCredentialsJson, RejectsIncompleteAnswers) {
  EXPECT_FALSE(parse_credentials_json("[]", "x").has_value());
  EXPECT_FALSE(parse_credentials_json(R"({"AccessKeyId":"A"})", "x").has_value());
  auto failed = parse_credentials_json(
      R"({"Code":"AssumeRoleUnauthorizedAccess","Message":"denied","SecretAccessKey":"S"})", "x");
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message.find("AssumeRoleUnauthorizedAccess"), std::string::npos);
  auto bad_time = parse_credentials_json(
      R"({"AccessKeyId":"A","SecretAccessKey":"SEKRIT","Expiration":"soon"})", "x");
  ASSERT_FALSE(bad_time.has_value());
  EXPECT_EQ(bad_time.error().message.find("SEKRIT"), std::string::npos);
}

}  // namespace
}  // namespace tide::aws
