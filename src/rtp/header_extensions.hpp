// Typed RTP header extensions. Each codec has value_type, parse(ByteView) -> optional<value_type> (the exact
// length is checked), size(value) and write(span, value). get_extension/set_extension tie them to an
// ExtensionMap and a packet.
#pragma once

#include "rtp/extension_map.hpp"
#include "rtp/rtp_packet.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace rtcpp::rtp {

/// mid, rid and repaired-rid: short identifiers (RFC 8843 / RFC 8852). The parsed value is a view into the
/// packet; trailing NUL bytes (some senders pad with them) are dropped.
struct RtpStreamIdCodec {
    using value_type = std::string_view;
    static constexpr size_t kMaxSize = 255;
    static std::optional<std::string_view> parse(ByteView data);
    static size_t size(std::string_view v) { return v.size(); }
    static bool write(std::span<uint8_t> out, std::string_view v);
};
struct MidExtension : RtpStreamIdCodec {
    static constexpr RtpExtensionType kType = RtpExtensionType::Mid;
};
struct RidExtension : RtpStreamIdCodec {
    static constexpr RtpExtensionType kType = RtpExtensionType::RtpStreamId;
};
struct RepairedRidExtension : RtpStreamIdCodec {
    static constexpr RtpExtensionType kType = RtpExtensionType::RepairedRtpStreamId;
};

/// abs-send-time: 24-bit 6.18 fixed-point seconds (wraps every 64 s).
struct AbsSendTimeExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::AbsSendTime;
    using value_type = uint32_t;
    static std::optional<uint32_t> parse(ByteView data);
    static size_t size(uint32_t) { return 3; }
    static bool write(std::span<uint8_t> out, uint32_t v);
    static uint32_t from_time(Timestamp t);
    /// The 24-bit value as a time in [0, 64 s).
    static TimeDelta to_time(uint32_t v);
};

/// transport-wide-cc: 16-bit transport sequence number.
struct TransportSequenceNumberExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::TransportSequenceNumber;
    using value_type = uint16_t;
    static std::optional<uint16_t> parse(ByteView data);
    static size_t size(uint16_t) { return 2; }
    static bool write(std::span<uint8_t> out, uint16_t v);
};

struct AudioLevel {
    bool voice_activity = false;
    /// -dBov, 0 (loudest) .. 127 (silence).
    uint8_t level = 127;
    bool operator==(const AudioLevel&) const = default;
};
/// ssrc-audio-level (RFC 6464).
struct AudioLevelExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::AudioLevel;
    using value_type = AudioLevel;
    static std::optional<AudioLevel> parse(ByteView data);
    static size_t size(const AudioLevel&) { return 1; }
    static bool write(std::span<uint8_t> out, const AudioLevel& v);
};

struct VideoOrientation {
    uint16_t rotation = 0;  ///< degrees clockwise: 0, 90, 180 or 270
    bool back_camera = false;
    bool horizontal_flip = false;
    bool operator==(const VideoOrientation&) const = default;
};
/// Coordination of video orientation (3GPP TS 26.114, urn:3gpp:video-orientation).
struct VideoOrientationExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::VideoOrientation;
    using value_type = VideoOrientation;
    static std::optional<VideoOrientation> parse(ByteView data);
    static size_t size(const VideoOrientation&) { return 1; }
    static bool write(std::span<uint8_t> out, const VideoOrientation& v);
};

struct PlayoutDelay {
    TimeDelta min;  ///< multiples of 10 ms, at most 40.95 s
    TimeDelta max;
    bool operator==(const PlayoutDelay&) const = default;
};
struct PlayoutDelayExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::PlayoutDelay;
    using value_type = PlayoutDelay;
    static std::optional<PlayoutDelay> parse(ByteView data);
    static size_t size(const PlayoutDelay&) { return 3; }
    /// False if a bound is negative, larger than 40.95 s, or min > max.
    static bool write(std::span<uint8_t> out, const PlayoutDelay& v);
};

struct AbsCaptureTime {
    uint64_t absolute_capture_timestamp = 0;  ///< NTP UQ32.32
    std::optional<int64_t> estimated_capture_clock_offset;  ///< Q32.32 seconds
    bool operator==(const AbsCaptureTime&) const = default;
};
struct AbsCaptureTimeExtension {
    static constexpr RtpExtensionType kType = RtpExtensionType::AbsCaptureTime;
    using value_type = AbsCaptureTime;
    static std::optional<AbsCaptureTime> parse(ByteView data);
    static size_t size(const AbsCaptureTime& v) { return v.estimated_capture_clock_offset ? 16 : 8; }
    static bool write(std::span<uint8_t> out, const AbsCaptureTime& v);
};

/// Reads a typed extension through the map. nullopt if not negotiated, absent, or malformed.
template <class Ext>
std::optional<typename Ext::value_type> get_extension(const RtpPacketView& packet, const ExtensionMap& map) {
    const auto id = map.id_of(Ext::kType);
    if (!id) return std::nullopt;
    const auto data = packet.find_extension(*id);
    if (!data) return std::nullopt;
    return Ext::parse(*data);
}

/// Writes a typed extension into a header being built. False if not negotiated or the value is invalid.
template <class Ext>
bool set_extension(RtpHeader& header, const ExtensionMap& map, const typename Ext::value_type& value) {
    const auto id = map.id_of(Ext::kType);
    if (!id) return false;
    const size_t n = Ext::size(value);
    auto span = header.extensions.allocate(*id, n);
    if (!span) return false;
    if (!Ext::write(*span, value)) {
        header.extensions.remove(*id);
        return false;
    }
    return true;
}

} // namespace rtcpp::rtp
