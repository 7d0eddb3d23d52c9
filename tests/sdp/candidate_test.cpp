#include "sdp/candidate.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::sdp;

TEST_CASE("candidate with every field parses and formats back") {
    std::string line =
        "candidate:842163049 1 udp 1677729535 198.51.100.7 51234 typ srflx raddr 10.0.0.5 rport 51234 "
        "generation 3 network-id 2 network-cost 10 ufrag Wve7";
    auto c = parse_candidate(line);
    REQUIRE_MESSAGE(c.ok(), c.error().message);
    CHECK(c->foundation == "842163049");
    CHECK(c->component == 1);
    CHECK(c->transport == CandidateTransport::Udp);
    CHECK(c->priority == 1677729535u);
    CHECK(c->address == "198.51.100.7");
    CHECK(c->port == 51234);
    CHECK(c->type == CandidateType::Srflx);
    CHECK(c->related_address == "10.0.0.5");
    CHECK(c->related_port == 51234);
    CHECK(c->generation == 3u);
    CHECK(c->network_id == 2u);
    CHECK(c->network_cost == 10u);
    REQUIRE(c->extensions.size() == 1);
    CHECK(c->extensions[0] == std::pair<std::string, std::string>{"ufrag", "Wve7"});
    CHECK(c->to_string() == line);
    auto again = parse_candidate(c->to_string());
    REQUIRE(again.ok());
    CHECK(*again == *c);
}

TEST_CASE("candidate forms: a= prefix, bare value, uppercase UDP, IPv6, mDNS, tcp types, relay, prflx") {
    auto a = parse_candidate("a=candidate:0 1 UDP 2122252543 2001:db8::1 49203 typ host");
    REQUIRE(a.ok());
    CHECK(a->transport == CandidateTransport::Udp);
    CHECK(a->address == "2001:db8::1");
    CHECK_FALSE(a->is_mdns());
    auto b = parse_candidate("1 1 udp 2113937151 4b7a7d2e-6e1c-4c3e-9a40-7e0e1e7d1a11.local 55555 typ host");
    REQUIRE(b.ok());
    CHECK(b->is_mdns());
    auto t = parse_candidate("candidate:2 1 TCP 2105458943 192.0.2.3 9 typ host tcptype passive");
    REQUIRE(t.ok());
    CHECK(t->transport == CandidateTransport::Tcp);
    CHECK(t->tcp_type == TcpType::Passive);
    CHECK(t->to_string() == "candidate:2 1 tcp 2105458943 192.0.2.3 9 typ host tcptype passive");
    auto so = parse_candidate("candidate:2 1 tcp 1 192.0.2.3 9 typ host tcptype so");
    REQUIRE(so.ok());
    CHECK(so->tcp_type == TcpType::So);
    auto r = parse_candidate("candidate:3 2 udp 16777215 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0");
    REQUIRE(r.ok());
    CHECK(r->type == CandidateType::Relay);
    CHECK(r->component == 2);
    auto p = parse_candidate("candidate:4 1 udp 1 203.0.113.9 3478 typ prflx");
    REQUIRE(p.ok());
    CHECK(p->type == CandidateType::Prflx);
}

TEST_CASE("malformed candidates are refused with a reason") {
    struct Bad {
        const char* text;
        const char* reason;
    };
    Bad cases[] = {
        {"candidate:1 1 udp 1 1.2.3.4 5 typ", "at least 8"},
        {"candidate:1 0 udp 1 1.2.3.4 5 typ host", "component"},
        {"candidate:1 1 sctp 1 1.2.3.4 5 typ host", "transport"},
        {"candidate:1 1 udp 99999999999 1.2.3.4 5 typ host", "priority"},
        {"candidate:1 1 udp 1 bad_addr! 5 typ host", "address"},
        {"candidate:1 1 udp 1 1.2.3.4 70000 typ host", "port"},
        {"candidate:1 1 udp 1 1.2.3.4 5 type host", "'typ'"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ magic", "candidate type"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ host generation", "without value"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ host generation x", "generation"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype active", "tcptype on a udp"},
        {"candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype sideways", "tcptype"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.1.1.1 raddr 2.2.2.2", "duplicate"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ srflx rport -1", "rport"},
        {"candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host", "foundation"},
    };
    for (const auto& b : cases) {
        CAPTURE(b.text);
        auto c = parse_candidate(b.text);
        REQUIRE_FALSE(c.ok());
        CHECK(c.error().message.find(b.reason) != std::string::npos);
    }
}

TEST_CASE("trickle form: IceCandidate to and from the typed candidate") {
    auto c = parse_candidate("candidate:1 1 udp 2122260223 127.0.0.1 47963 typ host generation 0");
    REQUIRE(c.ok());
    auto ic = to_ice_candidate(*c, "0", 0);
    CHECK(ic.candidate == "candidate:1 1 udp 2122260223 127.0.0.1 47963 typ host generation 0");
    CHECK(ic.sdp_mid == "0");
    CHECK(ic.sdp_mline_index == 0);
    auto back = from_ice_candidate(ic);
    REQUIRE(back);
    REQUIRE(back->ok());
    CHECK(**back == *c);
    CHECK_FALSE(from_ice_candidate(rtcpp::IceCandidate{"", std::string("0"), std::nullopt}));
    auto bad = from_ice_candidate(rtcpp::IceCandidate{"candidate:garbage", std::nullopt, 0});
    REQUIRE(bad);
    CHECK_FALSE(bad->ok());
}
