#include "sources/redis/redis.hpp"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "sources/params.hpp"

namespace tide {
namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::optional<int> to_int(std::string_view s, int lo, int hi) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace

Result<RedisAddress> parse_redis_url(std::string_view url) {
  RedisAddress a;
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("invalid redis URL: {}", why));
  };
  if (url.starts_with("unix://")) {
    a.unix_socket = true;
    std::string_view rest = url.substr(7);
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (query.starts_with("db=")) {
        auto db = to_int(query.substr(3), 0, 1 << 20);
        if (!db) return bad("db must be a number");
        a.db = *db;
      }
    }
    if (!rest.starts_with('/')) return bad("unix:// needs an absolute path (unix:///path)");
    a.path = std::string(rest);
    return a;
  }
  if (url.starts_with("rediss://")) {
    return fail(ErrorCode::kInvalidArgument,
                "rediss:// (TLS) is not supported: the hiredis of Debian 12 (0.14) has no TLS");
  }
  if (!url.starts_with("redis://")) return bad("expected redis://, rediss:// or unix://");
  std::string_view rest = url.substr(8);
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path =
      authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view();
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (auto colon = info.find(':'); colon != std::string_view::npos) {
      a.user = percent_decode(info.substr(0, colon));
      a.password = percent_decode(info.substr(colon + 1));
    } else {
      a.password = percent_decode(info);  // redis://secret@host (Redis before 6: no users)
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return bad("expected ':' after the [IPv6] host");
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  a.host = std::string(host);
  if (!port.empty()) {
    auto p = to_int(port, 1, 65535);
    if (!p) return bad(fmt::format("invalid port '{}'", port));
    a.port = *p;
  }
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (!path.empty()) {
    auto db = to_int(path, 0, 1 << 20);
    if (!db) return bad(fmt::format("invalid database number '{}'", path));
    a.db = *db;
  }
  return a;
}

namespace {

enum class Kind { kList, kStream, kPending, kZset };

struct RedisQuery {
  Kind kind = Kind::kList;
  std::string key;
  std::string group;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

timeval to_timeval(std::chrono::steady_clock::duration d) {
  auto us =
      std::max<long long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

ErrorCode code_of(const redisContext* c) {
  std::string_view s = c->errstr;
  if (s.find("timed out") != std::string_view::npos ||
      s.find("temporarily unavailable") != std::string_view::npos) {
    return ErrorCode::kTimeout;
  }
  return ErrorCode::kUnavailable;
}

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

class RedisSource final : public Source {
 public:
  RedisSource(RedisAddress addr, std::string password, Duration timeout)
      : addr_(std::move(addr)), password_(std::move(password)), timeout_(timeout) {}

  Result<int> prepare(const nlohmann::json& query) override {
    RedisQuery q;
    q.key = params::str(query, "key");
    if (q.key.empty()) return fail(ErrorCode::kInvalidArgument, "redis: 'key' is required");
    const std::string kind = params::str(query, "kind", "list");
    q.group = params::str(query, "group");
    if (kind == "list") {
      q.kind = Kind::kList;
    } else if (kind == "stream") {
      q.kind = Kind::kStream;
    } else if (kind == "zset") {
      q.kind = Kind::kZset;
    } else if (kind == "pending") {
      q.kind = Kind::kPending;
      if (q.group.empty()) {
        return fail(ErrorCode::kInvalidArgument, "redis: kind 'pending' needs 'group'");
      }
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("redis: unknown kind '{}' (list, stream, pending, zset)", kind));
    }
    std::lock_guard lock(mu_);
    queries_.push_back(std::move(q));
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    RedisQuery q;
    {
      std::lock_guard lock(mu_);
      if (query < 0 || static_cast<std::size_t>(query) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "redis: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(query)];
    }
    std::vector<std::string> args;
    switch (q.kind) {
      case Kind::kList:
        args = {"LLEN", q.key};
        break;
      case Kind::kStream:
        args = {"XLEN", q.key};
        break;
      case Kind::kZset:
        args = {"ZCARD", q.key};
        break;
      case Kind::kPending:
        args = {"XPENDING", q.key, q.group};
        break;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::min(timeout_, timeout);
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto conn = take(deadline, reused);
      if (!conn) return std::unexpected(conn.error());
      redisContext* c = conn->get();
      redisSetTimeout(c, to_timeval(deadline - std::chrono::steady_clock::now()));
      Reply reply = command(c, args);
      if (!reply) {
        ErrorCode code = code_of(c);
        std::string err = fmt::format("redis {} {}: {}", args[0], q.key,
                                      c->errstr[0] != '\0' ? c->errstr : "no reply");
        // A reused connection may have died while idle: one more try on a fresh one.
        if (reused && attempt == 0 && code != ErrorCode::kTimeout &&
            std::chrono::steady_clock::now() < deadline) {
          continue;
        }
        return fail(code, err);
      }
      give(std::move(*conn));
      return interpret(q, args[0], *reply, now);
    }
  }

 private:
  static Result<std::vector<Sample>> interpret(const RedisQuery& q, const std::string& cmd,
                                               const redisReply& r, TimePoint now) {
    if (r.type == REDIS_REPLY_ERROR) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("redis {} {}: {}", cmd, q.key, std::string(r.str, r.len)));
    }
    const redisReply* n = &r;
    if (q.kind == Kind::kPending) {  // [count, smallest id, greatest id, [[consumer, count]...]]
      if (r.type != REDIS_REPLY_ARRAY || r.elements < 1) {
        return fail(ErrorCode::kUnavailable,
                    fmt::format("redis XPENDING {}: unexpected reply", q.key));
      }
      n = r.element[0];
    }
    if (n->type != REDIS_REPLY_INTEGER) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("redis {} {}: expected an integer reply", cmd, q.key));
    }
    return std::vector<Sample>{Sample{static_cast<double>(n->integer), now, ""}};
  }

  // An idle connection, or a new one (connected, authenticated, database selected).
  Result<Context> take(std::chrono::steady_clock::time_point deadline, bool& reused) {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        Context c = std::move(idle_.back());
        idle_.pop_back();
        reused = true;
        return c;
      }
    }
    reused = false;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      return fail(ErrorCode::kTimeout, "redis: no time left to connect");
    }
    const timeval tv = to_timeval(left);
    Context c(addr_.unix_socket ? redisConnectUnixWithTimeout(addr_.path.c_str(), tv)
                                : redisConnectWithTimeout(addr_.host.c_str(), addr_.port, tv));
    const std::string where =
        addr_.unix_socket ? addr_.path : fmt::format("{}:{}", addr_.host, addr_.port);
    if (!c) return fail(ErrorCode::kInternal, "redis: cannot allocate a connection");
    if (c->err != 0) {
      return fail(code_of(c.get()), fmt::format("redis: connect to {}: {}", where, c->errstr));
    }
    auto step = [&](const std::vector<std::string>& args, const char* what) -> Result<void> {
      redisSetTimeout(c.get(), to_timeval(deadline - std::chrono::steady_clock::now()));
      Reply r = command(c.get(), args);
      if (!r) {
        return fail(code_of(c.get()), fmt::format("redis: {} on {}: {}", what, where, c->errstr));
      }
      if (r->type == REDIS_REPLY_ERROR) {
        return fail(ErrorCode::kUnavailable,
                    fmt::format("redis: {} on {}: {}", what, where, std::string(r->str, r->len)));
      }
      return {};
    };
    std::string password = password_;
    if (password.empty()) password = addr_.password;
    if (!password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!addr_.user.empty()) auth.push_back(addr_.user);
      auth.push_back(password);
      if (auto r = step(auth, "AUTH"); !r) return std::unexpected(r.error());
    }
    if (addr_.db != 0) {
      if (auto r = step({"SELECT", std::to_string(addr_.db)}, "SELECT"); !r) {
        return std::unexpected(r.error());
      }
    }
    return c;
  }

  void give(Context c) {
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < 4) idle_.push_back(std::move(c));
  }

  const RedisAddress addr_;
  const std::string password_;  // from password_env (wins over the URL's)
  const Duration timeout_;
  std::mutex mu_;
  std::deque<RedisQuery> queries_;
  std::mutex pool_mu_;
  std::vector<Context> idle_;
};

void on_sigpipe(int) {}

// hiredis writes with write(2): a connection closed by the server would raise SIGPIPE and kill
// tide. A no-op handler (not SIG_IGN, which processes tide starts would inherit across exec) is
// installed unless the program already handles SIGPIPE (`tide run` does the same).
void handle_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction old {};
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      struct sigaction sa {};
      sa.sa_handler = on_sigpipe;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      sigaction(SIGPIPE, &sa, nullptr);
    }
  });
}

}  // namespace

Result<std::unique_ptr<Source>> make_redis_source(const SourceSpec& spec) {
  auto addr = parse_redis_url(params::str(spec.params, "url"));
  if (!addr) {
    return fail(addr.error().code, fmt::format("source '{}': {}", spec.name, addr.error().message));
  }
  std::string password;
  if (std::string env = params::str(spec.params, "password_env"); !env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr || *value == '\0') {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("source '{}': password_env: environment variable {} is not set",
                              spec.name, env));
    }
    password = value;
  }
  handle_sigpipe();
  return std::make_unique<RedisSource>(std::move(*addr), std::move(password),
                                       params::duration(spec.params, "timeout", Duration(2000)));
}

}  // namespace tide
