// Hand-written edge cases: line endings, optional pieces, unusual but legal forms.
#include "sdp/description.hpp"
#include "sdp/negotiator.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::sdp;

namespace {
const std::string kHead = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
}

TEST_CASE("LF, CRLF, mixed endings, missing final newline and blank lines parse the same") {
    std::string crlf = kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n";
    std::string lf = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\na=rtpmap:111 opus/48000/2";
    std::string mixed = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\ns=-\r\n\r\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\na=rtpmap:111 opus/48000/2\r\n\n";
    auto a = parse(crlf), b = parse(lf), c = parse(mixed);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    CHECK(*a == *b);
    CHECK(*a == *c);
}

TEST_CASE("bundle-only m-line with port 0 is not rejected; a real port 0 is") {
    auto d = parse(kHead + "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=bundle-only\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n");
    REQUIRE(d.ok());
    CHECK_FALSE(d->media[0].rejected());
    CHECK(d->media[1].rejected());
}

TEST_CASE("session-level candidates, setup and direction; empty msid-semantic; tabs around values") {
    auto d = parse(kHead + "a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\na=end-of-candidates\r\na=msid-semantic:\r\n"
                           "a=fmtp-like:\tx\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n"
                           "a=fmtp:webrtc-datachannel max-message-size=100000\r\n");
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(d->transport.candidates.size() == 1);
    CHECK(d->transport.end_of_candidates);
    CHECK(d->msid_semantic == "");
    // Non-RTP fmtp (old Firefox data channel form) is kept as an unknown attribute.
    CHECK(d->media[0].attributes.at(0).name == "fmtp");
    auto again = parse(serialize(*d));
    REQUIRE(again.ok());
    CHECK(*again == *d);
}

TEST_CASE("large numbers: 64-bit session ids beyond 2^63, max uint32 ssrc and priority") {
    auto d = parse("v=0\r\no=- 18446744073709551616999 18446744073709551615 IN IP6 ::1\r\ns=-\r\nt=0 0\r\n"
                   "m=video 65535 UDP/TLS/RTP/SAVPF 127\r\na=mid:0\r\na=ssrc:4294967295 cname:x\r\n"
                   "a=candidate:1 256 udp 4294967295 ::1 65535 typ host\r\n");
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(d->origin.session_id == "18446744073709551616999");
    CHECK(d->origin.session_version == 18446744073709551615ull);
    CHECK(d->media[0].ssrcs.at(0).ssrc == 4294967295u);
    CHECK(d->media[0].transport.candidates.at(0).component == 256);
    CHECK_FALSE(parse("v=0\r\no=- 1 18446744073709551616 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n").ok());
}

TEST_CASE("draft-era simulcast with rid= prefix reads as the RFC 8853 form") {
    auto old = parse(kHead + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rid:a send\r\na=rid:b send\r\na=simulcast: send rid=a;b\r\n");
    auto now = parse(kHead + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rid:a send\r\na=rid:b send\r\na=simulcast:send a;b\r\n");
    REQUIRE(old.ok());
    REQUIRE(now.ok());
    CHECK(*old == *now);
}

TEST_CASE("fingerprints of every supported hash size") {
    for (auto [name_binding, n] : {std::pair{"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"SHA-384", 48}, {"sha-512", 64}}) {
        std::string name = name_binding;  // clang 14 cannot capture structured bindings in doctest's lambdas
        std::string hex;
        for (int i = 0; i < n; ++i) hex += (i ? ":" : "") + std::string("a5");
        auto f = parse_fingerprint(std::string(name) + " " + hex);
        REQUIRE_MESSAGE(f.ok(), name);
        CHECK(f->digest.size() == static_cast<size_t>(n));
        CHECK(parse_fingerprint(f->to_string()).value() == *f);
    }
}

TEST_CASE("an answer never contains a codec that was not offered, even for static payload types without rtpmap") {
    std::string text = kHead + "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=mid:0\r\na=rtcp-mux\r\n"
                               "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n";
    rtcpp::Random rng(1);
    LocalTransport t;
    t.ice_ufrag = "x";
    t.ice_pwd = "y";
    Negotiator n(rng, t);
    auto r = n.answer(*parse(text));
    REQUIRE(r.ok());
    // We only speak Opus: PCMU/PCMA have no match, so the m-line is rejected.
    CHECK(r->description.media[0].port == 0);
    CHECK(r->description.media[0].formats == std::vector<std::string>{"0", "8"});
}
