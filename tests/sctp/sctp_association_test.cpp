#include "sctp_pair.hpp"

#include <chrono>
#include <cstdio>
#include <string>

using namespace rtcpp;
using namespace rtcpp::sctp;
using namespace rtcpp::sctp::testing;

namespace {

[[maybe_unused]] std::string text(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

ChannelOptions named(std::string label, Reliability r = {}) {
    ChannelOptions o;
    o.label = std::move(label);
    o.reliability = r;
    return o;
}

// Opens a channel from `from` and waits until both sides have it open; returns its id.
uint16_t open_both(Pair& p, Side& from, const ChannelOptions& options) {
    auto id = from.assoc->open_channel(options);
    REQUIRE(id.ok());
    Side& to = &from == &p.client ? p.server : p.client;
    REQUIRE(p.run_until([&] {
        return from.assoc->channel_state(*id) == ChannelState::Open &&
               to.assoc->channel_state(*id) == ChannelState::Open;
    }, TimeDelta::seconds(10)));
    return *id;
}

} // namespace

TEST_CASE("association comes up between two in-memory peers") {
    Pair p;
    p.connect();
    CHECK(p.client.count<events::AssociationUp>() == 1);
    CHECK(p.server.count<events::AssociationUp>() == 1);
    CHECK(SctpStack::instance().client_count() == 2);
    CHECK(SctpStack::instance().initialized());
}

TEST_CASE("SCTP packets fit the configured packet size") {
    Pair p(big_messages(), big_messages());
    p.connect();
    auto sid = open_both(p, p.client, named("big"));
    auto msg = pattern(200000, 1);
    REQUIRE(p.client.assoc->send(sid, msg, true).ok());
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(10)));
    CHECK(p.client.largest_packet <= 1150);
    CHECK(p.client.largest_packet >= 1000);
}

