#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;

TEST_CASE("ByteReader reads big-endian integers in order") {
    const std::vector<uint8_t> b{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                                 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    ByteReader r(b);
    CHECK(*r.read_u8() == 0x01);
    CHECK(*r.read_u16() == 0x0203);
    CHECK(*r.read_u24() == 0x040506);
    CHECK(*r.read_u32() == 0x0708090aU);
    CHECK(*r.read_u48() == 0x0b0c0d0e0f10ULL);
    CHECK(r.remaining() == 8);
    CHECK(*r.read_u64() == 0x1112131415161718ULL);
    CHECK(r.empty());
    CHECK(r.ok());
}

TEST_CASE("ByteReader never reads past the end, for every width at every position") {
    const std::vector<uint8_t> b{1, 2, 3, 4, 5, 6, 7};
    for (size_t start = 0; start <= b.size(); ++start) {
        const size_t left = b.size() - start;
        auto fresh = [&] {
            ByteReader r(b);
            REQUIRE(r.skip(start));
            return r;
        };
        { auto r = fresh(); CHECK(r.read_u8().has_value() == (left >= 1)); }
        { auto r = fresh(); CHECK(r.read_u16().has_value() == (left >= 2)); }
        { auto r = fresh(); CHECK(r.read_u24().has_value() == (left >= 3)); }
        { auto r = fresh(); CHECK(r.read_u32().has_value() == (left >= 4)); }
        { auto r = fresh(); CHECK(r.read_u48().has_value() == (left >= 6)); }
        { auto r = fresh(); CHECK(r.read_u64().has_value() == (left >= 8)); }
        { auto r = fresh(); CHECK(r.read_bytes(left).has_value()); }
        { auto r = fresh(); CHECK_FALSE(r.read_bytes(left + 1).has_value()); CHECK(r.failed()); }
        { auto r = fresh(); CHECK_FALSE(r.skip(left + 1)); }
        { auto r = fresh(); CHECK_FALSE(r.read_sub(left + 1).has_value()); }
        { auto r = fresh(); CHECK_FALSE(r.read_string(left + 1).has_value()); }
        { auto r = fresh(); CHECK(r.peek_u8(left).has_value() == false); }
    }
}

TEST_CASE("ByteReader failure is sticky and leaves position untouched") {
    const std::vector<uint8_t> b{0xaa, 0xbb, 0xcc};
    ByteReader r(b);
    CHECK(*r.read_u16() == 0xaabb);
    CHECK_FALSE(r.read_u16().has_value());
    CHECK(r.failed());
    CHECK(r.position() == 2);
    // Even a read that would fit fails once the reader has failed.
    CHECK_FALSE(r.read_u8().has_value());
    CHECK(r.remaining() == 0);
    CHECK(r.rest().empty());
}

TEST_CASE("ByteReader huge lengths do not overflow the bounds check") {
    const std::vector<uint8_t> b{1, 2, 3};
    ByteReader r(b);
    REQUIRE(r.skip(1));
    CHECK_FALSE(r.read_bytes(SIZE_MAX).has_value());
    ByteReader r2(b);
    REQUIRE(r2.skip(2));
    CHECK_FALSE(r2.peek_u16(SIZE_MAX).has_value());
    CHECK_FALSE(r2.peek_u16(SIZE_MAX - 1).has_value());
}

TEST_CASE("ByteReader sub-readers and peeks") {
    const std::vector<uint8_t> b{0, 4, 'a', 'b', 'c', 'd', 9};
    ByteReader r(b);
    CHECK(*r.peek_u16() == 4);
    auto len = r.read_u16();
    auto sub = r.read_sub(*len);
    REQUIRE(sub);
    CHECK(*sub->read_string(4) == "abcd");
    CHECK_FALSE(sub->read_u8());
    CHECK(*r.read_u8() == 9);
    CHECK(r.consumed().size() == 7);
    ByteReader empty;
    CHECK_FALSE(empty.read_u8());
    CHECK(empty.read_rest().empty());
}

TEST_CASE("BitReader reads MSB-first fields and refuses to overrun") {
    const std::vector<uint8_t> b{0b10110011, 0b01010101};
    BitReader r(b);
    CHECK(*r.read_bits(1) == 1);
    CHECK(*r.read_bits(3) == 0b011);
    CHECK(*r.read_bits(8) == 0b00110101);
    CHECK(r.bits_remaining() == 4);
    CHECK_FALSE(r.read_bits(5).has_value());
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.read_bit().has_value());
    BitReader r2(b);
    CHECK_FALSE(r2.read_bits(65).has_value());
}

TEST_CASE("BitReader exp-Golomb and leb128") {
    std::vector<uint8_t> out;
    BitWriter w(out);
    for (uint32_t v : {0u, 1u, 2u, 7u, 255u, 65535u}) w.write_ue(v);
    w.align();
    BitReader r(out);
    for (uint32_t v : {0u, 1u, 2u, 7u, 255u, 65535u}) CHECK(*r.read_ue() == v);

    const std::vector<uint8_t> zeros(8, 0);
    BitReader bad(zeros);
    CHECK_FALSE(bad.read_ue().has_value()); // more than 31 leading zeros: refused

    std::vector<uint8_t> leb;
    ByteWriter lw(leb);
    write_leb128(lw, 300);
    write_leb128(lw, 0);
    CHECK(leb128_size(300) == 2);
    ByteReader lr(leb);
    CHECK(*read_leb128(lr) == 300);
    CHECK(*read_leb128(lr) == 0);
    const std::vector<uint8_t> endless(9, 0x80);
    ByteReader er(endless);
    CHECK_FALSE(read_leb128(er).has_value());
    BitReader eb(endless);
    CHECK_FALSE(eb.read_leb128().has_value());
}

TEST_CASE("ByteWriter writes big-endian and patches in range only") {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.write_u8(1);
    w.write_u16(0x0203);
    w.write_u24(0x040506);
    w.write_u32(0x0708090a);
    w.write_u48(0x0b0c0d0e0f10);
    w.write_u64(0x1112131415161718);
    CHECK(out.size() == 24);
    ByteReader r(out);
    CHECK(*r.read_u8() == 1);
    CHECK(*r.read_u16() == 0x0203);
    CHECK(*r.read_u24() == 0x040506);
    CHECK(*r.read_u32() == 0x0708090a);
    CHECK(*r.read_u48() == 0x0b0c0d0e0f10);
    CHECK(*r.read_u64() == 0x1112131415161718);
    CHECK(w.patch_u16(1, 0xbeef));
    CHECK(out[1] == 0xbe);
    CHECK_FALSE(w.patch_u16(23, 1));
    CHECK_FALSE(w.patch_u32(21, 1));
    CHECK(w.patch_u32(20, 0xdeadbeef));
    CHECK_FALSE(w.patch_u8(24, 1));
    w.write_u8(0);
    w.pad_to(4);
    CHECK(out.size() % 4 == 0);
}

TEST_CASE("SpanWriter refuses to write past its buffer") {
    uint8_t buf[5];
    SpanWriter w(buf);
    CHECK(w.write_u32(0x01020304));
    CHECK_FALSE(w.write_u16(0x0506));
    CHECK_FALSE(w.ok());
    CHECK(w.position() == 4);
    CHECK_FALSE(w.write_u8(1)); // sticky
    uint8_t buf2[3];
    SpanWriter w2(buf2);
    const uint8_t four[4] = {1, 2, 3, 4};
    CHECK_FALSE(w2.write_bytes(four));
    CHECK(w2.position() == 0);
    SpanWriter w3(buf2);
    CHECK(w3.write_zeros(3));
    CHECK_FALSE(w3.write_zeros(1));
}

TEST_CASE("BitWriter continues an existing buffer") {
    std::vector<uint8_t> out{0xff};
    BitWriter w(out);
    w.write_bits(0b101, 3);
    w.align();
    w.write_bits(0xab, 8);
    REQUIRE(out.size() == 3);
    CHECK(out[0] == 0xff);
    CHECK(out[1] == 0b10100000);
    CHECK(out[2] == 0xab);
}
