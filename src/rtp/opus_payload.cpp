#include "rtp/opus_payload.hpp"

namespace rtcpp::rtp {

Result<std::vector<RtpPayload>> OpusPacketizer::packetize(ByteView frame, size_t max_payload_size) {
    std::vector<RtpPayload> out;
    auto n = packetize_into(frame, max_payload_size, out);
    if (!n) return n.error();
    return out;
}

Result<size_t> OpusPacketizer::packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out) {
    if (frame.empty()) return make_error(ErrorCategory::DataError, "rtp", "empty Opus frame");
    if (frame.size() > max_payload_size) {
        return make_error(ErrorCategory::RangeError, "rtp", "Opus frame larger than the payload size");
    }
    if (out.empty()) out.resize(1);
    // Opus frames vary in size (VBR): a reused payload grows once, to the largest it can be.
    if (out[0].data.capacity() < frame.size()) out[0].data.reserve(max_payload_size);
    out[0].data.assign(frame.begin(), frame.end());
    // For audio the marker means "first packet of a talkspurt" (RFC 3551 §4.1): the sender decides, not us.
    out[0].marker = false;
    return size_t{1};
}

bool OpusDepacketizer::depacketize(ByteView payload, bool, std::vector<uint8_t>& frame, PayloadInfo& info) {
    if (payload.empty()) return false;
    frame.insert(frame.end(), payload.begin(), payload.end());
    info.frame_start = true;
    info.frame_end = true;
    // Every Opus packet decodes on its own.
    info.keyframe = true;
    return true;
}

} // namespace rtcpp::rtp
