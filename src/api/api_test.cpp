#include "api/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include "api/fake_engine.hpp"

namespace tide {
namespace {

using json = nlohmann::json;
using testing::FakeEngine;

const TimePoint kNow = from_unix_seconds(1'800'000'000);
constexpr const char* kToken = "s3cret-t0ken-value";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::add_sample_groups(engine_, kNow);
    ApiOptions options;
    options.token = kToken;
    options.max_body_bytes = 1024;
    server_ = std::make_unique<ApiServer>(engine_, options, clock_);
    auto started = server_->start("127.0.0.1:0");
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ASSERT_GT(server_->port(), 0);
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(5));
    return c;
  }

  FakeEngine engine_;
  ManualClock clock_{kNow};
  std::unique_ptr<ApiServer> server_;
};

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
  std::string allow;
  json parsed;
};

Reply perform(httplib::Client& c, const std::string& method, const std::string& path,
              const std::string& body, const std::string& auth) {
  httplib::Headers headers;
  if (!auth.empty()) headers.emplace("Authorization", auth);
  httplib::Result r{nullptr, httplib::Error::Unknown};
  if (method == "GET") r = c.Get(path, headers);
  if (method == "POST") r = c.Post(path, headers, body, "application/json");
  if (method == "PUT") r = c.Put(path, headers, body, "application/json");
  if (method == "DELETE") r = c.Delete(path, headers);
  Reply out;
  if (!r) {
    ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.content_type = r->get_header_value("Content-Type");
  out.www_authenticate = r->get_header_value("WWW-Authenticate");
  out.allow = r->get_header_value("Allow");
  out.parsed = json::parse(r->body, nullptr, false);
  return out;
}

const std::string kBearer = std::string("Bearer ") + kToken;

struct RouteCase {
  const char* name;
  const char* method;
  std::string path;
  std::string body;
  std::string auth;
  int want_status;
  std::function<void(const Reply&)> check;  // extra checks; may be empty
};

void expect_error(const Reply& r, const std::string& fragment) {
  ASSERT_TRUE(r.parsed.is_object()) << r.body;
  ASSERT_TRUE(r.parsed.contains("error")) << r.body;
  EXPECT_NE(r.parsed["error"].get<std::string>().find(fragment), std::string::npos) << r.body;
}

TEST_F(ApiTest, Routes) {
  const RouteCase cases[] = {
      {"health", "GET", "/v1/health", "", "", 200,
       [](const Reply& r) {
         EXPECT_EQ(r.parsed["status"], "ok");
         EXPECT_EQ(r.parsed["now"], "2027-01-15T08:00:00Z");
         EXPECT_TRUE(r.parsed["version"].is_string());
       }},
      {"groups", "GET", "/v1/groups", "", "", 200,
       [](const Reply& r) {
         ASSERT_EQ(r.parsed["groups"].size(), 2u);
         const json& batch = r.parsed["groups"][0];
         const json& web = r.parsed["groups"][1];
         EXPECT_EQ(batch["name"], "batch");
         EXPECT_EQ(batch["state"], "paused");
         EXPECT_EQ(batch["paused"], true);
         EXPECT_EQ(batch["override"]["capacity"], 2);
         EXPECT_EQ(batch["override"]["until"], "2027-01-15T08:10:00Z");
         EXPECT_TRUE(batch["current"].is_null());
         EXPECT_EQ(batch["desired"], 2);
         EXPECT_EQ(batch["dry_run"], true);
         EXPECT_EQ(batch["last_error"], "source prom: connection refused");
         EXPECT_EQ(web["name"], "web");
         EXPECT_EQ(web["state"], "ok");
         EXPECT_EQ(web["current"], 3);
         EXPECT_EQ(web["ready"], 2);
         EXPECT_EQ(web["warming"], 1);
         EXPECT_EQ(web["desired"], 4);
         EXPECT_EQ(web["interval"], "15s");
         EXPECT_EQ(web["last_decision"]["id"], 30);
         EXPECT_EQ(web["last_decision"]["bound_by"], "rate-limit");
         EXPECT_FALSE(web["last_decision"].contains("account"));  // the list stays small
         EXPECT_FALSE(web.contains("instances"));
         EXPECT_TRUE(web["last_error"].is_null());
       }},
      {"one group", "GET", "/v1/groups/web", "", "", 200,
       [](const Reply& r) {
         EXPECT_EQ(r.parsed["min"], 1);
         EXPECT_EQ(r.parsed["max"], 10);
         EXPECT_EQ(r.parsed["target_type"], "local-process");
         EXPECT_EQ(r.parsed["next_evaluation"], "2027-01-15T08:00:10Z");
         ASSERT_EQ(r.parsed["instances"].size(), 3u);
         EXPECT_EQ(r.parsed["instances"][2], json({{"id", "103"},
                                                   {"address", "127.0.0.1:9003"},
                                                   {"state", "warming"},
                                                   {"detail", "started 4s ago"}}));
         const json& last = r.parsed["last_decision"];
         EXPECT_EQ(last["outcome"], "applied");
         EXPECT_EQ(last["group"], "web");
         EXPECT_EQ(last["account"]["desired"], 4);
         EXPECT_TRUE(last["account"]["explanation"].is_string());
       }},
      {"unknown group", "GET", "/v1/groups/nope", "", "", 404,
       [](const Reply& r) { expect_error(r, "unknown group 'nope'"); }},
      {"decisions default", "GET", "/v1/groups/web/decisions", "", "", 200,
       [](const Reply& r) {
         ASSERT_EQ(r.parsed["decisions"].size(), 20u);
         EXPECT_EQ(r.parsed["decisions"][0]["id"], 30);
         EXPECT_EQ(r.parsed["next_before"], 11);
       }},
      {"decisions page", "GET", "/v1/groups/web/decisions?limit=5&before=8", "", "", 200,
       [](const Reply& r) {
         ASSERT_EQ(r.parsed["decisions"].size(), 5u);
         EXPECT_EQ(r.parsed["decisions"][0]["id"], 7);
         EXPECT_EQ(r.parsed["decisions"][4]["id"], 3);
         EXPECT_EQ(r.parsed["next_before"], 3);
         EXPECT_TRUE(r.parsed["decisions"][0]["bound_by"].is_null());
         EXPECT_EQ(r.parsed["decisions"][0]["account"]["current"], 3);
       }},
      {"decisions last page", "GET", "/v1/groups/web/decisions?limit=5&before=3", "", "", 200,
       [](const Reply& r) {
         ASSERT_EQ(r.parsed["decisions"].size(), 2u);
         EXPECT_TRUE(r.parsed["next_before"].is_null());
       }},
      {"decisions of unknown group", "GET", "/v1/groups/nope/decisions", "", "", 404,
       [](const Reply& r) { expect_error(r, "unknown group"); }},
      {"limit zero", "GET", "/v1/groups/web/decisions?limit=0", "", "", 400,
       [](const Reply& r) { expect_error(r, "limit must be an integer from 1 to 1000"); }},
      {"limit too big", "GET", "/v1/groups/web/decisions?limit=1001", "", "", 400, {}},
      {"limit not a number", "GET", "/v1/groups/web/decisions?limit=ten", "", "", 400, {}},
      {"before negative", "GET", "/v1/groups/web/decisions?before=-1", "", "", 400,
       [](const Reply& r) { expect_error(r, "before must be a positive decision id"); }},
      {"one decision", "GET", "/v1/groups/web/decisions/7", "", "", 200,
       [](const Reply& r) {
         EXPECT_EQ(r.parsed["id"], 7);
         EXPECT_EQ(r.parsed["group"], "web");
       }},
      {"missing decision", "GET", "/v1/groups/web/decisions/999", "", "", 404,
       [](const Reply& r) { expect_error(r, "group 'web' has no decision 999"); }},
      {"another group's decision", "GET", "/v1/groups/web/decisions/100", "", "", 404, {}},
      {"bad decision id", "GET", "/v1/groups/web/decisions/x1", "", "", 400,
       [](const Reply& r) { expect_error(r, "positive integer"); }},
      {"unknown path", "GET", "/v1/nothing", "", "", 404,
       [](const Reply& r) { expect_error(r, "not found"); }},
      {"metrics", "GET", "/metrics", "", "", 200,
       [](const Reply& r) {
         EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
         EXPECT_NE(r.body.find("tide_up 1"), std::string::npos);
       }},
      // ---- auth ----
      {"pause without token", "POST", "/v1/groups/web/pause", "", "", 401,
       [](const Reply& r) {
         EXPECT_EQ(r.www_authenticate, R"(Bearer realm="tide")");
         expect_error(r, "Authorization: Bearer");
       }},
      {"pause with wrong token", "POST", "/v1/groups/web/pause", "", "Bearer s3cret-t0ken-valuf",
       401,
       [](const Reply& r) {
         EXPECT_FALSE(r.www_authenticate.empty());
         expect_error(r, "wrong bearer token");
       }},
      {"pause with a longer token",
       "POST",
       "/v1/groups/web/pause",
       "",
       std::string("Bearer ") + kToken + "x",
       401,
       {}},
      {"pause with a prefix of the token",
       "POST",
       "/v1/groups/web/pause",
       "",
       "Bearer s3cret",
       401,
       {}},
      {"pause with basic auth", "POST", "/v1/groups/web/pause", "", "Basic czNjcmV0", 401, {}},
      {"set without token",
       "PUT",
       "/v1/groups/web/capacity",
       R"({"capacity":5,"for":"30m"})",
       "",
       401,
       {}},
      {"delete without token", "DELETE", "/v1/groups/web", "", "", 401, {}},
      {"unknown group with token", "POST", "/v1/groups/nope/pause", "", kBearer, 404,
       [](const Reply& r) { expect_error(r, "unknown group 'nope'"); }},
      {"pause with GET", "GET", "/v1/groups/web/pause", "", "", 405,
       [](const Reply& r) { EXPECT_EQ(r.allow, "POST"); }},
      {"capacity with POST", "POST", "/v1/groups/web/capacity", "{}", kBearer, 405,
       [](const Reply& r) { EXPECT_EQ(r.allow, "PUT"); }},
      // ---- capacity bodies ----
      {"capacity above max", "PUT", "/v1/groups/web/capacity", R"({"capacity":11,"for":"30m"})",
       kBearer, 400,
       [](const Reply& r) {
         expect_error(r, "capacity 11 is outside the bounds of group 'web' (1..10)");
       }},
      {"capacity below min",
       "PUT",
       "/v1/groups/web/capacity",
       R"({"capacity":0,"for":"30m"})",
       kBearer,
       400,
       {}},
      {"capacity as string", "PUT", "/v1/groups/web/capacity", R"({"capacity":"5","for":"30m"})",
       kBearer, 400, [](const Reply& r) { expect_error(r, "capacity must be an integer"); }},
      {"capacity fractional",
       "PUT",
       "/v1/groups/web/capacity",
       R"({"capacity":5.5,"for":"1m"})",
       kBearer,
       400,
       {}},
      {"no expiry", "PUT", "/v1/groups/web/capacity", R"({"capacity":5})", kBearer, 400,
       [](const Reply& r) { expect_error(r, R"(give exactly one of "for" and "until")"); }},
      {"both expiries",
       "PUT",
       "/v1/groups/web/capacity",
       R"({"capacity":5,"for":"1m","until":"2027-01-15T09:00:00Z"})",
       kBearer,
       400,
       {}},
      {"bad duration", "PUT", "/v1/groups/web/capacity", R"({"capacity":5,"for":"soon"})", kBearer,
       400, [](const Reply& r) { expect_error(r, "for: "); }},
      {"duration as number",
       "PUT",
       "/v1/groups/web/capacity",
       R"({"capacity":5,"for":30})",
       kBearer,
       400,
       {}},
      {"zero duration", "PUT", "/v1/groups/web/capacity", R"({"capacity":5,"for":"0s"})", kBearer,
       400, [](const Reply& r) { expect_error(r, "must be positive"); }},
      {"too long", "PUT", "/v1/groups/web/capacity", R"({"capacity":5,"for":"400d"})", kBearer, 400,
       [](const Reply& r) { expect_error(r, "at most 30d"); }},
      {"until in the past", "PUT", "/v1/groups/web/capacity",
       R"({"capacity":5,"until":"2027-01-15T07:00:00Z"})", kBearer, 400,
       [](const Reply& r) { expect_error(r, "in the past"); }},
      {"unknown field", "PUT", "/v1/groups/web/capacity",
       R"({"capacity":5,"for":"1m","duration":"1m"})", kBearer, 400,
       [](const Reply& r) { expect_error(r, "unknown field 'duration'"); }},
      {"not JSON", "PUT", "/v1/groups/web/capacity", "capacity=5", kBearer, 400,
       [](const Reply& r) { expect_error(r, "body is not a JSON object"); }},
      {"JSON array", "PUT", "/v1/groups/web/capacity", "[5]", kBearer, 400, {}},
      {"body too large", "PUT", "/v1/groups/web/capacity",
       R"({"capacity":5,"for":"1m","x":")" + std::string(2000, 'x') + R"("})", kBearer, 413,
       [](const Reply& r) { expect_error(r, "too large"); }},
  };
  auto c = client();
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const Reply r = perform(c, tc.method, tc.path, tc.body, tc.auth);
    EXPECT_EQ(r.status, tc.want_status) << r.body;
    if (r.status != 200 || tc.path != "/metrics") {
      EXPECT_EQ(r.content_type, "application/json") << r.body;
      EXPECT_TRUE(r.parsed.is_object()) << r.body;
    }
    // The token is never echoed, whatever was sent.
    EXPECT_EQ(r.body.find(kToken), std::string::npos);
    EXPECT_EQ(r.body.find("s3cret"), std::string::npos);
    if (tc.check && r.status == tc.want_status) tc.check(r);
  }
  // Nothing above changed anything.
  EXPECT_FALSE(engine_.group("web")->flags.paused);
  EXPECT_TRUE(engine_.set_calls().empty());
}

TEST_F(ApiTest, PauseResumeAndSetCapacity) {
  auto c = client();
  Reply r = perform(c, "POST", "/v1/groups/web/pause", "", kBearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.parsed["paused"], true);
  EXPECT_EQ(r.parsed["state"], "paused");
  EXPECT_TRUE(engine_.group("web")->flags.paused);

  // The scheme is case-insensitive (RFC 7235).
  r = perform(c, "POST", "/v1/groups/web/resume", "", std::string("bearer ") + kToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.parsed["paused"], false);
  EXPECT_FALSE(engine_.group("web")->flags.paused);

  r = perform(c, "PUT", "/v1/groups/web/capacity", R"({"capacity": 5, "for": "30m"})", kBearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.parsed["state"], "override");
  EXPECT_EQ(r.parsed["override"], json({{"capacity", 5}, {"until", "2027-01-15T08:30:00Z"}}));
  auto calls = engine_.set_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].group, "web");
  EXPECT_EQ(calls[0].capacity, 5);
  EXPECT_EQ(calls[0].until, kNow + std::chrono::minutes(30));

  r = perform(c, "PUT", "/v1/groups/web/capacity",
              R"({"capacity": 10, "until": "2027-01-15T10:00:00Z"})", kBearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(engine_.set_calls().back().until, kNow + std::chrono::hours(2));

  // An override that expired is no longer shown.
  clock_.advance(std::chrono::hours(3));
  r = perform(c, "GET", "/v1/groups/web", "", "");
  EXPECT_TRUE(r.parsed["override"].is_null());
  EXPECT_EQ(r.parsed["state"], "ok");
}

TEST_F(ApiTest, EngineErrorsMapToStatuses) {
  const struct {
    const char* name;
    ErrorCode code;
    int want;
  } cases[] = {
      {"invalid", ErrorCode::kInvalidArgument, 400}, {"not found", ErrorCode::kNotFound, 404},
      {"unavailable", ErrorCode::kUnavailable, 503}, {"timeout", ErrorCode::kTimeout, 504},
      {"internal", ErrorCode::kInternal, 500},
  };
  auto c = client();
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    engine_.fail_next(Error{tc.code, "engine says no"});
    Reply r = perform(c, "POST", "/v1/groups/web/pause", "", kBearer);
    EXPECT_EQ(r.status, tc.want);
    expect_error(r, "engine says no");
  }
  engine_.fail_next(Error{ErrorCode::kUnavailable, "store is down"});
  Reply r = perform(c, "GET", "/v1/groups/web/decisions", "", "");
  EXPECT_EQ(r.status, 503);
  expect_error(r, "store is down");
}

TEST_F(ApiTest, HealthReportsUnhealthy) {
  engine_.set_healthy(false);
  auto c = client();
  Reply r = perform(c, "GET", "/v1/health", "", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.parsed["status"], "unhealthy");
}

TEST_F(ApiTest, ServesConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto c = client();
      for (int i = 0; i < 25; ++i) {
        auto r = c.Get(i % 2 ? "/v1/groups" : "/v1/groups/web/decisions?limit=3");
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST(ApiServerNoToken, MutatingCallsAreRefused) {
  FakeEngine engine;
  testing::add_sample_groups(engine, kNow);
  ManualClock clock(kNow);
  ApiServer server(engine, ApiOptions{}, clock);
  ASSERT_TRUE(server.start("127.0.0.1:0").has_value());
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(std::chrono::seconds(5));
  for (const char* auth : {"", "Bearer ", "Bearer anything"}) {
    SCOPED_TRACE(auth);
    Reply r = perform(c, "POST", "/v1/groups/web/pause", "", auth);
    EXPECT_EQ(r.status, 403);
    expect_error(r, "no API token is configured (set api.token or api.token_env");
  }
  EXPECT_FALSE(engine.group("web")->flags.paused);
  // Reads still work.
  EXPECT_EQ(perform(c, "GET", "/v1/groups", "", "").status, 200);
}

TEST(ApiServerLifecycle, PortsAndErrors) {
  FakeEngine engine;
  ManualClock clock(kNow);
  ApiServer a(engine, ApiOptions{}, clock);
  ApiServer b(engine, ApiOptions{}, clock);
  EXPECT_EQ(a.port(), 0);
  ASSERT_TRUE(a.start("127.0.0.1:0").has_value());
  ASSERT_TRUE(b.start("127.0.0.1:0").has_value());
  EXPECT_NE(a.port(), b.port());
  EXPECT_FALSE(a.start("127.0.0.1:0").has_value());  // already started

  ApiServer c(engine, ApiOptions{}, clock);
  auto taken = c.start("127.0.0.1:" + std::to_string(a.port()));
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().message.find("cannot listen on 127.0.0.1:"), std::string::npos)
      << taken.error().message;

  const int port = a.port();
  a.stop();
  a.stop();  // idempotent
  EXPECT_EQ(a.port(), 0);
  httplib::Client gone("127.0.0.1", port);
  gone.set_connection_timeout(std::chrono::seconds(1));
  EXPECT_FALSE(gone.Get("/v1/health"));
  // b is unaffected; its destructor stops it.
  httplib::Client still("127.0.0.1", b.port());
  auto r = still.Get("/v1/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  ApiServer never_started(engine, ApiOptions{}, clock);
  never_started.stop();
}

TEST(ApiServerLifecycle, StalledClientDoesNotBlockOthers) {
  FakeEngine engine;
  ManualClock clock(kNow);
  ApiOptions options;
  options.threads = 1;
  options.read_timeout = std::chrono::seconds(1);
  ApiServer server(engine, options, clock);
  ASSERT_TRUE(server.start("127.0.0.1:0").has_value());
  // A client that connects and sends half a request line, then nothing.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_GT(write(fd, "GET /v1/hea", 11), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The only worker is busy with it until the read timeout frees it.
  const auto start = std::chrono::steady_clock::now();
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(std::chrono::seconds(10));
  auto r = c.Get("/v1/health");
  const auto waited = std::chrono::steady_clock::now() - start;
  close(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(ApiToken, Resolve) {
  setenv("TIDE_TEST_API_TOKEN", "from-env", 1);
  setenv("TIDE_TEST_EMPTY", "", 1);
  unsetenv("TIDE_TEST_UNSET");
  const struct {
    const char* name;
    ApiConfig config;
    std::optional<std::string> want;  // nullopt: an error
  } cases[] = {
      {"token", {"127.0.0.1:9460", "abc", ""}, "abc"},
      {"token wins over env", {"127.0.0.1:9460", "abc", "TIDE_TEST_API_TOKEN"}, "abc"},
      {"env", {"127.0.0.1:9460", "", "TIDE_TEST_API_TOKEN"}, "from-env"},
      {"neither", {"127.0.0.1:9460", "", ""}, ""},
      {"env unset", {"127.0.0.1:9460", "", "TIDE_TEST_UNSET"}, std::nullopt},
      {"env empty", {"127.0.0.1:9460", "", "TIDE_TEST_EMPTY"}, std::nullopt},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto got = resolve_api_token(tc.config);
    if (tc.want) {
      ASSERT_TRUE(got.has_value()) << got.error().message;
      EXPECT_EQ(*got, *tc.want);
    } else {
      ASSERT_FALSE(got.has_value());
      EXPECT_NE(got.error().message.find(tc.config.token_env), std::string::npos);
    }
  }
}

TEST(ApiListen, ParseAddress) {
  const struct {
    const char* text;
    std::optional<std::pair<std::string, int>> want;
  } cases[] = {
      {"127.0.0.1:9460", std::pair<std::string, int>{"127.0.0.1", 9460}},
      {"0.0.0.0:0", std::pair<std::string, int>{"0.0.0.0", 0}},
      {"localhost:80", std::pair<std::string, int>{"localhost", 80}},
      {"[::1]:9460", std::pair<std::string, int>{"::1", 9460}},
      {"127.0.0.1", std::nullopt},
      {":9460", std::nullopt},
      {"127.0.0.1:", std::nullopt},
      {"127.0.0.1:65536", std::nullopt},
      {"127.0.0.1:-1", std::nullopt},
      {"::1:9460", std::nullopt},
      {"[::1]9460", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.text);
    auto got = parse_listen_address(tc.text);
    if (tc.want) {
      ASSERT_TRUE(got.has_value()) << got.error().message;
      EXPECT_EQ(*got, *tc.want);
    } else {
      ASSERT_FALSE(got.has_value());
      EXPECT_NE(got.error().message.find("expected HOST:PORT"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace tide
