// Unit tests of the redis source without a server: URL parsing and failure paths. The source
// against a real redis-server is tested in tests/integration/sources_test.cpp.
#include "sources/redis/redis.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace tide {
namespace {

using std::chrono::milliseconds;

struct UrlCase {
  const char* name;
  const char* url;
  RedisAddress want;
};

class ParseRedisUrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(ParseRedisUrlTest, Parses) {
  auto r = parse_redis_url(GetParam().url);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const RedisAddress& w = GetParam().want;
  EXPECT_EQ(r->unix_socket, w.unix_socket);
  EXPECT_EQ(r->host, w.host);
  EXPECT_EQ(r->port, w.port);
  EXPECT_EQ(r->path, w.path);
  EXPECT_EQ(r->user, w.user);
  EXPECT_EQ(r->password, w.password);
  EXPECT_EQ(r->db, w.db);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseRedisUrlTest,
    ::testing::Values(
        UrlCase{"host_only", "redis://cache", {.host = "cache"}},
        UrlCase{"host_port_db", "redis://127.0.0.1:6380/2", {.port = 6380, .db = 2}},
        UrlCase{"trailing_slash", "redis://h:1/", {.host = "h", .port = 1}},
        UrlCase{"password_only", "redis://:s3cret@h", {.host = "h", .password = "s3cret"}},
        UrlCase{"legacy_password", "redis://s3cret@h", {.host = "h", .password = "s3cret"}},
        UrlCase{"user_and_password",
                "redis://app:p%40ss@h:7/1",
                {.host = "h", .port = 7, .user = "app", .password = "p@ss", .db = 1}},
        UrlCase{"ipv6", "redis://[::1]:6390", {.host = "::1", .port = 6390}},
        UrlCase{"unix_socket",
                "unix:///run/redis.sock",
                {.unix_socket = true, .path = "/run/redis.sock"}},
        UrlCase{"unix_socket_db",
                "unix:///run/redis.sock?db=3",
                {.unix_socket = true, .path = "/run/redis.sock", .db = 3}}),
    [](const auto& info) { return std::string(info.param.name); });

struct BadUrlCase {
  const char* name;
  const char* url;
  const char* want;
};

class ParseRedisUrlErrorTest : public ::testing::TestWithParam<BadUrlCase> {};

TEST_P(ParseRedisUrlErrorTest, Rejects) {
  auto r = parse_redis_url(GetParam().url);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(GetParam().want), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseRedisUrlErrorTest,
    ::testing::Values(BadUrlCase{"tls", "rediss://h:6379", "no TLS"},
                      BadUrlCase{"scheme", "http://h", "expected redis://"},
                      BadUrlCase{"port", "redis://h:99999", "invalid port"},
                      BadUrlCase{"db", "redis://h/x", "invalid database number"},
                      BadUrlCase{"no_host", "redis://:1", "no host"},
                      BadUrlCase{"relative_unix", "unix://run/redis.sock", "absolute path"}),
    [](const auto& info) { return std::string(info.param.name); });

// A loopback port with nothing listening, and one that listens but never answers.
int bind_loopback(bool listen_too) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (listen_too) ::listen(fd, 16);
  return fd;
}

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::unique_ptr<Source> make(const std::string& url, nlohmann::json extra = {}) {
  nlohmann::json params = {{"url", url}};
  if (extra.is_object()) params.update(extra);
  auto s = make_redis_source(SourceSpec{.name = "jobs", .type = "redis", .params = params});
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

TEST(RedisSourceTest, NobodyListeningIsAFastError) {
  int fd = bind_loopback(false);  // bound, not listening: connections are refused
  auto src = make("redis://127.0.0.1:" + std::to_string(port_of(fd)));
  auto q = src->prepare({{"key", "jobs"}});
  ASSERT_TRUE(q.has_value());
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, {}, TimePoint{}, seconds(2));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("connect to 127.0.0.1:"), std::string::npos)
      << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  ::close(fd);
}

TEST(RedisSourceTest, AServerThatNeverAnswersTimesOut) {
  int fd = bind_loopback(true);  // the kernel accepts; nobody ever replies
  auto src = make("redis://127.0.0.1:" + std::to_string(port_of(fd)), {{"timeout", 1000}});
  auto q = src->prepare({{"key", "jobs"}, {"kind", "stream"}});
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, {}, TimePoint{}, seconds(5));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().message;
  EXPECT_GE(took, milliseconds(950));
  EXPECT_LT(took, milliseconds(2500));
  // The read's own timeout wins when it is shorter.
  start = std::chrono::steady_clock::now();
  r = src->read(*q, {}, TimePoint{}, milliseconds(100));
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(700));  // not the source's 1 s
  ::close(fd);
}

TEST(RedisSourceTest, QueryAndConfigErrors) {
  auto src = make("redis://127.0.0.1:1");
  EXPECT_FALSE(src->prepare({{"key", "s"}, {"kind", "pending"}}).has_value())
      << "pending needs a group";
  EXPECT_TRUE(src->prepare({{"key", "s"}, {"kind", "pending"}, {"group", "g"}}).has_value());
  EXPECT_TRUE(src->prepare({{"key", "z"}, {"kind", "zset"}}).has_value());
  EXPECT_FALSE(src->prepare({{"key", "s"}, {"kind", "hash"}}).has_value());
  EXPECT_FALSE(src->read(99, {}, TimePoint{}, seconds(1)).has_value());

  ::unsetenv("TIDE_TEST_REDIS_PASSWORD_UNSET");
  auto bad = make_redis_source(SourceSpec{
      .name = "jobs",
      .type = "redis",
      .params = {{"url", "redis://h"}, {"password_env", "TIDE_TEST_REDIS_PASSWORD_UNSET"}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("TIDE_TEST_REDIS_PASSWORD_UNSET is not set"),
            std::string::npos);
  bad = make_redis_source(
      SourceSpec{.name = "jobs", .type = "redis", .params = {{"url", "rediss://h"}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("source 'jobs'"), std::string::npos);
}

}  // namespace
}  // namespace tide
