// ChannelData encoding and TURN-over-TCP stream framing (RFC 8656 section 12), and the client over a stream.
#include "stun/turn_client.hpp"
#include "stun/turn_framing.hpp"
#include "stun/turn_server.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace rtcpp;
using namespace rtcpp::stun;

namespace {

std::vector<uint8_t> stun_bytes(Random& r, size_t data_len) {
    Message m(Class::Indication, Method::Data, random_transaction_id(r));
    m.add_xor_address(attr::XorPeerAddress, *SocketAddr::parse("192.0.2.1:1000"));
    std::vector<uint8_t> data(data_len, 0xAB);
    m.add_raw(attr::Data, data);
    return m.encode();
}

std::vector<uint8_t> channel_bytes(uint16_t ch, size_t len, bool pad) {
    std::vector<uint8_t> data(len);
    for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
    std::vector<uint8_t> out;
    encode_channel_data(out, ch, data, pad);
    return out;
}

} // namespace

TEST_CASE("turn framing: ChannelData header, padding and parsing") {
    auto padded = channel_bytes(0x4001, 5, true);
    CHECK(padded.size() == 12);
    CHECK(padded[0] == 0x40);
    CHECK(padded[1] == 0x01);
    CHECK(padded[2] == 0x00);
    CHECK(padded[3] == 0x05);
    CHECK(padded[9] == 0);
    auto unpadded = channel_bytes(0x4001, 5, false);
    CHECK(unpadded.size() == 9);
    for (const auto* b : {&padded, &unpadded}) {
        CHECK(is_channel_data(*b));
        CHECK_FALSE(is_stun(*b));
        auto cd = parse_channel_data(*b);
        REQUIRE(cd.has_value());
        CHECK(cd->channel == 0x4001);
        REQUIRE(cd->data.size() == 5);
        CHECK(cd->data[1] == 8);
    }
    // Declared length beyond the bytes, a channel number outside 0x4000..0x4FFF: rejected.
    auto truncated = channel_bytes(0x4001, 5, false);
    truncated.pop_back();
    CHECK_FALSE(parse_channel_data(truncated).has_value());
    CHECK_FALSE(parse_channel_data(channel_bytes(0x5000, 4, true)).has_value());
    CHECK_FALSE(parse_channel_data(std::vector<uint8_t>{0x40, 0x00, 0x00}).has_value());
    // Zero-length data is valid.
    auto empty = channel_bytes(0x4FFF, 0, true);
    CHECK(empty.size() == 4);
    REQUIRE(parse_channel_data(empty).has_value());
    CHECK(parse_channel_data(empty)->data.empty());
}

TEST_CASE("turn framing: a stream split at every possible point reassembles the same messages") {
    Random r(5);
    std::vector<std::vector<uint8_t>> messages = {stun_bytes(r, 3), channel_bytes(0x4000, 1, false),
                                                  channel_bytes(0x4abc, 100, false), stun_bytes(r, 0),
                                                  channel_bytes(0x4001, 4, false), channel_bytes(0x4002, 0, false)};
    std::vector<uint8_t> stream;
    for (const auto& m : messages) {
        if (is_channel_data(m)) {
            auto cd = parse_channel_data(m);
            encode_channel_data(stream, cd->channel, cd->data, true);
        } else {
            stream.insert(stream.end(), m.begin(), m.end());
        }
    }
    for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        StreamFramer f;
        std::vector<std::vector<uint8_t>> got;
        for (size_t off = 0; off < stream.size(); off += chunk) {
            const size_t n = std::min(chunk, stream.size() - off);
            f.feed(ByteView(stream).subspan(off, n));
            while (auto m = f.next()) got.push_back(std::move(*m));
        }
        REQUIRE(got == messages);
        CHECK(f.buffered() == 0);
        CHECK_FALSE(f.broken());
    }
}

TEST_CASE("turn framing: merged chunks and a partial tail") {
    Random r(6);
    std::vector<uint8_t> stream;
    const auto a = stun_bytes(r, 10);
    const auto b = channel_bytes(0x4005, 3, true);
    stream.insert(stream.end(), a.begin(), a.end());
    stream.insert(stream.end(), b.begin(), b.end());
    stream.insert(stream.end(), a.begin(), a.begin() + 7); // half a message
    StreamFramer f;
    f.feed(stream);
    auto m1 = f.next();
    auto m2 = f.next();
    REQUIRE(m1.has_value());
    REQUIRE(m2.has_value());
    CHECK(*m1 == a);
    CHECK(m2->size() == 7); // padding stripped
    CHECK_FALSE(f.next().has_value());
    CHECK(f.buffered() == 7);
    f.feed(ByteView(a).subspan(7));
    auto m3 = f.next();
    REQUIRE(m3.has_value());
    CHECK(*m3 == a);
}

TEST_CASE("turn framing: bytes that are neither STUN nor ChannelData break the stream") {
    StreamFramer f;
    const std::vector<uint8_t> junk{0x80, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    f.feed(junk);
    CHECK_FALSE(f.next().has_value());
    CHECK(f.broken());
    f.feed(channel_bytes(0x4000, 4, true));
    CHECK_FALSE(f.next().has_value());
}

namespace {

/// Puts the (UDP) TurnServer behind a TCP-like stream: the client's bytes are framed into messages for the server,
/// and the server's answers are put back on a stream (ChannelData padded) delivered in chunks of the given size.
struct StreamHarness {
    StreamHarness(size_t chunk)
        : server(config(), rs), client(client_config(), rc), chunk(chunk) {}

    static TurnServerConfig config() {
        TurnServerConfig c;
        c.listen = {server_addr};
        c.relay_ipv4 = *IpAddr::parse("198.51.100.2");
        c.realm = "tcp.test";
        c.users = {{"bob", "pw"}};
        c.min_port = 60000;
        c.max_port = 60010;
        return c;
    }
    static TurnClientConfig client_config() {
        TurnClientConfig c;
        c.server = server_addr;
        c.transport = TurnTransport::Tcp;
        c.username = "bob";
        c.password = "pw";
        return c;
    }

    void pump() {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            while (auto b = client.poll_transmit()) {
                moved = true;
                up.feed(*b);
                while (auto m = up.next()) server.handle_datagram(now, client_addr, server_addr, *m);
            }
            while (auto t = server.poll_transmit()) {
                moved = true;
                if (t->to == client_addr) {
                    if (is_channel_data(t->bytes)) {
                        auto cd = parse_channel_data(t->bytes);
                        encode_channel_data(down, cd->channel, cd->data, true);
                    } else {
                        down.insert(down.end(), t->bytes.begin(), t->bytes.end());
                    }
                } else {
                    to_peer.push_back(std::move(*t));
                }
            }
            while (!down.empty()) {
                moved = true;
                const size_t n = std::min(chunk, down.size());
                std::vector<uint8_t> piece(down.begin(), down.begin() + static_cast<std::ptrdiff_t>(n));
                down.erase(down.begin(), down.begin() + static_cast<std::ptrdiff_t>(n));
                client.handle_datagram(now, piece);
            }
            while (auto e = client.poll_event()) events.push_back(std::move(*e));
            if (!moved) return;
        }
    }

    static inline const SocketAddr server_addr = *SocketAddr::parse("198.51.100.1:3478");
    static inline const SocketAddr client_addr = *SocketAddr::parse("203.0.113.5:40000");
    Random rs{1}, rc{2};
    TurnServer server;
    TurnClient client;
    size_t chunk;
    Timestamp now = Timestamp::seconds(1);
    StreamFramer up;
    std::vector<uint8_t> down;
    std::vector<ServerTransmit> to_peer;
    std::vector<TurnEvent> events;
};

} // namespace

TEST_CASE("turn over TCP: allocation, channel and data with the stream split into small and large chunks") {
    for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, size_t{100000}}) {
        CAPTURE(chunk);
        StreamHarness h(chunk);
        REQUIRE(h.client.allocate(h.now).ok());
        h.pump();
        REQUIRE(h.client.state() == TurnState::Allocated);
        const SocketAddr relayed = *h.client.relayed_address();
        const SocketAddr peer = *SocketAddr::parse("192.0.2.9:9999");

        // The first send waits for the permission/channel; after that ChannelData (padded on the stream).
        for (int i = 0; i < 4; ++i) {
            const std::string text = "msg" + std::to_string(i) + std::string(static_cast<size_t>(i), '!');
            REQUIRE(h.client.send_to(h.now, peer, std::vector<uint8_t>(text.begin(), text.end())).ok());
            h.pump();
        }
        REQUIRE(h.to_peer.size() == 4);
        for (int i = 0; i < 4; ++i) {
            const std::string text = "msg" + std::to_string(i) + std::string(static_cast<size_t>(i), '!');
            CHECK(h.to_peer[static_cast<size_t>(i)].bytes == std::vector<uint8_t>(text.begin(), text.end()));
            CHECK(h.to_peer[static_cast<size_t>(i)].from == relayed);
        }
        CHECK(h.client.channel_of(peer).has_value());
        CHECK(h.client.stats().channel_data_sent >= 3);

        // Peer -> client: several datagrams arrive merged into one chunk or split across many.
        for (int i = 0; i < 3; ++i) {
            const std::vector<uint8_t> d(static_cast<size_t>(5 + i), static_cast<uint8_t>(i));
            h.server.handle_datagram(h.now, peer, relayed, d);
        }
        h.pump();
        std::vector<TurnPeerData> got;
        for (auto& e : h.events)
            if (auto* d = std::get_if<TurnPeerData>(&e)) got.push_back(*d);
        REQUIRE(got.size() == 3);
        for (int i = 0; i < 3; ++i) {
            CHECK(got[static_cast<size_t>(i)].peer == peer);
            CHECK(got[static_cast<size_t>(i)].bytes ==
                  std::vector<uint8_t>(static_cast<size_t>(5 + i), static_cast<uint8_t>(i)));
        }
        CHECK(h.client.stats().channel_data_received == 3);
        CHECK(h.client.stats().dropped_malformed == 0);

        h.client.close(h.now);
        h.pump();
        CHECK(h.client.state() == TurnState::Closed);
        CHECK(h.server.allocation_count() == 0);
    }
}

TEST_CASE("turn over TCP: requests are not retransmitted, and a silent server times out") {
    StreamHarness h(16);
    REQUIRE(h.client.allocate(h.now).ok());
    auto first = h.client.poll_transmit();
    REQUIRE(first.has_value());
    h.now += TimeDelta::seconds(5);
    h.client.handle_timeout(h.now);
    CHECK_FALSE(h.client.poll_transmit().has_value());
    h.now += TimeDelta::seconds(40);
    h.client.handle_timeout(h.now);
    CHECK(h.client.state() == TurnState::Failed);
}

TEST_CASE("turn over TCP: garbage on the stream fails the allocation clearly") {
    StreamHarness h(16);
    REQUIRE(h.client.allocate(h.now).ok());
    h.pump();
    REQUIRE(h.client.state() == TurnState::Allocated);
    const std::vector<uint8_t> junk{0xC0, 0x00, 0x00, 0x00};
    h.client.handle_datagram(h.now, junk);
    CHECK(h.client.state() == TurnState::Failed);
    bool failed = false;
    while (auto e = h.client.poll_event())
        if (auto* f = std::get_if<TurnFailed>(&*e)) failed = f->error.message.find("neither STUN") != std::string::npos;
    CHECK(failed);
}

TEST_CASE("turn over TCP: a dropped connection fails the allocation, or completes a close") {
    StreamHarness h(64);
    REQUIRE(h.client.allocate(h.now).ok());
    h.pump();
    REQUIRE(h.client.state() == TurnState::Allocated);
    h.client.handle_disconnected(h.now);
    CHECK(h.client.state() == TurnState::Failed);
    bool failed = false;
    while (auto e = h.client.poll_event())
        if (auto* f = std::get_if<TurnFailed>(&*e)) failed = f->error.message.find("connection") != std::string::npos;
    CHECK(failed);

    StreamHarness h2(64);
    REQUIRE(h2.client.allocate(h2.now).ok());
    h2.pump();
    h2.client.close(h2.now);
    h2.client.handle_disconnected(h2.now);
    CHECK(h2.client.state() == TurnState::Closed);
}
