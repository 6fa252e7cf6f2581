// Lambda memory right-sizing from the function's observed duration, its timeout and Lambda's
// price model (docs/aws.md, "Right-sizing Lambda memory").
//
// The model. Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU,
// 10,240 MB six. Code that keeps `threads` vCPUs busy runs faster as memory grows up to
// cap = threads x 1,769 MB and no faster beyond. From a duration D0 observed at memory M0, the
// duration at memory M is estimated as
//   D(M) = io + (D0 - io) x min(M0, cap) / min(M, cap)
// where io (`io_time`, at most D0) is the part that memory does not shorten (waiting on a
// database, another service). Lambda bills memory x duration in GB-seconds, plus a price per
// request that memory does not change, so the part of an invocation's cost that depends on memory
// is
//   C(M) = M / 1024 x D(M) / 1000   GB-seconds (times the region's price per GB-second).
//
// The decision. Candidates are the multiples of `step` from 128 to 10,240 MB. Those estimated to
// keep the duration at or under the target (timeout_share x function_timeout) meet it, and the
// cheapest of them wins (equal costs: the smaller memory, the least change upwards). The current
// memory is held when it meets the target itself and the cheapest would save no more than
// `tolerance` of its cost: every change recycles the function's warm execution environments
// (cold starts), which a small saving does not pay for. When no candidate meets the target the
// fastest wins (equal durations: the smaller, cheaper memory).
//
// Under this model C(M) never falls as M grows (constant for CPU-bound code below the cap, rising
// with any io and past the cap), so the cheapest memory meeting the target is the smallest one;
// the cost matters for when a change is worth making and for what the explanation reports.
#include <algorithm>
#include <cmath>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

constexpr double kEpsilon = 1e-9;  // relative: equal costs and durations despite rounding

}  // namespace

double lambda_duration_ms(const LambdaMemorySpec& spec, double observed_ms, int current_mb,
                          int memory_mb) {
  const double cap = static_cast<double>(std::clamp(spec.threads, 1, 6)) * kLambdaMbPerVcpu;
  const double io = std::clamp(static_cast<double>(spec.io_time.count()), 0.0, observed_ms);
  const double cpu = observed_ms - io;
  return io + cpu * std::min(static_cast<double>(current_mb), cap) /
                  std::min(static_cast<double>(memory_mb), cap);
}

double lambda_gb_seconds(int memory_mb, double duration_ms) {
  return static_cast<double>(memory_mb) / 1024.0 * duration_ms / 1000.0;
}

Proposal propose_lambda_memory(const LambdaMemorySpec& spec, const MetricReading& reading,
                               int current) {
  const double target = spec.target_ms();
  const double observed = reading.value;
  if (!reading.ok || !std::isfinite(observed) || observed < 0 || current <= 0 || !(target > 0) ||
      spec.step <= 0 || spec.step > kLambdaMaxMemoryMb) {
    return detail::no_data();
  }
  const int first =
      std::max(spec.step, (kLambdaMinMemoryMb + spec.step - 1) / spec.step * spec.step);
  int cheapest = 0, fastest = 0;
  double cheapest_cost = 0, fastest_ms = 0;
  for (int m = first; m <= kLambdaMaxMemoryMb; m += spec.step) {
    const double d = lambda_duration_ms(spec, observed, current, m);
    if (fastest == 0 || d < fastest_ms * (1 - kEpsilon)) {
      fastest = m;
      fastest_ms = d;
    }
    if (d > target * (1 + kEpsilon)) continue;
    const double cost = static_cast<double>(m) * d;
    if (cheapest == 0 || cost < cheapest_cost * (1 - kEpsilon)) {
      cheapest = m;
      cheapest_cost = cost;
    }
  }

  Proposal p;
  p.status = ProposalStatus::kValue;
  p.a = observed;
  p.b = target;
  const double current_cost = static_cast<double>(current) * observed;
  if (cheapest != 0 && observed <= target * (1 + kEpsilon) &&
      cheapest_cost >= (1 - spec.tolerance) * current_cost * (1 - kEpsilon)) {
    p.reason = Reason::kMemoryHeld;
    p.capacity = current;
  } else if (cheapest != 0) {
    p.reason = Reason::kMemoryRightSized;
    p.capacity = cheapest;
  } else {
    p.reason = Reason::kMemoryFastest;
    p.capacity = fastest;
  }
  p.c = lambda_duration_ms(spec, observed, current, p.capacity);
  p.d = lambda_gb_seconds(p.capacity, p.c);
  return p;
}

}  // namespace tide
