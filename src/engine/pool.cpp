#include "engine/pool.hpp"

#include <algorithm>

namespace tide {

WorkerPool::WorkerPool(int core, int max, SteadyClock::duration stall, SteadyClock::duration idle)
    : core_(std::max(1, core)),
      max_(std::max(std::max(1, core), max)),
      stall_(stall),
      idle_(idle) {}

WorkerPool::~WorkerPool() {
  shutdown(false);
}

void WorkerPool::spawn_locked() {
  ++threads_;
  ++starting_;
  std::thread t([this] { worker_loop(); });
  const auto id = t.get_id();
  workers_.emplace(id, std::move(t));
}

void WorkerPool::submit(std::function<void()> job) {
  join_exited();
  std::lock_guard lock(mu_);
  if (stopping_) return;
  queue_.emplace_back(SteadyClock::now(), std::move(job));
  if (idle_threads_ > 0) {
    work_cv_.notify_one();
  } else if (threads_ < core_) {
    spawn_locked();
  }
}

std::optional<WorkerPool::SteadyClock::time_point> WorkerPool::check_stall() {
  join_exited();
  std::lock_guard lock(mu_);
  if (queue_.empty() || stopping_) return std::nullopt;
  const auto waited_since = queue_.front().first;
  const auto now = SteadyClock::now();
  // Queued jobs beyond the idle and just-started workers that will pick them up have stalled.
  if (now - waited_since >= stall_ && static_cast<int>(queue_.size()) > idle_threads_ + starting_ &&
      threads_ < max_) {
    spawn_locked();
    return now + stall_;
  }
  return std::max(now, waited_since + stall_);
}

void WorkerPool::worker_loop() {
  std::unique_lock lock(mu_);
  --starting_;
  for (;;) {
    if (!queue_.empty() && (!stopping_ || drain_)) {
      auto job = std::move(queue_.front().second);
      queue_.pop_front();
      ++running_;
      lock.unlock();
      job();
      job = nullptr;  // destroy captures outside the lock
      lock.lock();
      --running_;
      state_cv_.notify_all();
      continue;
    }
    if (stopping_) break;
    ++idle_threads_;
    bool timed_out = false;
    if (threads_ > core_) {
      timed_out = !work_cv_.wait_for(lock, idle_, [&] { return !queue_.empty() || stopping_; });
    } else {
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    }
    --idle_threads_;
    if (timed_out && threads_ > core_) break;
  }
  --threads_;
  auto it = workers_.find(std::this_thread::get_id());
  if (it != workers_.end()) {
    exited_.push_back(std::move(it->second));
    workers_.erase(it);
  }
  state_cv_.notify_all();
}

void WorkerPool::join_exited() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu_);
    done.swap(exited_);
  }
  for (std::thread& t : done) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::wait_idle() {
  std::unique_lock lock(mu_);
  state_cv_.wait(lock, [&] { return (queue_.empty() || (stopping_ && !drain_)) && running_ == 0; });
}

void WorkerPool::shutdown(bool drain) {
  {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_ = drain;
    }
    if (!drain_) queue_.clear();
    if (drain_ && !queue_.empty() && threads_ == 0) spawn_locked();
    work_cv_.notify_all();
    state_cv_.wait(lock, [&] { return threads_ == 0; });
  }
  join_exited();
}

int WorkerPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

int WorkerPool::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

}  // namespace tide
