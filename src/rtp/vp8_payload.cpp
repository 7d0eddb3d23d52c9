#include "rtp/vp8_payload.hpp"

namespace rtcpp::rtp {

std::optional<Vp8PayloadDescriptor> Vp8PayloadDescriptor::read(ByteReader& r) {
    Vp8PayloadDescriptor d;
    const auto b0 = r.read_u8();
    if (!b0) return std::nullopt;
    d.non_reference = (*b0 & 0x20) != 0;
    d.start_of_partition = (*b0 & 0x10) != 0;
    d.partition_id = *b0 & 0x07;
    if (!(*b0 & 0x80)) return d;
    const auto x = r.read_u8();
    if (!x) return std::nullopt;
    if (*x & 0x80) {
        const auto p0 = r.read_u8();
        if (!p0) return std::nullopt;
        if (*p0 & 0x80) {
            const auto p1 = r.read_u8();
            if (!p1) return std::nullopt;
            d.picture_id = static_cast<uint16_t>(((*p0 & 0x7F) << 8) | *p1);
            d.picture_id_15bit = true;
        } else {
            d.picture_id = *p0 & 0x7F;
            d.picture_id_15bit = false;
        }
    }
    if (*x & 0x40) {
        const auto t = r.read_u8();
        if (!t) return std::nullopt;
        d.tl0_pic_idx = *t;
    }
    if (*x & 0x30) {
        const auto tk = r.read_u8();
        if (!tk) return std::nullopt;
        if (*x & 0x20) {
            d.temporal_id = static_cast<uint8_t>(*tk >> 6);
            d.layer_sync = (*tk & 0x20) != 0;
        }
        if (*x & 0x10) d.key_idx = *tk & 0x1F;
    }
    return d;
}

void Vp8PayloadDescriptor::write(ByteWriter& w) const {
    const bool x = picture_id || tl0_pic_idx || temporal_id || key_idx;
    w.write_u8(static_cast<uint8_t>((x ? 0x80 : 0) | (non_reference ? 0x20 : 0) | (start_of_partition ? 0x10 : 0) |
                                    (partition_id & 0x07)));
    if (!x) return;
    w.write_u8(static_cast<uint8_t>((picture_id ? 0x80 : 0) | (tl0_pic_idx ? 0x40 : 0) | (temporal_id ? 0x20 : 0) |
                                    (key_idx ? 0x10 : 0)));
    if (picture_id) {
        if (picture_id_15bit) {
            w.write_u16(static_cast<uint16_t>(0x8000 | (*picture_id & 0x7FFF)));
        } else {
            w.write_u8(static_cast<uint8_t>(*picture_id & 0x7F));
        }
    }
    if (tl0_pic_idx) w.write_u8(*tl0_pic_idx);
    if (temporal_id || key_idx) {
        w.write_u8(static_cast<uint8_t>((temporal_id ? (*temporal_id & 3) << 6 : 0) | (layer_sync ? 0x20 : 0) |
                                        (key_idx ? (*key_idx & 0x1F) : 0)));
    }
}

size_t Vp8PayloadDescriptor::size() const {
    const bool x = picture_id || tl0_pic_idx || temporal_id || key_idx;
    if (!x) return 1;
    return 2 + (picture_id ? (picture_id_15bit ? 2 : 1) : 0) + (tl0_pic_idx ? 1 : 0) +
           ((temporal_id || key_idx) ? 1 : 0);
}

bool vp8_is_keyframe(ByteView payload) {
    ByteReader r(payload);
    const auto d = Vp8PayloadDescriptor::read(r);
    if (!d || !d->start_of_partition || d->partition_id != 0) return false;
    const auto tag = r.read_u8();
    return tag && (*tag & 0x01) == 0;
}

Result<std::vector<RtpPayload>> Vp8Packetizer::packetize(ByteView frame, size_t max_payload_size) {
    std::vector<RtpPayload> out;
    auto n = packetize_into(frame, max_payload_size, out);
    if (!n) return n.error();
    out.resize(*n);
    return out;
}

Result<size_t> Vp8Packetizer::packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out) {
    if (frame.empty()) return make_error(ErrorCategory::DataError, "rtp", "empty VP8 frame");
    Vp8PayloadDescriptor d = template_;
    d.partition_id = 0;
    const size_t header = d.size();
    if (max_payload_size <= header) return make_error(ErrorCategory::RangeError, "rtp", "payload size too small for VP8");
    // balanced_split's sizes, computed in place: equal parts, the first `extra` one byte larger.
    const size_t max_part = max_payload_size - header;
    const size_t count = (frame.size() + max_part - 1) / max_part;
    const size_t base = frame.size() / count;
    const size_t extra = frame.size() % count;
    if (out.size() < count) out.resize(count);
    size_t offset = 0;
    for (size_t i = 0; i < count; ++i) {
        const size_t part = base + (i < extra ? 1 : 0);
        RtpPayload& p = out[i];
        p.data.clear();
        // Part sizes differ from frame to frame: a reused payload grows once, to the largest it can be.
        if (p.data.capacity() < header + part) p.data.reserve(max_payload_size);
        p.marker = i + 1 == count;
        ByteWriter w(p.data);
        d.start_of_partition = offset == 0;
        d.write(w);
        w.write_bytes(frame.subspan(offset, part));
        offset += part;
    }
    if (template_.picture_id) {
        template_.picture_id = static_cast<uint16_t>((*template_.picture_id + 1) & (template_.picture_id_15bit ? 0x7FFF : 0x7F));
    }
    return count;
}

bool Vp8Depacketizer::depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) {
    ByteReader r(payload);
    auto d = Vp8PayloadDescriptor::read(r);
    if (!d) return false;
    const ByteView data = r.read_rest();
    if (data.empty()) return false;
    last_ = d;
    info.frame_start = d->start_of_partition && d->partition_id == 0;
    // A second start of partition 0 inside one frame means the marker of the previous frame was lost.
    if (!first && info.frame_start) return false;
    if (info.frame_start) {
        ByteReader tag(data);
        info.keyframe = (*tag.read_u8() & 0x01) == 0;
    }
    frame.insert(frame.end(), data.begin(), data.end());
    return true;
}

} // namespace rtcpp::rtp
