// The mapping of RFC 8285 extension ids to extension types negotiated per m-line (a=extmap).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rtcpp::rtp {

enum class RtpExtensionType : uint8_t {
    None,
    Mid,
    RtpStreamId,
    RepairedRtpStreamId,
    AbsSendTime,
    TransportSequenceNumber,
    AudioLevel,
    VideoOrientation,
    PlayoutDelay,
    AbsCaptureTime,
};

inline constexpr size_t kRtpExtensionTypeCount = 10;

/// The URI an a=extmap line uses for a type ("" for None).
std::string_view extension_uri(RtpExtensionType type);
/// The type behind a URI, None if unknown.
RtpExtensionType extension_type_from_uri(std::string_view uri);

class ExtensionMap {
public:
    /// Registers id (1..255) for type. False if the id is invalid, or already bound to another type. A type
    /// registered twice keeps the latest id for sending; both ids are recognised on receive.
    bool register_extension(uint8_t id, RtpExtensionType type);
    /// From an a=extmap URI. False for unknown URIs (the id stays unbound) and invalid ids.
    bool register_uri(uint8_t id, std::string_view uri);
    void unregister(uint8_t id);

    RtpExtensionType type_of(uint8_t id) const { return by_id_[id]; }
    /// The id to send a type with, nullopt if not negotiated.
    std::optional<uint8_t> id_of(RtpExtensionType type) const;

private:
    std::array<RtpExtensionType, 256> by_id_{};
    std::array<uint8_t, kRtpExtensionTypeCount> by_type_{};
};

} // namespace rtcpp::rtp
