// libopenh264 through rtcpp's own RFC 6184 payload format: encode -> packetize -> depacketize -> decode.
#include "codec/h264_decoder.hpp"
#include "codec/h264_encoder.hpp"
#include "codec/test_pattern.hpp"
#include "rtp/h264_payload.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace rtcpp::codec;
using rtcpp::DataRate;

namespace {

std::unique_ptr<H264Encoder> make_encoder(int w, int h, DataRate rate = DataRate::kbps(800)) {
    H264EncoderConfig cfg;
    cfg.width = w;
    cfg.height = h;
    cfg.fps = 30;
    cfg.bitrate = rate;
    auto enc = H264Encoder::create(cfg);
    REQUIRE_MESSAGE(enc.ok(), (enc.ok() ? "" : enc.error().to_string()));
    return std::move(*enc);
}

std::vector<uint8_t> nal_types(const std::vector<uint8_t>& au) {
    std::vector<uint8_t> types;
    for (auto nal : rtcpp::rtp::split_annex_b(au))
        if (!nal.empty()) types.push_back(nal[0] & 0x1f);
    return types;
}

bool contains(const std::vector<uint8_t>& v, uint8_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

} // namespace

TEST_CASE("H.264: encode -> RTP packetize (FU-A) -> depacketize -> decode keeps every frame, size and counter") {
    constexpr int kW = 640, kH = 360, kFrames = 60, kForceKeyAt = 40;
    constexpr size_t kMaxPayload = 1100;
    auto enc = make_encoder(kW, kH);
    auto dec = H264Decoder::create();
    REQUIRE(dec.ok());
    TestPattern pattern(kW, kH);
    rtcpp::rtp::H264Packetizer packetizer(1);
    rtcpp::rtp::H264Depacketizer depacketizer;
    uint16_t seq = 65500; // wraps during the test
    int encoded = 0, decoded = 0, counters = 0, idr = 0, fu_a_packets = 0;
    double min_psnr = 99;
    for (int i = 0; i < kFrames; ++i) {
        const auto src = pattern.render(static_cast<uint64_t>(i));
        auto out = enc->encode(src, i == kForceKeyAt);
        REQUIRE(out.ok());
        REQUIRE(out->size() == 1);
        const auto& f = out->front();
        ++encoded;
        const auto types = nal_types(f.data);
        if (i == 0 || i == kForceKeyAt) {
            // A keyframe (the first one, and the one asked for) is an IDR with its parameter sets.
            CHECK(f.keyframe);
            CHECK(contains(types, rtcpp::rtp::kH264Idr));
            CHECK(contains(types, rtcpp::rtp::kH264Sps));
            CHECK(contains(types, rtcpp::rtp::kH264Pps));
        } else {
            CHECK_FALSE(f.keyframe);
            CHECK_FALSE(contains(types, rtcpp::rtp::kH264Idr));
        }
        if (f.keyframe) {
            ++idr;
            // profile_idc 66 (Baseline) with constraint_set1 (Constrained Baseline), level 3.1: what 42e01f names.
            for (auto nal : rtcpp::rtp::split_annex_b(f.data)) {
                if (nal.size() < 4 || (nal[0] & 0x1f) != rtcpp::rtp::kH264Sps) continue;
                CHECK(nal[1] == 66);
                CHECK((nal[2] & 0x40) != 0);
                CHECK(nal[3] == 31);
            }
        }
        auto payloads = packetizer.packetize(f.data, kMaxPayload);
        REQUIRE(payloads.ok());
        const uint32_t ts = static_cast<uint32_t>(i) * 3000;
        for (const auto& p : *payloads) {
            CHECK(p.data.size() <= kMaxPayload);
            if ((p.data[0] & 0x1f) == rtcpp::rtp::kH264FuA) ++fu_a_packets;
            depacketizer.handle_payload(p.data, seq++, ts, p.marker);
        }
        auto frame = depacketizer.poll_frame();
        REQUIRE(frame.has_value());
        CHECK(frame->keyframe == f.keyframe);
        auto pic = (*dec)->decode(frame->data);
        REQUIRE_MESSAGE(pic.ok(), (pic.ok() ? "" : pic.error().to_string()));
        REQUIRE(pic->has_value());
        const auto& img = **pic;
        CHECK(img.width == kW);
        CHECK(img.height == kH);
        ++decoded;
        min_psnr = std::min(min_psnr, psnr_y(src, img));
        if (read_frame_counter(img) == static_cast<uint32_t>(i)) ++counters;
    }
    MESSAGE("H.264 " << kW << "x" << kH << ": " << decoded << "/" << encoded << " decoded, min PSNR " << min_psnr
                     << " dB, FU-A packets " << fu_a_packets);
    CHECK(decoded == kFrames);
    CHECK(idr == 2);
    CHECK(enc->keyframes_encoded() == 2);
    CHECK(enc->frames_encoded() == static_cast<uint64_t>(kFrames));
    CHECK(fu_a_packets > 0); // an IDR picture at 640x360 does not fit 1100 bytes
    CHECK(counters == kFrames);
    CHECK(min_psnr > 28.0);
    CHECK((*dec)->errors() == 0);
    CHECK((*dec)->frames_decoded() == static_cast<uint64_t>(kFrames));
    CHECK(depacketizer.stats().dropped_frames == 0);
}

TEST_CASE("H.264 packetization-mode 0: slices fit the payload size, every packet is one whole NAL unit, all decode") {
    // Without fragmentation (mode 0) a 640x360 IDR picture only fits 1,099-byte packets cut into slices.
    constexpr int kW = 640, kH = 360, kFrames = 45, kForceKeyAt = 30;
    constexpr size_t kMaxPayload = 1099;
    H264EncoderConfig cfg;
    cfg.width = kW;
    cfg.height = kH;
    cfg.bitrate = DataRate::kbps(1500);
    cfg.max_nal_size = kMaxPayload;
    auto enc = H264Encoder::create(cfg);
    REQUIRE_MESSAGE(enc.ok(), (enc.ok() ? "" : enc.error().to_string()));
    auto dec = H264Decoder::create();
    REQUIRE(dec.ok());
    TestPattern pattern(kW, kH);
    rtcpp::rtp::H264Packetizer packetizer(0);
    rtcpp::rtp::H264Depacketizer depacketizer;
    uint16_t seq = 100;
    int decoded = 0, counters = 0, keyframes = 0;
    size_t largest_nal = 0, most_slices = 0;
    for (int i = 0; i < kFrames; ++i) {
        const auto src = pattern.render(static_cast<uint64_t>(i));
        auto out = (*enc)->encode(src, i == kForceKeyAt);
        REQUIRE(out.ok());
        REQUIRE(out->size() == 1);
        const auto& f = out->front();
        size_t slices = 0;
        for (auto nal : rtcpp::rtp::split_annex_b(f.data)) {
            largest_nal = std::max(largest_nal, nal.size());
            const uint8_t type = nal.empty() ? 0 : nal[0] & 0x1f;
            if (type == rtcpp::rtp::kH264Idr || type == 1) ++slices;
        }
        most_slices = std::max(most_slices, slices);
        if (f.keyframe) ++keyframes;
        auto payloads = packetizer.packetize(f.data, kMaxPayload);
        REQUIRE_MESSAGE(payloads.ok(), (payloads.ok() ? "" : payloads.error().to_string()));
        const uint32_t ts = static_cast<uint32_t>(i) * 3000;
        for (const auto& p : *payloads) {
            CHECK(p.data.size() <= kMaxPayload);
            const uint8_t type = p.data[0] & 0x1f;
            CHECK(type >= 1); // a single NAL unit packet: no STAP-A (24) or FU-A (28) in mode 0
            CHECK(type <= 23);
            depacketizer.handle_payload(p.data, seq++, ts, p.marker);
        }
        auto frame = depacketizer.poll_frame();
        REQUIRE(frame.has_value());
        auto pic = (*dec)->decode(frame->data);
        REQUIRE_MESSAGE(pic.ok(), (pic.ok() ? "" : pic.error().to_string()));
        REQUIRE(pic->has_value());
        ++decoded;
        if (read_frame_counter(**pic) == static_cast<uint32_t>(i)) ++counters;
    }
    MESSAGE("H.264 mode 0 " << kW << "x" << kH << ": " << decoded << "/" << kFrames << " decoded, largest NAL "
                            << largest_nal << " bytes, up to " << most_slices << " slices per picture");
    CHECK(decoded == kFrames);
    CHECK(counters == kFrames);
    CHECK(keyframes == 2);
    CHECK(largest_nal <= kMaxPayload);
    CHECK(most_slices > 1); // the IDR pictures did need cutting
    CHECK((*dec)->errors() == 0);
}

TEST_CASE("H.264 encoder: a slice limit below 400 bytes is refused") {
    H264EncoderConfig cfg;
    cfg.max_nal_size = 200;
    CHECK_FALSE(H264Encoder::create(cfg).ok());
}

TEST_CASE("H.264 encoder: set_bitrate changes the output size") {
    // The pattern needs about 400 kbps at best quality at 320x240: above that openh264 has nothing to spend bits on.
    auto enc = make_encoder(320, 240, DataRate::kbps(300));
    TestPattern pattern(320, 240);
    auto bytes_over = [&](int n) {
        size_t total = 0;
        for (int i = 0; i < n; ++i) {
            auto out = enc->encode(pattern.next());
            REQUIRE(out.ok());
            for (const auto& f : *out) total += f.data.size();
        }
        return total;
    };
    bytes_over(30);
    const size_t high = bytes_over(60);
    REQUIRE(enc->set_bitrate(DataRate::kbps(60)).ok());
    bytes_over(30);
    const size_t low = bytes_over(60);
    MESSAGE("2 s at 300 kbps: " << high << " bytes; at 60 kbps: " << low << " bytes");
    CHECK(low * 3 < high);
    // 2 s at 60 kbps is 15,000 bytes.
    CHECK(low < 15000 * 2);
    CHECK(enc->config().bitrate == DataRate::kbps(60));
}

TEST_CASE("H.264 decoder: corrupt and out-of-order input is an error value, and an IDR recovers") {
    auto enc = make_encoder(320, 240);
    TestPattern pattern(320, 240);
    std::vector<std::vector<uint8_t>> aus;
    for (int i = 0; i < 5; ++i) {
        auto out = enc->encode(pattern.next());
        REQUIRE(out.ok());
        REQUIRE(out->size() == 1);
        aus.push_back(out->front().data);
    }
    REQUIRE(aus[0].size() > 100);

    SUBCASE("a P picture before any parameter set") {
        auto dec = H264Decoder::create();
        REQUIRE(dec.ok());
        CHECK_FALSE((*dec)->decode(aus[1]).ok());
        CHECK((*dec)->errors() == 1);
        auto pic = (*dec)->decode(aus[0]);
        REQUIRE(pic.ok());
        CHECK(pic->has_value());
    }
    SUBCASE("an IDR whose slice data is overwritten") {
        auto dec = H264Decoder::create();
        REQUIRE(dec.ok());
        auto bad = aus[0];
        // Keep the SPS/PPS and the slice header's first bytes; scramble the rest of the IDR slice.
        const size_t from = bad.size() / 2;
        for (size_t i = from; i < bad.size(); ++i) bad[i] = static_cast<uint8_t>(0xff ^ (i * 37));
        auto r = (*dec)->decode(bad);
        CHECK_FALSE(r.ok());
        CHECK((*dec)->errors() >= 1);
        auto pic = (*dec)->decode(aus[0]);
        REQUIRE(pic.ok());
        CHECK(pic->has_value());
    }
    SUBCASE("a truncated IDR, garbage, an empty access unit") {
        auto dec = H264Decoder::create();
        REQUIRE(dec.ok());
        std::vector<uint8_t> truncated(aus[0].begin(), aus[0].begin() + static_cast<ptrdiff_t>(aus[0].size() - 40));
        CHECK_FALSE((*dec)->decode(truncated).ok());
        const std::vector<uint8_t> garbage = {0, 0, 0, 1, 0x65, 0x12, 0x34, 0x56, 0x78, 0x9a};
        CHECK_FALSE((*dec)->decode(garbage).ok());
        CHECK_FALSE((*dec)->decode({}).ok());
        CHECK((*dec)->errors() == 3);
        CHECK((*dec)->frames_decoded() == 0);
    }
}

TEST_CASE("H.264 encoder refuses bad sizes and pictures of the wrong size") {
    H264EncoderConfig cfg;
    cfg.width = 321;
    CHECK(H264Encoder::create(cfg).error().category == rtcpp::ErrorCategory::RangeError);
    cfg.width = 320;
    cfg.height = 0;
    CHECK_FALSE(H264Encoder::create(cfg).ok());
    auto enc = make_encoder(320, 240);
    CHECK_FALSE(enc->encode(I420Image(160, 120)).ok());
}
