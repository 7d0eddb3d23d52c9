// Heap allocations made by this process, counted by the bench binary's replacement of the global operator new
// (bench/bench_alloc_counter.cpp), and malloc/calloc/realloc calls from anywhere (C libraries included).
#pragma once

#include <cstdint>

namespace rtcpp::bench {

/// operator new calls (every form) since the program started; thread-safe.
uint64_t allocation_count();
/// malloc/calloc/realloc calls since the program started, every library's (operator new's among them).
uint64_t malloc_count();
/// Prints the call stack of every operator new to stderr while on, if RTCPP_BENCH_ALLOC_TRACE=1.
void trace_allocations(bool on);
/// False where malloc cannot be interposed (sanitizer builds, non-glibc): malloc_count() then stays 0.
bool malloc_counted();

} // namespace rtcpp::bench
