// libopenh264 H.264 decoder for received Annex B access units; corrupt input is counted, never fatal.
#pragma once

#include "codec/image.hpp"
#include "rtcpp/result.hpp"

#include <memory>
#include <optional>
#include <span>

namespace rtcpp::codec {

class H264Decoder {
public:
    static Result<std::unique_ptr<H264Decoder>> create();
    ~H264Decoder();
    H264Decoder(const H264Decoder&) = delete;
    H264Decoder& operator=(const H264Decoder&) = delete;

    /// Decodes one access unit (Annex B). Returns the picture, nullopt if the input made none (parameter sets
    /// alone), or an error if libopenh264 reported the stream broken (counted in errors()); after an error the
    /// decoder needs an IDR picture. Error concealment is off, so a damaged picture is an error, not a guess.
    Result<std::optional<I420Image>> decode(std::span<const uint8_t> access_unit);

    uint64_t frames_decoded() const { return frames_decoded_; }
    uint64_t errors() const { return errors_; }

private:
    struct Impl;
    explicit H264Decoder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    uint64_t frames_decoded_ = 0;
    uint64_t errors_ = 0;
};

} // namespace rtcpp::codec
