// The session descriptions and ICE candidates a PeerConnection user exchanges with the remote peer over their own
// signaling channel, in the shape of the W3C RTCSessionDescriptionInit and RTCIceCandidateInit dictionaries.
// They carry SDP text; the typed model and the offer/answer logic live inside the library (src/sdp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rtcpp {

enum class SdpType { Offer, Answer, Pranswer, Rollback };

/// "offer", "answer", "pranswer", "rollback" (the W3C RTCSdpType strings).
constexpr std::string_view to_string(SdpType t) {
    switch (t) {
    case SdpType::Offer: return "offer";
    case SdpType::Answer: return "answer";
    case SdpType::Pranswer: return "pranswer";
    case SdpType::Rollback: return "rollback";
    }
    return "offer";
}

/// Parses the W3C RTCSdpType strings; anything else yields nothing.
constexpr std::optional<SdpType> sdp_type_from_string(std::string_view s) {
    if (s == "offer") return SdpType::Offer;
    if (s == "answer") return SdpType::Answer;
    if (s == "pranswer") return SdpType::Pranswer;
    if (s == "rollback") return SdpType::Rollback;
    return std::nullopt;
}

/// An offer or answer as signaled: the type and the SDP text (empty for rollback).
struct SessionDescription {
    SdpType type = SdpType::Offer;
    std::string sdp;
    bool operator==(const SessionDescription&) const = default;
};

/// One trickled ICE candidate. `candidate` is the attribute value "candidate:..." without "a=" (empty means
/// end of candidates); the m-line is named by `sdp_mid` and/or its zero-based `sdp_mline_index`.
struct IceCandidate {
    std::string candidate;
    std::optional<std::string> sdp_mid;
    std::optional<uint16_t> sdp_mline_index;
    bool operator==(const IceCandidate&) const = default;
};

} // namespace rtcpp
