// Offers published by other projects from browsers we cannot run here (Firefox, Safari). Sources are listed in
// tests/sdp/data/SOURCES.md and next to each test.
#include "sdp/negotiator.hpp"
#include "sdp_test_util.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::sdp;
using rtcpp::Random;
using rtcpp::sdp::testing::sample;

namespace {

LocalTransport local() {
    LocalTransport t;
    t.ice_ufrag = "loca";
    t.ice_pwd = "localpasswordlocalpassword";
    t.fingerprints = {Fingerprint{HashAlgorithm::Sha256, std::vector<uint8_t>(32, 7)}};
    return t;
}

} // namespace

// Firefox 121, from elixir-webrtc/ex_webrtc test/fixtures/sdp/firefox_audio_video_sdp.txt.
TEST_CASE("Firefox 121 audio+video offer") {
    auto d = parse(sample("firefox121_offer_audio_video.sdp"));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(d->origin.username == "mozilla...THIS_IS_SDPARTA-99.0");
    // Firefox puts the fingerprint and ice-options at session level.
    REQUIRE(d->transport.fingerprints.size() == 1);
    CHECK(d->transport.ice_options == std::vector<std::string>{"trickle"});
    CHECK(d->msid_semantic == "WMS *");
    const auto& a = d->media.at(0);
    CHECK(a.extmaps.at(1).direction == Direction::RecvOnly);
    CHECK(a.msids.at(0).stream_id == "-");
    CHECK(a.msids.at(0).track_id == "{ba72adfe-d5b5-42bd-bf15-e8fcdcbb2ee1}");
    CHECK(a.find_codec(9)->channels == 1);
    CHECK(a.find_codec(101)->fmtp == "0-15");
    CHECK(a.codecs.front().pt == 109);  // ordered by the m-line although Firefox writes fmtp before rtpmap
    const auto& v = d->media.at(1);
    CHECK(v.find_codec(97)->feedback.size() == 5);
    CHECK(v.ssrc_groups.at(0).ssrcs == std::vector<uint32_t>{7463831u, 2513307155u});

    Random rng(1);
    Negotiator n(rng, local());
    n.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto r = n.answer(*d);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const auto& aa = r->description.media.at(0);
    CHECK(aa.formats.front() == "109");
    CHECK(aa.find_codec(109)->name == "opus");
    const auto& av = r->description.media.at(1);
    CHECK(av.find_codec(120)->name == "VP8");
    CHECK_FALSE(av.find_codec(120)->fmtp);  // our receive side has no max-fs limit to state
    CHECK(av.find_codec(124)->fmtp == "apt=120");
    CHECK(av.find_codec(121)->name == "VP9");
    // H264 126 (packetization-mode 1) and 97 (mode 0) both match one of ours; their rtx follow.
    CHECK(av.find_codec(126));
    CHECK(av.find_codec(97));
    CHECK(av.find_codec(98)->fmtp == "apt=97");
    // playout-delay is not ours; csrc-audio-level neither.
    for (const auto& e : av.extmaps) CHECK(e.uri.find("playout-delay") == std::string::npos);
    for (const auto& e : aa.extmaps) CHECK(e.uri.find("csrc-audio-level") == std::string::npos);
    // Transport from session level.
    CHECK(r->negotiated.remote_ice_ufrag == "6c0579ea");
    CHECK(r->negotiated.remote_fingerprints.at(0).digest.at(0) == 0x75);
    CHECK(r->negotiated.dtls_role == DtlsRole::Client);
    CHECK(r->negotiated.find("0")->remote_msids.at(0).stream_id == "-");
}

// Firefox 85 data channel offer, posted in lerouxrgd/datachannel-rs issue #8.
TEST_CASE("Firefox 85 data channel offer: mDNS, uppercase transports, relay candidates") {
    auto d = parse(sample("firefox85_offer_datachannel.sdp"));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(d->direction == Direction::SendRecv);
    const auto& m = d->media.at(0);
    REQUIRE(m.transport.candidates.size() == 6);
    CHECK(m.transport.candidates[0].is_mdns());
    CHECK(m.transport.candidates[0].transport == CandidateTransport::Udp);
    CHECK(m.transport.candidates[1].transport == CandidateTransport::Tcp);
    CHECK(m.transport.candidates[1].tcp_type == TcpType::Active);
    CHECK(m.transport.candidates[2].type == CandidateType::Relay);
    CHECK(m.transport.candidates[2].related_port == 46016);
    CHECK(m.transport.candidates[3].type == CandidateType::Srflx);
    CHECK(m.transport.end_of_candidates);
    CHECK(m.max_message_size == 1073741823u);

    Random rng(2);
    Negotiator n(rng, local());
    auto r = n.answer(*d);
    REQUIRE(r.ok());
    const auto* dc = r->negotiated.find("0");
    REQUIRE(dc);
    CHECK(dc->datachannel);
    CHECK(dc->remote_max_message_size == 1073741823u);
    CHECK(dc->remote_candidates.size() == 6);
    CHECK(dc->remote_end_of_candidates);
    CHECK(r->description.media.at(0).sctp_port == 5000);
}

// Safari (libwebrtc based), audio section of the offer posted in aiortc/aiortc issue #282.
TEST_CASE("Safari audio offer: IPv6 host candidate, network-cost 999, answered with Opus") {
    auto d = parse(sample("safari_offer_audio_trimmed.sdp"));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    const auto& m = d->media.at(0);
    CHECK(m.mid == "audio");
    CHECK(m.transport.candidates.at(1).address == "2a01:e0a:151:dc10:a8cb:5e93:9627:557c");
    CHECK(m.transport.candidates.at(0).network_cost == 999u);
    CHECK(m.rtcp->connection->address == "0.0.0.0");
    Random rng(3);
    Negotiator n(rng, local());
    auto r = n.answer(*d);
    REQUIRE(r.ok());
    const auto& a = r->description.media.at(0);
    CHECK(a.formats == std::vector<std::string>{"111"});
    CHECK(a.mid == "audio");
    CHECK(r->description.find_group("BUNDLE")->mids == std::vector<std::string>{"audio"});
}
