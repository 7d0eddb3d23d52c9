// Endpoints putting the sans-IO TURN client and server on the simulated network.
#pragma once

#include "sim/network.hpp"
#include "stun/turn_client.hpp"
#include "stun/turn_server.hpp"

#include <deque>
#include <memory>
#include <vector>

namespace rtcpp::stun::testing {

inline IpAddr ip(const char* s) { return *IpAddr::parse(s); }
inline SocketAddr addr(const char* s) { return *SocketAddr::parse(s); }

/// The server owns its listening addresses and every relayed address (one host on the network).
class ServerEndpoint : public sim::Endpoint {
public:
    ServerEndpoint(TurnServerConfig config, Random& random) : server(std::move(config), random) {}
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        server.handle_datagram(now, d.from, d.to, d.bytes);
    }
    void handle_timeout(Timestamp now) override { server.handle_timeout(now); }
    std::optional<sim::Datagram> poll_transmit() override {
        auto t = server.poll_transmit();
        if (!t) return std::nullopt;
        return sim::Datagram{t->from, t->to, std::move(t->bytes)};
    }
    Timestamp poll_timeout() override { return server.poll_timeout(); }
    TurnServer server;
};

/// A host whose only socket talks to the TURN server through a TurnClient; records every event.
class ClientEndpoint : public sim::Endpoint {
public:
    ClientEndpoint(SocketAddr local, TurnClientConfig config, Random& random)
        : local(local), client(std::move(config), random) {}
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        if (d.from == client.config().server) client.handle_datagram(now, d.bytes);
        drain();
    }
    void handle_timeout(Timestamp now) override {
        client.handle_timeout(now);
        drain();
    }
    std::optional<sim::Datagram> poll_transmit() override {
        auto b = client.poll_transmit();
        if (!b) return std::nullopt;
        return sim::Datagram{local, client.config().server, std::move(*b)};
    }
    Timestamp poll_timeout() override { return client.poll_timeout(); }

    void drain() {
        while (auto e = client.poll_event()) {
            if (auto* d = std::get_if<TurnPeerData>(&*e)) received.push_back(*d);
            events.push_back(std::move(*e));
        }
    }
    template <class T>
    const T* find_event() const {
        for (const auto& e : events)
            if (const auto* p = std::get_if<T>(&e)) return p;
        return nullptr;
    }
    template <class T>
    size_t count_events() const {
        size_t n = 0;
        for (const auto& e : events) n += std::holds_alternative<T>(e) ? 1 : 0;
        return n;
    }

    SocketAddr local;
    TurnClient client;
    std::vector<TurnEvent> events;
    std::vector<TurnPeerData> received;
};

/// A plain UDP peer: sends what it is told to, records what it receives, optionally echoes.
class PeerEndpoint : public sim::Endpoint {
public:
    explicit PeerEndpoint(SocketAddr local) : local(local) {}
    void send(SocketAddr to, std::vector<uint8_t> bytes) { out.push_back({local, to, std::move(bytes)}); }
    void handle_datagram(Timestamp, const sim::Datagram& d) override {
        received.push_back(d);
        if (echo) out.push_back({d.to, d.from, d.bytes});
    }
    void handle_timeout(Timestamp) override {}
    std::optional<sim::Datagram> poll_transmit() override {
        if (out.empty()) return std::nullopt;
        auto d = std::move(out.front());
        out.pop_front();
        return d;
    }
    Timestamp poll_timeout() override { return Timestamp::plus_infinity(); }

    SocketAddr local;
    bool echo = false;
    std::deque<sim::Datagram> out;
    std::vector<sim::Datagram> received;
};

} // namespace rtcpp::stun::testing
