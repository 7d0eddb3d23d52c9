// VP8 over RTP (RFC 7741): the payload descriptor, a packetizer and a depacketizer.
#pragma once

#include "rtp/packetizer.hpp"

#include "core/byte_writer.hpp"

#include <optional>

namespace rtcpp::rtp {

struct Vp8PayloadDescriptor {
    bool non_reference = false;       ///< N
    bool start_of_partition = false;  ///< S
    uint8_t partition_id = 0;         ///< PID, 0..7
    std::optional<uint16_t> picture_id;  ///< 7 or 15 bits
    bool picture_id_15bit = true;        ///< M: the size used on the wire
    std::optional<uint8_t> tl0_pic_idx;
    std::optional<uint8_t> temporal_id;  ///< TID, 0..3 (T bit)
    bool layer_sync = false;             ///< Y
    std::optional<uint8_t> key_idx;      ///< KEYIDX, 0..31 (K bit)
    bool operator==(const Vp8PayloadDescriptor&) const = default;

    /// Reads the descriptor; r is left at the VP8 payload. nullopt if truncated.
    static std::optional<Vp8PayloadDescriptor> read(ByteReader& r);
    void write(ByteWriter& w) const;
    size_t size() const;
};

/// True if this payload starts a VP8 key frame (S=1, PID=0, and the frame tag's P bit clear).
bool vp8_is_keyframe(ByteView payload);

class Vp8Packetizer final : public Packetizer {
public:
    /// `descriptor` is the template for every packet: set picture_id (15-bit, incremented per frame),
    /// tl0_pic_idx, temporal_id etc. as the encoder's layering requires. S and PID are set by the packetizer.
    explicit Vp8Packetizer(Vp8PayloadDescriptor descriptor = {}) : template_(descriptor) {}
    Result<std::vector<RtpPayload>> packetize(ByteView frame, size_t max_payload_size) override;
    Result<size_t> packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out) override;
    Vp8PayloadDescriptor& descriptor() { return template_; }

private:
    Vp8PayloadDescriptor template_;
};

class Vp8Depacketizer final : public Depacketizer {
public:
    /// The descriptor of the last payload handled.
    const std::optional<Vp8PayloadDescriptor>& last_descriptor() const { return last_; }

protected:
    bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) override;

private:
    std::optional<Vp8PayloadDescriptor> last_;
};

} // namespace rtcpp::rtp
