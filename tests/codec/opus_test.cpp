#include "codec/media_writers.hpp"
#include "codec/opus_codec.hpp"
#include "codec/test_pattern.hpp"

#include "rtcpp/random.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
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

TEST_CASE("Opus stereo: two different channels survive encode -> decode -> WAV separately") {
    // Left 440 Hz, right 660 Hz: a decoder that downmixed, or swapped, or dropped a channel shows it.
    OpusEncoderConfig cfg;
    cfg.channels = 2;
    cfg.bitrate = rtcpp::DataRate::kbps(96);
    auto enc = OpusAudioEncoder::create(cfg);
    REQUIRE(enc.ok());
    auto dec = OpusAudioDecoder::create(opus_channels_from_fmtp("minptime=10;stereo=1;useinbandfec=1"));
    REQUIRE(dec.ok());
    REQUIRE((*dec)->channels() == 2);
    auto mono_dec = OpusAudioDecoder::create(1);
    REQUIRE(mono_dec.ok());
    const auto path = std::filesystem::temp_directory_path() / ("rtcpp_opus_stereo_" + std::to_string(::getpid()) + ".wav");
    auto wav = WavWriter::open(path.string(), kOpusSampleRate, (*dec)->channels());
    REQUIRE(wav.ok());
    std::vector<int16_t> left, right, mono;
    uint64_t n = 0;
    for (int f = 0; f < 60; ++f) {
        std::vector<int16_t> pcm(2 * kOpusFrameSamples);
        for (int i = 0; i < kOpusFrameSamples; ++i, ++n) {
            const double t = static_cast<double>(n) / kOpusSampleRate;
            pcm[2 * static_cast<size_t>(i)] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * t));
            pcm[2 * static_cast<size_t>(i) + 1] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 660 * t));
        }
        auto packet = (*enc)->encode(pcm);
        REQUIRE(packet.ok());
        CHECK(((*packet)[0] & 0x04) != 0); // TOC byte: the s bit says stereo
        auto out = (*dec)->decode(*packet);
        REQUIRE(out.ok());
        REQUIRE(out->size() == static_cast<size_t>(2 * kOpusFrameSamples));
        REQUIRE((*wav)->write(*out).ok());
        auto m = (*mono_dec)->decode(*packet);
        REQUIRE(m.ok());
        mono.insert(mono.end(), m->begin(), m->end());
    }
    CHECK((*wav)->samples_per_channel() == 60u * kOpusFrameSamples);
    REQUIRE((*wav)->close().ok());
    // Read the channels back from the file, so the writer's interleaving is checked too.
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(path);
    REQUIRE(bytes.size() == 44 + 60u * kOpusFrameSamples * 4);
    CHECK((bytes[22] | bytes[23] << 8) == 2);
    for (size_t at = 44; at + 4 <= bytes.size(); at += 4) {
        left.push_back(static_cast<int16_t>(bytes[at] | bytes[at + 1] << 8));
        right.push_back(static_cast<int16_t>(bytes[at + 2] | bytes[at + 3] << 8));
    }
    std::span<const int16_t> l(left.data() + 4800, 48000), r(right.data() + 4800, 48000), m(mono.data() + 4800, 48000);
    const double l440 = goertzel(l, 440, 48000), l660 = goertzel(l, 660, 48000);
    const double r440 = goertzel(r, 440, 48000), r660 = goertzel(r, 660, 48000);
    MESSAGE("left 440/660 power ratio " << l440 / l660 << ", right 660/440 " << r660 / r440);
    CHECK(l440 > 100 * l660);
    CHECK(r660 > 100 * r440);
    // The mono decoder of the same packets mixes both tones: what the peer would have heard before.
    const double m440 = goertzel(m, 440, 48000), m660 = goertzel(m, 660, 48000);
    CHECK(m440 < 10 * m660);
    CHECK(m660 < 10 * m440);
}

TEST_CASE("Opus channel count from fmtp") {
    CHECK(opus_channels_from_fmtp("") == 1);
    CHECK(opus_channels_from_fmtp("minptime=10;useinbandfec=1") == 1);
    CHECK(opus_channels_from_fmtp("minptime=10;useinbandfec=1;stereo=1") == 2);
    CHECK(opus_channels_from_fmtp("stereo=1; sprop-stereo=1") == 2);
    CHECK(opus_channels_from_fmtp("sprop-stereo=1") == 2);
    CHECK(opus_channels_from_fmtp("stereo=0;sprop-stereo=0") == 1);
    CHECK(opus_channels_from_fmtp("xstereo=1") == 1);
    CHECK(opus_channels_from_fmtp(" stereo=1 ") == 2);
}

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
