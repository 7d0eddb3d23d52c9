// Heap allocations made by this process, counted by the bench binary's replacement of the global operator new
// (bench/bench_alloc_counter.cpp). malloc calls made by C libraries (libsrtp, OpenSSL) are not seen.
#pragma once

#include <cstdint>

namespace rtcpp::bench {

/// operator new calls (every form) since the program started; thread-safe.
uint64_t allocation_count();

} // namespace rtcpp::bench
