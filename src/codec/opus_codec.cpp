#include "codec/opus_codec.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <string>

namespace rtcpp::codec {

namespace {

// The longest Opus packet lasts 120 ms.
constexpr int kMaxDecodeSamples = kOpusSampleRate * 120 / 1000;
// RFC 6716 caps a packet's frames at 1275 bytes each; 4000 bytes is libopus's recommended output buffer.
constexpr int kMaxPacketBytes = 4000;

Error opus_error(const char* what, int code) {
    return make_error(ErrorCategory::OperationError, "codec", std::string(what) + ": " + opus_strerror(code));
}

opus_int32 clamp_bitrate(DataRate r) { return static_cast<opus_int32>(std::clamp<int64_t>(r.bps(), 6000, 510000)); }

} // namespace

int opus_channels_from_fmtp(std::string_view fmtp) {
    // `key=value` pairs separated by ';' with optional spaces around them.
    while (!fmtp.empty()) {
        const size_t end = std::min(fmtp.find(';'), fmtp.size());
        std::string_view item = fmtp.substr(0, end);
        fmtp.remove_prefix(std::min(end + 1, fmtp.size()));
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t' || item.back() == '\r')) item.remove_suffix(1);
        if (item == "stereo=1" || item == "sprop-stereo=1") return 2;
    }
    return 1;
}

Result<std::unique_ptr<OpusAudioEncoder>> OpusAudioEncoder::create(const OpusEncoderConfig& config) {
    if (config.channels != 1 && config.channels != 2)
        return make_error(ErrorCategory::RangeError, "codec", "Opus encoder: 1 or 2 channels");
    int err = OPUS_OK;
    ::OpusEncoder* enc = opus_encoder_create(kOpusSampleRate, config.channels, OPUS_APPLICATION_VOIP, &err);
    if (!enc || err != OPUS_OK) return opus_error("opus_encoder_create", err);
    std::unique_ptr<OpusAudioEncoder> self(new OpusAudioEncoder(enc, config));
    if (int e = opus_encoder_ctl(enc, OPUS_SET_BITRATE(clamp_bitrate(config.bitrate))); e != OPUS_OK)
        return opus_error("OPUS_SET_BITRATE", e);
    if (int e = opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(config.inband_fec ? 1 : 0)); e != OPUS_OK)
        return opus_error("OPUS_SET_INBAND_FEC", e);
    if (auto r = self->set_expected_loss(config.expected_loss_percent); !r.ok()) return r.error();
    return self;
}

OpusAudioEncoder::~OpusAudioEncoder() { opus_encoder_destroy(enc_); }

Result<std::vector<uint8_t>> OpusAudioEncoder::encode(std::span<const int16_t> pcm) {
    if (pcm.size() != static_cast<size_t>(kOpusFrameSamples * config_.channels))
        return make_error(ErrorCategory::RangeError, "codec", "Opus encoder takes 20 ms frames");
    std::vector<uint8_t> out(kMaxPacketBytes);
    const opus_int32 n = opus_encode(enc_, pcm.data(), kOpusFrameSamples, out.data(), kMaxPacketBytes);
    if (n < 0) return opus_error("opus_encode", n);
    out.resize(static_cast<size_t>(n));
    ++frames_encoded_;
    return out;
}

Result<void> OpusAudioEncoder::set_bitrate(DataRate bitrate) {
    if (int e = opus_encoder_ctl(enc_, OPUS_SET_BITRATE(clamp_bitrate(bitrate))); e != OPUS_OK)
        return opus_error("OPUS_SET_BITRATE", e);
    config_.bitrate = bitrate;
    return {};
}

Result<void> OpusAudioEncoder::set_expected_loss(int percent) {
    percent = std::clamp(percent, 0, 100);
    if (int e = opus_encoder_ctl(enc_, OPUS_SET_PACKET_LOSS_PERC(percent)); e != OPUS_OK)
        return opus_error("OPUS_SET_PACKET_LOSS_PERC", e);
    config_.expected_loss_percent = percent;
    return {};
}

Result<std::unique_ptr<OpusAudioDecoder>> OpusAudioDecoder::create(int channels) {
    if (channels != 1 && channels != 2)
        return make_error(ErrorCategory::RangeError, "codec", "Opus decoder: 1 or 2 channels");
    int err = OPUS_OK;
    ::OpusDecoder* dec = opus_decoder_create(kOpusSampleRate, channels, &err);
    if (!dec || err != OPUS_OK) return opus_error("opus_decoder_create", err);
    return std::unique_ptr<OpusAudioDecoder>(new OpusAudioDecoder(dec, channels));
}

OpusAudioDecoder::OpusAudioDecoder(::OpusDecoder* dec, int channels)
    : dec_(dec), channels_(channels), pcm_(static_cast<size_t>(kMaxDecodeSamples * channels)) {}

OpusAudioDecoder::~OpusAudioDecoder() { opus_decoder_destroy(dec_); }

Result<std::span<const int16_t>> OpusAudioDecoder::decode(std::span<const uint8_t> packet) {
    if (packet.empty() || packet.size() > 0x7fffffff) {
        ++errors_;
        return make_error(ErrorCategory::DataError, "codec", "empty Opus packet");
    }
    const int n = opus_decode(dec_, packet.data(), static_cast<opus_int32>(packet.size()), pcm_.data(),
                              kMaxDecodeSamples, 0);
    if (n < 0) {
        ++errors_;
        return make_error(ErrorCategory::DataError, "codec", std::string("opus_decode: ") + opus_strerror(n));
    }
    ++frames_decoded_;
    return std::span<const int16_t>(pcm_.data(), static_cast<size_t>(n * channels_));
}

Result<std::span<const int16_t>> OpusAudioDecoder::conceal() {
    const int n = opus_decode(dec_, nullptr, 0, pcm_.data(), kOpusFrameSamples, 0);
    if (n < 0) return opus_error("opus_decode (PLC)", n);
    return std::span<const int16_t>(pcm_.data(), static_cast<size_t>(n * channels_));
}

} // namespace rtcpp::codec
