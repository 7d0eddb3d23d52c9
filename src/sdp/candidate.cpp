#include "sdp/candidate.hpp"

#include "sdp/text.hpp"

#include <rtcpp/socket_addr.hpp>

namespace rtcpp::sdp {

std::string_view to_string(CandidateTransport t) { return t == CandidateTransport::Udp ? "udp" : "tcp"; }

std::string_view to_string(CandidateType t) {
    switch (t) {
    case CandidateType::Host: return "host";
    case CandidateType::Srflx: return "srflx";
    case CandidateType::Prflx: return "prflx";
    case CandidateType::Relay: return "relay";
    }
    return "host";
}

std::string_view to_string(TcpType t) {
    switch (t) {
    case TcpType::Active: return "active";
    case TcpType::Passive: return "passive";
    case TcpType::So: return "so";
    }
    return "active";
}

namespace {

Error candidate_error(std::string message) {
    return make_error(ErrorCategory::SyntaxError, "sdp", "bad candidate: " + std::move(message));
}

// An IP literal, or a DNS name (mDNS names end in ".local"); the name is checked for DNS characters only.
bool valid_address(std::string_view a) {
    if (a.empty() || a.size() > 253) return false;
    if (IpAddr::parse(a).ok()) return true;
    for (char c : a) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!ok) return false;
    }
    return a.front() != '.' && a.front() != '-';
}

} // namespace

bool Candidate::is_mdns() const {
    return address.size() > 6 && text::iequals(std::string_view(address).substr(address.size() - 6), ".local");
}

std::string Candidate::to_string() const {
    std::string s = "candidate:";
    s += foundation;
    s += ' ';
    s += std::to_string(component);
    s += ' ';
    s += sdp::to_string(transport);
    s += ' ';
    s += std::to_string(priority);
    s += ' ';
    s += address;
    s += ' ';
    s += std::to_string(port);
    s += " typ ";
    s += sdp::to_string(type);
    if (related_address) s += " raddr " + *related_address;
    if (related_port) s += " rport " + std::to_string(*related_port);
    if (tcp_type) {
        s += " tcptype ";
        s += sdp::to_string(*tcp_type);
    }
    if (generation) s += " generation " + std::to_string(*generation);
    if (network_id) s += " network-id " + std::to_string(*network_id);
    if (network_cost) s += " network-cost " + std::to_string(*network_cost);
    for (const auto& [k, v] : extensions) s += " " + k + " " + v;
    return s;
}

Result<Candidate> parse_candidate(std::string_view input) {
    std::string_view s = input;
    if (s.size() > 4096) return candidate_error("longer than 4096 bytes");
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    if (s.substr(0, 2) == "a=") s.remove_prefix(2);
    if (s.substr(0, 10) == "candidate:") s.remove_prefix(10);
    auto f = text::split(s, ' ');
    if (f.size() < 8) return candidate_error("expected at least 8 fields, got " + std::to_string(f.size()));
    Candidate c;
    if (f[0].size() > 32 || !text::is_visible(f[0])) return candidate_error("foundation '" + std::string(f[0]) + "'");
    c.foundation = std::string(f[0]);
    auto comp = text::parse_uint<uint16_t>(f[1]);
    if (!comp || *comp < 1 || *comp > 256) return candidate_error("component id '" + std::string(f[1]) + "'");
    c.component = *comp;
    if (text::iequals(f[2], "udp"))
        c.transport = CandidateTransport::Udp;
    else if (text::iequals(f[2], "tcp"))
        c.transport = CandidateTransport::Tcp;
    else
        return candidate_error("unsupported transport '" + std::string(f[2]) + "'");
    auto prio = text::parse_uint<uint32_t>(f[3]);
    if (!prio) return candidate_error("priority '" + std::string(f[3]) + "'");
    c.priority = *prio;
    if (!valid_address(f[4])) return candidate_error("address '" + std::string(f[4]) + "'");
    c.address = std::string(f[4]);
    auto port = text::parse_uint<uint16_t>(f[5]);
    if (!port) return candidate_error("port '" + std::string(f[5]) + "'");
    c.port = *port;
    if (f[6] != "typ") return candidate_error("expected 'typ', got '" + std::string(f[6]) + "'");
    if (f[7] == "host")
        c.type = CandidateType::Host;
    else if (f[7] == "srflx")
        c.type = CandidateType::Srflx;
    else if (f[7] == "prflx")
        c.type = CandidateType::Prflx;
    else if (f[7] == "relay")
        c.type = CandidateType::Relay;
    else
        return candidate_error("candidate type '" + std::string(f[7]) + "'");
    if ((f.size() - 8) % 2 != 0) return candidate_error("extension name without value");
    for (size_t i = 8; i + 1 < f.size(); i += 2) {
        std::string_view k = f[i], v = f[i + 1];
        auto dup = [&] { return candidate_error("duplicate '" + std::string(k) + "'"); };
        if (k == "raddr") {
            if (c.related_address) return dup();
            if (!valid_address(v)) return candidate_error("raddr '" + std::string(v) + "'");
            c.related_address = std::string(v);
        } else if (k == "rport") {
            if (c.related_port) return dup();
            auto p = text::parse_uint<uint16_t>(v);
            if (!p) return candidate_error("rport '" + std::string(v) + "'");
            c.related_port = *p;
        } else if (k == "tcptype") {
            if (c.tcp_type) return dup();
            if (v == "active")
                c.tcp_type = TcpType::Active;
            else if (v == "passive")
                c.tcp_type = TcpType::Passive;
            else if (v == "so")
                c.tcp_type = TcpType::So;
            else
                return candidate_error("tcptype '" + std::string(v) + "'");
        } else if (k == "generation" || k == "network-id" || k == "network-cost") {
            auto& field = k == "generation" ? c.generation : k == "network-id" ? c.network_id : c.network_cost;
            if (field) return dup();
            auto n = text::parse_uint<uint32_t>(v);
            if (!n) return candidate_error(std::string(k) + " '" + std::string(v) + "'");
            field = *n;
        } else {
            if (c.extensions.size() >= 32) return candidate_error("more than 32 extension attributes");
            c.extensions.emplace_back(std::string(k), std::string(v));
        }
    }
    if (c.tcp_type && c.transport != CandidateTransport::Tcp) return candidate_error("tcptype on a udp candidate");
    return c;
}

IceCandidate to_ice_candidate(const Candidate& c, std::string sdp_mid, uint16_t sdp_mline_index) {
    return IceCandidate{c.to_string(), std::move(sdp_mid), sdp_mline_index};
}

std::optional<Result<Candidate>> from_ice_candidate(const IceCandidate& ic) {
    if (ic.candidate.empty()) return std::nullopt;
    return parse_candidate(ic.candidate);
}

} // namespace rtcpp::sdp
