#include "sim/network.hpp"
#include "sim/traffic.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <deque>

using namespace rtcpp;
using namespace rtcpp::sim;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }
SocketAddr addr(const char* s) { return *SocketAddr::parse(s); }

/// Sends what the test tells it to and remembers what it receives.
class Scripted : public Endpoint {
public:
    void send(SocketAddr from, SocketAddr to, std::vector<uint8_t> bytes = {1, 2, 3}) {
        out.push_back(Datagram{from, to, std::move(bytes)});
    }
    void handle_datagram(Timestamp now, const Datagram& d) override {
        received.push_back(d);
        times.push_back(now);
        if (reply) out.push_back(Datagram{d.to, d.from, d.bytes});
    }
    void handle_timeout(Timestamp) override {}
    std::optional<Datagram> poll_transmit() override {
        if (out.empty()) return std::nullopt;
        Datagram d = std::move(out.front());
        out.pop_front();
        return d;
    }
    Timestamp poll_timeout() override { return Timestamp::plus_infinity(); }

    bool reply = false;
    std::deque<Datagram> out;
    std::vector<Datagram> received;
    std::vector<Timestamp> times;
};

double fraction_lost(const PacketSource& src, const PacketSink& sink) {
    return 1.0 - static_cast<double>(sink.arrivals().size()) / static_cast<double>(src.sent());
}

} // namespace

TEST_CASE("datagrams arrive in order after the configured delay") {
    Network net(1);
    LinkConfig cfg;
    cfg.delay = TimeDelta::millis(40);
    const LinkId up = net.add_link(cfg);
    PacketSource src(addr("10.0.0.1:1000"), addr("10.0.0.2:2000"), DataRate::kbps(800), 100, 50);
    PacketSink sink;
    net.add_host(src, {ip("10.0.0.1")}, {.uplink = up});
    net.add_host(sink, {ip("10.0.0.2")});
    net.run_for(TimeDelta::seconds(2));
    REQUIRE(sink.arrivals().size() == 50);
    for (size_t i = 0; i < sink.arrivals().size(); ++i) {
        const auto& a = sink.arrivals()[i];
        CHECK(a.seq == i);
        CHECK(a.received - a.sent == TimeDelta::millis(40));
        CHECK(a.from == addr("10.0.0.1:1000"));
    }
    CHECK(sink.reordered() == 0);
    CHECK(net.stats().datagrams_delivered == 50);
}

TEST_CASE("uplink and downlink delays add up; unroutable and spoofed datagrams are dropped") {
    Network net(1);
    LinkConfig a, b;
    a.delay = TimeDelta::millis(10);
    b.delay = TimeDelta::millis(25);
    Scripted x, y;
    net.add_host(x, {ip("1.1.1.1")}, {.uplink = net.add_link(a)});
    net.add_host(y, {ip("2.2.2.2")}, {.downlink = net.add_link(b)});
    x.send(addr("1.1.1.1:1"), addr("2.2.2.2:2"));
    x.send(addr("1.1.1.1:1"), addr("3.3.3.3:3"));  // nobody owns it
    x.send(addr("9.9.9.9:1"), addr("2.2.2.2:2"));  // x does not own the source
    net.wake(0);
    net.run_for(TimeDelta::seconds(1));
    REQUIRE(y.received.size() == 1);
    CHECK(y.times[0] == Timestamp::millis(35));
    CHECK(net.stats().unroutable == 1);
    CHECK(net.stats().bad_source == 1);
}

TEST_CASE("random loss rate matches the setting within statistical bounds") {
    for (double p : {0.01, 0.1, 0.3}) {
        Network net(7);
        LinkConfig cfg;
        cfg.loss = p;
        PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(10), 200, 20000);
        PacketSink sink;
        net.add_host(src, {ip("1.0.0.1")}, {.uplink = net.add_link(cfg)});
        net.add_host(sink, {ip("1.0.0.2")});
        net.run_for(TimeDelta::seconds(10));
        REQUIRE(src.sent() == 20000);
        const double measured = fraction_lost(src, sink);
        const double sigma = std::sqrt(p * (1 - p) / 20000.0);
        CHECK_MESSAGE(std::abs(measured - p) < 5 * sigma, "p=" << p << " measured=" << measured);
    }
}

TEST_CASE("Gilbert-Elliott loss has the configured average and comes in bursts") {
    Network net(11);
    LinkConfig cfg;
    cfg.burst_loss = GilbertElliott::from_average(0.1, 5.0);
    CHECK(cfg.burst_loss->average_loss() == doctest::Approx(0.1));
    PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(10), 200, 50000);
    PacketSink sink;
    net.add_host(src, {ip("1.0.0.1")}, {.uplink = net.add_link(cfg)});
    net.add_host(sink, {ip("1.0.0.2")});
    net.run_for(TimeDelta::seconds(20));
    const double measured = fraction_lost(src, sink);
    CHECK(measured == doctest::Approx(0.1).epsilon(0.15));
    // Mean burst length of lost packets: close to 5, far above what independent loss would give (~1.1).
    uint64_t bursts = 0, lost = 0, expect = 0;
    bool in_burst = false;
    for (const auto& a : sink.arrivals()) {
        if (a.seq > expect) {
            lost += a.seq - expect;
            ++bursts;
            in_burst = true;
        }
        expect = a.seq + 1;
    }
    (void)in_burst;
    REQUIRE(bursts > 0);
    const double mean_burst = static_cast<double>(lost) / static_cast<double>(bursts);
    CHECK(mean_burst > 3.5);
    CHECK(mean_burst < 6.5);
}

TEST_CASE("a bottleneck holds its rate and tail-drops when its queue is full") {
    Network net(3);
    LinkConfig cfg;
    cfg.rate = DataRate::mbps(1);
    cfg.queue = DataSize::bytes(30000);
    cfg.overhead_bytes = 0;
    const LinkId link = net.add_link(cfg);
    // Offer 2 Mbps for 10 s into a 1 Mbps link.
    PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(2), 1000, 2500);
    PacketSink sink;
    net.add_host(src, {ip("1.0.0.1")}, {.uplink = link});
    net.add_host(sink, {ip("1.0.0.2")});
    net.run_for(TimeDelta::seconds(12));
    const auto& st = net.link_stats(link);
    CHECK(st.queue_drops > 1000);
    CHECK(st.packets_delivered + st.queue_drops == 2500);
    // Delivered rate over the busy period: 1 Mbps within 1%.
    const auto& first = sink.arrivals().front();
    const auto& last = sink.arrivals().back();
    const double secs = (last.received - first.received).seconds_f();
    const double mbps = static_cast<double>((sink.arrivals().size() - 1) * 1000 * 8) / secs / 1e6;
    CHECK(mbps == doctest::Approx(1.0).epsilon(0.01));
    // Queue delay never exceeds queue size / rate (240 ms) and reaches close to it.
    CHECK(st.max_queue_delay <= TimeDelta::millis(240));
    CHECK(st.max_queue_delay >= TimeDelta::millis(225));
    for (const auto& a : sink.arrivals()) CHECK(a.received - a.sent <= TimeDelta::millis(241));
}

TEST_CASE("capacity changes on a schedule") {
    Network net(3);
    LinkConfig cfg;
    cfg.rate = DataRate::mbps(1);
    cfg.queue = DataSize::bytes(10000);
    cfg.overhead_bytes = 0;
    const LinkId link = net.add_link(cfg);
    LinkConfig faster = cfg;
    faster.rate = DataRate::mbps(4);
    net.schedule_link_change(Timestamp::seconds(5), link, faster);
    PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(3), 1000, 3750);
    PacketSink sink;
    net.add_host(src, {ip("1.0.0.1")}, {.uplink = link});
    net.add_host(sink, {ip("1.0.0.2")});
    net.run_for(TimeDelta::seconds(11));
    size_t before = 0, after = 0;
    for (const auto& a : sink.arrivals()) {
        if (a.received >= Timestamp::seconds(1) && a.received < Timestamp::seconds(5)) ++before;
        if (a.received >= Timestamp::seconds(6) && a.received < Timestamp::seconds(10)) ++after;
    }
    // 1 Mbps of 1000-byte packets = 125/s for 4 s; after the change the 3 Mbps offer fits: 375/s.
    CHECK(before == doctest::Approx(500).epsilon(0.02));
    CHECK(after == doctest::Approx(1500).epsilon(0.02));
}

TEST_CASE("jitter never reorders unless asked; reordering and duplication happen at their rates") {
    LinkConfig cfg;
    cfg.delay = TimeDelta::millis(50);
    cfg.jitter = TimeDelta::millis(20);
    {
        Network net(5);
        PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(1), 500, 2000);
        PacketSink sink;
        net.add_host(src, {ip("1.0.0.1")}, {.uplink = net.add_link(cfg)});
        net.add_host(sink, {ip("1.0.0.2")});
        net.run_for(TimeDelta::seconds(10));
        CHECK(sink.arrivals().size() == 2000);
        CHECK(sink.reordered() == 0);
        TimeDelta min_d = TimeDelta::plus_infinity(), max_d = TimeDelta::zero();
        for (const auto& a : sink.arrivals()) {
            min_d = std::min(min_d, a.received - a.sent);
            max_d = std::max(max_d, a.received - a.sent);
        }
        CHECK(max_d - min_d > TimeDelta::millis(40)); // the jitter is really there
    }
    {
        cfg.jitter_reorders = true;
        cfg.reorder = 0.05;
        cfg.duplicate = 0.02;
        Network net(5);
        PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::mbps(1), 500, 10000);
        PacketSink sink;
        const LinkId link = net.add_link(cfg);
        net.add_host(src, {ip("1.0.0.1")}, {.uplink = link});
        net.add_host(sink, {ip("1.0.0.2")});
        net.run_for(TimeDelta::seconds(60));
        CHECK(sink.reordered() > 300);
        CHECK(sink.duplicates() == doctest::Approx(200).epsilon(0.3));
        CHECK(net.link_stats(link).reordered == doctest::Approx(500).epsilon(0.2));
    }
}

TEST_CASE("the same seed gives the same run; another seed another") {
    auto run = [](uint64_t seed) {
        Network net(seed);
        LinkConfig cfg;
        cfg.delay = TimeDelta::millis(30);
        cfg.jitter = TimeDelta::millis(10);
        cfg.jitter_reorders = true;
        cfg.loss = 0.1;
        cfg.rate = DataRate::kbps(500);
        PacketSource src(addr("1.0.0.1:1"), addr("1.0.0.2:2"), DataRate::kbps(600), 300, 1000);
        PacketSink sink;
        net.add_host(src, {ip("1.0.0.1")}, {.uplink = net.add_link(cfg)});
        net.add_host(sink, {ip("1.0.0.2")});
        net.run_for(TimeDelta::seconds(10));
        std::vector<std::pair<uint64_t, int64_t>> out;
        for (const auto& a : sink.arrivals()) out.emplace_back(a.seq, a.received.us());
        return out;
    };
    const auto a = run(42), b = run(42), c = run(43);
    CHECK(a.size() > 500);
    CHECK(a == b);
    CHECK(a != c);
}

namespace {

struct NatRig {
    Network net{9};
    Scripted client, s1, s2;
    NatId nat;
    explicit NatRig(const NatConfig& cfg) {
        nat = net.add_nat(ip("198.18.0.1"), cfg);
        net.add_host(client, {ip("10.0.0.2")}, {.behind_nat = nat});
        net.add_host(s1, {ip("198.18.1.1")});
        net.add_host(s2, {ip("198.18.2.2")});
    }
    /// Sends from the client to `to` and returns the source address the server saw.
    SocketAddr mapped(SocketAddr to) {
        client.send(addr("10.0.0.2:5000"), to);
        net.wake(0);
        net.run_for(TimeDelta::millis(10));
        Scripted& s = to.ip() == ip("198.18.1.1") ? s1 : s2;
        REQUIRE(!s.received.empty());
        return s.received.back().from;
    }
    /// Whether a datagram from `server` (at `from`) to `to` reaches the client.
    bool inbound_passes(Scripted& server, HostId server_id, SocketAddr from, SocketAddr to) {
        const size_t before = client.received.size();
        server.send(from, to);
        net.wake(server_id);
        net.run_for(TimeDelta::millis(10));
        return client.received.size() > before;
    }
};

} // namespace

TEST_CASE("NAT mapping behaviours") {
    const SocketAddr a = addr("198.18.1.1:3478"), a2 = addr("198.18.1.1:3479"), b = addr("198.18.2.2:3478");
    SUBCASE("endpoint-independent mapping: one external address for every destination") {
        NatRig rig(NatConfig::full_cone());
        const auto m1 = rig.mapped(a), m2 = rig.mapped(a2), m3 = rig.mapped(b);
        CHECK(m1.ip() == ip("198.18.0.1"));
        CHECK(m1 == m2);
        CHECK(m1 == m3);
    }
    SUBCASE("address-dependent mapping: one per destination address") {
        NatConfig cfg = NatConfig::port_restricted_cone();
        cfg.mapping = NatMapping::AddressDependent;
        NatRig rig(cfg);
        const auto m1 = rig.mapped(a), m2 = rig.mapped(a2), m3 = rig.mapped(b);
        CHECK(m1 == m2);
        CHECK(m1 != m3);
    }
    SUBCASE("address-and-port-dependent mapping (symmetric): one per destination transport address") {
        NatRig rig(NatConfig::symmetric());
        const auto m1 = rig.mapped(a), m2 = rig.mapped(a2), m3 = rig.mapped(b);
        CHECK(m1 != m2);
        CHECK(m1 != m3);
        CHECK(m2 != m3);
        CHECK(rig.mapped(a) == m1); // a binding is reused while alive
        CHECK(rig.net.nat_stats(rig.nat).bindings_created == 3);
    }
}

TEST_CASE("NAT filtering behaviours") {
    const SocketAddr a = addr("198.18.1.1:3478"), a2 = addr("198.18.1.1:3479"), b = addr("198.18.2.2:3478");
    struct Expect {
        NatConfig cfg;
        bool same_addr_other_port;
        bool other_addr;
        const char* name;
    };
    for (const Expect& e : {Expect{NatConfig::full_cone(), true, true, "full cone"},
                            Expect{NatConfig::restricted_cone(), true, false, "restricted cone"},
                            Expect{NatConfig::port_restricted_cone(), false, false, "port restricted cone"},
                            Expect{NatConfig::symmetric(), false, false, "symmetric"}}) {
        CAPTURE(e.name);
        NatRig rig(e.cfg);
        const SocketAddr m = rig.mapped(a);
        CHECK(rig.inbound_passes(rig.s1, 1, a, m)); // the contacted address always gets through
        CHECK(rig.inbound_passes(rig.s1, 1, a2, m) == e.same_addr_other_port);
        CHECK(rig.inbound_passes(rig.s2, 2, b, m) == e.other_addr);
        CHECK(rig.client.received.back().to == addr("10.0.0.2:5000"));
        if (!e.other_addr) CHECK(rig.net.nat_stats(rig.nat).inbound_filtered > 0);
        // Nothing gets in on a port no binding owns.
        CHECK_FALSE(rig.inbound_passes(rig.s1, 1, a, SocketAddr(m.ip(), static_cast<uint16_t>(m.port() + 100))));
    }
}

TEST_CASE("NAT bindings time out without outbound traffic, and a rebind changes the mapping") {
    NatConfig cfg = NatConfig::port_restricted_cone();
    cfg.binding_timeout = TimeDelta::seconds(30);
    NatRig rig(cfg);
    const SocketAddr a = addr("198.18.1.1:3478");
    const SocketAddr m = rig.mapped(a);
    rig.net.run_for(TimeDelta::seconds(20));
    CHECK(rig.inbound_passes(rig.s1, 1, a, m));  // inbound traffic does not refresh...
    rig.net.run_for(TimeDelta::seconds(15));
    CHECK_FALSE(rig.inbound_passes(rig.s1, 1, a, m)); // ...so 35 s after the last outbound packet it is gone
    CHECK(rig.net.nat_stats(rig.nat).bindings_expired == 1);
    const SocketAddr m2 = rig.mapped(a);
    CHECK(m2 != m); // a new binding gets a new port
    CHECK(rig.inbound_passes(rig.s1, 1, a, m2));
    rig.net.nat_rebind(rig.nat);
    CHECK_FALSE(rig.inbound_passes(rig.s1, 1, a, m2));
    const SocketAddr m3 = rig.mapped(a);
    CHECK(m3 != m2);
}

TEST_CASE("hosts behind the same NAT reach each other directly or by hairpin; two NATs may reuse private addresses") {
    Network net(2);
    const NatId n1 = net.add_nat(ip("198.18.0.1"), NatConfig::full_cone());
    const NatId n2 = net.add_nat(ip("198.18.0.2"), NatConfig::port_restricted_cone());
    Scripted a, b, c, server;
    const HostId ha = net.add_host(a, {ip("10.0.0.2")}, {.behind_nat = n1});
    const HostId hb = net.add_host(b, {ip("10.0.0.3")}, {.behind_nat = n1});
    const HostId hc = net.add_host(c, {ip("10.0.0.2")}, {.behind_nat = n2}); // same private address, other realm
    const HostId hs = net.add_host(server, {ip("198.18.9.9")});
    (void)hs;
    a.send(addr("10.0.0.2:1"), addr("10.0.0.3:2"));
    net.wake(ha);
    net.run_for(TimeDelta::millis(5));
    REQUIRE(b.received.size() == 1);
    CHECK(b.received[0].from == addr("10.0.0.2:1")); // no translation inside the realm
    CHECK(c.received.empty());
    // b learns its public address from a server, then a reaches it through that address (hairpin).
    b.send(addr("10.0.0.3:2"), addr("198.18.9.9:3478"));
    net.wake(hb);
    net.run_for(TimeDelta::millis(5));
    REQUIRE(server.received.size() == 1);
    const SocketAddr b_public = server.received[0].from;
    CHECK(b_public.ip() == ip("198.18.0.1"));
    a.send(addr("10.0.0.2:1"), b_public);
    net.wake(ha);
    net.run_for(TimeDelta::millis(5));
    REQUIRE(b.received.size() == 2);
    CHECK(b.received[1].to == addr("10.0.0.3:2"));
    CHECK(b.received[1].from.ip() == ip("198.18.0.1")); // translated on the way out, as a hairpin does
    // c, behind the other NAT, cannot be reached without a binding.
    server.send(addr("198.18.9.9:3478"), addr("198.18.0.2:40000"));
    net.wake(hs);
    net.run_for(TimeDelta::millis(5));
    CHECK(c.received.empty());
    CHECK(net.nat_stats(n2).inbound_no_binding == 1);
    (void)hc;
}

TEST_CASE("endpoint timeouts fire in time order and a removed host gets nothing") {
    struct Timer : Endpoint {
        std::vector<Timestamp> deadlines;
        std::vector<Timestamp> fired;
        void handle_datagram(Timestamp, const Datagram&) override {}
        void handle_timeout(Timestamp now) override {
            while (!deadlines.empty() && deadlines.front() <= now) {
                fired.push_back(now);
                deadlines.erase(deadlines.begin());
            }
        }
        std::optional<Datagram> poll_transmit() override { return std::nullopt; }
        Timestamp poll_timeout() override {
            return deadlines.empty() ? Timestamp::plus_infinity() : deadlines.front();
        }
    };
    Network net(1);
    Timer t1, t2;
    t1.deadlines = {Timestamp::millis(10), Timestamp::millis(30)};
    t2.deadlines = {Timestamp::millis(20), Timestamp::millis(40)};
    net.add_host(t1, {ip("1.0.0.1")});
    const HostId h2 = net.add_host(t2, {ip("1.0.0.2")});
    std::vector<Timestamp> order;
    net.run_until(Timestamp::millis(25));
    CHECK(t1.fired == std::vector<Timestamp>{Timestamp::millis(10)});
    CHECK(t2.fired == std::vector<Timestamp>{Timestamp::millis(20)});
    CHECK(net.now() == Timestamp::millis(25));
    net.remove_host(h2);
    net.run_until(Timestamp::millis(100));
    CHECK(t1.fired.size() == 2);
    CHECK(t2.fired.size() == 1);
}

TEST_CASE("scheduled actions run at their time, in order of scheduling for ties") {
    Network net(1);
    std::vector<int> order;
    net.schedule(Timestamp::millis(5), [&](Network& n) {
        CHECK(n.now() == Timestamp::millis(5));
        order.push_back(2);
    });
    net.schedule(Timestamp::millis(1), [&](Network&) { order.push_back(1); });
    net.schedule(Timestamp::millis(5), [&](Network&) { order.push_back(3); });
    net.run_until([&] { return order.size() == 3; }, Timestamp::seconds(1));
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(net.now() == Timestamp::millis(5));
}
