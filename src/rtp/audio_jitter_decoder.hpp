// Decodes AudioJitterBuffer's playout frames with libopus: normal decoding, in-band FEC (LBRR) of the next packet
// for a missing frame, and packet loss concealment. Also the Opus fmtp parameters that turn in-band FEC on
// (RFC 7587 §7: useinbandfec=1 asks the remote encoder to send LBRR).
#pragma once

#include "rtp/audio_jitter_buffer.hpp"

#include <rtcpp/result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct OpusDecoder;

namespace rtcpp::rtp {

struct OpusFmtp {
    bool useinbandfec = false;
    bool usedtx = false;
    bool stereo = false;
    std::optional<uint32_t> maxaveragebitrate;
    std::optional<uint32_t> minptime;
};
/// Parses `minptime=10;useinbandfec=1` (unknown parameters ignored, malformed values skipped).
OpusFmtp parse_opus_fmtp(std::string_view fmtp);
std::string format_opus_fmtp(const OpusFmtp& p);

struct AudioDecodeStats {
    uint64_t decoded = 0;
    uint64_t fec_decoded = 0;
    uint64_t concealed = 0;
    uint64_t errors = 0;  ///< corrupt packets (concealed instead)
};

class AudioJitterDecoder {
public:
    /// sample_rate: 8000, 12000, 16000, 24000 or 48000; channels 1 or 2.
    static Result<std::unique_ptr<AudioJitterDecoder>> create(int sample_rate, int channels,
                                                              TimeDelta frame_duration = TimeDelta::millis(20));
    ~AudioJitterDecoder();
    AudioJitterDecoder(const AudioJitterDecoder&) = delete;
    AudioJitterDecoder& operator=(const AudioJitterDecoder&) = delete;

    /// Interleaved 16-bit PCM for one playout frame; the span is valid until the next call. Never fails: a corrupt
    /// packet is concealed.
    std::span<const int16_t> decode(const PlayoutFrame& frame);
    const AudioDecodeStats& stats() const { return stats_; }

private:
    AudioJitterDecoder(OpusDecoder* dec, int channels, int frame_samples);
    OpusDecoder* dec_;
    int channels_;
    int frame_samples_;
    std::vector<int16_t> pcm_;
    AudioDecodeStats stats_;
};

} // namespace rtcpp::rtp
