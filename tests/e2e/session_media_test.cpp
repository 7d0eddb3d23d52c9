// Media between two Sessions over the simulated network: transceivers negotiated with JSEP, SRTP keyed from DTLS,
// Opus and VP8 frames packetized, demultiplexed by BUNDLE, reassembled and delivered whole; NACK/RTX repairs loss;
// keyframe requests travel as PLI; raw RTP/RTCP access for SFU-style users.
#include "session_peer.hpp"

#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

struct MediaPair : SessionPair {
    explicit MediaPair(const sim::LinkConfig& link, bool raw = false, bool video_fec = true)
        : SessionPair(link, media_config(1, raw, video_fec), media_config(2, raw), 11) {}
};

std::vector<uint8_t> opus_frame(int n) {
    std::vector<uint8_t> f(80);
    f[0] = 0x78; // TOC: a CELT 20 ms frame
    f[1] = static_cast<uint8_t>(n & 0xFF);
    f[2] = static_cast<uint8_t>(n >> 8);
    return f;
}

} // namespace

TEST_CASE("session media: Opus and VP8 frames from one session arrive whole and in order at the other") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(20);
    MediaPair p(link);
    auto audio = p.a.session->add_transceiver(MediaKind::Audio);
    auto video = p.a.session->add_transceiver(MediaKind::Video, {.codecs = {"VP8"}});
    REQUIRE(audio);
    REQUIRE(video);
    p.a.drain_events();
    CHECK(p.a.has<event::NegotiationNeeded>());
    negotiate(p.a, p.b);

    // The answerer got two receiving transceivers, announced as tracks.
    const auto tracks = p.b.events_of<event::Track>();
    REQUIRE(tracks.size() == 2);
    CHECK(tracks[0].transceiver.kind == MediaKind::Audio);
    CHECK(tracks[1].transceiver.kind == MediaKind::Video);
    CHECK(tracks[0].transceiver.created_by_remote);
    const auto info = p.a.session->transceiver_info(*video);
    REQUIRE(info);
    CHECK(info->send_codec == "VP8");
    CHECK(info->clock_rate == 90000);
    CHECK(info->ssrc != 0);
    CHECK(p.a.session->transceiver_info(*audio)->send_codec == "opus");

    REQUIRE(p.run_until([&] { return p.a.session->connection_state() == PeerConnectionState::Connected &&
                                     p.b.session->connection_state() == PeerConnectionState::Connected; }));
    // 3 s of 30 fps video (keyframe every 60) and 50 fps audio.
    for (int i = 0; i < 150; ++i) {
        REQUIRE(p.a.session->send_frame(*video, vp8_frame(i, i % 60 == 0), static_cast<uint32_t>(1000 + i * 3000)));
        for (int k = 0; k < 2 && i * 2 + k < 250; ++k) {
            const int n = i * 2 + k;
            (void)p.a.session->send_frame(*audio, opus_frame(n), static_cast<uint32_t>(n * 960));
        }
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(2));

    std::vector<int> video_frames, audio_frames;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) {
        if (f.codec == "VP8") {
            CHECK(f.transceiver == tracks[1].transceiver.id);
            CHECK(f.data == vp8_frame(frame_number(f.data), f.keyframe));
            video_frames.push_back(frame_number(f.data));
        } else {
            CHECK(f.codec == "opus");
            CHECK(f.data == opus_frame(frame_number(f.data)));
            audio_frames.push_back(frame_number(f.data));
        }
    }
    CHECK(video_frames.size() == 150);
    CHECK(audio_frames.size() == 250);
    CHECK(std::is_sorted(video_frames.begin(), video_frames.end()));
    const auto sa = p.a.session->rtp_stats();
    const auto sb = p.b.session->rtp_stats();
    REQUIRE(sa.size() == 2);
    CHECK(sa[1].frames_sent == 150);
    CHECK(sb[1].frames_received == 150);
    CHECK(sb[1].packets_received == sa[1].packets_sent);
    // Reports flowed both ways: the sender knows the round trip from the receiver's reports (2 x 20 ms link).
    REQUIRE(sa[1].rtt);
    CHECK(sa[1].rtt->ms() >= 35);
    CHECK(sa[1].rtt->ms() <= 60);
}

TEST_CASE("session media: 10% loss on video is repaired by NACK and RTX") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(25);
    MediaPair p(link, true);
    // A codec preference names the primary codec only: its rtx companion comes along (RFC 4588 with a FID group).
    auto video = p.a.session->add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly, .codecs = {"VP8"}});
    REQUIRE(video);
    negotiate(p.a, p.b);
    const std::string sdp = p.a.session->local_description()->sdp;
    CHECK(sdp.find("a=rtpmap:97 rtx/90000") != std::string::npos);
    CHECK(sdp.find("a=fmtp:97 apt=96") != std::string::npos);
    CHECK(sdp.find("a=ssrc-group:FID ") != std::string::npos);
    CHECK(p.b.session->local_description()->sdp.find("a=fmtp:97 apt=96") != std::string::npos);
    const uint32_t media_ssrc = p.a.session->transceiver_info(*video)->ssrc;
    REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
    // Loss starts once connected (the handshake is not what this test is about).
    sim::LinkConfig lossy = link;
    lossy.loss = 0.10;
    p.net.set_link(p.la, lossy);
    for (int i = 0; i < 150; ++i) {
        REQUIRE(p.a.session->send_frame(*video, vp8_frame(i, i == 0), static_cast<uint32_t>(i * 3000)));
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(2));
    std::vector<int> got;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) got.push_back(frame_number(f.data));
    const auto sa = p.a.session->rtp_stats().at(0);
    const auto sb = p.b.session->rtp_stats().at(0);
    MESSAGE("10% loss: " << got.size() << " of 150 frames, " << sb.nacks_sent << " NACKs, "
                         << sa.retransmitted_packets_sent << " retransmissions of " << sa.packets_sent << " packets");
    CHECK(got.size() >= 148);
    CHECK(std::is_sorted(got.begin(), got.end()));
    CHECK(sb.nacks_sent > 0);
    CHECK(sa.nacks_received > 0);
    CHECK(sa.retransmitted_packets_sent > 0);
    // The retransmissions arrived as RTX: payload type 97 on an SSRC of their own.
    // The pacer's probe padding travels on the RTX stream too, as padding-only packets.
    size_t rtx_packets = 0, padding_packets = 0, other = 0;
    for (const auto& e : p.b.events_of<event::RtpPacket>()) {
        const auto view = rtp::RtpPacketView::parse(e.packet);
        REQUIRE(view);
        const bool rtx = view->payload_type() == 97 && view->ssrc() != media_ssrc;
        if (rtx && view->payload().empty() && view->has_padding()) ++padding_packets;
        else if (rtx) ++rtx_packets;
        else if (view->payload_type() != 96 || view->ssrc() != media_ssrc) ++other;
    }
    MESSAGE(rtx_packets << " RTX packets arrived, and " << padding_packets << " padding packets of "
                        << sa.padding_packets_sent);
    CHECK(rtx_packets > 0);
    CHECK(rtx_packets <= sa.retransmitted_packets_sent);
    CHECK(padding_packets <= sa.padding_packets_sent);
    CHECK(other == 0);

    // Every retransmission carries a transport-wide sequence number of its own, newer than any media packet that
    // arrived before it (the link keeps order), not the original's again.
    const std::string twcc_uri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    const size_t at = sdp.find(twcc_uri);
    REQUIRE(at != std::string::npos);
    const size_t line = sdp.rfind("a=extmap:", at);
    const int twcc_id = std::stoi(sdp.substr(line + 9));
    int newest_media = -1;
    size_t rtx_checked = 0;
    for (const auto& e : p.b.events_of<event::RtpPacket>()) {
        const auto view = rtp::RtpPacketView::parse(e.packet);
        REQUIRE(view);
        const auto ext = view->find_extension(static_cast<uint8_t>(twcc_id));
        REQUIRE(ext);
        REQUIRE(ext->size() == 2);
        const int tseq = (*ext)[0] << 8 | (*ext)[1];
        if (view->payload_type() == 97 && !view->payload().empty()) {
            CHECK(tseq > newest_media);
            ++rtx_checked;
        } else {
            newest_media = std::max(newest_media, tseq);
        }
    }
    CHECK(rtx_checked == rtx_packets);
}

TEST_CASE("session media: 10% loss at 100 ms RTT: ULPFEC in RED repairs what NACK would take a round trip for") {
    auto run = [](bool video_fec) {
        sim::LinkConfig link;
        link.delay = TimeDelta::millis(50);
        MediaPair p(link, false, video_fec);
        // Default codecs: VP8 with rtx, red and ulpfec.
        auto video = p.a.session->add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly});
        REQUIRE(video);
        negotiate(p.a, p.b);
        CHECK(p.b.session->local_description()->sdp.find(" ulpfec/90000") != std::string::npos);
        REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
        const LossyVideoRun run = send_video_through_loss(p, *video, link, 0.10);
        CHECK(run.intact);
        return run;
    };
    const LossyVideoRun fec = run(true);
    const LossyVideoRun nack_only = run(false);
    MESSAGE("with FEC: " << fec.frames << " of 300 frames, protection " << fec.sent.fec_protection << ", "
                         << fec.sent.fec_packets_sent << " FEC packets, " << fec.received.fec_packets_recovered
                         << " recovered, " << fec.sent.retransmitted_packets_sent << " retransmissions; NACK only: "
                         << nack_only.frames << " frames, " << nack_only.sent.retransmitted_packets_sent
                         << " retransmissions");
    CHECK(fec.frames >= 297);
    CHECK(fec.in_order);
    CHECK(fec.sent.fec_protection > 0);            // the reports' loss and RTT turned FEC on...
    CHECK(fec.sent.fec_packets_sent > 50);
    CHECK(fec.received.fec_packets_recovered >= 10);  // ...and the receiver rebuilt packets from it (18-27 seen)
    CHECK(fec.sent.retransmitted_packets_sent < nack_only.sent.retransmitted_packets_sent);
    CHECK(nack_only.sent.fec_packets_sent == 0);
    CHECK(nack_only.frames >= 297);
}

TEST_CASE("session media: a keyframe request travels as PLI; raw RTP and RTCP events; send_rtp forwards") {
    MediaPair p({}, true);
    auto video = p.a.session->add_transceiver(MediaKind::Video, {.codecs = {"VP8"}});
    REQUIRE(video);
    // b has a video transceiver of its own: the answer matches it to a's m-line (sendrecv both ways).
    auto b_video = p.b.session->add_transceiver(MediaKind::Video);
    REQUIRE(b_video);
    negotiate(p.a, p.b);
    REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
    const TransceiverId receiving = p.b.events_of<event::Track>().at(0).transceiver.id;
    CHECK(receiving == *b_video);
    // Nothing received yet: no stream to ask.
    CHECK_FALSE(p.b.session->request_keyframe(receiving));
    REQUIRE(p.a.session->send_frame(*video, vp8_frame(0, true), 0));
    REQUIRE(p.run_until([&] { return p.b.has<event::MediaFrame>(); }));
    REQUIRE(p.b.has<event::RtpPacket>());
    REQUIRE(p.b.session->request_keyframe(receiving));
    REQUIRE(p.run_until([&] { return p.a.has<event::KeyframeRequest>(); }));
    CHECK(p.a.events_of<event::KeyframeRequest>().at(0).transceiver == *video);
    CHECK(p.a.has<event::RtcpPacket>());

    // SFU-style: b forwards a received packet back to a on its own (sendrecv) transceiver: a sees it arrive.
    const auto pkt = p.b.events_of<event::RtpPacket>().at(0).packet;
    REQUIRE(p.b.session->send_rtp(receiving, pkt));
    REQUIRE(p.run_until([&] { return p.a.has<event::RtpPacket>(); }));
    CHECK(p.a.events_of<event::RtpPacket>().at(0).packet.size() == pkt.size());
}

TEST_CASE("session media: GCC over transport-wide feedback settles the target near a 1 Mbps bottleneck") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(25);
    MediaPair p(link);
    auto video = p.a.session->add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly, .codecs = {"VP8"}});
    REQUIRE(video);
    negotiate(p.a, p.b);
    REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Connected; }));
    sim::LinkConfig bottleneck = link;
    bottleneck.rate = DataRate::kbps(1000);
    bottleneck.queue = DataSize::bytes(60 * 1500);
    p.net.set_link(p.la, bottleneck);

    // The application's encoder follows the target: frame size = target / 30 fps (a keyframe now and then).
    DataRate target = DataRate::kbps(300);
    std::vector<std::pair<int64_t, int64_t>> trace; // (ms, kbps)
    for (int i = 0; i < 30 * 40; ++i) {
        for (const auto& e : p.a.events_of<event::TargetBitrate>()) target = e.target;
        p.a.events.clear();
        const size_t bytes = static_cast<size_t>(std::max<int64_t>(target.bps() / 8 / 30, 200));
        std::vector<uint8_t> frame(bytes, 0x22);
        frame[0] = i % 300 == 0 ? 0x10 : 0x11; // VP8 frame tag: a keyframe every 10 s
        REQUIRE(p.a.session->send_frame(*video, frame, static_cast<uint32_t>(i * 3000)));
        p.run_for(TimeDelta::millis(33));
        if (i % 30 == 0) trace.push_back({i * 33, target.kbps()});
    }
    std::string line;
    for (const auto& [ms, kbps] : trace) line += std::to_string(kbps) + " ";
    MESSAGE("target kbps once a second: " << line);
    // Ramp-up from 300 kbps and then within 20 % of the capacity (up to it: the link also carries RTP headers).
    int64_t late_min = INT64_MAX, late_max = 0;
    for (size_t k = trace.size() - 10; k < trace.size(); ++k) {
        late_min = std::min(late_min, trace[k].second);
        late_max = std::max(late_max, trace[k].second);
    }
    CHECK(late_min >= 700);
    CHECK(late_max <= 1150);
    const auto st = p.a.session->stats();
    REQUIRE(st.available_outgoing_bitrate);
    CHECK(st.available_outgoing_bitrate->kbps() == target.kbps());
}

TEST_CASE("session media: add_track takes the transceiver a remote offer made; replace_track detaches and swaps sources") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(20);
    MediaPair p(link);
    REQUIRE(p.a.session->add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendRecv}));
    negotiate(p.a, p.b);  // b only receives: its transceiver came from a's offer
    REQUIRE(p.run_until([&] { return p.a.session->connection_state() == PeerConnectionState::Connected &&
                                     p.b.session->connection_state() == PeerConnectionState::Connected; }));
    REQUIRE(p.b.session->transceivers().size() == 1);
    CHECK(p.b.session->transceivers()[0].created_by_remote);
    CHECK(p.b.session->transceivers()[0].direction == RtpDirection::RecvOnly);

    // W3C addTrack: the offered transceiver is taken (it never sent, has no track), not a new m-line.
    const auto id = p.b.session->add_track({MediaKind::Video, "camera"}, "cam-stream");
    REQUIRE(id);
    CHECK(*id == p.b.session->transceivers()[0].id);
    CHECK(p.b.session->transceivers().size() == 1);
    CHECK(p.b.session->transceiver_info(*id)->direction == RtpDirection::SendRecv);
    CHECK(p.b.session->transceiver_info(*id)->track_id == std::optional<std::string>("camera"));
    p.b.drain_events();
    CHECK(p.b.has<event::NegotiationNeeded>());
    // The same track twice is refused (W3C InvalidAccessError).
    CHECK(!p.b.session->add_track({MediaKind::Video, "camera"}));
    negotiate(p.b, p.a);
    CHECK(p.b.session->local_description()->sdp.find("a=msid:cam-stream ") != std::string::npos);
    CHECK(p.b.session->transceiver_info(*id)->current_direction == RtpDirection::SendRecv);

    auto frames_at_a = [&] { return p.a.events_of<event::MediaFrame>().size(); };
    int n = 0;
    auto send_for = [&](TimeDelta d) {
        size_t refused = 0;
        for (int i = 0; i < d.ms() / 33; ++i, ++n) {
            if (!p.b.session->send_frame(*id, vp8_frame(n, i == 0), static_cast<uint32_t>(n * 3000))) ++refused;
            p.run_for(TimeDelta::millis(33));
        }
        return refused;
    };
    CHECK(send_for(TimeDelta::seconds(1)) == 0);
    p.run_for(TimeDelta::millis(200));
    const size_t first = frames_at_a();
    CHECK(first >= 28);

    // Detached: nothing can be sent, nothing arrives, and the transceiver stays negotiated.
    REQUIRE(p.b.session->replace_track(*id, std::nullopt));
    CHECK(!p.b.session->transceiver_info(*id)->has_source);
    auto refused = p.b.session->send_frame(*id, vp8_frame(n, false), 0);
    REQUIRE(!refused);
    CHECK(refused.error().category == ErrorCategory::InvalidStateError);
    CHECK(send_for(TimeDelta::seconds(1)) == 30);
    p.run_for(TimeDelta::millis(200));
    CHECK(frames_at_a() == first);

    // A track of the other kind does not fit.
    auto wrong = p.b.session->replace_track(*id, MediaTrack{MediaKind::Audio, "mic"});
    REQUIRE(!wrong);
    CHECK(wrong.error().category == ErrorCategory::TypeError);

    // Another source: the application is asked for a keyframe, and frames flow again without renegotiation.
    const size_t requests = p.b.events_of<event::KeyframeRequest>().size();
    REQUIRE(p.b.session->replace_track(*id, MediaTrack{MediaKind::Video, "screen"}));
    p.b.drain_events();
    CHECK(p.b.events_of<event::KeyframeRequest>().size() == requests + 1);
    CHECK(p.b.session->transceiver_info(*id)->track_id == std::optional<std::string>("screen"));
    CHECK(send_for(TimeDelta::seconds(1)) == 0);
    p.run_for(TimeDelta::millis(200));
    CHECK(frames_at_a() >= first + 28);
    CHECK(p.b.session->signaling_state() == SignalingState::Stable);

    // Nothing left to take: a second track gets a transceiver of its own, and renegotiation is due.
    const size_t needed = p.b.events_of<event::NegotiationNeeded>().size();
    const auto mic = p.b.session->add_track({MediaKind::Audio, "mic"});
    REQUIRE(mic);
    CHECK(*mic != *id);
    CHECK(p.b.session->transceivers().size() == 2);
    p.b.drain_events();
    CHECK(p.b.events_of<event::NegotiationNeeded>().size() > needed);
}
