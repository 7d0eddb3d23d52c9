// ICE candidates (RFC 8445 section 5.1): types, priorities, foundations, and their SDP form (RFC 8839), which
// trickled candidates use as bare "candidate:..." strings.
#pragma once

#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rtcpp::ice {

enum class CandidateType : uint8_t { Host, PeerReflexive, ServerReflexive, Relayed };
std::string_view to_string(CandidateType t); ///< "host", "prflx", "srflx", "relay"

/// RFC 8445 5.1.2.2 recommended type preferences.
uint32_t type_preference(CandidateType t);
/// RFC 8445 5.1.2.1: 2^24 * type preference + 2^8 * local preference + (256 - component).
uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint16_t component = 1);
/// Local preference of the `index`-th local interface address: IPv6 above IPv4 (RFC 8421), loopback last.
uint16_t local_preference(const IpAddr& ip, size_t index);
/// RFC 8445 6.1.2.3: 2^32 * min(G, D) + 2 * max(G, D) + (G > D ? 1 : 0), G the controlling side's priority.
uint64_t pair_priority(uint32_t controlling_priority, uint32_t controlled_priority);

struct Candidate {
    CandidateType type = CandidateType::Host;
    std::string foundation;
    uint16_t component = 1;
    uint32_t priority = 0;
    /// The transport address (for a relayed candidate, the address on the TURN server). For a remote mDNS candidate
    /// whose name could not be resolved, the unspecified address with the signalled port.
    SocketAddr address;
    /// Local candidates: the address the agent sends from (host: itself; srflx/prflx: the host address; relay: the
    /// relayed address, i.e. the "socket" that the TURN client wraps). Remote candidates: equal to `address`.
    SocketAddr base;
    /// raddr/rport in SDP.
    std::optional<SocketAddr> related;
    /// A remote "<uuid>.local" host name (address unresolved).
    std::string hostname;

    bool is_mdns() const { return !hostname.empty(); }
    /// "candidate:<foundation> <component> udp <priority> <ip> <port> typ <type> [raddr <ip> rport <port>]"
    std::string to_sdp() const;
    bool operator==(const Candidate&) const = default;
};

/// Parses "candidate:...", "a=candidate:..." or the value after "candidate:". Only UDP candidates are accepted.
/// A ".local" host name yields a candidate with `hostname` set and no address.
Result<Candidate> parse_candidate(std::string_view sdp);

} // namespace rtcpp::ice
