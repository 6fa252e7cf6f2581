#include "state/state.hpp"

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace tide {
namespace {

namespace fs = std::filesystem;

TimePoint ms(long long v) {
  return TimePoint(Duration(v));
}

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tide-state-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

bool same_double(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

// Field-by-field equality, so a lossy history_to_json cannot hide behind a JSON comparison.
void expect_same(const GroupHistory& a, const GroupHistory& b) {
  auto same_recs = [](const std::vector<Recommendation>& x, const std::vector<Recommendation>& y) {
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].at, y[i].at) << i;
      EXPECT_EQ(x[i].value, y[i].value) << i;
    }
  };
  auto same_events = [](const std::vector<ScaleEvent>& x, const std::vector<ScaleEvent>& y) {
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].at, y[i].at) << i;
      EXPECT_EQ(x[i].change, y[i].change) << i;
      EXPECT_EQ(x[i].outdated, y[i].outdated) << i;
    }
  };
  same_recs(a.recommendations, b.recommendations);
  same_events(a.scale_up_events, b.scale_up_events);
  same_events(a.scale_down_events, b.scale_down_events);
  EXPECT_EQ(a.last_scale_out, b.last_scale_out);
  EXPECT_EQ(a.last_scale_in, b.last_scale_in);
  EXPECT_EQ(a.consecutive_no_data, b.consecutive_no_data);
  EXPECT_EQ(a.initialized, b.initialized);
  for (int i = 0; i < kMaxPolicies; ++i) {
    SCOPED_TRACE(fmt::format("policy {}", i));
    const PolicyState& p = a.policies[i];
    const PolicyState& q = b.policies[i];
    EXPECT_EQ(p.last_triggered, q.last_triggered);
    EXPECT_EQ(p.panic_time, q.panic_time);
    EXPECT_EQ(p.max_panic_pods, q.max_panic_pods);
    EXPECT_EQ(p.panic_initialized, q.panic_initialized);
    same_recs(p.delay_window, q.delay_window);
    ASSERT_EQ(p.metric.size(), q.metric.size());
    for (std::size_t k = 0; k < p.metric.size(); ++k) {
      EXPECT_EQ(p.metric[k].at, q.metric[k].at);
      EXPECT_TRUE(same_double(p.metric[k].value, q.metric[k].value))
          << p.metric[k].value << " vs " << q.metric[k].value;
    }
  }
}

GroupHistory full_history() {
  GroupHistory h;
  h.recommendations = {{ms(1'700'000'000'001), 3}, {ms(1'700'000'015'000), 7}};
  h.scale_up_events = {{ms(1'700'000'000'123), 4, false}, {ms(1'700'000'030'000), 2, true}};
  h.scale_down_events = {{ms(-5), 1, true}};
  h.last_scale_out = ms(1'700'000'030'000);
  h.last_scale_in = ms(0);
  h.consecutive_no_data = 3;
  h.initialized = true;
  h.policies[0].last_triggered = ms(42);
  h.policies[1].panic_time = ms(1'700'000'000'999);
  h.policies[1].max_panic_pods = 12;
  h.policies[1].panic_initialized = true;
  h.policies[1].delay_window = {{ms(10), 5}, {ms(20), 6}};
  h.policies[1].metric = {{ms(1), 0.1},
                          {ms(2), 1.0 / 3.0},
                          {ms(3), 1e-310},
                          {ms(4), -0.0},
                          {ms(5), 1.7976931348623157e308}};
  h.policies[15].metric = {{ms(7), 123456789.123456789}};
  return h;
}

TEST(HistoryJson, RoundTripsExactly) {
  GroupHistory non_finite;
  non_finite.policies[2].metric = {{ms(1), std::numeric_limits<double>::quiet_NaN()},
                                   {ms(2), std::numeric_limits<double>::infinity()},
                                   {ms(3), -std::numeric_limits<double>::infinity()}};
  GroupHistory only_middle;
  only_middle.policies[7].panic_initialized = true;
  const struct {
    const char* name;
    GroupHistory history;
  } cases[] = {
      {"empty", GroupHistory{}},
      {"full", full_history()},
      {"non-finite metric values", non_finite},
      {"only a middle policy", only_middle},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    // Through text too: that is what the store keeps.
    const std::string text = history_to_json(c.history).dump();
    auto back = history_from_json(nlohmann::json::parse(text));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    expect_same(c.history, *back);
  }
}

TEST(HistoryJson, TimesAreIntegerMilliseconds) {
  const auto j = history_to_json(full_history());
  EXPECT_EQ(j["recommendations"][0]["at"], 1'700'000'000'001LL);
  EXPECT_TRUE(j["recommendations"][0]["at"].is_number_integer());
  EXPECT_EQ(j["last_scale_in"], 0);
  EXPECT_TRUE(j["policies"][0]["panic_time"].is_null());
  EXPECT_EQ(j["policies"].size(), 16u);  // up to the last non-default one
  EXPECT_EQ(history_to_json(GroupHistory{})["policies"].size(), 0u);
}

TEST(HistoryJson, MissingKeysReadAsDefaults) {
  auto h = history_from_json(nlohmann::json::object());
  ASSERT_TRUE(h.has_value());
  expect_same(GroupHistory{}, *h);
}

TEST(HistoryJson, RejectsMalformedInput) {
  const struct {
    const char* name;
    const char* json;
    const char* message;
  } cases[] = {
      {"not an object", "[]", "history must be an object"},
      {"newer format", R"({"v": 2})", "newer than this tide reads"},
      {"time as float", R"({"recommendations":[{"at":1.5,"value":1}]})",
       "history.recommendations[0].at must be a time in integer milliseconds"},
      {"time as string", R"({"last_scale_out":"2026-01-01T00:00:00Z"})",
       "history.last_scale_out must be a time"},
      {"value too large", R"({"recommendations":[{"at":1,"value":9999999999}]})",
       "history.recommendations[0].value must be a 32-bit integer"},
      {"events not an array", R"({"scale_up_events":{}})",
       "history.scale_up_events must be an array"},
      {"event not an object", R"({"scale_down_events":[3]})",
       "history.scale_down_events[0] must be an object"},
      {"bad outdated", R"({"scale_down_events":[{"at":1,"change":1,"outdated":1}]})",
       "history.scale_down_events[0].outdated must be true or false"},
      {"too many policies", R"({"policies":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]})",
       "history.policies must be at most 16 entries"},
      {"bad metric", R"({"policies":[{"metric":[{"at":1,"value":"x"}]}]})",
       "history.policies[0].metric[0].value must be a number"},
      {"bad initialized", R"({"initialized":"yes"})", "history.initialized must be true or false"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto h = history_from_json(nlohmann::json::parse(c.json));
    ASSERT_FALSE(h.has_value());
    EXPECT_EQ(h.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(h.error().message.find(c.message), std::string::npos) << h.error().message;
  }
}

// ---- the store ----------------------------------------------------------------------------------

std::unique_ptr<StateStore> open_or_die(const std::string& path) {
  auto store = open_state_store(path);
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

DecisionRecord record(const std::string& group, long long at_ms, int current, int desired) {
  DecisionRecord r;
  r.group = group;
  r.at = ms(at_ms);
  r.current = current;
  r.desired = desired;
  r.bound_by = desired > current ? "rate-limit" : "";
  r.outcome = "pending";
  r.account = {{"current", current}, {"desired", desired}, {"explanation", "because ünïcode"}};
  return r;
}

TEST(StateStore, EmptyGroupHasUninitializedHistory) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  auto h = store->load_history("web");
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_FALSE(h->initialized);
  EXPECT_TRUE(h->recommendations.empty());
}

TEST(StateStore, CommitRoundTripsHistoryAndRecord) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  const GroupHistory h = full_history();
  const DecisionRecord r = record("web", 1'700'000'000'500, 3, 5);
  auto id = store->commit("web", h, r);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_GT(*id, 0);

  auto loaded = store->load_history("web");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  expect_same(h, *loaded);

  auto got = store->decision(*id);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  const DecisionRecord& d = **got;
  EXPECT_EQ(d.id, *id);
  EXPECT_EQ(d.group, "web");
  EXPECT_EQ(d.at, r.at);
  EXPECT_EQ(d.current, 3);
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.bound_by, "rate-limit");
  EXPECT_EQ(d.outcome, "pending");
  EXPECT_EQ(d.account, r.account);

  // A group's history is replaced, not merged.
  GroupHistory next;
  next.initialized = true;
  ASSERT_TRUE(store->commit("web", next, record("web", 1'700'000'015'000, 5, 5)).has_value());
  expect_same(next, *store->load_history("web"));
  // Other groups are untouched.
  EXPECT_FALSE(store->load_history("api")->initialized);
}

TEST(StateStore, RecordGroupMustMatch) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  auto id = store->commit("web", GroupHistory{}, record("api", 1, 1, 1));
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
  // An empty record.group means "the commit's group".
  auto ok = store->commit("web", GroupHistory{}, record("", 1, 1, 1));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*store->decision(*ok))->group, "web");
}

TEST(StateStore, InvalidUtf8InAccountIsKeptNotThrown) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  DecisionRecord r = record("web", 1, 1, 2);
  r.account["explanation"] = std::string("bad \xff byte");
  auto id = store->commit("web", GroupHistory{}, r);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_TRUE((*store->decision(*id))->account["explanation"].is_string());
}

// A commit whose second statement fails leaves no trace: neither the decision nor the history.
TEST(StateStore, CommitIsAtomic) {
  TempDir dir;
  const std::string path = dir.file("tide.db");
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  GroupHistory before;
  before.consecutive_no_data = 1;
  auto first = store->commit("boom", before, record("boom", 1, 1, 1));
  ASSERT_TRUE(first.has_value());

  // Inject a failure into the history write from another connection.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw,
                   "CREATE TRIGGER fail_update BEFORE UPDATE ON history WHEN NEW.grp = 'boom' "
                   "BEGIN SELECT RAISE(ABORT, 'injected'); END;"
                   "CREATE TRIGGER fail_insert BEFORE INSERT ON history WHEN NEW.grp = 'new' "
                   "BEGIN SELECT RAISE(ABORT, 'injected'); END;",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  // The store prepared its statements before the schema changed; SQLite re-prepares them.
  const struct {
    const char* name;
    const char* group;
  } cases[] = {{"update of an existing history", "boom"}, {"insert of a new history", "new"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    GroupHistory after;
    after.consecutive_no_data = 2;
    auto failed = store->commit(c.group, after, record(c.group, 2, 1, 2));
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(failed.error().message.find("injected"), std::string::npos) << failed.error().message;
    EXPECT_TRUE(store->decisions(c.group, 10)->size() ==
                (std::string(c.group) == "boom" ? 1u : 0u));
  }
  EXPECT_EQ(store->load_history("boom")->consecutive_no_data, 1);
  EXPECT_FALSE(store->load_history("new")->initialized);
  // The store is still usable afterwards (no transaction left open).
  auto next = store->commit("other", before, record("other", 3, 1, 1));
  ASSERT_TRUE(next.has_value()) << next.error().message;
  EXPECT_GT(*next, *first);
}

TEST(StateStore, DecisionsPageNewestFirst) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  std::vector<long long> web_ids;
  for (int i = 0; i < 25; ++i) {
    auto id = store->commit("web", GroupHistory{}, record("web", 1000 + i, i, i + 1));
    ASSERT_TRUE(id.has_value());
    web_ids.push_back(*id);
    ASSERT_TRUE(store->commit("api", GroupHistory{}, record("api", 1000 + i, 1, 1)).has_value());
  }
  const struct {
    const char* name;
    int limit;
    std::optional<long long> before;
    std::vector<long long> want;
  } cases[] = {
      {"newest three", 3, std::nullopt, {web_ids[24], web_ids[23], web_ids[22]}},
      {"before an id", 2, web_ids[10], {web_ids[9], web_ids[8]}},
      {"past the start", 5, web_ids[1], {web_ids[0]}},
      {"before the first", 5, web_ids[0], {}},
      {"limit zero", 0, std::nullopt, {}},
      {"negative limit", -1, std::nullopt, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto page = store->decisions("web", c.limit, c.before);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    std::vector<long long> got;
    for (const auto& d : *page) {
      EXPECT_EQ(d.group, "web");
      got.push_back(d.id);
    }
    EXPECT_EQ(got, c.want);
  }
  // Paging with `before` visits every decision exactly once.
  std::vector<long long> all;
  std::optional<long long> before;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = store->decisions("web", 7, before);
    ASSERT_TRUE(page.has_value());
    if (page->empty()) break;
    for (const auto& d : *page) all.push_back(d.id);
    before = page->back().id;
  }
  std::vector<long long> want(web_ids.rbegin(), web_ids.rend());
  EXPECT_EQ(all, want);
  EXPECT_TRUE(store->decisions("nobody", 10)->empty());
}

TEST(StateStore, DecisionByIdAndOutcome) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  auto id = store->commit("web", GroupHistory{}, record("web", 1, 2, 4));
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(store->set_outcome(*id, "applied").has_value());
  EXPECT_EQ((*store->decision(*id))->outcome, "applied");
  ASSERT_TRUE(store->set_outcome(*id, "failed: target said no").has_value());
  EXPECT_EQ((*store->decision(*id))->outcome, "failed: target said no");

  auto missing = store->set_outcome(*id + 100, "applied");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto none = store->decision(*id + 100);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST(StateStore, Flags) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  auto initial = store->flags("web");
  ASSERT_TRUE(initial.has_value());
  EXPECT_FALSE(initial->paused);
  EXPECT_FALSE(initial->override_capacity);
  EXPECT_FALSE(initial->override_until);

  const struct {
    const char* name;
    GroupFlags flags;
  } cases[] = {
      {"paused", GroupFlags{true, std::nullopt, std::nullopt}},
      {"override", GroupFlags{false, 7, ms(1'700'000'600'000)}},
      {"both", GroupFlags{true, 0, ms(5)}},
      {"override without expiry", GroupFlags{false, 3, std::nullopt}},
      {"cleared", GroupFlags{}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(store->set_flags("web", c.flags).has_value());
    auto got = store->flags("web");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->paused, c.flags.paused);
    EXPECT_EQ(got->override_capacity, c.flags.override_capacity);
    EXPECT_EQ(got->override_until, c.flags.override_until);
    EXPECT_FALSE(store->flags("api")->paused);
  }
}

TEST(StateStore, KeyValuePerGroup) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->get("web", "pids")->has_value());
  ASSERT_TRUE(store->put("web", "pids", "[1,2,3]").has_value());
  ASSERT_TRUE(store->put("api", "pids", "[9]").has_value());
  EXPECT_EQ(store->get("web", "pids")->value(), "[1,2,3]");
  ASSERT_TRUE(store->put("web", "pids", "").has_value());
  EXPECT_EQ(store->get("web", "pids")->value(), "");
  EXPECT_EQ(store->get("api", "pids")->value(), "[9]");
  // Binary-safe, NULs included.
  const std::string blob("a\0b\xff", 4);
  TargetStateStore target(*store, "web");
  ASSERT_TRUE(target.put("blob", blob).has_value());
  EXPECT_EQ(target.get("blob")->value(), blob);
  EXPECT_FALSE(TargetStateStore(*store, "api").get("blob")->has_value());
}

TEST(StateStore, PruneKeepsTheNewest) {
  auto store = open_or_die(":memory:");
  ASSERT_TRUE(store);
  std::vector<long long> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(*store->commit("web", GroupHistory{}, record("web", i, 1, 1)));
    ASSERT_TRUE(store->commit("api", GroupHistory{}, record("api", i, 1, 1)).has_value());
  }
  ASSERT_TRUE(store->prune("web", 3).has_value());
  auto left = store->decisions("web", 100);
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[0].id, ids[9]);
  EXPECT_EQ((*left)[2].id, ids[7]);
  EXPECT_EQ(store->decisions("api", 100)->size(), 10u);
  EXPECT_FALSE(store->decision(ids[6])->has_value());
  // The history survives pruning of the log.
  ASSERT_TRUE(store->load_history("web").has_value());

  ASSERT_TRUE(store->prune("web", 0).has_value());
  EXPECT_TRUE(store->decisions("web", 100)->empty());
  EXPECT_FALSE(store->prune("web", -1).has_value());
  // Ids keep increasing after the newest rows were deleted.
  auto next = store->commit("web", GroupHistory{}, record("web", 99, 1, 1));
  EXPECT_GT(*next, ids[9]);
  // Nothing to prune is fine.
  EXPECT_TRUE(store->prune("nobody", 5).has_value());
}

TEST(StateStore, ConcurrentCommitsFromSeveralThreads) {
  TempDir dir;
  auto store = open_or_die(dir.file("tide.db"));
  ASSERT_TRUE(store);
  constexpr int kThreads = 6;
  constexpr int kCommits = 150;
  std::vector<std::vector<long long>> ids(kThreads);
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (int t = 0; t < kThreads; ++t) {
        const std::string group = fmt::format("g{}", t);
        if (!store->decisions(group, 5).has_value()) ++failures;
        if (!store->load_history(group).has_value()) ++failures;
        if (!store->flags(group).has_value()) ++failures;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const std::string group = fmt::format("g{}", t);
      for (int i = 0; i < kCommits; ++i) {
        GroupHistory h;
        h.initialized = true;
        h.consecutive_no_data = i;
        auto id = store->commit(group, h, record(group, i, t, i));
        if (!id) {
          ++failures;
          continue;
        }
        ids[t].push_back(*id);
        if (!store->set_outcome(*id, "applied")) ++failures;
        if (!store->put(group, "last", std::to_string(i))) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<long long> unique;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), static_cast<std::size_t>(kCommits));
    EXPECT_TRUE(std::is_sorted(ids[t].begin(), ids[t].end()));
    unique.insert(ids[t].begin(), ids[t].end());
    const std::string group = fmt::format("g{}", t);
    EXPECT_EQ(store->load_history(group)->consecutive_no_data, kCommits - 1);
    EXPECT_EQ(store->decisions(group, 1000)->size(), static_cast<std::size_t>(kCommits));
    EXPECT_EQ(store->get(group, "last")->value(), std::to_string(kCommits - 1));
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kThreads * kCommits));
}

TEST(StateStore, SurvivesReopen) {
  TempDir dir;
  const std::string path = dir.file("tide.db");
  long long id = 0;
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    id = *store->commit("web", full_history(), record("web", 5, 1, 2));
    ASSERT_TRUE(store->set_flags("web", GroupFlags{true, 4, ms(100)}).has_value());
    ASSERT_TRUE(store->put("web", "k", "v").has_value());
  }
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  expect_same(full_history(), *store->load_history("web"));
  EXPECT_EQ((*store->decision(id))->desired, 2);
  EXPECT_TRUE(store->flags("web")->paused);
  EXPECT_EQ(store->flags("web")->override_capacity, 4);
  EXPECT_EQ(store->get("web", "k")->value(), "v");
}

void set_schema_version(const std::string& path, const char* value) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  const std::string sql =
      fmt::format("UPDATE meta SET value = '{}' WHERE key = 'schema_version'", value);
  ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
}

TEST(StateStore, RefusesWhatItCannotRead) {
  TempDir dir;
  const std::string newer = dir.file("newer.db");
  const std::string garbage_version = dir.file("garbage.db");
  const std::string not_a_db = dir.file("text.db");
  for (const auto& path : {newer, garbage_version}) ASSERT_TRUE(open_or_die(path));
  set_schema_version(newer, "3");
  set_schema_version(garbage_version, "two");
  std::ofstream(not_a_db) << "this is not a database, just some text that is long enough........"
                          << std::string(200, 'x');
  const struct {
    const char* name;
    std::string path;
    const char* message;
  } cases[] = {
      {"newer schema", newer, "has schema version 3, but this tide only knows versions up to 2"},
      {"unreadable version", garbage_version, "unreadable schema_version 'two'"},
      {"not a database", not_a_db, "file is not a database"},
      {"missing directory", dir.file("no/such/dir/tide.db"), "cannot open"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto store = open_state_store(c.path);
    ASSERT_FALSE(store.has_value());
    EXPECT_NE(store.error().message.find(c.message), std::string::npos) << store.error().message;
  }
}

TEST(StateStore, UsesWalAndRecordsTheSchemaVersion) {
  TempDir dir;
  const std::string path = dir.file("tide.db");
  ASSERT_TRUE(open_or_die(path));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  auto query = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  };
  EXPECT_EQ(query("PRAGMA journal_mode"), "wal");  // persistent in the file
  EXPECT_EQ(query("SELECT value FROM meta WHERE key = 'schema_version'"), "2");
  sqlite3_close(raw);
}

// A version 1 file (tide before predictive scaling) is upgraded in place: its data stays and the
// metric history table appears.
TEST(StateStore, UpgradesVersionOne) {
  const TimePoint kAt = ms(1'800'000'000'000);
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("web", "k", "v"));
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "DROP TABLE metric_history; "
                         "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get("web", "k")->value(), "v");
  const MetricPoint points[] = {{kAt, 1.5}};
  ASSERT_TRUE(store->put_metric_points("web", "load", points));
  EXPECT_EQ(store->metric_points("web", "load", kAt)->size(), 1u);
}

TEST(StateStore, MetricHistory) {
  const TimePoint kAt = ms(1'800'000'000'000);
  TempDir dir;
  const std::string path = dir.file("tide.db");
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    const MetricPoint first[] = {
        {kAt, 1}, {kAt + std::chrono::minutes(5), 2}, {kAt + std::chrono::minutes(10), 3}};
    ASSERT_TRUE(store->put_metric_points("web", "p/load", first));
    // The same time again replaces the value; another series and group stay apart.
    const MetricPoint again[] = {{kAt + std::chrono::minutes(10), 4}};
    ASSERT_TRUE(store->put_metric_points("web", "p/load", again));
    ASSERT_TRUE(store->put_metric_points("web", "other", again));
    ASSERT_TRUE(store->put_metric_points("api", "p/load", again));
  }
  auto store = open_or_die(path);  // survives a restart
  ASSERT_TRUE(store);
  auto all = store->metric_points("web", "p/load", kAt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].value, 1);
  EXPECT_EQ((*all)[2].value, 4);
  EXPECT_EQ(store->metric_points("web", "p/load", kAt + std::chrono::minutes(5))->size(), 2u);
  ASSERT_TRUE(store->prune_metric_points("web", "p/load", kAt + std::chrono::minutes(10)));
  all = store->metric_points("web", "p/load", kAt);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].at, kAt + std::chrono::minutes(10));
  EXPECT_EQ(store->metric_points("web", "other", kAt)->size(), 1u);
  EXPECT_EQ(store->metric_points("api", "p/load", kAt)->size(), 1u);
}

// ---- crash safety -------------------------------------------------------------------------------

// A child process commits in a loop and reports each commit that returned through a pipe; the
// parent SIGKILLs it at an arbitrary moment (usually mid-transaction), then reopens the file and
// checks that the database is intact and that every reported commit, and its history, is there.
TEST(StateStoreCrash, EveryReportedCommitSurvivesSigkill) {
  const struct {
    const char* name;
    int kill_after;  // reported commits before the kill
  } cases[] = {{"early", 1}, {"after some", 57}, {"after many", 400}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string path = dir.file("tide.db");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Child: no gtest, no return; only commit and report.
      close(fds[0]);
      auto store = open_state_store(path);
      if (!store) _exit(3);
      for (long long i = 1;; ++i) {
        GroupHistory h;
        h.initialized = true;
        h.consecutive_no_data = static_cast<int>(i);  // marks which commit wrote the history
        h.recommendations.push_back({ms(i * 1000), static_cast<int>(i)});
        DecisionRecord r;
        r.at = ms(i * 1000);
        r.current = static_cast<int>(i);
        r.desired = static_cast<int>(i) + 1;
        r.outcome = "pending";
        r.account = {{"n", i}, {"pad", std::string(512, 'p')}};
        auto id = (*store)->commit("web", h, r);
        if (!id) _exit(4);
        const long long report[2] = {i, *id};
        if (write(fds[1], report, sizeof report) != static_cast<ssize_t>(sizeof report)) _exit(5);
      }
    }
    close(fds[1]);
    std::vector<std::pair<long long, long long>> reported;  // (n, id)
    auto read_report = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      long long report[2];
      const ssize_t got = read(fds[0], report, sizeof report);
      if (got != static_cast<ssize_t>(sizeof report)) return false;
      reported.emplace_back(report[0], report[1]);
      return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (static_cast<int>(reported.size()) < c.kill_after &&
           std::chrono::steady_clock::now() < deadline) {
      if (!read_report(1000)) break;
    }
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    while (read_report(0)) {
    }
    close(fds[0]);
    ASSERT_GE(static_cast<int>(reported.size()), c.kill_after);

    // The file passes SQLite's own integrity check.
    {
      sqlite3* raw = nullptr;
      ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
      ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
      EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
      sqlite3_finalize(stmt);
      sqlite3_close(raw);
    }
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    for (const auto& [n, id] : reported) {
      auto d = store->decision(id);
      ASSERT_TRUE(d.has_value() && d->has_value()) << "lost reported commit " << n;
      EXPECT_EQ((*d)->account["n"], n);
      EXPECT_EQ((*d)->current, n);
    }
    // At most one commit finished after its report was lost; the history belongs to the newest
    // decision on disk (atomicity), and is at least as new as the last report.
    auto newest = store->decisions("web", 1);
    ASSERT_TRUE(newest.has_value());
    ASSERT_EQ(newest->size(), 1u);
    const long long newest_n = (*newest)[0].account["n"].get<long long>();
    EXPECT_GE(newest_n, reported.back().first);
    EXPECT_LE(newest_n, reported.back().first + 1);
    auto h = store->load_history("web");
    ASSERT_TRUE(h.has_value()) << h.error().message;
    EXPECT_EQ(h->consecutive_no_data, newest_n);
    EXPECT_EQ(store->decisions("web", 100000)->size(), static_cast<std::size_t>(newest_n));
    // And the store keeps working.
    EXPECT_TRUE(store->commit("web", *h, record("web", 0, 1, 1)).has_value());
  }
}

}  // namespace
}  // namespace tide
