#include "cli/worker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace tide::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = WorkerStats::Clock;
using Duration = std::chrono::milliseconds;

// name{labels} -> value, from the exposition text; also checks every sample has HELP and TYPE.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  std::string typed;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      typed = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    std::string key = line.substr(0, space);
    EXPECT_EQ(key.rfind(typed, 0), 0u) << "sample without its TYPE line: " << line;
    out[key] = std::stod(line.substr(space + 1));
  }
  return out;
}

struct UtilizationCase {
  const char* name;
  int concurrency;
  // (time offset, busy added at that time)
  std::vector<std::pair<Duration, Duration>> busy;
  Duration read_at;
  double want_percent;
};

class UtilizationTest : public ::testing::TestWithParam<UtilizationCase> {};

TEST_P(UtilizationTest, OverTheWindow) {
  const UtilizationCase& c = GetParam();
  const Clock::time_point t0{};
  WorkerStats stats(c.concurrency, seconds(5), 0);
  stats.sample(t0);
  for (const auto& [at, busy] : c.busy) {
    stats.add_busy(busy);
    stats.sample(t0 + at);
  }
  EXPECT_NEAR(stats.utilization_percent(t0 + c.read_at), c.want_percent, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UtilizationTest,
    ::testing::Values(
        UtilizationCase{"idle", 2, {}, seconds(5), 0},
        UtilizationCase{"no_time_yet", 2, {}, Duration::zero(), 0},
        UtilizationCase{"one_of_two_slots_busy",
                        2,
                        {{seconds(1), seconds(1)}, {seconds(2), seconds(1)}},
                        seconds(2),
                        50},
        UtilizationCase{
            "saturated",
            1,
            {{seconds(1), seconds(1)}, {seconds(2), seconds(1)}, {seconds(3), seconds(1)}},
            seconds(3),
            100},
        // Busy 6 s before the window (old samples drop out), then idle for 5 s.
        UtilizationCase{
            "old_work_leaves_the_window",
            1,
            {{seconds(3), seconds(3)}, {seconds(6), seconds(3)}, {seconds(11), Duration::zero()}},
            seconds(11),
            0},
        UtilizationCase{"half_the_window",
                        1,
                        {{seconds(5), Duration::zero()}, {seconds(10), milliseconds(2500)}},
                        seconds(10),
                        50},
        UtilizationCase{"clamped", 1, {{seconds(1), seconds(3)}}, seconds(1), 100}),
    [](const auto& info) { return info.param.name; });

TEST(WorkerStats, MetricsText) {
  WorkerStats stats(2, seconds(5), 1'700'000'000.5);
  const Clock::time_point t0{};
  stats.sample(t0);
  stats.admit();
  stats.start_work();
  stats.add_busy(milliseconds(20));
  stats.finish(0.02);
  stats.admit();
  stats.start_work();
  stats.add_busy(milliseconds(300));
  stats.finish(0.3);
  stats.admit();  // waiting
  stats.reject();
  stats.admit();
  stats.drop_admitted();

  auto m = parse(stats.metrics_text(t0 + seconds(1), 1.25));
  EXPECT_EQ(m["tide_worker_requests_total"], 2);
  EXPECT_EQ(m["tide_worker_rejected_total"], 2);
  EXPECT_EQ(m["tide_worker_in_flight"], 1);
  EXPECT_EQ(m["tide_worker_queued"], 1);
  EXPECT_EQ(m["tide_worker_concurrency"], 2);
  EXPECT_NEAR(m["tide_worker_busy_seconds_total"], 0.32, 1e-9);
  EXPECT_NEAR(m["tide_worker_utilization_percent"], 16, 1e-9);  // 0.32 s of 2 slots x 1 s
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"0.01\"}"], 0);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"0.025\"}"], 1);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"0.25\"}"], 1);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"0.5\"}"], 2);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"1\"}"], 2);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_bucket{le=\"+Inf\"}"], 2);
  EXPECT_NEAR(m["tide_worker_request_duration_seconds_sum"], 0.32, 1e-6);
  EXPECT_EQ(m["tide_worker_request_duration_seconds_count"], 2);
  EXPECT_EQ(m["process_start_time_seconds"], 1'700'000'000.5);
  EXPECT_EQ(m["process_cpu_seconds_total"], 1.25);
}

}  // namespace
}  // namespace tide::cli
