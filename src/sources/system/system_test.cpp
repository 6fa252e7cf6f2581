#include "sources/system/system.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tide {
namespace {

using std::chrono::milliseconds;

struct StatCase {
  const char* name;
  const char* text;
  unsigned long long busy, total;
};

class ProcStatTest : public ::testing::TestWithParam<StatCase> {};

TEST_P(ProcStatTest, Parses) {
  auto r = parse_proc_stat(GetParam().text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->busy, GetParam().busy);
  EXPECT_EQ(r->total, GetParam().total);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProcStatTest,
    ::testing::Values(
        // user nice system idle iowait irq softirq steal guest guest_nice
        StatCase{"modern_kernel",
                 "cpu  100 10 50 800 20 5 5 10 7 3\ncpu0 50 5 25 400 10 2 3 5 0 0\nintr 1 2\n", 180,
                 1000},
        StatCase{"old_kernel_four_fields", "cpu 10 0 10 80\n", 20, 100},
        StatCase{"cpu_line_not_first", "intr 5\ncpu 1 1 1 1 1 1 1 1\n", 6, 8}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProcStatTest, Errors) {
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4\n").has_value());
  EXPECT_FALSE(parse_proc_stat("cpu 1 2 x 4\n").has_value());
  EXPECT_FALSE(parse_proc_stat("cpu 1 2\n").has_value());
}

struct MemCase {
  const char* name;
  const char* text;
  double want;
};

class MeminfoTest : public ::testing::TestWithParam<MemCase> {};

TEST_P(MeminfoTest, Parses) {
  auto r = parse_meminfo_used_percent(GetParam().text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_DOUBLE_EQ(*r, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MeminfoTest,
    ::testing::Values(MemCase{"available",
                              "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n", 75},
                      MemCase{"old_kernel_without_available",
                              "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n"
                              "SReclaimable: 50 kB\n",
                              60},
                      MemCase{"all_free", "MemTotal: 1000 kB\nMemAvailable: 1000 kB\n", 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MeminfoTest, Errors) {
  EXPECT_FALSE(parse_meminfo_used_percent("MemFree: 1 kB\n").has_value());
  EXPECT_FALSE(parse_meminfo_used_percent("MemTotal: 10 kB\n").has_value());
}

TEST(LoadavgTest, ParsesAndRejects) {
  auto r = parse_loadavg("0.52 1.05 2.00 3/467 12345\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0], 0.52);
  EXPECT_EQ((*r)[1], 1.05);
  EXPECT_EQ((*r)[2], 2.0);
  EXPECT_FALSE(parse_loadavg("0.5 1.0\n").has_value());
  EXPECT_FALSE(parse_loadavg("a b c\n").has_value());
}

// A fake procfs in a temporary directory.
class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tide-proc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    write("stat", "cpu 100 0 100 800 0 0 0 0\n");
    write("meminfo", "MemTotal: 2000 kB\nMemAvailable: 500 kB\n");
    write("loadavg", "1.50 0.75 0.25 1/100 42\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const char* name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  double read_one(Source& src, const char* name, Duration timeout = seconds(2)) {
    auto q = src.prepare({{"name", name}});
    EXPECT_TRUE(q.has_value());
    auto r = src.read(*q, {}, TimePoint(seconds(5)), timeout);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    if (!r || r->size() != 1) return -1;
    EXPECT_EQ((*r)[0].at, TimePoint(seconds(5)));
    EXPECT_EQ((*r)[0].instance, "");
    return (*r)[0].value;
  }
  std::filesystem::path dir_;
};

TEST_F(FakeProc, CpuIsTheBusyShareBetweenReadings) {
  auto src = make_system_source(dir_.string(), milliseconds(0));
  write("stat", "cpu 150 0 150 900 0 0 0 0\n");  // +100 busy of +200 total
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 50);
  write("stat", "cpu 150 0 160 990 0 0 0 0\n");  // +10 busy of +100
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 10);
  // No time has passed (same counters): the last value stands.
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 10);
}

TEST_F(FakeProc, CpuWithinTheMinimumIntervalReturnsTheLastValue) {
  auto src = make_system_source(dir_.string(), milliseconds(100));
  write("stat", "cpu 200 0 100 900 0 0 0 0\n");
  // The first read waits until the interval has passed since creation.
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 50);
  write("stat", "cpu 300 0 100 900 0 0 0 0\n");
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 50) << "too soon for a new value";
  std::this_thread::sleep_for(milliseconds(120));
  EXPECT_DOUBLE_EQ(read_one(*src, "cpu"), 100);
}

TEST_F(FakeProc, CpuFirstReadTimesOutWhenCountersDoNotMove) {
  auto src = make_system_source(dir_.string(), milliseconds(0));
  auto q = src->prepare({{"name", "cpu"}});
  auto start = std::chrono::steady_clock::now();
  auto r = src->read(*q, {}, TimePoint{}, milliseconds(200));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(FakeProc, MemoryAndLoad) {
  auto src = make_system_source(dir_.string(), milliseconds(0));
  EXPECT_DOUBLE_EQ(read_one(*src, "memory"), 75);
  EXPECT_DOUBLE_EQ(read_one(*src, "load1"), 1.5);
  EXPECT_DOUBLE_EQ(read_one(*src, "load5"), 0.75);
  EXPECT_DOUBLE_EQ(read_one(*src, "load15"), 0.25);
  EXPECT_FALSE(src->prepare({{"name", "disk"}}).has_value());
}

TEST_F(FakeProc, MissingFilesAreErrors) {
  auto src = make_system_source((dir_ / "nope").string(), milliseconds(0));
  auto q = src->prepare({{"name", "memory"}});
  auto r = src->read(*q, {}, TimePoint{}, seconds(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("cannot read"), std::string::npos);
}

TEST(SystemSourceTest, ReadsThisHost) {
  auto src = make_system_source(SourceSpec{.name = "system", .type = "system"});
  ASSERT_TRUE(src.has_value());
  for (const char* name : {"cpu", "memory", "load1"}) {
    auto q = (*src)->prepare({{"name", name}});
    ASSERT_TRUE(q.has_value());
    auto r = (*src)->read(*q, {}, TimePoint{}, seconds(3));
    ASSERT_TRUE(r.has_value()) << name << ": " << r.error().message;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_GE((*r)[0].value, 0) << name;
    if (std::string(name) != "load1") {
      EXPECT_LE((*r)[0].value, 100) << name;
    }
  }
}

}  // namespace
}  // namespace tide
