// Two DtlsTransports joined in memory, driven by a virtual clock: the earliest pending deadline is always handled
// before anything later, and every datagram in flight is delivered at once (or dropped by the test's filter).
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "dtls/dtls_transport.hpp"

namespace rtcpp::dtls::testing {

inline Certificate test_certificate(const char* name) {
    auto c = Certificate::generate(name);
    REQUIRE(c.ok());
    return *c;
}

/// Certificates are slow to make; the tests share two.
inline const Certificate& client_cert() {
    static Certificate c = test_certificate("client");
    return c;
}
inline const Certificate& server_cert() {
    static Certificate c = test_certificate("server");
    return c;
}

struct Side {
    std::string name;
    std::optional<DtlsTransport> t;
    std::vector<DtlsEvent> events;
    std::vector<std::vector<uint8_t>> received; // application data

    std::optional<DtlsConnected> connected() const {
        for (const auto& e : events)
            if (auto* c = std::get_if<DtlsConnected>(&e)) return *c;
        return std::nullopt;
    }
    std::optional<Error> failure() const {
        for (const auto& e : events)
            if (auto* f = std::get_if<DtlsFailed>(&e)) return f->error;
        return std::nullopt;
    }
    bool closed_by_peer() const {
        for (const auto& e : events)
            if (std::holds_alternative<DtlsClosed>(e)) return true;
        return false;
    }
};

struct Pair {
    Side client{"client", std::nullopt, {}, {}};
    Side server{"server", std::nullopt, {}, {}};
    Timestamp now = Timestamp::seconds(1000);
    /// Called for every datagram; return false to drop it. `index` counts datagrams from both sides.
    std::function<bool(const std::string& from, size_t index, ByteView bytes)> filter;
    /// Every datagram sent, in order (from, bytes).
    std::vector<std::pair<std::string, std::vector<uint8_t>>> wire;
    size_t index = 0;
    /// Called before the clock jumps to a deadline (a test may let real time pass here).
    std::function<void()> before_timeout;

    static DtlsConfig config(Role role) {
        DtlsConfig c(role == Role::Client ? client_cert() : server_cert());
        c.role = role;
        c.remote_fingerprints = {(role == Role::Client ? server_cert() : client_cert()).fingerprint()};
        return c;
    }

    explicit Pair(DtlsConfig client_config = config(Role::Client), DtlsConfig server_config = config(Role::Server)) {
        auto c = DtlsTransport::create(std::move(client_config));
        auto s = DtlsTransport::create(std::move(server_config));
        if (!c.ok()) FAIL(c.error().to_string());
        if (!s.ok()) FAIL(s.error().to_string());
        client.t.emplace(std::move(*c));
        server.t.emplace(std::move(*s));
    }

    void start() {
        server.t->start(now);
        client.t->start(now);
    }

    void drain_events(Side& s) {
        while (auto e = s.t->poll_event()) {
            if (auto* d = std::get_if<DtlsApplicationData>(&*e))
                s.received.emplace_back(d->data.begin(), d->data.end());
            s.events.push_back(std::move(*e));
        }
    }

    /// Moves every pending datagram; returns whether any moved.
    bool exchange() {
        bool moved = false;
        for (int pass = 0; pass < 2; ++pass) {
            Side& from = pass == 0 ? client : server;
            Side& to = pass == 0 ? server : client;
            std::vector<std::vector<uint8_t>> batch;
            while (auto d = from.t->poll_transmit()) batch.emplace_back(d->begin(), d->end());
            for (auto& d : batch) {
                moved = true;
                wire.emplace_back(from.name, d);
                const size_t i = index++;
                if (filter && !filter(from.name, i, d)) continue;
                to.t->handle_datagram(now, d);
            }
        }
        drain_events(client);
        drain_events(server);
        return moved;
    }

    /// Runs until `done` or until nothing is pending any more, or `limit` of virtual time passes.
    void run(const std::function<bool()>& done, TimeDelta limit = TimeDelta::seconds(120)) {
        const Timestamp end = now + limit;
        for (int guard = 0; guard < 100000; ++guard) {
            while (exchange()) {
            }
            if (done && done()) return;
            Timestamp next = std::min(client.t->poll_timeout(), server.t->poll_timeout());
            if (!next.is_finite() || next > end) return;
            if (before_timeout) before_timeout();
            if (next > now) now = next;
            client.t->handle_timeout(now);
            server.t->handle_timeout(now);
        }
    }

    bool both_connected() const {
        return client.t->state() == DtlsState::Connected && server.t->state() == DtlsState::Connected;
    }
    void run_until_connected() {
        run([this] { return both_connected(); });
    }
};

} // namespace rtcpp::dtls::testing
