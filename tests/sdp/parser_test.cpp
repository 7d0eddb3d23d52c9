#include "sdp/description.hpp"
#include "sdp_test_util.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::sdp;
using rtcpp::sdp::testing::sample;

TEST_CASE("Chromium audio+video+data offer: typed fields") {
    auto r = parse(sample("chromium_offer_audio_video_datachannel.sdp"));
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const auto& d = *r;
    CHECK(d.origin.session_id == "1719060836335506551");
    CHECK(d.origin.session_version == 2);
    REQUIRE(d.find_group("BUNDLE"));
    CHECK(d.find_group("BUNDLE")->mids == std::vector<std::string>{"0", "1", "2"});
    CHECK(d.extmap_allow_mixed);
    CHECK(d.msid_semantic == "WMS 9561e726-9f7a-4ec6-a9c5-f9d3ea925213");
    REQUIRE(d.media.size() == 3);

    const auto& a = d.media[0];
    CHECK(a.kind == "audio");
    CHECK(a.port == 47963);
    CHECK(a.protocol == "UDP/TLS/RTP/SAVPF");
    CHECK(a.is_rtp());
    CHECK(a.mid == "0");
    CHECK(a.direction == Direction::SendRecv);
    CHECK(a.rtcp_mux);
    CHECK(a.rtcp_rsize);
    REQUIRE(a.rtcp);
    CHECK(a.rtcp->port == 9);
    CHECK(a.transport.ice_ufrag == "Wve7");
    CHECK(a.transport.ice_pwd == "Em9Z63akCrMzMzPxZXYSBVjo");
    CHECK(a.transport.ice_options == std::vector<std::string>{"trickle"});
    CHECK(a.transport.setup == Setup::Actpass);
    REQUIRE(a.transport.fingerprints.size() == 1);
    CHECK(a.transport.fingerprints[0].algorithm == HashAlgorithm::Sha256);
    CHECK(a.transport.fingerprints[0].digest.size() == 32);
    CHECK(a.transport.fingerprints[0].digest[0] == 0x26);
    REQUIRE(a.transport.candidates.size() == 2);
    CHECK(a.transport.candidates[1].transport == CandidateTransport::Tcp);
    CHECK(a.transport.candidates[1].tcp_type == TcpType::Active);
    CHECK(a.transport.candidates[0].network_cost == 50u);
    REQUIRE(a.extmaps.size() == 4);
    CHECK(a.extmaps[3].id == 4);
    CHECK(a.extmaps[3].uri == "urn:ietf:params:rtp-hdrext:sdes:mid");
    REQUIRE(a.msids.size() == 1);
    CHECK(a.msids[0].track_id == "1307ea34-167a-4afb-80d3-fb35d6c34943");
    REQUIRE(a.codecs.size() == 8);
    CHECK(a.codecs[0].pt == 111);
    CHECK(a.codecs[0].name == "opus");
    CHECK(a.codecs[0].clock_rate == 48000);
    CHECK(a.codecs[0].channels == 2);
    CHECK(a.codecs[0].fmtp == "minptime=10;useinbandfec=1");
    CHECK(a.codecs[0].feedback == std::vector<RtcpFb>{{"transport-cc", ""}});
    CHECK(a.codecs[1].name == "red");
    CHECK(a.codecs[1].fmtp == "111/111");
    CHECK(a.ssrc_list() == std::vector<uint32_t>{3169614909u});
    // rtcp-xr is not typed: it is kept verbatim.
    REQUIRE(a.attributes.size() == 1);
    CHECK(a.attributes[0].name == "rtcp-xr");
    CHECK(a.attributes[0].value == "rcvr-rtt=all");

    const auto& v = d.media[1];
    CHECK(v.codecs.size() == 23);
    const Codec* h264 = v.find_codec(102);
    REQUIRE(h264);
    CHECK(h264->name == "H264");
    CHECK(h264->feedback.size() == 5);
    CHECK(h264->feedback[3] == RtcpFb{"nack", ""});
    CHECK(h264->feedback[4] == RtcpFb{"nack", "pli"});
    REQUIRE(v.ssrc_groups.size() == 1);
    CHECK(v.ssrc_groups[0].semantics == "FID");
    CHECK(v.ssrc_groups[0].ssrcs == std::vector<uint32_t>{444004103u, 3462612579u});

    const auto& dc = d.media[2];
    CHECK(dc.is_datachannel());
    CHECK_FALSE(dc.is_legacy_sctp());
    CHECK(dc.sctp_port == 5000);
    CHECK(dc.max_message_size == 262144u);
}

TEST_CASE("aiortc legacy data channel offer") {
    auto r = parse(sample("aiortc_offer_datachannel_only.sdp"));
    REQUIRE(r.ok());
    REQUIRE(r->media.size() == 1);
    const auto& m = r->media[0];
    CHECK(m.is_legacy_sctp());
    CHECK(m.formats == std::vector<std::string>{"5000"});
    REQUIRE(m.sctpmap);
    CHECK(m.sctpmap->number == 5000);
    CHECK(m.sctpmap->app == "webrtc-datachannel");
    CHECK(m.sctpmap->streams == 65535u);
    CHECK(m.max_message_size == 65536u);
    CHECK(m.transport.end_of_candidates);
    CHECK(m.transport.candidates.at(0).foundation == "16572de626da4e5384a0ce2d0d93678a");
}

TEST_CASE("simulcast rids") {
    auto r = parse(sample("chromium_offer_simulcast_3rids.sdp"));
    REQUIRE(r.ok());
    const auto& v = r->media.at(1);
    REQUIRE(v.rids.size() == 3);
    CHECK(v.rids[0] == Rid{"q", RidDirection::Send, ""});
    REQUIRE(v.simulcast);
    REQUIRE(v.simulcast->send.size() == 3);
    CHECK(v.simulcast->send[2][0].rid == "f");
    CHECK(v.simulcast->recv.empty());
}

TEST_CASE("every sample parses and round-trips to an equal model") {
    auto files = rtcpp::sdp::testing::all_samples();
    CHECK(files.size() >= 5);
    for (const auto& f : files) {
        CAPTURE(f.filename().string());
        auto text = rtcpp::sdp::testing::read_file(f);
        auto r = parse(text);
        REQUIRE_MESSAGE(r.ok(), f.filename().string() << ": " << r.error().message);
        auto out = serialize(*r);
        auto again = parse(out);
        REQUIRE_MESSAGE(again.ok(), again.error().message);
        CHECK(*again == *r);
        // Normalized output is a fixed point.
        CHECK(serialize(*again) == out);
    }
}

TEST_CASE("session level attributes, other lines and unknown attributes survive in order") {
    std::string text =
        "v=0\n"
        "o=alice 2890844526 2890844527 IN IP4 192.0.2.1\n"
        "s=talk\n"
        "i=info\n"
        "c=IN IP4 192.0.2.1\n"
        "b=AS:512\n"
        "t=0 0\n"
        "k=prompt\n"
        "a=ice-lite\n"
        "a=ice-ufrag:abcd\n"
        "a=ice-pwd:abcdefghijklmnopqrstuvwx\n"
        "a=ice-options:trickle ice2\n"
        "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n"
        "a=setup:passive\n"
        "a=group:LS 1 2\n"
        "a=x-zzz:first\n"
        "a=x-aaa\n"
        "a=recvonly\n"
        "a=extmap:3/sendonly urn:x attr1\n"
        "m=audio 9/2 RTP/AVP 0 8\n"
        "i=media info\n"
        "a=mid:1\n"
        "a=rtcp-mux-only\n"
        "a=rtcp-mux\n"
        "a=x-second:2\n"
        "a=x-first:1\n"
        "a=rtcp-fb:* nack\n"
        "a=fmtp:0 x=y\n"
        "m=video 0 RTP/AVP 96\n"
        "a=mid:2\n"
        "a=rtpmap:96 VP8/90000\n"
        "a=ssrc-group:FEC-FR 1 2\n"
        "a=ssrc-group:SIM 3 4 5\n"
        "a=ssrc:1 cname:abc\n"
        "a=rid:r0 recv pt=96;max-width=640\n"
        "a=simulcast:recv r0;~r1,r2 send s\n";
    auto r = parse(text);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const auto& d = *r;
    CHECK(d.ice_lite);
    CHECK(d.transport.ice_options == std::vector<std::string>{"trickle", "ice2"});
    CHECK(d.transport.fingerprints.at(0).algorithm == HashAlgorithm::Sha1);
    CHECK(d.transport.setup == Setup::Passive);
    CHECK(d.groups.at(0).semantics == "LS");
    CHECK(d.direction == Direction::RecvOnly);
    REQUIRE(d.extmaps.size() == 1);
    CHECK(d.extmaps[0].direction == Direction::SendOnly);
    CHECK(d.extmaps[0].attributes == "attr1");
    REQUIRE(d.attributes.size() == 2);
    CHECK(d.attributes[0].name == "x-zzz");
    CHECK(d.attributes[1].name == "x-aaa");
    CHECK_FALSE(d.attributes[1].value);
    CHECK(d.bandwidths == std::vector<Bandwidth>{{"AS", 512}});
    CHECK(d.other_lines.size() == 2);
    const auto& a = d.media.at(0);
    CHECK(a.port_count == 2);
    CHECK(a.rtcp_mux_only);
    CHECK(a.attributes.at(0).name == "x-second");
    CHECK(a.attributes.at(1).name == "x-first");
    CHECK(a.wildcard_feedback.at(0).type == "nack");
    CHECK(a.find_codec(0)->name.empty());
    CHECK(a.find_codec(0)->fmtp == "x=y");
    const auto& v = d.media.at(1);
    CHECK(v.rejected());
    CHECK(v.ssrc_groups.at(0).semantics == "FEC-FR");
    CHECK(v.ssrc_groups.at(1).ssrcs.size() == 3);
    CHECK(v.rids.at(0).restrictions == "pt=96;max-width=640");
    REQUIRE(v.simulcast);
    REQUIRE(v.simulcast->recv.size() == 2);
    CHECK(v.simulcast->recv[1].size() == 2);
    CHECK(v.simulcast->recv[1][0].paused);
    CHECK(v.simulcast->send.at(0).at(0).rid == "s");

    auto out = serialize(d);
    auto again = parse(out);
    REQUIRE(again.ok());
    CHECK(*again == d);
    // Unknown attributes keep their relative order in the output.
    CHECK(out.find("a=x-zzz:first") < out.find("a=x-aaa"));
    CHECK(out.find("a=x-second:2") < out.find("a=x-first:1"));
    CHECK(out.find("\r\n") != std::string::npos);
}
