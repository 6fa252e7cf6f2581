// Engine tests with a ManualClock, fake sources and targets (registered under the config's
// `static` types) and an in-memory StateStore.
#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace tide {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = from_unix_seconds(1'800'000'000);

// ---- in-memory state store ------------------------------------------------------------------
class MemoryStore final : public StateStore {
 public:
  Result<GroupHistory> load_history(std::string_view group) override {
    std::lock_guard lock(mu_);
    auto it = histories_.find(std::string(group));
    return it == histories_.end() ? GroupHistory{} : it->second;
  }
  Result<long long> commit(std::string_view group, const GroupHistory& history,
                           const DecisionRecord& record) override {
    std::lock_guard lock(mu_);
    if (fail_commit) return fail(ErrorCode::kUnavailable, "disk full");
    DecisionRecord r = record;
    r.id = ++next_id_;
    records_.push_back(r);
    histories_[std::string(group)] = history;
    return r.id;
  }
  Result<void> set_outcome(long long id, std::string_view outcome) override {
    std::lock_guard lock(mu_);
    if (fail_set_outcome) return fail(ErrorCode::kUnavailable, "crashed");
    for (auto& r : records_) {
      if (r.id == id) {
        r.outcome = outcome;
        return {};
      }
    }
    return fail(ErrorCode::kNotFound, "no such decision");
  }
  Result<std::vector<DecisionRecord>> decisions(std::string_view group, int limit,
                                                std::optional<long long> before) override {
    std::lock_guard lock(mu_);
    std::vector<DecisionRecord> out;
    for (auto it = records_.rbegin(); it != records_.rend() && (int)out.size() < limit; ++it) {
      if (it->group == group && (!before || it->id < *before)) out.push_back(*it);
    }
    return out;
  }
  Result<std::optional<DecisionRecord>> decision(long long id) override {
    std::lock_guard lock(mu_);
    for (const auto& r : records_) {
      if (r.id == id) return std::optional<DecisionRecord>(r);
    }
    return std::optional<DecisionRecord>();
  }
  Result<GroupFlags> flags(std::string_view group) override {
    std::lock_guard lock(mu_);
    auto it = flags_.find(std::string(group));
    return it == flags_.end() ? GroupFlags{} : it->second;
  }
  Result<void> set_flags(std::string_view group, const GroupFlags& flags) override {
    std::lock_guard lock(mu_);
    flags_[std::string(group)] = flags;
    return {};
  }
  Result<std::optional<std::string>> get(std::string_view group, std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = kv_.find(std::string(group) + "\n" + std::string(key));
    if (it == kv_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<void> put(std::string_view group, std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    kv_[std::string(group) + "\n" + std::string(key)] = std::string(value);
    return {};
  }
  Result<void> prune(std::string_view, int) override { return {}; }
  Result<void> put_metric_points(std::string_view group, std::string_view series,
                                 std::span<const MetricPoint> points) override {
    std::lock_guard lock(mu_);
    auto& stored = metrics_[std::string(group) + "\n" + std::string(series)];
    for (const MetricPoint& p : points) stored[p.at] = p.value;
    return {};
  }
  Result<std::vector<MetricPoint>> metric_points(std::string_view group, std::string_view series,
                                                 TimePoint since) override {
    std::lock_guard lock(mu_);
    std::vector<MetricPoint> out;
    auto it = metrics_.find(std::string(group) + "\n" + std::string(series));
    if (it == metrics_.end()) return out;
    for (const auto& [at, value] : it->second) {
      if (at >= since) out.push_back({at, value});
    }
    return out;
  }
  Result<void> prune_metric_points(std::string_view group, std::string_view series,
                                   TimePoint before) override {
    std::lock_guard lock(mu_);
    auto it = metrics_.find(std::string(group) + "\n" + std::string(series));
    if (it != metrics_.end())
      std::erase_if(it->second, [&](const auto& e) { return e.first < before; });
    return {};
  }
  std::size_t metric_point_count(std::string_view group) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [key, points] : metrics_) {
      if (key.starts_with(std::string(group) + "\n")) n += points.size();
    }
    return n;
  }

  std::vector<DecisionRecord> all(std::string_view group) {
    std::lock_guard lock(mu_);
    std::vector<DecisionRecord> out;
    for (const auto& r : records_) {
      if (r.group == group) out.push_back(r);
    }
    return out;
  }
  GroupHistory history(std::string_view group) { return *load_history(group); }

  std::atomic<bool> fail_commit{false};
  std::atomic<bool> fail_set_outcome{false};

 private:
  std::mutex mu_;
  long long next_id_ = 0;
  std::vector<DecisionRecord> records_;
  std::map<std::string, GroupHistory> histories_;
  std::map<std::string, GroupFlags> flags_;
  std::map<std::string, std::string> kv_;
  std::map<std::string, std::map<TimePoint, double>> metrics_;
};

// ---- fake sources and targets ---------------------------------------------------------------
struct FakeSourceState {
  std::mutex mu;
  double value = 0;
  bool fail = false;
  std::vector<Sample> samples;         // when set, returned instead of `value`
  std::chrono::milliseconds delay{0};  // real time; a slow backend
  int reads = 0;
  Duration last_timeout{};
  std::vector<InstanceEndpoint> last_endpoints;
};

class FakeSource final : public Source {
 public:
  explicit FakeSource(std::shared_ptr<FakeSourceState> s) : s_(std::move(s)) {}
  Result<int> prepare(const nlohmann::json&) override { return prepared_++; }
  Result<std::vector<Sample>> read(int, const std::vector<InstanceEndpoint>& endpoints,
                                   TimePoint now, Duration timeout) override {
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(s_->mu);
      ++s_->reads;
      s_->last_timeout = timeout;
      s_->last_endpoints = endpoints;
      delay = s_->delay;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(s_->mu);
    if (s_->fail)
      return fail(ErrorCode::kTimeout, "connection to http://admin:hunter2@db timed out");
    if (!s_->samples.empty()) return s_->samples;
    return std::vector<Sample>{{s_->value, now, ""}};
  }

 private:
  std::shared_ptr<FakeSourceState> s_;
  int prepared_ = 0;
};

struct FakeTargetState {
  std::mutex mu;
  int desired = 0;
  std::vector<InstanceStatus> instances;
  int fail_scale = 0;            // fail the next N scale calls
  bool apply_then_fail = false;  // a failing call still takes effect (timeout after accepting)
  bool fail_status = false;
  std::vector<ScaleRequest> scales;
  int status_calls = 0;
  int maintain_calls = 0;
  int created = 0;
  std::function<void(const ScaleRequest&)> on_scale;
};

class FakeTarget final : public Target {
 public:
  explicit FakeTarget(std::shared_ptr<FakeTargetState> s) : s_(std::move(s)) {}
  Result<TargetStatus> status() override {
    std::lock_guard lock(s_->mu);
    ++s_->status_calls;
    if (s_->fail_status) return fail(ErrorCode::kUnavailable, "api down");
    return TargetStatus{s_->desired, s_->instances};
  }
  Result<void> scale(const ScaleRequest& request) override {
    std::function<void(const ScaleRequest&)> hook;
    {
      std::lock_guard lock(s_->mu);
      s_->scales.push_back(request);
      hook = s_->on_scale;
    }
    if (hook) hook(request);
    std::lock_guard lock(s_->mu);
    if (s_->fail_scale > 0) {
      --s_->fail_scale;
      if (s_->apply_then_fail) s_->desired = request.desired;
      return fail(ErrorCode::kUnavailable, "throttled");
    }
    s_->desired = request.desired;
    return {};
  }
  void maintain() override {
    std::lock_guard lock(s_->mu);
    ++s_->maintain_calls;
  }

 private:
  std::shared_ptr<FakeTargetState> s_;
};

struct FakeWorld {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<FakeSourceState>> sources;
  std::map<std::string, std::shared_ptr<FakeTargetState>> targets;
  SourceRegistry source_registry;
  TargetRegistry target_registry;

  std::shared_ptr<FakeSourceState> source(const std::string& name) {
    std::lock_guard lock(mu);
    auto& s = sources[name];
    if (!s) s = std::make_shared<FakeSourceState>();
    return s;
  }
  std::shared_ptr<FakeTargetState> target(const std::string& group) {
    std::lock_guard lock(mu);
    auto& t = targets[group];
    if (!t) t = std::make_shared<FakeTargetState>();
    return t;
  }

  FakeWorld() {
    // Same key schemas as the built-in `static` types, fake behaviour.
    SourceType st = *builtin_sources().find("static");
    st.create = [this](const SourceSpec& spec) -> Result<std::unique_ptr<Source>> {
      return std::make_unique<FakeSource>(source(spec.name));
    };
    source_registry.add(st);
    SourceType unimplemented = *builtin_sources().find("prometheus");
    unimplemented.create = nullptr;
    source_registry.add(unimplemented);

    TargetType tt = *builtin_targets().find("static");
    tt.create = [this](const TargetRef&,
                       const TargetContext& ctx) -> Result<std::unique_ptr<Target>> {
      auto s = target(ctx.group);
      {
        std::lock_guard lock(s->mu);
        ++s->created;
      }
      return std::make_unique<FakeTarget>(s);
    };
    target_registry.add(tt);
    TargetType asg = *builtin_targets().find("aws-asg");
    asg.create = nullptr;
    target_registry.add(asg);
  }
};

// No stabilization, no rate limits: each case isolates what the engine does.
constexpr const char* kFreeBehavior =
    "{ scale_up: { stabilization: 0s, policies: [] }, "
    "scale_down: { stabilization: 0s, policies: [] } }";

std::string group_yaml(const std::string& name, const std::string& interval,
                       const std::string& policies, const std::string& extra = "",
                       const std::string& behavior = kFreeBehavior) {
  return fmt::format(
      "  - name: {}\n    interval: {}\n    target: {{ type: static }}\n    min: 1\n    max: 20\n"
      "    policies:\n{}    behavior: {}\n{}",
      name, interval, policies, behavior, extra);
}

// target-tracking on a group total: desired = ceil(value / 10).
std::string total_policy(const std::string& source, const std::string& name = "total") {
  return fmt::format(
      "      - {{ name: {}, type: target-tracking, metric: {}, target_type: total, target: 10 "
      "}}\n",
      name, source);
}

std::string config_yaml(const std::string& groups, const std::string& top = "") {
  return "sources:\n"
         "  - { name: load, type: static, value: 0 }\n"
         "  - { name: load2, type: static, value: 0 }\n"
         "  - { name: dead, type: static, value: 0 }\n" +
         top + "groups:\n" + groups;
}

Config parse(const std::string& yaml) {
  auto c = parse_config(yaml, "test.yaml");
  if (!c) {
    std::string all;
    for (const auto& d : c.error()) all += format_diagnostic(d) + "\n";
    ADD_FAILURE() << all << yaml;
    return Config{};
  }
  return *c;
}

struct Harness {
  FakeWorld world;
  MemoryStore store;
  ManualClock clock{kStart};
  std::mutex log_mu;
  std::vector<std::string> lines;
  Logger logger{LogFormat::kLogfmt, LogLevel::kDebug,
                [this](std::string_view l) {
                  std::lock_guard lock(log_mu);
                  lines.emplace_back(l);
                },
                &clock};
  std::mutex wait_mu;
  std::vector<Duration> waits;
  std::unique_ptr<Engine> engine;

  EngineOptions options() {
    EngineOptions o;
    o.clock = &clock;
    o.logger = &logger;
    o.sources = &world.source_registry;
    o.targets = &world.target_registry;
    o.backoff_wait = [this](Duration d) {
      std::lock_guard lock(wait_mu);
      waits.push_back(d);
      return true;
    };
    return o;
  }

  Result<void> start(const std::string& yaml, EngineOptions o) {
    auto e = Engine::create(parse(yaml), store, std::move(o));
    if (!e) return std::unexpected(e.error());
    engine = std::move(*e);
    return {};
  }
  void start(const std::string& yaml) {
    auto r = start(yaml, options());
    ASSERT_TRUE(r) << r.error().message;
  }

  DecisionRecord eval(const std::string& group) {
    auto r = engine->evaluate_now(group);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r || !*r) {
      ADD_FAILURE() << "no decision for " << group;
      return {};
    }
    return **r;
  }

  bool logged(std::string_view needle) {
    std::lock_guard lock(log_mu);
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

// ---- scheduling -----------------------------------------------------------------------------

TEST(EngineScheduling, IntervalsHonoured) {
  Harness h;
  h.start(config_yaml(group_yaml("fast", "15s", total_policy("load")) +
                      group_yaml("slow", "1m", total_policy("load2"))));
  h.world.target("fast")->desired = 1;
  h.world.target("slow")->desired = 1;
  // Advance 5 s at a time for 2 minutes, running the scheduler at every step.
  for (int step = 0; step <= 24; ++step) {
    h.engine->run_due();
    h.engine->wait_idle();
    h.clock.advance(5s);
  }
  auto fast = h.store.all("fast");
  auto slow = h.store.all("slow");
  ASSERT_EQ(fast.size(), 9u);  // 0, 15, ..., 120 s
  ASSERT_EQ(slow.size(), 3u);  // 0, 60, 120 s
  for (std::size_t i = 0; i < fast.size(); ++i) {
    EXPECT_EQ(fast[i].at, kStart + 15s * static_cast<int>(i)) << i;
  }
  EXPECT_EQ(slow[1].at, kStart + 60s);
  // maintain() between evaluations, at least every 5 s.
  EXPECT_GE(h.world.target("slow")->maintain_calls, 20);
}

TEST(EngineScheduling, NextDueTimeIsReturned) {
  Harness h;
  h.start(config_yaml(group_yaml("a", "15s", total_policy("load"))));
  h.world.target("a")->desired = 1;
  const TimePoint next = h.engine->run_due();
  h.engine->wait_idle();
  EXPECT_EQ(next, kStart + 5s);  // the maintain tick comes before the next evaluation
  auto view = h.engine->group("a");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->next_evaluation, kStart + 15s);
}

TEST(EngineScheduling, SlowSourceDoesNotDelayAnotherGroup) {
  Harness h;
  SystemClock real;
  EngineOptions o = h.options();
  o.clock = &real;
  o.core_workers = 1;  // the pool must grow when the slow group holds the only worker
  o.stall = 20ms;
  ASSERT_TRUE(h.start(config_yaml(group_yaml("slow", "10s", total_policy("dead")) +
                                  group_yaml("fast", "100ms", total_policy("load"))),
                      o));
  h.world.source("dead")->delay = 1500ms;
  h.world.source("load")->value = 30;
  h.world.target("fast")->desired = 1;
  h.world.target("slow")->desired = 1;
  h.engine->start();
  std::this_thread::sleep_for(1000ms);
  const int fast_evaluations = static_cast<int>(h.store.all("fast").size());
  const int slow_evaluations = static_cast<int>(h.store.all("slow").size());
  h.engine->stop();
  EXPECT_GE(fast_evaluations, 4);  // ~10 at 100 ms; the slow read blocks none of them
  EXPECT_EQ(slow_evaluations, 0);  // still reading
  EXPECT_EQ(h.world.target("fast")->desired, 3);
  EXPECT_EQ(h.store.all("slow").size(), 1u);  // stop() let the evaluation in flight finish
}

TEST(EngineScheduling, EvaluationsOfOneGroupNeverOverlap) {
  Harness h;
  SystemClock real;
  EngineOptions o = h.options();
  o.clock = &real;
  o.stall = 10ms;
  ASSERT_TRUE(h.start(config_yaml(group_yaml("g", "50ms", total_policy("load"))), o));
  auto source = h.world.source("load");
  source->delay = 120ms;  // longer than the interval
  h.world.target("g")->desired = 1;
  h.engine->start();
  std::this_thread::sleep_for(600ms);
  h.engine->stop();
  auto records = h.store.all("g");
  ASSERT_GE(records.size(), 2u);
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_GE(records[i].at - records[i - 1].at, 100ms) << "evaluations overlapped";
  }
  EXPECT_NE(h.engine->metrics_text().find("tide_evaluation_overruns_total{group=\"g\"}"),
            std::string::npos);
}

// ---- evaluation rules -----------------------------------------------------------------------

struct NoDataCase {
  const char* name;
  double other_value;  // the healthy policy's total (desired = ceil(v / 10))
  int current;
  int want_desired;
  std::string want_outcome;
};

class DeadSource : public ::testing::TestWithParam<NoDataCase> {};

TEST_P(DeadSource, BlocksScaleInAllowsScaleOut) {
  const NoDataCase& c = GetParam();
  Harness h;
  h.start(config_yaml(
      group_yaml("g", "15s", total_policy("dead", "broken") + total_policy("load", "healthy"))));
  h.world.source("dead")->fail = true;
  h.world.source("load")->value = c.other_value;
  h.world.target("g")->desired = c.current;
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, c.want_desired);
  EXPECT_EQ(r.outcome, c.want_outcome);
  EXPECT_TRUE(r.account.value("any_no_data", false));
  EXPECT_TRUE(r.account.contains("source_errors"));
  // The error is recorded without the credentials it contained.
  auto view = h.engine->group("g");
  EXPECT_NE(view->last_error.find("dead"), std::string::npos);
  EXPECT_EQ(view->last_error.find("hunter2"), std::string::npos);
  EXPECT_EQ(view->consecutive_failures, 1);
  EXPECT_FALSE(h.logged("hunter2"));
  EXPECT_NE(h.engine->metrics_text().find("tide_source_errors_total{source=\"dead\"} 1"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Cases, DeadSource,
                         ::testing::Values(NoDataCase{"scale_in_blocked", 20, 6, 6, "unchanged"},
                                           NoDataCase{"scale_out_allowed", 80, 6, 8, "applied"},
                                           NoDataCase{"hold_stays", 60, 6, 6, "unchanged"}),
                         [](const auto& info) { return std::string(info.param.name); });

// An active schedule's min/max travel with the capacity (aws-asg writes them to the group).
TEST(EngineEvaluation, AnActiveScheduleSendsItsBoundsWithTheCapacity) {
  Harness h;
  h.start(config_yaml(group_yaml(
      "g", "15s",
      total_policy("load") +
          "      - { type: scheduled, cron: '* * * * *', duration: 30m, min: 6, max: 12 }\n")));
  h.world.source("load")->value = 45;  // 5 instances; the schedule's min lifts it to 6
  auto target = h.world.target("g");
  target->desired = 2;
  const DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, 6) << r.account.dump(2);
  ASSERT_EQ(target->scales.size(), 1u);
  EXPECT_EQ(target->scales[0].desired, 6);
  EXPECT_EQ(target->scales[0].min, 6);
  EXPECT_EQ(target->scales[0].max, 12);
}

TEST(EngineEvaluation, ScalesAndRecordsBeforeActing) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 45;
  auto target = h.world.target("g");
  target->desired = 2;
  std::string outcome_at_scale;
  target->on_scale = [&](const ScaleRequest& req) {
    auto rec = h.store.decision(req.decision_id);
    if (rec && *rec) outcome_at_scale = (*rec)->outcome;
  };
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.current, 2);
  EXPECT_EQ(r.desired, 5);
  EXPECT_EQ(r.outcome, "applied");
  EXPECT_EQ(outcome_at_scale, "pending");  // committed before the target was called
  ASSERT_EQ(target->scales.size(), 1u);
  EXPECT_EQ(target->scales[0].desired, 5);
  EXPECT_EQ(target->scales[0].decision_id, r.id);
  EXPECT_NE(target->scales[0].reason.find("total"), std::string::npos);
  EXPECT_FALSE(target->scales[0].min.has_value()) << "no schedule: the group's own bounds";
  EXPECT_FALSE(target->scales[0].max.has_value());
  EXPECT_EQ(h.store.all("g").back().outcome, "applied");
  EXPECT_TRUE(h.store.history("g").last_scale_out.has_value());
  EXPECT_TRUE(h.logged("msg=evaluation group=g current=2 desired=5"));
  EXPECT_TRUE(h.logged("outcome=applied"));
  // The source got the group's deadline (interval, clamped to 1..30 s).
  EXPECT_EQ(h.world.source("load")->last_timeout, Duration(15s));
}

TEST(EngineEvaluation, FailedStatusMakesNoDecision) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.target("g")->fail_status = true;
  auto r = h.engine->evaluate_now("g");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(h.store.all("g").empty());
  EXPECT_EQ(h.world.source("load")->reads, 0);
  auto view = h.engine->group("g");
  EXPECT_EQ(view->consecutive_failures, 1);
  EXPECT_NE(view->last_error.find("api down"), std::string::npos);
  EXPECT_NE(
      h.engine->metrics_text().find("tide_target_errors_total{group=\"g\",operation=\"status\"} 1"),
      std::string::npos);
}

TEST(EngineEvaluation, FailedCommitDoesNotAct) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 50;
  h.world.target("g")->desired = 1;
  h.store.fail_commit = true;
  auto r = h.engine->evaluate_now("g");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(h.world.target("g")->scales.empty());
}

struct RetryCase {
  const char* name;
  int failures;          // scale calls that fail
  bool apply_then_fail;  // the failed call took effect anyway
  int want_calls;
  std::vector<Duration> want_waits;
  std::string want_outcome_prefix;
};

class TargetRetry : public ::testing::TestWithParam<RetryCase> {};

TEST_P(TargetRetry, BackoffAndNoDoubleApply) {
  const RetryCase& c = GetParam();
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 40;
  auto target = h.world.target("g");
  target->desired = 2;
  target->fail_scale = c.failures;
  target->apply_then_fail = c.apply_then_fail;
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(static_cast<int>(target->scales.size()), c.want_calls);
  for (const ScaleRequest& req : target->scales) {
    EXPECT_EQ(req.desired, 4);  // absolute, the same every attempt
    EXPECT_EQ(req.decision_id, r.id);
  }
  EXPECT_EQ(h.waits, c.want_waits);
  EXPECT_TRUE(r.outcome.starts_with(c.want_outcome_prefix)) << r.outcome;
  EXPECT_EQ(h.store.all("g").back().outcome, r.outcome);
  EXPECT_EQ(h.store.all("g").size(), 1u);
  // A failed action leaves the in-memory history without the event, so the next round may
  // try again at once; an applied one starts the scale-up period.
  if (c.want_outcome_prefix == "applied") {
    EXPECT_EQ(target->desired, 4);
  } else {
    EXPECT_EQ(target->desired, 2);
    target->fail_scale = 0;
    h.clock.advance(15s);
    DecisionRecord again = h.eval("g");
    EXPECT_EQ(again.outcome, "applied");
    EXPECT_EQ(target->desired, 4);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TargetRetry,
    ::testing::Values(
        RetryCase{"first_try", 0, false, 1, {}, "applied"},
        RetryCase{"two_failures_then_ok", 2, false, 3, {500ms, 1000ms}, "applied"},
        RetryCase{"always_failing", 10, false, 4, {500ms, 1000ms, 2000ms}, "failed: throttled"},
        RetryCase{"failed_but_took_effect", 1, true, 1, {500ms}, "applied"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(EngineEvaluation, RetriesStopWhenStopping) {
  Harness h;
  EngineOptions o = h.options();
  o.backoff_wait = [](Duration) { return false; };  // stop() came in during the wait
  ASSERT_TRUE(h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))), o));
  h.world.source("load")->value = 40;
  h.world.target("g")->desired = 2;
  h.world.target("g")->fail_scale = 5;
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(h.world.target("g")->scales.size(), 1u);
  EXPECT_NE(r.outcome.find("tide is stopping"), std::string::npos);
}

struct DryRunCase {
  const char* name;
  std::string top;    // global keys
  std::string extra;  // group keys
};

class DryRun : public ::testing::TestWithParam<DryRunCase> {};

TEST_P(DryRun, NeverCallsScale) {
  const DryRunCase& c = GetParam();
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"), c.extra), c.top));
  h.world.source("load")->value = 90;
  h.world.target("g")->desired = 2;
  for (int i = 0; i < 3; ++i) {
    DecisionRecord r = h.eval("g");
    EXPECT_EQ(r.desired, 9);
    EXPECT_EQ(r.outcome, "dry-run");
    EXPECT_TRUE(r.account.value("dry_run", false));
    h.clock.advance(15s);
  }
  EXPECT_TRUE(h.world.target("g")->scales.empty());
  EXPECT_TRUE(h.engine->group("g")->dry_run);
  EXPECT_FALSE(h.store.history("g").last_scale_out.has_value());
}

INSTANTIATE_TEST_SUITE_P(Cases, DryRun,
                         ::testing::Values(DryRunCase{"group", "", "    dry_run: true\n"},
                                           DryRunCase{"global", "dry_run: true\n", ""}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EngineFlags, PauseRecordsWithoutActing) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 70;
  h.world.target("g")->desired = 2;
  ASSERT_TRUE(h.engine->pause("g"));
  EXPECT_TRUE(h.store.flags("g")->paused);  // persisted
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, 7);
  EXPECT_EQ(r.outcome, "paused");
  EXPECT_TRUE(h.world.target("g")->scales.empty());
  ASSERT_TRUE(h.engine->resume("g"));
  h.clock.advance(15s);
  r = h.eval("g");
  EXPECT_EQ(r.outcome, "applied");
  EXPECT_EQ(h.world.target("g")->desired, 7);
  EXPECT_EQ(h.engine->pause("nope").error().code, ErrorCode::kNotFound);
}

TEST(EngineFlags, OverrideHoldsCapacityUntilItExpires) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 30;  // policies want 3
  h.world.target("g")->desired = 3;
  ASSERT_TRUE(h.engine->set_capacity("g", 8, kStart + 1min));
  EXPECT_EQ(h.store.flags("g")->override_capacity, 8);
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, 8);
  EXPECT_EQ(r.bound_by, "override");
  EXPECT_EQ(r.account["override"]["decided"], 3);
  EXPECT_EQ(r.outcome, "applied");
  h.clock.advance(30s);
  r = h.eval("g");
  EXPECT_EQ(r.desired, 8);
  EXPECT_EQ(r.outcome, "unchanged");
  h.clock.advance(31s);  // expired
  r = h.eval("g");
  EXPECT_EQ(r.desired, 3);
  EXPECT_FALSE(h.store.flags("g")->override_capacity.has_value());
  EXPECT_FALSE(h.engine->group("g")->flags.override_capacity.has_value());

  struct Bad {
    int capacity;
    TimePoint until;
    ErrorCode code;
  };
  for (const Bad& b : {Bad{21, kStart + 1h, ErrorCode::kInvalidArgument},
                       Bad{0, kStart + 1h, ErrorCode::kInvalidArgument},
                       Bad{5, kStart, ErrorCode::kInvalidArgument}}) {
    auto res = h.engine->set_capacity("g", b.capacity, b.until);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, b.code);
  }
  EXPECT_EQ(h.engine->set_capacity("x", 5, kStart + 1h).error().code, ErrorCode::kNotFound);
}

TEST(EngineFlags, PausedOverrideIsNotApplied) {
  Harness h;
  h.start(config_yaml(group_yaml("g", "15s", total_policy("load"))));
  h.world.source("load")->value = 30;
  h.world.target("g")->desired = 3;
  ASSERT_TRUE(h.engine->pause("g"));
  ASSERT_TRUE(h.engine->set_capacity("g", 6, kStart + 1h));
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, 6);
  EXPECT_EQ(r.outcome, "paused");
  EXPECT_TRUE(h.world.target("g")->scales.empty());
}

// ---- restarts -------------------------------------------------------------------------------

TEST(EngineRestart, PendingDecisionIsReconciledNotRepeated) {
  struct Case {
    const char* name;
    bool target_applied;  // did the target take the change before tide died?
    std::string want_outcome_prefix;
  };
  for (const Case& c : {Case{"applied_before_crash", true, "applied"},
                        Case{"lost_before_crash", false, "failed: not applied"}}) {
    SCOPED_TRACE(c.name);
    Harness h;
    const std::string yaml =
        config_yaml(group_yaml("g", "15s", total_policy("load"), "",
                               "{ scale_up: { stabilization: 0s, policies: [] }, "
                               "scale_down: { stabilization: 5m, policies: [] } }"));
    h.start(yaml);
    h.world.source("load")->value = 60;
    auto target = h.world.target("g");
    target->desired = 2;
    // tide dies inside the scale-out: the target call happens (or not), the outcome is never
    // written.
    target->on_scale = [&](const ScaleRequest&) { h.store.fail_set_outcome = true; };
    if (!c.target_applied) target->fail_scale = 100;
    DecisionRecord first = h.eval("g");
    h.engine->stop();
    h.engine.reset();
    ASSERT_EQ(h.store.all("g").back().outcome, "pending");
    EXPECT_EQ(target->desired, c.target_applied ? 6 : 2);

    // Restart on the same store.
    h.store.fail_set_outcome = false;
    target->on_scale = nullptr;
    target->fail_scale = 0;
    const std::size_t calls_before = target->scales.size();
    h.clock.advance(20s);
    h.world.source("load")->value = 10;  // load dropped: policies want 1
    h.start(yaml);
    DecisionRecord second = h.eval("g");
    auto reconciled = h.store.decision(first.id);
    ASSERT_TRUE(reconciled && *reconciled);
    EXPECT_TRUE((*reconciled)->outcome.starts_with(c.want_outcome_prefix))
        << (*reconciled)->outcome;
    // The 5 min scale-down window from the first run still holds: no scale-in.
    EXPECT_EQ(second.desired, c.target_applied ? 6 : 2) << second.account.dump(2);
    EXPECT_EQ(second.bound_by, "stabilization");
    if (c.target_applied) {
      EXPECT_EQ(target->scales.size(), calls_before);  // not re-applied
      EXPECT_EQ(second.outcome, "unchanged");
    }
    EXPECT_EQ(h.store.all("g").size(), 2u);  // nothing lost, nothing doubled
  }
}

TEST(EngineRestart, HistoryAndFlagsSurvive) {
  Harness h;
  const std::string yaml =
      config_yaml(group_yaml("g", "15s", total_policy("load"), "",
                             "{ scale_up: { stabilization: 0s, policies: [] }, scale_down: { "
                             "stabilization: 1m, policies: [] }, scale_out_cooldown: 2m }"));
  h.start(yaml);
  auto target = h.world.target("g");
  target->desired = 2;
  h.world.source("load")->value = 50;
  EXPECT_EQ(h.eval("g").desired, 5);
  ASSERT_TRUE(h.engine->pause("g"));
  h.engine.reset();

  h.clock.advance(30s);
  h.world.source("load")->value = 90;
  h.start(yaml);
  EXPECT_TRUE(h.engine->group("g")->flags.paused);
  ASSERT_TRUE(h.engine->resume("g"));
  DecisionRecord r = h.eval("g");
  EXPECT_EQ(r.desired, 5);  // scale-out cooldown from the first run
  EXPECT_EQ(r.bound_by, "cooldown");
  ASSERT_TRUE(h.engine->group("g")->last.has_value());
}

// ---- predictive policies ----------------------------------------------------------------------

// A predictive policy in tide run: its metric history goes to the store, the forecast is
// recomputed on its schedule (not at every evaluation) and shown in the decision's account, and a
// restarted tide forecasts from the stored history right away.
TEST(EnginePredictive, ForecastsFromStoredHistoryAcrossRestarts) {
  Harness h;
  const std::string yaml = config_yaml(
      group_yaml("p", "5m",
                 "      - { name: ahead, type: predictive, metric: load, target: 10,\n"
                 "          forecaster: seasonal-naive-daily, resolution: 1h, history: 2d,\n"
                 "          forecast_interval: 1h, boot_delay: 30m }\n"));
  h.start(yaml);
  auto load = h.world.source("load");
  // Hour h of the day carries 100 + 10 h.
  auto load_at = [&](TimePoint t) {
    const long long hour = std::chrono::floor<std::chrono::hours>(t).time_since_epoch().count();
    return 100.0 + 10.0 * static_cast<double>(hour % 24);
  };
  DecisionRecord last;
  for (int i = 0; i < 26 * 12; ++i) {
    load->value = load_at(h.clock.now());
    last = h.eval("p");
    h.clock.advance(5min);
  }
  // The last evaluation forecasts yesterday's same hours.
  const nlohmann::json& forecast = last.account["forecasts"][0];
  EXPECT_EQ(forecast["policy"], "ahead");
  EXPECT_EQ(forecast["model"], "seasonal-naive-daily");
  const TimePoint at = *parse_time(last.account["at"].get<std::string>());
  EXPECT_EQ(last.desired,
            static_cast<int>(std::ceil(std::max(load_at(at), load_at(at + 30min)) / 10.0 - 1e-9)));
  EXPECT_EQ(last.account["proposals"][0]["forecast"]["model"], "seasonal-naive-daily");
  // One bucket an hour reached the store (the window is 2 days, nothing pruned yet).
  EXPECT_GE(h.store.metric_point_count("p"), 24u);
  EXPECT_LE(h.store.metric_point_count("p"), 27u);
  // Recomputed about once an hour, not at each of the 312 evaluations.
  int refreshes = 0;
  {
    std::lock_guard lock(h.log_mu);
    for (const auto& l : h.lines) refreshes += l.find("forecast recomputed") != std::string::npos;
  }
  EXPECT_GE(refreshes, 26);
  EXPECT_LE(refreshes, 28);

  // Restart: the history comes back from the store, the first decision already forecasts.
  h.engine.reset();
  h.clock.advance(5min);
  h.start(yaml);
  load->value = load_at(h.clock.now());
  const DecisionRecord first = h.eval("p");
  EXPECT_TRUE(h.logged("predictive policy history loaded"));
  EXPECT_EQ(first.account["forecasts"][0]["model"], "seasonal-naive-daily");
}

// A completed history bucket reaches the store at once, not at the next (hourly) refresh: tide
// killed between refreshes loses at most the bucket in progress.
TEST(EnginePredictive, CompletedBucketsAreStoredBeforeTheNextRefresh) {
  Harness h;
  h.start(
      config_yaml(group_yaml("p", "1m",
                             "      - { name: ahead, type: predictive, metric: load, target: 10,\n"
                             "          resolution: 5m, forecast_interval: 1h }\n")));
  h.world.source("load")->value = 100;
  for (int i = 0; i < 31; ++i) {  // 30 minutes: six buckets complete, no second refresh
    h.eval("p");
    h.clock.advance(1min);
  }
  EXPECT_GE(h.store.metric_point_count("p"), 5u);
  EXPECT_LE(h.store.metric_point_count("p"), 6u);
}

TEST(EnginePredictive, ForecastOnlyExplainsButDoesNotScale) {
  Harness h;
  h.start(config_yaml(group_yaml(
      "p", "1h",
      "      - { name: ahead, type: predictive, metric: load, target: 10, resolution: 1h,\n"
      "          forecast_only: true }\n")));
  h.world.target("p")->desired = 3;
  h.world.source("load")->value = 500;
  h.eval("p");
  h.clock.advance(1h);
  const DecisionRecord r = h.eval("p");
  EXPECT_EQ(r.desired, 3);  // nothing proposes: hold
  const nlohmann::json& p = r.account["proposals"][0];
  EXPECT_EQ(p["status"], "inactive");
  EXPECT_EQ(p["forecast"]["capacity"], 50);  // recent mean 500 / 10
  EXPECT_NE(p["reason"].get<std::string>().find("forecast only"), std::string::npos);
  // Exposed on /metrics although it does not scale.
  std::string text = h.engine->metrics_text();
  EXPECT_NE(text.find("tide_forecast_load{group=\"p\",policy=\"ahead\"} 500\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tide_forecast_capacity{group=\"p\",policy=\"ahead\"} 50\n"),
            std::string::npos)
      << text;
  // A renamed policy's gauges go with its old name.
  ASSERT_TRUE(h.engine->reload(parse(config_yaml(group_yaml(
      "p", "1h",
      "      - { name: later, type: predictive, metric: load, target: 10, resolution: 1h,\n"
      "          forecast_only: true }\n")))));
  h.clock.advance(1h);
  h.eval("p");  // the renamed policy's history starts afresh: no forecast yet
  text = h.engine->metrics_text();
  EXPECT_EQ(text.find("policy=\"ahead\""), std::string::npos) << text;
  h.clock.advance(1h);
  h.eval("p");
  text = h.engine->metrics_text();
  EXPECT_NE(text.find("tide_forecast_capacity{group=\"p\",policy=\"later\"} 50\n"),
            std::string::npos)
      << text;
  // A group that leaves the config takes its forecast gauges along.
  ASSERT_TRUE(h.engine->reload(parse(config_yaml(group_yaml("q", "15s", total_policy("load"))))));
  text = h.engine->metrics_text();
  EXPECT_EQ(text.find("tide_forecast_capacity{group=\"p\""), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE tide_forecast_capacity gauge"), std::string::npos);
}

// ---- reload ---------------------------------------------------------------------------------

TEST(EngineReload, KeepsHistoriesAndTargets) {
  Harness h;
  const std::string window =
      "{ scale_up: { stabilization: 0s, policies: [] }, "
      "scale_down: { stabilization: 5m, policies: [] } }";
  h.start(config_yaml(group_yaml("a", "15s", total_policy("load"), "", window) +
                      group_yaml("b", "15s", total_policy("load2"))));
  h.world.target("a")->desired = 2;
  h.world.target("b")->desired = 1;
  h.world.source("load")->value = 80;
  EXPECT_EQ(h.eval("a").desired, 8);
  h.clock.advance(15s);

  // a: another policy in front (the old one moves to index 1); b removed; c added.
  ASSERT_TRUE(h.engine->reload(parse(config_yaml(
      group_yaml("a", "15s", total_policy("load2", "extra") + total_policy("load"), "", window) +
      group_yaml("c", "30s", total_policy("load2"))))));
  h.world.source("load")->value = 10;
  DecisionRecord r = h.eval("a");
  EXPECT_EQ(r.desired, 8);  // the window from before the reload still holds
  EXPECT_EQ(r.bound_by, "stabilization");
  EXPECT_EQ(h.world.target("a")->created, 1);  // same target object
  EXPECT_FALSE(h.engine->group("b").has_value());
  ASSERT_TRUE(h.engine->group("c").has_value());
  h.world.target("c")->desired = 1;
  EXPECT_EQ(h.eval("c").group, "c");
  auto names = h.engine->groups();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "a");
  EXPECT_EQ(names[1].name, "c");

  // A changed target is rebuilt.
  ASSERT_TRUE(h.engine->reload(parse(config_yaml(
      "  - name: a\n    target: { type: static, capacity: 3 }\n    max: 20\n    policies:\n" +
      total_policy("load")))));
  EXPECT_EQ(h.world.target("a")->created, 2);
}

TEST(EngineReload, BadConfigKeepsTheOldOne) {
  Harness h;
  h.start(config_yaml(group_yaml("a", "15s", total_policy("load"))));
  h.world.target("a")->desired = 1;
  auto bad = h.engine->reload(parse(config_yaml(
      "  - name: a\n    target: { type: aws-asg, name: x }\n    max: 5\n    policies:\n" +
      total_policy("load"))));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not available in this build"), std::string::npos);
  EXPECT_EQ(h.engine->group("a")->max, 20);
  EXPECT_EQ(h.eval("a").group, "a");
  EXPECT_NE(h.engine->metrics_text().find("tide_config_reloads_total{result=\"error\"} 1"),
            std::string::npos);
}

struct StartupErrorCase {
  const char* name;
  std::string yaml;
  std::string want;
};

class StartupError : public ::testing::TestWithParam<StartupErrorCase> {};

TEST_P(StartupError, IsClear) {
  Harness h;
  auto r = h.start(GetParam().yaml, h.options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(GetParam().want), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StartupError,
    ::testing::Values(
        StartupErrorCase{"target_type",
                         config_yaml("  - name: web\n    target: { type: aws-asg, name: x }\n"
                                     "    max: 5\n    policies:\n" +
                                     total_policy("load")),
                         "group 'web': target type 'aws-asg' is not available in this build of "
                         "tide (available: static)"},
        StartupErrorCase{"source_type",
                         "sources:\n  - { name: prom, type: prometheus, url: 'http://p:9090' }\n"
                         "groups:\n  - name: web\n    target: { type: static }\n    max: 5\n"
                         "    policies:\n      - { type: target-tracking, target: 5, metric: "
                         "{ source: prom, query: up } }\n",
                         "source 'prom': type 'prometheus' is not available in this build of "
                         "tide (available: static)"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- per-instance samples reach decide() ----------------------------------------------------

TEST(EngineEvaluation, PerInstanceSamplesMapOntoTargetInstances) {
  Harness h;
  h.start(config_yaml(group_yaml(
      "g", "15s",
      "      - { name: cpu, type: target-tracking, metric: load, target_type: utilization, "
      "target: 50 }\n")));
  auto target = h.world.target("g");
  target->desired = 3;
  target->instances = {{"1", "127.0.0.1:8001", InstanceState::kReady, ""},
                       {"2", "127.0.0.1:8002", InstanceState::kReady, ""},
                       {"3", "127.0.0.1:8003", InstanceState::kWarming, ""}};
  h.world.source("load")->samples = {{100, kStart, "http://127.0.0.1:8001/metrics"},
                                     {100, kStart, "2"},
                                     {0, kStart, "127.0.0.1:8003"}};
  DecisionRecord r = h.eval("g");
  // HPA: ready average 100 % vs 50 % -> ratio 2 over 2 ready; the warming one counts 0 on
  // scale-up: (100+100+0)/3 = 66 % -> ratio 1.33 -> ceil(3 x 1.33) = 4.
  EXPECT_EQ(r.desired, 4) << r.account.dump(2);
  auto endpoints = h.world.source("load")->last_endpoints;
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[1].address, "127.0.0.1:8002");
}

// ---- metrics --------------------------------------------------------------------------------

TEST(EngineMetrics, ExposesGroupGaugesCountersAndLatency) {
  Harness h;
  h.start(config_yaml(group_yaml("web", "15s", total_policy("load"))));
  h.world.source("load")->value = 45;
  h.world.target("web")->desired = 2;
  h.eval("web");
  const std::string text = h.engine->metrics_text();
  for (const char* want : {
           "tide_group_current_capacity{group=\"web\"} 2",
           "tide_group_desired_capacity{group=\"web\"} 5",
           "tide_group_min_capacity{group=\"web\"} 1",
           "tide_group_max_capacity{group=\"web\"} 20",
           "tide_decisions_total{group=\"web\",reason=\"target-tracking\",direction=\"up\","
           "outcome=\"applied\"} 1",
           "tide_actions_total{group=\"web\",reason=\"target-tracking\",direction=\"up\","
           "outcome=\"applied\"} 1",
           "tide_source_reads_total{source=\"load\"} 1",
           "# TYPE tide_evaluation_duration_seconds histogram",
           "tide_evaluation_duration_seconds_count 1",
           "tide_evaluation_duration_seconds_bucket{le=\"+Inf\"} 1",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(EngineControlApi, ViewsAndDecisions) {
  Harness h;
  h.start(config_yaml(group_yaml("web", "15s", total_policy("load"))));
  h.world.source("load")->value = 45;
  h.world.target("web")->desired = 2;
  EXPECT_FALSE(h.engine->healthy());  // not started
  DecisionRecord r = h.eval("web");
  auto view = h.engine->group("web");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->target_type, "static");
  EXPECT_EQ(view->interval, Duration(15s));
  ASSERT_TRUE(view->status);
  EXPECT_EQ(view->status->desired, 2);
  ASSERT_TRUE(view->last);
  EXPECT_EQ(view->last->id, r.id);
  EXPECT_EQ(view->last->outcome, "applied");
  auto list = h.engine->decisions("web", 10, std::nullopt);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
  auto one = h.engine->decision("web", r.id);
  ASSERT_TRUE(one && *one);
  EXPECT_EQ((*one)->desired, 5);
  EXPECT_EQ(h.engine->decisions("nope", 10, std::nullopt).error().code, ErrorCode::kNotFound);
  h.engine->start();
  EXPECT_TRUE(h.engine->healthy());
  h.engine->stop();
  EXPECT_FALSE(h.engine->healthy());
}

}  // namespace
}  // namespace tide
