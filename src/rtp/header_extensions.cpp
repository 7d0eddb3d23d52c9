#include "rtp/header_extensions.hpp"

#include <cstring>

namespace rtcpp::rtp {

namespace {
// Big-endian stores into a span whose size the caller has checked.
void put_be(std::span<uint8_t> out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}
} // namespace

std::optional<std::string_view> RtpStreamIdCodec::parse(ByteView data) {
    ByteReader r(data);
    size_t n = data.size();
    while (n > 0 && *r.peek_u8(n - 1) == 0) --n;
    if (n == 0) return std::nullopt;
    const auto s = r.read_string(n);
    for (char c : *s) {
        // Printable ASCII without space: covers mid (token) and rid (alpha-numeric, '-', '_').
        if (c < 0x21 || c > 0x7E) return std::nullopt;
    }
    return s;
}

bool RtpStreamIdCodec::write(std::span<uint8_t> out, std::string_view v) {
    if (v.empty() || v.size() > kMaxSize || out.size() != v.size()) return false;
    for (char c : v) {
        if (c < 0x21 || c > 0x7E) return false;
    }
    std::memcpy(out.data(), v.data(), v.size());
    return true;
}

std::optional<uint32_t> AbsSendTimeExtension::parse(ByteView data) {
    if (data.size() != 3) return std::nullopt;
    return ByteReader(data).read_u24();
}
bool AbsSendTimeExtension::write(std::span<uint8_t> out, uint32_t v) {
    if (out.size() != 3 || v > 0xFFFFFF) return false;
    put_be(out, v, 3);
    return true;
}
uint32_t AbsSendTimeExtension::from_time(Timestamp t) {
    // 18 fractional bits: scale microseconds by 2^18 / 10^6, rounding to nearest.
    const uint64_t us = static_cast<uint64_t>(t.us());
    return static_cast<uint32_t>(((us << 18) + 500000) / 1000000) & 0xFFFFFF;
}
TimeDelta AbsSendTimeExtension::to_time(uint32_t v) {
    return TimeDelta::micros(static_cast<int64_t>((uint64_t{v & 0xFFFFFF} * 1000000 + (1u << 17)) >> 18));
}

std::optional<uint16_t> TransportSequenceNumberExtension::parse(ByteView data) {
    if (data.size() != 2) return std::nullopt;
    return ByteReader(data).read_u16();
}
bool TransportSequenceNumberExtension::write(std::span<uint8_t> out, uint16_t v) {
    if (out.size() != 2) return false;
    put_be(out, v, 2);
    return true;
}

std::optional<AudioLevel> AudioLevelExtension::parse(ByteView data) {
    // Some senders pad the one-byte form to more than one byte; the level is in the first.
    if (data.empty() || data.size() > 4) return std::nullopt;
    const uint8_t b = *ByteReader(data).read_u8();
    return AudioLevel{(b & 0x80) != 0, static_cast<uint8_t>(b & 0x7F)};
}
bool AudioLevelExtension::write(std::span<uint8_t> out, const AudioLevel& v) {
    if (out.size() != 1 || v.level > 127) return false;
    out[0] = static_cast<uint8_t>((v.voice_activity ? 0x80 : 0) | v.level);
    return true;
}

std::optional<VideoOrientation> VideoOrientationExtension::parse(ByteView data) {
    if (data.size() != 1) return std::nullopt;
    const uint8_t b = *ByteReader(data).read_u8();
    return VideoOrientation{static_cast<uint16_t>((b & 0x03) * 90), (b & 0x08) != 0, (b & 0x04) != 0};
}
bool VideoOrientationExtension::write(std::span<uint8_t> out, const VideoOrientation& v) {
    if (out.size() != 1 || v.rotation % 90 != 0 || v.rotation >= 360) return false;
    out[0] = static_cast<uint8_t>((v.back_camera ? 0x08 : 0) | (v.horizontal_flip ? 0x04 : 0) | (v.rotation / 90));
    return true;
}

std::optional<PlayoutDelay> PlayoutDelayExtension::parse(ByteView data) {
    if (data.size() != 3) return std::nullopt;
    const uint32_t v = *ByteReader(data).read_u24();
    const auto min = TimeDelta::millis((v >> 12) * 10);
    const auto max = TimeDelta::millis((v & 0xFFF) * 10);
    if (min > max) return std::nullopt;
    return PlayoutDelay{min, max};
}
bool PlayoutDelayExtension::write(std::span<uint8_t> out, const PlayoutDelay& v) {
    const auto limit = TimeDelta::millis(0xFFF * 10);
    if (out.size() != 3 || v.min < TimeDelta::zero() || v.max > limit || v.min > v.max) return false;
    const uint32_t min = static_cast<uint32_t>(v.min.ms() / 10);
    const uint32_t max = static_cast<uint32_t>(v.max.ms() / 10);
    put_be(out, (min << 12) | max, 3);
    return true;
}

std::optional<AbsCaptureTime> AbsCaptureTimeExtension::parse(ByteView data) {
    if (data.size() != 8 && data.size() != 16) return std::nullopt;
    ByteReader r(data);
    AbsCaptureTime v;
    v.absolute_capture_timestamp = *r.read_u64();
    if (data.size() == 16) v.estimated_capture_clock_offset = static_cast<int64_t>(*r.read_u64());
    return v;
}
bool AbsCaptureTimeExtension::write(std::span<uint8_t> out, const AbsCaptureTime& v) {
    if (out.size() != size(v)) return false;
    put_be(out, v.absolute_capture_timestamp, 8);
    if (v.estimated_capture_clock_offset) {
        put_be(out.subspan(8), static_cast<uint64_t>(*v.estimated_capture_clock_offset), 8);
    }
    return true;
}

} // namespace rtcpp::rtp
