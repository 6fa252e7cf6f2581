#include "sources/static/static.hpp"

#include <gtest/gtest.h>

namespace tide {
namespace {

std::unique_ptr<Source> make(nlohmann::json params) {
  auto s =
      make_static_source(SourceSpec{.name = "s", .type = "static", .params = std::move(params)});
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

double read_at(Source& src, int q, TimePoint t) {
  auto r = src.read(q, {}, t, seconds(1));
  EXPECT_TRUE(r.has_value());
  if (!r || r->size() != 1) return -1;
  EXPECT_EQ((*r)[0].at, t);
  EXPECT_EQ((*r)[0].instance, "");
  return (*r)[0].value;
}

TEST(StaticSourceTest, FixedValueAndPerQueryOverride) {
  auto src = make({{"value", 7.5}});
  int q = *src->prepare(nlohmann::json::object());
  int o = *src->prepare({{"value", 3}});
  EXPECT_EQ(read_at(*src, q, TimePoint(seconds(1))), 7.5);
  EXPECT_EQ(read_at(*src, o, TimePoint(seconds(1))), 3);
  EXPECT_FALSE(src->read(5, {}, TimePoint{}, seconds(1)).has_value());
}

struct SeriesCase {
  const char* name;
  long long at_s;  // seconds after the first read
  double want;
};

class StaticSeriesTest : public ::testing::TestWithParam<SeriesCase> {};

TEST_P(StaticSeriesTest, ReplaysOneValuePerStepAndCycles) {
  auto src = make({{"series", {10, 20, 30}}, {"step", 15000}});
  int q = *src->prepare(nlohmann::json::object());
  const TimePoint first = from_unix_seconds(1'700'000'000);
  EXPECT_EQ(read_at(*src, q, first), 10);
  EXPECT_EQ(read_at(*src, q, first + seconds(GetParam().at_s)), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StaticSeriesTest,
    ::testing::Values(SeriesCase{"start", 0, 10}, SeriesCase{"within_first_step", 14, 10},
                      SeriesCase{"second_step", 15, 20}, SeriesCase{"third_step", 44, 30},
                      SeriesCase{"cycles", 45, 10}, SeriesCase{"cycles_again", 110, 20},
                      SeriesCase{"before_first_read", -30, 10}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(StaticSourceTest, DefaultStepIs15s) {
  auto src = make({{"series", {1, 2}}});
  int q = *src->prepare(nlohmann::json::object());
  EXPECT_EQ(read_at(*src, q, TimePoint(seconds(100))), 1);
  EXPECT_EQ(read_at(*src, q, TimePoint(seconds(114))), 1);
  EXPECT_EQ(read_at(*src, q, TimePoint(seconds(115))), 2);
}

TEST(StaticSourceTest, ConfigErrors) {
  auto spec = [](nlohmann::json p) {
    return SourceSpec{.name = "s", .type = "static", .params = std::move(p)};
  };
  EXPECT_FALSE(make_static_source(spec(nlohmann::json::object())).has_value());
  EXPECT_FALSE(make_static_source(spec({{"series", nlohmann::json::array()}})).has_value());
  EXPECT_FALSE(make_static_source(spec({{"value", 1}, {"series", {1}}})).has_value());
  EXPECT_FALSE(make_static_source(spec({{"series", {1}}, {"step", 0}})).has_value());
}

}  // namespace
}  // namespace tide
