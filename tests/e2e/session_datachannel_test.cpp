// Two Sessions, each a simulated host, negotiate with JSEP, connect with ICE, DTLS and SCTP, and exchange data
// channel messages: the whole data path of rtcpp without a socket or a real clock.
#include "session_peer.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

Configuration config(uint64_t seed) {
    Configuration c;
    c.random_seed = seed;
    return c;
}

struct Pair {
    sim::Network net{7};
    SessionPeer a{"a", config(1), {*SocketAddr::parse("10.0.0.1:5000")}};
    SessionPeer b{"b", config(2), {*SocketAddr::parse("10.0.0.2:5000")}};
    sim::HostId ha, hb;

    explicit Pair(const sim::LinkConfig& link = {}) {
        ha = net.add_host(a, {*IpAddr::parse("10.0.0.1")}, {.uplink = net.add_link(link)});
        hb = net.add_host(b, {*IpAddr::parse("10.0.0.2")}, {.uplink = net.add_link(link)});
    }
    void kick() {
        a.drain_events();
        b.drain_events();
        net.wake(ha);
        net.wake(hb);
    }
    bool run_until(const std::function<bool()>& done, TimeDelta limit = TimeDelta::seconds(20)) {
        kick();
        return net.run_until(done, net.now() + limit);
    }
};

} // namespace

TEST_CASE("two sessions connect over the simulated network and exchange data channel messages") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    auto chat = p.a.session->create_data_channel("chat");
    REQUIRE(chat);
    negotiate(p.a, p.b);
    CHECK(p.a.session->signaling_state() == SignalingState::Stable);
    CHECK(p.b.session->signaling_state() == SignalingState::Stable);

    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); }));
    CHECK(p.a.session->connection_state() == PeerConnectionState::Connected);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    const auto remote = p.b.events_of<event::DataChannel>().at(0).info;
    CHECK(remote.label == "chat");
    // The offerer answered actpass with... the answerer chose active (DTLS client), so the offerer is the DTLS
    // server and its stream ids are odd.
    REQUIRE(remote.stream_id);
    CHECK(*remote.stream_id % 2 == 1);
    // ICE + DTLS + SCTP over a 20 ms RTT path: connected in a handful of round trips.
    CHECK(p.net.now() < Timestamp::millis(1000));

    REQUIRE(p.a.session->send_text(*chat, "hello from a"));
    const std::vector<uint8_t> blob(100000, 0x5a);
    REQUIRE(p.b.session->send(remote.channel, blob));
    REQUIRE(p.run_until([&] {
        return p.b.has<event::ChannelMessage>() && p.a.has<event::ChannelMessage>();
    }));
    const auto at_b = p.b.events_of<event::ChannelMessage>().at(0);
    CHECK_FALSE(at_b.binary);
    CHECK(std::string(at_b.data.begin(), at_b.data.end()) == "hello from a");
    const auto at_a = p.a.events_of<event::ChannelMessage>().at(0);
    CHECK(at_a.binary);
    CHECK(at_a.data == blob);

    const auto stats = p.a.session->stats();
    REQUIRE(stats.selected_remote);
    CHECK(*stats.selected_remote == *SocketAddr::parse("10.0.0.2:5000"));
}

TEST_CASE("many messages arrive in order over a lossy path; closing a channel reaches the peer") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(25);
    link.loss = 0.05;
    Pair p(link);
    auto ch = p.a.session->create_data_channel("bulk");
    REQUIRE(ch);
    negotiate(p.a, p.b);
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>(); }, TimeDelta::seconds(30)));
    for (int i = 0; i < 300; ++i) REQUIRE(p.a.session->send_text(*ch, "message " + std::to_string(i)));
    REQUIRE(p.run_until([&] { return p.b.events_of<event::ChannelMessage>().size() == 300; }, TimeDelta::seconds(60)));
    const auto msgs = p.b.events_of<event::ChannelMessage>();
    for (int i = 0; i < 300; ++i)
        CHECK(std::string(msgs[static_cast<size_t>(i)].data.begin(), msgs[static_cast<size_t>(i)].data.end()) ==
              "message " + std::to_string(i));
    REQUIRE(p.a.session->close_channel(*ch));
    REQUIRE(p.run_until([&] { return p.b.has<event::ChannelClosed>() && p.a.has<event::ChannelClosed>(); }));
}

TEST_CASE("a fingerprint mismatch fails the connection with a clear error and no channel opens") {
    Pair p;
    auto ch = p.a.session->create_data_channel("x");
    REQUIRE(ch);
    auto offer = p.a.session->create_offer();
    REQUIRE(offer);
    REQUIRE(p.a.session->set_local_description(*offer));
    // Tamper with the fingerprint in transit, as an attacker in the signaling path would.
    std::string sdp = offer->sdp;
    const auto pos = sdp.find("a=fingerprint:sha-256 ");
    REQUIRE(pos != std::string::npos);
    const auto digit = pos + std::string("a=fingerprint:sha-256 ").size();
    sdp[digit] = sdp[digit] == 'A' ? 'B' : 'A';
    REQUIRE(p.b.session->set_remote_description({SdpType::Offer, sdp}));
    auto answer = p.b.session->create_answer();
    REQUIRE(answer);
    REQUIRE(p.b.session->set_local_description(*answer));
    REQUIRE(p.a.session->set_remote_description(*answer));
    REQUIRE(p.run_until([&] { return p.b.session->connection_state() == PeerConnectionState::Failed; }));
    const auto changes = p.b.events_of<event::ConnectionStateChange>();
    REQUIRE(!changes.empty());
    REQUIRE(changes.back().error);
    CHECK(changes.back().error->category == ErrorCategory::SecurityError);
    p.run_until([] { return false; }, TimeDelta::seconds(2));
    CHECK_FALSE(p.b.has<event::DataChannel>());
    CHECK_FALSE(p.a.has<event::ChannelOpen>());
}

TEST_CASE("signaling state machine refuses out-of-order calls with InvalidStateError") {
    Pair p;
    auto answer = p.a.session->create_answer();
    REQUIRE_FALSE(answer);
    CHECK(answer.error().category == ErrorCategory::InvalidStateError);
    CHECK_FALSE(p.a.session->add_ice_candidate({"candidate:1 1 udp 1 10.0.0.9 9 typ host", "0", 0}));
    auto bad = p.a.session->set_remote_description({SdpType::Answer, "v=0\r\n"});
    CHECK_FALSE(bad);
    auto garbage = p.a.session->set_remote_description({SdpType::Offer, "this is not SDP"});
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().category == ErrorCategory::SyntaxError);
    p.a.session->close();
    CHECK(p.a.session->connection_state() == PeerConnectionState::Closed);
    CHECK(p.a.session->signaling_state() == SignalingState::Closed);
    CHECK_FALSE(p.a.session->create_offer());
}
