// Single-flight with a tiny cache, for sources shared by many groups: callers asking for the same
// key while a fetch is running, or within `window` after it started, share that fetch's result
// instead of sending their own request. A failed fetch is shared with the callers that were
// already waiting for it, but is not cached: the next caller tries again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide {

template <class V>
class SingleFlight {
 public:
  explicit SingleFlight(Duration window) : window_(window) {}

  // A caller's place in a fetch. When `owner` is set, this caller must run the fetch and hand the
  // result to complete(); everyone else waits on `result`.
  struct Ticket {
    std::shared_future<Result<V>> result;
    std::shared_ptr<std::promise<Result<V>>> owner;
    std::uint64_t id = 0;
  };

  Ticket join(const std::string& key) {
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    std::lock_guard lock(mu_);
    if (entries_.size() > 256) prune(now);
    auto it = entries_.find(key);
    if (it != entries_.end() && (!it->second.done || now - it->second.started <= window_)) {
      ++shared_;
      return Ticket{it->second.result, nullptr, it->second.id};
    }
    auto promise = std::make_shared<std::promise<Result<V>>>();
    Entry e{promise->get_future().share(), now, false, ++next_id_};
    Ticket t{e.result, promise, e.id};
    entries_[key] = std::move(e);
    ++fetches_;
    return t;
  }

  void complete(const std::string& key, const Ticket& ticket, Result<V> value) {
    const bool ok = value.has_value();
    ticket.owner->set_value(std::move(value));
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.id != ticket.id) return;
    if (ok) {
      it->second.done = true;
    } else {
      entries_.erase(it);
    }
  }

  // Waits at most `timeout` for the ticket's result.
  static Result<V> wait(const Ticket& ticket, Duration timeout, std::string_view what) {
    if (ticket.result.wait_for(std::max(timeout, Duration(0))) != std::future_status::ready) {
      return fail(ErrorCode::kTimeout,
                  fmt::format("{}: timed out after {} waiting for a shared request", what,
                              format_duration(timeout)));
    }
    return ticket.result.get();
  }

  // join + (fetch | wait): the common case of one key per call.
  Result<V> get(const std::string& key, Duration timeout, std::string_view what,
                const std::function<Result<V>()>& fetch) {
    Ticket t = join(key);
    if (t.owner) {
      Result<V> r = fail(ErrorCode::kInternal, std::string(what) + ": fetch failed");
      try {
        r = fetch();
      } catch (const std::exception& e) {
        r = fail(ErrorCode::kInternal, fmt::format("{}: {}", what, e.what()));
      } catch (...) {
      }
      complete(key, t, r);
      return r;
    }
    return wait(t, timeout, what);
  }

  // Backend requests started, and calls served by another caller's request (for tests and
  // metrics).
  std::uint64_t fetches() const {
    std::lock_guard lock(mu_);
    return fetches_;
  }
  std::uint64_t shared() const {
    std::lock_guard lock(mu_);
    return shared_;
  }

 private:
  struct Entry {
    std::shared_future<Result<V>> result;
    std::chrono::steady_clock::time_point started;
    bool done = false;
    std::uint64_t id = 0;
  };

  void prune(std::chrono::steady_clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.done && now - it->second.started > window_) {
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const Duration window_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::uint64_t next_id_ = 0;
  std::uint64_t fetches_ = 0;
  std::uint64_t shared_ = 0;
};

}  // namespace tide
