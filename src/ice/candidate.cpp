#include "ice/candidate.hpp"

#include "sdp/candidate.hpp"

#include <algorithm>

namespace rtcpp::ice {

std::string_view to_string(CandidateType t) {
    switch (t) {
    case CandidateType::Host: return "host";
    case CandidateType::PeerReflexive: return "prflx";
    case CandidateType::ServerReflexive: return "srflx";
    case CandidateType::Relayed: return "relay";
    }
    return "host";
}

std::string_view to_string(Transport t) { return t == Transport::Tcp ? "tcp" : "udp"; }

std::string_view to_string(TcpType t) {
    switch (t) {
    case TcpType::Active: return "active";
    case TcpType::Passive: return "passive";
    case TcpType::So: return "so";
    }
    return "active";
}

uint32_t tcp_type_preference(CandidateType t) {
    switch (t) {
    case CandidateType::Host: return 90;
    case CandidateType::PeerReflexive: return 80;
    case CandidateType::ServerReflexive: return 65;
    case CandidateType::Relayed: return 0;
    }
    return 0;
}

uint16_t tcp_local_preference(CandidateType type, TcpType tcp, uint16_t udp_local_preference) {
    uint32_t direction = 0;
    if (type == CandidateType::Host) direction = tcp == TcpType::Active ? 6 : tcp == TcpType::Passive ? 4 : 2;
    else direction = tcp == TcpType::So ? 6 : tcp == TcpType::Active ? 4 : 2;
    return static_cast<uint16_t>((direction << 13) + (udp_local_preference >> 3));
}

uint32_t tcp_candidate_priority(CandidateType type, TcpType tcp, uint16_t udp_local_preference, uint16_t component) {
    return (tcp_type_preference(type) << 24) + (uint32_t{tcp_local_preference(type, tcp, udp_local_preference)} << 8) +
           (256u - std::min<uint32_t>(component, 256));
}

uint32_t type_preference(CandidateType t) {
    switch (t) {
    case CandidateType::Host: return 126;
    case CandidateType::PeerReflexive: return 110;
    case CandidateType::ServerReflexive: return 100;
    case CandidateType::Relayed: return 0;
    }
    return 0;
}

uint32_t candidate_priority(CandidateType type, uint16_t local_pref, uint16_t component) {
    return (type_preference(type) << 24) + (uint32_t{local_pref} << 8) + (256u - std::min<uint32_t>(component, 256));
}

uint16_t local_preference(const IpAddr& ip, size_t index) {
    // Family gives the top bits so every IPv6 address outranks every IPv4 one; the interface order breaks ties.
    uint32_t family = ip.is_v6() ? 0xC000 : 0x8000;
    if (ip.is_loopback()) family -= 0x4000;
    if (ip.is_v6() && ip.is_link_local()) family -= 0x2000;
    return static_cast<uint16_t>(family + 0x1FFF - std::min<size_t>(index, 0x1FFF));
}

uint64_t pair_priority(uint32_t g, uint32_t d) {
    const uint64_t lo = std::min(g, d), hi = std::max(g, d);
    return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

std::string Candidate::to_sdp() const {
    sdp::Candidate c;
    c.foundation = foundation.empty() ? "0" : foundation;
    c.component = component;
    c.transport = is_tcp() ? sdp::CandidateTransport::Tcp : sdp::CandidateTransport::Udp;
    if (is_tcp()) {
        const TcpType t = tcp_type.value_or(TcpType::Passive);
        c.tcp_type = t == TcpType::Active ? sdp::TcpType::Active : t == TcpType::Passive ? sdp::TcpType::Passive
                                                                                           : sdp::TcpType::So;
    }
    c.priority = priority;
    c.address = is_mdns() ? hostname : address.ip().to_string();
    c.port = address.port();
    switch (type) {
    case CandidateType::Host: c.type = sdp::CandidateType::Host; break;
    case CandidateType::PeerReflexive: c.type = sdp::CandidateType::Prflx; break;
    case CandidateType::ServerReflexive: c.type = sdp::CandidateType::Srflx; break;
    case CandidateType::Relayed: c.type = sdp::CandidateType::Relay; break;
    }
    if (related) {
        c.related_address = related->ip().to_string();
        c.related_port = related->port();
    }
    return c.to_string();
}

Result<Candidate> parse_candidate(std::string_view text) {
    auto parsed = sdp::parse_candidate(text);
    if (!parsed.ok()) return parsed.error();
    const sdp::Candidate& s = *parsed;
    Candidate c;
    if (s.transport == sdp::CandidateTransport::Tcp) {
        if (!s.tcp_type) return make_error(ErrorCategory::SyntaxError, "ice", "a TCP candidate without tcptype");
        c.transport = Transport::Tcp;
        c.tcp_type = *s.tcp_type == sdp::TcpType::Active    ? TcpType::Active
                     : *s.tcp_type == sdp::TcpType::Passive ? TcpType::Passive
                                                             : TcpType::So;
    }
    const bool active = c.tcp_type == TcpType::Active;
    const uint16_t port = active ? kActiveTcpPort : s.port;
    c.foundation = s.foundation;
    c.component = s.component;
    c.priority = s.priority;
    switch (s.type) {
    case sdp::CandidateType::Host: c.type = CandidateType::Host; break;
    case sdp::CandidateType::Prflx: c.type = CandidateType::PeerReflexive; break;
    case sdp::CandidateType::Srflx: c.type = CandidateType::ServerReflexive; break;
    case sdp::CandidateType::Relay: c.type = CandidateType::Relayed; break;
    }
    if (s.is_mdns()) {
        c.hostname = s.address;
        c.address = SocketAddr(IpAddr::v4_any(), port); // the port is known, the address is not
    } else {
        auto ip = IpAddr::parse(s.address);
        if (!ip.ok()) return make_error(ErrorCategory::SyntaxError, "ice", "candidate address is not an IP literal");
        if (port == 0) return make_error(ErrorCategory::SyntaxError, "ice", "candidate port 0");
        c.address = SocketAddr(*ip, port);
        c.base = c.address;
    }
    if (s.related_address && s.related_port) {
        auto rip = IpAddr::parse(*s.related_address);
        if (rip.ok()) c.related = SocketAddr(*rip, *s.related_port);
    }
    return c;
}

} // namespace rtcpp::ice
