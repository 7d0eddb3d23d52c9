// TURN framing (RFC 8656): ChannelData messages and the byte stream of TURN over TCP/TLS.
//
// A ChannelData message is a 4-byte header (channel number 0x4000..0x4FFF, data length) followed by the data. Over
// UDP padding is optional; over a stream (TCP, TLS) it is padded to a multiple of 4 so the next message starts on a
// boundary (RFC 8656 section 12.5). A STUN message and a ChannelData message are told apart by the first two bits
// (00: STUN, 01: ChannelData).
//
// StreamFramer reassembles whole messages from arbitrary chunks of a stream: feed() every chunk as it comes, then
// take next() until it returns nullopt. A stream that cannot be framed (first bits 10/11) is broken for good.
#pragma once

#include "core/byte_reader.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::stun {

inline constexpr uint16_t kMinChannel = 0x4000;
inline constexpr uint16_t kMaxChannel = 0x4FFF;
inline constexpr size_t kChannelDataHeaderSize = 4;

inline bool is_valid_channel(uint16_t channel) { return channel >= kMinChannel && channel <= kMaxChannel; }

/// First two bits 01 and at least a header: worth parsing as ChannelData.
bool is_channel_data(ByteView bytes);

struct ChannelDataView {
    uint16_t channel = 0;
    ByteView data;
};

/// Parses one ChannelData message. The declared length must fit in `bytes`; trailing bytes (padding) are allowed
/// up to 3 on a stream, any amount being ignored on UDP as RFC 8656 section 12.4 asks.
std::optional<ChannelDataView> parse_channel_data(ByteView bytes);

/// Appends a ChannelData message; `pad` to a multiple of 4 (required over TCP/TLS).
void encode_channel_data(std::vector<uint8_t>& out, uint16_t channel, ByteView data, bool pad);

class StreamFramer {
public:
    /// The largest message accepted: a STUN header plus 65535 bytes (the 16-bit length allows no more).
    static constexpr size_t kMaxMessage = 20 + 65535 + 3;

    /// Appends a chunk of the stream.
    void feed(ByteView chunk);
    /// The next complete message (STUN, or ChannelData with its padding stripped), if one is buffered.
    std::optional<std::vector<uint8_t>> next();
    /// The stream carried something that is neither STUN nor ChannelData: nothing more can be framed.
    bool broken() const { return broken_; }
    size_t buffered() const { return buffer_.size() - start_; }
    void reset();

private:
    std::vector<uint8_t> buffer_;
    size_t start_ = 0;
    bool broken_ = false;
};

} // namespace rtcpp::stun
