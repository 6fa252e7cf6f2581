// Retries as the AWS SDKs' "standard" retry mode does them (SDKs and Tools Reference Guide,
// "Retry behavior"; botocore's retries/standard.py):
//  - at most 3 attempts;
//  - throttling errors (errors.hpp is_throttling) and transient ones (500/502/503/504,
//    RequestTimeout, connection errors, timeouts) are retried, nothing else;
//  - before retry i (1-based) wait min(r * base * 2^(i-1), 20 s) with r uniform in [0, 1)
//    ("full jitter"); base is 1 s as in the reference guide's formula (the 2026 update of the SDKs
//    moves transient errors to 50 ms and keeps throttling at 1 s: both are options);
//  - a retry quota per client: 500 tokens, a retry costs 5 (10 after a timeout); a call that
//    succeeds gives back what its last retry took, or 1 when it was not retried. An empty quota
//    means no retries until calls succeed again (a long outage fails fast).
#pragma once

#include <mutex>

#include "core/time.hpp"

namespace tide::aws {

struct RetryOptions {
  int max_attempts = 3;
  Duration attempt_timeout{5000};        // one attempt (the call's own budget may be shorter)
  Duration base_delay{1000};             // transient errors
  Duration throttling_base_delay{1000};  // throttling errors
  Duration max_backoff{20000};
  int quota = 500;
  int retry_cost = 5;
  int timeout_retry_cost = 10;
  int no_retry_increment = 1;
};

// The delay before retry `retry` (1 = the first retry) for a random `r` in [0, 1).
Duration backoff_delay(const RetryOptions& options, int retry, bool throttled, double r);

// The token bucket shared by a client's calls. Thread-safe.
class RetryQuota {
 public:
  explicit RetryQuota(int capacity = 500) : capacity_(capacity), available_(capacity) {}
  // Takes `amount` tokens; false (and nothing taken) when fewer are left.
  bool acquire(int amount);
  // Gives back up to `amount` tokens (never above the capacity).
  void release(int amount);
  int available() const;

 private:
  const int capacity_;
  mutable std::mutex mu_;
  int available_;
};

}  // namespace tide::aws
