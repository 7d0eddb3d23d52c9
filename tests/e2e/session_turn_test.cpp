// Sessions gathering relay candidates from a turn: server (rtcpp's own sans-IO TurnServer as a simulated host):
// both peers behind symmetric NATs connect through the relay, a relay-only policy connects relay to relay, and a
// wrong TURN password fails with an error that says so.
#include "session_peer.hpp"

#include "stun/turn_server.hpp"

#include <doctest/doctest.h>

#include <deque>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

const IpAddr kTurnIp = IpAddr::v4(198, 51, 100, 1);
const IpAddr kRelayIp = IpAddr::v4(198, 51, 100, 2);
const SocketAddr kTurnAddr(kTurnIp, 3478);

class TurnHost : public sim::Endpoint {
public:
    TurnHost() : random_(99), server_(make_config(), random_) {}

    static stun::TurnServerConfig make_config() {
        stun::TurnServerConfig c;
        c.listen = {kTurnAddr};
        c.relay_ipv4 = kRelayIp;
        c.min_port = 50000;
        c.max_port = 50999;
        c.users["alice"] = "s3cret";
        return c;
    }

    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        server_.handle_datagram(now, d.from, d.to, d.bytes);
    }
    void handle_timeout(Timestamp now) override { server_.handle_timeout(now); }
    std::optional<sim::Datagram> poll_transmit() override {
        auto t = server_.poll_transmit();
        if (!t) return std::nullopt;
        return sim::Datagram{t->from, t->to, std::move(t->bytes)};
    }
    Timestamp poll_timeout() override { return server_.poll_timeout(); }
    const stun::TurnServer& server() const { return server_; }

private:
    Random random_;
    stun::TurnServer server_;
};

Configuration turn_config(uint64_t seed, std::string password = "s3cret", bool relay_only = false) {
    Configuration c;
    c.random_seed = seed;
    c.ice_servers.push_back(IceServer{{"turn:198.51.100.1:3478"}, "alice", std::move(password)});
    if (relay_only) c.ice_transport_policy = IceTransportPolicy::Relay;
    return c;
}

struct World {
    sim::Network net{21};
    TurnHost turn;
    std::optional<SessionPeer> a, b;
    sim::HostId ha{}, hb{};

    World() { net.add_host(turn, {kTurnIp, kRelayIp}); }

    void add_peers(Configuration ca, Configuration cb, std::optional<sim::NatId> nat_a, std::optional<sim::NatId> nat_b,
                   const IpAddr& ip_a, const IpAddr& ip_b) {
        a.emplace("a", ca, std::vector<SocketAddr>{SocketAddr(ip_a, 5000)});
        b.emplace("b", cb, std::vector<SocketAddr>{SocketAddr(ip_b, 5000)});
        ha = net.add_host(*a, {ip_a}, {.behind_nat = nat_a});
        hb = net.add_host(*b, {ip_b}, {.behind_nat = nat_b});
    }
    bool run_until(const std::function<bool()>& done, TimeDelta limit = TimeDelta::seconds(30)) {
        a->drain_events();
        b->drain_events();
        net.wake(ha);
        net.wake(hb);
        return net.run_until(done, net.now() + limit);
    }
    /// Offer/answer with trickled candidates: relay candidates reach the peer once the allocations succeed.
    void negotiate_after_gathering() {
        auto ch = a->session->create_data_channel("relay");
        REQUIRE(ch);
        negotiate(*a, *b);
        // Candidates trickled while the network runs: the receiving host must be woken to act on them (a relay-only
        // peer with nothing to check has no timer that would poll it).
        a->on_candidate = [this](const IceCandidate& c) {
            (void)b->session->add_ice_candidate(c);
            b->drain_events();
            net.wake(hb);
        };
        b->on_candidate = [this](const IceCandidate& c) {
            (void)a->session->add_ice_candidate(c);
            a->drain_events();
            net.wake(ha);
        };
        // End of candidates, as a browser signals it (a null candidate): lets a side with nothing to pair fail.
        a->on_event = [this](const SessionEvent& e) {
            if (auto* g = std::get_if<event::IceGatheringStateChange>(&e); g && g->state == IceGatheringState::Complete) {
                (void)b->session->add_ice_candidate(IceCandidate{});
                b->drain_events();
                net.wake(hb);
            }
        };
        b->on_event = [this](const SessionEvent& e) {
            if (auto* g = std::get_if<event::IceGatheringStateChange>(&e); g && g->state == IceGatheringState::Complete) {
                (void)a->session->add_ice_candidate(IceCandidate{});
                a->drain_events();
                net.wake(ha);
            }
        };
    }
    bool echo_works() {
        const auto channel = a->events_of<event::ChannelOpen>().at(0).channel;
        const std::string text = "through the relay";
        REQUIRE(a->session->send_text(channel, text));
        return run_until([&] {
            for (const auto& m : b->events_of<event::ChannelMessage>())
                if (std::string(m.data.begin(), m.data.end()) == text) return true;
            return false;
        });
    }
};

bool is_relay_path(const SessionStats& x, const SessionStats& y) {
    return x.selected_local_type == "relay" && y.selected_remote_type == "relay";
}

} // namespace

TEST_CASE("session TURN: both behind symmetric NATs connect through the relay") {
    World w;
    const auto nat_a = w.net.add_nat(IpAddr::v4(203, 0, 113, 1), sim::NatConfig::symmetric());
    const auto nat_b = w.net.add_nat(IpAddr::v4(203, 0, 113, 2), sim::NatConfig::symmetric());
    w.add_peers(turn_config(1), turn_config(2), nat_a, nat_b, IpAddr::v4(192, 168, 1, 2), IpAddr::v4(192, 168, 2, 2));
    w.negotiate_after_gathering();
    REQUIRE(w.run_until([&] { return w.a->has<event::ChannelOpen>() && w.b->has<event::DataChannel>(); }));
    const auto sa = w.a->session->stats();
    const auto sb = w.b->session->stats();
    INFO("a: " << sa.selected_local_type << " -> " << sa.selected_remote_type << ", b: " << sb.selected_local_type
               << " -> " << sb.selected_remote_type);
    // Symmetric NATs map every destination anew, so no direct path exists: one side's relay carries the data.
    CHECK((is_relay_path(sa, sb) || is_relay_path(sb, sa)));
    REQUIRE(sa.selected_local);
    CHECK((sa.selected_local->ip() == kRelayIp || sa.selected_remote->ip() == kRelayIp));
    CHECK(w.turn.server().stats().allocations_created == 2);
    CHECK(w.turn.server().stats().relayed_to_peer > 0);
    CHECK(w.echo_works());
}

TEST_CASE("session TURN: relay-only policy gathers only relay candidates and connects relay to relay") {
    World w;
    w.add_peers(turn_config(3, "s3cret", true), turn_config(4, "s3cret", true), std::nullopt, std::nullopt,
                IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2));
    w.negotiate_after_gathering();
    REQUIRE(w.run_until([&] { return w.a->has<event::ChannelOpen>() && w.b->has<event::DataChannel>(); }));
    for (const auto* p : {&*w.a, &*w.b}) {
        for (const auto& c : p->events_of<event::LocalCandidate>())
            CHECK(c.candidate.candidate.find("typ relay") != std::string::npos);
        const auto s = p->session->stats();
        CHECK(s.selected_local_type == "relay");
        CHECK(s.selected_remote_type == "relay");
        REQUIRE(s.selected_local);
        CHECK(s.selected_local->ip() == kRelayIp);
    }
    CHECK(w.echo_works());
    // Closing deallocates: the server frees both allocations at once instead of waiting for them to expire.
    w.a->session->close();
    w.b->session->close();
    w.run_until([&] { return w.turn.server().allocation_count() == 0; }, TimeDelta::seconds(5));
    CHECK(w.turn.server().allocation_count() == 0);
    CHECK(w.turn.server().stats().allocations_deleted == 2);
}

TEST_CASE("session TURN: relay-only with a wrong TURN password fails and says why") {
    World w;
    w.add_peers(turn_config(5, "wrong", true), turn_config(6, "wrong", true), std::nullopt, std::nullopt,
                IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2));
    w.negotiate_after_gathering();
    REQUIRE(w.run_until([&] { return w.a->session->connection_state() == PeerConnectionState::Failed; },
                        TimeDelta::seconds(60)));
    std::optional<Error> why;
    for (const auto& e : w.a->events_of<event::ConnectionStateChange>())
        if (e.state == PeerConnectionState::Failed) why = e.error;
    REQUIRE(why);
    INFO(why->to_string());
    CHECK(why->message.find("TURN") != std::string::npos);
    CHECK(w.a->events_of<event::LocalCandidate>().empty());
    CHECK(w.turn.server().stats().allocations_created == 0);
}
