// Malformed input: every kind of bad line yields an error with its 1-based line number and a reason; the limits
// are enforced.
#include "sdp/description.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::sdp;

namespace {

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

// Parses kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + line: the bad line is line 6.
ParseOutcome with_media_line(const std::string& line) {
    return parse_detailed(kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + line + "\r\n");
}

} // namespace

TEST_CASE("every kind of malformed attribute line names line and reason") {
    struct Bad {
        std::string line;
        std::string reason;
    };
    std::vector<Bad> cases = {
        {"a=rtpmap:111", "rtpmap"},
        {"a=rtpmap:300 opus/48000", "payload type"},
        {"a=rtpmap:111 opus", "encoding"},
        {"a=rtpmap:111 opus/0", "clock rate"},
        {"a=rtpmap:111 opus/48000/x", "channels"},
        {"a=fmtp:111", "fmtp"},
        {"a=fmtp:abc x=1", "payload type"},
        {"a=rtcp-fb:111", "rtcp-fb"},
        {"a=rtcp-fb:x nack", "payload type"},
        {"a=extmap:0 urn:x", "extmap id"},
        {"a=extmap:15 urn:x", "extmap id"},
        {"a=extmap:1/sideways urn:x", "extmap direction"},
        {"a=extmap:1", "extmap"},
        {"a=mid:", "mid"},
        {"a=mid:a b", "mid"},
        {"a=msid:", "msid"},
        {"a=ssrc:abc cname:x", "ssrc"},
        {"a=ssrc:1", "ssrc"},
        {"a=ssrc-group:FID", "ssrc-group"},
        {"a=ssrc-group:FID 1 x", "ssrc"},
        {"a=rid:r0 both", "direction"},
        {"a=rid:r0", "rid"},
        {"a=simulcast:send", "simulcast"},
        {"a=simulcast:sideways a", "direction"},
        {"a=simulcast:send a;;b", "rid"},
        {"a=sctp-port:x", "port"},
        {"a=max-message-size:-1", "size"},
        {"a=sctpmap:x webrtc-datachannel", "number"},
        {"a=setup:sometimes", "setup"},
        {"a=fingerprint:md5 00:11", "unsupported hash"},
        {"a=fingerprint:sha-256 00:11", "32 bytes"},
        {"a=fingerprint:sha-1 zz:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", "hex"},
        {"a=candidate:1 1 udp 1 1.2.3.4 5 typ nope", "candidate"},
        {"a=ice-ufrag:", "ice-ufrag"},
        {"a=rtcp:x", "rtcp"},
        {"a=rtcp:9 IN IP4", "rtcp"},
        {"a=:value", "attribute name"},
        {"c=IN IP4", "c="},
        {"b=AS", "b="},
        {"b=AS:x", "b="},
        {"no equals sign", "<type>=<value>"},
        {"X=upper", "<type>=<value>"},
        {"o=- 1 1 IN IP4 0.0.0.0", "o="},
        {"t=0 0", "t="},
        {"v=0", "v="},
    };
    for (const auto& b : cases) {
        CAPTURE(b.line);
        auto out = with_media_line(b.line);
        REQUIRE(out.errors.size() >= 1);
        CHECK(out.errors[0].line == 6);
        CHECK_MESSAGE(out.errors[0].reason.find(b.reason) != std::string::npos, out.errors[0].reason);
        auto r = parse(kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + b.line + "\r\n");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.rfind("line 6: ", 0) == 0);
    }
}

TEST_CASE("duplicate single-valued attributes are errors") {
    for (std::string a : {"a=mid:0", "a=setup:active", "a=ice-ufrag:abcd", "a=sendrecv", "a=sctp-port:5000",
                          "a=rtpmap:111 opus/48000/2", "a=fmtp:111 a=b", "a=extmap:1 urn:x"}) {
        CAPTURE(a);
        auto out = parse_detailed(kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + a + "\r\n" + a + "\r\n");
        REQUIRE(out.errors.size() == 1);
        CHECK(out.errors[0].line == 7);
    }
}

TEST_CASE("bad m-lines and structure") {
    auto m1 = parse_detailed(kHead + "m=audio x UDP/TLS/RTP/SAVPF 111\r\n");
    REQUIRE(m1.errors.size() == 1);
    CHECK(m1.errors[0].line == 5);
    CHECK(m1.errors[0].reason.find("port") != std::string::npos);
    auto m2 = parse_detailed(kHead + "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n");
    REQUIRE(m2.errors.size() == 1);
    CHECK(m2.errors[0].reason.find("payload type") != std::string::npos);
    auto m3 = parse_detailed(kHead + "m=audio 9\r\n");
    REQUIRE(m3.errors.size() == 1);
    CHECK(m3.errors[0].line == 5);

    auto first = parse_detailed("o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    REQUIRE_FALSE(first.ok());
    CHECK(first.errors[0].line == 1);
    CHECK(first.errors[0].reason.find("v=0") != std::string::npos);
    auto missing = parse_detailed("v=0\r\ns=-\r\n");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.errors[0].reason.find("o=") != std::string::npos);
    CHECK(missing.errors[1].reason.find("t=") != std::string::npos);
    CHECK_FALSE(parse_detailed("").ok());

    auto dupmid = parse_detailed(kHead + "m=audio 9 RTP/AVP 0\r\na=mid:a\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n");
    REQUIRE(dupmid.errors.size() == 1);
    CHECK(dupmid.errors[0].reason.find("two m-lines") != std::string::npos);
    auto group = parse_detailed(kHead + "a=group:BUNDLE a b\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n");
    REQUIRE(group.errors.size() == 1);
    CHECK(group.errors[0].line == 5);
    CHECK(group.errors[0].reason.find("'b'") != std::string::npos);
}

TEST_CASE("all errors are collected, each with its line") {
    auto out = parse_detailed(kHead + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\na=mid:0\r\na=setup:x\r\n"
                                      "a=sendrecv\r\nbad\r\n");
    REQUIRE(out.errors.size() == 3);
    CHECK(out.errors[0].line == 6);
    CHECK(out.errors[1].line == 8);
    CHECK(out.errors[2].line == 10);
    CHECK(out.description.media.at(0).mid == "0");
}

TEST_CASE("limits: size, line length, line count, m-lines, candidates, formats") {
    std::string big = kHead + "a=x:" + std::string(kMaxSdpSize, 'a') + "\r\n";
    auto size = parse_detailed(big);
    REQUIRE(size.errors.size() == 1);
    CHECK(size.errors[0].line == 0);
    CHECK(size.errors[0].reason.find("limit") != std::string::npos);

    auto longline = parse_detailed(kHead + "a=x:" + std::string(kMaxLineLength, 'a') + "\r\n");
    REQUIRE(longline.errors.size() == 1);
    CHECK(longline.errors[0].line == 5);
    CHECK(longline.errors[0].reason.find("limit") != std::string::npos);

    std::string many = kHead;
    for (size_t i = 0; i < kMaxLines; ++i) many += "a=x\r\n";
    auto lines = parse_detailed(many);
    REQUIRE_FALSE(lines.ok());
    CHECK(lines.errors.back().reason.find("lines") != std::string::npos);
    CHECK(lines.errors.back().line == kMaxLines + 1);

    std::string mlines = kHead;
    for (size_t i = 0; i <= kMaxMediaSections; ++i) mlines += "m=audio 9 RTP/AVP 0\r\n";
    auto m = parse_detailed(mlines);
    REQUIRE(m.errors.size() == 1);
    CHECK(m.errors[0].line == 4 + kMaxMediaSections + 1);
    CHECK(m.errors[0].reason.find("m= lines") != std::string::npos);

    std::string cands = kHead + "m=audio 9 RTP/AVP 0\r\n";
    for (size_t i = 0; i <= kMaxCandidatesPerMedia; ++i) cands += "a=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n";
    auto c = parse_detailed(cands);
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors[0].reason.find("candidates") != std::string::npos);

    std::string fmts = kHead + "m=audio 9 RTP/AVP";
    for (size_t i = 0; i <= kMaxFormatsPerMedia; ++i) fmts += " 0";
    auto f = parse_detailed(fmts + "\r\n");
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].reason.find("formats") != std::string::npos);

    std::string errs = kHead;
    for (size_t i = 0; i < 2 * kMaxErrors; ++i) errs += "bad\r\n";
    CHECK(parse_detailed(errs).errors.size() == kMaxErrors);
}
