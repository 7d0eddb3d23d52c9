#include <doctest/doctest.h>

#include <vector>

#include "dtls/demux.hpp"

using namespace rtcpp;
using namespace rtcpp::dtls;

namespace {
PacketKind kind_of(std::vector<uint8_t> v) { return classify_packet(v); }
std::vector<uint8_t> packet(uint8_t first, uint8_t second, size_t size) {
    std::vector<uint8_t> v(size, 0);
    if (size > 0) v[0] = first;
    if (size > 1) v[1] = second;
    return v;
}
} // namespace

TEST_CASE("RFC 7983 first-byte ranges") {
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        auto v = packet(static_cast<uint8_t>(b), 96, 20); // second byte: an RTP payload type
        PacketKind k = classify_packet(v);
        if (b <= 3)
            CHECK(k == PacketKind::Stun);
        else if (b >= 16 && b <= 19)
            CHECK(k == PacketKind::Zrtp);
        else if (b >= 20 && b <= 63)
            CHECK(k == PacketKind::Dtls);
        else if (b >= 64 && b <= 79)
            CHECK(k == PacketKind::TurnChannel);
        else if (b >= 128 && b <= 191)
            CHECK(k == PacketKind::Rtp);
        else
            CHECK(k == PacketKind::Unknown);
    }
}

TEST_CASE("RTP and RTCP are told apart by the payload type (RFC 5761)") {
    // RTCP packet types 200 SR, 201 RR, 202 SDES, 203 BYE, 205 RTPFB, 206 PSFB: marker-bit view 72..78.
    for (int pt : {200, 201, 202, 203, 204, 205, 206, 207, 192, 223}) {
        CAPTURE(pt);
        auto v = packet(0x80, static_cast<uint8_t>(pt), 8);
        CHECK(is_rtcp(v));
        CHECK(classify_packet(v) == PacketKind::Rtcp);
    }
    // RTP: payload types 0..63 and 96..127, with or without the marker bit.
    for (int pt : {0, 8, 63, 96, 111, 127}) {
        for (int marker : {0, 0x80}) {
            CAPTURE(pt);
            auto v = packet(0x80, static_cast<uint8_t>(pt | marker), 12);
            CHECK(!is_rtcp(v));
            CHECK(classify_packet(v) == PacketKind::Rtp);
        }
    }
    // Payload types 64 and 95 are the edges of the RTCP range.
    CHECK(is_rtcp(packet(0x80, 64, 8)));
    CHECK(is_rtcp(packet(0x80, 95 | 0x80, 8)));
    CHECK(!is_rtcp(packet(0x80, 96, 12)));
    CHECK(!is_rtcp(packet(0x80, 63, 12)));
}

TEST_CASE("short or empty datagrams are unknown, never read past the end") {
    CHECK(kind_of({}) == PacketKind::Unknown);
    CHECK(kind_of({0x80}) == PacketKind::Unknown);            // one byte: neither RTP nor RTCP
    CHECK(kind_of(packet(0x80, 96, 11)) == PacketKind::Unknown); // shorter than an RTP header
    CHECK(kind_of(packet(0x80, 200, 7)) == PacketKind::Unknown); // shorter than an RTCP header
    CHECK(kind_of({0x00}) == PacketKind::Stun);
    CHECK(kind_of({22}) == PacketKind::Dtls);
    CHECK(!is_rtcp(std::vector<uint8_t>{0x80}));
    CHECK(to_string(PacketKind::TurnChannel) == "turn-channel");
}

TEST_CASE("DTLS record scan") {
    // Two records: a handshake record of 3 bytes, an application data record of 0 bytes.
    std::vector<uint8_t> two = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3,
                                23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0};
    auto scan = scan_dtls_records(two);
    CHECK(scan.well_formed);
    CHECK(scan.records == 2);
    CHECK(scan.has_handshake);

    std::vector<uint8_t> app = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0, 1, 9};
    scan = scan_dtls_records(app);
    CHECK(scan.well_formed);
    CHECK(!scan.has_handshake);

    // DTLS 1.0 version in the ClientHello record is accepted.
    app[1] = 0xfe;
    app[2] = 0xff;
    CHECK(scan_dtls_records(app).well_formed);

    auto broken = two;
    broken.pop_back(); // the second header is cut
    CHECK(!scan_dtls_records(broken).well_formed);
    broken = two;
    broken.push_back(0); // a trailing byte that is no record
    CHECK(!scan_dtls_records(broken).well_formed);
    broken = two;
    broken[12] = 4; // the first record claims one byte more than there is before the next header
    CHECK(!scan_dtls_records(broken).well_formed);
    broken = two;
    broken[2] = 0x03; // TLS 1.2 version
    CHECK(!scan_dtls_records(broken).well_formed);
    CHECK(!scan_dtls_records(std::vector<uint8_t>{}).well_formed);
}
