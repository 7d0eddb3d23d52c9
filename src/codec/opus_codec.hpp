// libopus encoder/decoder for the examples: 48 kHz, 20 ms frames, mono or stereo, interleaved int16 PCM.
#pragma once

#include "rtcpp/result.hpp"
#include "rtcpp/units.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

// libopus's own handle types (global `typedef struct OpusEncoder OpusEncoder;`); the wrappers are named
// OpusAudioEncoder/OpusAudioDecoder so a `using namespace rtcpp::codec` does not make the names ambiguous.
struct OpusEncoder;
struct OpusDecoder;

namespace rtcpp::codec {

inline constexpr int kOpusSampleRate = 48000;
/// Samples per channel in one 20 ms frame at 48 kHz.
inline constexpr int kOpusFrameSamples = 960;

struct OpusEncoderConfig {
    int channels = 1;
    DataRate bitrate = DataRate::kbps(32);
    /// In-band FEC (LBRR): the next packet carries a coarse copy of this one, for a receiver that lost it.
    bool inband_fec = false;
    /// The loss the encoder should expect (0..100): in-band FEC only kicks in when it is above zero.
    int expected_loss_percent = 0;
};

/// The channel count to decode a stream with, from the Opus fmtp parameters (RFC 7587 section 6.1) of the SDPs:
/// 2 when `stereo=1` (the receiver's preference, which libwebrtc senders follow) or `sprop-stereo=1` (the sender
/// says it may send stereo) appears, else 1. Either count decodes any Opus packet (libopus up- or downmixes).
int opus_channels_from_fmtp(std::string_view fmtp);

class OpusAudioEncoder {
public:
    static Result<std::unique_ptr<OpusAudioEncoder>> create(const OpusEncoderConfig& config);
    ~OpusAudioEncoder();
    OpusAudioEncoder(const OpusAudioEncoder&) = delete;
    OpusAudioEncoder& operator=(const OpusAudioEncoder&) = delete;

    /// Encodes one 20 ms frame: exactly kOpusFrameSamples * channels interleaved samples.
    Result<std::vector<uint8_t>> encode(std::span<const int16_t> pcm);
    Result<void> set_bitrate(DataRate bitrate);
    Result<void> set_expected_loss(int percent);

    const OpusEncoderConfig& config() const { return config_; }
    uint64_t frames_encoded() const { return frames_encoded_; }

private:
    OpusAudioEncoder(::OpusEncoder* enc, const OpusEncoderConfig& config) : enc_(enc), config_(config) {}
    ::OpusEncoder* enc_;
    OpusEncoderConfig config_;
    uint64_t frames_encoded_ = 0;
};

class OpusAudioDecoder {
public:
    static Result<std::unique_ptr<OpusAudioDecoder>> create(int channels);
    ~OpusAudioDecoder();
    OpusAudioDecoder(const OpusAudioDecoder&) = delete;
    OpusAudioDecoder& operator=(const OpusAudioDecoder&) = delete;

    /// Decodes one packet to interleaved PCM (valid until the next call). A packet libopus rejects is counted in
    /// errors() and returned as an error.
    Result<std::span<const int16_t>> decode(std::span<const uint8_t> packet);
    /// Conceals one lost 20 ms frame (packet loss concealment).
    Result<std::span<const int16_t>> conceal();

    int channels() const { return channels_; }
    uint64_t frames_decoded() const { return frames_decoded_; }
    uint64_t errors() const { return errors_; }

private:
    OpusAudioDecoder(::OpusDecoder* dec, int channels);
    ::OpusDecoder* dec_;
    int channels_;
    std::vector<int16_t> pcm_;
    uint64_t frames_decoded_ = 0;
    uint64_t errors_ = 0;
};

} // namespace rtcpp::codec
