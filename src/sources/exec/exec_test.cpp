#include "sources/exec/exec.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "targets/process.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;

struct SplitCase {
  const char* name;
  const char* command;
  std::vector<std::string> want;
};

class SplitCommandTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitCommandTest, Splits) {
  auto r = split_command(GetParam().command);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SplitCommandTest,
    ::testing::Values(
        SplitCase{
            "words", "redis-cli -p 6379 llen jobs", {"redis-cli", "-p", "6379", "llen", "jobs"}},
        SplitCase{"extra_blanks", "  a \t b  ", {"a", "b"}},
        SplitCase{"single_quotes", "echo 'a b' 'it''s'", {"echo", "a b", "its"}},
        SplitCase{"double_quotes", R"(echo "a \"b\" \\ \$x \n")", {"echo", R"(a "b" \ $x \n)"}},
        SplitCase{"backslash_outside", R"(echo a\ b \'c)", {"echo", "a b", "'c"}},
        SplitCase{"adjacent_parts", R"(x'a'"b"c)", {"xabc"}},
        SplitCase{"empty_quoted_word", "echo '' x", {"echo", "", "x"}},
        SplitCase{"no_expansion", "echo $HOME *", {"echo", "$HOME", "*"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SplitCommandTest, Errors) {
  EXPECT_FALSE(split_command("echo 'open").has_value());
  EXPECT_FALSE(split_command("echo \"open").has_value());
  EXPECT_FALSE(split_command("echo \\").has_value());
  EXPECT_FALSE(split_command("   ").has_value());
}

struct OutputCase {
  const char* name;
  const char* out;
  std::optional<double> want;
};

class ParseCommandOutputTest : public ::testing::TestWithParam<OutputCase> {};

TEST_P(ParseCommandOutputTest, Parses) {
  auto r = parse_command_output(GetParam().out);
  ASSERT_EQ(r.has_value(), GetParam().want.has_value());
  if (r) {
    EXPECT_EQ(*r, *GetParam().want);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseCommandOutputTest,
                         ::testing::Values(OutputCase{"plain", "42\n", 42},
                                           OutputCase{"blanks", "  -1.5e2 \r\n\n", -150},
                                           OutputCase{"last_line_counts", "log line\n7\n", 7},
                                           OutputCase{"empty", "", std::nullopt},
                                           OutputCase{"words", "seven\n", std::nullopt},
                                           OutputCase{"number_then_text", "7 items", std::nullopt},
                                           OutputCase{"nan", "nan\n", std::nullopt}),
                         [](const auto& info) { return std::string(info.param.name); });

std::unique_ptr<Source> make(nlohmann::json params = nlohmann::json::object()) {
  auto s = make_exec_source(SourceSpec{.name = "cmd", .type = "exec", .params = std::move(params)});
  EXPECT_TRUE(s.has_value());
  return std::move(*s);
}

Result<std::vector<Sample>> run(Source& src, nlohmann::json query, Duration timeout = seconds(5)) {
  auto q = src.prepare(query);
  if (!q) return std::unexpected(q.error());
  return src.read(*q, {}, TimePoint(seconds(9)), timeout);
}

TEST(ExecSourceTest, ReadsTheNumberACommandPrints) {
  auto src = make();
  auto r = run(*src, {{"command", "echo 42"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 42);
  EXPECT_EQ((*r)[0].at, TimePoint(seconds(9)));
  // Without a shell, shell syntax is just words.
  r = run(*src, {{"command", "echo 1 | wc -l"}});
  ASSERT_FALSE(r.has_value());
  r = run(*src, {{"command", "echo 1 2 3 | wc -w"}, {"shell", true}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 3);
}

TEST(ExecSourceTest, EnvironmentAndWorkingDirectory) {
  auto dir = std::filesystem::temp_directory_path() / ("tide-exec-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "value.txt") << "17\n";
  auto src = make({{"env", {{"TIDE_TEST_VALUE", "5"}}}, {"working_dir", dir.string()}});
  auto r = run(*src, {{"command", "cat value.txt"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 17);
  r = run(*src, {{"command", "echo $((TIDE_TEST_VALUE * 2))"}, {"shell", true}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 10);
  std::filesystem::remove_all(dir);
}

TEST(ExecSourceTest, NonZeroExitCarriesStderr) {
  auto src = make();
  auto r =
      run(*src, {{"command", "echo partial; echo 'redis down: connection refused' >&2; exit 3"},
                 {"shell", true}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "exec: '/bin/sh' exited with status 3: redis down: connection refused");
}

TEST(ExecSourceTest, ErrorsNameOnlyTheProgram) {
  auto src = make();
  auto r = run(*src, {{"command", "sh -c 'exit 1' --password=hunter2"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  r = run(*src, {{"command", "/nonexistent/tool --token=abc"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "exec: cannot run '/nonexistent/tool': not found");
  r = run(*src, {{"command", "echo not-a-number"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not a number: 'not-a-number'"), std::string::npos)
      << r.error().message;
}

TEST(ExecSourceTest, ATimeoutKillsTheWholeProcessGroup) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tide-exec-pg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto pidfile = (dir / "child.pid").string();
  auto src = make({{"timeout", 300}});
  auto start = std::chrono::steady_clock::now();
  auto r =
      run(*src, {{"command", "sleep 30 & echo $! > " + pidfile + "; sleep 30"}, {"shell", true}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(r.error().message, "exec: '/bin/sh' timed out after 300ms and was killed");
  EXPECT_LT(took, milliseconds(1500));
  // The background sleep was in the command's process group: it is gone too.
  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  ASSERT_GT(child, 0);
  // Gone: no such process, or a zombie waiting for a reaper (killed, but PID 1 may be slow).
  auto gone_or_zombie = [](pid_t pid) {
    auto st = proc::read_proc_stat(pid);
    return !st || st->ended();
  };
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = gone_or_zombie(child);
    if (!gone) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone) << "pid " << child << " survived";
  std::filesystem::remove_all(dir);
}

TEST(ExecSourceTest, QueryTimeoutAndReadTimeout) {
  auto src = make({{"timeout", 10000}});
  auto start = std::chrono::steady_clock::now();
  auto r = run(*src, {{"command", "sleep 5"}, {"timeout", 200}});
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  start = std::chrono::steady_clock::now();
  r = run(*src, {{"command", "sleep 5"}}, milliseconds(200));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST(ExecSourceTest, BackgroundChildHoldingStdoutDoesNotBlock) {
  auto src = make();
  auto start = std::chrono::steady_clock::now();
  auto r = run(*src, {{"command", "echo 5; sleep 10 &"}, {"shell", true}}, seconds(5));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 5);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST(ExecSourceTest, ChildrenGetDefaultSignalsEvenWhenTideIgnoresSigpipe) {
  struct sigaction old {};
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  auto src = make();
  // `yes` dies of SIGPIPE when head exits; with SIGPIPE ignored it would spin until the timeout.
  auto start = std::chrono::steady_clock::now();
  auto r = run(*src, {{"command", "yes 1 | head -n 3 | wc -l"}, {"shell", true}}, seconds(5));
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST(ExecSourceTest, SafeFromSeveralThreads) {
  auto src = make();
  std::vector<int> handles;
  for (int i = 0; i < 4; ++i) {
    handles.push_back(*src->prepare({{"command", "echo " + std::to_string(i)}}));
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      int h = handles[static_cast<std::size_t>(i % 4)];
      auto r = src->read(h, {}, TimePoint{}, seconds(5));
      if (r && r->size() == 1 && (*r)[0].value == i % 4) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
}

}  // namespace
}  // namespace tide
