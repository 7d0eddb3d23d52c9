// MediaEngine on its own: what arrives from the network is bounded, whatever it claims to be.
#include "pc/media_fixture.hpp"
#include "rtcp/rtcp_compound.hpp"
#include "rtp/fec_ulpfec.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <malloc.h>

using namespace rtcpp;
using namespace rtcpp::pc;

namespace {

std::vector<uint8_t> packet(uint8_t pt, uint32_t ssrc, uint16_t seq, size_t payload) {
    rtp::RtpHeader h;
    h.payload_type = pt;
    h.ssrc = ssrc;
    h.sequence_number = seq;
    h.timestamp = seq * 3000u;
    h.marker = true;
    std::vector<uint8_t> body(payload, 0x11);
    body[0] = 0x10; // VP8: S bit, start of a partition; Opus: a valid TOC byte
    return rtp::build_rtp_packet(h, body);
}

size_t heap_in_use() { return mallinfo2().uordblks; }

} // namespace

TEST_CASE("media engine: 10,000 random SSRCs keep a bounded number of receive streams and bounded memory") {
    MediaFixture f;
    REQUIRE(f.vp8_pt != 0);
    REQUIRE(f.opus_pt != 0);
    Random r(5);
    // Warm up one legitimate stream, then measure.
    for (uint16_t s = 0; s < 10; ++s) f.engine->handle_rtp(Timestamp::millis(s), packet(f.opus_pt, 42, s, 60));
    const size_t before = heap_in_use();
    for (int i = 0; i < 10000; ++i) {
        const uint8_t pt = (i % 2) ? f.vp8_pt : f.opus_pt;
        f.engine->handle_rtp(Timestamp::millis(100 + i), packet(pt, r.next_u32(), static_cast<uint16_t>(i), 200));
        f.engine->handle_timeout(Timestamp::millis(100 + i));
    }
    f.events.clear();
    const size_t growth = heap_in_use() > before ? heap_in_use() - before : 0;
    MESSAGE("10,000 SSRCs: heap growth " << growth << " bytes, dropped " << f.engine->dropped());
    // At most 64 receive streams (each with a frame buffer and NACK list) are tracked; the rest are dropped.
    CHECK(f.engine->dropped() >= 10000 - 64);
    // Bound: 2 MiB (measured: about 180 KB for the 63 streams admitted; one stream per SSRC would be ~3 MB).
    CHECK(growth < 2 * 1024 * 1024);
    // The legitimate stream still works.
    const size_t frames_before = f.engine->stats().at(0).frames_received;
    for (uint16_t s = 10; s < 20; ++s) f.engine->handle_rtp(Timestamp::seconds(20), packet(f.opus_pt, 42, s, 60));
    CHECK(f.engine->stats().at(0).frames_received == frames_before + 10);
}

TEST_CASE("media engine: malformed RTP and RTCP are counted and dropped") {
    MediaFixture f;
    const uint64_t before = f.engine->dropped();
    const std::vector<uint8_t> junk{0x80, 0x60, 0x00};
    f.engine->handle_rtp(Timestamp::zero(), junk);
    const std::vector<uint8_t> lying_rtcp{0x81, 0xC9, 0x00, 0x40, 0, 0, 0, 1};
    f.engine->handle_rtcp(Timestamp::zero(), lying_rtcp);
    CHECK(f.engine->dropped() == before + 2);
    CHECK(f.events.empty());
}

TEST_CASE("media engine: VP8 inside RED (as Chromium sends video when red is negotiated) comes out as frames") {
    MediaFixture f;
    const uint8_t red_pt = f.video_red_pt;
    REQUIRE(red_pt != 0);
    for (uint16_t i = 0; i < 20; ++i) {
        rtp::RtpHeader h;
        h.payload_type = f.vp8_pt;
        h.ssrc = 777;
        h.sequence_number = static_cast<uint16_t>(1000 + i);
        h.timestamp = i * 3000u;
        h.marker = true;
        std::vector<uint8_t> body(300, static_cast<uint8_t>(i));
        body[0] = 0x10;                  // VP8 descriptor: S=1, PID 0
        body[1] = i == 0 ? 0x10 : 0x11;  // frame tag: a keyframe first
        const auto media = rtp::build_rtp_packet(h, body);
        const auto red = rtp::wrap_red(*rtp::RtpPacketView::parse(media), red_pt);
        f.engine->handle_rtp(Timestamp::millis(i * 33), red);
        f.engine->handle_timeout(Timestamp::millis(i * 33));
    }
    f.engine->handle_timeout(Timestamp::seconds(5));
    int frames = 0;
    for (const auto& e : f.events)
        if (auto* m = std::get_if<event::MediaFrame>(&e)) {
            CHECK(m->codec == "VP8");
            CHECK(m->data.size() == 299);
            ++frames;
        }
    CHECK(frames == 20);
}

TEST_CASE("media engine: ULPFEC packets inside RED are not NACKed (the sender never retransmits them)") {
    // Chromium's default offer: VP8 in RED, and when it protects, an FEC packet on the next sequence number after a
    // few media packets. Nothing is lost here, so nothing may be NACKed and no keyframe requested.
    MediaFixture f;
    REQUIRE(f.video_red_pt != 0);
    REQUIRE(f.video_ulpfec_pt != 0);
    uint16_t seq = 1000;
    std::vector<std::vector<uint8_t>> group;
    int fec_packets = 0;
    Timestamp now = Timestamp::millis(0);
    for (uint32_t i = 0; i < 30; ++i) {
        rtp::RtpHeader h;
        h.payload_type = f.vp8_pt;
        h.ssrc = 777;
        h.sequence_number = seq++;
        h.timestamp = i * 3000u;
        h.marker = true;
        std::vector<uint8_t> body(300, static_cast<uint8_t>(i));
        // VP8 descriptor with a 15-bit picture id, as Chromium sends it (X=1, S=1; I=1; M=1 + id), then the frame
        // tag: a keyframe first.
        const uint16_t pid = static_cast<uint16_t>(200 + i);
        body[0] = 0x90;
        body[1] = 0x80;
        body[2] = static_cast<uint8_t>(0x80 | (pid >> 8));
        body[3] = static_cast<uint8_t>(pid & 0xFF);
        body[4] = i == 0 ? 0x10 : 0x11;
        group.push_back(rtp::build_rtp_packet(h, body));
        f.engine->handle_rtp(now, rtp::wrap_red(*rtp::RtpPacketView::parse(group.back()), f.video_red_pt));
        if (group.size() == 3) {
            std::vector<ByteView> views(group.begin(), group.end());
            rtp::FecMask mask;
            mask.set(0);
            mask.set(1);
            mask.set(2);
            const auto fec = rtp::build_ulpfec(views, mask, static_cast<uint16_t>(seq - 3));
            REQUIRE(fec);
            rtp::RtpHeader fh;
            fh.payload_type = f.video_red_pt;
            fh.ssrc = 777;
            fh.sequence_number = seq++;
            fh.timestamp = h.timestamp;
            std::vector<uint8_t> red;
            ByteWriter w(red);
            REQUIRE(rtp::write_red(w, {}, f.video_ulpfec_pt, *fec));
            f.engine->handle_rtp(now, rtp::build_rtp_packet(fh, red));
            ++fec_packets;
            group.clear();
        }
        f.engine->handle_timeout(now);
        now = now + TimeDelta::millis(33);
    }
    // Long enough for every NACK retry and the give-up that would follow (2 s).
    for (int k = 0; k < 150; ++k, now = now + TimeDelta::millis(20)) f.engine->handle_timeout(now);
    int frames = 0, nacks = 0, keyframe_requests = 0;
    for (const auto& e : f.events)
        if (std::holds_alternative<event::MediaFrame>(e)) ++frames;
    while (auto p = f.engine->poll_packet()) {
        if (!p->rtcp) continue;
        const auto c = rtcp::parse_rtcp_compound(p->bytes);
        REQUIRE(c);
        for (const auto& pk : c->packets) {
            nacks += std::holds_alternative<rtcp::Nack>(pk);
            keyframe_requests += std::holds_alternative<rtcp::Pli>(pk) || std::holds_alternative<rtcp::Fir>(pk);
        }
    }
    CHECK(fec_packets == 10);
    CHECK(frames == 30);
    CHECK(nacks == 0);
    CHECK(keyframe_requests == 0);
}
