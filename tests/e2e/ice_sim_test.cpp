// Two ICE agents over the deterministic simulated network: LAN, NATs, ice-lite, loss, consent, restart, role
// conflict, many candidates, trickle, mDNS and symmetric NATs.
#include "ice_sim_harness.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::ice;
using namespace rtcpp::ice::simtest;

namespace {

const IpAddr kStunIp = IpAddr::v4(198, 51, 100, 1);
const SocketAddr kStunServer(kStunIp, 3478);

AgentConfig config(Role role, bool with_stun = false) {
    AgentConfig c;
    c.role = role;
    if (with_stun) c.stun_servers = {kStunServer};
    return c;
}

CandidateType local_type(IcePeer& p) { return p.agent().selected_pair()->local.type; }
CandidateType remote_type(IcePeer& p) { return p.agent().selected_pair()->remote.type; }

// Network::run_until may run one event past its limit when a superseded timeout sits at the top of the queue; a
// no-op action at the limit keeps the clock exact where a test depends on it.
void run_exactly_to(sim::Network& net, Timestamp t) {
    net.schedule(t, [](sim::Network&) {});
    net.run_until(t);
}

bool both_connected(IcePeer& a, IcePeer& b) { return a.connected() && b.connected(); }

bool reflexive(CandidateType t) {
    return t == CandidateType::ServerReflexive || t == CandidateType::PeerReflexive;
}

// Sends a datagram each way over the selected pair and checks it arrives as data.
void check_data_flows(sim::Network& net, IcePeer& a, IcePeer& b) {
    const size_t a_before = a.data().size(), b_before = b.data().size();
    const uint8_t dtls_like[] = {22, 254, 253, 0, 1, 2, 3};
    REQUIRE(a.agent().send(ByteView(dtls_like, sizeof dtls_like)));
    REQUIRE(b.agent().send(ByteView(dtls_like, sizeof dtls_like)));
    a.after_command();
    b.after_command();
    net.run_for(TimeDelta::millis(500));
    CHECK(a.data().size() == a_before + 1);
    CHECK(b.data().size() == b_before + 1);
    CHECK(a.agent().selected_pair()->bytes_received >= sizeof dtls_like);
    CHECK(a.agent().selected_pair()->bytes_sent >= sizeof dtls_like);
}

} // namespace

TEST_CASE("ICE sim: both on one LAN, the host pair wins") {
    sim::Network net(1);
    IcePeer a(net, config(Role::Controlling), 11), b(net, config(Role::Controlled), 12);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(5)));
    CHECK(local_type(a) == CandidateType::Host);
    CHECK(remote_type(a) == CandidateType::Host);
    CHECK(local_type(b) == CandidateType::Host);
    CHECK(remote_type(b) == CandidateType::Host);
    CHECK(a.agent().selected_pair()->nominated);
    CHECK(b.agent().selected_pair()->nominated);
    CHECK(a.first_time_in(ConnectionState::Checking));
    check_data_flows(net, a, b);
    // With end-of-candidates on both sides and checks done, the state becomes completed.
    net.run_for(TimeDelta::seconds(2));
    CHECK(a.agent().state() == ConnectionState::Completed);
    CHECK(b.agent().state() == ConnectionState::Completed);
    // Consent keeps the pair alive for a long quiet period.
    net.run_for(TimeDelta::seconds(60));
    CHECK(a.connected());
    CHECK(b.connected());
    CHECK_FALSE(a.ever_in(ConnectionState::Disconnected));
    CHECK(a.agent().selected_pair()->consent_requests_sent >= 9);
    CHECK(a.agent().selected_pair()->responses_received >= 9);
}

TEST_CASE("ICE sim: dual-stack LAN prefers the IPv6 host pair") {
    sim::Network net(15);
    IcePeer a(net, config(Role::Controlling), 151), b(net, config(Role::Controlled), 152);
    a.attach({IpAddr::v4(10, 0, 0, 1), *IpAddr::parse("2001:db8::1")}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2), *IpAddr::parse("2001:db8::2")}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(5)));
    CHECK(a.agent().selected_pair()->local.address.ip().is_v6());
    CHECK(a.agent().selected_pair()->remote.address.ip().is_v6());
    CHECK(b.agent().selected_pair()->local.address.ip().is_v6());
    // IPv4 and IPv6 candidates never pair with each other.
    for (const auto& p : a.agent().pair_stats())
        CHECK(p.local.address.family() == p.remote.address.family());
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: both behind endpoint-independent NATs (full, restricted, port-restricted cone) with a STUN "
          "server connect on a reflexive pair") {
    for (auto nat_config : {sim::NatConfig::full_cone(), sim::NatConfig::restricted_cone(),
                            sim::NatConfig::port_restricted_cone()}) {
        CAPTURE(static_cast<int>(nat_config.filtering));
        sim::Network net(2);
        StunServer stun;
        net.add_host(stun, {kStunIp});
        const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), nat_config);
        const auto nat_b = net.add_nat(IpAddr::v4(203, 0, 113, 2), nat_config);
        IcePeer a(net, config(Role::Controlling, true), 21), b(net, config(Role::Controlled, true), 22);
        a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
        b.attach({IpAddr::v4(192, 168, 2, 2)}, 5000, {.behind_nat = nat_b});
        IcePeer::connect(a, b);
        REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
        // Each side gathered a server-reflexive candidate on its NAT's public address.
        bool a_srflx = false;
        for (const auto& c : a.gathered())
            a_srflx |= c.type == CandidateType::ServerReflexive && c.address.ip() == IpAddr::v4(203, 0, 113, 1);
        CHECK(a_srflx);
        CHECK(stun.requests() >= 2);
        CHECK(reflexive(local_type(a)));
        CHECK(reflexive(remote_type(a)));
        CHECK(reflexive(local_type(b)));
        CHECK(reflexive(remote_type(b)));
        CHECK(a.agent().selected_pair()->remote.address.ip() == IpAddr::v4(203, 0, 113, 2));
        check_data_flows(net, a, b);
    }
}

TEST_CASE("ICE sim: behind NATs the unanswered host pair holds the nomination back only nomination_patience") {
    // The host<->host pair outranks the reflexive one and never answers (private addresses behind two NATs). The
    // controlling agent nominates once that pair's check has gone unanswered for nomination_patience, instead of
    // waiting nomination_timeout after the first valid pair.
    auto connect_time = [](TimeDelta patience) {
        sim::Network net(3);
        StunServer stun;
        net.add_host(stun, {kStunIp});
        const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::port_restricted_cone());
        const auto nat_b = net.add_nat(IpAddr::v4(203, 0, 113, 2), sim::NatConfig::port_restricted_cone());
        auto ca = config(Role::Controlling, true);
        ca.nomination_patience = patience;
        IcePeer a(net, ca, 31), b(net, config(Role::Controlled, true), 32);
        a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
        b.attach({IpAddr::v4(192, 168, 2, 2)}, 5000, {.behind_nat = nat_b});
        IcePeer::connect(a, b);
        REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
        CHECK(reflexive(local_type(a)));
        CHECK(reflexive(remote_type(a)));
        return net.now() - Timestamp::zero();
    };
    const TimeDelta fast = connect_time(TimeDelta::millis(150));
    const TimeDelta patient = connect_time(TimeDelta::seconds(5));  // capped by nomination_timeout (1 s)
    CHECK(fast < TimeDelta::millis(500));
    CHECK(patient >= TimeDelta::millis(1000));
}

TEST_CASE("ICE sim: full agent behind a NAT and an ice-lite agent on a public address") {
    sim::Network net(3);
    const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::port_restricted_cone());
    AgentConfig lite;
    lite.lite = true;
    IcePeer a(net, config(Role::Controlling), 31), b(net, lite, 32);
    a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
    b.attach({IpAddr::v4(198, 51, 100, 10)}, 443);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    CHECK(b.agent().role() == Role::Controlled);
    CHECK(a.agent().role() == Role::Controlling);
    // The lite side sees the NAT's mapping as a peer-reflexive remote; the full side learns its own mapping from the
    // XOR-MAPPED-ADDRESS as a peer-reflexive local candidate.
    CHECK(local_type(a) == CandidateType::PeerReflexive);
    CHECK(remote_type(a) == CandidateType::Host);
    CHECK(local_type(b) == CandidateType::Host);
    CHECK(remote_type(b) == CandidateType::PeerReflexive);
    // The lite agent never sends a check of its own.
    CHECK(b.agent().stats().checks_sent == 0);
    check_data_flows(net, a, b);
    net.run_for(TimeDelta::seconds(40));
    CHECK(a.connected());
    // The full side's consent checks keep the lite side connected too.
    CHECK(b.connected());
    CHECK_FALSE(b.ever_in(ConnectionState::Disconnected));
}

TEST_CASE("ICE sim: 20% loss during the checks still connects") {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
        CAPTURE(seed);
        sim::Network net(100 + seed);
        sim::LinkConfig lossy;
        lossy.delay = TimeDelta::millis(10);
        lossy.loss = 0.2;
        const auto up_a = net.add_link(lossy), down_a = net.add_link(lossy);
        const auto up_b = net.add_link(lossy), down_b = net.add_link(lossy);
        IcePeer a(net, config(Role::Controlling), 40 + seed), b(net, config(Role::Controlled), 50 + seed);
        a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000, {.uplink = up_a, .downlink = down_a});
        b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000, {.uplink = up_b, .downlink = down_b});
        IcePeer::connect(a, b);
        REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(20)));
        CHECK(local_type(a) == CandidateType::Host);
        CHECK(net.link_stats(up_a).lost + net.link_stats(up_b).lost + net.link_stats(down_a).lost +
                  net.link_stats(down_b).lost >
              0);
    }
}

TEST_CASE("ICE sim: consent loss goes disconnected, then failed within the RFC 7675 timers") {
    sim::Network net(5);
    sim::LinkConfig clean;
    const auto up_a = net.add_link(clean), down_a = net.add_link(clean);
    IcePeer a(net, config(Role::Controlling), 61), b(net, config(Role::Controlled), 62);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000, {.uplink = up_a, .downlink = down_a});
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(5)));
    net.run_for(TimeDelta::seconds(20));
    REQUIRE(a.connected());
    const Timestamp cut = net.now();
    sim::LinkConfig dead;
    dead.loss = 1.0;
    net.set_link(up_a, dead);
    net.set_link(down_a, dead);
    net.run_for(TimeDelta::seconds(40));
    const auto disconnected = a.first_time_in(ConnectionState::Disconnected, cut);
    const auto failed = a.first_time_in(ConnectionState::Failed, cut);
    REQUIRE(disconnected);
    REQUIRE(failed);
    // A consent check goes out within 6 s (5 s +-20 %) and is declared unanswered 3 s later.
    CHECK(*disconnected - cut <= TimeDelta::seconds(9));
    CHECK(*disconnected - cut >= TimeDelta::seconds(3));
    // Consent expires 30 s after the last response, which came at most one interval before the cut.
    CHECK(*failed - cut <= TimeDelta::seconds(30));
    CHECK(*failed - cut >= TimeDelta::seconds(23));
    CHECK(*failed > *disconnected);
    // The peer loses consent too, and nothing more may be sent.
    CHECK(b.first_time_in(ConnectionState::Failed, cut));
    const uint8_t byte = 1;
    CHECK_FALSE(a.agent().send(ByteView(&byte, 1)));
    CHECK_FALSE(a.agent().selected_route());
}

TEST_CASE("ICE sim: consent recovers from a short outage (disconnected, then connected again)") {
    sim::Network net(6);
    sim::LinkConfig clean;
    const auto up_a = net.add_link(clean), down_a = net.add_link(clean);
    IcePeer a(net, config(Role::Controlling), 63), b(net, config(Role::Controlled), 64);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000, {.uplink = up_a, .downlink = down_a});
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(5)));
    const Timestamp cut = net.now();
    sim::LinkConfig dead;
    dead.loss = 1.0;
    net.set_link(up_a, dead);
    net.set_link(down_a, dead);
    net.run_for(TimeDelta::seconds(12));
    REQUIRE(a.first_time_in(ConnectionState::Disconnected, cut));
    net.set_link(up_a, clean);
    net.set_link(down_a, clean);
    net.run_for(TimeDelta::seconds(10));
    CHECK(a.connected());
    CHECK(a.first_time_in(ConnectionState::Connected, cut));
    CHECK_FALSE(a.first_time_in(ConnectionState::Failed, cut));
}

TEST_CASE("ICE sim: NAT rebinding breaks the pair, an ICE restart recovers") {
    sim::Network net(7);
    StunServer stun;
    net.add_host(stun, {kStunIp});
    const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::port_restricted_cone());
    const auto nat_b = net.add_nat(IpAddr::v4(203, 0, 113, 2), sim::NatConfig::port_restricted_cone());
    IcePeer a(net, config(Role::Controlling, true), 71), b(net, config(Role::Controlled, true), 72);
    a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
    b.attach({IpAddr::v4(192, 168, 2, 2)}, 5000, {.behind_nat = nat_b});
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    const auto old_remote_at_b = b.agent().selected_pair()->remote.address;
    const auto old_ufrag = a.agent().local_credentials().ufrag;
    const Timestamp rebind = net.now();
    net.nat_rebind(nat_a);
    REQUIRE(net.run_until([&] { return a.agent().state() == ConnectionState::Disconnected; },
                          rebind + TimeDelta::seconds(12)));
    IcePeer::restart_both(a, b);
    CHECK(a.agent().local_credentials().ufrag != old_ufrag);
    // During the restart the old route is kept for data.
    CHECK(a.agent().selected_route());
    const Timestamp restarted = net.now();
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, restarted + TimeDelta::seconds(10)));
    CHECK(b.agent().selected_pair()->remote.address != old_remote_at_b);
    CHECK(b.agent().selected_pair()->remote.address.ip() == IpAddr::v4(203, 0, 113, 1));
    CHECK(reflexive(local_type(a)));
    CHECK(reflexive(remote_type(a)));
    CHECK(a.agent().stats().restarts == 1);
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: role conflict (both controlling) is resolved with the tie-breakers") {
    sim::Network net(8);
    IcePeer a(net, config(Role::Controlling), 81), b(net, config(Role::Controlling), 82);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    CHECK(a.agent().role() != b.agent().role());
    // The larger tie-breaker keeps the controlling role.
    const bool a_wins = a.agent().tie_breaker() >= b.agent().tie_breaker();
    CHECK((a.agent().role() == Role::Controlling) == a_wins);
    CHECK(a.agent().stats().role_conflicts + b.agent().stats().role_conflicts >= 1);
    CHECK(local_type(a) == CandidateType::Host);
    CHECK(remote_type(b) == CandidateType::Host);
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: role conflict (both controlled) is resolved too") {
    sim::Network net(9);
    IcePeer a(net, config(Role::Controlled), 91), b(net, config(Role::Controlled), 92);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    CHECK(a.agent().role() != b.agent().role());
}

TEST_CASE("ICE sim: 50 host candidates each side") {
    sim::Network net(10);
    std::vector<IpAddr> ips_a, ips_b;
    for (uint8_t i = 1; i <= 50; ++i) {
        ips_a.push_back(IpAddr::v4(10, 1, 0, i));
        ips_b.push_back(IpAddr::v4(10, 2, 0, i));
    }
    IcePeer a(net, config(Role::Controlling), 101), b(net, config(Role::Controlled), 102);
    a.attach(ips_a, 5000);
    b.attach(ips_b, 5000);
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(30)));
    CHECK(a.gathered().size() == 50);
    CHECK(a.agent().remote_candidates().size() >= 50);
    CHECK(a.agent().pair_stats().size() <= 100);
    CHECK(a.agent().stats().pairs_dropped > 0);
    CHECK(local_type(a) == CandidateType::Host);
    CHECK(remote_type(a) == CandidateType::Host);
    // The best pair is the first interface on each side.
    CHECK(a.agent().selected_pair()->local.address.ip() == IpAddr::v4(10, 1, 0, 1));
    CHECK(a.agent().selected_pair()->remote.address.ip() == IpAddr::v4(10, 2, 0, 1));
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: trickle, remote candidates arriving after the checks started") {
    sim::Network net(11);
    IcePeer a(net, config(Role::Controlling), 111), b(net, config(Role::Controlled), 112);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2), IpAddr::v4(10, 0, 0, 3)}, 5000);
    // B's candidates reach A late: A only learns of B through B's checks first.
    b.signaling_delay = TimeDelta::millis(3000);
    IcePeer::connect(a, b);
    run_exactly_to(net, Timestamp::millis(2000));
    REQUIRE(net.now() == Timestamp::millis(2000));
    CHECK(a.agent().state() != ConnectionState::New);
    CHECK(a.agent().stats().checks_sent > 0);
    const size_t remotes_before = a.agent().remote_candidates().size();
    CHECK(remotes_before >= 1); // peer-reflexive from B's checks
    for (const auto& r : a.agent().remote_candidates()) {
        CAPTURE(r.to_sdp());
        CHECK(r.type == CandidateType::PeerReflexive);
    }
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    net.run_for(TimeDelta::seconds(2));
    CHECK(a.agent().remote_candidates().size() == 2);
    // The trickled candidate replaced the peer-reflexive type of the address it already knew.
    CHECK(remote_type(a) == CandidateType::Host);
    CHECK(local_type(b) == CandidateType::Host);
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: remote .local candidate is kept aside and a peer-reflexive pair connects") {
    sim::Network net(12);
    IcePeer a(net, config(Role::Controlling), 121), b(net, config(Role::Controlled), 122);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    // B hides its address behind an mDNS name, as browsers do.
    b.signal_filter = [](const Candidate& c) -> std::optional<std::string> {
        Candidate hidden = c;
        hidden.hostname = "1f2e3d4c-5b6a-4978-8877-665544332211.local";
        return hidden.to_sdp();
    };
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10)));
    CHECK(a.agent().unresolved_mdns_candidates().size() == 1);
    CHECK(local_type(a) == CandidateType::Host);
    CHECK(remote_type(a) == CandidateType::PeerReflexive);
    CHECK(a.agent().selected_pair()->remote.address == SocketAddr(IpAddr::v4(10, 0, 0, 2), 5000));
    CHECK(remote_type(b) == CandidateType::Host);
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: symmetric NAT against a restricted cone connects through a peer-reflexive candidate") {
    sim::Network net(16);
    StunServer stun;
    net.add_host(stun, {kStunIp});
    const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::symmetric());
    const auto nat_b = net.add_nat(IpAddr::v4(203, 0, 113, 2), sim::NatConfig::restricted_cone());
    IcePeer a(net, config(Role::Controlling, true), 161), b(net, config(Role::Controlled, true), 162);
    a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
    b.attach({IpAddr::v4(192, 168, 2, 2)}, 5000, {.behind_nat = nat_b});
    IcePeer::connect(a, b);
    REQUIRE(net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(15)));
    // A's NAT gives a new port per destination: its signalled srflx is useless to B, which learns the real mapping
    // from A's check; A sees yet another mapping than the one the STUN server saw.
    CHECK(remote_type(b) == CandidateType::PeerReflexive);
    CHECK(local_type(a) == CandidateType::PeerReflexive);
    CHECK(remote_type(a) == CandidateType::ServerReflexive);
    check_data_flows(net, a, b);
}

TEST_CASE("ICE sim: symmetric NAT on both sides without TURN fails cleanly") {
    sim::Network net(13);
    StunServer stun;
    net.add_host(stun, {kStunIp});
    const auto nat_a = net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::symmetric());
    const auto nat_b = net.add_nat(IpAddr::v4(203, 0, 113, 2), sim::NatConfig::symmetric());
    IcePeer a(net, config(Role::Controlling, true), 131), b(net, config(Role::Controlled, true), 132);
    a.attach({IpAddr::v4(192, 168, 1, 2)}, 5000, {.behind_nat = nat_a});
    b.attach({IpAddr::v4(192, 168, 2, 2)}, 5000, {.behind_nat = nat_b});
    IcePeer::connect(a, b);
    REQUIRE(net.run_until(
        [&] { return a.agent().state() == ConnectionState::Failed && b.agent().state() == ConnectionState::Failed; },
        Timestamp::seconds(120)));
    CHECK_FALSE(a.ever_in(ConnectionState::Connected));
    CHECK_FALSE(b.ever_in(ConnectionState::Connected));
    CHECK_FALSE(a.agent().selected_pair());
    for (const auto& p : a.agent().pair_stats()) CHECK(p.state == PairState::Failed);
    // Failed is final: nothing left to time.
    CHECK(a.agent().poll_timeout() == Timestamp::plus_infinity());
}

TEST_CASE("ICE sim: relay-only policy offers no host candidate and does not connect without a relay") {
    sim::Network net(14);
    AgentConfig relay_only = config(Role::Controlling);
    relay_only.policy = TransportPolicy::Relay;
    IcePeer a(net, relay_only, 141), b(net, config(Role::Controlled), 142);
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000);
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
    IcePeer::connect(a, b);
    net.run_for(TimeDelta::seconds(60));
    CHECK(a.gathered().empty());
    CHECK_FALSE(a.ever_in(ConnectionState::Connected));
    CHECK_FALSE(b.ever_in(ConnectionState::Connected));
    CHECK(b.agent().remote_candidates().empty());
    // Nothing to pair with on either side once both ends signalled end-of-candidates: failed, not stuck.
    CHECK(a.agent().state() == ConnectionState::Failed);
    CHECK(b.agent().state() == ConnectionState::Failed);
}

TEST_CASE("ICE sim: runs are deterministic for a seed") {
    auto run = [](uint64_t seed) {
        sim::Network net(seed);
        sim::LinkConfig lossy;
        lossy.delay = TimeDelta::millis(5);
        lossy.loss = 0.1;
        const auto l = net.add_link(lossy);
        IcePeer a(net, config(Role::Controlling), seed), b(net, config(Role::Controlled), seed + 1);
        a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000, {.uplink = l});
        b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000);
        IcePeer::connect(a, b);
        (void)net.run_until([&] { return both_connected(a, b); }, Timestamp::seconds(10));
        return net.now().us();
    };
    CHECK(run(5) == run(5));
}
