#include "sctp_pair.hpp"

#include <chrono>
#include <set>
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


TEST_CASE("channels open from both sides with even ids for the DTLS client and odd for the server") {
    Pair p;
    p.connect();
    ChannelOptions chat = named("chat");
    chat.protocol = "json";
    chat.priority = 512;
    auto c1 = open_both(p, p.client, chat);
    auto c2 = open_both(p, p.client, named("second"));
    auto s1 = open_both(p, p.server, named("from-server", {false, 2u, std::nullopt}));
    CHECK(c1 % 2 == 0);
    CHECK(c2 % 2 == 0);
    CHECK(c1 != c2);
    CHECK(s1 % 2 == 1);

    // DCEP: the remote learns label, protocol, priority and reliability from DATA_CHANNEL_OPEN...
    auto opened_at_server = p.server.all<events::ChannelOpen>();
    REQUIRE(opened_at_server.size() == 2);
    CHECK(opened_at_server[0].stream_id == c1);
    CHECK(opened_at_server[0].options.label == "chat");
    CHECK(opened_at_server[0].options.protocol == "json");
    CHECK(opened_at_server[0].options.priority == 512);
    CHECK(opened_at_server[0].options.reliability == Reliability{});
    auto opened_at_client = p.client.all<events::ChannelOpen>();
    REQUIRE(opened_at_client.size() == 1);
    CHECK(opened_at_client[0].stream_id == s1);
    CHECK(opened_at_client[0].options.label == "from-server");
    CHECK(opened_at_client[0].options.reliability == Reliability{false, 2u, std::nullopt});
    // ...and the creator's channel opens on DATA_CHANNEL_ACK.
    auto acked_at_client = p.client.all<events::ChannelOpened>();
    REQUIRE(acked_at_client.size() == 2);
    CHECK(acked_at_client[0].stream_id == c1);
    CHECK(p.server.all<events::ChannelOpened>().size() == 1);
    CHECK(p.client.assoc->stats().dcep_malformed == 0);
    CHECK(p.server.assoc->stats().dcep_unexpected == 0);
}

TEST_CASE("a channel created before the association is up opens once it is") {
    Pair p;
    auto id = p.client.assoc->open_channel(named("early"));
    REQUIRE(id.ok());
    CHECK(p.client.assoc->channel_state(*id) == ChannelState::Connecting);
    CHECK_FALSE(p.client.assoc->send_text(*id, "too soon").ok());
    p.connect();
    REQUIRE(p.run_until([&] { return p.client.assoc->channel_state(*id) == ChannelState::Open; },
                        TimeDelta::seconds(5)));
    CHECK(p.server.all<events::ChannelOpen>().size() == 1);
}

TEST_CASE("text, binary and empty messages both ways") {
    Pair p;
    p.connect();
    auto sid = open_both(p, p.client, named("msgs"));
    REQUIRE(p.client.assoc->send_text(sid, "hello").ok());
    REQUIRE(p.client.assoc->send(sid, std::vector<uint8_t>{1, 2, 3}, true).ok());
    REQUIRE(p.client.assoc->send_text(sid, "").ok());
    REQUIRE(p.client.assoc->send(sid, {}, true).ok());
    REQUIRE(p.server.assoc->send_text(sid, "world").ok());
    CHECK_FALSE(p.server.assoc->send(static_cast<uint16_t>(sid + 2), {}, true).ok());  // no such channel
    REQUIRE(p.server.assoc->send(sid, {}, true).ok());
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 4 && p.client.messages(sid).size() == 2; },
                        TimeDelta::seconds(5)));
    auto at_server = p.server.messages(sid);
    CHECK(text(at_server[0].data) == "hello");
    CHECK_FALSE(at_server[0].binary);
    CHECK(at_server[1].data == std::vector<uint8_t>{1, 2, 3});
    CHECK(at_server[1].binary);
    CHECK(at_server[2].data.empty());
    CHECK_FALSE(at_server[2].binary);
    CHECK(at_server[3].data.empty());
    CHECK(at_server[3].binary);
    auto at_client = p.client.messages(sid);
    CHECK(text(at_client[0].data) == "world");
    CHECK(at_client[1].data.empty());
    CHECK(at_client[1].binary);
}

TEST_CASE("large messages up to 1 MiB both ways are reassembled intact") {
    Pair p(big_messages(), big_messages());
    p.connect();
    auto sid = open_both(p, p.client, named("large"));
    const std::vector<size_t> sizes = {65535, 65536, 300000, 1024 * 1024};
    for (size_t i = 0; i < sizes.size(); ++i) {
        REQUIRE(p.client.assoc->send(sid, pattern(sizes[i], static_cast<uint32_t>(i)), true).ok());
        REQUIRE(p.server.assoc->send(sid, pattern(sizes[i], static_cast<uint32_t>(100 + i)), true).ok());
    }
    REQUIRE(p.run_until([&] {
        return p.server.messages(sid).size() == sizes.size() && p.client.messages(sid).size() == sizes.size();
    }, TimeDelta::seconds(30)));
    for (size_t i = 0; i < sizes.size(); ++i) {
        CHECK(p.server.messages(sid)[i].data == pattern(sizes[i], static_cast<uint32_t>(i)));
        CHECK(p.client.messages(sid)[i].data == pattern(sizes[i], static_cast<uint32_t>(100 + i)));
    }
}

TEST_CASE("ordered reliable delivery under 10% random packet loss") {
    Pair p(big_messages(), big_messages(), 7);
    p.connect();
    auto sid = open_both(p, p.client, named("reliable"));
    p.loss = 0.10;
    const int n = 400;
    for (int i = 0; i < n; ++i) {
        REQUIRE(p.client.assoc->send(sid, pattern(100 + static_cast<size_t>(i) * 37 % 5000, static_cast<uint32_t>(i)),
                                     true).ok());
    }
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == n; }, TimeDelta::seconds(120)));
    CHECK(p.client.packets_dropped + p.server.packets_dropped > 20);
    auto got = p.server.messages(sid);
    for (int i = 0; i < n; ++i) {
        CHECK(got[static_cast<size_t>(i)].data ==
              pattern(100 + static_cast<size_t>(i) * 37 % 5000, static_cast<uint32_t>(i)));
    }
}

TEST_CASE("unordered maxRetransmits=0 channel loses some messages under loss but never blocks") {
    Pair p(big_messages(), big_messages(), 11);
    p.connect();
    auto lossy = open_both(p, p.client, named("lossy", {false, 0u, std::nullopt}));
    auto reliable = open_both(p, p.client, named("reliable"));
    CHECK(p.server.all<events::ChannelOpen>()[0].options.reliability == Reliability{false, 0u, std::nullopt});
    p.loss = 0.2;
    const int n = 500;
    for (int i = 0; i < n; ++i) {
        const std::string s = std::to_string(i);
        REQUIRE(p.client.assoc->send_text(lossy, s + std::string(800, 'x')).ok());
        if (i % 50 == 0) p.step();
    }
    // Everything goes out while the loss lasts (usrsctp interleaves streams, so no early "done" shortcut).
    p.run_for(TimeDelta::seconds(20));
    REQUIRE(p.client.assoc->send_text(reliable, "done").ok());
    REQUIRE(p.run_until([&] { return p.server.messages(reliable).size() == 1; }, TimeDelta::seconds(60)));
    p.loss = 0;
    p.run_for(TimeDelta::seconds(5));
    const auto got = p.server.messages(lossy).size();
    MESSAGE("maxRetransmits=0 under 20% loss: " << got << " of " << n << " delivered; client sent " << p.client.packets_out << " packets, " << p.client.packets_dropped << " lost");
    CHECK(got < static_cast<size_t>(n));
    CHECK(got > static_cast<size_t>(n) / 2);

    // The reliable channel sharing the association lost nothing.
    CHECK(text(p.server.messages(reliable)[0].data) == "done");
    // Nothing is left behind a gap: the stream keeps flowing once loss stops.
    REQUIRE(p.client.assoc->send_text(lossy, "after").ok());
    REQUIRE(p.run_until([&] {
        auto m = p.server.messages(lossy);
        return !m.empty() && text(m.back().data) == "after";
    }, TimeDelta::seconds(5)));
}

TEST_CASE("maxPacketLifeTime channel is announced, delivers, and gives up on late retransmissions") {
    Pair p(big_messages(), big_messages(), 5);
    p.connect();
    auto timed = open_both(p, p.client, named("timed", {true, std::nullopt, 50u}));
    auto open = p.server.all<events::ChannelOpen>();
    REQUIRE(open.size() == 1);
    CHECK(open[0].options.reliability.max_packet_life_time_ms == std::optional<uint32_t>(50));
    CHECK(open[0].options.reliability.ordered);
    for (int i = 0; i < 50; ++i) REQUIRE(p.client.assoc->send_text(timed, "t" + std::to_string(i)).ok());
    REQUIRE(p.run_until([&] { return p.server.messages(timed).size() == 50; }, TimeDelta::seconds(10)));

    // Under loss, a retransmission would come after the 200 ms minimum RTO, past the 50 ms lifetime: such
    // messages are abandoned rather than retransmitted, yet the ordered channel keeps flowing.
    p.loss = 0.2;
    const int n = 300;
    for (int i = 0; i < n; ++i) {
        REQUIRE(p.client.assoc->send_text(timed, "u" + std::to_string(i) + std::string(600, '.')).ok());
        if (i % 30 == 0) p.step();
    }
    p.run_for(TimeDelta::seconds(20));
    p.loss = 0;
    REQUIRE(p.client.assoc->send_text(timed, "end").ok());
    REQUIRE(p.run_until([&] { return text(p.server.messages(timed).back().data) == "end"; }, TimeDelta::seconds(10)));
    const auto got = p.server.messages(timed).size() - 51;
    MESSAGE("maxPacketLifeTime=50ms under 20% loss: " << got << " of " << n << " delivered");
    CHECK(got < static_cast<size_t>(n));
    CHECK(got > static_cast<size_t>(n) / 2);
    // Whatever arrives, arrives in order.
    auto all = p.server.messages(timed);
    int last = -1;
    for (size_t i = 50; i + 1 < all.size(); ++i) {
        const std::string t = text(all[i].data);
        const int k = std::stoi(t.substr(1));
        CHECK(k > last);
        last = k;
    }
}

TEST_CASE("pre-negotiated channel opens without DCEP on both sides") {
    Pair p;
    ChannelOptions o = named("negotiated");
    o.negotiated = true;
    o.id = 7;
    REQUIRE(p.client.assoc->open_channel(o).ok());
    REQUIRE(p.server.assoc->open_channel(o).ok());
    CHECK_FALSE(p.server.assoc->open_channel(o).ok());  // id in use
    p.connect();
    REQUIRE(p.run_until([&] {
        return p.client.assoc->channel_state(7) == ChannelState::Open &&
               p.server.assoc->channel_state(7) == ChannelState::Open;
    }, TimeDelta::seconds(5)));
    REQUIRE(p.client.assoc->send_text(7, "ping").ok());
    REQUIRE(p.server.assoc->send_text(7, "pong").ok());
    REQUIRE(p.run_until([&] { return p.server.messages(7).size() == 1 && p.client.messages(7).size() == 1; },
                        TimeDelta::seconds(5)));
    CHECK(text(p.server.messages(7)[0].data) == "ping");
    CHECK(text(p.client.messages(7)[0].data) == "pong");
    CHECK(p.server.count<events::ChannelOpen>() == 0);
    CHECK(p.client.count<events::ChannelOpen>() == 0);
    CHECK(p.client.count<events::ChannelOpened>() == 1);
    CHECK(p.server.count<events::ChannelOpened>() == 1);
    // A non-negotiated channel never takes a negotiated id.
    auto next = p.client.assoc->open_channel(named("x"));
    REQUIRE(next.ok());
    CHECK(*next != 7);
}

TEST_CASE("bufferedAmount falls and the low-threshold event fires") {
    Pair p(big_messages(), big_messages());
    p.connect();
    auto sid = open_both(p, p.client, named("buffered"));
    p.delay = TimeDelta::millis(20);  // a window-limited path, so data waits in our queue
    p.client.assoc->set_buffered_amount_low_threshold(sid, 100000);
    CHECK(p.client.assoc->buffered_amount_low_threshold(sid) == 100000);
    const size_t chunk = 64 * 1024;
    for (int i = 0; i < 200; ++i) REQUIRE(p.client.assoc->send(sid, pattern(chunk, 1), true).ok());
    CHECK(p.client.assoc->buffered_amount(sid) == 200 * chunk);
    p.pump();
    // usrsctp's buffer takes only part of 12.5 MiB: some stays with us.
    CHECK(p.client.assoc->buffered_amount(sid) > 0);
    CHECK(p.client.assoc->buffered_amount(sid) < 200 * chunk);
    CHECK(p.client.count<events::BufferedAmountLow>() == 0);
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 200; }, TimeDelta::seconds(60)));
    CHECK(p.client.assoc->buffered_amount(sid) == 0);
    auto low = p.client.all<events::BufferedAmountLow>();
    REQUIRE(low.size() == 1);
    CHECK(low[0].stream_id == sid);
}

TEST_CASE("closing a channel resets its stream and both sides see it closed, from either side") {
    Pair p;
    p.connect();
    auto a = open_both(p, p.client, named("a"));
    auto b = open_both(p, p.server, named("b"));
    REQUIRE(p.client.assoc->send_text(a, "last words").ok());
    REQUIRE(p.client.assoc->close_channel(a).ok());
    CHECK(p.client.assoc->channel_state(a) == ChannelState::Closing);
    CHECK_FALSE(p.client.assoc->send_text(a, "too late").ok());
    REQUIRE(p.run_until([&] { return p.client.count<events::ChannelClosed>() == 1 &&
                                     p.server.count<events::ChannelClosed>() == 1; }, TimeDelta::seconds(5)));
    // Buffered data went out before the reset.
    REQUIRE(p.server.messages(a).size() == 1);
    CHECK(text(p.server.messages(a)[0].data) == "last words");
    CHECK(p.client.all<events::ChannelClosed>()[0].stream_id == a);
    CHECK(p.server.all<events::ChannelClosed>()[0].reason == "closed by the remote");
    // Both directions reset: the id is free again on both sides.
    REQUIRE(p.run_until([&] { return !p.client.assoc->channel_state(a) && !p.server.assoc->channel_state(a); },
                        TimeDelta::seconds(5)));

    // The server closes a channel the client opened... and one it opened itself.
    REQUIRE(p.server.assoc->close_channel(b).ok());
    REQUIRE(p.run_until([&] { return p.client.count<events::ChannelClosed>() == 2 &&
                                     p.server.count<events::ChannelClosed>() == 2; }, TimeDelta::seconds(5)));
    CHECK(p.client.all<events::ChannelClosed>()[1].stream_id == b);

    // The freed id is reused and works.
    auto again = open_both(p, p.client, named("again"));
    CHECK(again == a);
    REQUIRE(p.client.assoc->send_text(again, "new life").ok());
    REQUIRE(p.run_until([&] { return p.server.messages(a).size() == 2; }, TimeDelta::seconds(5)));
    CHECK(text(p.server.messages(a)[1].data) == "new life");
    CHECK(p.client.assoc->state() == SctpAssociation::State::Connected);
}

TEST_CASE("oversize send is refused with a clear error") {
    SctpSettings s;
    s.remote_max_message_size = 65536;
    Pair p(s, s);
    p.connect();
    auto sid = open_both(p, p.client, named("limits"));
    CHECK(p.client.assoc->max_message_size() == 65536);
    auto refused = p.client.assoc->send(sid, pattern(65537, 1), true);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().category == ErrorCategory::TypeError);
    CHECK(refused.error().message.find("max-message-size") != std::string::npos);
    CHECK(p.client.assoc->buffered_amount(sid) == 0);
    REQUIRE(p.client.assoc->send(sid, pattern(65536, 1), true).ok());
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(5)));
    p.client.assoc->set_remote_max_message_size(0);  // "no limit": bounded by the send buffer only
    CHECK(p.client.assoc->max_message_size() == SctpStack::kSendSpace);
}

TEST_CASE("an oversize incoming message closes that channel, not the association") {
    SctpSettings sender = big_messages();
    SctpSettings receiver;
    receiver.local_max_message_size = 16 * 1024;
    Pair p(sender, receiver);
    p.connect();
    auto victim = open_both(p, p.client, named("victim"));
    auto bystander = open_both(p, p.client, named("bystander"));
    REQUIRE(p.client.assoc->send(victim, pattern(16 * 1024, 1), true).ok());  // at the limit: fine
    REQUIRE(p.client.assoc->send(victim, pattern(40 * 1024, 2), true).ok());  // over it
    REQUIRE(p.run_until([&] { return p.client.count<events::ChannelClosed>() == 1 &&
                                     p.server.count<events::ChannelClosed>() == 1; }, TimeDelta::seconds(5)));
    CHECK(p.server.messages(victim).size() == 1);
    CHECK(p.server.assoc->stats().oversize_messages == 1);
    auto closed = p.server.all<events::ChannelClosed>();
    CHECK(closed[0].stream_id == victim);
    CHECK(closed[0].reason.find("max-message-size") != std::string::npos);
    REQUIRE(p.client.assoc->send_text(bystander, "still here").ok());
    REQUIRE(p.run_until([&] { return p.server.messages(bystander).size() == 1; }, TimeDelta::seconds(5)));
    CHECK(p.server.assoc->state() == SctpAssociation::State::Connected);
    CHECK(p.client.assoc->state() == SctpAssociation::State::Connected);
}

TEST_CASE("DCEP garbage is ignored and counted") {
    Pair p;
    p.connect();
    auto sid = open_both(p, p.client, named("good"));
    auto& c = *p.client.assoc;
    const std::vector<std::vector<uint8_t>> garbage = {
        {},                                                    // empty (sent as-is: 0-byte payloads are refused)
        {0x09},                                                // unknown message type
        {0x03, 0x00, 0x01},                                    // truncated OPEN
        {0x03, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},            // unknown channel type
        {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 'a'},    // label past the end
    };
    for (const auto& g : garbage) {
        if (!g.empty()) REQUIRE(c.send_with_ppid(sid, Ppid::Dcep, g).ok());
    }
    // Well formed, but wrong here: an OPEN on the receiver's own parity, an OPEN on a stream in use, a stray ACK.
    auto open = *serialize_dcep(DcepOpen{});
    REQUIRE(c.send_with_ppid(101, Ppid::Dcep, open).ok());  // odd: the server's parity
    REQUIRE(c.send_with_ppid(sid, Ppid::Dcep, open).ok());
    REQUIRE(c.send_with_ppid(40, Ppid::Dcep, *serialize_dcep(DcepAck{})).ok());
    // An unknown PPID on a good channel is dropped too.
    REQUIRE(c.send_with_ppid(sid, static_cast<Ppid>(1234), std::vector<uint8_t>{1}).ok());
    REQUIRE(c.send_text(sid, "after garbage").ok());
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(5)));
    CHECK(p.server.assoc->stats().dcep_malformed == 4);
    CHECK(p.server.assoc->stats().dcep_unexpected == 3);
    CHECK(p.server.assoc->stats().messages_dropped == 1);
    CHECK(p.server.count<events::ChannelOpen>() == 1);
    CHECK(text(p.server.messages(sid)[0].data) == "after garbage");
    CHECK(p.server.assoc->state() == SctpAssociation::State::Connected);
}

TEST_CASE("abort closes every channel on both sides with a reason") {
    Pair p;
    p.connect();
    auto a = open_both(p, p.client, named("a"));
    auto b = open_both(p, p.server, named("b"));
    p.client.assoc->abort(p.now, "user went away");
    p.pump();
    REQUIRE(p.run_until([&] { return p.server.count<events::AssociationClosed>() == 1; }, TimeDelta::seconds(5)));
    for (Side* side : {&p.client, &p.server}) {
        auto closed = side->all<events::ChannelClosed>();
        REQUIRE(closed.size() == 2);
        CHECK(((closed[0].stream_id == a && closed[1].stream_id == b) ||
               (closed[0].stream_id == b && closed[1].stream_id == a)));
        auto end = side->all<events::AssociationClosed>();
        REQUIRE(end.size() == 1);
        CHECK(end[0].aborted);
        CHECK(end[0].reason.find("user went away") != std::string::npos);
        CHECK(closed[0].reason == end[0].reason);
        // The association end comes after its channels.
        CHECK(std::holds_alternative<events::AssociationClosed>(side->events.back()));
        CHECK(side->assoc->state() == SctpAssociation::State::Closed);
        CHECK_FALSE(side->assoc->send_text(a, "x").ok());
        CHECK(side->assoc->poll_timeout() == Timestamp::plus_infinity());
    }
    CHECK(p.server.all<events::AssociationClosed>()[0].reason.find("peer aborted") != std::string::npos);
}

TEST_CASE("graceful close ends the association on both sides") {
    Pair p;
    p.connect();
    open_both(p, p.client, named("a"));
    p.client.assoc->close(p.now);
    REQUIRE(p.run_until([&] { return p.client.count<events::AssociationClosed>() == 1 &&
                                     p.server.count<events::AssociationClosed>() == 1; }, TimeDelta::seconds(5)));
    CHECK_FALSE(p.client.all<events::AssociationClosed>()[0].aborted);
    CHECK_FALSE(p.server.all<events::AssociationClosed>()[0].aborted);
    CHECK(p.client.count<events::ChannelClosed>() == 1);
    CHECK(p.server.count<events::ChannelClosed>() == 1);
}

TEST_CASE("the stack is reference counted and starts clean for the next association") {
    auto& stack = SctpStack::instance();
    {
        Pair p;
        p.connect();
        CHECK(stack.client_count() == 2);
    }
    CHECK(stack.client_count() == 0);
    {
        Pair p;
        p.connect();
        auto sid = open_both(p, p.client, named("again"));
        CHECK(sid == 0);
        REQUIRE(p.client.assoc->send_text(sid, "fresh").ok());
        REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(5)));
    }
    CHECK(stack.client_count() == 0);
    MESSAGE("usrsctp initialised " << stack.init_count() << " times, initialised now: " << stack.initialized());
}

TEST_CASE("many associations in turn leave nothing behind") {
    auto& stack = SctpStack::instance();
    for (int i = 0; i < 20; ++i) {
        Pair p({}, {}, static_cast<uint64_t>(i));
        p.connect();
        auto sid = open_both(p, p.client, named("n"));
        REQUIRE(p.client.assoc->send_text(sid, "x").ok());
        REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(5)));
    }
    CHECK(stack.client_count() == 0);
}

TEST_CASE("throughput sanity: 50 MB through an in-memory pair") {
    Pair p(big_messages(), big_messages());
    p.connect();
    auto sid = open_both(p, p.client, named("bulk"));
    const size_t message = 64 * 1024;
    const size_t total = 50u * 1000 * 1000;
    const auto payload = pattern(message, 3);
    size_t sent = 0;
    size_t received = 0;
    const auto start = std::chrono::steady_clock::now();
    while (received < total) {
        while (sent < total && p.client.assoc->buffered_amount(sid) < 1024 * 1024) {
            REQUIRE(p.client.assoc->send(sid, payload, true).ok());
            sent += message;
        }
        p.step();
        for (auto& e : p.server.events) {
            if (auto* m = std::get_if<events::MessageReceived>(&e)) received += m->data.size();
        }
        p.server.events.clear();
        REQUIRE(p.now < Timestamp::seconds(20000));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("sctp in-memory throughput: %.1f MB/s (%.0f MB in %.2f s wall)\n", total / 1e6 / secs, total / 1e6,
                secs);
    CHECK(received == sent);
}

TEST_CASE("packets with a bad checksum are dropped and counted") {
    Pair p;
    p.connect();
    auto sid = open_both(p, p.client, named("crc"));
    REQUIRE(p.client.assoc->send_text(sid, "intact").ok());
    p.client.assoc->handle_timeout(p.now);
    std::vector<std::vector<uint8_t>> packets;
    while (auto pk = p.client.assoc->poll_transmit()) packets.push_back(*pk);
    REQUIRE_FALSE(packets.empty());
    const auto before = p.server.assoc->stats().checksum_errors;
    for (auto pk : packets) {
        pk[pk.size() - 1] ^= 0x01;  // corrupt the payload
        p.server.assoc->handle_packet(p.now, pk);
    }
    p.server.assoc->handle_packet(p.now, std::vector<uint8_t>{1, 2, 3});  // shorter than a header
    p.pump();
    CHECK(p.server.assoc->stats().checksum_errors == before + packets.size() + 1);
    CHECK(p.server.messages(sid).empty());
    // The retransmission (intact) still gets through. usrsctp's RTO depends on RTTs measured with the real clock,
    // so allow plenty of virtual time (slow sanitizer builds measure longer RTTs).
    REQUIRE(p.run_until([&] { return p.server.messages(sid).size() == 1; }, TimeDelta::seconds(60)));
    CHECK(text(p.server.messages(sid)[0].data) == "intact");
}

TEST_CASE("a side that has not called connect() yet still accepts the peer's INIT") {
    Pair p;
    REQUIRE(p.client.assoc->connect(p.now).ok());
    REQUIRE(p.run_until([&] { return p.up(); }, TimeDelta::seconds(10)));
    CHECK(p.server.count<events::AssociationUp>() == 1);
    CHECK_FALSE(p.server.assoc->connect(p.now).ok());  // already started
}

TEST_CASE("many channels from both sides at once, each carrying its own messages") {
    Pair p;
    p.connect();
    std::vector<uint16_t> ids;
    for (int i = 0; i < 60; ++i) {
        Side& from = i % 2 == 0 ? p.client : p.server;
        auto id = from.assoc->open_channel(named("ch" + std::to_string(i)));
        REQUIRE(id.ok());
        CHECK(*id % 2 == (i % 2 == 0 ? 0 : 1));
        ids.push_back(*id);
    }
    REQUIRE(p.run_until([&] {
        for (auto id : ids) {
            if (p.client.assoc->channel_state(id) != ChannelState::Open ||
                p.server.assoc->channel_state(id) != ChannelState::Open) return false;
        }
        return true;
    }, TimeDelta::seconds(10)));
    CHECK(std::set<uint16_t>(ids.begin(), ids.end()).size() == ids.size());
    for (auto id : ids) {
        REQUIRE(p.client.assoc->send_text(id, "c" + std::to_string(id)).ok());
        REQUIRE(p.server.assoc->send_text(id, "s" + std::to_string(id)).ok());
    }
    REQUIRE(p.run_until([&] {
        return p.server.count<events::MessageReceived>() == ids.size() &&
               p.client.count<events::MessageReceived>() == ids.size();
    }, TimeDelta::seconds(10)));
    for (auto id : ids) {
        REQUIRE(p.server.messages(id).size() == 1);
        CHECK(text(p.server.messages(id)[0].data) == "c" + std::to_string(id));
        CHECK(text(p.client.messages(id)[0].data) == "s" + std::to_string(id));
    }
}
