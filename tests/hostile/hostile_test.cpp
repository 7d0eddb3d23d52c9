// Hostile traffic and fault tests (issue #9): two rtcpp::Session peers over the simulated network, attacked or
// broken while a data channel call runs. Every case checks that the protection holds (the attack is dropped and
// counted, the call keeps flowing) and ends with a measured heap bound: the growth of the bytes in use between the
// start of the attack and its end (and every sample in between) stays under a stated figure.
//
// Heap in use: mallinfo2().uordblks in normal builds, the sanitizer allocator's count under ASan (whose malloc
// mallinfo2 does not see).
#include "../e2e/session_peer.hpp"

#include "stun/message.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include <sys/time.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTCPP_HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RTCPP_HOSTILE_ASAN)
#define RTCPP_HOSTILE_ASAN 1
#endif

#ifdef RTCPP_HOSTILE_ASAN
// From the sanitizer runtime (GCC ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

using namespace rtcpp;
using namespace rtcpp::test;

// usrsctp reads gettimeofday() for RTT samples and its T3 guard: on expiry it retransmits only chunks sent more
// than SRTT+RTTVAR ago in *that* clock (see src/sctp/sctp_association.hpp); OpenSSL's DTLS timer reads it too. A
// simulation runs far ahead of real time, so a lost DATA chunk (a DCEP OPEN, say) waits for real time to catch up
// and loss tests measure the wrap, not the protocol (30 % loss, 40 seeds, real clock: 3 never opened a channel in
// 40 s simulated; simulated clock: all did). While a VirtualClock is alive this executable's gettimeofday()
// returns the simulated time (shifted so it never goes backwards across tests); otherwise the real time.
namespace {
std::atomic<int64_t> g_virtual_us{0};

int64_t real_us() {
    struct timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

class VirtualClock {
public:
    // On a whole second: usrsctp compares seconds and microseconds separately, so the sub-second phase of the
    // epoch would otherwise make runs differ.
    VirtualClock() : epoch_((std::max(real_us(), last_) / 1000000 + 1) * 1000000) { g_virtual_us.store(epoch_); }
    ~VirtualClock() {
        last_ = g_virtual_us.load();
        g_virtual_us.store(0);
    }
    VirtualClock(const VirtualClock&) = delete;
    VirtualClock& operator=(const VirtualClock&) = delete;
    void set(Timestamp now) { g_virtual_us.store(std::max(g_virtual_us.load(), epoch_ + now.us())); }

private:
    static inline int64_t last_ = 0;
    int64_t epoch_;
};
} // namespace

extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict /*tz*/) noexcept {
    int64_t v = g_virtual_us.load();
    if (v == 0) v = real_us();
    tv->tv_sec = static_cast<time_t>(v / 1000000);
    tv->tv_usec = static_cast<suseconds_t>(v % 1000000);
    return 0;
}

namespace {

/// A SessionPeer that moves the virtual clock before every input.
class ClockedPeer : public SessionPeer {
public:
    ClockedPeer(std::string name, Configuration config, std::vector<SocketAddr> addresses, VirtualClock& clock)
        : SessionPeer(std::move(name), std::move(config), std::move(addresses)), clock_(clock) {}
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        clock_.set(now);
        SessionPeer::handle_datagram(now, d);
    }
    void handle_timeout(Timestamp now) override {
        clock_.set(now);
        SessionPeer::handle_timeout(now);
    }

private:
    VirtualClock& clock_;
};

size_t heap_in_use() {
#ifdef RTCPP_HOSTILE_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

/// Largest heap growth over a baseline seen by sample().
struct HeapWatch {
    size_t base = heap_in_use();
    size_t peak = base;
    void sample() { peak = std::max(peak, heap_in_use()); }
    size_t growth() {
        sample();
        return peak - base;
    }
};

Configuration config(uint64_t seed, uint64_t max_message_size = 1024 * 1024) {
    Configuration c;
    c.random_seed = seed;
    c.max_message_size = max_message_size;
    return c;
}

const SocketAddr kA = *SocketAddr::parse("10.0.0.1:5000");
const SocketAddr kB = *SocketAddr::parse("10.0.0.2:5000");

/// Calls a function every `period` of simulated time: the application's clock and the attacker's.
class Ticker : public sim::Endpoint {
public:
    Ticker(TimeDelta period, std::function<void(Timestamp)> tick) : period_(period), tick_(std::move(tick)) {}
    void start(Timestamp at) { next_ = at; }
    void stop() { next_ = Timestamp::plus_infinity(); }
    void handle_datagram(Timestamp, const sim::Datagram&) override {}
    void handle_timeout(Timestamp now) override {
        if (now < next_) return;
        next_ = now + period_;
        tick_(now);
    }
    std::optional<sim::Datagram> poll_transmit() override { return std::nullopt; }
    Timestamp poll_timeout() override { return next_; }

private:
    TimeDelta period_;
    std::function<void(Timestamp)> tick_;
    Timestamp next_ = Timestamp::plus_infinity();
};

struct Pair {
    VirtualClock clock;
    sim::Network net;
    ClockedPeer a;
    ClockedPeer b;
    sim::LinkId la = 0, lb = 0;
    sim::HostId ha = 0, hb = 0;
    std::optional<sim::NatId> nat;

    explicit Pair(const sim::LinkConfig& link = {}, uint64_t seed = 7, Configuration ca = config(1),
                  Configuration cb = config(2), bool a_behind_nat = false)
        : net(seed), a("a", std::move(ca), {a_behind_nat ? *SocketAddr::parse("192.168.1.10:5000") : kA}, clock),
          b("b", std::move(cb), {kB}, clock) {
        la = net.add_link(link);
        lb = net.add_link(link);
        if (a_behind_nat) {
            nat = net.add_nat(*IpAddr::parse("10.0.0.1"), sim::NatConfig::port_restricted_cone());
            ha = net.add_host(a, {*IpAddr::parse("192.168.1.10")}, {.uplink = la, .behind_nat = *nat});
        } else {
            ha = net.add_host(a, {*IpAddr::parse("10.0.0.1")}, {.uplink = la});
        }
        hb = net.add_host(b, {*IpAddr::parse("10.0.0.2")}, {.uplink = lb});
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
    void run_for(TimeDelta d) { run_until([] { return false; }, d); }
};

/// An echo call: a sends a numbered message every `period` on its channel, b echoes every message back. Counts
/// what arrives where, and keeps the peers' event logs from growing (they would blur the heap figures).
struct EchoCall {
    Pair& p;
    ChannelId a_channel = 0;
    uint64_t sent = 0, at_b = 0, echoed = 0;
    Timestamp last_echo = Timestamp::minus_infinity();
    Ticker ticker;
    sim::HostId host = 0;

    EchoCall(Pair& pair, ChannelId channel, TimeDelta period = TimeDelta::millis(20))
        : p(pair), a_channel(channel), ticker(period, [this](Timestamp) { tick(); }) {
        p.b.on_event = [this](const SessionEvent& e) {
            if (auto* m = std::get_if<event::ChannelMessage>(&e)) {
                ++at_b;
                (void)p.b.session->send(m->channel, m->data);
            }
        };
        p.a.on_event = [this](const SessionEvent& e) {
            if (auto* m = std::get_if<event::ChannelMessage>(&e); m && m->channel == a_channel) {
                ++echoed;
                last_echo = p.net.now();
            }
        };
        host = p.net.add_host(ticker, {*IpAddr::parse("10.254.0.1")});
    }
    void start() {
        ticker.start(p.net.now());
        p.net.wake(host);
    }
    void stop() { ticker.stop(); }
    void tick() {
        const std::string msg = "echo " + std::to_string(sent) + std::string(100, '.');
        if (p.a.session->send_text(a_channel, msg)) ++sent;
        p.a.events.clear();
        p.b.events.clear();
        p.kick();
    }
};

/// Connects a pair with one channel created by a; returns a's channel and b's handle of it.
std::pair<ChannelId, ChannelId> connect(Pair& p, TimeDelta limit = TimeDelta::seconds(10)) {
    auto ch = p.a.session->create_data_channel("call");
    REQUIRE(ch);
    negotiate(p.a, p.b);
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); }, limit));
    return {*ch, p.b.events_of<event::DataChannel>().at(0).info.channel};
}

std::string ice_ufrag(const std::string& sdp) {
    const auto pos = sdp.find("a=ice-ufrag:");
    REQUIRE(pos != std::string::npos);
    const auto start = pos + std::string("a=ice-ufrag:").size();
    return sdp.substr(start, sdp.find_first_of("\r\n", start) - start);
}

SocketAddr random_v4(Random& r) {
    const uint32_t ip = r.next_u32() | 0x01000000u; // never 0.x.x.x
    const uint16_t port = static_cast<uint16_t>(1024 + r.next_u32() % 60000);
    return SocketAddr(IpAddr::v4(ip), port);
}

/// A valid-looking DTLS 1.2 ClientHello record (content type 22, epoch 0) with a random client random.
std::vector<uint8_t> client_hello(Random& r) {
    std::vector<uint8_t> body;
    body.push_back(0xfe), body.push_back(0xfd);          // client_version DTLS 1.2
    for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(r.next_u32())); // random
    body.push_back(0);                                   // session_id
    body.push_back(0);                                   // cookie
    body.insert(body.end(), {0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f}); // two ECDHE-GCM suites
    body.insert(body.end(), {0x01, 0x00});               // null compression
    body.insert(body.end(), {0x00, 0x00});               // no extensions
    const auto n = body.size();
    std::vector<uint8_t> hs = {0x01, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), 0, 0, // type, length, message_seq
                               0, 0, 0, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};  // fragment offset, length
    hs.insert(hs.end(), body.begin(), body.end());
    std::vector<uint8_t> rec = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(hs.size() >> 8),
                                static_cast<uint8_t>(hs.size())};
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("hostile: 100,000 unauthenticated STUN Binding requests per second for 10 s while a call runs") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    auto [a_ch, b_ch] = connect(p);
    (void)b_ch;
    EchoCall call(p, a_ch);
    call.start();
    p.run_for(TimeDelta::seconds(1)); // warm up: steady state buffers exist before the baseline
    REQUIRE(call.echoed > 30);

    // Requests the attacker can make without the peer's password: no credentials at all, b's ufrag (visible in
    // signalling) with a forged MESSAGE-INTEGRITY, and a stranger's username. Distinct transaction ids.
    Random r(99);
    const std::string b_ufrag = ice_ufrag(p.b.session->local_description()->sdp);
    std::vector<std::vector<uint8_t>> requests;
    for (int i = 0; i < 1024; ++i) {
        stun::Message m(stun::Class::Request, stun::Method::Binding, stun::random_transaction_id(r));
        switch (i % 3) {
        case 0: requests.push_back(m.encode({}, stun::IntegrityAlgorithm::None, true)); break;
        case 1:
            m.add_string(stun::attr::Username, b_ufrag + ":attacker");
            m.add_u32(stun::attr::Priority, 0x7effffff);
            requests.push_back(m.encode(stun::short_term_key("not the password"), stun::IntegrityAlgorithm::Sha1, true));
            break;
        default:
            m.add_string(stun::attr::Username, "nobody:attacker");
            requests.push_back(m.encode(stun::short_term_key("x"), stun::IntegrityAlgorithm::Sha1, true));
        }
    }

    // The attacker's source addresses are all distinct: any per-source state would show in the heap.
    constexpr int kPerMillisecond = 100; // 100,000 per second
    const TimeDelta kFlood = TimeDelta::seconds(10);
    uint64_t flood_sent = 0;
    uint64_t replies_to_attacker = 0;
    p.net.set_tap([&](Timestamp, sim::TapPoint where, const sim::Datagram& d) {
        if (where == sim::TapPoint::Sent && d.from == kB && d.to != kA) ++replies_to_attacker;
    });
    const SessionStats before = p.b.session->stats();
    HeapWatch heap;
    uint64_t ticks = 0;
    Ticker attacker(TimeDelta::millis(1), [&](Timestamp now) {
        if (flood_sent >= uint64_t{kPerMillisecond} * static_cast<uint64_t>(kFlood.ms())) return;
        for (int i = 0; i < kPerMillisecond; ++i) {
            const auto& req = requests[flood_sent % requests.size()];
            p.b.session->handle_datagram(now, kB, random_v4(r), req);
            ++flood_sent;
        }
        p.b.drain_events();
        p.net.wake(p.hb);
        if (++ticks % 100 == 0) heap.sample();
    });
    const auto attacker_host = p.net.add_host(attacker, {*IpAddr::parse("10.254.0.2")});
    const Timestamp flood_start = p.net.now();
    const uint64_t echoed_before = call.echoed;
    attacker.start(flood_start);
    p.net.wake(attacker_host);

    // The call keeps flowing during the flood: echoes arrive in every second of it.
    uint64_t echoed_at_second = call.echoed;
    for (int s = 0; s < 10; ++s) {
        p.run_for(TimeDelta::seconds(1));
        CAPTURE(s);
        CHECK(call.echoed > echoed_at_second + 30); // 50 sent per second
        echoed_at_second = call.echoed;
    }
    attacker.stop();
    const SessionStats during = p.b.session->stats();
    const size_t growth = heap.growth();
    MESSAGE("STUN flood: " << flood_sent << " requests in " << (p.net.now() - flood_start).ms() << " ms simulated, "
                           << replies_to_attacker << " replies to the attacker, heap growth " << growth
                           << " bytes, echoes during the flood " << (call.echoed - echoed_before));

    CHECK(flood_sent == uint64_t{kPerMillisecond} * static_cast<uint64_t>(kFlood.ms()));
    // Every request is dropped and counted (rate-limited, missing credentials, unknown username or bad integrity).
    CHECK(during.stun_dropped - before.stun_dropped == flood_sent);
    // Nearly all of them by the rate limiter: unknown sources get no state and (almost) no answers.
    CHECK(during.stun_rate_limited - before.stun_rate_limited > flood_sent * 99 / 100);
    // The token bucket (50/s, burst 100) bounds what the attacker gets back: the peer is no reflector.
    CHECK(replies_to_attacker <= 100 + 50 * 10 + 5);
    CHECK(replies_to_attacker > 0); // some 400 answers went out: the bucket, not a blanket drop, is what held
    // Bound: 64 KiB (measured: 7 KB, the call's own buffers). One byte of state per attacking source would be 1 MB.
    CHECK(growth < 64 * 1024);

    // After the flood the call still flows and the peers are connected.
    const uint64_t echoed_after_flood = call.echoed;
    p.run_for(TimeDelta::seconds(1));
    CHECK(call.echoed > echoed_after_flood + 30);
    CHECK(p.a.session->connection_state() == PeerConnectionState::Connected);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    CHECK(call.at_b >= call.echoed);
}

TEST_CASE("hostile: DTLS ClientHellos from unknown addresses before and after ICE selection are dropped") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    Random r(5);
    auto ch = p.a.session->create_data_channel("call");
    REQUIRE(ch);
    negotiate(p.a, p.b);
    // The offerer a is the DTLS server (the answerer chose active): ClientHellos are what its server would take.
    // Before any check succeeded, from random addresses and from b's own IP on another port.
    // Heap growth is summed over the injections only (the real handshake runs between them).
    size_t growth = 0;
    constexpr int kEach = 2000;
    auto flood = [&](SessionPeer& target, const SocketAddr& local) {
        const uint64_t before = target.session->stats().dtls_dropped;
        std::vector<std::vector<uint8_t>> hellos;
        for (int i = 0; i < 16; ++i) hellos.push_back(client_hello(r));
        HeapWatch heap;
        for (int i = 0; i < kEach; ++i) {
            const SocketAddr from = i % 4 == 0 ? SocketAddr(kB.ip(), static_cast<uint16_t>(6000 + i)) : random_v4(r);
            target.session->handle_datagram(p.net.now(), local, from, hellos[static_cast<size_t>(i) % hellos.size()]);
            if (i % 100 == 0) heap.sample();
        }
        target.drain_events();
        growth += heap.growth();
        return target.session->stats().dtls_dropped - before;
    };
    CHECK(flood(p.a, kA) == kEach);
    CHECK(flood(p.b, kB) == kEach);
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); },
                        TimeDelta::seconds(5)));
    // After selection.
    CHECK(flood(p.a, kA) == kEach);
    CHECK(flood(p.b, kB) == kEach);
    MESSAGE("DTLS ClientHello flood: " << 4 * kEach << " records, heap growth " << growth << " bytes");
    // Bound: 16 KiB over 8,000 ClientHellos, i.e. 2 bytes each: no handshake state per source (an OpenSSL SSL object
    // per ClientHello would be tens of megabytes).
    CHECK(growth < 16 * 1024);

    CHECK(p.a.session->connection_state() == PeerConnectionState::Connected);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    const ChannelId b_ch = p.b.events_of<event::DataChannel>().at(0).info.channel;
    REQUIRE(p.a.session->send_text(*ch, "still here"));
    REQUIRE(p.b.session->send_text(b_ch, "me too"));
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelMessage>() && p.b.has<event::ChannelMessage>(); }));
}

TEST_CASE("hostile: RTP and RTCP with 10,000 random SSRCs are dropped without per-SSRC state") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    auto [a_ch, b_ch] = connect(p);
    (void)b_ch;
    EchoCall call(p, a_ch);
    call.start();
    p.run_for(TimeDelta::seconds(1));
    Random r(11);
    std::vector<uint32_t> ssrcs(10000);
    for (auto& s : ssrcs) s = r.next_u32();
    const SessionStats before = p.b.session->stats();
    HeapWatch heap;
    uint64_t injected = 0;
    std::vector<uint8_t> pkt(12 + 160);
    // Five rounds over every SSRC, RTP and an RTCP sender report each, from the authenticated peer's address (the
    // worst case: it passes the address check) and from random ones, interleaved with 100 ms of the call.
    for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < ssrcs.size(); ++i) {
            const uint32_t ssrc = ssrcs[i];
            r.fill(pkt);
            pkt[0] = 0x80;
            pkt[1] = 111;
            pkt[2] = static_cast<uint8_t>(round), pkt[3] = static_cast<uint8_t>(i);
            pkt[8] = static_cast<uint8_t>(ssrc >> 24), pkt[9] = static_cast<uint8_t>(ssrc >> 16);
            pkt[10] = static_cast<uint8_t>(ssrc >> 8), pkt[11] = static_cast<uint8_t>(ssrc);
            const SocketAddr from = i % 2 ? kA : random_v4(r);
            p.b.session->handle_datagram(p.net.now(), kB, from, pkt);
            std::vector<uint8_t> sr = {0x80, 200, 0, 6};
            for (int k = 0; k < 4; ++k) sr.push_back(static_cast<uint8_t>(ssrc >> (24 - 8 * k)));
            for (int k = 0; k < 20; ++k) sr.push_back(static_cast<uint8_t>(r.next_u32()));
            p.b.session->handle_datagram(p.net.now(), kB, from, sr);
            injected += 2;
            if (i % 1000 == 0) heap.sample();
        }
        p.run_for(TimeDelta::millis(100));
        heap.sample();
    }
    const SessionStats after = p.b.session->stats();
    const size_t growth = heap.growth();
    MESSAGE("RTP/RTCP with 10,000 SSRCs: " << injected << " datagrams, heap growth " << growth << " bytes");
    CHECK(after.media_dropped - before.media_dropped == injected);
    // Bound: 64 KiB for 10,000 SSRCs, i.e. under 7 bytes per SSRC: no per-SSRC table.
    CHECK(growth < 64 * 1024);
    const uint64_t echoed = call.echoed;
    p.run_for(TimeDelta::seconds(1));
    CHECK(call.echoed > echoed + 30);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
}

TEST_CASE("hostile: SCTP messages above max-message-size") {
    // b accepts 64 KiB; the answer is munged so that a believes b accepts 1 MiB.
    Pair p({}, 7, config(1), config(2, 65536));
    auto ch = p.a.session->create_data_channel("big");
    REQUIRE(ch);
    p.a.on_candidate = [&](const IceCandidate& c) { (void)p.b.session->add_ice_candidate(c); };
    p.b.on_candidate = [&](const IceCandidate& c) { (void)p.a.session->add_ice_candidate(c); };
    auto offer = p.a.session->create_offer();
    REQUIRE(offer);
    REQUIRE(p.a.session->set_local_description(*offer));
    REQUIRE(p.b.session->set_remote_description(*offer));
    auto answer = p.b.session->create_answer();
    REQUIRE(answer);
    REQUIRE(p.b.session->set_local_description(*answer));
    std::string sdp = answer->sdp;
    const std::string honest = "a=max-message-size:65536";
    const auto pos = sdp.find(honest);
    REQUIRE(pos != std::string::npos);
    sdp.replace(pos, honest.size(), "a=max-message-size:1048576");
    REQUIRE(p.a.session->set_remote_description({SdpType::Answer, sdp}));
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); }));
    const ChannelId b_ch = p.b.events_of<event::DataChannel>().at(0).info.channel;

    // send() refuses what the peer said it would not take: b knows a's 1 MiB, a believes the munged 1 MiB.
    CHECK(p.b.session->max_message_size() == 1024 * 1024);
    CHECK(p.a.session->max_message_size() == 1024 * 1024);
    const std::vector<uint8_t> too_big(1024 * 1024 + 1, 1);
    auto refused = p.b.session->send(b_ch, too_big);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().category == ErrorCategory::TypeError);
    CHECK_FALSE(p.a.session->send(*ch, too_big));

    // a sends 200 KB, over b's real 64 KiB: b closes that channel, stays connected, delivers nothing oversize.
    HeapWatch heap;
    REQUIRE(p.a.session->send_text(*ch, "small first"));
    REQUIRE(p.a.session->send(*ch, std::vector<uint8_t>(200000, 7)));
    REQUIRE(p.run_until([&] { return p.b.has<event::ChannelClosed>(); }));
    p.run_for(TimeDelta::seconds(2));
    const size_t growth = heap.growth();
    MESSAGE("oversize SCTP message: heap growth " << growth << " bytes; b's close reason: "
                                                  << p.b.events_of<event::ChannelClosed>().at(0).reason);
    // Bound: 512 KiB while a 200 KB message is in flight (both sides' buffers): b does not keep accumulating it.
    CHECK(growth < 512 * 1024);
    for (const auto& m : p.b.events_of<event::ChannelMessage>()) CHECK(m.data.size() <= 65536);
    CHECK(p.b.events_of<event::ChannelMessage>().size() <= 1);
    CHECK(p.b.events_of<event::ChannelClosed>().at(0).channel == b_ch);
    CHECK(p.a.has<event::ChannelClosed>()); // the stream reset reached the sender
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    CHECK(p.a.session->connection_state() == PeerConnectionState::Connected);

    // The association survives: a new channel works.
    auto again = p.a.session->create_data_channel("after");
    REQUIRE(again);
    REQUIRE(p.run_until([&] {
        for (const auto& o : p.a.events_of<event::ChannelOpen>())
            if (o.channel == *again) return true;
        return false;
    }));
    REQUIRE(p.a.session->send_text(*again, "fine"));
    REQUIRE(p.run_until([&] {
        for (const auto& m : p.b.events_of<event::ChannelMessage>())
            if (std::string(m.data.begin(), m.data.end()) == "fine") return true;
        return false;
    }));
}

TEST_CASE("hostile: 10,000 trickled remote candidates are capped and the real ones still connect") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    auto ch = p.a.session->create_data_channel("call");
    REQUIRE(ch);
    negotiate(p.a, p.b);
    std::set<SocketAddr> check_targets;
    p.net.set_tap([&](Timestamp, sim::TapPoint where, const sim::Datagram& d) {
        if (where == sim::TapPoint::Sent && d.from == kB) check_targets.insert(d.to);
    });
    Random r(3);
    HeapWatch heap; // over the 10,000 add_ice_candidate calls
    size_t accepted = 0, refused = 0;
    for (int i = 0; i < 10000; ++i) {
        const SocketAddr addr = random_v4(r);
        // Higher priority than any real host candidate: the bogus pairs would be checked first.
        const std::string c = "candidate:" + std::to_string(i) + " 1 udp 2130706431 " + addr.ip().to_string() + " " +
                              std::to_string(addr.port()) + " typ host";
        if (p.b.session->add_ice_candidate({c, "0", 0})) ++accepted;
        else ++refused;
        if (i % 500 == 0) heap.sample();
    }
    p.b.drain_events();
    const size_t growth = heap.growth();
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); },
                        TimeDelta::seconds(10)));
    const Timestamp connected_at = p.net.now();
    HeapWatch steady;
    p.run_for(TimeDelta::seconds(10)); // the check list, consent and the bogus pairs run on
    const size_t steady_growth = steady.growth();
    MESSAGE("10,000 trickled candidates: " << accepted << " accepted, " << refused << " refused, connected at "
                                           << connected_at.ms() << " ms, " << check_targets.size()
                                           << " distinct destinations, heap growth " << growth
                                           << " bytes while adding, " << steady_growth << " bytes in the 10 s after");
    CHECK(accepted <= 100); // AgentConfig::max_remote_candidates
    CHECK(refused >= 9900);
    CHECK(check_targets.size() <= 100 + 1);
    // Bound: 128 KiB for the capped 100 candidates and their pairs (about 1 KiB each); 10,000 would be megabytes.
    CHECK(growth < 128 * 1024);
    CHECK(steady_growth < 64 * 1024);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    const ChannelId b_ch = p.b.events_of<event::DataChannel>().at(0).info.channel;
    REQUIRE(p.b.session->send_text(b_ch, "hello"));
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelMessage>(); }));
}

TEST_CASE("hostile: remote candidates in an SDP: 10,000 refused, a full section capped and still connecting") {
    Pair p;
    auto ch = p.a.session->create_data_channel("call");
    REQUIRE(ch);
    auto offer = p.a.session->create_offer();
    REQUIRE(offer);
    REQUIRE(p.a.session->set_local_description(*offer));
    Random r(4);
    auto with_candidates = [&](int n) {
        std::string extra;
        for (int i = 0; i < n; ++i) {
            const SocketAddr addr = random_v4(r);
            extra += "a=candidate:" + std::to_string(i) + " 1 udp 2130706431 " + addr.ip().to_string() + " " +
                     std::to_string(addr.port()) + " typ host\r\n";
        }
        // After a's real candidate: what the agent keeps under its cap (100) is the first ones signalled.
        std::string sdp = offer->sdp;
        const auto first = sdp.find("a=candidate:");
        REQUIRE(first != std::string::npos);
        const auto pos = sdp.find("\r\n", first) + 2;
        sdp.insert(pos, extra);
        return sdp;
    };
    const std::string huge = with_candidates(10000);
    HeapWatch heap;
    const auto t0 = std::chrono::steady_clock::now();
    auto bad = p.b.session->set_remote_description({SdpType::Offer, huge});
    const auto took = std::chrono::steady_clock::now() - t0;
    const size_t refused_growth = heap.growth();
    REQUIRE_FALSE(bad);
    CHECK(refused_growth < 16 * 1024);
    MESSAGE("SDP with 10,000 candidates (" << huge.size() << " bytes) refused in "
                                           << std::chrono::duration_cast<std::chrono::microseconds>(took).count()
                                           << " us: " << bad.error().to_string());
    CHECK(bad.error().category == ErrorCategory::SyntaxError);
    CHECK(p.b.session->signaling_state() == SignalingState::Stable);

    // As many as one section may carry (the parser's limit is 128; a has one real candidate).
    std::set<SocketAddr> check_targets;
    p.net.set_tap([&](Timestamp, sim::TapPoint where, const sim::Datagram& d) {
        if (where == sim::TapPoint::Sent && d.from == kB) check_targets.insert(d.to);
    });
    REQUIRE(p.b.session->set_remote_description({SdpType::Offer, with_candidates(120)}));
    auto answer = p.b.session->create_answer();
    REQUIRE(answer);
    REQUIRE(p.b.session->set_local_description(*answer));
    REQUIRE(p.a.session->set_remote_description(*answer));
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); },
                        TimeDelta::seconds(10)));
    HeapWatch steady;
    p.run_for(TimeDelta::seconds(10));
    const size_t growth = steady.growth();
    MESSAGE("SDP with 120 bogus candidates: " << check_targets.size() << " distinct destinations, heap growth "
                                              << growth << " bytes in the 10 s after connecting");
    CHECK(check_targets.size() <= 100 + 1);
    CHECK(growth < 64 * 1024);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
}

TEST_CASE("hostile: a 10 MB SDP is refused fast with a clear error") {
    Pair p;
    std::string sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    const std::string line = "a=x-padding:" + std::string(1000, 'z') + "\r\n";
    while (sdp.size() < 10 * 1024 * 1024) sdp += line;
    HeapWatch heap;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = p.a.session->set_remote_description({SdpType::Offer, sdp});
    const auto took = std::chrono::steady_clock::now() - t0;
    const size_t growth = heap.growth();
    REQUIRE_FALSE(r);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    MESSAGE("10 MB SDP refused in " << us << " us, heap growth " << growth << " bytes: " << r.error().to_string());
    CHECK(r.error().category == ErrorCategory::SyntaxError);
    CHECK(r.error().message.find("limit") != std::string::npos);
    CHECK(r.error().message.find(std::to_string(sdp.size())) != std::string::npos);
    CHECK(us < 100000);               // refused before parsing: well under 0.1 s even in a sanitizer build
    CHECK(growth < 64 * 1024);        // no copy of the 10 MB kept or made
    CHECK(p.a.session->signaling_state() == SignalingState::Stable);
    CHECK_FALSE(p.a.session->remote_description());
}

TEST_CASE("hostile: fingerprint mismatch: connection failed with SecurityError, no data delivered") {
    for (const bool tamper_offer : {true, false}) {
        CAPTURE(tamper_offer);
        Pair p;
        auto ch = p.a.session->create_data_channel("x");
        REQUIRE(ch);
        auto tamper = [](std::string sdp) {
            const std::string key = "a=fingerprint:sha-256 ";
            const auto pos = sdp.find(key);
            REQUIRE(pos != std::string::npos);
            const auto digit = pos + key.size();
            sdp[digit] = sdp[digit] == 'A' ? 'B' : 'A';
            return sdp;
        };
        auto offer = p.a.session->create_offer();
        REQUIRE(offer);
        REQUIRE(p.a.session->set_local_description(*offer));
        REQUIRE(p.b.session->set_remote_description({SdpType::Offer, tamper_offer ? tamper(offer->sdp) : offer->sdp}));
        auto answer = p.b.session->create_answer();
        REQUIRE(answer);
        REQUIRE(p.b.session->set_local_description(*answer));
        REQUIRE(p.a.session->set_remote_description({SdpType::Answer, tamper_offer ? answer->sdp : tamper(answer->sdp)}));
        // The side that checks the tampered fingerprint fails; b is the DTLS client and checks a's certificate,
        // a (server) checks b's client certificate.
        SessionPeer& victim = tamper_offer ? p.b : p.a;
        REQUIRE(p.run_until([&] { return victim.session->connection_state() == PeerConnectionState::Failed; },
                            TimeDelta::seconds(10)));
        const auto changes = victim.events_of<event::ConnectionStateChange>();
        REQUIRE(!changes.empty());
        REQUIRE(changes.back().error);
        CHECK(changes.back().error->category == ErrorCategory::SecurityError);
        MESSAGE("fingerprint mismatch (" << std::string(tamper_offer ? "offer" : "answer")
                                         << " tampered) failed at " << p.net.now().ms()
                                         << " ms: " << changes.back().error->to_string());
        HeapWatch heap;
        p.run_for(TimeDelta::seconds(5));
        CHECK(heap.growth() < 64 * 1024);
        for (auto* s : {&p.a, &p.b}) {
            CHECK_FALSE(s->has<event::DataChannel>());
            CHECK_FALSE(s->has<event::ChannelOpen>());
            CHECK_FALSE(s->has<event::ChannelMessage>());
            CHECK(s->session->stats().sctp_messages_received == 0);
            CHECK(s->session->connection_state() != PeerConnectionState::Connected);
            for (const auto& c : s->events_of<event::ConnectionStateChange>())
                CHECK(c.state != PeerConnectionState::Connected);
        }
        CHECK_FALSE(p.a.session->send_text(*ch, "secret"));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Faults

TEST_CASE("fault: 30% loss both ways for the whole handshake still connects") {
    // Ten seeds; ICE, DTLS and SCTP (INIT, COOKIE, DCEP OPEN/ACK) all run under 30 % independent loss each way.
    // Measured (seeds 1-10, with /work/notes/h-hostile-session.patch): channel open at 1.7 1.9 1.3 4.9 1.0 16-36
    // 5.5 4.8 1.7 8.9 s, the same every run except seed 6; without the patch (DTLS's first retransmission after
    // RFC 6347's 1 s instead of 100 ms) 5 of 10 took over 10 s. Seed 6 is usrsctp: after its INITs were lost, its
    // SRTT+4*RTTVAR exceeds the capped RTO, so T3 never passes its guard and a lost DCEP OPEN waits for the next
    // heartbeat (about every 20 s, randomised inside usrsctp: not reproducible, so not asserted per seed).
    int within_10s = 0, delivered_10s = 0;
    std::string all, first_message;
    for (uint64_t seed = 1; seed <= 10; ++seed) {
        CAPTURE(seed);
        sim::LinkConfig link;
        link.delay = TimeDelta::millis(20);
        link.loss = 0.3;
        Pair p(link, 1000 + seed, config(seed * 2 + 100), config(seed * 2 + 101));
        auto ch = p.a.session->create_data_channel("lossy");
        REQUIRE(ch);
        HeapWatch heap;
        negotiate(p.a, p.b);
        const bool open = p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); },
                                      TimeDelta::seconds(60));
        if (open && p.net.now() <= Timestamp::seconds(10)) ++within_10s;
        all += std::to_string(open ? p.net.now().ms() : -1) + " ";
        CHECK(p.net.link_stats(p.la).lost + p.net.link_stats(p.lb).lost > 0);
        // Both sessions whole (certificates, DTLS, usrsctp): a fixed bound, not a per-packet one.
        CHECK(heap.growth() < 2 * 1024 * 1024);
        // Data over the same lossy path once open. Measured: 20 ms for most seeds; 3.6 s and 8 s for seeds 1 and
        // 10; 20-40 s for seeds 6 and 7 (a lost message waits for usrsctp's heartbeat, as above).
        if (open) {
            const Timestamp sent = p.net.now();
            REQUIRE(p.a.session->send_text(*ch, "through the loss"));
            const bool got = p.run_until([&] { return p.b.has<event::ChannelMessage>(); }, TimeDelta::seconds(10));
            if (got) ++delivered_10s;
            first_message += got ? std::to_string((p.net.now() - sent).ms()) + " " : std::string("> 10000 ");
        }
    }
    MESSAGE("30% loss: channel open at (ms, seeds 1-10) " << all << "; " << within_10s
                                                           << " of 10 within 10 s; first message took (ms) "
                                                           << first_message);
    CHECK(within_10s >= 9);
    CHECK(delivered_10s >= 8);
}

TEST_CASE("fault: the peer disappears: failed within the consent timeout") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link);
    auto [a_ch, b_ch] = connect(p);
    (void)b_ch;
    EchoCall call(p, a_ch);
    call.start();
    p.run_for(TimeDelta::seconds(2));
    REQUIRE(call.echoed > 50);
    // Cut b off completely.
    sim::LinkConfig dead = link;
    dead.loss = 1.0;
    p.net.set_link(p.la, dead);
    p.net.set_link(p.lb, dead);
    const Timestamp cut = p.net.now();
    Timestamp disconnected = Timestamp::plus_infinity(), failed = Timestamp::plus_infinity();
    std::optional<Error> why;
    auto old = p.a.on_event;
    p.a.on_event = [&](const SessionEvent& e) {
        old(e);
        if (auto* c = std::get_if<event::ConnectionStateChange>(&e)) {
            if (c->state == PeerConnectionState::Disconnected && !disconnected.is_finite()) disconnected = p.net.now();
            if (c->state == PeerConnectionState::Failed && !failed.is_finite()) {
                failed = p.net.now();
                why = c->error;
            }
        }
    };
    HeapWatch heap;
    p.run_until([&] { return failed.is_finite(); }, TimeDelta::seconds(60));
    call.stop();
    MESSAGE("peer gone: disconnected after " << (disconnected - cut).ms() << " ms, failed after "
                                             << (failed - cut).ms() << " ms"
                                             << (why ? ": " + why->to_string() : std::string()));
    REQUIRE(disconnected.is_finite());
    REQUIRE(failed.is_finite());
    CHECK(disconnected < failed);
    // RFC 7675: consent expires 30 s after the last response; the last one came at most one consent interval
    // (5 s +20%) before the cut.
    CHECK(failed - disconnected <= TimeDelta::seconds(30));
    CHECK(failed - cut <= TimeDelta::seconds(30));
    CHECK(failed - cut >= TimeDelta::seconds(20));
    CHECK(heap.growth() < 1024 * 1024); // a's send buffer holds what the call queued meanwhile (50 msgs/s)
}

TEST_CASE("fault: NAT rebinding mid-call is recovered by an ICE restart") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(10);
    Pair p(link, 7, config(1), config(2), /*a_behind_nat=*/true);
    auto [a_ch, b_ch] = connect(p);
    (void)b_ch;
    const auto first_remote = p.b.session->stats().selected_remote;
    REQUIRE(first_remote);
    CHECK(first_remote->ip() == *IpAddr::parse("10.0.0.1"));
    EchoCall call(p, a_ch);
    call.start();
    p.run_for(TimeDelta::seconds(2));
    REQUIRE(call.echoed > 50);

    p.net.nat_rebind(*p.nat);
    const uint64_t at_rebind = call.echoed;
    p.run_for(TimeDelta::seconds(2));
    const uint64_t lost_during = call.echoed - at_rebind;
    MESSAGE("NAT rebinding: " << lost_during << " echoes in the 2 s after the rebinding");
    CHECK(lost_during < 10); // the old mapping is gone: the call stalls

    HeapWatch heap;
    p.a.session->restart_ice();
    p.a.drain_events();
    CHECK(p.a.has<event::NegotiationNeeded>());
    negotiate(p.a, p.b);
    const uint64_t at_restart = call.echoed;
    const Timestamp restart_at = p.net.now();
    REQUIRE(p.run_until([&] { return call.echoed > at_restart + 20; }, TimeDelta::seconds(15)));
    MESSAGE("NAT rebinding: echoes flow again " << (p.net.now() - restart_at).ms() << " ms after the restart");
    const auto now_remote = p.b.session->stats().selected_remote;
    REQUIRE(now_remote);
    CHECK(*now_remote != *first_remote);
    CHECK(p.a.session->connection_state() == PeerConnectionState::Connected);
    CHECK(p.b.session->connection_state() == PeerConnectionState::Connected);
    CHECK(heap.growth() < 1024 * 1024);
}
