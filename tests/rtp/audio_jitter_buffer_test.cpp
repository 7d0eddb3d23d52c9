#include "rtp/audio_jitter_buffer.hpp"
#include "rtp/audio_jitter_decoder.hpp"
#include "rtp/red.hpp"

#include <rtcpp/random.hpp>

#include <opus/opus.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
constexpr int64_t kFrameMs = 20;
constexpr uint32_t kTicks = 960;

std::vector<uint8_t> frame_bytes(uint32_t ts) {
    return {static_cast<uint8_t>(ts >> 24), static_cast<uint8_t>(ts >> 16), static_cast<uint8_t>(ts >> 8),
            static_cast<uint8_t>(ts)};
}

struct Arrival {
    Timestamp at;
    uint32_t ts;
};

// Frames sent every 20 ms from t=0 with RTP timestamps from `ts0`; `transit(i)` gives each one's network delay
// (nullopt: lost). Arrivals are delivered in time order, interleaved with the 20 ms playout polls.
struct Run {
    AudioJitterBuffer buf;
    std::vector<PlayoutFrame> played;
    std::map<int64_t, PlayoutKind> kinds;
    TimeDelta last_normal_delay = TimeDelta::zero();
    explicit Run(const AudioJitterConfig& c = {}) : buf(c) {}

    template <class Transit>
    void go(size_t frames, uint32_t ts0, Transit transit, Timestamp poll_start = Timestamp::millis(5)) {
        std::vector<Arrival> arrivals;
        for (size_t i = 0; i < frames; ++i) {
            const std::optional<TimeDelta> d = transit(i);
            if (!d) continue;
            arrivals.push_back({Timestamp::millis(static_cast<int64_t>(i) * kFrameMs) + *d,
                                ts0 + static_cast<uint32_t>(i) * kTicks});
        }
        std::stable_sort(arrivals.begin(), arrivals.end(), [](auto& a, auto& b) { return a.at < b.at; });
        size_t next = 0;
        const Timestamp end = Timestamp::millis(static_cast<int64_t>(frames) * kFrameMs + 200);
        for (Timestamp t = poll_start; t < end; t = t + TimeDelta::millis(kFrameMs)) {
            while (next < arrivals.size() && arrivals[next].at <= t) {
                const auto b = frame_bytes(arrivals[next].ts);
                buf.handle_packet(arrivals[next].at, arrivals[next].ts, b);
                ++next;
            }
            if (auto f = buf.poll_frame(t)) {
                if (f->kind == PlayoutKind::Normal) {
                    // The payload is the frame of this timestamp.
                    REQUIRE(f->payload.size() == 4);
                    const uint32_t ts = static_cast<uint32_t>(f->payload[0] << 24 | f->payload[1] << 16 |
                                                              f->payload[2] << 8 | f->payload[3]);
                    CHECK(ts == static_cast<uint32_t>(f->timestamp));
                }
                if (!f->stretch) kinds[f->timestamp] = f->kind;
                if (f->kind == PlayoutKind::Normal) last_normal_delay = buf.current_delay();
                if (f->kind == PlayoutKind::InbandFec) {
                    // The FEC payload is the next frame's packet.
                    REQUIRE(f->payload.size() == 4);
                    const uint32_t ts = static_cast<uint32_t>(f->payload[0] << 24 | f->payload[1] << 16 |
                                                              f->payload[2] << 8 | f->payload[3]);
                    CHECK(ts == static_cast<uint32_t>(f->timestamp + kTicks));
                }
                played.push_back(*f);
            }
        }
    }
};
} // namespace

TEST_CASE("Audio jitter buffer: steady network, every frame played once, in order, at a small delay") {
    Run r;
    r.go(500, 1000, [](size_t) { return std::optional<TimeDelta>(TimeDelta::millis(40)); });
    const auto& s = r.buf.stats();
    CHECK(s.packets_received == 500);
    CHECK(s.frames_normal + s.frames_dropped == 500);
    CHECK(s.frames_dropped <= 3);
    CHECK(s.frames_concealed <= 12);  // after the stream ends
    size_t normal = 0;
    for (const auto& [ts, k] : r.kinds) normal += k == PlayoutKind::Normal ? 1 : 0;
    CHECK(normal == s.frames_normal);
    CHECK(s.late == 0);
    CHECK(r.buf.target_delay() <= TimeDelta::millis(5));
    CHECK(r.buf.delay_percentile(0.95) <= TimeDelta::millis(25));
    int64_t prev = -1;
    for (const auto& f : r.played)
        if (f.kind == PlayoutKind::Normal) {
            CHECK(f.timestamp > prev);
            prev = f.timestamp;
        }
}

TEST_CASE("Audio jitter buffer adapts up to jitter, then back down when it goes") {
    Random rnd(1);
    Run r;
    std::vector<TimeDelta> delays;
    // 20 s of 60 ms uniform jitter, then 30 s of none.
    for (size_t i = 0; i < 2500; ++i)
        delays.push_back(TimeDelta::millis(30 + (i < 1000 ? static_cast<int64_t>(rnd.uniform(60)) : 0)));
    r.go(1000, 0, [&](size_t i) { return std::optional<TimeDelta>(delays[i]); });
    CHECK(r.buf.target_delay() >= TimeDelta::millis(50));
    CHECK(r.buf.target_delay() <= TimeDelta::millis(62));
    CHECK(r.buf.stats().late_loss_rate() < 0.03);
    // The same network continued with the jitter gone: the delay comes back down.
    Run cont;
    cont.go(2500, 0, [&](size_t i) { return std::optional<TimeDelta>(delays[i]); });
    CHECK(cont.buf.target_delay() <= TimeDelta::millis(10));
    CHECK(cont.last_normal_delay <= TimeDelta::millis(30));
    CHECK(cont.buf.stats().frames_dropped > 0);
    CHECK(cont.buf.stats().frames_stretched > 0);
}

TEST_CASE("Audio jitter buffer: loss goes to in-band FEC when the next packet is here, else to concealment") {
    AudioJitterConfig cfg;
    cfg.min_delay = TimeDelta::millis(40);  // in-band FEC needs the next packet to be here in time
    Run r(cfg);
    // 100 and 200 lost alone; 300..302 lost together.
    r.go(400, 5000, [](size_t i) {
        if (i == 100 || i == 200 || (i >= 300 && i <= 302)) return std::optional<TimeDelta>();
        return std::optional<TimeDelta>(TimeDelta::millis(10));
    });
    auto kind = [&](size_t i) { return r.kinds.at(5000 + static_cast<int64_t>(i) * kTicks); };
    CHECK(kind(100) == PlayoutKind::InbandFec);
    CHECK(kind(200) == PlayoutKind::InbandFec);
    // 300 and 301: the buffer ran dry waiting for 300 and skipped both once 303 showed up (their time was
    // already covered by the wait); 302 still comes from 303's in-band FEC.
    CHECK(r.kinds.count(5000 + 300 * kTicks) == 0);
    CHECK(r.kinds.count(5000 + 301 * kTicks) == 0);
    CHECK(r.buf.stats().underruns >= 1);
    CHECK(kind(302) == PlayoutKind::InbandFec);
    CHECK(kind(303) == PlayoutKind::Normal);
    CHECK(r.buf.stats().frames_fec == 3);
    CHECK(r.buf.stats().late == 0);
}

TEST_CASE("Audio jitter buffer counts a late packet whose frame was concealed, and adapts to it") {
    Run r;
    r.go(600, 0, [](size_t i) {
        // Packet 300 arrives 340 ms late, after 302; 301 is lost, so nothing can rebuild 300 in time.
        if (i == 301) return std::optional<TimeDelta>();
        if (i == 300 || i == 302) return std::optional<TimeDelta>(TimeDelta::millis(i == 300 ? 350 : 290));
        return std::optional<TimeDelta>(TimeDelta::millis(10));
    });
    const auto& s = r.buf.stats();
    CHECK(s.arrived_late >= 1);
    CHECK(s.late >= 1);
    CHECK(s.late_loss_rate() > 0);
    CHECK((r.kinds.count(300 * kTicks) == 0 || r.kinds.at(300 * kTicks) != PlayoutKind::Normal));
}

TEST_CASE("Audio jitter buffer: RED copies fill holes, primaries win, wrap and reordering") {
    AudioJitterConfig cfg;
    cfg.min_delay = cfg.initial_delay = TimeDelta::millis(40);  // the copy arrives a frame after the loss
    cfg.loss_headroom = TimeDelta::zero();
    AudioJitterBuffer b(cfg);
    const uint32_t ts0 = 0xFFFFFFFFu - 10 * kTicks;  // wraps after 10 frames
    Timestamp now = Timestamp::millis(0);
    std::array<RedAudioFrame, kRedMaxBlocks> frames{};
    AudioRedEncoder enc(111, 1);
    std::vector<std::vector<uint8_t>> red;
    for (uint32_t i = 0; i < 40; ++i) red.push_back(enc.encode(ts0 + i * kTicks, frame_bytes(ts0 + i * kTicks)));
    int normal = 0, from_red = 0, concealed = 0;
    for (uint32_t i = 0; i < 42; ++i) {
        // Every 5th RED packet is lost: its frame comes from the next packet's redundant block. Packet 20 is late
        // and arrives just after 21 (whose redundant copy of 20 it then replaces).
        std::vector<uint32_t> arriving;
        if (i < 40 && i % 5 != 3 && i != 20) arriving.push_back(i);
        if (i == 21) arriving.push_back(20);
        for (const uint32_t j : arriving) {
            const size_t n = split_red_audio(red[j], ts0 + j * kTicks, frames);
            for (size_t k = 0; k < n; ++k) b.handle_packet(now, frames[k].timestamp, frames[k].data, frames[k].redundant);
        }
        now = now + TimeDelta::millis(kFrameMs);
        auto f = b.poll_frame(now);
        REQUIRE(f);
        if (f->kind == PlayoutKind::Normal) {
            ++normal;
            if (f->from_redundancy) ++from_red;
            const uint32_t got = static_cast<uint32_t>(f->payload[0] << 24 | f->payload[1] << 16 |
                                                       f->payload[2] << 8 | f->payload[3]);
            CHECK(got == static_cast<uint32_t>(f->timestamp));
        } else if (!f->stretch) {
            ++concealed;
        }
    }
    CHECK(from_red == 8);
    CHECK(b.stats().redundant_used == 8);
    CHECK(normal == 40);
    CHECK(b.stats().frames_fec == 0);
    CHECK(b.stats().packets_received == 32);
    CHECK(b.stats().late == 0);
}

TEST_CASE("Audio jitter buffer is bounded and survives timestamp jumps, duplicates and garbage") {
    AudioJitterConfig cfg;
    cfg.max_packets = 50;
    AudioJitterBuffer b(cfg);
    const std::vector<uint8_t> p = {1, 2, 3};
    for (uint32_t i = 0; i < 1000; ++i) b.handle_packet(Timestamp::millis(i), i * kTicks, p);
    CHECK(b.buffered_packets() == 50);
    CHECK(b.stats().overflow == 950);
    b.handle_packet(Timestamp::millis(1000), 999 * kTicks, p);
    CHECK(b.stats().duplicates == 1);
    b.handle_packet(Timestamp::millis(1000), 5, {});
    b.handle_packet(Timestamp::millis(1000), 5, std::vector<uint8_t>(2000));
    CHECK(b.stats().overflow == 952);
    REQUIRE(b.poll_frame(Timestamp::millis(1000)));
    // A jump of 1000 s: a new stream, not 50000 frames of concealment.
    b.handle_packet(Timestamp::millis(1020), 999 * kTicks + 48000u * 1000u, p);
    CHECK(b.stats().resets == 1);
    CHECK(b.buffered_packets() == 1);
    Random rnd(3);
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> g(1 + rnd.uniform(40));
        b.handle_packet(Timestamp::millis(2000 + i), rnd.next_u32(), g, rnd.bernoulli(0.3));
        if (i % 20 == 0) b.poll_frame(Timestamp::millis(2000 + i));
        CHECK(b.buffered_packets() <= 50);
    }
}

TEST_CASE("Opus fmtp: useinbandfec signalling") {
    const auto p = parse_opus_fmtp("minptime=10; useinbandfec=1;stereo=0;usedtx=x;maxaveragebitrate=64000");
    CHECK(p.useinbandfec);
    CHECK_FALSE(p.stereo);
    CHECK_FALSE(p.usedtx);
    CHECK(p.minptime == 10u);
    CHECK(p.maxaveragebitrate == 64000u);
    CHECK(format_opus_fmtp(p) == "minptime=10;useinbandfec=1;maxaveragebitrate=64000");
    CHECK_FALSE(parse_opus_fmtp("useinbandfec=0").useinbandfec);
    CHECK_FALSE(parse_opus_fmtp("garbage;;=;useinbandfec").useinbandfec);
}

TEST_CASE("AudioJitterDecoder decodes, uses Opus in-band FEC for a lost frame, and conceals") {
    int err = 0;
    OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    REQUIRE(err == OPUS_OK);
    opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(20));
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
    std::vector<std::vector<uint8_t>> packets;
    std::vector<int16_t> pcm(960);
    for (int f = 0; f < 50; ++f) {
        for (int i = 0; i < 960; ++i)
            pcm[static_cast<size_t>(i)] =
                static_cast<int16_t>(8000 * std::sin(2 * 3.14159265 * 440 * (f * 960 + i) / 48000.0));
        std::vector<uint8_t> out(1500);
        const int n = opus_encode(enc, pcm.data(), 960, out.data(), static_cast<opus_int32>(out.size()));
        REQUIRE(n > 0);
        out.resize(static_cast<size_t>(n));
        packets.push_back(std::move(out));
    }
    opus_encoder_destroy(enc);

    auto dec = AudioJitterDecoder::create(48000, 1);
    REQUIRE(dec.ok());
    AudioJitterConfig cfg;
    cfg.min_delay = TimeDelta::millis(40);
    cfg.initial_delay = TimeDelta::millis(40);
    AudioJitterBuffer b(cfg);
    size_t samples = 0;
    for (size_t i = 0; i < 60; ++i) {
        const Timestamp t = Timestamp::millis(static_cast<int64_t>(i) * 20);
        if (i < packets.size() && i != 20 && i != 30 && i != 31)
            b.handle_packet(t, static_cast<uint32_t>(i) * kTicks, packets[i]);
        auto f = b.poll_frame(t + TimeDelta::millis(5));
        REQUIRE(f);
        const auto out = (*dec)->decode(*f);
        CHECK(out.size() == 960);
        samples += out.size();
    }
    CHECK(b.stats().frames_dropped == 0);
    const auto& s = (*dec)->stats();
    CHECK(s.decoded == 47);
    CHECK(s.fec_decoded == 2);  // 20 and 31 (30's next packet is lost too)
    CHECK(s.concealed >= 1);
    CHECK(s.errors == 0);
    // A corrupt packet is concealed, not a crash.
    PlayoutFrame bad;
    bad.kind = PlayoutKind::Normal;
    const std::vector<uint8_t> junk = {0xFF, 0xFF, 0xFF};
    bad.payload = junk;
    CHECK((*dec)->decode(bad).size() == 960);
    CHECK(!AudioJitterDecoder::create(44100, 1).ok());
}
