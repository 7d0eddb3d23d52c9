// Files the examples record into: IVF (VP8/VP9 frames), raw Annex B (H.264), WAV (16-bit PCM) and Ogg/Opus
// (RFC 7845).
// Each writer rewrites its header's sizes on close(), so a file is only complete once closed.
#pragma once

#include "codec/vpx_encoder.hpp"
#include "rtcpp/result.hpp"

#include <cstdint>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace rtcpp::codec {

/// The 32-byte IVF file header ("DKIF"); the timebase is 1/timebase_den seconds.
std::vector<uint8_t> ivf_file_header(VideoCodec codec, int width, int height, uint32_t timebase_den,
                                     uint32_t frame_count);
/// The 12-byte IVF frame header: frame size and pts, little-endian.
std::vector<uint8_t> ivf_frame_header(uint32_t frame_size, uint64_t pts);
/// The 44-byte canonical WAV header for 16-bit PCM.
std::vector<uint8_t> wav_header(int sample_rate, int channels, uint32_t data_bytes);

class IvfWriter {
public:
    /// The size may be 0 until set_size() learns it from the first decoded picture.
    static Result<std::unique_ptr<IvfWriter>> open(const std::string& path, VideoCodec codec, int width, int height,
                                                   uint32_t timebase_den = 90000);
    ~IvfWriter();
    void set_size(int width, int height);
    Result<void> write(std::span<const uint8_t> frame, uint64_t pts);
    Result<void> close();
    uint32_t frames() const { return frames_; }

private:
    IvfWriter() = default;
    std::ofstream out_;
    VideoCodec codec_ = VideoCodec::VP8;
    int width_ = 0;
    int height_ = 0;
    uint32_t timebase_den_ = 90000;
    uint32_t frames_ = 0;
};

/// An H.264 elementary stream (`.h264`): access units back to back, as Annex B with start codes, which is what
/// ffmpeg/ffprobe and openh264's h264dec read. Access units without a start code are refused.
class AnnexBWriter {
public:
    static Result<std::unique_ptr<AnnexBWriter>> open(const std::string& path);
    ~AnnexBWriter();
    Result<void> write(std::span<const uint8_t> access_unit);
    Result<void> close();
    uint64_t access_units() const { return access_units_; }

private:
    AnnexBWriter() = default;
    std::ofstream out_;
    uint64_t access_units_ = 0;
};

class WavWriter {
public:
    static Result<std::unique_ptr<WavWriter>> open(const std::string& path, int sample_rate, int channels);
    ~WavWriter();
    /// Interleaved samples.
    Result<void> write(std::span<const int16_t> pcm);
    Result<void> close();
    uint64_t samples_per_channel() const { return data_bytes_ / (2 * static_cast<uint64_t>(channels_)); }

private:
    WavWriter() = default;
    std::ofstream out_;
    int sample_rate_ = 48000;
    int channels_ = 1;
    uint64_t data_bytes_ = 0;
};

/// CRC-32 of Ogg pages (polynomial 0x04c11db7, not reflected, initial value 0).
uint32_t ogg_crc(std::span<const uint8_t> data);

/// One Opus stream in an Ogg file, one packet per page.
class OggOpusWriter {
public:
    static Result<std::unique_ptr<OggOpusWriter>> open(const std::string& path, int channels, uint32_t serial = 1);
    ~OggOpusWriter();
    /// One Opus packet as received. Its duration comes from its TOC byte; an unparsable packet is refused.
    Result<void> write(std::span<const uint8_t> packet);
    Result<void> close();
    uint64_t packets() const { return packets_; }

private:
    OggOpusWriter() = default;
    Result<void> write_page(std::span<const uint8_t> packet, uint8_t flags, uint64_t granule);
    Result<void> flush_pending(bool last);
    std::ofstream out_;
    uint32_t serial_ = 1;
    uint32_t page_sequence_ = 0;
    uint64_t granule_ = 0;
    uint64_t packets_ = 0;
    std::vector<uint8_t> pending_;
    bool has_pending_ = false;
    bool closed_ = false;
};

} // namespace rtcpp::codec
