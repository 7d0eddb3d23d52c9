// ICE-TCP between two Sessions (RFC 6544): UDP between them is dropped, TCP connections are piped in memory the way
// an owner of real sockets would present them (an accepted connection shows the connecting side's ephemeral port;
// bytes arrive in arbitrary chunks). The peers connect over a TCP pair, DTLS and SCTP run framed over it, and a data
// channel echoes. A connection to the listener that does not start with an authenticated check is closed.
#include <rtcpp/session.hpp>

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

using namespace rtcpp;

namespace {

const IpAddr kIpA = IpAddr::v4(10, 1, 0, 1);
const IpAddr kIpB = IpAddr::v4(10, 1, 0, 2);

struct Peer {
    std::unique_ptr<Session> s;
    std::vector<SessionEvent> events;
    std::vector<SocketAddr> listeners;
};

struct Pipe {
    // (peer index, stream id) at both ends
    int a_peer;
    StreamId a_id;
    int b_peer;
    StreamId b_id;
};

struct TcpHarness {
    Peer p[2];
    Timestamp now = Timestamp::zero();
    std::vector<Pipe> pipes;
    uint16_t next_port = 45000;
    size_t chunk = 1; // deliver stream bytes in chunks of 1, 2, 3, ... bytes (cycling) to exercise deframing
    size_t udp_dropped = 0;
    bool udp_works = false;
    std::vector<std::pair<int, StreamId>> closed_by_session;

    explicit TcpHarness(bool listen_a = true, bool listen_b = true) {
        for (int i = 0; i < 2; ++i) {
            Configuration c;
            c.random_seed = 100 + static_cast<uint64_t>(i);
            auto s = Session::create(c);
            REQUIRE(s.ok());
            p[i].s = std::move(s.value());
            const IpAddr ip = i == 0 ? kIpA : kIpB;
            p[i].s->add_local_address(SocketAddr(ip, 5000)); // UDP exists but nothing gets through
            if (i == 0 ? listen_a : listen_b) {
                p[i].listeners.push_back(SocketAddr(ip, 6000));
                p[i].s->add_local_tcp_listener(SocketAddr(ip, 6000));
            }
        }
    }

    Session& a() { return *p[0].s; }
    Session& b() { return *p[1].s; }

    std::optional<std::pair<int, StreamId>> other_end(int peer, StreamId id) {
        for (const auto& x : pipes) {
            if (x.a_peer == peer && x.a_id == id) return std::make_pair(x.b_peer, x.b_id);
            if (x.b_peer == peer && x.b_id == id) return std::make_pair(x.a_peer, x.a_id);
        }
        return std::nullopt;
    }
    void remove_pipe(int peer, StreamId id) {
        std::erase_if(pipes, [&](const Pipe& x) {
            return (x.a_peer == peer && x.a_id == id) || (x.b_peer == peer && x.b_id == id);
        });
    }

    void deliver_stream(int to, StreamId id, const std::vector<uint8_t>& bytes) {
        size_t off = 0;
        while (off < bytes.size()) {
            const size_t n = std::min(bytes.size() - off, chunk);
            p[to].s->handle_stream_data(now, id, std::span<const uint8_t>(bytes.data() + off, n));
            off += n;
            chunk = chunk % 7 + 1;
        }
    }

    bool pump() {
        bool did = false;
        for (int i = 0; i < 2; ++i) {
            Session& s = *p[i].s;
            while (auto t = s.poll_transmit()) {
                did = true;
                const int peer = 1 - i;
                if (udp_works && t->remote == SocketAddr(peer == 0 ? kIpA : kIpB, 5000))
                    p[peer].s->handle_datagram(now, t->remote, t->local, t->bytes);
                else
                    ++udp_dropped;
            }
            while (auto c = s.poll_stream()) {
                did = true;
                if (auto* conn = std::get_if<StreamConnect>(&*c)) {
                    const int peer = 1 - i;
                    bool listening = false;
                    for (const auto& l : p[peer].listeners) listening |= l == conn->remote;
                    REQUIRE(conn->local_ip);
                    if (!listening) {
                        s.handle_stream_closed(now, conn->stream); // connection refused
                        continue;
                    }
                    const SocketAddr from(*conn->local_ip, next_port++);
                    auto id = p[peer].s->handle_stream_accepted(now, conn->remote, from);
                    if (!id) {
                        s.handle_stream_closed(now, conn->stream);
                        continue;
                    }
                    pipes.push_back(Pipe{i, conn->stream, peer, *id});
                    s.handle_stream_connected(now, conn->stream);
                } else if (auto* snd = std::get_if<StreamSend>(&*c)) {
                    auto end = other_end(i, snd->stream);
                    if (end) deliver_stream(end->first, end->second, snd->bytes);
                } else if (auto* cl = std::get_if<StreamClose>(&*c)) {
                    closed_by_session.emplace_back(i, cl->stream);
                    auto end = other_end(i, cl->stream);
                    remove_pipe(i, cl->stream);
                    if (end) p[end->first].s->handle_stream_closed(now, end->second);
                }
            }
            while (auto e = s.poll_event()) {
                did = true;
                p[i].events.push_back(std::move(*e));
                on_event(i, p[i].events.back());
            }
        }
        return did;
    }

    std::function<void(int, const SessionEvent&)> on_event = [](int, const SessionEvent&) {};

    bool run_until(const std::function<bool()>& done, TimeDelta limit) {
        const Timestamp end = now + limit;
        while (now < end) {
            while (pump()) {
            }
            if (done()) return true;
            Timestamp next = std::min(a().poll_timeout(), b().poll_timeout());
            now = std::min(std::max(next, now + TimeDelta::micros(100)), end);
            a().handle_timeout(now);
            b().handle_timeout(now);
        }
        while (pump()) {
        }
        return done();
    }

    void negotiate() {
        on_event = [this](int i, const SessionEvent& e) {
            if (auto* c = std::get_if<event::LocalCandidate>(&e)) (void)p[1 - i].s->add_ice_candidate(c->candidate);
        };
        auto offer = a().create_offer();
        REQUIRE(offer.ok());
        REQUIRE(a().set_local_description(*offer).ok());
        REQUIRE(b().set_remote_description(*offer).ok());
        auto answer = b().create_answer();
        REQUIRE(answer.ok());
        REQUIRE(b().set_local_description(*answer).ok());
        REQUIRE(a().set_remote_description(*answer).ok());
    }
};

} // namespace

TEST_CASE("ICE-TCP: two Sessions with UDP dropped connect over TCP and echo on a data channel") {
    TcpHarness h;
    auto ch = h.a().create_data_channel("echo");
    REQUIRE(ch.ok());
    std::vector<std::string> echoed;
    bool open = false;
    h.negotiate();
    auto forward = h.on_event;
    h.on_event = [&](int i, const SessionEvent& e) {
        forward(i, e);
        if (auto* m = std::get_if<event::ChannelMessage>(&e)) {
            if (i == 1) (void)h.b().send(m->channel, m->data); // echo
            else echoed.emplace_back(m->data.begin(), m->data.end());
        }
        if (std::get_if<event::ChannelOpen>(&e) && i == 0) open = true;
    };
    const Timestamp start = h.now;
    REQUIRE(h.run_until([&] { return open; }, TimeDelta::seconds(20)));
    const TimeDelta setup = h.now - start;
    MESSAGE("ICE-TCP setup in simulated time: " << setup.ms() << " ms");
    CHECK(h.a().connection_state() == PeerConnectionState::Connected);
    const auto sa = h.a().stats();
    CHECK(sa.selected_protocol == "tcp");
    CHECK(h.b().stats().selected_protocol == "tcp");
    CHECK(h.udp_dropped > 0); // UDP was tried and went nowhere
    // Larger messages than one chunk, and more than one frame per SCTP burst.
    for (int n : {1, 100, 1200, 16000}) {
        std::vector<uint8_t> msg(static_cast<size_t>(n));
        for (size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<uint8_t>('a' + (k + static_cast<size_t>(n)) % 26);
        REQUIRE(h.a().send(*ch, msg).ok());
    }
    REQUIRE(h.run_until([&] { return echoed.size() == 4; }, TimeDelta::seconds(10)));
    CHECK(echoed[0].size() == 1);
    CHECK(echoed[3].size() == 16000);
    CHECK(echoed[3][0] == static_cast<char>('a' + 16000 % 26));
    // One TCP connection carries everything (the one ICE selected); none was closed.
    CHECK(h.pipes.size() >= 1);
    CHECK(h.closed_by_session.empty());
}

TEST_CASE("ICE-TCP: when UDP works too, the Sessions select UDP") {
    TcpHarness h;
    h.udp_works = true;
    REQUIRE(h.a().create_data_channel("x").ok());
    h.negotiate();
    REQUIRE(h.run_until([&] { return h.a().connection_state() == PeerConnectionState::Connected &&
                                     h.b().connection_state() == PeerConnectionState::Connected; },
                        TimeDelta::seconds(10)));
    CHECK(h.a().stats().selected_protocol == "udp");
    CHECK(h.b().stats().selected_protocol == "udp");
}

TEST_CASE("ICE-TCP: without TCP on one side and UDP dropped, ICE fails instead of waiting forever") {
    // B has no listener, so no TCP candidates at all; A's active candidate has no passive one to meet and A's
    // passive one waits (a bounded grace) for a connection that cannot come.
    TcpHarness h(/*listen_a=*/true, /*listen_b=*/false);
    auto ch = h.a().create_data_channel("x");
    REQUIRE(ch.ok());
    h.negotiate();
    REQUIRE(h.run_until([&] { return h.a().connection_state() == PeerConnectionState::Failed; }, TimeDelta::seconds(60)));
    CHECK(h.b().stats().selected_protocol.empty());
}

TEST_CASE("ICE-TCP: a connection to the listener that starts with garbage is closed; frames are bounded") {
    TcpHarness h;
    REQUIRE(h.a().create_data_channel("x").ok());
    h.negotiate();
    h.run_until([] { return false; }, TimeDelta::millis(1));
    auto id = h.b().handle_stream_accepted(h.now, SocketAddr(kIpB, 6000), SocketAddr(kIpA, 999));
    REQUIRE(id);
    // Not a listener of B's: refused.
    CHECK_FALSE(h.b().handle_stream_accepted(h.now, SocketAddr(kIpB, 6001), SocketAddr(kIpA, 998)));
    const uint64_t refused_before = h.b().stats().tcp_streams_refused;
    // A partial frame header, then a 65535-byte frame of junk: nothing is kept beyond one frame, and the junk closes it.
    std::vector<uint8_t> junk(2 + 65535, 0x42);
    junk[0] = 0xFF;
    junk[1] = 0xFF;
    h.b().handle_stream_data(h.now, *id, std::span<const uint8_t>(junk.data(), 1));
    bool closed = false;
    while (auto c = h.b().poll_stream())
        if (auto* cl = std::get_if<StreamClose>(&*c)) closed |= cl->stream == *id;
    CHECK_FALSE(closed); // one byte is no frame yet
    h.b().handle_stream_data(h.now, *id, std::span<const uint8_t>(junk.data() + 1, junk.size() - 1));
    while (auto c = h.b().poll_stream())
        if (auto* cl = std::get_if<StreamClose>(&*c)) closed |= cl->stream == *id;
    CHECK(closed);
    CHECK(h.b().stats().tcp_streams_refused == refused_before + 1);
    // More data on the closed stream is ignored.
    h.b().handle_stream_data(h.now, *id, junk);
    // A flood of unauthenticated connections is capped.
    size_t accepted = 0;
    for (int k = 0; k < 40; ++k)
        accepted += h.b().handle_stream_accepted(h.now, SocketAddr(kIpB, 6000), SocketAddr(kIpA, static_cast<uint16_t>(2000 + k)))
                        ? 1
                        : 0;
    CHECK(accepted == 8);
}
