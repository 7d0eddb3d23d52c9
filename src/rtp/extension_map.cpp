#include "rtp/extension_map.hpp"

namespace rtcpp::rtp {

namespace {
struct UriEntry {
    RtpExtensionType type;
    std::string_view uri;
};
constexpr UriEntry kUris[] = {
    {RtpExtensionType::Mid, "urn:ietf:params:rtp-hdrext:sdes:mid"},
    {RtpExtensionType::RtpStreamId, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"},
    {RtpExtensionType::RepairedRtpStreamId, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"},
    {RtpExtensionType::AbsSendTime, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
    {RtpExtensionType::TransportSequenceNumber,
     "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
    {RtpExtensionType::AudioLevel, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"},
    {RtpExtensionType::VideoOrientation, "urn:3gpp:video-orientation"},
    {RtpExtensionType::PlayoutDelay, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"},
    {RtpExtensionType::AbsCaptureTime, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"},
};
} // namespace

std::string_view extension_uri(RtpExtensionType type) {
    for (const auto& e : kUris) {
        if (e.type == type) return e.uri;
    }
    return {};
}

RtpExtensionType extension_type_from_uri(std::string_view uri) {
    for (const auto& e : kUris) {
        if (e.uri == uri) return e.type;
    }
    return RtpExtensionType::None;
}

bool ExtensionMap::register_extension(uint8_t id, RtpExtensionType type) {
    if (id == 0 || type == RtpExtensionType::None) return false;
    if (by_id_[id] != RtpExtensionType::None && by_id_[id] != type) return false;
    by_id_[id] = type;
    by_type_[static_cast<size_t>(type)] = id;
    return true;
}

bool ExtensionMap::register_uri(uint8_t id, std::string_view uri) {
    return register_extension(id, extension_type_from_uri(uri));
}

void ExtensionMap::unregister(uint8_t id) {
    const auto type = by_id_[id];
    if (type == RtpExtensionType::None) return;
    by_id_[id] = RtpExtensionType::None;
    auto& slot = by_type_[static_cast<size_t>(type)];
    if (slot != id) return;
    slot = 0;
    // Fall back to another id still bound to the same type.
    for (size_t i = 1; i < by_id_.size(); ++i) {
        if (by_id_[i] == type) slot = static_cast<uint8_t>(i);
    }
}

std::optional<uint8_t> ExtensionMap::id_of(RtpExtensionType type) const {
    const uint8_t id = by_type_[static_cast<size_t>(type)];
    if (id == 0) return std::nullopt;
    return id;
}

} // namespace rtcpp::rtp
