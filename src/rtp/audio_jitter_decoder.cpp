#include "rtp/audio_jitter_decoder.hpp"

#include <opus/opus.h>

#include <charconv>

namespace rtcpp::rtp {

namespace {
constexpr int kMaxFrameSamples = 5760;  // 120 ms at 48 kHz

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}
} // namespace

OpusFmtp parse_opus_fmtp(std::string_view fmtp) {
    OpusFmtp p;
    while (!fmtp.empty()) {
        const size_t semi = fmtp.find(';');
        const std::string_view item = trim(fmtp.substr(0, semi));
        fmtp = semi == std::string_view::npos ? std::string_view{} : fmtp.substr(semi + 1);
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view key = trim(item.substr(0, eq));
        const auto v = number(trim(item.substr(eq + 1)));
        if (!v) continue;
        if (key == "useinbandfec") p.useinbandfec = *v == 1;
        else if (key == "usedtx") p.usedtx = *v == 1;
        else if (key == "stereo") p.stereo = *v == 1;
        else if (key == "maxaveragebitrate") p.maxaveragebitrate = *v;
        else if (key == "minptime") p.minptime = *v;
    }
    return p;
}

std::string format_opus_fmtp(const OpusFmtp& p) {
    std::string s;
    auto add = [&](std::string_view k, uint32_t v) {
        if (!s.empty()) s += ';';
        s += k;
        s += '=';
        s += std::to_string(v);
    };
    if (p.minptime) add("minptime", *p.minptime);
    if (p.useinbandfec) add("useinbandfec", 1);
    if (p.usedtx) add("usedtx", 1);
    if (p.stereo) add("stereo", 1);
    if (p.maxaveragebitrate) add("maxaveragebitrate", *p.maxaveragebitrate);
    return s;
}

Result<std::unique_ptr<AudioJitterDecoder>> AudioJitterDecoder::create(int sample_rate, int channels,
                                                                       TimeDelta frame_duration) {
    int err = 0;
    OpusDecoder* dec = opus_decoder_create(sample_rate, channels, &err);
    if (!dec || err != OPUS_OK)
        return make_error(ErrorCategory::OperationError, "rtp", std::string("opus_decoder_create: ") + opus_strerror(err));
    const int frame_samples = static_cast<int>(frame_duration.us() * sample_rate / 1000000);
    if (frame_samples <= 0 || frame_samples > kMaxFrameSamples) {
        opus_decoder_destroy(dec);
        return make_error(ErrorCategory::OperationError, "rtp", "unsupported Opus frame duration");
    }
    return std::unique_ptr<AudioJitterDecoder>(new AudioJitterDecoder(dec, channels, frame_samples));
}

AudioJitterDecoder::AudioJitterDecoder(OpusDecoder* dec, int channels, int frame_samples)
    : dec_(dec), channels_(channels), frame_samples_(frame_samples),
      pcm_(static_cast<size_t>(kMaxFrameSamples * channels)) {}

AudioJitterDecoder::~AudioJitterDecoder() { opus_decoder_destroy(dec_); }

std::span<const int16_t> AudioJitterDecoder::decode(const PlayoutFrame& frame) {
    int n = -1;
    if (frame.kind == PlayoutKind::Normal) {
        n = opus_decode(dec_, frame.payload.data(), static_cast<opus_int32>(frame.payload.size()), pcm_.data(),
                        kMaxFrameSamples, 0);
        if (n > 0) ++stats_.decoded;
    } else if (frame.kind == PlayoutKind::InbandFec) {
        // With decode_fec=1 the frame size must be the missing frame's; libopus conceals if there is no LBRR.
        n = opus_decode(dec_, frame.payload.data(), static_cast<opus_int32>(frame.payload.size()), pcm_.data(),
                        frame_samples_, 1);
        if (n > 0) ++stats_.fec_decoded;
    }
    if (n <= 0) {
        if (frame.kind != PlayoutKind::Conceal) ++stats_.errors;
        n = opus_decode(dec_, nullptr, 0, pcm_.data(), frame_samples_, 0);
        ++stats_.concealed;
        if (n <= 0) {
            std::fill_n(pcm_.begin(), frame_samples_ * channels_, int16_t{0});
            n = frame_samples_;
        }
    }
    return std::span<const int16_t>(pcm_.data(), static_cast<size_t>(n * channels_));
}

} // namespace rtcpp::rtp
