#include "targets/target.hpp"

#include <algorithm>

namespace tide {

int TargetStatus::ready() const {
  return static_cast<int>(std::count_if(instances.begin(), instances.end(), [](const auto& i) {
    return i.state == InstanceState::kReady;
  }));
}

int TargetStatus::warming() const {
  return static_cast<int>(std::count_if(instances.begin(), instances.end(), [](const auto& i) {
    return i.state == InstanceState::kWarming;
  }));
}

}  // namespace tide
