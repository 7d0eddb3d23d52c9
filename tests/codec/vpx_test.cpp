#include "codec/test_pattern.hpp"
#include "codec/vpx_decoder.hpp"
#include "codec/vpx_encoder.hpp"

#include "rtcpp/random.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::codec;

namespace {

struct RoundTrip {
    int frames = 0;
    int keyframes = 0;
    int decoded = 0;
    int counters_read = 0;
    double min_psnr = 99.0;
    double mean_psnr = 0;
};

RoundTrip round_trip(VideoCodec codec, int width, int height, int frames, rtcpp::DataRate rate,
                     int force_key_at = -1) {
    VpxEncoderConfig cfg;
    cfg.codec = codec;
    cfg.width = width;
    cfg.height = height;
    cfg.fps = 30;
    cfg.bitrate = rate;
    auto enc = VpxEncoder::create(cfg);
    REQUIRE(enc.ok());
    auto dec = VpxDecoder::create(codec);
    REQUIRE(dec.ok());
    TestPattern pattern(width, height);
    RoundTrip rt;
    for (int i = 0; i < frames; ++i) {
        const auto src = pattern.render(static_cast<uint64_t>(i));
        auto out = (*enc)->encode(src, i == force_key_at);
        REQUIRE(out.ok());
        for (const auto& f : *out) {
            ++rt.frames;
            if (f.keyframe) ++rt.keyframes;
            if (i == 0 || i == force_key_at) CHECK(f.keyframe);
            auto pic = (*dec)->decode(f.data);
            REQUIRE(pic.ok());
            if (!pic->has_value()) continue;
            ++rt.decoded;
            const auto& img = **pic;
            REQUIRE(img.width == width);
            REQUIRE(img.height == height);
            const double p = psnr_y(src, img);
            rt.min_psnr = std::min(rt.min_psnr, p);
            rt.mean_psnr += p;
            if (read_frame_counter(img) == static_cast<uint32_t>(i)) ++rt.counters_read;
        }
    }
    if (rt.decoded > 0) rt.mean_psnr /= rt.decoded;
    CHECK((*dec)->errors() == 0);
    CHECK((*enc)->frames_encoded() == static_cast<uint64_t>(rt.frames));
    return rt;
}

} // namespace

TEST_CASE("VP8 and VP9: encode -> decode keeps the picture and its frame counter") {
    for (auto codec : {VideoCodec::VP8, VideoCodec::VP9}) {
        CAPTURE(to_string(codec));
        const auto rt = round_trip(codec, 320, 240, 45, rtcpp::DataRate::kbps(800), 30);
        MESSAGE(to_string(codec) << ": mean PSNR " << rt.mean_psnr << " dB, min " << rt.min_psnr << " dB, counters read "
                                 << rt.counters_read << "/" << rt.decoded);
        CHECK(rt.frames == 45);
        CHECK(rt.decoded == 45);
        CHECK(rt.keyframes >= 2);
        CHECK(rt.keyframes <= 3);
        CHECK(rt.mean_psnr > 32.0);
        CHECK(rt.min_psnr > 25.0);
        CHECK(rt.counters_read == rt.decoded);
    }
}

TEST_CASE("VPX encoder: set_bitrate changes the output size") {
    VpxEncoderConfig cfg;
    cfg.width = 320;
    cfg.height = 240;
    cfg.bitrate = rtcpp::DataRate::kbps(1500);
    auto enc = VpxEncoder::create(cfg);
    REQUIRE(enc.ok());
    TestPattern pattern(320, 240);
    auto bytes_over = [&](int n) {
        size_t total = 0;
        for (int i = 0; i < n; ++i) {
            auto out = (*enc)->encode(pattern.next());
            REQUIRE(out.ok());
            for (const auto& f : *out) total += f.data.size();
        }
        return total;
    };
    bytes_over(30); // let the rate control settle
    const size_t high = bytes_over(60);
    REQUIRE((*enc)->set_bitrate(rtcpp::DataRate::kbps(150)).ok());
    bytes_over(30);
    const size_t low = bytes_over(60);
    MESSAGE("2 s at 1500 kbps: " << high << " bytes; at 150 kbps: " << low << " bytes");
    CHECK(low * 3 < high);
    // 2 s at 150 kbps is 37,500 bytes; CBR should land near it.
    CHECK(low < 37500 * 2);
}

TEST_CASE("VPX encoder refuses a picture of the wrong size and bad configs") {
    VpxEncoderConfig cfg;
    cfg.width = 320;
    cfg.height = 240;
    auto enc = VpxEncoder::create(cfg);
    REQUIRE(enc.ok());
    CHECK_FALSE((*enc)->encode(I420Image(160, 120)).ok());
    cfg.width = 0;
    CHECK_FALSE(VpxEncoder::create(cfg).ok());
    CHECK(video_codec_from_name("vp9") == VideoCodec::VP9);
    CHECK(video_codec_from_name("VP8") == VideoCodec::VP8);
    CHECK(video_codec_from_name("h264") == VideoCodec::H264);
    CHECK_FALSE(video_codec_from_name("AV1").has_value());
    // H.264 is libopenh264's (H264Encoder/H264Decoder), not libvpx's.
    cfg.width = 320;
    cfg.codec = VideoCodec::H264;
    CHECK(VpxEncoder::create(cfg).error().category == rtcpp::ErrorCategory::NotSupportedError);
    CHECK_FALSE(VpxDecoder::create(VideoCodec::H264).ok());
}

TEST_CASE("VPX decoder fed garbage counts errors and keeps working") {
    for (auto codec : {VideoCodec::VP8, VideoCodec::VP9}) {
        CAPTURE(to_string(codec));
        auto dec = VpxDecoder::create(codec);
        REQUIRE(dec.ok());
        rtcpp::Random rng(42);
        uint64_t failed = 0;
        for (int i = 0; i < 200; ++i) {
            std::vector<uint8_t> junk(1 + rng.next_u32() % 3000);
            rng.fill(junk);
            if (!(*dec)->decode(junk).ok()) ++failed;
        }
        CHECK((*dec)->decode(std::span<const uint8_t>{}).ok() == false);
        ++failed;
        CHECK((*dec)->errors() == failed);
        CHECK(failed > 100);
        // A valid stream still decodes afterwards, from its keyframe.
        VpxEncoderConfig cfg;
        cfg.codec = codec;
        cfg.width = 160;
        cfg.height = 120;
        auto enc = VpxEncoder::create(cfg);
        REQUIRE(enc.ok());
        TestPattern pattern(160, 120);
        int shown = 0;
        for (int i = 0; i < 5; ++i) {
            auto out = (*enc)->encode(pattern.next(), i == 0);
            REQUIRE(out.ok());
            for (const auto& f : *out) {
                auto pic = (*dec)->decode(f.data);
                REQUIRE(pic.ok());
                if (pic->has_value() && read_frame_counter(**pic) == static_cast<uint32_t>(i)) ++shown;
            }
        }
        CHECK(shown == 5);
        CHECK((*dec)->errors() == failed);
    }
}
