// FlexFEC receive in the MediaEngine: a stream the offer announced with a=ssrc-group:FEC-FR repairs the protected
// video stream; what a peer sends on it that is not sound FlexFEC is dropped and counted.
#include "pc/media_fixture.hpp"
#include "rtcp/rtcp_compound.hpp"
#include "rtp/flexfec_03.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::pc;

namespace {

// A receiving engine for a sendonly VP8 offer with only flexfec-03 as FEC (as a Chromium with its FlexFEC trials
// sends it when ULPFEC is left out).
struct FlexfecReceiveFixture {
    Random random{21};
    std::deque<SessionEvent> events;
    std::unique_ptr<MediaEngine> engine;
    uint32_t media_ssrc = 0, fec_ssrc = 0;
    uint8_t vp8_pt = 0, flexfec_pt = 0;

    explicit FlexfecReceiveFixture(bool announce_fec = true) {
        sdp::Negotiator offerer(random, fixture_transport("offr", 0xAA));
        sdp::Negotiator answerer(random, fixture_transport("answ", 0xBB));
        sdp::TransceiverInit video;
        video.kind = sdp::MediaKind::Video;
        video.direction = sdp::Direction::SendOnly;
        for (const auto& c : sdp::default_config().video_codecs)
            if (c.name == "VP8" || c.name == "flexfec-03" || (announce_fec && c.name == "rtx" && c.fmtp == "apt=96"))
                video.codecs.push_back(c);
        offerer.add_transceiver(video);
        auto offer = offerer.create_offer();
        REQUIRE(offer);
        if (!announce_fec) {
            // flexfec-03 negotiated, but no FEC stream announced: nothing may be taken for FEC.
            for (auto& m : offer->media) {
                std::erase_if(m.ssrc_groups, [](const sdp::SsrcGroup& g) { return g.semantics == "FEC-FR"; });
                std::erase_if(m.ssrcs, [&](const sdp::SsrcAttribute& a) { return a.ssrc == offerer.transceivers()[0].fec_ssrc; });
            }
        }
        auto answer = answerer.answer(*offer);
        REQUIRE(answer);
        engine = std::make_unique<MediaEngine>(random, events, false);
        engine->configure(Timestamp::zero(), answer->negotiated, answerer.transceivers(), "rx");
        media_ssrc = offerer.transceivers()[0].ssrc;
        fec_ssrc = offerer.transceivers()[0].fec_ssrc;
        for (const auto& c : answer->negotiated.media.at(0).codecs) {
            if (c.name == "VP8") vp8_pt = c.pt;
            if (c.name == "flexfec-03") flexfec_pt = c.pt;
        }
        REQUIRE(vp8_pt != 0);
        REQUIRE(flexfec_pt != 0);
        REQUIRE(fec_ssrc != 0);
    }

    // One-packet VP8 frame i (15-bit picture id; a keyframe first), as a Chromium sender packetizes small frames.
    std::vector<uint8_t> frame_packet(uint32_t i, uint16_t seq) const {
        rtp::RtpHeader h;
        h.payload_type = vp8_pt;
        h.ssrc = media_ssrc;
        h.sequence_number = seq;
        h.timestamp = i * 3000u;
        h.marker = true;
        std::vector<uint8_t> body(200 + i % 50, static_cast<uint8_t>(i));
        const uint16_t pid = static_cast<uint16_t>(500 + i);
        body[0] = 0x90;
        body[1] = 0x80;
        body[2] = static_cast<uint8_t>(0x80 | (pid >> 8));
        body[3] = static_cast<uint8_t>(pid & 0xFF);
        body[4] = i == 0 ? 0x10 : 0x11;
        return rtp::build_rtp_packet(h, body);
    }

    std::vector<std::vector<uint8_t>> frames() const {
        std::vector<std::vector<uint8_t>> out;
        for (const auto& e : events)
            if (auto* m = std::get_if<event::MediaFrame>(&e)) out.push_back(m->data);
        return out;
    }
};

// Sends 40 one-packet frames in groups of 4 with one FlexFEC packet each (FlexfecEncoder, XOR of the group), losing
// the third media packet of every group but the first (the receiver stores media for recovery only once FEC is
// coming, so the first group could not be repaired). Returns the number of FEC packets.
int run_groups(FlexfecReceiveFixture& f, bool send_fec) {
    rtp::FlexfecEncoder enc(f.fec_ssrc, f.flexfec_pt, f.media_ssrc, 7000);
    rtp::FecParams params;
    params.protection = 0.25;
    params.max_frames = 4;
    enc.set_params(params);
    Timestamp now = Timestamp::millis(1);
    int fec = 0;
    for (uint32_t i = 0; i < 40; ++i) {
        const auto p = f.frame_packet(i, static_cast<uint16_t>(65500 + i));  // wraps around 65535
        enc.add_media_packet(*rtp::RtpPacketView::parse(p));
        if (i % 4 != 2 || i < 4) f.engine->handle_rtp(now, p);
        while (auto fp = enc.poll_fec_packet()) {
            ++fec;
            if (send_fec) f.engine->handle_rtp(now, *fp);
        }
        f.engine->handle_timeout(now);
        now = now + TimeDelta::millis(33);
    }
    for (int k = 0; k < 20; ++k, now = now + TimeDelta::millis(20)) f.engine->handle_timeout(now);
    return fec;
}

} // namespace

TEST_CASE("media engine flexfec: packets lost on the media SSRC are rebuilt from the FEC-FR stream") {
    FlexfecReceiveFixture f;
    const int fec = run_groups(f, true);
    CHECK(fec == 10);
    const auto frames = f.frames();
    CHECK(frames.size() == 40);
    for (uint32_t i = 0; i < frames.size() && i < 40; ++i) {
        const auto expected = f.frame_packet(i, 0);
        const auto v = rtp::RtpPacketView::parse(expected);
        // The frame is the VP8 payload after the 4-byte descriptor: byte for byte what was sent.
        REQUIRE(frames[i].size() == v->payload().size() - 4);
        CHECK(std::equal(frames[i].begin(), frames[i].end(), v->payload().begin() + 4));
    }
    const auto stats = f.engine->stats().at(0);
    CHECK(stats.fec_packets_recovered == 9);
    // Recovered packets were lost on the path: the RTCP statistics keep them lost.
    CHECK(stats.packets_lost == 9);
    CHECK(f.engine->dropped() == 0);
    // Nothing was NACKed that FEC repaired in time... (the NACK generator may ask before FEC arrives; here FEC
    // arrives with the group) and the FEC stream itself is never NACKed or reported as a media stream.
    int nacks_for_fec = 0;
    while (auto p = f.engine->poll_packet()) {
        if (!p->rtcp) continue;
        const auto c = rtcp::parse_rtcp_compound(p->bytes);
        REQUIRE(c);
        for (const auto& pk : c->packets)
            if (const auto* n = std::get_if<rtcp::Nack>(&pk)) nacks_for_fec += n->media_ssrc == f.fec_ssrc;
    }
    CHECK(nacks_for_fec == 0);
}

TEST_CASE("media engine flexfec: without the FEC stream the same losses stay lost") {
    FlexfecReceiveFixture f;
    run_groups(f, false);
    CHECK(f.frames().size() < 40);
    CHECK(f.engine->stats().at(0).fec_packets_recovered == 0);
}

TEST_CASE("media engine flexfec: FEC on an SSRC no FEC-FR group announced is not used") {
    FlexfecReceiveFixture f(false);
    run_groups(f, true);
    CHECK(f.engine->stats().at(0).fec_packets_recovered == 0);
    CHECK(f.frames().size() < 40);
}

TEST_CASE("media engine flexfec: bad FEC packets are dropped and counted, and recovery still works after them") {
    FlexfecReceiveFixture f;
    Random rng(99);
    Timestamp now = Timestamp::millis(1);
    uint64_t bad = 0;
    // A first media packet so the recoverer has a window.
    f.engine->handle_rtp(now, f.frame_packet(0, 100));
    for (int i = 0; i < 3000; ++i) {
        rtp::RtpHeader h;
        h.payload_type = f.flexfec_pt;
        h.ssrc = f.fec_ssrc;
        h.sequence_number = static_cast<uint16_t>(i);
        std::vector<uint8_t> body(rng.uniform(1400));
        rng.fill(body);
        switch (i % 4) {
        case 0: break;                                            // noise
        case 1: if (body.size() > 0) body[0] &= 0x3F; break;     // R=F=0, random rest
        case 2: {                                                 // well-formed header, another protected SSRC
            rtp::FecMask mask;
            mask.set(0);
            const auto p = f.frame_packet(1, 101);
            const ByteView views[1] = {ByteView(p)};
            body = *rtp::build_flexfec(views, mask, 101, f.media_ssrc ^ 1);
            break;
        }
        default: {                                                // a lying length recovery field
            rtp::FecMask mask;
            mask.set(0);
            const auto p = f.frame_packet(1, static_cast<uint16_t>(101 + i % 90));
            const ByteView views[1] = {ByteView(p)};
            body = *rtp::build_flexfec(views, mask, static_cast<uint16_t>(101 + i % 90), f.media_ssrc);
            body[2] ^= 0x7F;
            break;
        }
        }
        const uint64_t before = f.engine->dropped();
        f.engine->handle_rtp(now, rtp::build_rtp_packet(h, body));
        bad += f.engine->dropped() - before;
        // A wrong payload type on the FEC SSRC is dropped too.
        h.payload_type = f.vp8_pt;
        f.engine->handle_rtp(now, rtp::build_rtp_packet(h, body));
        now = now + TimeDelta::millis(1);
        f.engine->handle_timeout(now);
    }
    MESSAGE(bad << " of 3000 bad FEC packets counted as dropped");
    CHECK(bad >= 1500);  // noise, another SSRC (and lies where they show)
    CHECK(f.engine->stats().size() == 1);
    // Still works afterwards: a lost packet of a new group comes back from its FEC.
    const size_t frames_before = f.frames().size();
    const uint64_t recovered_before = f.engine->stats().at(0).fec_packets_recovered;
    rtp::FlexfecEncoder enc(f.fec_ssrc, f.flexfec_pt, f.media_ssrc);
    enc.set_params(rtp::FecParams{0.5, 2, rtp::FecMaskType::Random});
    for (uint32_t i = 1; i <= 2; ++i) {
        const auto p = f.frame_packet(i, static_cast<uint16_t>(100 + i));
        enc.add_media_packet(*rtp::RtpPacketView::parse(p));
        if (i == 2) f.engine->handle_rtp(now, p);
    }
    while (auto fp = enc.poll_fec_packet()) f.engine->handle_rtp(now, *fp);
    f.engine->handle_timeout(now);
    CHECK(f.engine->stats().at(0).fec_packets_recovered == recovered_before + 1);
    CHECK(f.frames().size() == frames_before + 2);
}
