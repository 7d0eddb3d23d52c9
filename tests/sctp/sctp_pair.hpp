// Two SctpAssociations wired to each other in memory, driven by a virtual clock, optionally losing packets.
#pragma once

#include "sctp/sctp_association.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace rtcpp::sctp::testing {

/// Makes gettimeofday() (what usrsctp reads) return `now` (virtual_clock_test.cpp).
void set_virtual_clock(Timestamp now);

struct Side {
    std::unique_ptr<SctpAssociation> assoc;
    std::vector<SctpEvent> events;
    std::deque<std::pair<Timestamp, std::vector<uint8_t>>> inbox;  // packets on their way to this side
    uint64_t packets_out = 0;
    uint64_t packets_dropped = 0;
    size_t largest_packet = 0;

    template <class E>
    std::vector<E> all() const {
        std::vector<E> out;
        for (const auto& e : events) {
            if (auto* p = std::get_if<E>(&e)) out.push_back(*p);
        }
        return out;
    }
    template <class E>
    size_t count() const { return all<E>().size(); }
    std::vector<events::MessageReceived> messages(uint16_t sid) const {
        std::vector<events::MessageReceived> out;
        for (auto& m : all<events::MessageReceived>()) {
            if (m.stream_id == sid) out.push_back(m);
        }
        return out;
    }
};

struct Pair {
    Timestamp now = Timestamp::seconds(10000);
    Side client;
    Side server;
    Random rng{42};
    double loss = 0.0;
    TimeDelta delay = TimeDelta::zero();
    /// Called after every event is recorded (lets a test react, e.g. echo).
    std::function<void(Side&, const SctpEvent&)> on_event;

    explicit Pair(SctpSettings client_settings = {}, SctpSettings server_settings = {}, uint64_t seed = 42)
        : rng(seed) {
        set_virtual_clock(now);
        client_settings.dtls_client = true;
        server_settings.dtls_client = false;
        auto c = SctpAssociation::create(client_settings);
        auto s = SctpAssociation::create(server_settings);
        REQUIRE(c.ok());
        REQUIRE(s.ok());
        client.assoc = std::move(*c);
        server.assoc = std::move(*s);
    }

    void connect() {
        REQUIRE(client.assoc->connect(now).ok());
        REQUIRE(server.assoc->connect(now).ok());
        REQUIRE(run_until([&] { return up(); }, TimeDelta::seconds(10)));
    }
    bool up() const {
        return client.assoc->state() == SctpAssociation::State::Connected &&
               server.assoc->state() == SctpAssociation::State::Connected;
    }

    // Drains one side: packets into the other side's inbox (maybe dropped), events recorded.
    bool drain(Side& from, Side& to) {
        bool progress = false;
        for (;;) {
            bool any = false;
            while (auto p = from.assoc->poll_transmit()) {
                any = true;
                ++from.packets_out;
                from.largest_packet = std::max(from.largest_packet, p->size());
                if (loss > 0 && rng.bernoulli(loss)) {
                    ++from.packets_dropped;
                    continue;
                }
                to.inbox.emplace_back(now + delay, std::move(*p));
            }
            while (auto e = from.assoc->poll_event()) {
                any = true;
                from.events.push_back(*e);
                if (on_event) on_event(from, from.events.back());
            }
            if (!any) break;
            progress = true;
        }
        return progress;
    }

    bool deliver(Side& to) {
        bool progress = false;
        while (!to.inbox.empty() && to.inbox.front().first <= now) {
            auto packet = std::move(to.inbox.front().second);
            to.inbox.pop_front();
            to.assoc->handle_packet(now, packet);
            // Buffers go back to the side that produced them.
            (&to == &client ? server : client).assoc->recycle(std::move(packet));
            progress = true;
        }
        return progress;
    }

    // Moves everything that can move at the current time.
    void pump() {
        for (int i = 0; i < 100000; ++i) {
            bool progress = drain(client, server);
            progress |= drain(server, client);
            progress |= deliver(server);
            progress |= deliver(client);
            if (!progress) return;
        }
        FAIL("pump did not settle");
    }

    // Advances the virtual clock to the next deadline or delivery and handles it.
    void step() {
        pump();
        Timestamp next = std::min(client.assoc->poll_timeout(), server.assoc->poll_timeout());
        if (!client.inbox.empty()) next = std::min(next, client.inbox.front().first);
        if (!server.inbox.empty()) next = std::min(next, server.inbox.front().first);
        if (!next.is_finite()) next = now + TimeDelta::millis(10);
        if (next <= now) next = now + TimeDelta::millis(1);
        now = next;
        set_virtual_clock(now);
        client.assoc->handle_timeout(now);
        server.assoc->handle_timeout(now);
        pump();
    }

    bool run_until(const std::function<bool()>& done, TimeDelta limit) {
        const Timestamp end = now + limit;
        pump();
        while (!done()) {
            if (now >= end) return false;
            step();
        }
        return true;
    }

    ~Pair() { set_virtual_clock(Timestamp::zero()); }

    void run_for(TimeDelta d) {
        const Timestamp end = now + d;
        while (now < end) step();
    }
};

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = static_cast<uint8_t>(x >> 16);
    }
    return v;
}

inline SctpSettings big_messages() {
    SctpSettings s;
    s.remote_max_message_size = kDefaultMaxMessageSize;
    return s;
}

} // namespace rtcpp::sctp::testing
