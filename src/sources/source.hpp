// A Source reads one metric for the live loop (DESIGN sections 2 and 7). Concrete sources live in
// their own folders (src/sources/<type>/) and are created by the factory in their SourceType entry
// (registry.hpp). A source is shared by every group whose policies name it, so it is where reads
// are batched: identical queries issued close together are served by one backend request, and a
// scrape serves every group that reads it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide {

// One value of a metric. `instance` is set when the value belongs to one instance of a group (a
// scrape of each worker, a PromQL result with an `instance` label); empty for an aggregate.
struct Sample {
  double value = 0;
  TimePoint at;          // when the value was measured (the backend's timestamp when it has one)
  std::string instance;  // instance id or address, matching TargetStatus::instances[i].id
};

// Where a prepared query may find the instances of its group (for per-instance scrapes).
struct InstanceEndpoint {
  std::string id;
  std::string address;  // host:port
};

class Source {
 public:
  virtual ~Source() = default;

  // Compiles one policy's `metric:` query keys (already checked against the type's KeySchema) at
  // load and returns a handle for read(). Errors are config errors (bad PromQL is found later).
  virtual Result<int> prepare(const nlohmann::json& query) = 0;

  // Reads the prepared query. Must return within `timeout` (a dead backend is an error, never a
  // hang), must not throw, and is safe to call from several threads at once. `endpoints` lists
  // the group's instances for sources that read each instance (prometheus-scrape with
  // `per_instance: true`); others ignore it. An empty vector is "no data", not an error.
  virtual Result<std::vector<Sample>> read(int query,
                                           const std::vector<InstanceEndpoint>& endpoints,
                                           TimePoint now, Duration timeout) = 0;
};

}  // namespace tide
