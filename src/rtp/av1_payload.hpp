// AV1 over RTP (the AOMedia "RTP Payload Format For AV1"): the aggregation header (Z, Y, W, N), OBU elements with
// leb128 lengths, fragmentation of OBUs across packets. Frames are temporal units in the low-overhead bitstream
// format (every OBU with obu_has_size_field = 1), temporal delimiters and tile lists removed as the format says.
#pragma once

#include "rtp/packetizer.hpp"

#include <vector>

namespace rtcpp::rtp {

enum Av1ObuType : uint8_t {
    kAv1SequenceHeader = 1,
    kAv1TemporalDelimiter = 2,
    kAv1FrameHeader = 3,
    kAv1TileGroup = 4,
    kAv1Metadata = 5,
    kAv1Frame = 6,
    kAv1RedundantFrameHeader = 7,
    kAv1TileList = 8,
    kAv1Padding = 15,
};

struct Av1Obu {
    uint8_t type = 0;
    ByteView header;   ///< 1 or 2 bytes (with the extension byte), as in the input
    ByteView payload;  ///< without the size field
};

/// Splits a temporal unit (low-overhead format; the last OBU may omit its size) into OBUs. nullopt if malformed.
std::optional<std::vector<Av1Obu>> split_av1_obus(ByteView temporal_unit);

class Av1Packetizer final : public Packetizer {
public:
    /// N is set on the first packet when the temporal unit carries a sequence header (a new coded video sequence).
    Result<std::vector<RtpPayload>> packetize(ByteView temporal_unit, size_t max_payload_size) override;
};

class Av1Depacketizer final : public Depacketizer {
protected:
    bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) override;
    bool finish_frame(std::vector<uint8_t>& frame, bool& keyframe) override;
    void reset_frame() override;

private:
    bool emit_obu(std::vector<uint8_t>& frame);
    std::vector<uint8_t> partial_;
    bool have_partial_ = false;
    bool seen_sequence_header_ = false;
};

} // namespace rtcpp::rtp
