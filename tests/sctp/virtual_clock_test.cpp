// usrsctp reads gettimeofday() for RTT samples, PR-SCTP lifetimes and its T3 guard (see sctp_association.hpp).
// This test executable replaces gettimeofday() with the pair's virtual clock, so usrsctp sees one consistent time
// and the tests are reproducible. The definition in the executable takes precedence over libc's for
// libusrsctp.so (ELF symbol interposition); nothing in src/ does this.
#include "sctp_pair.hpp"

#include <sys/time.h>
#include <time.h>

#include <atomic>

namespace {
std::atomic<int64_t> g_virtual_us{0};
}

namespace rtcpp::sctp::testing {
void set_virtual_clock(Timestamp now) { g_virtual_us.store(now.us()); }
} // namespace rtcpp::sctp::testing

// Same signature as glibc's declaration (nonnull tv, noexcept).
extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict /*tz*/) noexcept {
    const int64_t v = g_virtual_us.load();
    if (v == 0) {
        struct timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
        return 0;
    }
    tv->tv_sec = v / 1000000;
    tv->tv_usec = v % 1000000;
    return 0;
}

TEST_CASE("usrsctp sees the virtual clock") {
    using namespace rtcpp;
    rtcpp::sctp::testing::set_virtual_clock(Timestamp::seconds(123456));
    struct timeval tv{};
    gettimeofday(&tv, nullptr);
    CHECK(tv.tv_sec == 123456);
    rtcpp::sctp::testing::set_virtual_clock(Timestamp::zero());
}
