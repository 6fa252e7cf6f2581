// The `static` source, for demos and tests: every read returns the source's `value` (or the
// query's `value`), or the `series` replayed one value per `step` (15s), cycling. The series
// starts at the first read of the source: a read at time t returns
// series[floor((t - first) / step) mod size]. Samples are aggregates (no instance).
#pragma once

#include <memory>

#include "core/result.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_static_source(const SourceSpec& spec);

}  // namespace tide
