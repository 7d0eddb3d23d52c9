// libopenh264 H.264 encoder set up for real-time sending, for the examples: Constrained Baseline (CAVLC, no B
// frames), one slice per picture (or slices of a bounded size for packetization-mode 0), no frame skipping, output
// as Annex B access units. Chromium's profile-level-id=42e01f fits it (level 3.1 covers 720p30).
#pragma once

#include "codec/image.hpp"
#include "codec/vpx_encoder.hpp" // EncodedFrame
#include "rtcpp/result.hpp"
#include "rtcpp/units.hpp"

#include <memory>
#include <vector>

namespace rtcpp::codec {

struct H264EncoderConfig {
    int width = 640;
    int height = 360;
    int fps = 30;
    DataRate bitrate = DataRate::kbps(1000);
    /// Longest distance between automatic IDR pictures, in frames (requests force one sooner).
    int keyframe_interval = 3000;
    /// 0: one slice per picture (packetization-mode 1 fragments it with FU-A). Otherwise the largest NAL unit in
    /// bytes: packetization-mode 0 sends each NAL unit whole in one packet, so slices must fit a packet's payload.
    size_t max_nal_size = 0;
};

class H264Encoder {
public:
    static Result<std::unique_ptr<H264Encoder>> create(const H264EncoderConfig& config);
    ~H264Encoder();
    H264Encoder(const H264Encoder&) = delete;
    H264Encoder& operator=(const H264Encoder&) = delete;

    /// Encodes one picture of the configured size into one Annex B access unit (4-byte start codes). A keyframe is
    /// an IDR picture preceded by SPS and PPS. Returns no frame if the encoder produced none.
    Result<std::vector<EncodedFrame>> encode(const I420Image& image, bool force_keyframe = false);
    /// Changes the target bitrate from the next frame on (for congestion control).
    Result<void> set_bitrate(DataRate bitrate);

    const H264EncoderConfig& config() const { return config_; }
    uint64_t frames_encoded() const { return frames_encoded_; }
    uint64_t keyframes_encoded() const { return keyframes_encoded_; }

private:
    struct Impl;
    H264Encoder(std::unique_ptr<Impl> impl, const H264EncoderConfig& config);
    std::unique_ptr<Impl> impl_;
    H264EncoderConfig config_;
    int64_t next_pts_ = 0;
    uint64_t frames_encoded_ = 0;
    uint64_t keyframes_encoded_ = 0;
};

} // namespace rtcpp::codec
