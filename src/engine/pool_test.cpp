#include "engine/pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace tide {
namespace {

using namespace std::chrono_literals;

// A latch the jobs block on until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

TEST(WorkerPool, GrowsOnlyWhenJobsStallAndShrinksWhenIdle) {
  WorkerPool pool(1, 4, 10ms, 100ms);
  EXPECT_EQ(pool.threads(), 0);  // no thread without work
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    pool.submit([&] {
      gate.wait();
      ++done;
    });
  }
  EXPECT_EQ(pool.threads(), 1);
  // The scheduler's stall checks add workers for the jobs stuck behind the blocked one.
  EXPECT_TRUE(eventually([&] {
    pool.check_stall();
    return pool.running() == 3;
  }));
  EXPECT_EQ(pool.threads(), 3);
  gate.release();
  pool.wait_idle();
  EXPECT_EQ(done.load(), 3);
  // Extra workers leave after `idle`; the core one stays.
  EXPECT_TRUE(eventually([&] {
    pool.check_stall();
    return pool.threads() == 1;
  }));
  pool.shutdown(false);
  EXPECT_EQ(pool.threads(), 0);
}

TEST(WorkerPool, NoStallCheckBeforeTheDelay) {
  WorkerPool pool(1, 4, 1h, 1h);
  Gate gate;
  pool.submit([&] { gate.wait(); });
  pool.submit([] {});
  auto next = pool.check_stall();
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, std::chrono::steady_clock::now() + 30min);
  EXPECT_EQ(pool.threads(), 1);
  gate.release();
  pool.wait_idle();
  EXPECT_FALSE(pool.check_stall().has_value());
}

TEST(WorkerPool, ShutdownDropsQueuedJobsAndFinishesRunningOnes) {
  WorkerPool pool(1, 1, 1h, 1h);
  Gate gate;
  std::atomic<int> ran{0};
  std::atomic<bool> started{false};
  pool.submit([&] {
    started = true;
    gate.wait();
    ++ran;
  });
  pool.submit([&] { ++ran; });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  std::thread closer([&] { pool.shutdown(false); });
  std::this_thread::sleep_for(20ms);
  gate.release();
  closer.join();
  EXPECT_EQ(ran.load(), 1);
  pool.submit([&] { ++ran; });  // ignored after shutdown
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace tide
