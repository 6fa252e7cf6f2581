// Heap allocations made by the benchmark binary so far, counted by the replacement global
// operator new in alloc_counter.cpp. CMake links that file into every benchmark executable; a
// replacement operator new must be defined exactly once per program, so include only this header.
#pragma once

namespace tide::bench {

long long allocation_count();

}  // namespace tide::bench
