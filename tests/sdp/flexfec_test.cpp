// FlexFEC negotiation as Chromium does it with WebRTC-FlexFEC-03-Advertised and WebRTC-FlexFEC-03 on:
// `a=rtpmap:<pt> flexfec-03/90000`, `a=fmtp:<pt> repair-window=10000000`, goog-remb and transport-cc feedback only,
// and the sender's FEC stream as `a=ssrc-group:FEC-FR <media> <fec>` with its own a=ssrc lines.
#include "sdp/negotiator.hpp"
#include "sdp_test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace rtcpp::sdp;
using rtcpp::Random;
using rtcpp::sdp::testing::sample;

namespace {

LocalTransport transport(const std::string& ufrag, uint8_t fill) {
    LocalTransport t;
    t.ice_ufrag = ufrag;
    t.ice_pwd = "pwd-" + ufrag + "-0123456789abcdef";
    t.fingerprints = {Fingerprint{HashAlgorithm::Sha256, std::vector<uint8_t>(32, fill)}};
    return t;
}

Description must_parse(const std::string& text) {
    auto r = parse(text);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    return *r;
}

const SsrcGroup* group(const MediaSection& m, const std::string& semantics) {
    for (const auto& g : m.ssrc_groups)
        if (g.semantics == semantics) return &g;
    return nullptr;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Chromium's captured offer with what its FlexFEC field trials add to the video m-line (payload type 49 here: the
// answer must keep whatever the offerer chose).
std::string chromium_flexfec_offer() {
    std::string s = sample("chromium_offer_audio_video_datachannel.sdp");
    const std::string mline = "118 119 120";
    const size_t m = s.find(mline);
    REQUIRE(m != std::string::npos);
    s.insert(m + mline.size(), " 49");
    const std::string after = "a=rtpmap:120 ulpfec/90000";
    const size_t u = s.find(after);
    REQUIRE(u != std::string::npos);
    const size_t eol = s.find('\n', u) + 1;
    s.insert(eol, "a=rtpmap:49 flexfec-03/90000\r\na=rtcp-fb:49 goog-remb\r\na=rtcp-fb:49 transport-cc\r\n"
                  "a=fmtp:49 repair-window=10000000\r\n");
    const std::string fid = "a=ssrc-group:FID 444004103 3462612579";
    const size_t f = s.find(fid);
    REQUIRE(f != std::string::npos);
    s.insert(s.find('\n', f) + 1, "a=ssrc-group:FEC-FR 444004103 1717171717\r\n");
    const std::string last = "a=ssrc:3462612579 msid:9561e726-9f7a-4ec6-a9c5-f9d3ea925213 057badbc-d8da-4c09-90e7-f86b5b861890";
    const size_t l = s.find(last);
    REQUIRE(l != std::string::npos);
    s.insert(s.find('\n', l) + 1, "a=ssrc:1717171717 cname:4rRdV2/ngbqPVH8K\r\n"
                                  "a=ssrc:1717171717 msid:9561e726-9f7a-4ec6-a9c5-f9d3ea925213 057badbc-d8da-4c09-90e7-f86b5b861890\r\n");
    return s;
}

} // namespace

TEST_CASE("flexfec: the parser reads Chromium's flexfec-03 codec and FEC-FR group; the text round-trips") {
    const Description d = must_parse(chromium_flexfec_offer());
    const MediaSection& v = d.media.at(1);
    const Codec* c = v.find_codec(49);
    REQUIRE(c);
    CHECK(c->name == "flexfec-03");
    CHECK(c->clock_rate == 90000);
    CHECK(c->fmtp == "repair-window=10000000");
    CHECK(c->feedback == std::vector<RtcpFb>{{"goog-remb", ""}, {"transport-cc", ""}});
    CHECK(is_fec(c->name));
    const SsrcGroup* g = group(v, "FEC-FR");
    REQUIRE(g);
    CHECK(g->ssrcs == std::vector<uint32_t>{444004103u, 1717171717u});
    CHECK(fec_fr_ssrc(v.ssrc_groups, 444004103u) == 1717171717u);
    CHECK_FALSE(fec_fr_ssrc(v.ssrc_groups, 1717171717u));  // the group names the protected stream first
    CHECK_FALSE(fec_fr_ssrc(v.ssrc_groups, 3462612579u));  // FID is not FEC-FR
    const std::string text = serialize(d);
    CHECK(text.find("a=ssrc-group:FEC-FR 444004103 1717171717\r\n") != std::string::npos);
    CHECK(text.find("a=rtpmap:49 flexfec-03/90000\r\n") != std::string::npos);
    CHECK(must_parse(text) == d);
}

TEST_CASE("flexfec: rtcpp's offer advertises flexfec-03 as Chromium does and signals its FEC stream") {
    Random rng(3);
    Negotiator n(rng, transport("offr", 0xAA));
    n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    auto offer = n.create_offer();
    REQUIRE(offer);
    const std::string text = serialize(*offer);
    CHECK(text.find("a=rtpmap:35 flexfec-03/90000\r\n") != std::string::npos);
    CHECK(text.find("a=fmtp:35 repair-window=10000000\r\n") != std::string::npos);
    CHECK(text.find("a=rtcp-fb:35 goog-remb\r\n") != std::string::npos);
    CHECK(text.find("a=rtcp-fb:35 transport-cc\r\n") != std::string::npos);
    CHECK(text.find("a=rtcp-fb:35 nack") == std::string::npos);  // no NACK/PLI for a FEC stream
    const MediaSection& v = offer->media.at(0);
    const auto& t = n.transceivers().at(0);
    REQUIRE(t.fec_ssrc != 0);
    CHECK(t.fec_ssrc != t.ssrc);
    CHECK(t.fec_ssrc != t.rtx_ssrc);
    const SsrcGroup* g = group(v, "FEC-FR");
    REQUIRE(g);
    CHECK(g->ssrcs == std::vector<uint32_t>{t.ssrc, t.fec_ssrc});
    REQUIRE(group(v, "FID"));
    // Every SSRC of the m-line has its cname and msid, the FEC one included (Chromium's receiver needs both).
    CHECK(v.ssrc_list() == std::vector<uint32_t>{t.ssrc, t.rtx_ssrc, t.fec_ssrc});
    CHECK(count(text, "a=ssrc:" + std::to_string(t.fec_ssrc) + " ") == 2);
    // Audio has no FlexFEC and no FEC stream.
    CHECK(n.transceivers().at(1).fec_ssrc == 0);
    CHECK_FALSE(group(offer->media.at(1), "FEC-FR"));
    // A later offer keeps the same FEC SSRC.
    const uint32_t fec = t.fec_ssrc;
    n.rollback();
    auto again = n.create_offer();
    REQUIRE(again);
    CHECK(n.transceivers().at(0).fec_ssrc == fec);
}

TEST_CASE("flexfec: answering Chromium's FlexFEC offer keeps its payload type and signals our FEC stream") {
    Random rng(5);
    Negotiator n(rng, transport("ansr", 0xBB));
    n.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto r = n.answer(must_parse(chromium_flexfec_offer()));
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const MediaSection& v = r->description.media.at(1);
    const Codec* c = v.find_codec(49);
    REQUIRE(c);
    CHECK(c->name == "flexfec-03");
    CHECK(c->fmtp == "repair-window=10000000");
    CHECK(c->feedback == std::vector<RtcpFb>{{"goog-remb", ""}, {"transport-cc", ""}});
    CHECK_FALSE(v.find_codec(35));  // only what was offered
    const auto& t = n.transceivers().at(1);
    const SsrcGroup* g = group(v, "FEC-FR");
    REQUIRE(g);
    CHECK(g->ssrcs == std::vector<uint32_t>{t.ssrc, t.fec_ssrc});
    const NegotiatedMedia* nm = r->negotiated.find("1");
    REQUIRE(nm);
    CHECK(std::any_of(nm->codecs.begin(), nm->codecs.end(), [](const NegotiatedCodec& k) {
        return k.name == "flexfec-03" && k.pt == 49 && !k.rtx_pt;
    }));
    CHECK(fec_fr_ssrc(nm->remote_ssrc_groups, 444004103u) == 1717171717u);
    CHECK(std::find(nm->local_ssrcs.begin(), nm->local_ssrcs.end(), t.fec_ssrc) != nm->local_ssrcs.end());
    CHECK(must_parse(serialize(r->description)) == r->description);
}

TEST_CASE("flexfec: an offer without flexfec-03 gets none back, and no FEC stream") {
    Random rng(6);
    Negotiator n(rng, transport("ansr", 0xBB));
    n.add_transceiver({MediaKind::Audio, Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({MediaKind::Video, Direction::SendRecv, {}, {}, {}, "", ""});
    auto r = n.answer(must_parse(sample("chromium_offer_audio_video_datachannel.sdp")));
    REQUIRE(r);
    const MediaSection& v = r->description.media.at(1);
    CHECK(std::none_of(v.codecs.begin(), v.codecs.end(), [](const Codec& c) { return c.name == "flexfec-03"; }));
    CHECK_FALSE(group(v, "FEC-FR"));
    CHECK(n.transceivers().at(1).fec_ssrc == 0);
}
