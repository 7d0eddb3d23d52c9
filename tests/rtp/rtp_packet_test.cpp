#include "rtp/header_extensions.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"
#include "rtp/sequence_unwrapper.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
// A captured Chrome audio packet layout: PT 111, one-byte extensions (id 1 audio level, id 3 abs-send-time, id 5
// transport-wide-cc), 4 payload bytes.
const std::vector<uint8_t> kOpusPacket = {
    0x90, 0x6f, 0x12, 0x34,  // V=2 X=1, PT 111, seq 0x1234
    0x00, 0x00, 0x03, 0xc0,  // timestamp 960
    0xde, 0xad, 0xbe, 0xef,  // SSRC
    0xbe, 0xde, 0x00, 0x03,  // one-byte extensions, 3 words
    0x10, 0xaa,              // id 1 len 1: audio level V=1 level 42
    0x32, 0x12, 0x34, 0x56,  // id 3 len 3: abs-send-time 0x123456
    0x51, 0x00, 0x07,        // id 5 len 2: transport seq 7
    0x00, 0x00, 0x00,        // padding
    0x01, 0x02, 0x03, 0x04,  // payload
};
} // namespace

TEST_CASE("RtpPacketView parses a fixed header, CSRCs, payload") {
    const std::vector<uint8_t> b = {0x82, 0xe0, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x11, 0x22, 0x33, 0x44,
                                    0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, 0x09, 0x08};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->version() == 2);
    CHECK(p->marker());
    CHECK(p->payload_type() == 96);
    CHECK(p->sequence_number() == 0xfffe);
    CHECK(p->timestamp() == 0x01020304);
    CHECK(p->ssrc() == 0x11223344);
    REQUIRE(p->csrc_count() == 2);
    CHECK(p->csrc(0) == 0xaaaaaaaa);
    CHECK(p->csrc(1) == 0xbbbbbbbb);
    CHECK(!p->has_extension());
    CHECK(p->header_size() == 20);
    CHECK(p->payload().size() == 2);
    CHECK(p->payload()[0] == 0x09);
    CHECK(p->padding_size() == 0);
}

TEST_CASE("RtpPacketView reads one-byte extensions and typed values") {
    auto p = RtpPacketView::parse(kOpusPacket);
    REQUIRE(p);
    CHECK(p->extension_form() == ExtensionForm::OneByte);
    CHECK(p->payload().size() == 4);
    ExtensionMap map;
    REQUIRE(map.register_uri(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
    REQUIRE(map.register_uri(3, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"));
    REQUIRE(map.register_uri(5, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"));
    auto level = get_extension<AudioLevelExtension>(*p, map);
    REQUIRE(level);
    CHECK(level->voice_activity);
    CHECK(level->level == 42);
    CHECK(get_extension<AbsSendTimeExtension>(*p, map) == 0x123456u);
    CHECK(get_extension<TransportSequenceNumberExtension>(*p, map) == 7);
    CHECK(!get_extension<MidExtension>(*p, map));
    int count = 0;
    p->for_each_extension([&](const RtpExtensionElement&) { ++count; });
    CHECK(count == 3);
}

TEST_CASE("RtpPacketView reads two-byte extensions, including zero-length ones") {
    const std::vector<uint8_t> b = {0x90, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2,
                                    0x10, 0x00, 0x00, 0x02,  // two-byte, 2 words
                                    0x20, 0x00,              // id 32 len 0
                                    0x00,                    // padding
                                    0x07, 0x03, 'a', 'b', 'c', // id 7 len 3
                                    0xee};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->extension_form() == ExtensionForm::TwoByte);
    auto e32 = p->find_extension(32);
    REQUIRE(e32);
    CHECK(e32->empty());
    auto e7 = p->find_extension(7);
    REQUIRE(e7);
    CHECK(RtpStreamIdCodec::parse(*e7) == std::string_view("abc"));
    CHECK(p->payload().size() == 1);
}

TEST_CASE("One-byte id 15 stops extension processing") {
    const std::vector<uint8_t> b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2,
                                    0xbe, 0xde, 0x00, 0x01, 0x10, 0x05, 0xf3, 0x20};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->find_extension(1));
    CHECK(!p->find_extension(2));
}

TEST_CASE("RtpPacketView rejects every malformed length") {
    RtpParseError err{};
    auto bad = [&](std::vector<uint8_t> b) { return !RtpPacketView::parse(b, &err); };

    CHECK(bad({0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0}));
    CHECK(err == RtpParseError::TooShort);
    CHECK(bad({0x40, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}));
    CHECK(err == RtpParseError::BadVersion);
    CHECK(bad({0x81, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}));
    CHECK(err == RtpParseError::TruncatedCsrcs);
    CHECK(bad({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde}));
    CHECK(err == RtpParseError::TruncatedExtension);
    // Extension block claims 2 words, only 1 present.
    CHECK(bad({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 2, 0x10, 0, 0, 0}));
    CHECK(err == RtpParseError::TruncatedExtension);
    // One-byte element with length 4 in a 1-word block (overruns its block).
    CHECK(bad({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 0x13, 1, 2, 3, 9, 9, 9, 9}));
    CHECK(err == RtpParseError::BadExtension);
    // Two-byte element whose length byte is missing.
    CHECK(bad({0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0, 1, 0, 0, 0, 5}));
    CHECK(err == RtpParseError::BadExtension);
    // Padding count larger than the payload.
    CHECK(bad({0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 5}));
    CHECK(err == RtpParseError::BadPadding);
    // Padding count 0.
    CHECK(bad({0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 0}));
    CHECK(err == RtpParseError::BadPadding);
    // Padding flag with nothing after the header.
    CHECK(bad({0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}));
    CHECK(err == RtpParseError::BadPadding);
    CHECK(!RtpPacketView::parse(ByteView{}));
}

TEST_CASE("Padding is excluded from the payload, and may be the whole body") {
    std::vector<uint8_t> b = {0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 8, 0, 0, 3};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->payload().size() == 2);
    CHECK(p->padding_size() == 3);
    std::vector<uint8_t> only = {0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4};
    auto q = RtpPacketView::parse(only);
    REQUIRE(q);
    CHECK(q->payload().empty());
    CHECK(q->padding_size() == 4);
}

TEST_CASE("write_rtp_packet reproduces the captured packet byte for byte") {
    auto p = RtpPacketView::parse(kOpusPacket);
    REQUIRE(p);
    RtpHeader h = RtpHeader::from_view(*p);
    CHECK(build_rtp_packet(h, p->payload()) == kOpusPacket);
    std::vector<uint8_t> buf(kOpusPacket.size());
    SpanWriter w(buf);
    REQUIRE(write_rtp_packet(w, h, p->payload()));
    CHECK(w.position() == kOpusPacket.size());
    CHECK(buf == kOpusPacket);
    std::vector<uint8_t> small(kOpusPacket.size() - 1);
    SpanWriter ws(small);
    CHECK(!write_rtp_packet(ws, h, p->payload()));
    CHECK(!ws.ok());
}

TEST_CASE("Typed extensions round trip, choosing one-byte or two-byte form") {
    ExtensionMap map;
    REQUIRE(map.register_extension(1, RtpExtensionType::Mid));
    REQUIRE(map.register_extension(2, RtpExtensionType::RtpStreamId));
    REQUIRE(map.register_extension(3, RtpExtensionType::RepairedRtpStreamId));
    REQUIRE(map.register_extension(4, RtpExtensionType::AbsSendTime));
    REQUIRE(map.register_extension(5, RtpExtensionType::TransportSequenceNumber));
    REQUIRE(map.register_extension(6, RtpExtensionType::AudioLevel));
    REQUIRE(map.register_extension(7, RtpExtensionType::VideoOrientation));
    REQUIRE(map.register_extension(8, RtpExtensionType::PlayoutDelay));
    REQUIRE(map.register_extension(9, RtpExtensionType::AbsCaptureTime));
    CHECK(!map.register_extension(9, RtpExtensionType::Mid));
    CHECK(!map.register_extension(0, RtpExtensionType::Mid));

    for (bool two_byte : {false, true}) {
        RtpHeader h;
        h.payload_type = 96;
        h.sequence_number = 65535;
        h.timestamp = 90000;
        h.ssrc = 0x01020304;
        h.marker = true;
        h.force_two_byte_extensions = two_byte;
        REQUIRE(h.add_csrc(42));
        REQUIRE(set_extension<MidExtension>(h, map, "0"));
        REQUIRE(set_extension<RidExtension>(h, map, "hi"));
        REQUIRE(set_extension<RepairedRidExtension>(h, map, "lo"));
        REQUIRE(set_extension<AbsSendTimeExtension>(h, map, 0xabcdef));
        REQUIRE(set_extension<TransportSequenceNumberExtension>(h, map, 4242));
        REQUIRE(set_extension<AudioLevelExtension>(h, map, AudioLevel{true, 127}));
        REQUIRE(set_extension<VideoOrientationExtension>(h, map, VideoOrientation{270, true, false}));
        REQUIRE(set_extension<PlayoutDelayExtension>(
            h, map, PlayoutDelay{TimeDelta::millis(100), TimeDelta::millis(40950)}));
        const AbsCaptureTime act{0x0102030405060708ULL, -12345};
        REQUIRE(set_extension<AbsCaptureTimeExtension>(h, map, act));
        const std::vector<uint8_t> payload = {1, 2, 3};
        const auto bytes = build_rtp_packet(h, payload, 4);
        CHECK(bytes.size() == h.size() + 3 + 4);
        auto p = RtpPacketView::parse(bytes);
        REQUIRE(p);
        CHECK(p->extension_form() == (two_byte ? ExtensionForm::TwoByte : ExtensionForm::OneByte));
        CHECK(p->marker());
        CHECK(p->csrc_count() == 1);
        CHECK(p->csrc(0) == 42);
        CHECK(p->padding_size() == 4);
        CHECK(std::vector<uint8_t>(p->payload().begin(), p->payload().end()) == payload);
        CHECK(get_extension<MidExtension>(*p, map) == std::string_view("0"));
        CHECK(get_extension<RidExtension>(*p, map) == std::string_view("hi"));
        CHECK(get_extension<RepairedRidExtension>(*p, map) == std::string_view("lo"));
        CHECK(get_extension<AbsSendTimeExtension>(*p, map) == 0xabcdefu);
        CHECK(get_extension<TransportSequenceNumberExtension>(*p, map) == 4242);
        CHECK(get_extension<AudioLevelExtension>(*p, map) == AudioLevel{true, 127});
        CHECK(get_extension<VideoOrientationExtension>(*p, map) == VideoOrientation{270, true, false});
        CHECK(get_extension<PlayoutDelayExtension>(*p, map) ==
              PlayoutDelay{TimeDelta::millis(100), TimeDelta::millis(40950)});
        CHECK(get_extension<AbsCaptureTimeExtension>(*p, map) == act);
        // Copying the header back reproduces the packet exactly.
        CHECK(build_rtp_packet(RtpHeader::from_view(*p), p->payload(), 4) == bytes);
    }
}

TEST_CASE("Extensions that do not fit the one-byte form switch to two-byte") {
    ExtensionMap map;
    REQUIRE(map.register_extension(20, RtpExtensionType::Mid));
    RtpHeader h;
    REQUIRE(set_extension<MidExtension>(h, map, "a"));
    CHECK(h.extensions.form() == ExtensionForm::TwoByte);
    const auto bytes = build_rtp_packet(h, {});
    auto p = RtpPacketView::parse(bytes);
    REQUIRE(p);
    CHECK(get_extension<MidExtension>(*p, map) == std::string_view("a"));
    RtpHeader h2;
    ExtensionMap map2;
    REQUIRE(map2.register_extension(2, RtpExtensionType::Mid));
    REQUIRE(set_extension<MidExtension>(h2, map2, "abcdefghijklmnopq"));  // 17 bytes
    CHECK(h2.extensions.form() == ExtensionForm::TwoByte);
}

TEST_CASE("Typed extension parsers reject bad lengths and values") {
    const std::vector<uint8_t> two = {1, 2};
    const std::vector<uint8_t> nul = {0, 0};
    const std::vector<uint8_t> space = {'a', ' '};
    const std::vector<uint8_t> padded_rid = {'r', '1', 0, 0};
    CHECK(!AbsSendTimeExtension::parse(two));
    CHECK(!PlayoutDelayExtension::parse(two));
    CHECK(!AbsCaptureTimeExtension::parse(two));
    CHECK(!VideoOrientationExtension::parse(two));
    CHECK(!TransportSequenceNumberExtension::parse(ByteView(two).first(1)));
    CHECK(!AudioLevelExtension::parse(ByteView{}));
    CHECK(!RtpStreamIdCodec::parse(nul));
    CHECK(!RtpStreamIdCodec::parse(space));
    CHECK(RtpStreamIdCodec::parse(padded_rid) == std::string_view("r1"));
    const std::vector<uint8_t> min_gt_max = {0x00, 0x20, 0x01};  // min 2, max 1
    CHECK(!PlayoutDelayExtension::parse(min_gt_max));
    std::array<uint8_t, 3> out{};
    CHECK(!PlayoutDelayExtension::write(out, PlayoutDelay{TimeDelta::millis(200), TimeDelta::millis(100)}));
    CHECK(!PlayoutDelayExtension::write(out, PlayoutDelay{TimeDelta::zero(), TimeDelta::seconds(41)}));
    std::array<uint8_t, 1> one{};
    CHECK(!VideoOrientationExtension::write(one, VideoOrientation{45, false, false}));
    CHECK(!AudioLevelExtension::write(one, AudioLevel{false, 200}));
}

TEST_CASE("abs-send-time converts 6.18 fixed point") {
    CHECK(AbsSendTimeExtension::from_time(Timestamp::seconds(1)) == (1u << 18));
    CHECK(AbsSendTimeExtension::from_time(Timestamp::millis(500)) == (1u << 17));
    CHECK(AbsSendTimeExtension::from_time(Timestamp::seconds(64)) == 0u);  // wraps every 64 s
    CHECK(AbsSendTimeExtension::to_time(1u << 18) == TimeDelta::seconds(1));
    CHECK(AbsSendTimeExtension::to_time(3u << 16) == TimeDelta::millis(750));
}

TEST_CASE("ExtensionMap maps URIs both ways") {
    ExtensionMap m;
    CHECK(!m.register_uri(3, "urn:example:unknown"));
    CHECK(m.register_uri(3, "urn:ietf:params:rtp-hdrext:sdes:mid"));
    CHECK(m.type_of(3) == RtpExtensionType::Mid);
    CHECK(m.id_of(RtpExtensionType::Mid) == 3);
    CHECK(extension_uri(RtpExtensionType::AbsCaptureTime) ==
          "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time");
    m.unregister(3);
    CHECK(!m.id_of(RtpExtensionType::Mid));
}

TEST_CASE("RtpExtensionList replaces, removes and compacts") {
    RtpExtensionList l;
    const std::vector<uint8_t> a = {1, 2, 3}, b = {4}, c = {5, 6};
    REQUIRE(l.set(1, a));
    REQUIRE(l.set(2, b));
    REQUIRE(l.set(1, c));
    CHECK(l.size() == 2);
    CHECK(std::vector<uint8_t>(l.get(1)->begin(), l.get(1)->end()) == c);
    CHECK(std::vector<uint8_t>(l.get(2)->begin(), l.get(2)->end()) == b);
    CHECK(l.remove(2));
    CHECK(!l.get(2));
    CHECK(!l.set(0, a));
    for (uint8_t id = 10; id < 10 + RtpExtensionList::kMaxElements - 1; ++id) REQUIRE(l.set(id, b));
    CHECK(!l.set(100, b));  // full
}

TEST_CASE("Sequence number unwrapping handles wrap and reordering") {
    SequenceNumberUnwrapper u;
    CHECK(u.unwrap(65534) == 65534);
    CHECK(u.unwrap(65535) == 65535);
    CHECK(u.unwrap(0) == 65536);
    CHECK(u.unwrap(65533) == 65533);  // reordered, before the wrap
    CHECK(u.unwrap(2) == 65538);
    CHECK(u.peek(1) == 65537);
    SequenceNumberUnwrapper back;
    CHECK(back.unwrap(0) == 0);
    CHECK(back.unwrap(65535) == -1);
    // Many wraps forward.
    SequenceNumberUnwrapper many;
    int64_t expect = 0;
    for (int i = 0; i < 10; ++i) {
        for (uint32_t s = 0; s < 65536; s += 1000) {
            expect = static_cast<int64_t>(i) * 65536 + s;
            CHECK(many.unwrap(static_cast<uint16_t>(s)) == expect);
        }
    }
    CHECK(seq_newer(1, 65535));
    CHECK(!seq_newer(65535, 1));
}

TEST_CASE("RTP timestamp unwrapping crosses 2^32") {
    RtpTimestampUnwrapper u;
    CHECK(u.unwrap(0xFFFFF000u) == 0xFFFFF000LL);
    CHECK(u.unwrap(0x00000100u) == 0x100000100LL);
    CHECK(u.unwrap(0xFFFFFF00u) == 0xFFFFFF00LL);
    CHECK(u.unwrap(0x7FFFFE00u) == 0x17FFFFE00LL);  // just under half the range ahead
    CHECK(u.unwrap(0x00000100u) == 0x100000100LL);  // just under half behind
}

TEST_CASE("RTX wraps with the OSN and unwraps to the original") {
    ExtensionMap map;
    REQUIRE(map.register_extension(1, RtpExtensionType::Mid));
    RtpHeader h;
    h.payload_type = 96;
    h.sequence_number = 1000;
    h.timestamp = 3000;
    h.ssrc = 0x11111111;
    h.marker = true;
    REQUIRE(set_extension<MidExtension>(h, map, "v"));
    const std::vector<uint8_t> payload = {0xde, 0xad, 0xbe, 0xef};
    const auto original = build_rtp_packet(h, payload, 8);
    auto ov = RtpPacketView::parse(original);
    REQUIRE(ov);
    const auto rtx = wrap_rtx(*ov, RtxParams{97, 0x22222222, 5});
    auto rv = RtpPacketView::parse(rtx);
    REQUIRE(rv);
    CHECK(rv->payload_type() == 97);
    CHECK(rv->ssrc() == 0x22222222u);
    CHECK(rv->sequence_number() == 5);
    CHECK(rv->timestamp() == 3000);
    CHECK(rv->marker());
    CHECK(get_extension<MidExtension>(*rv, map) == std::string_view("v"));
    REQUIRE(rv->payload().size() == 6);
    CHECK(rv->payload()[0] == 0x03);
    CHECK(rv->payload()[1] == 0xe8);
    std::vector<uint8_t> buf(rtx.size());
    SpanWriter w(buf);
    REQUIRE(wrap_rtx(w, *ov, RtxParams{97, 0x22222222, 5}));
    CHECK(std::vector<uint8_t>(w.written().begin(), w.written().end()) == rtx);

    auto back = unwrap_rtx(*rv, 96, 0x11111111);
    REQUIRE(back);
    // Equal to the original without its padding.
    CHECK(*back == build_rtp_packet(h, payload));
    const std::vector<uint8_t> short_rtx = {0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x05};
    auto sv = RtpPacketView::parse(short_rtx);
    REQUIRE(sv);
    CHECK(!unwrap_rtx(*sv, 96, 1));
}

TEST_CASE("looks_like_rtcp separates RTCP from RTP on a muxed port") {
    const std::vector<uint8_t> sr = {0x80, 200, 0, 6};
    const std::vector<uint8_t> rtp = {0x80, 0x60, 0, 1};
    CHECK(looks_like_rtcp(sr));
    CHECK(!looks_like_rtcp(rtp));
    CHECK(!looks_like_rtcp(ByteView(sr).first(1)));
}

TEST_CASE("An extension block with an unknown profile is skipped, not parsed") {
    const std::vector<uint8_t> b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2,
                                    0x12, 0x34, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x42};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->has_extension());
    CHECK(p->extension_form() == ExtensionForm::Other);
    CHECK(p->extension_profile() == 0x1234);
    CHECK(p->extension_data().size() == 4);
    CHECK(!p->find_extension(15));
    int n = 0;
    p->for_each_extension([&](const RtpExtensionElement&) { ++n; });
    CHECK(n == 0);
    CHECK(p->payload().size() == 1);
    // Rebuilding drops the foreign block (there is nothing typed to keep).
    const auto rebuilt = build_rtp_packet(RtpHeader::from_view(*p), p->payload());
    CHECK(rebuilt == std::vector<uint8_t>{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x42});
}

TEST_CASE("One-byte padding bytes between elements are skipped") {
    // id 1 len 1, two padding bytes, id 2 len 2, then padding to the word.
    const std::vector<uint8_t> b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2,
                                    0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0x00, 0x00, 0x21, 0xbb, 0xcc, 0x00};
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    auto e2 = p->find_extension(2);
    REQUIRE(e2);
    CHECK(std::vector<uint8_t>(e2->begin(), e2->end()) == std::vector<uint8_t>{0xbb, 0xcc});
}

TEST_CASE("A header longer than 64 KiB (huge extension block) keeps its true size") {
    std::vector<uint8_t> b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0xff, 0xff};
    b.resize(b.size() + 0xffff * 4, 0);
    b.push_back(0x77);
    auto p = RtpPacketView::parse(b);
    REQUIRE(p);
    CHECK(p->header_size() == 16 + 0xffff * 4);
    REQUIRE(p->payload().size() == 1);
    CHECK(p->payload()[0] == 0x77);
}
