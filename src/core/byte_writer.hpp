// Writing network bytes. ByteWriter appends to a growable vector; SpanWriter fills a fixed buffer and refuses
// (sticky failure) to write past its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace rtcpp {

class ByteWriter {
public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

    void write_u8(uint8_t v) { out_.push_back(v); }
    void write_u16(uint16_t v);
    void write_u24(uint32_t v);
    void write_u32(uint32_t v);
    void write_u48(uint64_t v);
    void write_u64(uint64_t v);
    void write_bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void write_string(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
    void write_zeros(size_t n) { out_.insert(out_.end(), n, 0); }
    /// Pads with zeros up to a multiple of `align` bytes.
    void pad_to(size_t align);

    /// Overwrites already written bytes (lengths known only at the end). Returns false if out of range.
    bool patch_u8(size_t at, uint8_t v);
    bool patch_u16(size_t at, uint16_t v);
    bool patch_u32(size_t at, uint32_t v);

    size_t position() const { return out_.size(); }
    std::vector<uint8_t>& buffer() { return out_; }

private:
    std::vector<uint8_t>& out_;
};

class SpanWriter {
public:
    explicit SpanWriter(std::span<uint8_t> out) : out_(out) {}

    bool write_u8(uint8_t v);
    bool write_u16(uint16_t v);
    bool write_u24(uint32_t v);
    bool write_u32(uint32_t v);
    bool write_u64(uint64_t v);
    bool write_bytes(std::span<const uint8_t> b);
    bool write_zeros(size_t n);

    size_t position() const { return pos_; }
    size_t remaining() const { return out_.size() - pos_; }
    bool ok() const { return !failed_; }
    std::span<uint8_t> written() const { return out_.first(pos_); }

private:
    bool put_be(uint64_t v, size_t n);
    std::span<uint8_t> out_;
    size_t pos_ = 0;
    bool failed_ = false;
};

/// Writes bit fields MSB first into a vector.
class BitWriter {
public:
    explicit BitWriter(std::vector<uint8_t>& out) : out_(out), bit_pos_(out.size() * 8) {}
    /// Writes the low n bits (0..64) of v.
    void write_bits(uint64_t v, unsigned n);
    void write_bit(bool b) { write_bits(b ? 1 : 0, 1); }
    void write_ue(uint32_t v);
    /// Zero-pads to the next byte boundary.
    void align();
    size_t bit_position() const { return bit_pos_; }

private:
    std::vector<uint8_t>& out_;
    size_t bit_pos_ = 0;
};

void write_leb128(ByteWriter& w, uint64_t v);
size_t leb128_size(uint64_t v);

} // namespace rtcpp
