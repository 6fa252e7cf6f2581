#include "sources/single_flight.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace tide {
namespace {

using std::chrono::milliseconds;

TEST(SingleFlightTest, ConcurrentCallersShareOneFetch) {
  SingleFlight<int> flight(milliseconds(0));
  std::atomic<int> fetches{0};
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      auto r = flight.get("k", seconds(2), "test", [&]() -> Result<int> {
        ++fetches;
        std::this_thread::sleep_for(milliseconds(200));
        return 7;
      });
      if (r && *r == 7) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(flight.fetches(), 1u);
  EXPECT_EQ(flight.shared(), 9u);
}

TEST(SingleFlightTest, ResultsAreReusedWithinTheWindowOnly) {
  SingleFlight<int> flight(milliseconds(100));
  int n = 0;
  auto fetch = [&]() -> Result<int> { return ++n; };
  EXPECT_EQ(*flight.get("k", seconds(1), "t", fetch), 1);
  EXPECT_EQ(*flight.get("k", seconds(1), "t", fetch), 1);
  EXPECT_EQ(*flight.get("other", seconds(1), "t", fetch), 2);
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(*flight.get("k", seconds(1), "t", fetch), 3);
}

TEST(SingleFlightTest, ErrorsAreNotCached) {
  SingleFlight<int> flight(seconds(60));
  int n = 0;
  auto fetch = [&]() -> Result<int> {
    if (++n == 1) return fail(ErrorCode::kUnavailable, "down");
    return n;
  };
  EXPECT_FALSE(flight.get("k", seconds(1), "t", fetch).has_value());
  EXPECT_EQ(*flight.get("k", seconds(1), "t", fetch), 2);
  EXPECT_EQ(*flight.get("k", seconds(1), "t", fetch), 2);
}

TEST(SingleFlightTest, AWaiterGivesUpAtItsOwnTimeout) {
  SingleFlight<int> flight(milliseconds(0));
  std::thread owner([&] {
    flight.get("k", seconds(2), "t", []() -> Result<int> {
      std::this_thread::sleep_for(milliseconds(1500));
      return 1;
    });
  });
  std::this_thread::sleep_for(milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  auto r = flight.get("k", milliseconds(100), "query 'x'", []() -> Result<int> { return 2; });
  auto took = std::chrono::steady_clock::now() - start;
  owner.join();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(r.error().message, "query 'x': timed out after 100ms waiting for a shared request");
  EXPECT_LT(took, milliseconds(1200));  // the owner is busy until ~1450 ms after start
}

TEST(SingleFlightTest, AThrowingFetchBecomesAnError) {
  SingleFlight<int> flight(milliseconds(0));
  auto r =
      flight.get("k", seconds(1), "t", []() -> Result<int> { throw std::runtime_error("boom"); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "t: boom");
}

}  // namespace
}  // namespace tide
