#include "codec/opus_codec.hpp"
#include "codec/test_pattern.hpp"

#include "rtcpp/random.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

using namespace rtcpp::codec;

namespace {

// Power of one frequency in a block of samples (Goertzel).
double goertzel(std::span<const int16_t> x, double freq, double rate) {
    const double w = 2.0 * std::numbers::pi * freq / rate;
    const double coeff = 2.0 * std::cos(w);
    double s1 = 0, s2 = 0;
    for (int16_t v : x) {
        const double s = static_cast<double>(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

std::vector<int16_t> tone_round_trip(int channels, bool fec, int frames) {
    OpusEncoderConfig cfg;
    cfg.channels = channels;
    cfg.inband_fec = fec;
    cfg.expected_loss_percent = fec ? 10 : 0;
    auto enc = OpusAudioEncoder::create(cfg);
    REQUIRE(enc.ok());
    auto dec = OpusAudioDecoder::create(channels);
    REQUIRE(dec.ok());
    ToneGenerator tone(440.0, kOpusSampleRate, channels);
    std::vector<int16_t> mono;
    for (int i = 0; i < frames; ++i) {
        const auto pcm = tone.next(kOpusFrameSamples);
        auto packet = (*enc)->encode(pcm);
        REQUIRE(packet.ok());
        CHECK(packet->size() > 0);
        CHECK(packet->size() < 400);
        auto out = (*dec)->decode(*packet);
        REQUIRE(out.ok());
        REQUIRE(out->size() == static_cast<size_t>(kOpusFrameSamples * channels));
        for (size_t s = 0; s < out->size(); s += static_cast<size_t>(channels)) mono.push_back((*out)[s]);
    }
    CHECK((*dec)->errors() == 0);
    CHECK((*dec)->frames_decoded() == static_cast<uint64_t>(frames));
    return mono;
}

void check_440(const std::vector<int16_t>& mono) {
    // Skip the first 100 ms (codec delay and ramp-up), then look at one second.
    REQUIRE(mono.size() >= 4800 + 48000);
    std::span<const int16_t> s(mono.data() + 4800, 48000);
    int crossings = 0;
    for (size_t i = 1; i < s.size(); ++i)
        if ((s[i - 1] < 0) != (s[i] < 0)) ++crossings;
    const double freq = crossings / 2.0;
    MESSAGE("zero-crossing frequency " << freq << " Hz");
    CHECK(freq > 430.0);
    CHECK(freq < 450.0);
    const double p440 = goertzel(s, 440, 48000);
    for (double other : {220.0, 330.0, 550.0, 880.0, 1000.0, 2000.0}) {
        CAPTURE(other);
        CHECK(p440 > 100.0 * goertzel(s, other, 48000));
    }
}

} // namespace

TEST_CASE("Opus: a 440 Hz tone survives encode -> decode (mono)") { check_440(tone_round_trip(1, false, 60)); }

TEST_CASE("Opus: stereo with in-band FEC") { check_440(tone_round_trip(2, true, 60)); }

TEST_CASE("Opus encoder refuses wrong frame sizes and channel counts") {
    auto enc = OpusAudioEncoder::create({});
    REQUIRE(enc.ok());
    std::vector<int16_t> short_frame(480);
    CHECK_FALSE((*enc)->encode(short_frame).ok());
    CHECK((*enc)->set_bitrate(rtcpp::DataRate::kbps(64)).ok());
    OpusEncoderConfig bad;
    bad.channels = 3;
    CHECK_FALSE(OpusAudioEncoder::create(bad).ok());
    CHECK_FALSE(OpusAudioDecoder::create(0).ok());
}

TEST_CASE("Opus decoder fed garbage counts errors, never crashes, and conceals") {
    auto dec = OpusAudioDecoder::create(1);
    REQUIRE(dec.ok());
    // Invalid per RFC 6716 3.2: code 3 with zero frames; code 1 (two equal frames) with an odd length.
    const std::vector<uint8_t> zero_frames{0x03, 0x00};
    const std::vector<uint8_t> odd_cbr{0x01, 0xaa};
    CHECK_FALSE((*dec)->decode(zero_frames).ok());
    CHECK_FALSE((*dec)->decode(odd_cbr).ok());
    CHECK_FALSE((*dec)->decode(std::span<const uint8_t>{}).ok());
    CHECK((*dec)->errors() == 3);
    rtcpp::Random rng(7);
    uint64_t failed = 3;
    for (int i = 0; i < 500; ++i) {
        std::vector<uint8_t> junk(1 + rng.next_u32() % 1500);
        rng.fill(junk);
        auto r = (*dec)->decode(junk);
        if (!r.ok()) ++failed;
    }
    CHECK((*dec)->errors() == failed);
    CHECK((*dec)->frames_decoded() + failed == 503);
    auto plc = (*dec)->conceal();
    REQUIRE(plc.ok());
    CHECK(plc->size() == static_cast<size_t>(kOpusFrameSamples));
}
