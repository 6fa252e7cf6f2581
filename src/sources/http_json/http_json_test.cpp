#include "sources/http_json/http_json.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "sources/testing/fake_http.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// The example document of RFC 6901 section 5.
const json kRfcDoc = json::parse(R"({
  "foo": ["bar", "baz"],
  "": 0,
  "a/b": 1,
  "c%d": 2,
  "e^f": 3,
  "g|h": 4,
  "i\\j": 5,
  "k\"l": 6,
  " ": 7,
  "m~n": 8
})");

struct PointerCase {
  const char* name;
  const char* pointer;
  json want;
};

class JsonPointerTest : public ::testing::TestWithParam<PointerCase> {};

TEST_P(JsonPointerTest, ResolvesTheRfcExamples) {
  auto r = resolve_json_pointer(kRfcDoc, GetParam().pointer);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(**r, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    RFC6901, JsonPointerTest,
    ::testing::Values(PointerCase{"whole_document", "", kRfcDoc},
                      PointerCase{"member", "/foo", json{"bar", "baz"}},
                      PointerCase{"index", "/foo/0", "bar"}, PointerCase{"empty_key", "/", 0},
                      PointerCase{"escaped_slash", "/a~1b", 1}, PointerCase{"percent", "/c%d", 2},
                      PointerCase{"caret", "/e^f", 3}, PointerCase{"pipe", "/g|h", 4},
                      PointerCase{"backslash", "/i\\j", 5}, PointerCase{"quote", "/k\"l", 6},
                      PointerCase{"space", "/ ", 7}, PointerCase{"escaped_tilde", "/m~0n", 8}),
    [](const auto& info) { return std::string(info.param.name); });

struct PointerErrorCase {
  const char* name;
  const char* doc;
  const char* pointer;
  ErrorCode code;
  const char* want;
};

class JsonPointerErrorTest : public ::testing::TestWithParam<PointerErrorCase> {};

TEST_P(JsonPointerErrorTest, Fails) {
  const PointerErrorCase& c = GetParam();
  auto r = resolve_json_pointer(json::parse(c.doc), c.pointer);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, c.code);
  EXPECT_NE(r.error().message.find(c.want), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonPointerErrorTest,
    ::testing::Values(
        PointerErrorCase{"no_leading_slash", "{}", "a", ErrorCode::kInvalidArgument,
                         "must be empty or start with '/'"},
        PointerErrorCase{"bad_escape", R"({"a~2":1})", "/a~2", ErrorCode::kInvalidArgument,
                         "'~' must be followed by 0 or 1"},
        PointerErrorCase{"trailing_tilde", "{}", "/a~", ErrorCode::kInvalidArgument,
                         "'~' must be followed by 0 or 1"},
        PointerErrorCase{"missing_member", R"({"queue":{"depth":1}})", "/queue/size",
                         ErrorCode::kNotFound, "no member 'size' in the object at '/queue'"},
        PointerErrorCase{"index_past_end", "[1,2]", "/2", ErrorCode::kNotFound,
                         "index 2 is past the end"},
        PointerErrorCase{"dash_index", "[1,2]", "/-", ErrorCode::kNotFound, "'-' is not an index"},
        PointerErrorCase{"leading_zero_index", "[1,2]", "/01", ErrorCode::kNotFound,
                         "'01' is not an index"},
        PointerErrorCase{"negative_index", "[1,2]", "/-1", ErrorCode::kNotFound,
                         "'-1' is not an index"},
        PointerErrorCase{"into_a_scalar", R"({"a":5})", "/a/b", ErrorCode::kNotFound,
                         "is a number, not an object or array"}),
    [](const auto& info) { return std::string(info.param.name); });

struct NumberCase {
  const char* name;
  json value;
  std::optional<double> want;
};

class JsonToNumberTest : public ::testing::TestWithParam<NumberCase> {};

TEST_P(JsonToNumberTest, Converts) {
  auto r = json_to_number(GetParam().value);
  ASSERT_EQ(r.has_value(), GetParam().want.has_value()) << (r ? "" : r.error().message);
  if (r) {
    EXPECT_EQ(*r, *GetParam().want);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonToNumberTest,
                         ::testing::Values(NumberCase{"integer", 42, 42},
                                           NumberCase{"float", -1.5, -1.5},
                                           NumberCase{"string_integer", "17", 17},
                                           NumberCase{"string_float_with_blanks", " 2.5e1 ", 25},
                                           NumberCase{"string_plus", "+3", 3},
                                           NumberCase{"string_words", "lots", std::nullopt},
                                           NumberCase{"string_nan", "NaN", std::nullopt},
                                           NumberCase{"string_empty", "", std::nullopt},
                                           NumberCase{"bool", true, std::nullopt},
                                           NumberCase{"null", nullptr, std::nullopt},
                                           NumberCase{"object", json::object(), std::nullopt}),
                         [](const auto& info) { return std::string(info.param.name); });

class HttpJsonSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Get("/api/stats", [this](const httplib::Request& req, httplib::Response& res) {
      ++fake_.hits;
      auth_ = req.get_header_value("Authorization");
      res.set_content(
          R"({"queue":{"depth":12,"workers":"3"},"items":[{"n":1.5}],"name":"x","flag":true})",
          "application/json");
    });
    fake_.server().Get("/api/broken", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{not json", "application/json");
    });
    fake_.server().Get("/api/down", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("maintenance", "text/plain");
    });
    fake_.server().Get("/api/slow", [this](const httplib::Request&, httplib::Response& res) {
      fake_.sleep(milliseconds(3000));
      res.set_content("{}", "application/json");
    });
    fake_.start();
    auto s = make_http_json_source(SourceSpec{
        .name = "app",
        .type = "http-json",
        .params = {{"url", fake_.url("/api/")}, {"headers", {{"Authorization", "Bearer t"}}}}});
    ASSERT_TRUE(s.has_value()) << s.error().message;
    src_ = std::move(*s);
  }

  Result<std::vector<Sample>> read(const std::string& path, const std::string& pointer,
                                   Duration timeout = seconds(2)) {
    auto q = src_->prepare({{"path", path}, {"pointer", pointer}});
    if (!q) return std::unexpected(q.error());
    return src_->read(*q, {}, TimePoint(seconds(100)), timeout);
  }

  testing::FakeHttp fake_;
  std::unique_ptr<Source> src_;
  std::string auth_;
};

TEST_F(HttpJsonSourceTest, PicksNumbersAndNumericStrings) {
  auto r = read("/stats", "/queue/depth");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 12);
  EXPECT_EQ((*r)[0].at, TimePoint(seconds(100)));
  EXPECT_EQ(auth_, "Bearer t");
  r = read("stats", "/queue/workers");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 3);
  r = read("/stats", "/items/0/n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 1.5);
  EXPECT_EQ(fake_.hits.load(), 1) << "one request serves the reads within the cache window";
}

TEST_F(HttpJsonSourceTest, ErrorsNameTheProblem) {
  auto r = read("/stats", "/name");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("JSON pointer '/name': expected a number, got the string \"x\""),
            std::string::npos)
      << r.error().message;
  r = read("/stats", "/flag");
  ASSERT_FALSE(r.has_value());
  r = read("/stats", "/queue/missing");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  r = read("/broken", "/a");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not JSON"), std::string::npos) << r.error().message;
  r = read("/down", "/a");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("HTTP 503: maintenance"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(src_->prepare({{"pointer", "a"}}).has_value());
}

TEST_F(HttpJsonSourceTest, ASlowServerIsATimeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = read("/slow", "/a", milliseconds(300));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

}  // namespace
}  // namespace tide
