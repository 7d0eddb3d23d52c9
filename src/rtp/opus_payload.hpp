// Opus over RTP (RFC 7587): one Opus packet per RTP payload, never fragmented.
#pragma once

#include "rtp/packetizer.hpp"

namespace rtcpp::rtp {

class OpusPacketizer final : public Packetizer {
public:
    /// One payload holding the frame; an error if it does not fit (Opus frames are at most 1275 bytes per frame).
    Result<std::vector<RtpPayload>> packetize(ByteView frame, size_t max_payload_size) override;
    Result<size_t> packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out) override;
};

class OpusDepacketizer final : public Depacketizer {
protected:
    /// Every payload is a frame. Empty payloads (DTX without a packet) are malformed; a TOC byte is all that is
    /// checked: the decoder validates the rest.
    bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) override;
};

} // namespace rtcpp::rtp
