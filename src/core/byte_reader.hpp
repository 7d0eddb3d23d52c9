// Bounds-checked reading of network bytes. Every parser in rtcpp reads through these classes: no pointer
// arithmetic on untrusted bytes anywhere else.
//
// A failed read returns nullopt (or false) and makes the reader "failed": every later read fails too, so a parser
// may read several fields and check ok() once. Nothing is ever read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace rtcpp {

using ByteView = std::span<const uint8_t>;

class ByteReader {
public:
    ByteReader() = default;
    explicit ByteReader(ByteView data) : data_(data) {}
    ByteReader(const uint8_t* data, size_t size) : data_(data, size) {}

    size_t size() const { return data_.size(); }
    size_t position() const { return pos_; }
    size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
    bool empty() const { return remaining() == 0; }
    bool ok() const { return !failed_; }
    bool failed() const { return failed_; }

    std::optional<uint8_t> read_u8();
    std::optional<uint16_t> read_u16();
    std::optional<uint32_t> read_u24();
    std::optional<uint32_t> read_u32();
    std::optional<uint64_t> read_u48();
    std::optional<uint64_t> read_u64();
    /// A view of the next n bytes, consumed.
    std::optional<ByteView> read_bytes(size_t n);
    /// Everything left, consumed.
    ByteView read_rest();
    /// n bytes as text (no validation of the contents).
    std::optional<std::string_view> read_string(size_t n);
    /// A reader over the next n bytes, consumed from this one.
    std::optional<ByteReader> read_sub(size_t n);
    bool skip(size_t n);

    std::optional<uint8_t> peek_u8(size_t offset = 0) const;
    std::optional<uint16_t> peek_u16(size_t offset = 0) const;
    std::optional<uint32_t> peek_u32(size_t offset = 0) const;
    /// The unread bytes, not consumed.
    ByteView rest() const { return failed_ ? ByteView{} : data_.subspan(pos_); }
    /// The bytes consumed so far.
    ByteView consumed() const { return data_.first(pos_); }
    ByteView all() const { return data_; }

private:
    bool take(size_t n, const uint8_t*& out);
    uint64_t peek_be(size_t offset, size_t n, bool& ok) const;

    ByteView data_;
    size_t pos_ = 0;
    bool failed_ = false;
};

/// Reads bit fields MSB first (the network order of RTP, RTCP, VP8/VP9 descriptors, AV1 OBU headers...).
class BitReader {
public:
    explicit BitReader(ByteView data) : data_(data) {}

    /// Reads n bits (0..64). nullopt and failed() if fewer are left.
    std::optional<uint64_t> read_bits(unsigned n);
    std::optional<bool> read_bit();
    /// Unsigned exp-Golomb (H.264/H.265 ue(v)), at most 32 leading zeros.
    std::optional<uint32_t> read_ue();
    /// AV1 leb128, at most 8 bytes, byte aligned.
    std::optional<uint64_t> read_leb128();
    bool skip_bits(size_t n);
    size_t bits_remaining() const { return failed_ ? 0 : data_.size() * 8 - bit_pos_; }
    size_t bit_position() const { return bit_pos_; }
    bool ok() const { return !failed_; }
    bool byte_aligned() const { return bit_pos_ % 8 == 0; }

private:
    ByteView data_;
    size_t bit_pos_ = 0;
    bool failed_ = false;
};

/// Reads an unsigned leb128 from a byte reader (AV1 RTP aggregation headers). At most 8 bytes.
std::optional<uint64_t> read_leb128(ByteReader& r);

} // namespace rtcpp
