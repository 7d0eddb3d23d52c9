// VP9 over RTP (RFC 9628): payload descriptor (flexible and non-flexible modes, picture id, layer indices,
// reference indices, scalability structure), a packetizer and a depacketizer.
#pragma once

#include "rtp/packetizer.hpp"

#include "core/byte_writer.hpp"

#include <array>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct Vp9ScalabilityStructure {
    struct Resolution {
        uint16_t width = 0;
        uint16_t height = 0;
        bool operator==(const Resolution&) const = default;
    };
    struct PictureGroupEntry {
        uint8_t temporal_id = 0;  ///< 3 bits
        bool switching_up = false;
        std::vector<uint8_t> p_diffs;  ///< at most 3
        bool operator==(const PictureGroupEntry&) const = default;
    };
    uint8_t spatial_layers = 1;  ///< N_S + 1, 1..8
    std::vector<Resolution> resolutions;  ///< empty, or one per spatial layer (Y bit)
    std::optional<std::vector<PictureGroupEntry>> picture_group;  ///< G bit
    bool operator==(const Vp9ScalabilityStructure&) const = default;
};

struct Vp9PayloadDescriptor {
    bool inter_picture_predicted = false;  ///< P
    bool flexible = false;                 ///< F
    bool beginning_of_frame = false;       ///< B
    bool end_of_frame = false;             ///< E
    bool not_upper_reference = false;      ///< Z
    std::optional<uint16_t> picture_id;    ///< I: 7 or 15 bits
    bool picture_id_15bit = true;
    bool has_layer_indices = false;        ///< L
    uint8_t temporal_id = 0;               ///< 3 bits
    bool switching_up = false;             ///< U
    uint8_t spatial_id = 0;                ///< 3 bits
    bool inter_layer_predicted = false;    ///< D
    std::optional<uint8_t> tl0_pic_idx;    ///< non-flexible mode with L
    std::array<uint8_t, 3> p_diffs{};      ///< flexible mode with P: reference picture id differences
    uint8_t num_p_diffs = 0;
    std::optional<Vp9ScalabilityStructure> ss;  ///< V
    bool operator==(const Vp9PayloadDescriptor&) const = default;

    static std::optional<Vp9PayloadDescriptor> read(ByteReader& r);
    void write(ByteWriter& w) const;
};

class Vp9Packetizer final : public Packetizer {
public:
    /// `descriptor` is the template for every packet of a layer frame; B and E are set by the packetizer, the
    /// scalability structure goes in the first packet only. The picture id (when set) is incremented per call
    /// unless auto_picture_id is false (spatial layers of one picture share it).
    explicit Vp9Packetizer(Vp9PayloadDescriptor descriptor = {}, bool auto_picture_id = true)
        : template_(std::move(descriptor)), auto_picture_id_(auto_picture_id) {}
    Result<std::vector<RtpPayload>> packetize(ByteView frame, size_t max_payload_size) override;
    Vp9PayloadDescriptor& descriptor() { return template_; }

private:
    Vp9PayloadDescriptor template_;
    bool auto_picture_id_;
};

/// Frames are whole pictures (all spatial layers up to the marker bit). A picture of several layer frames gets a
/// VP9 superframe index appended, so a decoder takes it in one call.
class Vp9Depacketizer final : public Depacketizer {
public:
    const std::optional<Vp9PayloadDescriptor>& last_descriptor() const { return last_; }
    /// The last scalability structure seen.
    const std::optional<Vp9ScalabilityStructure>& scalability_structure() const { return ss_; }

protected:
    bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) override;
    bool finish_frame(std::vector<uint8_t>& frame, bool& keyframe) override;
    void reset_frame() override;

private:
    std::optional<Vp9PayloadDescriptor> last_;
    std::optional<Vp9ScalabilityStructure> ss_;
    std::vector<size_t> layer_starts_;
    bool in_layer_ = false;
};

} // namespace rtcpp::rtp
