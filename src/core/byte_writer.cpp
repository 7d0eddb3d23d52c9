#include "core/byte_writer.hpp"

namespace rtcpp {

void ByteWriter::write_u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
}
void ByteWriter::write_u24(uint32_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 16));
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
}
void ByteWriter::write_u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
}
void ByteWriter::write_u48(uint64_t v) {
    for (int s = 40; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
}
void ByteWriter::write_u64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
}
void ByteWriter::pad_to(size_t align) {
    if (align == 0) return;
    while (out_.size() % align != 0) out_.push_back(0);
}
bool ByteWriter::patch_u8(size_t at, uint8_t v) {
    if (at >= out_.size()) return false;
    out_[at] = v;
    return true;
}
bool ByteWriter::patch_u16(size_t at, uint16_t v) {
    if (at > out_.size() || out_.size() - at < 2) return false;
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
    return true;
}
bool ByteWriter::patch_u32(size_t at, uint32_t v) {
    if (at > out_.size() || out_.size() - at < 4) return false;
    for (int i = 0; i < 4; ++i) out_[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
    return true;
}

bool SpanWriter::put_be(uint64_t v, size_t n) {
    if (failed_ || n > out_.size() - pos_) {
        failed_ = true;
        return false;
    }
    for (size_t i = 0; i < n; ++i) out_[pos_ + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
    pos_ += n;
    return true;
}
bool SpanWriter::write_u8(uint8_t v) { return put_be(v, 1); }
bool SpanWriter::write_u16(uint16_t v) { return put_be(v, 2); }
bool SpanWriter::write_u24(uint32_t v) { return put_be(v, 3); }
bool SpanWriter::write_u32(uint32_t v) { return put_be(v, 4); }
bool SpanWriter::write_u64(uint64_t v) { return put_be(v, 8); }
bool SpanWriter::write_bytes(std::span<const uint8_t> b) {
    if (failed_ || b.size() > out_.size() - pos_) {
        failed_ = true;
        return false;
    }
    for (size_t i = 0; i < b.size(); ++i) out_[pos_ + i] = b[i];
    pos_ += b.size();
    return true;
}
bool SpanWriter::write_zeros(size_t n) {
    if (failed_ || n > out_.size() - pos_) {
        failed_ = true;
        return false;
    }
    for (size_t i = 0; i < n; ++i) out_[pos_ + i] = 0;
    pos_ += n;
    return true;
}

void BitWriter::write_bits(uint64_t v, unsigned n) {
    for (unsigned i = n; i-- > 0;) {
        if (bit_pos_ % 8 == 0) out_.push_back(0);
        if ((v >> i) & 1u) out_.back() |= static_cast<uint8_t>(1u << (7 - bit_pos_ % 8));
        ++bit_pos_;
    }
}
void BitWriter::write_ue(uint32_t v) {
    uint64_t x = uint64_t{v} + 1;
    unsigned bits = 0;
    while ((x >> bits) > 1) ++bits;
    write_bits(0, bits);
    write_bits(x, bits + 1);
}
void BitWriter::align() {
    if (bit_pos_ % 8 != 0) bit_pos_ += 8 - bit_pos_ % 8;
}

void write_leb128(ByteWriter& w, uint64_t v) {
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v) byte |= 0x80;
        w.write_u8(byte);
    } while (v);
}
size_t leb128_size(uint64_t v) {
    size_t n = 1;
    while (v >>= 7) ++n;
    return n;
}

} // namespace rtcpp
