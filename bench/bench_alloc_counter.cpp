// Replaces the global operator new/delete of rtcpp-bench so benchmarks can report allocations per packet.
// A relaxed atomic increment per allocation: cheap next to malloc itself, and the same cost in every figure.
// malloc/calloc/realloc are interposed too (forwarding to glibc's __libc_* entry points), so the C libraries'
// allocations show: Debian's libsrtp2 does its AES through NSS, which allocates on every packet.
#include "alloc_counter.hpp"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<uint64_t> g_allocations{0};
std::atomic<uint64_t> g_mallocs{0};
std::atomic<bool> g_trace{false};
thread_local bool t_in_trace = false;

// With tracing on (RTCPP_BENCH_ALLOC_TRACE=1 and a benchmark's measured section), each allocation's call stack
// goes to stderr as binary(+offset) lines; `addr2line -f -C -e rtcpp-bench` names them.
void trace() {
    if (!g_trace.load(std::memory_order_relaxed) || t_in_trace) return;
    t_in_trace = true;
    void* frames[10];
    const int n = backtrace(frames, 10);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    (void)!write(STDERR_FILENO, "--\n", 3);
    t_in_trace = false;
}

void* allocate(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    trace();
    if (size == 0) size = 1;
    return std::malloc(size);
}

void* allocate_aligned(std::size_t size, std::align_val_t align) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t a = static_cast<std::size_t>(align);
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (size + a - 1) / a * a;
    return std::aligned_alloc(a, rounded == 0 ? a : rounded);
}

} // namespace

namespace rtcpp::bench {
uint64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }
uint64_t malloc_count() { return g_mallocs.load(std::memory_order_relaxed); }
void trace_allocations(bool on) {
    static const bool wanted = [] {
        const char* e = std::getenv("RTCPP_BENCH_ALLOC_TRACE");
        if (e == nullptr || *e != '1') return false;
        void* warm[1];
        (void)backtrace(warm, 1); // loads libgcc's unwinder now, not inside operator new
        return true;
    }();
    g_trace.store(on && wanted, std::memory_order_relaxed);
}
} // namespace rtcpp::bench

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RTCPP_BENCH_NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RTCPP_BENCH_NO_MALLOC_HOOK 1
#endif
#endif

#if defined(__GLIBC__) && !defined(RTCPP_BENCH_NO_MALLOC_HOOK)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);

void* malloc(std::size_t size) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, size);
}
}
namespace rtcpp::bench {
bool malloc_counted() { return true; }
} // namespace rtcpp::bench
#else
namespace rtcpp::bench {
bool malloc_counted() { return false; }
} // namespace rtcpp::bench
#endif

void* operator new(std::size_t size) {
    if (void* p = allocate(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = allocate(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t align) {
    if (void* p = allocate_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
    if (void* p = allocate_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, align);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
