#include "engine/observe.hpp"

#include <cmath>
#include <limits>
#include <variant>

namespace tide {
namespace {

Combine from_aggregation(Aggregation a) {
  switch (a) {
    case Aggregation::kAverage:
      return Combine::kAverage;
    case Aggregation::kMinimum:
      return Combine::kMinimum;
    case Aggregation::kMaximum:
      return Combine::kMaximum;
  }
  return Combine::kAverage;
}

// "http://127.0.0.1:8001/metrics" -> "127.0.0.1:8001"; text without a scheme is returned whole.
std::string_view host_port(std::string_view text) {
  const std::size_t scheme = text.find("://");
  if (scheme == std::string_view::npos) return text;
  std::string_view rest = text.substr(scheme + 3);
  const std::size_t end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  return rest;
}

struct Accumulator {
  Combine combine;
  double sum = 0, lo = std::numeric_limits<double>::infinity(),
         hi = -std::numeric_limits<double>::infinity();
  int n = 0;

  void add(double v) {
    sum += v;
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
    ++n;
  }
  double value() const {
    switch (combine) {
      case Combine::kSum:
        return sum;
      case Combine::kAverage:
        return sum / n;
      case Combine::kMinimum:
        return lo;
      case Combine::kMaximum:
        return hi;
    }
    return sum;
  }
};

}  // namespace

Combine combine_for(const PolicySpec& policy) {
  if (const auto* tt = std::get_if<TargetTrackingSpec>(&policy.spec)) {
    return tt->kind == TargetKind::kTotal ? Combine::kSum : Combine::kAverage;
  }
  if (const auto* step = std::get_if<StepSpec>(&policy.spec)) {
    return from_aggregation(step->aggregation);
  }
  if (const auto* simple = std::get_if<SimpleSpec>(&policy.spec)) {
    return from_aggregation(simple->aggregation);
  }
  if (std::holds_alternative<LambdaMemorySpec>(policy.spec)) {
    return Combine::kMaximum;  // a duration: the slowest series (e.g. of a SEARCH) decides
  }
  return Combine::kSum;  // queue, panic, predictive (group totals); scheduled reads nothing
}

bool uses_instances(const PolicySpec& policy) {
  if (const auto* tt = std::get_if<TargetTrackingSpec>(&policy.spec)) {
    return tt->kind != TargetKind::kTotal;
  }
  return std::holds_alternative<StepSpec>(policy.spec) ||
         std::holds_alternative<SimpleSpec>(policy.spec);
}

bool instance_matches(std::string_view sample_instance, const InstanceStatus& instance) {
  if (sample_instance.empty()) return false;
  if (sample_instance == instance.id) return true;
  if (instance.address.empty()) return false;
  return sample_instance == instance.address || host_port(sample_instance) == instance.address;
}

MetricReading to_reading(const PolicySpec& policy, std::span<const Sample> samples,
                         const TargetStatus& status, std::vector<InstanceSample>& storage) {
  storage.clear();
  MetricReading reading;
  const Combine combine = combine_for(policy);
  const auto* tt = std::get_if<TargetTrackingSpec>(&policy.spec);
  const double request = tt != nullptr && tt->kind == TargetKind::kUtilization ? 100.0 : 0.0;

  // Per-instance: match samples to the target's instances.
  bool any_matched = false;
  if (!status.instances.empty()) {
    storage.resize(status.instances.size());
    std::vector<const Sample*> best(status.instances.size(), nullptr);
    for (const Sample& s : samples) {
      if (s.instance.empty() || !std::isfinite(s.value)) continue;
      for (std::size_t i = 0; i < status.instances.size(); ++i) {
        if (!instance_matches(s.instance, status.instances[i])) continue;
        if (best[i] == nullptr || s.at >= best[i]->at) best[i] = &s;
        any_matched = true;
        break;
      }
    }
    if (any_matched) {
      Accumulator ready{combine}, all{combine};
      for (std::size_t i = 0; i < status.instances.size(); ++i) {
        InstanceSample& out = storage[i];
        if (best[i] == nullptr) {
          out = {0, request, InstanceState::kMissing};
          continue;
        }
        out = {best[i]->value, request, status.instances[i].state};
        all.add(out.value);
        if (out.state == InstanceState::kReady) ready.add(out.value);
      }
      // Totals count every instance's share; averages describe the serving (ready) instances.
      const Accumulator& used = combine == Combine::kSum || ready.n == 0 ? all : ready;
      reading.ok = true;
      reading.value = used.value();
      if (uses_instances(policy)) {
        reading.instances = std::span<const InstanceSample>(storage.data(), storage.size());
      } else {
        storage.clear();
      }
      return reading;
    }
    storage.clear();
  }

  // Aggregate: every finite sample.
  Accumulator acc{combine};
  for (const Sample& s : samples) {
    if (std::isfinite(s.value)) acc.add(s.value);
  }
  if (acc.n == 0) return reading;
  reading.ok = true;
  reading.value = acc.value();
  return reading;
}

}  // namespace tide
