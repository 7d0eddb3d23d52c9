// FEC between two Sessions over the simulated network: FlexFEC (flexfec-03 on its own SSRC, as Chromium negotiates
// it) for video, and audio RED (RFC 2198) for Opus.
#include "session_peer.hpp"

#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

struct Pair : SessionPair {
    explicit Pair(const sim::LinkConfig& link, bool raw = false)
        : SessionPair(link, media_config(1), media_config(2, raw), 17) {}
};


/// "a=ssrc-group:FEC-FR <media> <fec>" of an SDP text: the FEC SSRC, 0 if none.
uint32_t fec_fr_ssrc(const std::string& sdp) {
    const std::string key = "a=ssrc-group:FEC-FR ";
    const size_t at = sdp.find(key);
    if (at == std::string::npos) return 0;
    const size_t space = sdp.find(' ', at + key.size());
    return static_cast<uint32_t>(std::stoul(sdp.substr(space + 1)));
}

int extmap_id(const std::string& sdp, const std::string& uri) {
    const size_t at = sdp.find(uri);
    if (at == std::string::npos) return 0;
    return std::stoi(sdp.substr(sdp.rfind("a=extmap:", at) + 9));
}

} // namespace

TEST_CASE("session fec: FlexFEC alone at 10% loss and 100 ms RTT repairs packets; without it nothing is repaired") {
    struct Outcome {
        size_t frames = 0;
        bool in_order = false;
        RtpStats sent, received;
        std::string offer, answer;
        std::vector<std::vector<uint8_t>> arrived;  // raw RTP at b
        uint64_t outbound_packets = 0;              // W3C outbound-rtp packetsSent of the media SSRC
    };
    auto run = [](std::vector<std::string> codecs) {
        sim::LinkConfig link;
        link.delay = TimeDelta::millis(50);
        Pair p(link, true);
        auto video = p.a.session->add_transceiver(MediaKind::Video,
                                                  {.direction = RtpDirection::SendOnly, .codecs = std::move(codecs)});
        REQUIRE(video);
        negotiate(p.a, p.b);
        REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
        const LossyVideoRun run = send_video_through_loss(p, *video, link, 0.10);
        CHECK(run.intact);
        Outcome o;
        o.frames = run.frames;
        o.in_order = run.in_order;
        o.sent = run.sent;
        o.received = run.received;
        o.offer = p.a.session->local_description()->sdp;
        o.answer = p.b.session->local_description()->sdp;
        for (const auto& e : p.b.events_of<event::RtpPacket>()) o.arrived.push_back(e.packet);
        // The report must outlive the loop: all() points into it.
        const StatsReport report = p.a.session->get_stats(p.net.now());
        for (const auto* out : report.all<OutboundRtpStats>()) o.outbound_packets += out->packets_sent;
        return o;
    };
    const Outcome fec = run({"VP8", "flexfec-03"});
    const Outcome none = run({"VP8"});
    MESSAGE("FlexFEC: " << fec.frames << " of 300 frames, protection " << fec.sent.fec_protection << ", "
                        << fec.sent.fec_packets_sent << " FEC packets, " << fec.received.fec_packets_recovered
                        << " recovered, " << fec.sent.retransmitted_packets_sent << " retransmissions; no FEC: "
                        << none.frames << " frames, " << none.sent.retransmitted_packets_sent << " retransmissions");
    // Negotiated as Chromium does it: the codec, and the sender's FEC stream in an FEC-FR group; no ULPFEC.
    CHECK(fec.answer.find(" flexfec-03/90000") != std::string::npos);
    CHECK(fec.answer.find(" ulpfec/90000") == std::string::npos);
    const uint32_t fec_ssrc = fec_fr_ssrc(fec.offer);
    REQUIRE(fec_ssrc != 0);
    CHECK(fec.sent.fec_protection > 0);
    CHECK(fec.sent.fec_packets_sent > 50);
    CHECK(fec.received.fec_packets_recovered > 0);
    CHECK(fec.frames >= 297);
    CHECK(fec.in_order);
    CHECK(fec.sent.retransmitted_packets_sent < none.sent.retransmitted_packets_sent);

    // The FEC packets came on the FEC SSRC with payload type 35, a sequence space of their own (increasing, no
    // repeats) and transport-wide numbers that no media packet has.
    const int twcc = extmap_id(fec.offer, "transport-wide-cc-extensions-01");
    REQUIRE(twcc > 0);
    std::vector<uint16_t> fec_seqs;
    std::set<int> fec_tseqs, media_tseqs;
    for (const auto& pk : fec.arrived) {
        const auto v = rtp::RtpPacketView::parse(pk);
        REQUIRE(v);
        const auto ext = v->find_extension(static_cast<uint8_t>(twcc));
        REQUIRE(ext);
        const int tseq = (*ext)[0] << 8 | (*ext)[1];
        if (v->ssrc() == fec_ssrc) {
            CHECK(v->payload_type() == 35);
            fec_seqs.push_back(v->sequence_number());
            fec_tseqs.insert(tseq);
        } else {
            CHECK(v->payload_type() != 35);
            media_tseqs.insert(tseq);
        }
    }
    CHECK(fec_seqs.size() >= 40);
    for (size_t i = 1; i < fec_seqs.size(); ++i) {
        const auto step = static_cast<uint16_t>(fec_seqs[i] - fec_seqs[i - 1]);
        CHECK(step >= 1);
        CHECK(step < 10);  // losses leave gaps, nothing else does
    }
    for (int t : fec_tseqs) CHECK(media_tseqs.count(t) == 0);
    // The media SSRC's outbound-rtp counts media and retransmissions, not the FEC stream's packets.
    CHECK(fec.outbound_packets == fec.sent.packets_sent + fec.sent.retransmitted_packets_sent);

    // Without FEC negotiated: no FEC sent, nothing recovered (NACK alone keeps the frames coming).
    CHECK(none.answer.find("flexfec-03") == std::string::npos);
    CHECK(fec_fr_ssrc(none.offer) == 0);
    CHECK(none.sent.fec_packets_sent == 0);
    CHECK(none.received.fec_packets_recovered == 0);
    CHECK(none.frames >= 297);
}

namespace {

std::vector<uint8_t> opus_frame(int n) {
    std::vector<uint8_t> f(60 + n % 40);
    f[0] = 0x78;  // TOC: a CELT 20 ms frame
    f[1] = static_cast<uint8_t>(n & 0xFF);
    f[2] = static_cast<uint8_t>(n >> 8);
    for (size_t i = 3; i < f.size(); ++i) f[i] = static_cast<uint8_t>(n * 7 + static_cast<int>(i));
    return f;
}

} // namespace

TEST_CASE("session fec: audio RED at 10% random loss fills lost Opus frames without NACK") {
    struct Outcome {
        size_t distinct = 0, duplicates = 0;
        bool intact = true, in_order = true;
        RtpStats sent, received;
        std::string offer, answer;
        std::vector<std::vector<uint8_t>> arrived;
    };
    constexpr int kFrames = 1000;  // 20 s of 20 ms frames
    auto run = [](std::vector<std::string> codecs) {
        sim::LinkConfig link;
        link.delay = TimeDelta::millis(50);
        Pair p(link, true);
        auto audio = p.a.session->add_transceiver(MediaKind::Audio,
                                                  {.direction = RtpDirection::SendOnly, .codecs = std::move(codecs)});
        REQUIRE(audio);
        negotiate(p.a, p.b);
        REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
        sim::LinkConfig lossy = link;
        lossy.loss = 0.10;
        p.net.set_link(p.la, lossy);
        for (int i = 0; i < kFrames; ++i) {
            REQUIRE(p.a.session->send_frame(*audio, opus_frame(i), static_cast<uint32_t>(i * 960)));
            p.run_for(TimeDelta::millis(20));
        }
        p.net.set_link(p.la, link);  // the last frame's redundancy needs a packet after it
        REQUIRE(p.a.session->send_frame(*audio, opus_frame(kFrames), static_cast<uint32_t>(kFrames * 960)));
        p.run_for(TimeDelta::seconds(1));
        Outcome o;
        std::set<int> seen;
        int last = -1;
        for (const auto& f : p.b.events_of<event::MediaFrame>()) {
            const int n = frame_number(f.data);
            if (n < 0 || n >= kFrames) continue;
            o.intact = o.intact && f.data == opus_frame(n) && f.rtp_timestamp == static_cast<uint32_t>(n * 960);
            o.in_order = o.in_order && n > last;
            last = std::max(last, n);
            if (!seen.insert(n).second) ++o.duplicates;
        }
        o.distinct = seen.size();
        o.sent = p.a.session->rtp_stats().at(0);
        o.received = p.b.session->rtp_stats().at(0);
        o.offer = p.a.session->local_description()->sdp;
        o.answer = p.b.session->local_description()->sdp;
        for (const auto& e : p.b.events_of<event::RtpPacket>()) o.arrived.push_back(e.packet);
        return o;
    };
    const Outcome red = run({"opus", "red"});
    const Outcome plain = run({"opus"});
    MESSAGE("audio RED: " << red.distinct << " of " << kFrames << " frames (" << red.received.fec_packets_recovered
                          << " filled from redundancy, " << red.received.packets_lost << " packets lost); plain Opus: "
                          << plain.distinct << " of " << kFrames);
    // Negotiated as Chromium offers it; Opus in-band FEC stays signalled.
    CHECK(red.offer.find(" red/48000/2") != std::string::npos);
    CHECK(red.answer.find(" red/48000/2") != std::string::npos);
    CHECK(red.answer.find(" 111/111") != std::string::npos);
    CHECK(red.answer.find("useinbandfec=1") != std::string::npos);
    CHECK(plain.answer.find("useinbandfec=1") != std::string::npos);
    CHECK(plain.answer.find(" red/48000/2") == std::string::npos);
    // Every packet went out as RED (payload type 63) carrying earlier frames.
    size_t red_packets = 0, with_redundancy = 0, with_two = 0;
    for (const auto& pk : red.arrived) {
        const auto v = rtp::RtpPacketView::parse(pk);
        REQUIRE(v);
        CHECK(v->payload_type() == 63);
        ++red_packets;
        const auto blocks = rtp::parse_red(v->payload());
        REQUIRE(blocks);
        with_redundancy += blocks->count >= 2;
        with_two += blocks->count == 3;
    }
    CHECK(red_packets > 800);
    CHECK(with_redundancy + 1 >= red_packets);  // all but the first
    // Once the feedback shows ~10% loss, two earlier frames ride along.
    CHECK(with_two > 500);
    CHECK(red.intact);
    CHECK(red.in_order);
    CHECK(red.duplicates == 0);
    CHECK(red.received.nacks_sent == 0);
    CHECK(red.received.packets_lost > 50);            // the path lost packets...
    CHECK(red.distinct * 100 >= kFrames * 99);        // ...but >= 99% of the frames arrived
    CHECK(red.received.fec_packets_recovered > 50);
    CHECK(plain.received.fec_packets_recovered == 0);
    CHECK(plain.intact);
    CHECK(plain.distinct * 100 <= kFrames * 95);      // markedly fewer without RED
}
