// RED (RFC 2198): redundant blocks in one RTP payload. Used two ways in WebRTC:
// - video: every packet wrapped as RED with only a primary block, so ULPFEC packets (block PT = ulpfec) can share
//   the media SSRC and sequence space;
// - audio (`red/48000/2`, fmtp "111/111"): the primary Opus frame plus copies of previous frames, each with its
//   timestamp offset, so a single loss costs nothing.
#pragma once

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"
#include "core/ring_queue.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

namespace rtcpp::rtp {

inline constexpr uint32_t kRedMaxTimestampOffset = (1u << 14) - 1;
inline constexpr size_t kRedMaxBlockLength = (1u << 10) - 1;
/// More blocks than this in one payload is treated as malformed (Chromium sends at most 2-3).
inline constexpr size_t kRedMaxBlocks = 8;

struct RedBlock {
    uint8_t payload_type = 0;
    uint32_t timestamp_offset = 0;  ///< 0 for the primary block
    ByteView data;
};

/// The blocks of a RED payload, oldest redundant first, primary last. Views into the parsed bytes.
struct RedPayload {
    std::array<RedBlock, kRedMaxBlocks> blocks{};
    size_t count = 0;
    const RedBlock& primary() const { return blocks[count - 1]; }
};

/// nullopt if headers run past the end, lengths overrun, or there are more than kRedMaxBlocks blocks.
std::optional<RedPayload> parse_red(ByteView payload);

/// Writes a RED payload: `redundant` (oldest first; each offset <= 14 bits, length <= 1023) then the primary.
/// False (nothing written) if a redundant block does not fit the header fields.
bool write_red(ByteWriter& w, std::span<const RedBlock> redundant, uint8_t primary_pt, ByteView primary);

/// The RED form of a media packet with only a primary block (video: the carrier for ULPFEC). Padding is kept.
std::vector<uint8_t> wrap_red(const RtpPacketView& media, uint8_t red_pt);
/// A RED packet whose primary block is media (not `ulpfec_pt`): the media packet as it was before wrapping.
/// nullopt if the RED payload is malformed or its primary is FEC.
std::optional<std::vector<uint8_t>> unwrap_red_primary(const RtpPacketView& red, uint8_t ulpfec_pt = 0xFF);

/// Parses `a=fmtp:<red> 111/111`: the payload type of every block. Empty if malformed or mixed types.
std::optional<uint8_t> parse_red_fmtp(std::string_view fmtp, size_t* distance = nullptr);

/// Sender of audio RED: keeps the last `distance` encoded frames and adds them as redundancy to the next payload,
/// as long as they fit the block header fields and the size budget.
class AudioRedEncoder {
public:
    AudioRedEncoder(uint8_t primary_pt, size_t distance = 1, size_t max_payload = 1200)
        : pt_(primary_pt), distance_(distance), max_payload_(max_payload) {}
    /// The RED payload for `frame` sent at RTP timestamp `timestamp`.
    std::vector<uint8_t> encode(uint32_t timestamp, ByteView frame);
    /// The same into `out` (replaced), for a sender that reuses one buffer; the frame kept for the next payloads
    /// reuses the buffer of the one it replaces: steady sending allocates nothing.
    void encode_into(uint32_t timestamp, ByteView frame, std::vector<uint8_t>& out);
    /// Past frames carried from the next payload on (at most kRedMaxBlocks - 1).
    void set_distance(size_t distance) { distance_ = std::min(distance, kRedMaxBlocks - 1); }
    size_t distance() const { return distance_; }

private:
    struct Past {
        uint32_t timestamp;
        std::vector<uint8_t> data;
    };
    uint8_t pt_;
    size_t distance_;
    size_t max_payload_;
    RingQueue<Past> past_;
};

/// One frame recovered from an audio RED payload.
struct RedAudioFrame {
    uint32_t timestamp = 0;
    uint8_t payload_type = 0;
    bool redundant = false;
    ByteView data;
};
/// Splits an audio RED payload (RTP timestamp `timestamp`) into frames, oldest first. Zero-length blocks (allowed
/// by RFC 2198 for "nothing to send") are skipped. Returns the number written to `out`; 0 if malformed.
size_t split_red_audio(ByteView payload, uint32_t timestamp, std::array<RedAudioFrame, kRedMaxBlocks>& out);

} // namespace rtcpp::rtp
