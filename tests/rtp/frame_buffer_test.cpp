#include "rtp/frame_buffer.hpp"
#include "rtp/h264_payload.hpp"
#include "rtp/jitter_estimator.hpp"
#include "rtp/vp8_payload.hpp"

#include <doctest/doctest.h>

#include <rtcpp/random.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
using Bytes = std::vector<uint8_t>;

Timestamp at_ms(int64_t ms) { return Timestamp::seconds(10) + TimeDelta::millis(ms); }

struct SentFrame {
    Bytes data;
    std::vector<Bytes> packets;
    uint32_t ts = 0;
    bool keyframe = false;
};

// A VP8 sender with 15-bit picture ids: frame i is captured at i * 33 ms (RTP clock 90 kHz).
class Vp8Source {
public:
    explicit Vp8Source(uint16_t first_seq = 1000, uint16_t first_pid = 100) : seq_(first_seq) {
        Vp8PayloadDescriptor d;
        d.picture_id = first_pid;
        packetizer_ = Vp8Packetizer(d);
    }
    SentFrame next(bool keyframe, size_t size, size_t max_payload = 300) {
        SentFrame f;
        f.keyframe = keyframe;
        f.data.resize(size);
        for (size_t i = 0; i < size; ++i) f.data[i] = static_cast<uint8_t>(i * 7 + frame_);
        f.data[0] = keyframe ? 0x10 : 0x11;  // frame tag: P bit clear on keyframes
        f.ts = 3000u * frame_ + 12345;
        const auto payloads = packetizer_.packetize(f.data, max_payload);
        for (const auto& p : *payloads) {
            RtpHeader h;
            h.payload_type = 96;
            h.ssrc = 0xABCD;
            h.sequence_number = seq_++;
            h.timestamp = f.ts;
            h.marker = p.marker;
            f.packets.push_back(build_rtp_packet(h, p.data));
        }
        ++frame_;
        return f;
    }

private:
    Vp8Packetizer packetizer_;
    uint16_t seq_;
    uint32_t frame_ = 0;
};

void feed(FrameBuffer& fb, Timestamp now, const Bytes& packet, bool rtx = false) {
    const auto v = RtpPacketView::parse(packet);
    REQUIRE(v);
    fb.handle_packet(now, *v, rtx);
}

std::vector<ReleasedFrame> drain(FrameBuffer& fb, Timestamp now) {
    fb.handle_timeout(now);
    std::vector<ReleasedFrame> out;
    while (auto f = fb.poll_frame()) out.push_back(std::move(*f));
    return out;
}

FrameBufferConfig vp8_config() {
    FrameBufferConfig c;
    c.codec = VideoCodec::Vp8;
    c.default_rtt = TimeDelta::millis(100);
    return c;
}
} // namespace

TEST_CASE("FrameBuffer releases in-order VP8 frames whole, in order, keyframe first") {
    FrameBuffer fb(vp8_config());
    Vp8Source src;
    std::vector<SentFrame> sent;
    for (int i = 0; i < 10; ++i) sent.push_back(src.next(i == 0, 1000));
    std::vector<ReleasedFrame> got;
    for (int i = 0; i < 10; ++i) {
        for (const auto& p : sent[i].packets) feed(fb, at_ms(33 * i + 20), p);
        auto r = drain(fb, at_ms(33 * i + 20));
        got.insert(got.end(), r.begin(), r.end());
    }
    auto r = drain(fb, at_ms(2000));
    got.insert(got.end(), r.begin(), r.end());
    REQUIRE(got.size() == 10);
    for (int i = 0; i < 10; ++i) {
        CHECK(got[i].frame.data == sent[i].data);
        CHECK(got[i].frame.rtp_timestamp == sent[i].ts);
        CHECK(got[i].frame.keyframe == (i == 0));
        CHECK(got[i].id == 100 + i);
    }
    CHECK(fb.stats().frames_released == 10);
    CHECK(fb.stats().frames_dropped == 0);
    CHECK(fb.buffered_packets() == 0);
    CHECK(fb.buffered_frames() == 0);
}

TEST_CASE("FrameBuffer reorders packets and handles the sequence number wrap") {
    FrameBuffer fb(vp8_config());
    Vp8Source src(65530, 32760);  // the picture id wraps at 32768 too
    std::vector<SentFrame> sent;
    for (int i = 0; i < 6; ++i) sent.push_back(src.next(i == 0, 1200));
    std::vector<ReleasedFrame> got;
    for (int i = 0; i < 6; ++i) {
        auto pk = sent[i].packets;
        std::reverse(pk.begin(), pk.end());
        for (const auto& p : pk) feed(fb, at_ms(33 * i), p);
        auto r = drain(fb, at_ms(33 * i));
        got.insert(got.end(), r.begin(), r.end());
    }
    auto r = drain(fb, at_ms(1000));
    got.insert(got.end(), r.begin(), r.end());
    REQUIRE(got.size() == 6);
    for (int i = 0; i < 6; ++i) CHECK(got[i].frame.data == sent[i].data);
    CHECK(got[5].id == got[0].id + 5);
}

TEST_CASE("FrameBuffer holds delta frames until the missing packet of an earlier frame arrives") {
    FrameBuffer fb(vp8_config());
    Vp8Source src;
    std::vector<SentFrame> sent;
    for (int i = 0; i < 5; ++i) sent.push_back(src.next(i == 0, 1000));
    const Bytes lost = sent[1].packets[1];
    for (int i = 0; i < 5; ++i)
        for (const auto& p : sent[i].packets)
            if (p != lost) feed(fb, at_ms(33 * i), p);
    auto first = drain(fb, at_ms(500));
    REQUIRE(first.size() == 1);  // only the keyframe: frames 2..4 depend on frame 1
    CHECK(first[0].frame.keyframe);
    feed(fb, at_ms(600), lost, true);
    auto rest = drain(fb, at_ms(600));
    REQUIRE(rest.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(rest[i].frame.data == sent[i + 1].data);
    CHECK(rest[0].retransmitted);
    CHECK_FALSE(rest[1].retransmitted);
    CHECK(fb.stats().late_frames >= 1);
}

TEST_CASE("FrameBuffer drops to the next keyframe and reports where it skipped to") {
    FrameBuffer fb(vp8_config());
    Vp8Source src;
    std::vector<SentFrame> sent;
    for (int i = 0; i < 8; ++i) sent.push_back(src.next(i == 0 || i == 5, 1000));
    for (int i = 0; i < 8; ++i)
        for (size_t k = 0; k < sent[i].packets.size(); ++k)
            if (!(i == 2 && k == 0)) feed(fb, at_ms(33 * i), sent[i].packets[k]);
    auto got = drain(fb, at_ms(2000));
    // 0, 1 decodable; 2 incomplete; 3, 4 depend on it; 5 is a keyframe; 6, 7 follow it.
    REQUIRE(got.size() == 5);
    CHECK(got[0].frame.data == sent[0].data);
    CHECK(got[1].frame.data == sent[1].data);
    CHECK(got[2].frame.data == sent[5].data);
    CHECK(got[2].frame.keyframe);
    CHECK(got[4].frame.data == sent[7].data);
    CHECK(fb.stats().drops_to_keyframe == 1);
    CHECK(fb.stats().frames_dropped == 2);
    const auto skipped = fb.poll_skipped_to();
    REQUIRE(skipped);
    const auto v = RtpPacketView::parse(sent[5].packets[0]);
    CHECK(*skipped == v->sequence_number());
    // The lost packet now arriving is ancient.
    feed(fb, at_ms(2100), sent[2].packets[0], true);
    CHECK(fb.stats().old_packets == 1);
    CHECK(drain(fb, at_ms(2100)).empty());
}

TEST_CASE("FrameBuffer asks for a keyframe when stuck, and not again too soon") {
    auto c = vp8_config();
    c.min_stall = TimeDelta::millis(300);
    c.stall_rtts = 3;
    FrameBuffer fb(c);
    fb.set_rtt(TimeDelta::millis(50));
    Vp8Source src;
    std::vector<SentFrame> sent;
    for (int i = 0; i < 4; ++i) sent.push_back(src.next(i == 0, 1000));
    for (int i = 0; i < 4; ++i)
        for (size_t k = 0; k < sent[i].packets.size(); ++k)
            if (!(i == 1 && k == 1)) feed(fb, at_ms(33 * i), sent[i].packets[k]);
    CHECK(drain(fb, at_ms(100)).size() == 1);
    CHECK_FALSE(fb.poll_keyframe_request());
    const Timestamp deadline = fb.poll_timeout();
    CHECK(deadline > at_ms(300));
    CHECK(deadline < at_ms(600));
    drain(fb, deadline - TimeDelta::millis(1));
    CHECK_FALSE(fb.poll_keyframe_request());
    drain(fb, deadline);
    CHECK(fb.poll_keyframe_request());
    CHECK(fb.stats().keyframe_requests == 1);
    drain(fb, deadline + TimeDelta::millis(50));
    CHECK_FALSE(fb.poll_keyframe_request());
    CHECK(fb.poll_timeout() >= deadline + TimeDelta::millis(300));
    // A keyframe ends the stall.
    SentFrame key = src.next(true, 1000);
    for (const auto& p : key.packets) feed(fb, deadline + TimeDelta::millis(60), p);
    auto got = drain(fb, deadline + TimeDelta::seconds(1));
    REQUIRE(got.size() == 1);
    CHECK(got[0].frame.keyframe);
    CHECK(fb.buffered_frames() == 0);
    CHECK(fb.buffered_packets() == 0);
}

TEST_CASE("FrameBuffer releases at the target delay and the jitter estimate follows the network") {
    auto run = [](double jitter_ms, uint64_t seed) {
        FrameBuffer fb(vp8_config());
        Vp8Source src;
        Random rng(seed);
        std::vector<std::pair<Timestamp, Bytes>> arrivals;
        for (int i = 0; i < 600; ++i) {
            const auto f = src.next(i % 150 == 0, 1000);
            for (const auto& p : f.packets) {
                const double delay = 40 + std::abs(rng.gaussian(0, jitter_ms));
                arrivals.emplace_back(at_ms(33 * i) + TimeDelta::micros(static_cast<int64_t>(delay * 1000)), p);
            }
        }
        std::stable_sort(arrivals.begin(), arrivals.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        size_t late = 0, released = 0;
        for (const auto& [t, p] : arrivals) {
            // Run the due timeouts in between, as a driver would.
            while (fb.poll_timeout() <= t) {
                const Timestamp due = fb.poll_timeout();
                for (auto& r : drain(fb, due)) {
                    ++released;
                    if (r.completed > r.render_time) ++late;
                }
            }
            feed(fb, t, p);
            for (auto& r : drain(fb, t)) {
                ++released;
                if (r.completed > r.render_time) ++late;
            }
        }
        for (auto& r : drain(fb, at_ms(100000))) {
            ++released;
            if (r.completed > r.render_time) ++late;
        }
        CHECK(released == 600);
        return std::make_pair(fb.jitter_estimator().estimate(), late);
    };
    const auto [calm, calm_late] = run(0.0, 1);
    const auto [noisy, noisy_late] = run(20.0, 2);
    CHECK(calm < TimeDelta::millis(10));
    CHECK(noisy > TimeDelta::millis(20));
    CHECK(noisy < TimeDelta::millis(150));
    // Most frames meet their render time even under 20 ms jitter.
    CHECK(noisy_late < 60);
    CHECK(calm_late < 10);
}

TEST_CASE("FrameBuffer ignores duplicates and stays bounded under a flood of junk") {
    auto c = vp8_config();
    c.max_packets = 64;
    c.max_frames = 16;
    FrameBuffer fb(c);
    Vp8Source src;
    const auto f = src.next(true, 1000);
    feed(fb, at_ms(0), f.packets[0]);
    feed(fb, at_ms(0), f.packets[0]);
    CHECK(fb.stats().duplicate_packets == 1);
    Random rng(7);
    for (int i = 0; i < 5000; ++i) {
        RtpHeader h;
        h.payload_type = 96;
        h.sequence_number = static_cast<uint16_t>(rng.next_u32());
        h.timestamp = rng.next_u32();
        h.marker = rng.bernoulli(0.5);
        Bytes payload(1 + rng.uniform(20));
        rng.fill(payload);
        const auto pkt = build_rtp_packet(h, payload);
        const auto v = RtpPacketView::parse(pkt);
        fb.handle_packet(at_ms(i), *v);
        fb.handle_timeout(at_ms(i));
        while (fb.poll_frame()) {
        }
        CHECK(fb.buffered_packets() <= 64);
        CHECK(fb.buffered_frames() <= 16);
    }
    CHECK(fb.stats().overflow_packets > 0);
}

TEST_CASE("FrameBuffer assembles H264 by sequence numbers; a delta frame needs the frame before it") {
    FrameBufferConfig c;
    c.codec = VideoCodec::H264;
    FrameBuffer fb(c);
    H264Packetizer packetizer;
    uint16_t seq = 500;
    auto frame = [&](bool idr, uint32_t ts) {
        // One NAL unit (Annex B start code), IDR (type 5) or non-IDR (type 1), big enough for FU-A.
        Bytes nal{0, 0, 0, 1, static_cast<uint8_t>(idr ? 0x65 : 0x41)};
        for (int i = 0; i < 700; ++i) nal.push_back(static_cast<uint8_t>(i));
        std::vector<Bytes> out;
        const auto payloads = packetizer.packetize(nal, 300);
        REQUIRE(payloads.ok());
        for (const auto& p : *payloads) {
            RtpHeader h;
            h.payload_type = 102;
            h.sequence_number = seq++;
            h.timestamp = ts;
            h.marker = p.marker;
            out.push_back(build_rtp_packet(h, p.data));
        }
        return out;
    };
    const auto f0 = frame(true, 0), f1 = frame(false, 3000), f2 = frame(false, 6000);
    REQUIRE(f1.size() > 1);
    for (const auto& p : f0) feed(fb, at_ms(0), p);
    for (size_t k = 1; k < f1.size(); ++k) feed(fb, at_ms(33), f1[k]);
    for (const auto& p : f2) feed(fb, at_ms(66), p);
    auto got = drain(fb, at_ms(500));
    REQUIRE(got.size() == 1);
    CHECK(got[0].frame.keyframe);
    feed(fb, at_ms(520), f1[0], true);
    got = drain(fb, at_ms(600));
    REQUIRE(got.size() == 2);
    CHECK_FALSE(got[0].frame.keyframe);
    CHECK(got[0].frame.rtp_timestamp == 3000);
    CHECK(got[1].frame.rtp_timestamp == 6000);
}

TEST_CASE("JitterEstimator: near zero for a steady network, about 2.33 sigma for gaussian jitter") {
    Random rng(3);
    JitterEstimator steady, noisy;
    double prev = 0;
    for (int i = 0; i < 2000; ++i) {
        steady.update(TimeDelta::zero(), DataSize::bytes(4000));
        const double delay = rng.gaussian(0, 10);
        noisy.update(TimeDelta::micros(static_cast<int64_t>((delay - prev) * 1000)), DataSize::bytes(4000));
        prev = delay;
    }
    CHECK(steady.estimate() < TimeDelta::millis(3));
    // Per-frame sigma 10 ms: the estimate should land near 23 ms.
    CHECK(noisy.estimate() > TimeDelta::millis(17));
    CHECK(noisy.estimate() < TimeDelta::millis(30));
    CHECK(noisy.noise_stddev_ms() == doctest::Approx(std::sqrt(2.0) * 10).epsilon(0.2));
}

TEST_CASE("FrameBuffer: a keyframe waits a few RTTs for earlier frames that are still being recovered") {
    FrameBuffer fb(vp8_config());
    fb.set_rtt(TimeDelta::millis(100));
    Vp8Source src;
    std::vector<SentFrame> sent;
    for (int i = 0; i < 6; ++i) sent.push_back(src.next(i == 0 || i == 3, 1000));
    const Bytes lost = sent[2].packets[1];
    for (int i = 0; i < 6; ++i)
        for (const auto& p : sent[i].packets)
            if (p != lost) feed(fb, at_ms(33 * i), p);
    // Frames 0 and 1 go out; frame 2 waits for its packet; the keyframe 3 is complete and due, but would skip 2.
    CHECK(drain(fb, at_ms(250)).size() == 2);
    CHECK(fb.poll_timeout() > at_ms(300));
    // The retransmission arrives two RTTs later: nothing is skipped.
    feed(fb, at_ms(300), lost, true);
    const auto got = drain(fb, at_ms(300));
    REQUIRE(got.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(got[i].frame.data == sent[i + 2].data);
    CHECK(fb.stats().frames_dropped == 0);
    CHECK(fb.stats().drops_to_keyframe == 0);
    CHECK_FALSE(fb.poll_skipped_to());
}

TEST_CASE("FrameBuffer asks for a keyframe at once when the stream's first whole frame is a delta frame") {
    // The keyframe's first packet is lost before anything else arrived: the NACK generator never saw a gap, so no
    // retransmission will come. Waiting for the stall deadline (a second here) would lose every frame until then.
    FrameBuffer fb(vp8_config());
    Vp8Source src;
    std::vector<SentFrame> sent;
    sent.push_back(src.next(true, 900));
    for (int i = 1; i < 6; ++i) sent.push_back(src.next(false, 500));
    REQUIRE(sent[0].packets.size() >= 2);
    for (size_t k = 1; k < sent[0].packets.size(); ++k) feed(fb, at_ms(0), sent[0].packets[k]);
    CHECK(drain(fb, at_ms(1)).empty());
    CHECK_FALSE(fb.poll_keyframe_request());
    for (const auto& p : sent[1].packets) feed(fb, at_ms(33), p);
    CHECK(fb.poll_keyframe_request());
    CHECK(fb.stats().keyframe_requests == 1);
    // Once, not for every further delta frame.
    for (int i = 2; i < 6; ++i) {
        for (const auto& p : sent[i].packets) feed(fb, at_ms(33 * i), p);
        CHECK(drain(fb, at_ms(33 * i)).empty());
        CHECK_FALSE(fb.poll_keyframe_request());
    }
    // The keyframe answering the request is released; the frames before it are dropped.
    SentFrame key = src.next(true, 900);
    for (const auto& p : key.packets) feed(fb, at_ms(230), p);
    const auto got = drain(fb, at_ms(1500));
    REQUIRE(got.size() == 1);
    CHECK(got[0].frame.keyframe);
    CHECK(got[0].frame.data == key.data);

    // A stream that starts with its keyframe asks for nothing.
    FrameBuffer whole(vp8_config());
    Vp8Source src2;
    for (int i = 0; i < 6; ++i)
        for (const auto& p : src2.next(i == 0, 900).packets) feed(whole, at_ms(33 * i), p);
    CHECK(drain(whole, at_ms(1500)).size() == 6);
    CHECK_FALSE(whole.poll_keyframe_request());
    CHECK(whole.stats().keyframe_requests == 0);
}
