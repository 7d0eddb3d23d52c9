// The audio jitter buffer fed arbitrary arrivals: timestamps that jump, repeat, go backwards or wrap, payloads of any
// size, RED copies, arrival times that stall or leap, and playout polls in between. Bounded state, no crash.
#include "rtp/audio_jitter_buffer.hpp"

#include "core/byte_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace rtcpp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rtp::AudioJitterBuffer buffer;
    ByteReader r(ByteView(data, size));
    int64_t now_us = 0;
    uint32_t ts = 0;
    // Records: [op u8][step u16][ts delta u16][len u8][payload]; op bit 0: a packet, bit 1: RED copy, bit 2: poll,
    // bit 3: a large timestamp jump (x 65536), bit 4: backwards.
    while (!r.empty()) {
        const auto op = r.read_u8();
        const auto step = r.read_u16();
        const auto dts = r.read_u16();
        const auto len = r.read_u8();
        if (!op || !step || !dts || !len) break;
        const auto payload = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!payload) break;
        now_us += *step * 10;
        const uint32_t delta = (*op & 8) ? uint32_t{*dts} << 16 : *dts;
        ts = (*op & 16) ? ts - delta : ts + delta;
        const Timestamp now = Timestamp::micros(now_us);
        if (*op & 1) buffer.handle_packet(now, ts, *payload, (*op & 2) != 0);
        if (*op & 4) (void)buffer.poll_frame(now);
        if (buffer.buffered_packets() > 100000) std::abort(); // must stay bounded whatever arrives
    }
    return 0;
}
