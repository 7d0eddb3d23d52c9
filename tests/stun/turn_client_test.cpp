// The TURN client against the in-process TURN server, over the simulated network.
#include "turn_sim_util.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace rtcpp;
using namespace rtcpp::stun;
using namespace rtcpp::stun::testing;

namespace {

const SocketAddr kServer = addr("198.51.100.1:3478");
const IpAddr kRelayIp = ip("198.51.100.2");
const SocketAddr kClient = addr("203.0.113.10:5000");
const SocketAddr kPeer = addr("192.0.2.20:7000");

TurnServerConfig server_config() {
    TurnServerConfig c;
    c.listen = {kServer};
    c.relay_ipv4 = kRelayIp;
    c.min_port = 50000;
    c.max_port = 50100;
    c.realm = "sim.test";
    c.users = {{"alice", "secret"}};
    c.software = "rtcpp-sim";
    return c;
}

TurnClientConfig client_config(std::string password = "secret") {
    TurnClientConfig c;
    c.server = kServer;
    c.username = "alice";
    c.password = std::move(password);
    return c;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

struct World {
    explicit World(TurnServerConfig sc = server_config(), TurnClientConfig cc = client_config())
        : server(std::move(sc), rng_server), client(kClient, std::move(cc), rng_client), peer(kPeer) {
        sim::LinkConfig link;
        link.delay = TimeDelta::millis(15);
        const auto up = net.add_link(link);
        const auto down = net.add_link(link);
        server_host = net.add_host(server, {kServer.ip(), kRelayIp});
        client_host = net.add_host(client, {kClient.ip()}, {.uplink = up, .downlink = down});
        peer_host = net.add_host(peer, {kPeer.ip()});
    }
    bool allocate() {
        REQUIRE(client.client.allocate(net.now()).ok());
        net.wake(client_host);
        return net.run_until([&] { return client.client.state() != TurnState::Allocating; },
                             net.now() + TimeDelta::seconds(60)) &&
               client.client.state() == TurnState::Allocated;
    }
    void client_send(const SocketAddr& to, const std::string& text) {
        REQUIRE(client.client.send_to(net.now(), to, bytes_of(text)).ok());
        net.wake(client_host);
    }
    void peer_send(const SocketAddr& to, const std::string& text) {
        peer.send(to, bytes_of(text));
        net.wake(peer_host);
    }

    sim::Network net{11};
    Random rng_server{1};
    Random rng_client{2};
    ServerEndpoint server;
    ClientEndpoint client;
    PeerEndpoint peer;
    sim::HostId server_host{}, client_host{}, peer_host{};
};

} // namespace

TEST_CASE("turn: allocation succeeds after the 401 challenge") {
    World w;
    REQUIRE(w.allocate());
    const auto* a = w.client.find_event<TurnAllocated>();
    REQUIRE(a != nullptr);
    CHECK(a->relayed.ip() == kRelayIp);
    CHECK(a->relayed.port() >= 50000);
    CHECK(a->relayed.port() <= 50100);
    CHECK(a->mapped == kClient);
    CHECK(a->lifetime == TimeDelta::seconds(600));
    CHECK(w.client.client.relayed_address() == a->relayed);
    CHECK(w.server.server.allocation_count() == 1);
    CHECK(w.server.server.relayed_address_of(kClient, kServer) == a->relayed);
    // One unauthenticated attempt (answered 401, nothing allocated) then the authenticated one.
    CHECK(w.server.server.stats().unauthenticated == 1);
    CHECK(w.client.client.stats().requests_sent == 2);
}

TEST_CASE("turn: wrong password fails with a clear authentication error and allocates nothing") {
    World w(server_config(), client_config("not-the-password"));
    CHECK_FALSE(w.allocate());
    CHECK(w.client.client.state() == TurnState::Failed);
    const auto* f = w.client.find_event<TurnFailed>();
    REQUIRE(f != nullptr);
    CHECK(f->error.category == ErrorCategory::InvalidAccessError);
    CHECK(f->error.message.find("authentication failed") != std::string::npos);
    CHECK(f->error.message.find("401") != std::string::npos);
    // The password never appears in what the client reports.
    CHECK(f->error.message.find("not-the-password") == std::string::npos);
    CHECK(w.server.server.allocation_count() == 0);
    CHECK(w.server.server.stats().bad_integrity == 1);
}

TEST_CASE("turn: unknown user fails the same way") {
    auto cc = client_config();
    cc.username = "mallory";
    World w(server_config(), cc);
    CHECK_FALSE(w.allocate());
    const auto* f = w.client.find_event<TurnFailed>();
    REQUIRE(f != nullptr);
    CHECK(f->error.message.find("authentication failed") != std::string::npos);
}

TEST_CASE("turn: an unreachable server times out with a clear error") {
    auto cc = client_config();
    cc.server = addr("198.51.100.99:3478"); // nobody there
    World w(server_config(), cc);
    CHECK_FALSE(w.allocate());
    const auto* f = w.client.find_event<TurnFailed>();
    REQUIRE(f != nullptr);
    CHECK(f->error.category == ErrorCategory::TimeoutError);
    CHECK(f->error.message.find("no response") != std::string::npos);
}

TEST_CASE("turn: refresh keeps the allocation alive well past its lifetime") {
    auto sc = server_config();
    sc.default_lifetime = TimeDelta::seconds(60);
    auto cc = client_config();
    cc.requested_lifetime = TimeDelta::seconds(60);
    World w(sc, cc);
    REQUIRE(w.allocate());
    CHECK(w.client.find_event<TurnAllocated>()->lifetime == TimeDelta::seconds(60));
    w.net.run_for(TimeDelta::seconds(300));
    CHECK(w.client.client.state() == TurnState::Allocated);
    CHECK(w.server.server.allocation_count() == 1);
    CHECK(w.server.server.stats().allocations_expired == 0);
    // Refreshed at half the lifetime: about every 30 s.
    CHECK(w.client.client.stats().refreshes >= 9);
    CHECK(w.client.count_events<TurnRefreshed>() == w.client.client.stats().refreshes);

    // Without the client refreshing, the server lets it expire.
    w.net.remove_host(w.client_host);
    w.net.run_for(TimeDelta::seconds(90));
    CHECK(w.server.server.allocation_count() == 0);
    CHECK(w.server.server.stats().allocations_expired == 1);
}

TEST_CASE("turn: refresh is scheduled a minute before expiry for long lifetimes") {
    World w;
    REQUIRE(w.allocate());
    const Timestamp allocated = w.net.now();
    w.net.run_for(TimeDelta::seconds(538));
    CHECK(w.client.client.stats().refreshes == 0);
    w.net.run_for(TimeDelta::seconds(4));
    CHECK(w.client.client.stats().refreshes == 1);
    CHECK(w.client.client.expires_at() > allocated + TimeDelta::seconds(1100));
}

TEST_CASE("turn: data both ways with Send and Data indications") {
    auto cc = client_config();
    cc.auto_channel = false;
    World w(server_config(), cc);
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();

    w.client_send(kPeer, "hello peer");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.peer.received.size() == 1);
    CHECK(w.peer.received[0].from == relayed);
    CHECK(w.peer.received[0].bytes == bytes_of("hello peer"));
    CHECK(w.client.find_event<TurnPermissionCreated>() != nullptr);

    w.peer_send(relayed, "hello client");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.client.received.size() == 1);
    CHECK(w.client.received[0].peer == kPeer);
    CHECK(w.client.received[0].bytes == bytes_of("hello client"));

    CHECK(w.client.client.stats().send_indications == 1);
    CHECK(w.client.client.stats().data_indications == 1);
    CHECK(w.client.client.stats().channel_data_sent == 0);
    CHECK(w.client.client.stats().channel_data_received == 0);
}

TEST_CASE("turn: a peer without a permission cannot reach the relayed address") {
    World w;
    REQUIRE(w.allocate());
    w.peer_send(*w.client.client.relayed_address(), "let me in");
    w.net.run_for(TimeDelta::seconds(1));
    CHECK(w.client.received.empty());
    CHECK(w.server.server.stats().dropped_no_permission == 1);

    REQUIRE(w.client.client.create_permission(w.net.now(), kPeer.ip()).ok());
    w.net.wake(w.client_host);
    w.net.run_for(TimeDelta::seconds(1));
    CHECK(w.client.client.has_permission(kPeer.ip()));
    w.peer_send(*w.client.client.relayed_address(), "let me in");
    w.net.run_for(TimeDelta::seconds(1));
    CHECK(w.client.received.size() == 1);
}

TEST_CASE("turn: data both ways with ChannelData once the channel is bound") {
    World w;
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();
    w.client_send(kPeer, "first");
    w.net.run_for(TimeDelta::seconds(1));
    const auto* bound = w.client.find_event<TurnChannelBound>();
    REQUIRE(bound != nullptr);
    CHECK(bound->peer == kPeer);
    CHECK(bound->channel >= kMinChannel);
    CHECK(bound->channel <= kMaxChannel);
    CHECK(w.client.client.channel_of(kPeer) == bound->channel);

    for (int i = 0; i < 5; ++i) {
        w.client_send(kPeer, "to peer " + std::to_string(i));
        w.peer_send(relayed, "to client " + std::to_string(i));
        w.net.run_for(TimeDelta::millis(100));
    }
    REQUIRE(w.peer.received.size() == 6);
    for (int i = 0; i < 5; ++i) {
        CHECK(w.peer.received[static_cast<size_t>(i + 1)].bytes == bytes_of("to peer " + std::to_string(i)));
        CHECK(w.peer.received[static_cast<size_t>(i + 1)].from == relayed);
    }
    REQUIRE(w.client.received.size() == 5);
    for (int i = 0; i < 5; ++i) {
        CHECK(w.client.received[static_cast<size_t>(i)].peer == kPeer);
        CHECK(w.client.received[static_cast<size_t>(i)].bytes == bytes_of("to client " + std::to_string(i)));
    }
    // The first datagram went as a Send indication or, if the channel was bound first, as ChannelData.
    CHECK(w.client.client.stats().channel_data_sent >= 5);
    CHECK(w.client.client.stats().channel_data_sent + w.client.client.stats().send_indications == 6);
    CHECK(w.client.client.stats().channel_data_received == 5);
    CHECK(w.client.client.stats().data_indications == 0);
}

TEST_CASE("turn: permissions and channels are refreshed past their server lifetimes") {
    World w;
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();
    w.client_send(kPeer, "open");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.client.client.channel_of(kPeer).has_value());
    // Past the 5-minute permission lifetime and the 10-minute channel lifetime.
    w.net.run_for(TimeDelta::seconds(720));
    w.peer_send(relayed, "still here");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.client.received.size() == 1);
    CHECK(w.client.received[0].bytes == bytes_of("still here"));
    CHECK(w.client.client.stats().channel_data_received == 1);
    CHECK(w.server.server.stats().channels_bound >= 2);
    CHECK(w.client.client.state() == TurnState::Allocated);
}

TEST_CASE("turn: data sent before the permission is confirmed is held, then delivered in order") {
    auto cc = client_config();
    cc.auto_channel = false;
    World w(server_config(), cc);
    REQUIRE(w.allocate());
    for (int i = 0; i < 3; ++i) w.client_send(kPeer, "q" + std::to_string(i));
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.peer.received.size() == 3);
    for (int i = 0; i < 3; ++i)
        CHECK(w.peer.received[static_cast<size_t>(i)].bytes == bytes_of("q" + std::to_string(i)));
    CHECK(w.server.server.stats().permissions_created == 1);
}

TEST_CASE("turn: a stale nonce is retried with the new one") {
    auto sc = server_config();
    sc.nonce_lifetime = TimeDelta::seconds(20);
    World w(sc);
    REQUIRE(w.allocate());
    w.net.run_for(TimeDelta::seconds(30)); // the nonce has expired
    w.client_send(kPeer, "after stale nonce");
    w.net.run_for(TimeDelta::seconds(1));
    CHECK(w.client.client.stats().stale_nonce_retries >= 1);
    CHECK(w.server.server.stats().stale_nonces >= 1);
    REQUIRE(w.peer.received.size() == 1);
    CHECK(w.peer.received[0].bytes == bytes_of("after stale nonce"));
    CHECK(w.client.client.state() == TurnState::Allocated);
}

TEST_CASE("turn: close deallocates on the server at once") {
    World w;
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();
    CHECK(w.server.server.allocation_count() == 1);
    w.client.client.close(w.net.now());
    w.net.wake(w.client_host);
    w.net.run_for(TimeDelta::seconds(1));
    CHECK(w.client.client.state() == TurnState::Closed);
    CHECK(w.client.find_event<TurnClosed>() != nullptr);
    CHECK(w.server.server.allocation_count() == 0);
    CHECK(w.server.server.stats().allocations_deleted == 1);
    CHECK_FALSE(w.server.server.owns(relayed));
    CHECK_FALSE(w.client.client.send_to(w.net.now(), kPeer, bytes_of("x")).ok());
}

TEST_CASE("turn: a peer behind a symmetric NAT reaches the relayed address") {
    World w;
    const IpAddr nat_ip = ip("100.64.0.1");
    const auto nat = w.net.add_nat(nat_ip, sim::NatConfig::symmetric());
    PeerEndpoint natted(addr("10.0.0.5:6000"));
    const auto natted_host = w.net.add_host(natted, {natted.local.ip()}, {.behind_nat = nat});
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();

    // The client only knows the NAT's IP (a permission is per IP: the NAT's port is unknown in advance).
    REQUIRE(w.client.client.create_permission(w.net.now(), nat_ip).ok());
    w.net.wake(w.client_host);
    w.net.run_for(TimeDelta::seconds(1));

    natted.send(relayed, bytes_of("from behind the NAT"));
    w.net.wake(natted_host);
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.client.received.size() == 1);
    const SocketAddr mapped = w.client.received[0].peer;
    CHECK(mapped.ip() == nat_ip);
    CHECK(w.client.received[0].bytes == bytes_of("from behind the NAT"));

    // The answer goes back through the NAT's mapping for (peer -> relayed address).
    w.client_send(mapped, "answer");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(natted.received.size() == 1);
    CHECK(natted.received[0].bytes == bytes_of("answer"));
    CHECK(natted.received[0].from == relayed);
    w.net.remove_host(natted_host);
}

TEST_CASE("turn: a client behind a NAT learns its mapped address") {
    sim::Network net(3);
    Random rs(1), rc(2);
    ServerEndpoint server(server_config(), rs);
    net.add_host(server, {kServer.ip(), kRelayIp});
    const auto nat = net.add_nat(ip("100.64.9.9"), sim::NatConfig::port_restricted_cone());
    ClientEndpoint client(addr("10.1.1.1:4000"), client_config(), rc);
    const auto host = net.add_host(client, {client.local.ip()}, {.behind_nat = nat});
    REQUIRE(client.client.allocate(net.now()).ok());
    net.wake(host);
    net.run_for(TimeDelta::seconds(2));
    REQUIRE(client.client.state() == TurnState::Allocated);
    REQUIRE(client.client.mapped_address().has_value());
    CHECK(client.client.mapped_address()->ip() == ip("100.64.9.9"));
}

TEST_CASE("turn: IPv6 relay over an IPv4 server connection") {
    auto sc = server_config();
    sc.relay_ipv6 = ip("2001:db8::2");
    auto cc = client_config();
    cc.relay_family = IpFamily::V6;
    World w(sc, cc);
    const SocketAddr peer6 = addr("[2001:db8::20]:7000");
    PeerEndpoint p6(peer6);
    w.net.remove_host(w.server_host);
    w.server_host = w.net.add_host(w.server, {kServer.ip(), kRelayIp, ip("2001:db8::2")});
    const auto p6_host = w.net.add_host(p6, {peer6.ip()});
    REQUIRE(w.allocate());
    const SocketAddr relayed = *w.client.client.relayed_address();
    CHECK(relayed.family() == IpFamily::V6);
    CHECK(relayed.ip() == ip("2001:db8::2"));
    // An IPv4 peer cannot be used with an IPv6 relay.
    CHECK_FALSE(w.client.client.send_to(w.net.now(), kPeer, bytes_of("x")).ok());
    w.client_send(peer6, "v6 hello");
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(p6.received.size() == 1);
    CHECK(p6.received[0].from == relayed);
    p6.send(relayed, bytes_of("v6 back"));
    w.net.wake(p6_host);
    w.net.run_for(TimeDelta::seconds(1));
    REQUIRE(w.client.received.size() == 1);
    CHECK(w.client.received[0].peer == peer6);
    w.net.remove_host(p6_host);
}

TEST_CASE("turn: an IPv6 relay the server does not offer is refused clearly") {
    auto cc = client_config();
    cc.relay_family = IpFamily::V6;
    World w(server_config(), cc);
    CHECK_FALSE(w.allocate());
    const auto* f = w.client.find_event<TurnFailed>();
    REQUIRE(f != nullptr);
    CHECK(f->error.message.find("440") != std::string::npos);
    CHECK(f->error.category == ErrorCategory::NotSupportedError);
}

TEST_CASE("turn: the per-client allocation quota is enforced with 486") {
    auto sc = server_config();
    sc.max_allocations_per_client = 2;
    sim::Network net(5);
    Random rs(1), rc(2);
    ServerEndpoint server(sc, rs);
    net.add_host(server, {kServer.ip(), kRelayIp});
    std::vector<std::unique_ptr<ClientEndpoint>> clients;
    ClientEndpoint c0(addr("203.0.113.10:5000"), client_config(), rc);
    ClientEndpoint c1(addr("203.0.113.10:5001"), client_config(), rc);
    ClientEndpoint c2(addr("203.0.113.10:5002"), client_config(), rc);
    struct Multi : sim::Endpoint { // three sockets on one host
        std::vector<ClientEndpoint*> cs;
        void handle_datagram(Timestamp now, const sim::Datagram& d) override {
            for (auto* c : cs)
                if (c->local == d.to) c->handle_datagram(now, d);
        }
        void handle_timeout(Timestamp now) override {
            for (auto* c : cs)
                if (c->poll_timeout() <= now) c->handle_timeout(now);
        }
        std::optional<sim::Datagram> poll_transmit() override {
            for (auto* c : cs)
                if (auto d = c->poll_transmit()) return d;
            return std::nullopt;
        }
        Timestamp poll_timeout() override {
            Timestamp t = Timestamp::plus_infinity();
            for (auto* c : cs) t = std::min(t, c->poll_timeout());
            return t;
        }
    } multi;
    multi.cs = {&c0, &c1, &c2};
    const auto host = net.add_host(multi, {ip("203.0.113.10")});
    for (auto* c : multi.cs) REQUIRE(c->client.allocate(net.now()).ok());
    net.wake(host);
    net.run_for(TimeDelta::seconds(2));
    int ok = 0, quota = 0;
    for (auto* c : multi.cs) {
        if (c->client.state() == TurnState::Allocated) ++ok;
        if (const auto* f = c->find_event<TurnFailed>()) {
            CHECK(f->error.message.find("quota") != std::string::npos);
            CHECK(f->error.message.find("486") != std::string::npos);
            ++quota;
        }
    }
    CHECK(ok == 2);
    CHECK(quota == 1);
    CHECK(server.server.allocation_count() == 2);
}

TEST_CASE("turn server: Binding answers the reflexive address without credentials") {
    Random r(9);
    TurnServer server(server_config(), r);
    Random rc(3);
    Message req(Class::Request, Method::Binding, random_transaction_id(rc));
    const auto from = addr("203.0.113.77:40000");
    server.handle_datagram(Timestamp::zero(), from, kServer, req.encode({}, IntegrityAlgorithm::None, true));
    auto out = server.poll_transmit();
    REQUIRE(out.has_value());
    CHECK(out->from == kServer);
    CHECK(out->to == from);
    auto resp = Message::parse(out->bytes);
    REQUIRE(resp.ok());
    CHECK(resp->cls() == Class::SuccessResponse);
    CHECK(resp->transaction_id() == req.transaction_id());
    CHECK(resp->xor_mapped_address() == from);
    CHECK(server.allocation_count() == 0);
}

TEST_CASE("turn server: unauthenticated and forged requests allocate nothing") {
    Random r(9), rc(3);
    TurnServer server(server_config(), r);
    const auto from = addr("203.0.113.77:40000");
    // Many Allocate requests without credentials: only 401 answers, no state.
    for (int i = 0; i < 100; ++i) {
        Message req(Class::Request, Method::Allocate, random_transaction_id(rc));
        req.add_requested_transport(17);
        server.handle_datagram(Timestamp::zero(), SocketAddr(from.ip(), static_cast<uint16_t>(40000 + i)), kServer,
                               req.encode({}, IntegrityAlgorithm::None, true));
    }
    size_t answers = 0;
    while (auto out = server.poll_transmit()) {
        auto resp = Message::parse(out->bytes);
        REQUIRE(resp.ok());
        CHECK(resp->error_code()->code == 401);
        CHECK(resp->get_string(attr::Nonce).has_value());
        ++answers;
    }
    CHECK(answers == 100);
    CHECK(server.allocation_count() == 0);
    CHECK(server.poll_timeout() == Timestamp::plus_infinity());

    // A nonce this server never issued is rejected as stale (438), still without state.
    Message forged(Class::Request, Method::Allocate, random_transaction_id(rc));
    forged.add_requested_transport(17);
    forged.add_string(attr::Username, "alice");
    forged.add_string(attr::Realm, "sim.test");
    forged.add_string(attr::Nonce, "00000000000000000000000000000000000f");
    server.handle_datagram(Timestamp::zero(), from, kServer,
                           forged.encode(long_term_key("alice", "sim.test", "secret"), IntegrityAlgorithm::Sha1, true));
    auto out = server.poll_transmit();
    REQUIRE(out.has_value());
    CHECK(Message::parse(out->bytes)->error_code()->code == 438);
    CHECK(server.allocation_count() == 0);

    // Garbage is dropped and counted.
    const std::vector<uint8_t> junk{0x00, 0x01, 0x00, 0x00, 1, 2, 3};
    server.handle_datagram(Timestamp::zero(), from, kServer, junk);
    CHECK_FALSE(server.poll_transmit().has_value());
    CHECK(server.stats().malformed == 1);
}

TEST_CASE("turn: two clients behind symmetric NATs talk relay to relay") {
    sim::Network net(21);
    Random rs(1), r1(2), r2(3);
    ServerEndpoint server(server_config(), rs);
    net.add_host(server, {kServer.ip(), kRelayIp});
    const auto nat1 = net.add_nat(ip("100.64.1.1"), sim::NatConfig::symmetric());
    const auto nat2 = net.add_nat(ip("100.64.2.1"), sim::NatConfig::symmetric());
    ClientEndpoint c1(addr("10.0.1.2:5000"), client_config(), r1);
    ClientEndpoint c2(addr("10.0.2.2:5000"), client_config(), r2);
    const auto h1 = net.add_host(c1, {c1.local.ip()}, {.behind_nat = nat1});
    const auto h2 = net.add_host(c2, {c2.local.ip()}, {.behind_nat = nat2});
    REQUIRE(c1.client.allocate(net.now()).ok());
    REQUIRE(c2.client.allocate(net.now()).ok());
    net.wake(h1);
    net.wake(h2);
    net.run_for(TimeDelta::seconds(1));
    REQUIRE(c1.client.state() == TurnState::Allocated);
    REQUIRE(c2.client.state() == TurnState::Allocated);
    const SocketAddr r1a = *c1.client.relayed_address(), r2a = *c2.client.relayed_address();
    CHECK(c1.client.mapped_address()->ip() == ip("100.64.1.1"));
    // As ICE does: each side sends to the other's relayed candidate, which installs its own permission.
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c1.client.send_to(net.now(), r2a, std::vector<uint8_t>{1, static_cast<uint8_t>(i)}).ok());
        REQUIRE(c2.client.send_to(net.now(), r1a, std::vector<uint8_t>{2, static_cast<uint8_t>(i)}).ok());
        net.wake(h1);
        net.wake(h2);
        net.run_for(TimeDelta::millis(500));
    }
    // The first datagrams may have arrived before the receiver's permission: later ones all get through.
    REQUIRE_FALSE(c1.received.empty());
    REQUIRE_FALSE(c2.received.empty());
    CHECK(c1.received.back().peer == r2a);
    CHECK(c1.received.back().bytes == std::vector<uint8_t>{2, 2});
    CHECK(c2.received.back().peer == r1a);
    CHECK(c2.received.back().bytes == std::vector<uint8_t>{1, 2});
    CHECK(c1.client.channel_of(r2a).has_value());
    CHECK(c2.client.channel_of(r1a).has_value());
}

TEST_CASE("turn: allocation and permissions survive heavy loss (retransmissions are idempotent)") {
    sim::Network net(33);
    Random rs(1), rc(2);
    ServerEndpoint server(server_config(), rs);
    sim::LinkConfig lossy;
    lossy.delay = TimeDelta::millis(20);
    lossy.loss = 0.4;
    net.add_host(server, {kServer.ip(), kRelayIp});
    ClientEndpoint client(kClient, client_config(), rc);
    const auto host = net.add_host(client, {kClient.ip()}, {.uplink = net.add_link(lossy), .downlink = net.add_link(lossy)});
    PeerEndpoint peer(kPeer);
    net.add_host(peer, {kPeer.ip()});
    REQUIRE(client.client.allocate(net.now()).ok());
    net.wake(host);
    REQUIRE(net.run_until([&] { return client.client.state() != TurnState::Allocating; },
                          net.now() + TimeDelta::seconds(40)));
    REQUIRE(client.client.state() == TurnState::Allocated);
    CHECK(server.server.allocation_count() == 1);
    CHECK(server.server.stats().allocations_created == 1);
    // The server's relayed address for this client is the one the client was told about.
    CHECK(server.server.relayed_address_of(kClient, kServer) == client.client.relayed_address());
    REQUIRE(client.client.create_permission(net.now(), kPeer.ip()).ok());
    net.wake(host);
    REQUIRE(net.run_until([&] { return client.client.has_permission(kPeer.ip()); }, net.now() + TimeDelta::seconds(40)));
}
