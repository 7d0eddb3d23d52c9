// ICE connection setup over the simulator: time-to-connected in simulated time (both agents connected, host
// candidates on one LAN) and the wall time one such setup costs.
#include "bench.hpp"

#include "../tests/e2e/ice_sim_harness.hpp"

#include <chrono>

namespace {

using namespace rtcpp;
using namespace rtcpp::ice;
using namespace rtcpp::ice::simtest;

struct Outcome {
    double connected_ms = -1;
    double wall_us = 0;
};

Outcome connect_once(TimeDelta one_way, uint64_t seed) {
    const auto t0 = std::chrono::steady_clock::now();
    sim::Network net(seed);
    sim::LinkConfig link;
    link.delay = one_way;
    AgentConfig ca, cb;
    ca.role = Role::Controlling;
    cb.role = Role::Controlled;
    IcePeer a(net, ca, seed * 2), b(net, cb, seed * 2 + 1);
    // Signalling takes one RTT too, as it would through a server beside the media path.
    a.signaling_delay = one_way * 2;
    b.signaling_delay = one_way * 2;
    a.attach({IpAddr::v4(10, 0, 0, 1)}, 5000, {.uplink = net.add_link(link)});
    b.attach({IpAddr::v4(10, 0, 0, 2)}, 5000, {.uplink = net.add_link(link)});
    IcePeer::connect(a, b);
    const bool ok = net.run_until([&] { return a.connected() && b.connected(); }, Timestamp::seconds(30));
    Outcome o;
    o.wall_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (ok) o.connected_ms = static_cast<double>(net.now().us()) / 1000.0;
    return o;
}

int run(bench::Reporter& r, const std::vector<std::string>& args) {
    const int runs = args.empty() ? 50 : std::max(1, std::atoi(args[0].c_str()));
    int failures = 0;
    (void)connect_once(TimeDelta::zero(), 1); // warm-up: OpenSSL's first HMAC and allocator growth are not ICE
    for (int rtt_ms : {0, 20}) {
        double sum_connected = 0, max_connected = 0, sum_wall = 0;
        for (int i = 0; i < runs; ++i) {
            const auto o = connect_once(TimeDelta::micros(rtt_ms * 500), 1000 + static_cast<uint64_t>(i));
            if (o.connected_ms < 0) {
                ++failures;
                continue;
            }
            sum_connected += o.connected_ms;
            max_connected = std::max(max_connected, o.connected_ms);
            sum_wall += o.wall_us;
        }
        const std::string tag = "ice_connect_sim_rtt" + std::to_string(rtt_ms) + "ms";
        r.figure(tag + "_time_to_connected_mean", sum_connected / runs, "ms(sim)");
        r.figure(tag + "_time_to_connected_max", max_connected, "ms(sim)");
        r.figure(tag + "_wall_time_mean", sum_wall / runs, "us");
    }
    r.figure("ice_connect_sim_failures", failures, "runs");
    return failures == 0 ? 0 : 1;
}

} // namespace

RTCPP_BENCHMARK("ice-connect-sim",
                "ICE time-to-connected (simulated ms) and wall time for two agents over the simulator, host "
                "candidates, 0 and 20 ms RTT [runs]",
                run);
