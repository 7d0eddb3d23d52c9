#include "core/byte_reader.hpp"

namespace rtcpp {

bool ByteReader::take(size_t n, const uint8_t*& out) {
    if (failed_ || n > data_.size() - pos_) {
        failed_ = true;
        return false;
    }
    out = data_.data() + pos_;
    pos_ += n;
    return true;
}

uint64_t ByteReader::peek_be(size_t offset, size_t n, bool& ok) const {
    ok = !failed_ && offset <= data_.size() - pos_ && n <= data_.size() - pos_ - offset;
    if (!ok) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + offset + i];
    return v;
}

namespace {
uint64_t be(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
}
} // namespace

std::optional<uint8_t> ByteReader::read_u8() {
    const uint8_t* p;
    if (!take(1, p)) return std::nullopt;
    return p[0];
}
std::optional<uint16_t> ByteReader::read_u16() {
    const uint8_t* p;
    if (!take(2, p)) return std::nullopt;
    return static_cast<uint16_t>(be(p, 2));
}
std::optional<uint32_t> ByteReader::read_u24() {
    const uint8_t* p;
    if (!take(3, p)) return std::nullopt;
    return static_cast<uint32_t>(be(p, 3));
}
std::optional<uint32_t> ByteReader::read_u32() {
    const uint8_t* p;
    if (!take(4, p)) return std::nullopt;
    return static_cast<uint32_t>(be(p, 4));
}
std::optional<uint64_t> ByteReader::read_u48() {
    const uint8_t* p;
    if (!take(6, p)) return std::nullopt;
    return be(p, 6);
}
std::optional<uint64_t> ByteReader::read_u64() {
    const uint8_t* p;
    if (!take(8, p)) return std::nullopt;
    return be(p, 8);
}
std::optional<ByteView> ByteReader::read_bytes(size_t n) {
    const uint8_t* p;
    if (!take(n, p)) return std::nullopt;
    return ByteView(p, n);
}
ByteView ByteReader::read_rest() {
    if (failed_) return {};
    ByteView r = data_.subspan(pos_);
    pos_ = data_.size();
    return r;
}
std::optional<std::string_view> ByteReader::read_string(size_t n) {
    const uint8_t* p;
    if (!take(n, p)) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(p), n);
}
std::optional<ByteReader> ByteReader::read_sub(size_t n) {
    const uint8_t* p;
    if (!take(n, p)) return std::nullopt;
    return ByteReader(p, n);
}
bool ByteReader::skip(size_t n) {
    const uint8_t* p;
    return take(n, p);
}
std::optional<uint8_t> ByteReader::peek_u8(size_t offset) const {
    bool ok;
    auto v = peek_be(offset, 1, ok);
    if (!ok) return std::nullopt;
    return static_cast<uint8_t>(v);
}
std::optional<uint16_t> ByteReader::peek_u16(size_t offset) const {
    bool ok;
    auto v = peek_be(offset, 2, ok);
    if (!ok) return std::nullopt;
    return static_cast<uint16_t>(v);
}
std::optional<uint32_t> ByteReader::peek_u32(size_t offset) const {
    bool ok;
    auto v = peek_be(offset, 4, ok);
    if (!ok) return std::nullopt;
    return static_cast<uint32_t>(v);
}

std::optional<uint64_t> BitReader::read_bits(unsigned n) {
    if (failed_ || n > 64 || n > data_.size() * 8 - bit_pos_) {
        failed_ = true;
        return std::nullopt;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
        size_t byte = bit_pos_ >> 3;
        unsigned bit = 7 - static_cast<unsigned>(bit_pos_ & 7);
        v = (v << 1) | ((data_[byte] >> bit) & 1u);
        ++bit_pos_;
    }
    return v;
}

std::optional<bool> BitReader::read_bit() {
    auto b = read_bits(1);
    if (!b) return std::nullopt;
    return *b != 0;
}

std::optional<uint32_t> BitReader::read_ue() {
    unsigned zeros = 0;
    while (true) {
        auto b = read_bit();
        if (!b) return std::nullopt;
        if (*b) break;
        if (++zeros > 31) {
            failed_ = true;
            return std::nullopt;
        }
    }
    auto rest = read_bits(zeros);
    if (!rest) return std::nullopt;
    return static_cast<uint32_t>((uint64_t{1} << zeros) - 1 + *rest);
}

std::optional<uint64_t> BitReader::read_leb128() {
    if (!byte_aligned()) {
        failed_ = true;
        return std::nullopt;
    }
    uint64_t value = 0;
    for (unsigned i = 0; i < 8; ++i) {
        auto byte = read_bits(8);
        if (!byte) return std::nullopt;
        value |= (*byte & 0x7f) << (i * 7);
        if (!(*byte & 0x80)) return value;
    }
    failed_ = true;
    return std::nullopt;
}

bool BitReader::skip_bits(size_t n) {
    if (failed_ || n > data_.size() * 8 - bit_pos_) {
        failed_ = true;
        return false;
    }
    bit_pos_ += n;
    return true;
}

std::optional<uint64_t> read_leb128(ByteReader& r) {
    uint64_t value = 0;
    for (unsigned i = 0; i < 8; ++i) {
        auto byte = r.read_u8();
        if (!byte) return std::nullopt;
        value |= static_cast<uint64_t>(*byte & 0x7f) << (i * 7);
        if (!(*byte & 0x80)) return value;
    }
    return std::nullopt;
}

} // namespace rtcpp
