// An ICE candidate as written in SDP (RFC 8839 section 5.1), parsed and formatted on its own because trickled
// candidates arrive as bare "candidate:..." strings outside any SDP.
#pragma once

#include <rtcpp/result.hpp>
#include <rtcpp/session_description.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtcpp::sdp {

enum class CandidateTransport { Udp, Tcp };
enum class CandidateType { Host, Srflx, Prflx, Relay };
enum class TcpType { Active, Passive, So };

std::string_view to_string(CandidateTransport t);
std::string_view to_string(CandidateType t);
std::string_view to_string(TcpType t);

struct Candidate {
    std::string foundation;
    uint16_t component = 1;
    CandidateTransport transport = CandidateTransport::Udp;
    uint32_t priority = 0;
    /// An IP literal, or a host name (mDNS "<uuid>.local" names from browsers that hide their addresses).
    std::string address;
    uint16_t port = 0;
    CandidateType type = CandidateType::Host;
    std::optional<std::string> related_address;
    std::optional<uint16_t> related_port;
    std::optional<TcpType> tcp_type;
    std::optional<uint32_t> generation;
    std::optional<uint32_t> network_id;
    std::optional<uint32_t> network_cost;
    /// Extension attributes this parser does not know (e.g. "ufrag abcd"), kept in order so they survive.
    std::vector<std::pair<std::string, std::string>> extensions;

    bool is_mdns() const;
    /// "candidate:..." (the attribute value, without "a=").
    std::string to_string() const;
    bool operator==(const Candidate&) const = default;
};

/// Parses "candidate:...", "a=candidate:..." or the bare attribute value after "candidate:".
Result<Candidate> parse_candidate(std::string_view text);

/// The trickle form a PeerConnection user sends to the remote peer.
IceCandidate to_ice_candidate(const Candidate& c, std::string sdp_mid, uint16_t sdp_mline_index);
/// A trickled candidate from the remote peer; an empty `candidate` (end of candidates) yields nothing.
std::optional<Result<Candidate>> from_ice_candidate(const IceCandidate& ic);

} // namespace rtcpp::sdp
