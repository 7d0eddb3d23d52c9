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
/// ICE over UDP, or over TCP (RFC 6544) with RFC 4571 framing done by whoever owns the connection.
enum class Transport : uint8_t { Udp, Tcp };
std::string_view to_string(Transport t); ///< "udp", "tcp"
/// RFC 6544 4.1: active opens connections, passive accepts them, so (simultaneous open) does both.
enum class TcpType : uint8_t { Active, Passive, So };
std::string_view to_string(TcpType t); ///< "active", "passive", "so"
/// The port an active TCP candidate signals (RFC 6544 4.5: its real port is not known before it connects).
inline constexpr uint16_t kActiveTcpPort = 9;

/// RFC 8445 5.1.2.2 recommended type preferences.
uint32_t type_preference(CandidateType t);
/// RFC 8445 5.1.2.1: 2^24 * type preference + 2^8 * local preference + (256 - component).
uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint16_t component = 1);
/// Local preference of the `index`-th local interface address: IPv6 above IPv4 (RFC 8421), loopback last.
uint16_t local_preference(const IpAddr& ip, size_t index);
/// RFC 8445 6.1.2.3: 2^32 * min(G, D) + 2 * max(G, D) + (G > D ? 1 : 0), G the controlling side's priority.
uint64_t pair_priority(uint32_t controlling_priority, uint32_t controlled_priority);
/// Type preference of a TCP candidate: below every UDP candidate of the same type, so a working UDP pair wins (the
/// values libwebrtc uses for host and prflx; RFC 6544 4.2 leaves it to the implementation).
uint32_t tcp_type_preference(CandidateType t);
/// RFC 6544 4.2: local preference = 2^13 * direction preference + other preference. Host candidates rank active 6,
/// passive 4, so 2 (active first: it needs no open port on our side); others so 6, active 4, passive 2. The other
/// preference keeps the UDP ordering of interfaces (`udp_local_preference` from local_preference()) in 13 bits.
uint16_t tcp_local_preference(CandidateType type, TcpType tcp, uint16_t udp_local_preference);
/// A TCP candidate's priority: tcp_type_preference and tcp_local_preference in the RFC 8445 formula.
uint32_t tcp_candidate_priority(CandidateType type, TcpType tcp, uint16_t udp_local_preference,
                                uint16_t component = 1);

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
    Transport transport = Transport::Udp;
    /// Set exactly when transport is Tcp.
    std::optional<TcpType> tcp_type;

    bool is_mdns() const { return !hostname.empty(); }
    bool is_tcp() const { return transport == Transport::Tcp; }
    /// "candidate:<foundation> <component> udp|tcp <priority> <ip> <port> typ <type> [raddr <ip> rport <port>]
    /// [tcptype active|passive|so]"
    std::string to_sdp() const;
    bool operator==(const Candidate&) const = default;
};

/// Parses "candidate:...", "a=candidate:..." or the value after "candidate:". UDP candidates, and TCP candidates with
/// a tcptype (RFC 6544; an active one's port, 9 or 0 as some stacks write it, is read as 9).
/// A ".local" host name yields a candidate with `hostname` set and no address.
Result<Candidate> parse_candidate(std::string_view sdp);

} // namespace rtcpp::ice
