// libvpx VP8/VP9 encoder set up for real-time sending (one pass, CBR, no lookahead), for the examples.
// (H.264 goes through libopenh264 instead: codec/h264_encoder.hpp.)
#pragma once

#include "codec/image.hpp"
#include "rtcpp/result.hpp"
#include "rtcpp/units.hpp"

#include <memory>
#include <optional>
#include <string_view>

namespace rtcpp::codec {

enum class VideoCodec { VP8, VP9, H264 };
std::string_view to_string(VideoCodec c);
/// "VP8" / "VP9" / "H264" (case-insensitive, as in SDP rtpmap).
std::optional<VideoCodec> video_codec_from_name(std::string_view name);

struct VpxEncoderConfig {
    VideoCodec codec = VideoCodec::VP8;
    int width = 640;
    int height = 360;
    int fps = 30;
    DataRate bitrate = DataRate::kbps(1000);
    /// Longest distance between automatic keyframes, in frames (requests force one sooner).
    int keyframe_interval = 3000;
};

struct EncodedFrame {
    std::vector<uint8_t> data;
    bool keyframe = false;
    int64_t pts = 0; ///< in frames since the first one
};

class VpxEncoder {
public:
    static Result<std::unique_ptr<VpxEncoder>> create(const VpxEncoderConfig& config);
    ~VpxEncoder();
    VpxEncoder(const VpxEncoder&) = delete;
    VpxEncoder& operator=(const VpxEncoder&) = delete;

    /// Encodes one picture of the configured size. Usually one frame comes out (none if the rate control drops it).
    Result<std::vector<EncodedFrame>> encode(const I420Image& image, bool force_keyframe = false);
    /// Changes the target bitrate from the next frame on (for congestion control).
    Result<void> set_bitrate(DataRate bitrate);

    const VpxEncoderConfig& config() const { return config_; }
    uint64_t frames_encoded() const { return frames_encoded_; }
    uint64_t keyframes_encoded() const { return keyframes_encoded_; }

private:
    struct Impl;
    explicit VpxEncoder(std::unique_ptr<Impl> impl, const VpxEncoderConfig& config);
    std::unique_ptr<Impl> impl_;
    VpxEncoderConfig config_;
    int64_t next_pts_ = 0;
    uint64_t frames_encoded_ = 0;
    uint64_t keyframes_encoded_ = 0;
};

} // namespace rtcpp::codec
