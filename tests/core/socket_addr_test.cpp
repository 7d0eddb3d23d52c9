#include <rtcpp/socket_addr.hpp>

#include <doctest/doctest.h>

#include <unordered_set>

using namespace rtcpp;

TEST_CASE("IPv4 transport addresses parse and format") {
    auto a = SocketAddr::parse("192.168.1.20:5000");
    REQUIRE(a);
    CHECK(a->ip().is_v4());
    CHECK(a->port() == 5000);
    CHECK(a->to_string() == "192.168.1.20:5000");
    CHECK(a->ip().is_private());
    CHECK(a->ip().v4_host_order() == 0xc0a80114);
    CHECK(*a == SocketAddr(IpAddr::v4(192, 168, 1, 20), 5000));
}

TEST_CASE("IPv6 transport addresses parse and format") {
    auto a = SocketAddr::parse("[2001:db8::1]:443");
    REQUIRE(a);
    CHECK(a->ip().is_v6());
    CHECK(a->to_string() == "[2001:db8::1]:443");
    auto lo = SocketAddr::parse("[::1]:9");
    REQUIRE(lo);
    CHECK(lo->ip().is_loopback());
    CHECK(lo->ip() == IpAddr::v6_loopback());
    auto full = IpAddr::parse("2001:0db8:0000:0000:0000:0000:0000:0001");
    REQUIRE(full);
    CHECK(full->to_string() == "2001:db8::1");
    auto mapped = IpAddr::parse("::ffff:1.2.3.4");
    REQUIRE(mapped);
    CHECK(mapped->is_v4_mapped());
    CHECK(IpAddr::parse("fe80::1")->is_link_local());
    CHECK(IpAddr::parse("fd00::1")->is_private());
}

TEST_CASE("bad transport addresses are refused with a message") {
    for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:5x", "1.2.3:5",
                            "256.1.1.1:5", "::1:5", "[::1]5", "[::1", "[1.2.3.4]:5", "[::1]:", "host:80",
                            "1.2.3.4:123456", " 1.2.3.4:5", "fe80::1%eth0", "[fe80::1%eth0]:5"}) {
        auto r = SocketAddr::parse(bad);
        CHECK_MESSAGE(!r, bad);
        if (!r) {
            CHECK(r.error().category == ErrorCategory::SyntaxError);
            CHECK(r.error().message.find("invalid") != std::string::npos);
        }
    }
    CHECK_FALSE(IpAddr::parse(std::string(100, '1')));
}

TEST_CASE("IP address classification") {
    CHECK(IpAddr::parse("127.5.5.5")->is_loopback());
    CHECK(IpAddr::parse("0.0.0.0")->is_unspecified());
    CHECK(IpAddr::parse("::")->is_unspecified());
    CHECK(IpAddr::parse("169.254.1.1")->is_link_local());
    CHECK(IpAddr::parse("10.1.2.3")->is_private());
    CHECK(IpAddr::parse("172.16.0.1")->is_private());
    CHECK_FALSE(IpAddr::parse("172.32.0.1")->is_private());
    CHECK_FALSE(IpAddr::parse("8.8.8.8")->is_private());
}

TEST_CASE("addresses hash and order consistently") {
    std::unordered_set<SocketAddr> set;
    set.insert(*SocketAddr::parse("1.2.3.4:5"));
    set.insert(*SocketAddr::parse("1.2.3.4:5"));
    set.insert(*SocketAddr::parse("1.2.3.4:6"));
    set.insert(*SocketAddr::parse("[::1]:5"));
    CHECK(set.size() == 3);
    CHECK(*SocketAddr::parse("1.2.3.4:5") < *SocketAddr::parse("1.2.3.4:6"));
    // The same four bytes as IPv4 and as the start of an IPv6 address are different addresses.
    std::array<uint8_t, 16> b{};
    b[0] = 1; b[1] = 2; b[2] = 3; b[3] = 4;
    CHECK(IpAddr::v6(b) != IpAddr::v4(1, 2, 3, 4));
}
