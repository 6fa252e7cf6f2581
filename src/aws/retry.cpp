#include "aws/retry.hpp"

#include <algorithm>
#include <cmath>

namespace tide::aws {

Duration backoff_delay(const RetryOptions& options, int retry, bool throttled, double r) {
  const Duration base = throttled ? options.throttling_base_delay : options.base_delay;
  r = std::clamp(r, 0.0, 1.0);
  const double ms = r * static_cast<double>(base.count()) * std::pow(2.0, std::max(0, retry - 1));
  return std::min(Duration(static_cast<long long>(ms)), options.max_backoff);
}

bool RetryQuota::acquire(int amount) {
  std::lock_guard lock(mu_);
  if (amount > available_) return false;
  available_ -= amount;
  return true;
}

void RetryQuota::release(int amount) {
  std::lock_guard lock(mu_);
  available_ = std::min(capacity_, available_ + amount);
}

int RetryQuota::available() const {
  std::lock_guard lock(mu_);
  return available_;
}

}  // namespace tide::aws
