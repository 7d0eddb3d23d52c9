#include "sctp/crc32c.hpp"

#include <usrsctp.h>

#include <array>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace rtcpp::sctp {

namespace {

constexpr size_t kHeader = 12;
constexpr size_t kChecksumAt = 8;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc_update_hw(uint32_t crc, const uint8_t* p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<uint32_t>(c);
    while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

bool detect_hardware() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t crc_update_hw(uint32_t crc, const uint8_t*, size_t) { return crc; }
bool detect_hardware() { return false; }
#endif

const bool kHardware = detect_hardware();

// The portable path: usrsctp's own CRC over a copy with the checksum field zeroed.
uint32_t checksum_software(ByteView packet) {
    std::vector<uint8_t> copy(packet.begin(), packet.end());
    std::memset(copy.data() + kChecksumAt, 0, 4);
    return usrsctp_crc32c(copy.data(), copy.size());
}

} // namespace

bool crc32c_hardware() { return kHardware; }

uint32_t sctp_checksum(ByteView packet) {
    if (packet.size() < kHeader) return 0;
    if (!kHardware) return checksum_software(packet);
    static constexpr std::array<uint8_t, 4> zeros{};
    uint32_t crc = 0xffffffffu;
    crc = crc_update_hw(crc, packet.data(), kChecksumAt);
    crc = crc_update_hw(crc, zeros.data(), zeros.size());
    crc = crc_update_hw(crc, packet.data() + kHeader, packet.size() - kHeader);
    // usrsctp stores the final value in host order on little-endian machines (x86_64 is).
    return ~crc;
}

bool sctp_checksum_ok(ByteView packet) {
    if (packet.size() < kHeader) return false;
    uint32_t stored;
    std::memcpy(&stored, packet.data() + kChecksumAt, 4);
    return stored == sctp_checksum(packet);
}

} // namespace rtcpp::sctp
