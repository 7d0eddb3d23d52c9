// ULPFEC (in RED) and FlexFEC receivers fed random packet sequences. The input is a list of records:
//   op (1 byte), sequence number (2), length (1), body (length bytes)
// op % 4: 0 media packet (fixed SSRC, given seq, body as payload), 1 RED/ULPFEC packet with body as FEC payload,
// 2 FlexFEC packet with body as FlexFEC payload (protected SSRC patched in so it is not rejected at once),
// 3 body as a raw datagram to both. Checks: every recovered packet parses and carries the protected SSRC, memory
// stays within the receivers' bounds.
#include "rtp/fec_ulpfec.hpp"
#include "rtp/flexfec_03.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
constexpr uint32_t kSsrc = 0x01020304, kFlexSsrc = 0x0A0B0C0D;
constexpr uint8_t kRed = 116, kUlpfec = 117, kFlex = 118;

void check(bool ok) {
    if (!ok) std::abort();
}

std::vector<uint8_t> packet(uint8_t pt, uint16_t seq, uint32_t ssrc, ByteView payload, bool marker) {
    RtpHeader h;
    h.payload_type = pt;
    h.sequence_number = seq;
    h.timestamp = seq * 90u;
    h.ssrc = ssrc;
    h.marker = marker;
    return build_rtp_packet(h, payload);
}

void check_recovered(const std::vector<uint8_t>& p) {
    const auto v = RtpPacketView::parse(p);
    check(v.has_value());
    check(v->ssrc() == kSsrc);
    check(p.size() <= kMaxFecPacketSize);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteReader r(ByteView(data, size));
    UlpfecReceiver ulp(kSsrc, kRed, kUlpfec);
    FlexfecReceiver flex(kFlexSsrc, kFlex, kSsrc);
    while (!r.empty()) {
        const auto op = r.read_u8();
        const auto seq = r.read_u16();
        const auto len = r.read_u8();
        if (!op || !seq || !len) break;
        const auto body = r.read_bytes(*len);
        if (!body) break;
        switch (*op % 4) {
        case 0: {
            const auto p = packet(96, *seq, kSsrc, *body, (*op & 0x80) != 0);
            ulp.handle_packet(wrap_red(*RtpPacketView::parse(p), kRed));
            flex.handle_packet(p);
            break;
        }
        case 1: {
            std::vector<uint8_t> red;
            ByteWriter w(red);
            write_red(w, {}, kUlpfec, *body);
            ulp.handle_packet(packet(kRed, *seq, kSsrc, red, false));
            break;
        }
        case 2: {
            std::vector<uint8_t> b(body->begin(), body->end());
            if (b.size() >= 16) {
                b[8] = 1;
                b[12] = kSsrc >> 24;
                b[13] = (kSsrc >> 16) & 0xFF;
                b[14] = (kSsrc >> 8) & 0xFF;
                b[15] = kSsrc & 0xFF;
            }
            flex.handle_packet(packet(kFlex, *seq, kFlexSsrc, b, false));
            break;
        }
        default:
            ulp.handle_packet(*body);
            flex.handle_packet(*body);
        }
        while (auto o = ulp.poll_packet())
            if (o->recovered) check_recovered(o->packet);
        while (auto p = flex.poll_recovered()) check_recovered(*p);
    }
    const auto us = ulp.stats().recovery;
    const auto fs = flex.stats().recovery;
    check(us.recovered <= us.fec_received);
    check(fs.recovered <= fs.fec_received);
    return 0;
}
