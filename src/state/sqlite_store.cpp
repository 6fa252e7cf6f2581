// The SQLite StateStore.
//
// Durability: WAL journal with synchronous=NORMAL. A transaction is committed once its frames are
// written to the WAL file (write(2) into the OS page cache), so a commit that returned survives
// any crash of the tide process, SIGKILL included: the kernel still writes the page cache out.
// What NORMAL gives up is the fsync at each commit; only an OS crash or power loss can roll back
// the last few transactions, and even then the database stays consistent (the WAL checksums cut
// it at the last complete transaction). FULL would add one fsync per decision (milliseconds on
// network disks, taken under the store's lock); tide's scale calls are absolute ("set capacity to
// N"), so a decision lost with the machine is re-made from the target's real state on the next
// evaluation. Checkpoints fsync as usual.
//
// Concurrency: one connection guarded by a mutex (the engine commits a few decisions a second; the
// API reads a handful of rows per request). busy_timeout covers other processes holding the file,
// e.g. `sqlite3 tide.db .backup` during an online backup.
//
// Schema versioning: meta(key, value) holds schema_version. A database with a newer version than
// this binary knows is refused with a clear error rather than misread; an older one is upgraded
// in place, one version at a time (1 -> 2 adds metric_history).
#include <sqlite3.h>

#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "state/state.hpp"

namespace tide {
namespace {

constexpr int kSchemaVersion = 2;
constexpr int kBusyTimeoutMs = 5000;

// Version 1. Times are integer milliseconds since the unix epoch. AUTOINCREMENT keeps decision ids
// increasing even after prune() deleted the newest rows of a group.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE history (
  grp        TEXT PRIMARY KEY,
  json       TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE decisions (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  grp      TEXT NOT NULL,
  at_ms    INTEGER NOT NULL,
  current  INTEGER NOT NULL,
  desired  INTEGER NOT NULL,
  bound_by TEXT NOT NULL,
  outcome  TEXT NOT NULL,
  account  TEXT NOT NULL
);
CREATE INDEX decisions_by_group ON decisions (grp, id);
CREATE TABLE flags (
  grp               TEXT PRIMARY KEY,
  paused            INTEGER NOT NULL,
  override_capacity INTEGER,
  override_until_ms INTEGER
);
CREATE TABLE kv (
  grp   TEXT NOT NULL,
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (grp, key)
);
)sql";

// Version 2: the metric history of predictive policies (one point per bucket and series).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE metric_history (
  grp    TEXT NOT NULL,
  series TEXT NOT NULL,
  at_ms  INTEGER NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (grp, series, at_ms)
) WITHOUT ROWID;
)sql";

std::unexpected<Error> db_error(sqlite3* db, std::string_view what) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  const char* message = db ? sqlite3_errmsg(db) : "no database";
  ErrorCode kind = ErrorCode::kInternal;
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) kind = ErrorCode::kTimeout;
  if ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_IOERR ||
      (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_READONLY) {
    kind = ErrorCode::kUnavailable;
  }
  return fail(kind, fmt::format("state store: {}: {}", what, message));
}

// A prepared statement, reset and unbound after each use by a Use guard.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Result<void> prepare(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      return db_error(db, fmt::format("preparing '{}'", sql));
    }
    return {};
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Use {
 public:
  explicit Use(const Statement& s) : stmt_(s.get()) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  sqlite3_stmt* operator*() const { return stmt_; }

  void bind(int i, long long v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_null(int i) { sqlite3_bind_null(stmt_, i); }
  int step() { return sqlite3_step(stmt_); }

  long long integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_;
};

long long to_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
TimePoint from_ms(long long ms) {
  return TimePoint(Duration(ms));
}

constexpr const char* kDecisionColumns =
    "id, grp, at_ms, current, desired, bound_by, outcome, account";

class SqliteStore final : public StateStore {
 public:
  ~SqliteStore() override {
    // Statements must be finalized before the connection closes.
    statements_.reset();
    sqlite3_close(db_);
  }

  static Result<std::unique_ptr<StateStore>> open(const std::string& path) {
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore());
    auto ok = store->init(path);
    if (!ok) return std::unexpected(ok.error());
    return std::unique_ptr<StateStore>(std::move(store));
  }

  Result<GroupHistory> load_history(std::string_view group) override {
    std::lock_guard lock(mu_);
    Use q(statements_->load_history);
    q.bind(1, group);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return GroupHistory{};
    if (rc != SQLITE_ROW) return db_error(db_, "reading history");
    auto parsed = nlohmann::json::parse(q.text(0), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return fail(ErrorCode::kInternal,
                  fmt::format("state store: the history of group '{}' is not valid JSON", group));
    }
    auto history = history_from_json(parsed);
    if (!history) {
      return fail(ErrorCode::kInternal,
                  fmt::format("state store: group '{}': {}", group, history.error().message));
    }
    return history;
  }

  Result<long long> commit(std::string_view group, const GroupHistory& history,
                           const DecisionRecord& record) override {
    if (!record.group.empty() && record.group != group) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("state store: commit for group '{}' carries a decision of '{}'",
                              group, record.group));
    }
    const std::string history_text = history_to_json(history).dump();
    // Invalid UTF-8 in a reason must not lose the decision: replace it rather than throw.
    const std::string account_text =
        record.account.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard lock(mu_);
    auto begun = exec_locked("BEGIN IMMEDIATE");
    if (!begun) return std::unexpected(begun.error());
    auto result = [&]() -> Result<long long> {
      {
        Use q(statements_->insert_decision);
        q.bind(1, group);
        q.bind(2, to_ms(record.at));
        q.bind(3, static_cast<long long>(record.current));
        q.bind(4, static_cast<long long>(record.desired));
        q.bind(5, record.bound_by);
        q.bind(6, record.outcome);
        q.bind(7, account_text);
        if (q.step() != SQLITE_DONE) return db_error(db_, "recording a decision");
      }
      const long long id = sqlite3_last_insert_rowid(db_);
      {
        Use q(statements_->save_history);
        q.bind(1, group);
        q.bind(2, history_text);
        q.bind(3, to_ms(record.at));
        if (q.step() != SQLITE_DONE) return db_error(db_, "saving history");
      }
      auto committed = exec_locked("COMMIT");
      if (!committed) return std::unexpected(committed.error());
      return id;
    }();
    if (!result) exec_locked("ROLLBACK");  // best effort; a failed COMMIT may already have ended it
    return result;
  }

  Result<void> set_outcome(long long decision_id, std::string_view outcome) override {
    std::lock_guard lock(mu_);
    Use q(statements_->set_outcome);
    q.bind(1, outcome);
    q.bind(2, decision_id);
    if (q.step() != SQLITE_DONE) return db_error(db_, "updating an outcome");
    if (sqlite3_changes(db_) == 0) {
      return fail(ErrorCode::kNotFound, fmt::format("state store: no decision {}", decision_id));
    }
    return {};
  }

  Result<std::vector<DecisionRecord>> decisions(std::string_view group, int limit,
                                                std::optional<long long> before) override {
    std::vector<DecisionRecord> out;
    if (limit <= 0) return out;
    std::lock_guard lock(mu_);
    Use q(statements_->list_decisions);
    q.bind(1, group);
    q.bind(2, before.value_or(std::numeric_limits<long long>::max()));
    q.bind(3, static_cast<long long>(limit));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto record = read_record(q);
      if (!record) return std::unexpected(record.error());
      out.push_back(std::move(*record));
    }
    if (rc != SQLITE_DONE) return db_error(db_, "listing decisions");
    return out;
  }

  Result<std::optional<DecisionRecord>> decision(long long id) override {
    std::lock_guard lock(mu_);
    Use q(statements_->get_decision);
    q.bind(1, id);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<DecisionRecord>();
    if (rc != SQLITE_ROW) return db_error(db_, "reading a decision");
    auto record = read_record(q);
    if (!record) return std::unexpected(record.error());
    return std::optional<DecisionRecord>(std::move(*record));
  }

  Result<GroupFlags> flags(std::string_view group) override {
    std::lock_guard lock(mu_);
    Use q(statements_->get_flags);
    q.bind(1, group);
    const int rc = q.step();
    GroupFlags flags;
    if (rc == SQLITE_DONE) return flags;
    if (rc != SQLITE_ROW) return db_error(db_, "reading flags");
    flags.paused = q.integer(0) != 0;
    if (!q.is_null(1)) flags.override_capacity = static_cast<int>(q.integer(1));
    if (!q.is_null(2)) flags.override_until = from_ms(q.integer(2));
    return flags;
  }

  Result<void> set_flags(std::string_view group, const GroupFlags& flags) override {
    std::lock_guard lock(mu_);
    Use q(statements_->set_flags);
    q.bind(1, group);
    q.bind(2, flags.paused ? 1LL : 0LL);
    if (flags.override_capacity) {
      q.bind(3, static_cast<long long>(*flags.override_capacity));
    } else {
      q.bind_null(3);
    }
    if (flags.override_until) {
      q.bind(4, to_ms(*flags.override_until));
    } else {
      q.bind_null(4);
    }
    if (q.step() != SQLITE_DONE) return db_error(db_, "saving flags");
    return {};
  }

  Result<std::optional<std::string>> get(std::string_view group, std::string_view key) override {
    std::lock_guard lock(mu_);
    Use q(statements_->get_kv);
    q.bind(1, group);
    q.bind(2, key);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return db_error(db_, "reading a target value");
    return std::optional<std::string>(q.text(0));
  }

  Result<void> put(std::string_view group, std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    Use q(statements_->put_kv);
    q.bind(1, group);
    q.bind(2, key);
    q.bind(3, value);
    if (q.step() != SQLITE_DONE) return db_error(db_, "saving a target value");
    return {};
  }

  Result<void> put_metric_points(std::string_view group, std::string_view series,
                                 std::span<const MetricPoint> points) override {
    if (points.empty()) return {};
    std::lock_guard lock(mu_);
    auto begun = exec_locked("BEGIN IMMEDIATE");
    if (!begun) return std::unexpected(begun.error());
    auto result = [&]() -> Result<void> {
      for (const MetricPoint& p : points) {
        Use q(statements_->put_metric);
        q.bind(1, group);
        q.bind(2, series);
        q.bind(3, to_ms(p.at));
        sqlite3_bind_double(*q, 4, p.value);
        if (q.step() != SQLITE_DONE) return db_error(db_, "saving metric history");
      }
      return exec_locked("COMMIT");
    }();
    if (!result) exec_locked("ROLLBACK");
    return result;
  }

  Result<std::vector<MetricPoint>> metric_points(std::string_view group, std::string_view series,
                                                 TimePoint since) override {
    std::vector<MetricPoint> out;
    std::lock_guard lock(mu_);
    Use q(statements_->list_metric);
    q.bind(1, group);
    q.bind(2, series);
    q.bind(3, to_ms(since));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      out.push_back({from_ms(q.integer(0)), sqlite3_column_double(*q, 1)});
    }
    if (rc != SQLITE_DONE) return db_error(db_, "reading metric history");
    return out;
  }

  Result<void> prune_metric_points(std::string_view group, std::string_view series,
                                   TimePoint before) override {
    std::lock_guard lock(mu_);
    Use q(statements_->prune_metric);
    q.bind(1, group);
    q.bind(2, series);
    q.bind(3, to_ms(before));
    if (q.step() != SQLITE_DONE) return db_error(db_, "pruning metric history");
    return {};
  }

  Result<void> prune(std::string_view group, int keep) override {
    if (keep < 0) {
      return fail(ErrorCode::kInvalidArgument, "state store: prune needs keep >= 0");
    }
    std::lock_guard lock(mu_);
    Use q(statements_->prune);
    q.bind(1, group);
    q.bind(2, static_cast<long long>(keep));
    if (q.step() != SQLITE_DONE) return db_error(db_, "pruning decisions");
    return {};
  }

 private:
  struct Statements {
    Statement load_history, save_history, insert_decision, set_outcome, list_decisions,
        get_decision, get_flags, set_flags, get_kv, put_kv, prune, put_metric, list_metric,
        prune_metric;
  };

  SqliteStore() = default;

  Result<void> exec_locked(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return fail(ErrorCode::kInternal, fmt::format("state store: {}: {}", sql, text));
    }
    return {};
  }

  Result<void> init(const std::string& path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      auto error = db_error(db_, fmt::format("cannot open '{}'", path));
      error.error().code = ErrorCode::kUnavailable;
      return error;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // journal_mode answers with a row; a file that is not a database fails here.
    {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr) != SQLITE_OK ||
          sqlite3_step(stmt) != SQLITE_ROW) {
        auto error = db_error(db_, fmt::format("opening '{}'", path));
        sqlite3_finalize(stmt);
        return error;
      }
      sqlite3_finalize(stmt);
    }
    for (const char* pragma : {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      if (auto ok = exec_locked(pragma); !ok) return ok;
    }
    if (auto ok = migrate(path); !ok) return ok;
    return prepare_all();
  }

  // Creates the schema in a fresh file, refuses a newer one, upgrades an older one (none yet).
  Result<void> migrate(const std::string& path) {
    if (auto ok = exec_locked("BEGIN IMMEDIATE"); !ok) return ok;
    auto result = [&]() -> Result<void> {
      if (auto ok = exec_locked(
              "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
          !ok) {
        return ok;
      }
      int version = 0;
      {
        Statement read;
        if (auto ok = read.prepare(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
            !ok) {
          return ok;
        }
        Use q(read);
        const int rc = q.step();
        if (rc == SQLITE_ROW) {
          const std::string text = q.text(0);
          try {
            std::size_t used = 0;
            version = std::stoi(text, &used);
            if (used != text.size() || version <= 0) throw std::invalid_argument(text);
          } catch (const std::exception&) {
            return fail(
                ErrorCode::kInvalidArgument,
                fmt::format("state store '{}': unreadable schema_version '{}'", path, text));
          }
        } else if (rc != SQLITE_DONE) {
          return db_error(db_, "reading schema_version");
        }
      }
      if (version > kSchemaVersion) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("state store '{}' has schema version {}, but this tide only knows "
                                "versions up to {}: it was written by a newer tide. Run that "
                                "version, or point `state:` at another file",
                                path, version, kSchemaVersion));
      }
      if (version == 0) {
        if (auto ok = exec_locked(kSchemaV1); !ok) return ok;
        if (auto ok = exec_locked("INSERT INTO meta (key, value) VALUES ('schema_version', '1')");
            !ok) {
          return ok;
        }
        version = 1;
      }
      // Upgrades, each one step that bumps schema_version.
      if (version < 2) {
        if (auto ok = exec_locked(kSchemaV2); !ok) return ok;
        if (auto ok = exec_locked("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
            !ok) {
          return ok;
        }
      }
      return exec_locked("COMMIT");
    }();
    if (!result) exec_locked("ROLLBACK");
    return result;
  }

  Result<void> prepare_all() {
    statements_ = std::make_unique<Statements>();
    Statements& s = *statements_;
    const std::string select_decisions =
        fmt::format("SELECT {} FROM decisions WHERE grp = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                    kDecisionColumns);
    const std::string select_decision =
        fmt::format("SELECT {} FROM decisions WHERE id = ?1", kDecisionColumns);
    const std::pair<Statement*, const char*> all[] = {
        {&s.load_history, "SELECT json FROM history WHERE grp = ?1"},
        {&s.save_history,
         "INSERT INTO history (grp, json, updated_ms) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (grp) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms"},
        {&s.insert_decision,
         "INSERT INTO decisions (grp, at_ms, current, desired, bound_by, outcome, account) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&s.set_outcome, "UPDATE decisions SET outcome = ?1 WHERE id = ?2"},
        {&s.list_decisions, select_decisions.c_str()},
        {&s.get_decision, select_decision.c_str()},
        {&s.get_flags,
         "SELECT paused, override_capacity, override_until_ms FROM flags WHERE grp = ?1"},
        {&s.set_flags,
         "INSERT INTO flags (grp, paused, override_capacity, override_until_ms) "
         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (grp) DO UPDATE SET paused = excluded.paused, "
         "override_capacity = excluded.override_capacity, "
         "override_until_ms = excluded.override_until_ms"},
        {&s.get_kv, "SELECT value FROM kv WHERE grp = ?1 AND key = ?2"},
        {&s.put_kv,
         "INSERT INTO kv (grp, key, value) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (grp, key) DO UPDATE SET value = excluded.value"},
        {&s.prune,
         "DELETE FROM decisions WHERE grp = ?1 AND id NOT IN "
         "(SELECT id FROM decisions WHERE grp = ?1 ORDER BY id DESC LIMIT ?2)"},
        {&s.put_metric,
         "INSERT INTO metric_history (grp, series, at_ms, value) VALUES (?1, ?2, ?3, ?4) "
         "ON CONFLICT (grp, series, at_ms) DO UPDATE SET value = excluded.value"},
        {&s.list_metric,
         "SELECT at_ms, value FROM metric_history WHERE grp = ?1 AND series = ?2 AND at_ms >= ?3 "
         "ORDER BY at_ms"},
        {&s.prune_metric,
         "DELETE FROM metric_history WHERE grp = ?1 AND series = ?2 AND at_ms < ?3"},
    };
    for (const auto& [statement, sql] : all) {
      if (auto ok = statement->prepare(db_, sql); !ok) return ok;
    }
    return {};
  }

  Result<DecisionRecord> read_record(const Use& q) {
    DecisionRecord r;
    r.id = q.integer(0);
    r.group = q.text(1);
    r.at = from_ms(q.integer(2));
    r.current = static_cast<int>(q.integer(3));
    r.desired = static_cast<int>(q.integer(4));
    r.bound_by = q.text(5);
    r.outcome = q.text(6);
    r.account = nlohmann::json::parse(q.text(7), nullptr, /*allow_exceptions=*/false);
    if (r.account.is_discarded()) {
      return fail(ErrorCode::kInternal,
                  fmt::format("state store: decision {} has an unreadable account", r.id));
    }
    return r;
  }

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> open_state_store(const std::string& path) {
  return SqliteStore::open(path);
}

}  // namespace tide
