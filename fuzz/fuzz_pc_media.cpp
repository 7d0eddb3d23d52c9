// The media paths of a Session (MediaEngine): a sequence of RTP and RTCP packets, as decrypted SRTP would deliver
// them, against a negotiated Opus + VP8 (NACK, RTX) receiver, or a VP8 sender (its feedback, NACK and keyframe
// handling, pacer and RFC 8888 path). Nothing may crash, leak or grow without bound.
#include "pc/media_fixture.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace rtcpp;

namespace {

/// Records: [kind u8][time step u8][length u16][bytes]; kind bit 0: RTCP, bit 1: run timers. Stops at the first
/// incomplete or zero field.
template <class Handle>
void for_each_record(ByteView input, int64_t start_ms, Handle&& handle) {
    ByteReader r(input);
    int64_t now_ms = start_ms;
    while (!r.empty()) {
        const auto kind = r.read_u8();
        const auto step = r.read_u8();
        const auto len = r.read_u16();
        if (!kind || !step || !len) break;
        const auto bytes = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!bytes) break;
        now_ms += *step;
        handle(Timestamp::millis(now_ms), *kind, *bytes);
    }
}

/// The send side: a VP8 sender (transport-cc, or RFC 8888 feedback) that has sent a few frames gets the records as
/// RTCP (feedback, NACK, PLI, REMB, reports) or RTP; the pacer runs with the timers.
int fuzz_sender(const uint8_t* data, size_t size, bool ccfb) {
    pc::Vp8EnginePair pair({.ccfb = ccfb});
    if (!pair.ok) std::abort();
    for (int i = 0; i < 5; ++i) {
        std::vector<uint8_t> frame(3000, 0x42);
        frame[0] = i == 0 ? 0x10 : 0x11;
        (void)pair.tx->send_frame(Timestamp::millis(33 * i), 0, frame, static_cast<uint32_t>(3000 * i));
        pair.tx->handle_timeout(Timestamp::millis(33 * i));
        while (pair.tx->poll_packet()) {
        }
    }
    for_each_record(ByteView(data, size), 200, [&](Timestamp now, uint8_t kind, ByteView bytes) {
        if (kind & 1) pair.tx->handle_rtcp(now, bytes);
        else pair.tx->handle_rtp(now, bytes);
        if (kind & 2) {
            std::vector<uint8_t> frame(1500, 0x42);
            frame[0] = 0x11;
            (void)pair.tx->send_frame(now, 0, frame, static_cast<uint32_t>(now.ms() * 90));
            pair.tx->handle_timeout(now);
        }
        while (pair.tx->poll_packet()) {
        }
        if (pair.tx_events.size() > 10000) std::abort();
        pair.tx_events.clear();
    });
    return 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A first byte with the top bit set picks the send side (bit 6: RFC 8888 feedback negotiated).
    if (size > 0 && (data[0] & 0x80)) return fuzz_sender(data + 1, size - 1, (data[0] & 0x40) != 0);
    pc::MediaFixture f(true);
    for_each_record(ByteView(data, size), 0, [&](Timestamp now, uint8_t kind, ByteView bytes) {
        if (kind & 1) f.engine->handle_rtcp(now, bytes);
        else f.engine->handle_rtp(now, bytes);
        if (kind & 2) f.engine->handle_timeout(now);
        while (f.engine->poll_packet()) {
        }
        if (f.events.size() > 10000) std::abort(); // events must be drained by the owner, but never explode per packet
        f.events.clear();
    });
    return 0;
}
