// RTX retransmission packets (RFC 4588): the original sequence number (OSN) prepended to the original payload,
// sent with the RTX payload type, SSRC and sequence number space. Header extensions and CSRCs are kept; the
// original padding is not.
#pragma once

#include "rtp/rtp_packet.hpp"

#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct RtxParams {
    uint8_t rtx_payload_type = 0;
    uint32_t rtx_ssrc = 0;
    uint16_t rtx_sequence_number = 0;
};

/// The RTX form of `original`, into a caller buffer. False if it does not fit.
bool wrap_rtx(SpanWriter& w, const RtpPacketView& original, const RtxParams& params);
std::vector<uint8_t> wrap_rtx(const RtpPacketView& original, const RtxParams& params);

/// The original packet carried by an RTX packet, given the original payload type and SSRC (from the a=fmtp apt
/// mapping and the ssrc-group FID). nullopt if the RTX payload is shorter than the OSN.
bool unwrap_rtx(SpanWriter& w, const RtpPacketView& rtx, uint8_t original_payload_type, uint32_t original_ssrc);
std::optional<std::vector<uint8_t>> unwrap_rtx(const RtpPacketView& rtx, uint8_t original_payload_type,
                                               uint32_t original_ssrc);

} // namespace rtcpp::rtp
