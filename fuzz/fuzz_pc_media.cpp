// The media receive path of a Session (MediaEngine): a sequence of RTP and RTCP packets, as decrypted SRTP would
// deliver them, against a negotiated Opus + VP8 (NACK, RTX) setup. Nothing may crash, leak or grow without bound.
#include "pc/media_fixture.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace rtcpp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    pc::MediaFixture f(true);
    ByteReader r(ByteView(data, size));
    int64_t now_ms = 0;
    // Records: [kind u8][time step u8][length u16][bytes]; kind bit 0: RTCP, bit 1: run timers.
    while (!r.empty()) {
        const auto kind = r.read_u8();
        const auto step = r.read_u8();
        const auto len = r.read_u16();
        if (!kind || !step || !len) break;
        const auto bytes = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!bytes) break;
        now_ms += *step;
        const Timestamp now = Timestamp::millis(now_ms);
        if (*kind & 1) f.engine->handle_rtcp(now, *bytes);
        else f.engine->handle_rtp(now, *bytes);
        if (*kind & 2) f.engine->handle_timeout(now);
        while (f.engine->poll_packet()) {
        }
        if (f.events.size() > 10000) std::abort(); // events must be drained by the owner, but never explode per packet
        f.events.clear();
    }
    return 0;
}
