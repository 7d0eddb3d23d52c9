// Depacketizers, chosen by the first byte: the rest is a run of (flags, length, payload) records fed in order.
// Then the same bytes as a frame through the matching packetizer and a fresh depacketizer must come back intact.
#include "rtp/av1_payload.hpp"
#include "rtp/h264_payload.hpp"
#include "rtp/opus_payload.hpp"
#include "rtp/vp8_payload.hpp"
#include "rtp/vp9_payload.hpp"

#include "core/byte_writer.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

std::unique_ptr<Depacketizer> make_depacketizer(unsigned kind) {
    switch (kind) {
    case 0: return std::make_unique<OpusDepacketizer>();
    case 1: return std::make_unique<Vp8Depacketizer>();
    case 2: return std::make_unique<Vp9Depacketizer>();
    case 3: return std::make_unique<H264Depacketizer>();
    default: return std::make_unique<Av1Depacketizer>();
    }
}

std::unique_ptr<Packetizer> make_packetizer(unsigned kind, uint8_t variant) {
    switch (kind) {
    case 0: return std::make_unique<OpusPacketizer>();
    case 1: {
        Vp8PayloadDescriptor d;
        if (variant & 1) d.picture_id = 0x7ff0;
        if (variant & 2) d.tl0_pic_idx = 3;
        if (variant & 4) d.temporal_id = 1;
        return std::make_unique<Vp8Packetizer>(d);
    }
    case 2: {
        Vp9PayloadDescriptor d;
        if (variant & 1) d.picture_id = 5;
        d.flexible = variant & 2;
        d.has_layer_indices = variant & 4;
        d.inter_picture_predicted = variant & 8;
        if (d.flexible && d.inter_picture_predicted) {
            d.num_p_diffs = 1;
            d.p_diffs[0] = 1;
        }
        if (variant & 16) d.ss = Vp9ScalabilityStructure{1, {{320, 240}}, std::nullopt};
        return std::make_unique<Vp9Packetizer>(d);
    }
    case 3: return std::make_unique<H264Packetizer>(variant & 1 ? 0 : 1);
    default: return std::make_unique<Av1Packetizer>();
    }
}

// What the depacketizer should produce for `frame` after packetization, or nullopt if it need not accept it.
std::optional<std::vector<uint8_t>> expected_frame(unsigned kind, ByteView frame) {
    if (kind <= 2) return std::vector<uint8_t>(frame.begin(), frame.end());
    std::vector<uint8_t> out;
    ByteWriter w(out);
    if (kind == 3) {
        for (const auto& nal : split_annex_b(frame)) {
            const uint8_t b = nal[0];
            if ((b & 0x80) || (b & 0x1F) == 0 || (b & 0x1F) >= 24) return std::nullopt;
            w.write_u32(1);
            w.write_bytes(nal);
        }
        return out;
    }
    const auto obus = split_av1_obus(frame);
    if (!obus) return std::nullopt;
    for (const auto& o : *obus) {
        if (o.type == kAv1TemporalDelimiter || o.type == kAv1TileList) continue;
        w.write_u8(static_cast<uint8_t>(o.header[0] | 0x02));
        if (o.header.size() == 2) w.write_u8(o.header[1]);
        write_leb128(w, o.payload.size());
        w.write_bytes(o.payload);
    }
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteReader r(data, size);
    const auto sel = r.read_u8();
    if (!sel) return 0;
    const unsigned kind = *sel % 5;
    const ByteView rest = r.rest();

    auto d = make_depacketizer(kind);
    uint16_t seq = 0;
    uint32_t ts = 0;
    while (!r.empty()) {
        const auto flags = r.read_u8();
        const auto len = r.read_u8();
        if (!flags || !len) break;
        const auto payload = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (flags.value() & 0x02) seq = static_cast<uint16_t>(seq + 1);  // a lost packet
        if (flags.value() & 0x04) ts += 3000;
        d->handle_payload(*payload, seq++, ts, (*flags & 0x01) != 0);
    }
    size_t frames = 0;
    while (auto f = d->poll_frame()) {
        check(!f->data.empty());
        ++frames;
    }
    const auto& st = d->stats();
    check(st.frames >= frames && frames <= Depacketizer::kMaxQueuedFrames);
    check(st.malformed_packets <= st.dropped_packets);
    check(st.dropped_packets <= st.packets);

    // Round trip through the packetizer.
    if (rest.size() < 2) return 0;
    ByteReader rr(rest);
    const uint8_t mtu_byte = *rr.read_u8();
    const uint8_t variant = *rr.read_u8();
    const ByteView frame = rr.rest();
    const size_t max_payload = 16 + mtu_byte * 4u;
    auto p = make_packetizer(kind, variant);
    auto payloads = p->packetize(frame, max_payload);
    if (!payloads.ok()) return 0;
    check(!payloads->empty());
    auto fresh = make_depacketizer(kind);
    uint16_t s = 65500;
    for (size_t i = 0; i < payloads->size(); ++i) {
        const auto& pl = (*payloads)[i];
        check(pl.data.size() <= max_payload);
        check(kind == 0 || pl.marker == (i + 1 == payloads->size()));
        fresh->handle_payload(pl.data, s++, 90000, pl.marker || kind == 0);
    }
    const auto expect = expected_frame(kind, frame);
    if (!expect) return 0;
    auto out = fresh->poll_frame();
    check(out.has_value());
    check(out->data == *expect);
    check(!fresh->poll_frame());
    return 0;
}
