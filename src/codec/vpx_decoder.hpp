// libvpx VP8/VP9 decoder for received frames; corrupt input is counted, never fatal.
#pragma once

#include "codec/image.hpp"
#include "codec/vpx_encoder.hpp"
#include "rtcpp/result.hpp"

#include <memory>
#include <optional>

namespace rtcpp::codec {

class VpxDecoder {
public:
    static Result<std::unique_ptr<VpxDecoder>> create(VideoCodec codec);
    ~VpxDecoder();
    VpxDecoder(const VpxDecoder&) = delete;
    VpxDecoder& operator=(const VpxDecoder&) = delete;

    /// Decodes one encoded frame. Returns the picture to show, nullopt if the frame produced none (e.g. a hidden
    /// VP9 frame), or an error if libvpx rejected it (counted in errors()).
    Result<std::optional<I420Image>> decode(std::span<const uint8_t> frame);

    VideoCodec codec() const { return codec_; }
    uint64_t frames_decoded() const { return frames_decoded_; }
    uint64_t errors() const { return errors_; }

private:
    struct Impl;
    VpxDecoder(std::unique_ptr<Impl> impl, VideoCodec codec);
    std::unique_ptr<Impl> impl_;
    VideoCodec codec_;
    uint64_t frames_decoded_ = 0;
    uint64_t errors_ = 0;
};

} // namespace rtcpp::codec
