#include "sctp/crc32c.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>
#include <usrsctp.h>

#include <cstring>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::sctp;

TEST_CASE("SCTP checksum matches usrsctp's CRC32c for any length") {
    Random rng(3);
    MESSAGE("hardware CRC32c: " << crc32c_hardware());
    for (size_t n : {12u, 13u, 16u, 19u, 20u, 100u, 1149u, 1150u, 4096u}) {
        std::vector<uint8_t> p(n);
        rng.fill(p);
        std::vector<uint8_t> zeroed = p;
        std::memset(zeroed.data() + 8, 0, 4);
        CHECK(sctp_checksum(p) == usrsctp_crc32c(zeroed.data(), zeroed.size()));
        // Stored in the header, it verifies; any flipped bit does not.
        const uint32_t crc = sctp_checksum(p);
        std::memcpy(p.data() + 8, &crc, 4);
        CHECK(sctp_checksum_ok(p));
        p[n - 1] ^= 0x10;
        CHECK_FALSE(sctp_checksum_ok(p));
    }
    CHECK_FALSE(sctp_checksum_ok(std::vector<uint8_t>(11)));
}
