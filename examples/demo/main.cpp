// rtcpp-demo: what the foundation can do today.
//
// 1. Two sans-IO endpoints behind NATs exchange a minute of packets over the deterministic simulated network
//    (40 ms RTT, jitter, 2% loss, a 2 Mbps bottleneck), in a fraction of a second of real time.
// 2. The same kind of endpoint runs over real UDP sockets on 127.0.0.1, driven by the runtime's event loop.
// It grows into the real data-channel demo as the protocol layers land.
#include "runtime/driver.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/udp_socket.hpp"
#include "sim/network.hpp"
#include "sim/traffic.hpp"

#include <rtcpp/version.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <thread>

using namespace rtcpp;

namespace {

int simulated_call() {
    sim::Network net(2026);
    sim::LinkConfig path;
    path.delay = TimeDelta::millis(20);
    path.jitter = TimeDelta::millis(3);
    path.loss = 0.02;
    path.rate = DataRate::mbps(2);
    const auto nat_a = net.add_nat(*IpAddr::parse("198.18.0.1"), sim::NatConfig::full_cone());
    const SocketAddr a = *SocketAddr::parse("10.0.0.2:5000");
    const SocketAddr b = *SocketAddr::parse("198.18.7.7:6000");
    const uint64_t count = 1'000'000 / 8 / 1000 * 60; // 1 Mbps of 1000-byte packets for 60 s
    sim::PacketSource alice(a, b, DataRate::mbps(1), 1000, count);
    sim::PacketSink bob(/*echo=*/true);
    net.add_host(alice, {a.ip()}, {.uplink = net.add_link(path), .behind_nat = nat_a});
    net.add_host(bob, {b.ip()}, {.uplink = net.add_link(path)});
    const auto t0 = std::chrono::steady_clock::now();
    net.run_for(TimeDelta::seconds(61));
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    std::vector<int64_t> delays;
    for (const auto& arr : bob.arrivals()) delays.push_back((arr.received - arr.sent).us());
    std::sort(delays.begin(), delays.end());
    const double loss = 1.0 - static_cast<double>(bob.arrivals().size()) / static_cast<double>(alice.sent());
    std::printf("simulated call: %llu packets sent behind a NAT, %zu delivered (%.1f%% lost), %llu echoed back\n",
                static_cast<unsigned long long>(alice.sent()), bob.arrivals().size(), loss * 100,
                static_cast<unsigned long long>(alice.received()));
    if (!delays.empty())
        std::printf("  one-way delay p50 %.1f ms, p95 %.1f ms; bob saw alice as %s (her NAT's address)\n",
                    static_cast<double>(delays[delays.size() / 2]) / 1000.0,
                    static_cast<double>(delays[delays.size() * 95 / 100]) / 1000.0,
                    bob.arrivals().front().from.to_string().c_str());
    std::printf("  61 simulated seconds took %.1f ms of real time\n", wall_ms);
    return alice.received() > 0 ? 0 : 1;
}

/// Pings its peer every 10 ms, answers pings, and measures round trips.
class Pinger : public runtime::SansIoCore {
public:
    Pinger(SocketAddr local, std::optional<SocketAddr> peer) : local_(local), peer_(peer) {}
    void handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, ByteView b) override {
        if (b.size() == 9 && b[0] == 'p') out_.push_back({local, remote, {'r', b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]}});
        if (b.size() == 9 && b[0] == 'r') {
            int64_t sent = 0;
            for (int i = 1; i < 9; ++i) sent = (sent << 8) | b[static_cast<size_t>(i)];
            rtts.push_back(now.us() - sent);
        }
    }
    void handle_timeout(Timestamp now) override {
        if (!peer_ || sent_ >= 100 || now < next_) return;
        std::vector<uint8_t> p{'p'};
        for (int s = 56; s >= 0; s -= 8) p.push_back(static_cast<uint8_t>(now.us() >> s));
        out_.push_back({local_, *peer_, std::move(p)});
        ++sent_;
        next_ = now + TimeDelta::millis(10);
    }
    std::optional<runtime::Transmit> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        auto t = std::move(out_.front());
        out_.pop_front();
        return t;
    }
    Timestamp poll_timeout() override { return peer_ && sent_ < 100 ? next_ : Timestamp::plus_infinity(); }
    std::vector<int64_t> rtts;

private:
    SocketAddr local_;
    std::optional<SocketAddr> peer_;
    int sent_ = 0;
    Timestamp next_ = Timestamp::zero();
    std::deque<runtime::Transmit> out_;
};

int udp_ping() {
    auto loop = runtime::EventLoop::create();
    auto sa = runtime::UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
    auto sb = runtime::UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
    if (!loop || !sa || !sb) {
        std::fprintf(stderr, "cannot open UDP sockets on 127.0.0.1\n");
        return 1;
    }
    Pinger a(sa->local_address(), sb->local_address()), b(sb->local_address(), std::nullopt);
    std::unique_ptr<runtime::Driver> da, db;
    const std::string where = sa->local_address().to_string() + " -> " + sb->local_address().to_string();
    (*loop)->run_sync([&] {
        da = std::make_unique<runtime::Driver>(**loop, a);
        db = std::make_unique<runtime::Driver>(**loop, b);
        (void)da->add_socket(std::move(sa.value()));
        (void)db->add_socket(std::move(sb.value()));
        da->kick();
    });
    for (int i = 0; i < 300; ++i) {
        size_t n = 0;
        (*loop)->run_sync([&] { n = a.rtts.size(); });
        if (n >= 100) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<int64_t> rtts;
    (*loop)->run_sync([&] {
        rtts = a.rtts;
        da.reset();
        db.reset();
    });
    std::sort(rtts.begin(), rtts.end());
    std::printf("UDP over %s: %zu/100 pings answered", where.c_str(), rtts.size());
    if (!rtts.empty())
        std::printf(", RTT p50 %lld us, max %lld us", static_cast<long long>(rtts[rtts.size() / 2]),
                    static_cast<long long>(rtts.back()));
    std::printf("\n");
    return rtts.size() == 100 ? 0 : 1;
}

} // namespace

int main() {
    std::printf("rtcpp %s demo\n", version());
    int rc = simulated_call();
    rc |= udp_ping();
    std::printf(rc == 0 ? "demo ok\n" : "demo FAILED\n");
    return rc;
}
