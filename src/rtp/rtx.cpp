#include "rtp/rtx.hpp"

namespace rtcpp::rtp {

namespace {
RtpHeader rtx_header(const RtpPacketView& original, const RtxParams& params) {
    RtpHeader h = RtpHeader::from_view(original);
    h.payload_type = params.rtx_payload_type;
    h.ssrc = params.rtx_ssrc;
    h.sequence_number = params.rtx_sequence_number;
    return h;
}
} // namespace

bool wrap_rtx(SpanWriter& w, const RtpPacketView& original, const RtxParams& params) {
    const RtpHeader h = rtx_header(original, params);
    if (w.remaining() < h.size() + 2 + original.payload().size()) return false;
    // The OSN goes in front of the payload: write the header with an empty payload, then OSN and payload.
    if (!write_rtp_packet(w, h, {})) return false;
    w.write_u16(original.sequence_number());
    w.write_bytes(original.payload());
    return w.ok();
}

std::vector<uint8_t> wrap_rtx(const RtpPacketView& original, const RtxParams& params) {
    const RtpHeader h = rtx_header(original, params);
    std::vector<uint8_t> out;
    out.reserve(h.size() + 2 + original.payload().size());
    ByteWriter w(out);
    write_rtp_packet(w, h, {});
    w.write_u16(original.sequence_number());
    w.write_bytes(original.payload());
    return out;
}

namespace {
std::optional<RtpHeader> original_header(const RtpPacketView& rtx, uint8_t pt, uint32_t ssrc, ByteView& payload) {
    ByteReader r(rtx.payload());
    const auto osn = r.read_u16();
    if (!osn) return std::nullopt;
    payload = r.read_rest();
    RtpHeader h = RtpHeader::from_view(rtx);
    h.payload_type = pt;
    h.ssrc = ssrc;
    h.sequence_number = *osn;
    return h;
}
} // namespace

bool unwrap_rtx(SpanWriter& w, const RtpPacketView& rtx, uint8_t original_payload_type, uint32_t original_ssrc) {
    ByteView payload;
    const auto h = original_header(rtx, original_payload_type, original_ssrc, payload);
    if (!h) return false;
    return write_rtp_packet(w, *h, payload);
}

std::optional<std::vector<uint8_t>> unwrap_rtx(const RtpPacketView& rtx, uint8_t original_payload_type,
                                               uint32_t original_ssrc) {
    ByteView payload;
    const auto h = original_header(rtx, original_payload_type, original_ssrc, payload);
    if (!h) return std::nullopt;
    return build_rtp_packet(*h, payload);
}

} // namespace rtcpp::rtp
