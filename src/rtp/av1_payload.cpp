#include "rtp/av1_payload.hpp"

#include "core/byte_writer.hpp"

namespace rtcpp::rtp {

namespace {
// Reads one OBU from r: header, optional size field, payload. If it has no size field it runs to the end.
std::optional<Av1Obu> read_obu(ByteReader& r) {
    const auto start = r.rest();
    const auto b = r.read_u8();
    if (!b || (*b & 0x80)) return std::nullopt;  // forbidden bit
    Av1Obu obu;
    obu.type = static_cast<uint8_t>((*b >> 3) & 0x0F);
    const bool ext = *b & 0x04;
    const bool has_size = *b & 0x02;
    if (ext && !r.skip(1)) return std::nullopt;
    obu.header = start.first(ext ? 2 : 1);
    if (has_size) {
        const auto size = read_leb128(r);
        if (!size || *size > r.remaining()) return std::nullopt;
        obu.payload = *r.read_bytes(static_cast<size_t>(*size));
    } else {
        obu.payload = r.read_rest();
    }
    return obu;
}

bool dropped_type(uint8_t type) { return type == kAv1TemporalDelimiter || type == kAv1TileList; }
} // namespace

std::optional<std::vector<Av1Obu>> split_av1_obus(ByteView tu) {
    std::vector<Av1Obu> out;
    ByteReader r(tu);
    while (!r.empty()) {
        auto obu = read_obu(r);
        if (!obu) return std::nullopt;
        out.push_back(*obu);
    }
    return out;
}

Result<std::vector<RtpPayload>> Av1Packetizer::packetize(ByteView tu, size_t max_payload_size) {
    const auto obus = split_av1_obus(tu);
    if (!obus) return make_error(ErrorCategory::DataError, "rtp", "malformed AV1 temporal unit");
    if (max_payload_size < 4) return make_error(ErrorCategory::RangeError, "rtp", "payload size too small for AV1");
    // Each OBU element is the OBU with obu_has_size_field cleared (the element length replaces it).
    std::vector<std::vector<uint8_t>> elements;
    bool sequence_header = false;
    for (const auto& o : *obus) {
        if (dropped_type(o.type)) continue;
        sequence_header = sequence_header || o.type == kAv1SequenceHeader;
        std::vector<uint8_t> e(o.header.begin(), o.header.end());
        e[0] = static_cast<uint8_t>(e[0] & ~0x02);
        e.insert(e.end(), o.payload.begin(), o.payload.end());
        elements.push_back(std::move(e));
    }
    if (elements.empty()) return make_error(ErrorCategory::DataError, "rtp", "AV1 temporal unit without OBUs to send");

    std::vector<RtpPayload> out;
    RtpPayload cur;
    bool cur_z = false;
    auto open = [&](bool z) {
        cur = RtpPayload{};
        cur.data.push_back(0);  // aggregation header, patched on close
        cur_z = z;
    };
    auto close = [&](bool y) {
        uint8_t agg = static_cast<uint8_t>((cur_z ? 0x80 : 0) | (y ? 0x40 : 0));
        if (out.empty() && sequence_header) agg |= 0x08;
        cur.data[0] = agg;
        out.push_back(std::move(cur));
    };
    open(false);
    for (const auto& e : elements) {
        size_t offset = 0;
        while (offset < e.size()) {
            const size_t left = e.size() - offset;
            const size_t room = max_payload_size - cur.data.size();
            if (room >= leb128_size(left) + left) {
                ByteWriter w(cur.data);
                write_leb128(w, left);
                w.write_bytes(ByteView(e).subspan(offset, left));
                offset = e.size();
                break;
            }
            // Fragment: as much as fits after its length field, if at least one byte does.
            size_t k = room > leb128_size(room) ? room - leb128_size(room) : 0;
            if (k > 0) {
                ByteWriter w(cur.data);
                write_leb128(w, k);
                w.write_bytes(ByteView(e).subspan(offset, k));
                offset += k;
                close(true);
                open(true);
            } else {
                close(false);
                open(false);
            }
        }
    }
    close(false);
    out.back().marker = true;
    return out;
}

bool Av1Depacketizer::emit_obu(std::vector<uint8_t>& frame) {
    ByteReader r(partial_);
    auto obu = read_obu(r);
    have_partial_ = false;
    if (!obu) return false;
    if (dropped_type(obu->type)) return true;
    if (obu->type == kAv1SequenceHeader) seen_sequence_header_ = true;
    ByteWriter w(frame);
    w.write_u8(static_cast<uint8_t>(*ByteReader(obu->header).peek_u8() | 0x02));
    if (obu->header.size() == 2) w.write_u8(*ByteReader(obu->header).peek_u8(1));
    write_leb128(w, obu->payload.size());
    w.write_bytes(obu->payload);
    return true;
}

bool Av1Depacketizer::depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) {
    ByteReader r(payload);
    const auto agg = r.read_u8();
    if (!agg) return false;
    const bool z = *agg & 0x80;
    const bool y = *agg & 0x40;
    const unsigned w = (*agg >> 4) & 0x03;
    const bool n = *agg & 0x08;
    if (first) {
        info.frame_start = !z;
        if (z) return true;  // the start of this temporal unit was lost
        info.keyframe = n;
    }
    if (z != have_partial_) return false;  // continuation without a fragment, or a fragment left dangling
    if (r.empty()) return false;
    unsigned index = 0;
    while (!r.empty()) {
        ByteView element;
        if (w == 0 || index + 1 < w) {
            const auto len = read_leb128(r);
            if (!len || *len == 0 || *len > r.remaining()) return false;
            element = *r.read_bytes(static_cast<size_t>(*len));
        } else {
            element = r.read_rest();
        }
        if (index == 0 && z) {
            if (partial_.size() + element.size() > kMaxFrameSize) return false;
            partial_.insert(partial_.end(), element.begin(), element.end());
        } else {
            partial_.assign(element.begin(), element.end());
        }
        have_partial_ = true;
        ++index;
        const bool last = r.empty();
        if (w != 0 && index == w && !last) return false;
        if (last && y) break;  // continues in the next packet
        if (!emit_obu(frame)) return false;
    }
    if (w != 0 && index != w) return false;
    if (seen_sequence_header_) info.keyframe = true;
    return true;
}

bool Av1Depacketizer::finish_frame(std::vector<uint8_t>&, bool& keyframe) {
    if (have_partial_) return false;  // the last OBU fragment never ended
    keyframe = keyframe || seen_sequence_header_;
    return true;
}

void Av1Depacketizer::reset_frame() {
    partial_.clear();
    have_partial_ = false;
    seen_sequence_header_ = false;
}

} // namespace rtcpp::rtp
