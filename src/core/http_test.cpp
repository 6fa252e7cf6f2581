#include "core/http.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "sources/testing/fake_http.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;
using testing_clock = std::chrono::steady_clock;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = fake_.server();
    s.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Reply", "yes");
      res.set_content("hello " + req.get_header_value("X-Name"), "text/plain");
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.get_header_value("Content-Type") + "|" + req.body, "text/plain");
    });
    s.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("put:" + req.body, "text/plain");
    });
    s.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      fake_.sleep(milliseconds(3000));
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "text/plain");
    });
    s.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("nope", "text/plain");
    });
    s.Get("/redirect",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/hello"); });
    s.Get("/auth", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("Authorization"), "text/plain");
    });
    fake_.start();
  }

  testing::FakeHttp fake_;
  HttpClient client_;
};

TEST_F(HttpClientTest, GetSendsHeadersAndReturnsStatusHeadersBody) {
  HttpRequest req;
  req.url = fake_.url("/hello");
  req.headers = {{"X-Name", "tide"}};
  auto r = client_.send(req);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->body, "hello tide");
  EXPECT_EQ(r->header("x-reply"), "yes");
  EXPECT_EQ(r->header("X-REPLY"), "yes");
  EXPECT_EQ(r->header("absent"), "");
}

TEST_F(HttpClientTest, PostAndPutSendTheBody) {
  HttpRequest req;
  req.method = "POST";
  req.url = fake_.url("/echo");
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"a":1})";
  auto r = client_.send(req);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"(application/json|{"a":1})");

  req.method = "PUT";
  req.body = "x=1";
  r = client_.send(req);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->body, "put:x=1");
}

TEST_F(HttpClientTest, NonSuccessStatusIsAResponseNotAnError) {
  HttpRequest req;
  req.url = fake_.url("/missing");
  auto r = client_.send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->body, "nope");
}

TEST_F(HttpClientTest, SlowServerTimesOutQuickly) {
  HttpRequest req;
  req.url = fake_.url("/slow");
  req.timeout = milliseconds(300);
  auto start = testing_clock::now();
  auto r = client_.send(req);
  auto took = testing_clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("timed out after 300ms"), std::string::npos)
      << r.error().message;
  EXPECT_LT(took, milliseconds(1500));
}

TEST_F(HttpClientTest, ResponseLargerThanTheLimitIsAnError) {
  HttpRequest req;
  req.url = fake_.url("/big");
  req.max_response_bytes = 1000;
  auto r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("larger than 1000 bytes"), std::string::npos)
      << r.error().message;
  req.max_response_bytes = 200000;
  r = client_.send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.size(), 100000u);
}

TEST_F(HttpClientTest, RedirectsAreFollowedOnlyWhenAsked) {
  HttpRequest req;
  req.url = fake_.url("/redirect");
  auto r = client_.send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 302);
  req.follow_redirects = true;
  r = client_.send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello ");
}

TEST_F(HttpClientTest, CredentialsInTheUrlAreUsedButNeverShown) {
  HttpRequest req;
  req.url = "http://alice:s3cret@" + fake_.address() + "/auth";
  auto r = client_.send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "Basic YWxpY2U6czNjcmV0");  // base64("alice:s3cret")

  fake_.stop();
  r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("***@127.0.0.1"), std::string::npos) << r.error().message;
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  fake_.stop();
  HttpRequest req;
  req.url = fake_.url("/hello");
  req.timeout = milliseconds(2000);
  auto start = testing_clock::now();
  auto r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(testing_clock::now() - start, milliseconds(1500));
}

TEST_F(HttpClientTest, BadRequestsAreRejectedBeforeSending) {
  HttpRequest req;
  req.url = "ftp://example.com/x";
  auto r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  req.url = fake_.url("/hello");
  req.method = "get me";
  r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  req.method = "GET";
  req.timeout = milliseconds(0);
  r = client_.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
}

TEST_F(HttpClientTest, IsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        HttpRequest req;
        req.url = fake_.url("/hello");
        req.headers = {{"X-Name", std::to_string(t)}};
        auto r = client_.send(req);
        if (r && r->body == "hello " + std::to_string(t)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 80);
  // The process-wide client works too (against a closed port: it keeps no connection open).
  fake_.stop();
  auto r = HttpClient::shared().send(HttpRequest{.url = fake_.url("/hello")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

struct RedactCase {
  const char* name;
  const char* in;
  const char* want;
};

class RedactUrlTest : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactUrlTest, Redacts) {
  EXPECT_EQ(redact_url(GetParam().in), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RedactUrlTest,
    ::testing::Values(
        RedactCase{"plain", "http://host:9090/api/v1/query", "http://host:9090/api/v1/query"},
        RedactCase{"user_and_password", "https://bob:pw@host/x", "https://***@host/x"},
        RedactCase{"user_only", "http://bob@host", "http://***@host"},
        RedactCase{"at_in_path_is_kept", "http://host/a@b", "http://host/a@b"},
        RedactCase{"secret_query_params",
                   "http://h/p?query=up&token=abc&X-Amz-Signature=f00&api_key=k#frag",
                   "http://h/p?query=up&token=***&X-Amz-Signature=***&api_key=***#frag"},
        RedactCase{"no_scheme", "not a url", "not a url"},
        RedactCase{"bare_param", "http://h/?flag&a=1", "http://h/?flag&a=1"}),
    [](const auto& info) { return std::string(info.param.name); });

struct HostPortCase {
  const char* name;
  const char* in;
  const char* want;
};

class UrlHostPortTest : public ::testing::TestWithParam<HostPortCase> {};

TEST_P(UrlHostPortTest, Extracts) {
  EXPECT_EQ(url_host_port(GetParam().in), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UrlHostPortTest,
    ::testing::Values(HostPortCase{"with_port", "http://10.0.0.1:8101/metrics", "10.0.0.1:8101"},
                      HostPortCase{"http_default", "http://host/metrics", "host:80"},
                      HostPortCase{"https_default", "https://host?x", "host:443"},
                      HostPortCase{"userinfo_dropped", "http://u:p@host:1/", "host:1"},
                      HostPortCase{"ipv6", "http://[::1]:9090/m", "[::1]:9090"},
                      HostPortCase{"ipv6_default", "http://[::1]/m", "[::1]:80"},
                      HostPortCase{"not_http", "redis://host:1", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(UrlEncodeTest, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(url_encode("sum(rate(x{a=\"b c\"}[5m]))"),
            "sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29");
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("+&/é"), "%2B%26%2F%C3%A9");
}

}  // namespace
}  // namespace tide
