#include "sdp/negotiator.hpp"
#include "sdp_test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace rtcpp::sdp;
using rtcpp::Random;
using rtcpp::sdp::testing::sample;

namespace {

Fingerprint fp(uint8_t fill) { return Fingerprint{HashAlgorithm::Sha256, std::vector<uint8_t>(32, fill)}; }

LocalTransport transport(const std::string& ufrag, uint8_t fill = 0xAB) {
    LocalTransport t;
    t.ice_ufrag = ufrag;
    t.ice_pwd = "pwd-" + ufrag + "-0123456789abcdef";
    t.fingerprints = {fp(fill)};
    auto c = parse_candidate("candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host");
    t.candidates = {*c};
    return t;
}

Description must_parse(const std::string& text) {
    auto r = parse(text);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    return *r;
}

// Answers must survive the text form: serialize, parse, compare.
void check_text_round_trip(const Description& d) {
    auto again = parse(serialize(d));
    REQUIRE_MESSAGE(again.ok(), again.error().message);
    CHECK(*again == d);
}

const NegotiatedCodec* codec_named(const NegotiatedMedia& m, const std::string& name) {
    for (const auto& c : m.codecs)
        if (c.name == name) return &c;
    return nullptr;
}


} // namespace

TEST_CASE("answering the Chromium audio+video+data offer") {
    Random rng(1);
    Negotiator n(rng, transport("ansr"));
    n.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto offer = must_parse(sample("chromium_offer_audio_video_datachannel.sdp"));
    auto r = n.answer(offer);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const auto& a = r->description;
    const auto& neg = r->negotiated;
    check_text_round_trip(a);

    REQUIRE(a.media.size() == 3);
    REQUIRE(a.find_group("BUNDLE"));
    CHECK(a.find_group("BUNDLE")->mids == std::vector<std::string>{"0", "1", "2"});
    CHECK(neg.bundle_tag == "0");
    for (const auto& m : a.media) {
        CHECK(m.port != 0);
        CHECK(m.transport.setup == Setup::Active);
        CHECK(m.transport.ice_ufrag == "ansr");
        CHECK(m.transport.fingerprints == std::vector<Fingerprint>{fp(0xAB)});
    }
    CHECK(neg.dtls_role == DtlsRole::Client);
    CHECK(neg.remote_ice_ufrag == "Wve7");
    CHECK(neg.remote_ice_pwd == "Em9Z63akCrMzMzPxZXYSBVjo");
    CHECK(neg.remote_fingerprints.at(0).digest.at(0) == 0x26);
    // Same two candidates on every m-line: deduplicated per port (udp port differs per m-line).
    CHECK(neg.remote_candidates.size() == 4);
    CHECK_FALSE(neg.ice_restart);

    // Audio: Opus keeps PT 111, RED 63 with the offerer's fmtp; G722/PCMU/PCMA are not ours.
    const auto& audio = a.media[0];
    CHECK(audio.formats.front() == "111");
    CHECK(audio.find_codec(111)->name == "opus");
    REQUIRE(audio.find_codec(63));
    CHECK(audio.find_codec(63)->fmtp == "111/111");
    CHECK_FALSE(audio.find_codec(9));
    CHECK_FALSE(audio.find_codec(0));
    CHECK(audio.direction == Direction::SendRecv);
    CHECK(audio.rtcp_mux);
    CHECK(audio.rtcp_rsize);
    CHECK(audio.msids.size() == 1);
    CHECK(audio.ssrc_list().size() == 1);
    // Extensions: the offer's ids, only those we know.
    REQUIRE(audio.extmaps.size() == 4);
    CHECK(audio.extmaps[0].id == 1);
    CHECK(audio.extmaps[3].uri == "urn:ietf:params:rtp-hdrext:sdes:mid");

    const auto& video = a.media[1];
    CHECK(video.find_codec(96)->name == "VP8");
    REQUIRE(video.find_codec(97));
    CHECK(video.find_codec(97)->fmtp == "apt=96");
    CHECK(video.find_codec(98)->fmtp == "profile-id=0");
    CHECK(video.find_codec(100)->fmtp == "profile-id=2");
    CHECK(video.find_codec(45)->name == "AV1");
    CHECK(video.find_codec(102)->name == "H264");
    CHECK(video.find_codec(108)->name == "H264");
    CHECK(video.find_codec(118)->name == "red");
    CHECK(video.find_codec(120)->name == "ulpfec");
    // Every payload type in the answer is one the offer used, for the same codec.
    for (const auto& c : video.codecs) {
        const Codec* o = offer.media[1].find_codec(c.pt);
        REQUIRE(o);
        CHECK(o->name == c.name);
    }
    // Feedback intersected: VP8 keeps all five.
    CHECK(video.find_codec(96)->feedback.size() == 5);
    CHECK(video.ssrc_groups.size() == 1);
    CHECK(video.ssrc_groups[0].semantics == "FID");

    const auto* nv = neg.find("1");
    REQUIRE(nv);
    CHECK(nv->kind == "video");
    CHECK(nv->direction == Direction::SendRecv);
    const auto* vp8 = codec_named(*nv, "VP8");
    REQUIRE(vp8);
    CHECK(vp8->pt == 96);
    CHECK(vp8->rtx_pt == 97);
    CHECK(nv->remote_ssrcs == std::vector<uint32_t>{444004103u, 3462612579u});
    CHECK(nv->remote_msids.at(0).track_id == "057badbc-d8da-4c09-90e7-f86b5b861890");
    CHECK(nv->local_ssrcs.size() == 2);
    bool has_mid_ext = std::any_of(nv->extensions.begin(), nv->extensions.end(),
                                   [](const NegotiatedExtension& e) { return e.id == 4 && e.uri.find("sdes:mid") != std::string::npos; });
    CHECK(has_mid_ext);

    const auto& dc = a.media[2];
    CHECK(dc.protocol == "UDP/DTLS/SCTP");
    CHECK(dc.formats == std::vector<std::string>{"webrtc-datachannel"});
    CHECK(dc.sctp_port == 5000);
    CHECK(dc.max_message_size == 262144u);
    CHECK_FALSE(dc.sctpmap);
    const auto* nd = neg.find("2");
    REQUIRE(nd);
    CHECK(nd->datachannel);
    CHECK_FALSE(nd->legacy_sctp);
    CHECK(nd->remote_sctp_port == 5000);
    CHECK(nd->remote_max_message_size == 262144u);
}

TEST_CASE("answering aiortc: legacy data channel answered in the legacy form, video with its payload types") {
    Random rng(2);
    Negotiator n(rng, transport("ansr"));
    auto offer = must_parse(sample("aiortc_offer_video_datachannel.sdp"));
    auto r = n.answer(offer);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    check_text_round_trip(r->description);
    const auto& a = r->description;
    REQUIRE(a.media.size() == 2);
    CHECK(a.find_group("BUNDLE")->mids == std::vector<std::string>{"0", "1"});
    const auto& v = a.media[0];
    // A transceiver created by the remote offer only receives.
    CHECK(v.direction == Direction::RecvOnly);
    CHECK(v.msids.empty());
    CHECK(v.find_codec(97)->name == "VP8");
    CHECK(v.find_codec(98)->fmtp == "apt=97");
    CHECK(v.find_codec(99)->name == "H264");
    CHECK(v.find_codec(101)->name == "H264");
    CHECK(v.find_codec(102)->fmtp == "apt=101");
    // aiortc offers no transport-cc; intersection leaves nack, nack pli and goog-remb.
    CHECK(v.find_codec(97)->feedback.size() == 3);
    const auto& dc = a.media[1];
    CHECK(dc.protocol == "DTLS/SCTP");
    CHECK(dc.formats == std::vector<std::string>{"5000"});
    REQUIRE(dc.sctpmap);
    CHECK(dc.sctpmap->number == 5000);
    CHECK(dc.sctpmap->app == "webrtc-datachannel");
    CHECK_FALSE(dc.sctp_port);
    CHECK(dc.transport.setup == Setup::Active);
    const auto* nd = r->negotiated.find("1");
    REQUIRE(nd);
    CHECK(nd->legacy_sctp);
    CHECK(nd->remote_sctp_port == 5000);
    CHECK(nd->remote_max_message_size == 65536u);
    // aiortc gives each m-line its own credentials; the BUNDLE tag's are the transport's.
    CHECK(r->negotiated.remote_ice_ufrag == "gHqo");
    CHECK(nd->remote_ice_ufrag == "NKXt");
    REQUIRE(n.transceivers().size() == 1);
    CHECK(n.transceivers()[0].created_by_remote);
    CHECK(n.transceivers()[0].mid == "0");
}

TEST_CASE("answering the three-rid simulcast offer receives q, h and f") {
    Random rng(3);
    Negotiator n(rng, transport("ansr"));
    auto offer = must_parse(sample("chromium_offer_simulcast_3rids.sdp"));
    auto r = n.answer(offer);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    check_text_round_trip(r->description);
    const auto& v = r->description.media.at(1);
    REQUIRE(v.simulcast);
    CHECK(v.simulcast->send.empty());
    REQUIRE(v.simulcast->recv.size() == 3);
    CHECK(v.simulcast->recv[0][0].rid == "q");
    CHECK(v.simulcast->recv[2][0].rid == "f");
    REQUIRE(v.rids.size() == 3);
    CHECK(v.rids[1] == Rid{"h", RidDirection::Recv, ""});
    CHECK(r->negotiated.find("1")->recv_rids == std::vector<std::string>{"q", "h", "f"});
    // The rid header extensions are accepted, so the rids can be read off the packets.
    bool rid_ext = std::any_of(v.extmaps.begin(), v.extmaps.end(),
                               [](const Extmap& e) { return e.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"; });
    CHECK(rid_ext);
}

TEST_CASE("every sample gets a sensible answer") {
    for (const auto& f : rtcpp::sdp::testing::all_samples()) {
        CAPTURE(f.filename().string());
        auto offer = must_parse(rtcpp::sdp::testing::read_file(f));
        Random rng(4);
        Negotiator n(rng, transport("ansr"));
        auto r = n.answer(offer);
        REQUIRE_MESSAGE(r.ok(), r.error().message);
        check_text_round_trip(r->description);
        const auto& a = r->description;
        REQUIRE(a.media.size() == offer.media.size());
        const Group* offered = offer.find_group("BUNDLE");
        const Group* answered = a.find_group("BUNDLE");
        REQUIRE(answered);
        CHECK(answered->mids == offered->mids);
        for (size_t i = 0; i < a.media.size(); ++i) {
            CHECK(a.media[i].mid == offer.media[i].mid);
            CHECK(a.media[i].port != 0);
            CHECK(a.media[i].transport.setup == Setup::Active);
            for (const auto& c : a.media[i].codecs) {
                const Codec* o = offer.media[i].find_codec(c.pt);
                REQUIRE(o);
                CHECK(o->name == c.name);
                CHECK(o->clock_rate == c.clock_rate);
            }
            CHECK(a.media[i].is_legacy_sctp() == offer.media[i].is_legacy_sctp());
        }
    }
}

TEST_CASE("two negotiators: offer, answer, apply") {
    Random ra(10), rb(20);
    Negotiator alice(ra, transport("alice", 0x11));
    Negotiator bob(rb, transport("bobb", 0x22));
    alice.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    alice.add_transceiver({MediaKind::Video, Direction::SendOnly, {}, {}, {}, "", ""});
    alice.set_data_channel(true);
    auto offer = alice.create_offer();
    REQUIRE(offer.ok());
    check_text_round_trip(*offer);
    REQUIRE(offer->media.size() == 3);
    CHECK(offer->media[0].mid == "0");
    CHECK(offer->media[1].mid == "1");
    CHECK(offer->media[2].mid == "2");
    CHECK(offer->find_group("BUNDLE")->mids == std::vector<std::string>{"0", "1", "2"});
    CHECK(offer->media[0].transport.setup == Setup::Actpass);
    CHECK(offer->media[2].sctp_port == 5000);
    CHECK(offer->media[2].max_message_size == 262144u);
    CHECK(offer->media[1].find_codec(97)->fmtp == "apt=96");
    // One extension id per URI across the bundle.
    auto id_of = [](const MediaSection& m, const std::string& uri) {
        for (const auto& e : m.extmaps)
            if (e.uri == uri) return static_cast<int>(e.id);
        return -1;
    };
    std::string mid_uri = "urn:ietf:params:rtp-hdrext:sdes:mid";
    CHECK(id_of(offer->media[0], mid_uri) == id_of(offer->media[1], mid_uri));

    auto answer = bob.answer(must_parse(serialize(*offer)));
    REQUIRE(answer.ok());
    auto applied = alice.apply_answer(must_parse(serialize(answer->description)));
    REQUIRE_MESSAGE(applied.ok(), applied.error().message);
    const auto& na = *applied;
    const auto& nb = answer->negotiated;
    CHECK(na.dtls_role == DtlsRole::Server);
    CHECK(nb.dtls_role == DtlsRole::Client);
    CHECK(na.remote_ice_ufrag == "bobb");
    CHECK(nb.remote_ice_ufrag == "alice");
    CHECK(na.remote_fingerprints.at(0) == fp(0x22));
    CHECK(nb.remote_fingerprints.at(0) == fp(0x11));
    CHECK(na.bundle_tag == "0");
    REQUIRE(na.media.size() == 3);
    // Directions: bob's new video transceiver only receives, so alice only sends.
    CHECK(na.media[1].direction == Direction::SendOnly);
    CHECK(nb.media[1].direction == Direction::RecvOnly);
    CHECK(na.media[0].direction == Direction::SendOnly);  // bob's audio transceiver was created recvonly
    CHECK(nb.media[0].direction == Direction::RecvOnly);
    // Same codecs and payload types on both sides.
    REQUIRE(na.media[1].codecs.size() == nb.media[1].codecs.size());
    for (size_t i = 0; i < na.media[1].codecs.size(); ++i) {
        CHECK(na.media[1].codecs[i].pt == nb.media[1].codecs[i].pt);
        CHECK(na.media[1].codecs[i].rtx_pt == nb.media[1].codecs[i].rtx_pt);
    }
    CHECK(nb.media[1].remote_ssrcs == na.media[1].local_ssrcs);
    CHECK(na.media[2].datachannel);
    CHECK(na.media[2].remote_max_message_size == 262144u);
    CHECK_FALSE(alice.has_pending_offer());
    CHECK(alice.transceivers()[0].mid == "0");
}

TEST_CASE("renegotiation: adding keeps m-line order, stopping rejects, stopped m-lines are recycled") {
    Random ra(11), rb(21);
    Negotiator alice(ra, transport("alice"));
    Negotiator bob(rb, transport("bobb"));
    size_t audio = alice.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    auto round = [&]() -> Negotiated {
        auto o = alice.create_offer();
        REQUIRE(o.ok());
        auto a = bob.answer(*o);
        REQUIRE_MESSAGE(a.ok(), a.error().message);
        auto n = alice.apply_answer(a->description);
        REQUIRE_MESSAGE(n.ok(), n.error().message);
        return *n;
    };
    auto first = round();
    REQUIRE(first.media.size() == 1);
    uint8_t opus_pt = first.media[0].codecs.at(0).pt;

    size_t video = alice.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto second = round();
    REQUIRE(second.media.size() == 2);
    CHECK(second.media[0].mid == "0");
    CHECK(second.media[1].mid == "1");
    CHECK(second.media[0].codecs.at(0).pt == opus_pt);

    REQUIRE(alice.stop_transceiver(audio).ok());
    auto o3 = alice.create_offer();
    REQUIRE(o3.ok());
    REQUIRE(o3->media.size() == 2);
    CHECK(o3->media[0].port == 0);
    CHECK(o3->media[0].mid == "0");
    CHECK(o3->find_group("BUNDLE")->mids == std::vector<std::string>{"1"});
    auto a3 = bob.answer(*o3);
    REQUIRE(a3.ok());
    CHECK(a3->description.media[0].port == 0);
    CHECK(a3->description.find_group("BUNDLE")->mids == std::vector<std::string>{"1"});
    CHECK(a3->negotiated.bundle_tag == "1");
    auto n3 = alice.apply_answer(a3->description);
    REQUIRE(n3.ok());
    CHECK(n3->media[0].rejected);
    CHECK(bob.transceivers()[0].stopped);

    // A new transceiver takes the rejected m-line 0 with a fresh mid; nothing is appended.
    alice.add_transceiver({MediaKind::Video, Direction::RecvOnly, {}, {}, {}, "", ""});
    auto o4 = alice.create_offer();
    REQUIRE(o4.ok());
    REQUIRE(o4->media.size() == 2);
    CHECK(o4->media[0].kind == "video");
    CHECK(o4->media[0].port != 0);
    CHECK(o4->media[0].mid == "2");
    CHECK(o4->media[1].mid == "1");
    // bob's own video transceiver, not yet on any m-line, is attached to the recycled m-line.
    size_t bob_video = bob.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto a4 = bob.answer(*o4);
    REQUIRE_MESSAGE(a4.ok(), a4.error().message);
    CHECK(bob.transceivers()[bob_video].mid == "2");
    CHECK(a4->description.media[0].port != 0);
    CHECK(a4->description.media[0].direction == Direction::SendOnly);
    auto n4 = alice.apply_answer(a4->description);
    REQUIRE(n4.ok());
    CHECK(n4->media[0].mid == "2");
    CHECK(n4->media[0].direction == Direction::RecvOnly);
    CHECK(alice.transceivers()[video].mid == "1");
}

TEST_CASE("ICE restart: new remote credentials are detected") {
    Random ra(12), rb(22);
    Negotiator alice(ra, transport("alice"));
    Negotiator bob(rb, transport("bobb"));
    alice.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    auto o1 = alice.create_offer();
    REQUIRE(o1.ok());
    auto a1 = bob.answer(*o1);
    REQUIRE(a1.ok());
    CHECK_FALSE(a1->negotiated.ice_restart);
    REQUIRE(alice.apply_answer(a1->description).ok());

    // Same credentials again: no restart.
    auto o2 = alice.create_offer();
    auto a2 = bob.answer(*o2);
    REQUIRE(a2.ok());
    CHECK_FALSE(a2->negotiated.ice_restart);
    REQUIRE(alice.apply_answer(a2->description).ok());

    alice.set_local_transport(transport("alice2"));
    auto o3 = alice.create_offer();
    CHECK(o3->media[0].transport.ice_ufrag == "alice2");
    auto a3 = bob.answer(*o3);
    REQUIRE(a3.ok());
    CHECK(a3->negotiated.ice_restart);
    CHECK(a3->negotiated.remote_ice_ufrag == "alice2");
    // The DTLS role survives the renegotiation.
    CHECK(a3->description.media[0].transport.setup == Setup::Active);
    REQUIRE(alice.apply_answer(a3->description).ok());
    bob.set_local_transport(transport("bobb2"));
    auto o4 = bob.create_offer();
    REQUIRE(o4.ok());
    auto a4 = alice.answer(*o4);
    REQUIRE(a4.ok());
    CHECK(a4->negotiated.ice_restart);
    // alice was the DTLS server; answering bob's actpass she stays passive.
    CHECK(a4->description.media[0].transport.setup == Setup::Passive);
    CHECK(a4->negotiated.dtls_role == DtlsRole::Server);
}

TEST_CASE("DTLS role: passive and active offers are honoured") {
    for (auto [offered_binding, expected, role] : {std::tuple{"passive", Setup::Active, DtlsRole::Client},
                                                   std::tuple{"active", Setup::Passive, DtlsRole::Server}}) {
        std::string offered = offered_binding;  // clang 14 cannot capture structured bindings in doctest's lambdas
        CAPTURE(offered);
        std::string text = sample("chromium_offer_datachannel_to_aiortc.sdp");
        auto pos = text.find("a=setup:actpass");
        REQUIRE(pos != std::string::npos);
        text.replace(pos, 15, std::string("a=setup:") + offered);
        Random rng(5);
        Negotiator n(rng, transport("x"));
        auto r = n.answer(must_parse(text));
        REQUIRE(r.ok());
        CHECK(r->description.media[0].transport.setup == expected);
        CHECK(r->negotiated.dtls_role == role);
    }
}

TEST_CASE("direction negotiation") {
    struct Case {
        Direction local, offered, answered;
    };
    Case cases[] = {
        {Direction::SendRecv, Direction::SendRecv, Direction::SendRecv},
        {Direction::SendRecv, Direction::SendOnly, Direction::RecvOnly},
        {Direction::SendRecv, Direction::RecvOnly, Direction::SendOnly},
        {Direction::SendRecv, Direction::Inactive, Direction::Inactive},
        {Direction::RecvOnly, Direction::SendRecv, Direction::RecvOnly},
        {Direction::SendOnly, Direction::SendOnly, Direction::Inactive},
        {Direction::SendOnly, Direction::SendRecv, Direction::SendOnly},
    };
    for (const auto& c : cases) {
        CAPTURE(to_string(c.local));
        CAPTURE(to_string(c.offered));
        Random ra(6), rb(7);
        Negotiator off(ra, transport("off"));
        Negotiator ans(rb, transport("ans"));
        off.add_transceiver({MediaKind::Audio, c.offered, {}, {}, {}, "", ""});
        ans.add_transceiver({MediaKind::Audio, c.local, {}, {}, {}, "", ""});
        auto o = off.create_offer();
        auto a = ans.answer(*o);
        REQUIRE(a.ok());
        CHECK(a->description.media[0].direction == c.answered);
        CHECK(a->negotiated.media[0].direction == c.answered);
        auto n = off.apply_answer(a->description);
        REQUIRE(n.ok());
        CHECK(n->media[0].direction == reverse(c.answered));
        CHECK(a->description.media[0].msids.empty() == !has_send(c.answered));
    }
}

namespace {

const std::string kHead =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
const std::string kTransport =
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n"
    "a=setup:actpass\r\na=rtcp-mux\r\n";

Answer answer_text(const std::string& text, NegotiatorConfig cfg = default_config()) {
    Random rng(8);
    Negotiator n(rng, transport("ans"), std::move(cfg));
    auto r = n.answer(must_parse(text));
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    return *r;
}

} // namespace

TEST_CASE("unsupported m-lines are rejected with port 0") {
    std::string text = kHead + "a=group:BUNDLE a v t d x\r\n" +
                       "m=audio 9 RTP/AVP 0\r\na=mid:a\r\n" + kTransport +                   // no DTLS-SRTP
                       "m=video 9 UDP/TLS/RTP/SAVPF 34\r\na=mid:v\r\na=rtpmap:34 H263/90000\r\n" + kTransport +  // no codec
                       "m=text 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:t\r\na=rtpmap:98 t140/1000\r\n" + kTransport +  // kind
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:d\r\na=rtpmap:111 opus/48000/2\r\n" +
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +  // no rtcp-mux
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x\r\na=rtpmap:111 opus/48000/2\r\n" + kTransport +
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:outside\r\na=rtpmap:111 opus/48000/2\r\n" + kTransport;
    auto r = answer_text(text);
    const auto& m = r.description.media;
    REQUIRE(m.size() == 6);
    CHECK(m[0].port == 0);
    CHECK(m[1].port == 0);
    CHECK(m[2].port == 0);
    CHECK(m[2].kind == "text");
    CHECK(m[3].port == 0);
    CHECK(m[4].port != 0);
    CHECK(m[5].port == 0);  // not in the BUNDLE group
    CHECK(r.description.find_group("BUNDLE")->mids == std::vector<std::string>{"x"});
    CHECK(r.negotiated.bundle_tag == "x");
    for (size_t i : {0u, 1u, 2u, 3u, 5u}) {
        CHECK(r.negotiated.media[i].rejected);
        CHECK(m[i].formats.size() >= 1);
        CHECK_FALSE(m[i].transport.ice_ufrag);
    }
    check_text_round_trip(r.description);

    // Data channels refused by configuration.
    auto cfg = default_config();
    cfg.accept_data_channels = false;
    auto dc = answer_text(sample("chromium_offer_datachannel_to_aiortc.sdp"), cfg);
    CHECK(dc.description.media[0].port == 0);
    CHECK_FALSE(dc.description.find_group("BUNDLE"));
}

TEST_CASE("an offer without BUNDLE: the first usable m-line is accepted, the rest rejected") {
    std::string text = kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\n" +
                       kTransport + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:b\r\na=rtpmap:111 opus/48000/2\r\n" +
                       kTransport;
    auto r = answer_text(text);
    CHECK(r.description.media[0].port != 0);
    CHECK(r.description.media[1].port == 0);
}

TEST_CASE("codec matching: H264 profile and packetization-mode, VP9 profile, RTX, RED, fmtp level") {
    std::string text = kHead + "a=group:BUNDLE v a\r\n" +
                       "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 103 104 105 106 107\r\na=mid:v\r\n" + kTransport +
                       // High profile: not among our capabilities.
                       "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1;profile-level-id=640032\r\n"
                       // Constrained baseline, packetization-mode 2: no match.
                       "a=rtpmap:101 H264/90000\r\na=fmtp:101 packetization-mode=2;profile-level-id=42e01f\r\n"
                       // Constrained baseline 5.2 without level asymmetry: answered at our level 3.1.
                       "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e034\r\n"
                       "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 x-unknown-fb\r\n"
                       "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
                       "a=rtpmap:104 rtx/90000\r\na=fmtp:104 apt=100\r\n"  // rtx of a refused codec
                       "a=rtpmap:105 VP9/90000\r\na=fmtp:105 profile-id=1\r\n"  // profile 1: not ours
                       "a=rtpmap:106 VP9/90000\r\na=fmtp:106 profile-id=2\r\n"
                       "a=rtpmap:107 vp8/90000\r\n"
                       "m=audio 9 UDP/TLS/RTP/SAVPF 96 97 98\r\na=mid:a\r\n" + kTransport +
                       "a=rtpmap:96 opus/48000/2\r\n"
                       "a=rtpmap:97 red/48000/2\r\na=fmtp:97 96/96\r\n"
                       "a=rtpmap:98 red/48000/2\r\na=fmtp:98 0/0\r\n";  // redundancy of a codec we refuse
    auto r = answer_text(text);
    const auto& v = r.description.media[0];
    CHECK_FALSE(v.find_codec(100));
    CHECK_FALSE(v.find_codec(101));
    REQUIRE(v.find_codec(102));
    auto params = parse_fmtp(*v.find_codec(102)->fmtp);
    CHECK(fmtp_value(params, "profile-level-id") == "42e01f");
    CHECK(fmtp_value(params, "packetization-mode") == "1");
    CHECK(v.find_codec(102)->feedback == std::vector<RtcpFb>{{"nack", ""}});
    REQUIRE(v.find_codec(103));
    CHECK(v.find_codec(103)->fmtp == "apt=102");
    CHECK_FALSE(v.find_codec(104));
    CHECK_FALSE(v.find_codec(105));
    CHECK(v.find_codec(106)->fmtp == "profile-id=2");
    CHECK(v.find_codec(107)->name == "vp8");  // names match case-insensitively; the offer's spelling is kept
    // Local preference order: VP8 before VP9 before H264.
    CHECK(v.formats.front() == "107");
    const auto& a = r.description.media[1];
    CHECK(a.find_codec(96));
    CHECK(a.find_codec(97));
    CHECK_FALSE(a.find_codec(98));
}

TEST_CASE("H264 profile-level-id parsing and level asymmetry") {
    auto cb = parse_h264_profile_level_id("42e01f");
    REQUIRE(cb);
    CHECK(cb->profile == H264Profile::ConstrainedBaseline);
    CHECK(cb->level == 31);
    CHECK(parse_h264_profile_level_id("42001f")->profile == H264Profile::Baseline);
    CHECK(parse_h264_profile_level_id("4d001f")->profile == H264Profile::Main);
    CHECK(parse_h264_profile_level_id("640c1f")->profile == H264Profile::ConstrainedHigh);
    CHECK(parse_h264_profile_level_id("64001f")->profile == H264Profile::High);
    CHECK(parse_h264_profile_level_id("42f00b")->level == 9);  // level 1b
    CHECK(format_h264_profile_level_id({H264Profile::ConstrainedBaseline, 9}) == "42f00b");
    CHECK(format_h264_profile_level_id({H264Profile::High, 40}) == "640028");
    CHECK_FALSE(parse_h264_profile_level_id("42e0"));
    CHECK_FALSE(parse_h264_profile_level_id("zze01f"));
    CHECK_FALSE(parse_h264_profile_level_id("42e0ff"));  // no such level
    CHECK_FALSE(parse_h264_profile_level_id("ff001f"));  // no such profile

    CodecCapability local{"H264", 90000, std::nullopt, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", {}, 102};
    Codec low{102, "H264", 90000, std::nullopt, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e00a", {}};
    // Both allow asymmetry: the answer states our own (receive) level.
    CHECK(fmtp_value(parse_fmtp(h264_answer_fmtp(low, local)), "profile-level-id") == "42e01f");
    low.fmtp = "packetization-mode=1;profile-level-id=42e00a";
    CHECK(fmtp_value(parse_fmtp(h264_answer_fmtp(low, local)), "profile-level-id") == "42e00a");
    // A missing profile-level-id is Constrained Baseline (as libwebrtc reads it).
    Codec none{102, "H264", 90000, std::nullopt, "packetization-mode=1", {}};
    CHECK(codecs_match(none, local));
}

TEST_CASE("header extensions: unknown URIs dropped, ids kept, session-level extmaps apply, directions reversed") {
    std::string text = kHead + "a=group:BUNDLE a\r\na=extmap:7 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n" + kTransport +
                       "a=rtpmap:111 opus/48000/2\r\n"
                       "a=extmap:3/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                       "a=extmap:9 urn:example:unknown\r\n";
    auto r = answer_text(text);
    const auto& m = r.description.media[0];
    REQUIRE(m.extmaps.size() == 2);
    CHECK(m.extmaps[0].id == 3);
    CHECK(m.extmaps[0].direction == Direction::RecvOnly);
    CHECK(m.extmaps[1].id == 7);
    CHECK(r.negotiated.media[0].extensions.size() == 2);
}

TEST_CASE("simulcast sending: rids in the offer, the answer's recv list decides") {
    Random ra(13), rb(23);
    Negotiator alice(ra, transport("alice"));
    Negotiator bob(rb, transport("bobb"));
    TransceiverInit init{MediaKind::Video, Direction::SendOnly, {}, {}, {{"lo", true}, {"mid", true}, {"hi", false}}, "", ""};
    alice.add_transceiver(init);
    auto o = alice.create_offer();
    REQUIRE(o.ok());
    const auto& m = o->media[0];
    REQUIRE(m.rids.size() == 3);
    REQUIRE(m.simulcast);
    CHECK(m.simulcast->send.size() == 3);
    CHECK(m.simulcast->send[2][0].paused);
    CHECK(m.ssrcs.empty());
    check_text_round_trip(*o);
    auto a = bob.answer(*o);
    REQUIRE(a.ok());
    CHECK(a->negotiated.media[0].recv_rids == std::vector<std::string>{"lo", "mid", "hi"});
    auto n = alice.apply_answer(a->description);
    REQUIRE(n.ok());
    CHECK(n->media[0].send_rids == std::vector<std::string>{"lo", "mid", "hi"});
}

TEST_CASE("state errors and bad answers") {
    Random ra(14), rb(24);
    Negotiator alice(ra, transport("alice"));
    Negotiator bob(rb, transport("bobb"));
    alice.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    CHECK_FALSE(alice.apply_answer(Description{}).ok());  // nothing pending
    auto o = alice.create_offer();
    REQUIRE(o.ok());
    // Glare: answering while our own offer is pending is refused until rollback.
    auto glare = alice.answer(*o);
    REQUIRE_FALSE(glare.ok());
    CHECK(glare.error().category == rtcpp::ErrorCategory::InvalidStateError);
    auto a = bob.answer(*o);
    REQUIRE(a.ok());
    Description wrong = a->description;
    wrong.media.clear();
    CHECK_FALSE(alice.apply_answer(wrong).ok());
    wrong = a->description;
    wrong.media[0].mid = "zzz";
    CHECK_FALSE(alice.apply_answer(wrong).ok());
    wrong = a->description;
    wrong.media[0].transport.setup = Setup::Actpass;
    CHECK_FALSE(alice.apply_answer(wrong).ok());
    alice.rollback();
    CHECK_FALSE(alice.has_pending_offer());
    CHECK(alice.answer(*bob.create_offer()).ok());
    CHECK_FALSE(alice.stop_transceiver(99).ok());
}

TEST_CASE("randomness comes from the injected generator: same seed, same offer") {
    auto make = [](uint64_t seed) {
        Random rng(seed);
        Negotiator n(rng, transport("same"));
        n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
        n.set_data_channel(true);
        return serialize(*n.create_offer());
    };
    CHECK(make(42) == make(42));
    CHECK(make(42) != make(43));
}

TEST_CASE("answerer's later offer keeps the data channel; a locally stopped transceiver's m-line is rejected") {
    Random ra(15), rb(25);
    Negotiator alice(ra, transport("alice"));
    Negotiator bob(rb, transport("bobb"));
    alice.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    alice.set_data_channel(true);
    size_t bob_audio = bob.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    auto o1 = alice.create_offer();
    auto a1 = bob.answer(*o1);
    REQUIRE(a1.ok());
    REQUIRE(alice.apply_answer(a1->description).ok());
    CHECK(bob.transceivers()[bob_audio].mid == "0");

    // bob re-offers: same two m-lines, data channel included although bob never asked for one.
    auto o2 = bob.create_offer();
    REQUIRE(o2.ok());
    REQUIRE(o2->media.size() == 2);
    CHECK(o2->media[1].is_datachannel());
    CHECK(o2->media[1].port != 0);
    auto a2 = alice.answer(*o2);
    REQUIRE(a2.ok());
    REQUIRE(bob.apply_answer(a2->description).ok());

    // bob stops his audio; alice offers again without knowing: bob's answer rejects that m-line.
    REQUIRE(bob.stop_transceiver(bob_audio).ok());
    auto o3 = alice.create_offer();
    auto a3 = bob.answer(*o3);
    REQUIRE(a3.ok());
    CHECK(a3->description.media[0].port == 0);
    CHECK(a3->description.media[1].port != 0);
    CHECK(a3->negotiated.bundle_tag == "1");
    auto n3 = alice.apply_answer(a3->description);
    REQUIRE(n3.ok());
    CHECK(n3->media[0].rejected);
    CHECK(alice.transceivers()[0].stopped);
    CHECK(bob.transceivers().size() == 1);  // no transceiver was invented for the stopped m-line
}

TEST_CASE("RFC 8888 feedback: offered beside transport-cc when configured; the answer takes it and drops transport-cc") {
    const std::string twcc_uri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    auto has_twcc = [&](const MediaSection& m) {
        bool ext = std::any_of(m.extmaps.begin(), m.extmaps.end(), [&](const Extmap& e) { return e.uri == twcc_uri; });
        bool fb = std::any_of(m.codecs.begin(), m.codecs.end(), [](const Codec& c) {
            return std::any_of(c.feedback.begin(), c.feedback.end(), [](const RtcpFb& f) { return f.type == "transport-cc"; });
        });
        return ext || fb;
    };
    auto has_ccfb = [](const MediaSection& m) {
        return std::any_of(m.wildcard_feedback.begin(), m.wildcard_feedback.end(),
                           [](const RtcpFb& f) { return f.type == "ack" && f.subtype == "ccfb"; });
    };
    for (bool offer_ccfb : {true, false}) {
        CAPTURE(offer_ccfb);
        Random ra(10), rb(20);
        NegotiatorConfig config = default_config();
        config.offer_ccfb = offer_ccfb;
        Negotiator alice(ra, transport("alice", 0x11), config);
        Negotiator bob(rb, transport("bobb", 0x22));  // answers with the defaults: accepts what is offered
        alice.add_transceiver({MediaKind::Video, Direction::SendOnly, {}, {}, {}, "", ""});
        auto offer = alice.create_offer();
        REQUIRE(offer.ok());
        check_text_round_trip(*offer);
        const std::string text = serialize(*offer);
        CHECK((text.find("a=rtcp-fb:* ack ccfb\r\n") != std::string::npos) == offer_ccfb);
        CHECK(has_twcc(offer->media[0]));  // still offered: the answerer chooses
        auto answer = bob.answer(must_parse(text));
        REQUIRE(answer.ok());
        check_text_round_trip(answer->description);
        CHECK(has_ccfb(answer->description.media[0]) == offer_ccfb);
        CHECK(has_twcc(answer->description.media[0]) == !offer_ccfb);
        auto applied = alice.apply_answer(must_parse(serialize(answer->description)));
        REQUIRE(applied.ok());
        CHECK(applied->media[0].ccfb == offer_ccfb);
        CHECK(answer->negotiated.media[0].ccfb == offer_ccfb);
        const bool twcc_agreed = std::any_of(applied->media[0].extensions.begin(), applied->media[0].extensions.end(),
                                             [&](const NegotiatedExtension& e) { return e.uri == twcc_uri; });
        CHECK(twcc_agreed == !offer_ccfb);
    }
    // Per payload type (RFC 8888 allows it) counts as offered too.
    Random rc(30);
    Negotiator carol(rc, transport("carol", 0x33));
    std::string chromium = sample("chromium_offer_audio_video_datachannel.sdp");
    const auto at = chromium.find("a=rtcp-fb:96 ");
    REQUIRE(at != std::string::npos);
    chromium.insert(at, "a=rtcp-fb:96 ack ccfb\r\n");
    auto answer = carol.answer(must_parse(chromium));
    REQUIRE(answer.ok());
    bool video_ccfb = false;
    for (const auto& m : answer->negotiated.media)
        if (m.kind == "video") video_ccfb = m.ccfb;
    CHECK(video_ccfb);
}
