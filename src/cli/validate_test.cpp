#include "cli/validate.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tide::cli {
namespace {

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tide-validate-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

constexpr const char* kGood = R"y(groups:
  - name: web
    interval: 30s
    target: { type: static }
    min: 2
    max: 12
    policies:
      - type: target-tracking
        metric: { source: system, name: cpu }
        target: 60
      - { type: scheduled, cron: "0 8 * * *", duration: 10h, min: 4 }
)y";

TEST_F(ValidateTest, SummaryPerGroup) {
  std::string file = write("good.yaml", kGood);
  std::ostringstream out, err;
  EXPECT_EQ(run_validate({file}, false, out, err), 0);
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(out.str(), file +
                           ": ok, 1 group, 1 source\n"
                           "  web: target static, capacity 2..12, every 30s, policies: "
                           "target-tracking, scheduled\n");
}

TEST_F(ValidateTest, EveryErrorAsFileLineColumn) {
  std::string file = write("bad.yaml", "groups:\n  - name: web\n    min: x\n    maxx: 3\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_validate({file}, false, out, err), 1);
  EXPECT_EQ(out.str(), "");
  std::string e = err.str();
  EXPECT_NE(e.find(file + ":2:5: error: missing required key 'target' in group\n"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find(file + ":3:10: error: min: expected a whole number, got 'x'\n"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find(file + ":4:5: error: unknown key 'maxx' in group (did you mean 'max'?)\n"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find(file + ": 5 errors\n"), std::string::npos) << e;
}

TEST_F(ValidateTest, JsonReport) {
  std::string good = write("good.yaml", kGood);
  std::string bad = write("bad.yaml", "groups: 3\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_validate({good, bad}, true, out, err), 1);
  auto report = nlohmann::json::parse(out.str());
  EXPECT_EQ(report["ok"], false);
  ASSERT_EQ(report["files"].size(), 2u);
  EXPECT_EQ(report["files"][0]["ok"], true);
  EXPECT_EQ(report["files"][0]["groups"][0]["name"], "web");
  EXPECT_EQ(report["files"][0]["groups"][0]["interval"], "30s");
  EXPECT_EQ(report["files"][0]["sources"][0]["implicit"], true);
  EXPECT_EQ(report["files"][1]["ok"], false);
  EXPECT_EQ(report["files"][1]["errors"][0]["line"], 1);
  EXPECT_EQ(report["files"][1]["errors"][0]["column"], 9);
}

TEST_F(ValidateTest, MissingFileAndNoFiles) {
  std::ostringstream out, err;
  EXPECT_EQ(run_validate({(dir_ / "nope.yaml").string()}, false, out, err), 1);
  EXPECT_NE(err.str().find("nope.yaml: error: cannot read the config"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(run_validate({}, false, out2, err2), 1);
}

}  // namespace
}  // namespace tide::cli
