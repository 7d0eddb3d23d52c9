// H.264 over RTP (RFC 6184): single NAL unit packets, STAP-A aggregation and FU-A fragmentation, in
// packetization-mode 0 (single NAL only) and 1 (non-interleaved). Frames are Annex B byte streams.
#pragma once

#include "rtp/packetizer.hpp"

#include <vector>

namespace rtcpp::rtp {

enum H264NalType : uint8_t {
    kH264Slice = 1,
    kH264Idr = 5,
    kH264Sei = 6,
    kH264Sps = 7,
    kH264Pps = 8,
    kH264Aud = 9,
    kH264StapA = 24,
    kH264FuA = 28,
};

/// The NAL units of an Annex B stream (start codes 00 00 01 or 00 00 00 01 removed), as views into it.
std::vector<ByteView> split_annex_b(ByteView stream);

/// True if the NAL units make a key frame: an IDR slice, or SPS and PPS together.
bool h264_is_keyframe(const std::vector<ByteView>& nalus);

class H264Packetizer final : public Packetizer {
public:
    explicit H264Packetizer(int packetization_mode = 1) : mode_(packetization_mode) {}
    /// Mode 0: one NAL per payload, an error if one does not fit. Mode 1: consecutive small NALs aggregated into
    /// STAP-A, large ones fragmented into FU-A.
    Result<std::vector<RtpPayload>> packetize(ByteView frame, size_t max_payload_size) override;

private:
    int mode_;
};

class H264Depacketizer final : public Depacketizer {
protected:
    bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) override;
    bool finish_frame(std::vector<uint8_t>& frame, bool& keyframe) override;
    void reset_frame() override;

private:
    bool append_nal(ByteView nal, std::vector<uint8_t>& frame);
    bool in_fu_ = false;
    uint8_t fu_type_ = 0;
    bool seen_sps_ = false;
    bool seen_pps_ = false;
    bool seen_idr_ = false;
};

} // namespace rtcpp::rtp
