// The simulator's own speed: how many datagrams it moves per wall-clock second, and how much faster than real
// time a simulated minute of traffic runs.
#include "bench.hpp"

#include "sim/network.hpp"
#include "sim/traffic.hpp"

#include <chrono>

namespace {

int run(rtcpp::bench::Reporter& r, const std::vector<std::string>&) {
    using namespace rtcpp;
    using namespace rtcpp::sim;
    // A video-call-like minute: 2.5 Mbps each way through a 5 Mbps bottleneck with 25 ms delay, 5 ms jitter and 1%
    // loss, behind NATs, plus an echo of every packet.
    Network net(1);
    LinkConfig cfg;
    cfg.delay = TimeDelta::millis(25);
    cfg.jitter = TimeDelta::millis(5);
    cfg.loss = 0.01;
    cfg.rate = DataRate::mbps(5);
    const NatId nat = net.add_nat(*IpAddr::parse("198.18.0.1"), NatConfig::port_restricted_cone());
    const SocketAddr a = *SocketAddr::parse("10.0.0.2:5000");
    const SocketAddr b = *SocketAddr::parse("198.18.5.5:6000");
    const uint64_t count = 2'500'000 / 8 / 1200 * 60;
    PacketSource src(a, b, DataRate::kbps(2500), 1200, count);
    PacketSink echo(true);
    net.add_host(src, {a.ip()}, {.uplink = net.add_link(cfg), .behind_nat = nat});
    net.add_host(echo, {b.ip()}, {.uplink = net.add_link(cfg)});
    const auto t0 = std::chrono::steady_clock::now();
    net.run_for(TimeDelta::seconds(61));
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double datagrams = static_cast<double>(net.stats().datagrams_sent);
    r.figure("sim_simulated_seconds", 61, "s");
    r.figure("sim_wall_time", wall * 1000, "ms");
    r.figure("sim_datagrams", datagrams, "datagrams");
    r.figure("sim_datagrams_per_second", datagrams / wall, "datagrams/s");
    r.figure("sim_events_per_second", static_cast<double>(net.stats().events) / wall, "events/s");
    r.figure("sim_speedup_vs_real_time", 61.0 / wall, "x");
    r.figure("sim_echo_replies", static_cast<double>(src.received()), "datagrams");
    return src.received() > 0 ? 0 : 1;
}

} // namespace

RTCPP_BENCHMARK("sim-throughput", "simulated network speed: a minute of 2.5 Mbps echoed through NAT and a bottleneck",
                run);
