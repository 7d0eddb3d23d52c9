#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

TEST_CASE("RED: RFC 2198 layout, parse and write") {
    const std::vector<uint8_t> a = {1, 2, 3}, b = {4, 5}, primary = {9, 9, 9, 9};
    const RedBlock red[] = {{111, 1920, a}, {111, 960, b}};
    std::vector<uint8_t> out;
    ByteWriter w(out);
    REQUIRE(write_red(w, red, 111, primary));
    // F=1|PT, 14-bit offset, 10-bit length; then F=0|PT; then data in block order.
    const std::vector<uint8_t> expect = {0xEF, 0x1E, 0x00, 0x03, 0xEF, 0x0F, 0x00, 0x02, 0x6F,
                                         1, 2, 3, 4, 5, 9, 9, 9, 9};
    CHECK(out == expect);
    const auto p = parse_red(out);
    REQUIRE(p);
    REQUIRE(p->count == 3);
    CHECK(p->blocks[0].timestamp_offset == 1920);
    CHECK(std::vector<uint8_t>(p->blocks[0].data.begin(), p->blocks[0].data.end()) == a);
    CHECK(std::vector<uint8_t>(p->blocks[1].data.begin(), p->blocks[1].data.end()) == b);
    CHECK(p->primary().payload_type == 111);
    CHECK(std::vector<uint8_t>(p->primary().data.begin(), p->primary().data.end()) == primary);

    // Fields that do not fit are refused, and nothing is written.
    std::vector<uint8_t> none;
    ByteWriter w2(none);
    const RedBlock too_old[] = {{111, kRedMaxTimestampOffset + 1, a}};
    CHECK_FALSE(write_red(w2, too_old, 111, primary));
    const std::vector<uint8_t> big(1024);
    const RedBlock too_long[] = {{111, 960, big}};
    CHECK_FALSE(write_red(w2, too_long, 111, primary));
    CHECK(none.empty());
}

TEST_CASE("RED parse rejects truncated headers, overrunning blocks and too many blocks") {
    CHECK_FALSE(parse_red({}));
    CHECK_FALSE(parse_red(std::vector<uint8_t>{0x80 | 111, 0x00, 0x00}));           // header cut
    CHECK_FALSE(parse_red(std::vector<uint8_t>{0x80 | 111, 0x00, 0x00, 0x05, 111, 1, 2}));  // block of 5, 2 left
    CHECK_FALSE(parse_red(std::vector<uint8_t>{0x80 | 111, 0x00, 0x00, 0x00}));      // no primary header
    std::vector<uint8_t> many;
    for (size_t i = 0; i < kRedMaxBlocks; ++i) many.insert(many.end(), {0x80 | 111, 0, 0, 0});
    many.push_back(111);
    CHECK_FALSE(parse_red(many));
    // An empty primary is allowed (only redundancy left to send).
    const auto p = parse_red(std::vector<uint8_t>{111});
    REQUIRE(p);
    CHECK(p->count == 1);
    CHECK(p->primary().data.empty());
}

TEST_CASE("RED wraps video packets and unwraps them exactly") {
    RtpHeader h;
    h.payload_type = 96;
    h.sequence_number = 77;
    h.timestamp = 123456;
    h.ssrc = 42;
    h.marker = true;
    const uint8_t ext[2] = {7, 7};
    h.extensions.set(4, ext);
    const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
    const auto media = build_rtp_packet(h, payload);
    const auto red = wrap_red(*RtpPacketView::parse(media), 116);
    const auto rv = RtpPacketView::parse(red);
    REQUIRE(rv);
    CHECK(rv->payload_type() == 116);
    CHECK(rv->marker());
    CHECK(rv->payload().size() == payload.size() + 1);
    CHECK(rv->payload()[0] == 96);
    const auto back = unwrap_red_primary(*rv, 117);
    REQUIRE(back);
    CHECK(*back == media);
    // A RED packet carrying FEC is not media.
    std::vector<uint8_t> fecred = {117, 0, 0};
    RtpHeader f = h;
    f.payload_type = 116;
    CHECK_FALSE(unwrap_red_primary(*RtpPacketView::parse(build_rtp_packet(f, fecred)), 117));
}

TEST_CASE("Audio RED encoder carries the previous frames; the splitter restores their timestamps") {
    AudioRedEncoder enc(111, 2);
    std::array<RedAudioFrame, kRedMaxBlocks> frames{};
    const std::vector<uint8_t> f0(30, 0xA0), f1(40, 0xA1), f2(50, 0xA2), f3(60, 0xA3);
    auto p0 = enc.encode(1000, f0);
    REQUIRE(split_red_audio(p0, 1000, frames) == 1);
    CHECK_FALSE(frames[0].redundant);
    auto p1 = enc.encode(1960, f1);
    REQUIRE(split_red_audio(p1, 1960, frames) == 2);
    CHECK(frames[0].timestamp == 1000);
    CHECK(frames[0].redundant);
    CHECK(frames[0].data.size() == 30);
    CHECK(frames[1].timestamp == 1960);
    enc.encode(2920, f2);
    auto p3 = enc.encode(3880, f3);
    REQUIRE(split_red_audio(p3, 3880, frames) == 3);
    CHECK(frames[0].timestamp == 1960);
    CHECK(frames[0].data[0] == 0xA1);
    CHECK(frames[1].timestamp == 2920);
    CHECK(frames[1].data[0] == 0xA2);
    CHECK(frames[2].timestamp == 3880);
    CHECK_FALSE(frames[2].redundant);
    CHECK(p3.size() == 1 + 2 * 4 + 40 + 50 + 60);

    // A gap longer than the 14-bit offset (silence, DTX) drops the redundancy.
    auto p4 = enc.encode(3880 + 20000, f0);
    CHECK(split_red_audio(p4, 3880 + 20000, frames) == 1);
    // Timestamp wrap.
    AudioRedEncoder wrap(111, 1);
    wrap.encode(0xFFFFFF00u, f0);
    const auto pw = wrap.encode(0xFFFFFF00u + 960, f1);
    REQUIRE(split_red_audio(pw, 0xFFFFFF00u + 960, frames) == 2);
    CHECK(frames[0].timestamp == 0xFFFFFF00u);
    // Size budget: redundancy that would exceed it is left out.
    AudioRedEncoder tight(111, 1, 100);
    tight.encode(0, f3);
    CHECK(tight.encode(960, f3).size() == 61);
    CHECK(split_red_audio(std::vector<uint8_t>{0x80 | 111, 0, 0}, 0, frames) == 0);
}

TEST_CASE("RED fmtp") {
    size_t d = 0;
    CHECK(parse_red_fmtp("111/111", &d) == 111);
    CHECK(d == 1);
    CHECK(parse_red_fmtp("111/111/111", &d) == 111);
    CHECK(d == 2);
    CHECK(parse_red_fmtp("111", &d) == 111);
    CHECK(d == 0);
    CHECK_FALSE(parse_red_fmtp("111/112"));
    CHECK_FALSE(parse_red_fmtp("111/"));
    CHECK_FALSE(parse_red_fmtp("abc"));
    CHECK_FALSE(parse_red_fmtp("300/300"));
    CHECK_FALSE(parse_red_fmtp(""));
}
