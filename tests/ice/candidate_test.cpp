#include "ice/candidate.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::ice;

TEST_CASE("candidate priority formula and type preferences (RFC 8445 5.1.2)") {
    CHECK(type_preference(CandidateType::Host) == 126);
    CHECK(type_preference(CandidateType::PeerReflexive) == 110);
    CHECK(type_preference(CandidateType::ServerReflexive) == 100);
    CHECK(type_preference(CandidateType::Relayed) == 0);
    CHECK(candidate_priority(CandidateType::Host, 65535, 1) == (126u << 24) + (65535u << 8) + 255u);
    CHECK(candidate_priority(CandidateType::Relayed, 0, 2) == 254u);
    // Type dominates local preference.
    CHECK(candidate_priority(CandidateType::Host, 0) > candidate_priority(CandidateType::PeerReflexive, 65535));
    CHECK(candidate_priority(CandidateType::PeerReflexive, 0) >
          candidate_priority(CandidateType::ServerReflexive, 65535));
    CHECK(candidate_priority(CandidateType::ServerReflexive, 0) > candidate_priority(CandidateType::Relayed, 65535));
}

TEST_CASE("local preference: IPv6 over IPv4, interface order, loopback last") {
    const auto v6 = *IpAddr::parse("2001:db8::1");
    const auto v4 = IpAddr::v4(192, 168, 1, 2);
    CHECK(local_preference(v6, 5) > local_preference(v4, 0));
    CHECK(local_preference(v4, 0) > local_preference(v4, 1));
    CHECK(local_preference(v4, 1000) > local_preference(IpAddr::v4_loopback(), 0));
    CHECK(local_preference(*IpAddr::parse("fe80::1"), 0) < local_preference(v6, 100));
}

TEST_CASE("pair priority (RFC 8445 6.1.2.3)") {
    const uint32_t g = 2130706431, d = 1694498815;
    CHECK(pair_priority(g, d) == (uint64_t{d} << 32) + 2 * uint64_t{g} + 1);
    CHECK(pair_priority(d, g) == (uint64_t{d} << 32) + 2 * uint64_t{g});
    // The two sides compute the same value for the same pair.
    CHECK(pair_priority(g, d) != pair_priority(d, g));
    CHECK(pair_priority(5, 5) == (uint64_t{5} << 32) + 10);
}

TEST_CASE("candidate SDP round trip") {
    Candidate c;
    c.type = CandidateType::ServerReflexive;
    c.foundation = "4";
    c.priority = 1694498815;
    c.address = SocketAddr(IpAddr::v4(203, 0, 113, 7), 40001);
    c.related = SocketAddr(IpAddr::v4(10, 0, 0, 2), 5000);
    const auto s = c.to_sdp();
    CHECK(s == "candidate:4 1 udp 1694498815 203.0.113.7 40001 typ srflx raddr 10.0.0.2 rport 5000");
    auto back = parse_candidate(s);
    REQUIRE(back.ok());
    CHECK(back->type == c.type);
    CHECK(back->address == c.address);
    CHECK(back->related == c.related);
    CHECK(back->priority == c.priority);
    CHECK(back->foundation == "4");
    auto a = parse_candidate("a=candidate:1 1 UDP 2130706431 [::1] 9 typ host");
    CHECK_FALSE(a.ok()); // brackets are not SDP
    auto v6 = parse_candidate("candidate:1 1 UDP 2130706431 2001:db8::5 9 typ host");
    REQUIRE(v6.ok());
    CHECK(v6->address.ip().is_v6());
}

TEST_CASE("mDNS, TCP and malformed candidates") {
    auto m = parse_candidate("candidate:1 1 udp 2122260223 3b0a3f7e-1234-4abc-9def-0123456789ab.local 54321 typ host");
    REQUIRE(m.ok());
    CHECK(m->is_mdns());
    CHECK(m->address.port() == 54321);
    CHECK(m->address.ip().is_unspecified());
    CHECK(m->to_sdp().find(".local 54321") != std::string::npos);
    // TCP candidates (RFC 6544) are accepted since ICE-TCP; a tcp candidate without a tcptype is not.
    auto tcp = parse_candidate("candidate:1 1 tcp 2122260223 10.0.0.1 9 typ host tcptype active");
    REQUIRE(tcp.ok());
    CHECK(tcp->transport == Transport::Tcp);
    CHECK_FALSE(parse_candidate("candidate:1 1 tcp 2122260223 10.0.0.1 9 typ host").ok());
    CHECK_FALSE(parse_candidate("candidate:1 1 udp 1 10.0.0.1 0 typ host").ok());
    CHECK_FALSE(parse_candidate("candidate:1 1 udp").ok());
    CHECK_FALSE(parse_candidate("candidate:1 1 udp 1 10.0.0.1 9 typ bogus").ok());
}
