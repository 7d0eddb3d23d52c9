// The video frame buffer and the NACK generator fed one packet sequence: in-order packets, sequence number jumps,
// duplicates, ancient packets, retransmissions, time steps, RTT changes and raw junk, driven by the input bytes.
// Invariants: memory stays within the configured bounds, frames come out in decode order (ids increasing, a
// restart only at a keyframe), and nothing crashes.
#include "rtp/frame_buffer.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/vp8_payload.hpp"
#include "rtp/vp9_payload.hpp"

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

constexpr size_t kMaxPackets = 128;
constexpr size_t kMaxFrames = 32;
constexpr size_t kMaxNackList = 100;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteReader in(ByteView(data, size));
    const uint8_t mode = in.read_u8().value_or(0);
    FrameBufferConfig fc;
    fc.codec = static_cast<VideoCodec>(mode % 3);
    fc.max_packets = kMaxPackets;
    fc.max_frames = kMaxFrames;
    fc.nack_enabled = (mode & 0x10) != 0;
    FrameBuffer fb(fc);
    NackGeneratorConfig nc;
    nc.max_list_size = kMaxNackList;
    NackGenerator nack(nc);

    Timestamp now = Timestamp::seconds(1);
    uint16_t seq = static_cast<uint16_t>(in.read_u16().value_or(0));
    uint32_t ts = in.read_u32().value_or(0);
    uint16_t picture_id = 0;
    std::deque<std::vector<uint8_t>> recent;
    std::optional<int64_t> last_id;
    std::vector<uint8_t> payload;

    auto deliver = [&](const std::vector<uint8_t>& packet, bool retransmitted) {
        const auto v = RtpPacketView::parse(packet);
        if (!v) return;
        fb.handle_packet(now, *v, retransmitted);
        nack.handle_packet(now, v->sequence_number(), fc.codec == VideoCodec::Vp8 && vp8_is_keyframe(v->payload()));
    };

    while (!in.empty()) {
        const uint8_t op = *in.read_u8();
        switch (op & 7) {
        case 0:  // a packet of the stream: next sequence number, or a jump
        case 1: {
            if ((op & 7) == 1) seq = static_cast<uint16_t>(seq + in.read_u16().value_or(1));
            const uint8_t flags = in.read_u8().value_or(0);
            if (flags & 0x01) ts += 3000;
            if (flags & 0x02) picture_id = static_cast<uint16_t>((picture_id + 1) & 0x7FFF);
            payload.clear();
            ByteWriter w(payload);
            if (fc.codec == VideoCodec::Vp8) {
                Vp8PayloadDescriptor d;
                d.start_of_partition = (flags & 0x04) != 0;
                if (flags & 0x08) d.picture_id = picture_id;
                d.write(w);
                w.write_u8((flags & 0x10) ? 0x10 : 0x11);  // frame tag: keyframe or not
            } else if (fc.codec == VideoCodec::Vp9) {
                Vp9PayloadDescriptor d;
                d.beginning_of_frame = (flags & 0x04) != 0;
                d.end_of_frame = (flags & 0x20) != 0;
                d.inter_picture_predicted = (flags & 0x10) == 0;
                if (flags & 0x08) d.picture_id = picture_id;
                d.write(w);
            } else {
                w.write_u8((flags & 0x10) ? 0x65 : 0x41);  // IDR or non-IDR slice NAL header
            }
            const size_t n = in.read_u8().value_or(0) % 64;
            for (size_t i = 0; i < n; ++i) w.write_u8(static_cast<uint8_t>(i * 31 + op));
            RtpHeader h;
            h.payload_type = 96;
            h.sequence_number = seq++;
            h.timestamp = ts;
            h.marker = (flags & 0x40) != 0;
            auto packet = build_rtp_packet(h, payload);
            deliver(packet, (flags & 0x80) != 0);
            recent.push_back(std::move(packet));
            if (recent.size() > 64) recent.pop_front();
            break;
        }
        case 2:  // a duplicate or late copy of a recent packet (as a retransmission would bring it)
            if (!recent.empty()) deliver(recent[in.read_u8().value_or(0) % recent.size()], (op & 0x08) != 0);
            break;
        case 3: {  // an ancient packet
            std::vector<uint8_t> packet;
            if (!recent.empty()) packet = recent.front();
            if (packet.size() >= 4) {
                const uint16_t back = in.read_u16().value_or(40000);
                const uint16_t s = static_cast<uint16_t>(seq - back);
                packet[2] = static_cast<uint8_t>(s >> 8);
                packet[3] = static_cast<uint8_t>(s);
                deliver(packet, false);
            }
            break;
        }
        case 4:  // time passes
            now = now + TimeDelta::millis(in.read_u8().value_or(1) * ((op & 0x08) ? 20 : 1));
            break;
        case 5: {  // new RTT estimate
            const TimeDelta rtt = TimeDelta::millis(in.read_u16().value_or(100) % 5000);
            fb.set_rtt(rtt);
            nack.set_rtt(rtt);
            break;
        }
        case 6: {  // raw bytes as an RTP packet
            const size_t n = in.read_u8().value_or(0);
            const auto raw = in.read_bytes(std::min(n, in.remaining()));
            if (raw) {
                std::vector<uint8_t> packet(raw->begin(), raw->end());
                deliver(packet, (op & 0x08) != 0);
            }
            break;
        }
        default:  // a timeout pass at whatever time the buffers asked for (not beyond a few seconds)
            now = std::max(now, std::min(std::min(fb.poll_timeout(), nack.poll_timeout()), now + TimeDelta::seconds(5)));
            break;
        }
        fb.handle_timeout(now);
        nack.handle_timeout(now);
        while (auto f = fb.poll_frame()) {
            // Decode order: ids go up, except that a keyframe may restart the stream.
            check(!last_id || f->id > *last_id || f->frame.keyframe);
            check(!f->frame.data.empty());
            last_id = f->id;
        }
        while (auto n = nack.poll_nack()) check(!n->sequence_numbers.empty() && n->sequence_numbers.size() <= nc.max_per_packet);
        fb.poll_keyframe_request();
        nack.poll_keyframe_request();
        if (const auto s = fb.poll_skipped_to()) nack.clear_before(*s);
        check(fb.buffered_packets() <= kMaxPackets);
        check(fb.buffered_frames() <= kMaxFrames);
        check(nack.list_size() <= kMaxNackList);
        const Timestamp t = fb.poll_timeout();
        check(t.is_plus_infinity() || t.is_finite());
    }
    return 0;
}
