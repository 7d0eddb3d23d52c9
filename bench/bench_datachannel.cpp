// Data channel benchmarks over 127.0.0.1 in one process (issue 5): setup time, reliable throughput, memory per
// connected pair, and aiortc's figures measured in the same run with the same method.
//
//   rtcpp-bench dc-setup [RUNS]            createOffer to both channels open: median, p90, p99, max
//   rtcpp-bench dc-throughput [SECONDS]    reliable ordered 16 KiB and 64 KiB messages: MB/s, CPU s/GB
//   rtcpp-bench dc-pairs [N...]            peak RSS per connected pair (1, 100, 1000 by default), time for 100
#include "bench.hpp"

#include <rtcpp/peer_connection.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sys/resource.h>
#include <thread>

using namespace rtcpp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

Configuration loopback() {
    Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    return c;
}

struct ConnectedPair {
    std::unique_ptr<PeerConnection> a, b;
    std::shared_ptr<DataChannel> ca, cb;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(100us);
    }
    return done();
}

/// Connects a pair and opens one channel; returns the time from create_offer to both ends open.
std::optional<double> connect_pair(ConnectedPair& p) {
    auto a = PeerConnection::create(loopback());
    auto b = PeerConnection::create(loopback());
    if (!a || !b) return std::nullopt;
    p.a = std::move(a.value());
    p.b = std::move(b.value());
    std::atomic<bool> a_open{false}, b_open{false};
    std::shared_ptr<DataChannel> remote;
    std::mutex m;
    p.b->on_data_channel([&](std::shared_ptr<DataChannel> ch) {
        std::lock_guard l(m);
        remote = ch;
        b_open = true;
    });
    PeerConnection* pa = p.a.get();
    PeerConnection* pb = p.b.get();
    p.a->on_local_candidate([pb](const IceCandidate& c) { (void)pb->add_ice_candidate(c); });
    p.b->on_local_candidate([pa](const IceCandidate& c) { (void)pa->add_ice_candidate(c); });
    const auto t0 = Clock::now();
    auto ch = p.a->create_data_channel("bench");
    if (!ch) return std::nullopt;
    (*ch)->on_open([&] { a_open = true; });
    auto offer = p.a->create_offer();
    if (!offer || !p.a->set_local_description(*offer) || !p.b->set_remote_description(*offer)) return std::nullopt;
    auto answer = p.b->create_answer();
    if (!answer || !p.b->set_local_description(*answer) || !p.a->set_remote_description(*answer)) return std::nullopt;
    if (!wait_until([&] { return a_open.load() && b_open.load(); }, 10s)) return std::nullopt;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    p.ca = *ch;
    std::lock_guard l(m);
    p.cb = remote;
    p.a->on_local_candidate(nullptr);
    p.b->on_local_candidate(nullptr);
    p.b->on_data_channel(nullptr);
    return ms;
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    return v[i];
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

/// aiortc's figures with the same method, measured by a Python script in the same run (if aiortc is installed).
void aiortc_figures(bench::Reporter& r, const std::string& what, int arg) {
    const char* script = R"PY(
import asyncio, sys, time, statistics, resource
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
from aiortc import RTCPeerConnection, RTCConfiguration
async def pair():
    a = RTCPeerConnection(RTCConfiguration(iceServers=[])); b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    t0 = time.perf_counter(); ch = a.createDataChannel("bench"); opened = asyncio.Event(); got = asyncio.Event(); holder = {}
    ch.on("open", opened.set)
    @b.on("datachannel")
    def on_dc(c): holder["c"] = c; got.set()
    await a.setLocalDescription(await a.createOffer()); await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer()); await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(asyncio.gather(opened.wait(), got.wait()), 20)
    return a, b, ch, holder["c"], (time.perf_counter() - t0) * 1000
async def main():
    what, arg = sys.argv[1], int(sys.argv[2])
    if what == "setup":
        times = []
        for _ in range(arg):
            a, b, _, _, ms = await pair(); times.append(ms); await a.close(); await b.close()
        times.sort()
        print("setup_median", statistics.median(times)); print("setup_p90", times[min(len(times)-1, int(0.9*len(times)))])
    else:
        a, b, ch, rc, _ = await pair(); size = 64 * 1024; received = [0]; done = asyncio.Event()
        rc.on("message", lambda m: received.__setitem__(0, received[0] + len(m)))
        payload = b"x" * size; c0 = time.process_time(); t0 = time.perf_counter(); end = t0 + arg
        low = asyncio.Event(); ch.bufferedAmountLowThreshold = 1024 * 1024; ch.on("bufferedamountlow", low.set)
        while time.perf_counter() < end:
            while ch.bufferedAmount < 4 * 1024 * 1024: ch.send(payload)
            low.clear()
            try: await asyncio.wait_for(low.wait(), 0.2)
            except asyncio.TimeoutError: pass
        secs = time.perf_counter() - t0; cpu = time.process_time() - c0
        print("throughput_64k", received[0] / 1e6 / secs); print("cpu_per_gb", cpu / max(received[0] / 1e9, 1e-9))
        await a.close(); await b.close()
asyncio.run(main())
)PY";
    const std::string path = "/tmp/rtcpp_bench_aiortc.py";
    {
        std::ofstream out(path);
        out << script;
    }
    const std::string cmd = "/usr/bin/python3 " + path + " " + what + " " + std::to_string(arg) + " 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
        char name[64];
        double v;
        if (std::sscanf(line, "%63s %lf", name, &v) == 2) {
            const std::string n = name;
            const std::string unit = n.rfind("setup", 0) == 0 ? "ms" : n == "cpu_per_gb" ? "CPU s/GB" : "MB/s";
            r.figure("dc_" + n, v, unit, "aiortc");
        }
    }
    if (pclose(f) != 0) r.note("aiortc figures unavailable (python3-aiortc not installed?)");
}

int bench_setup(bench::Reporter& r, const std::vector<std::string>& args) {
    const int runs = args.empty() ? 100 : std::max(1, std::atoi(args[0].c_str()));
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        ConnectedPair p;
        auto ms = connect_pair(p);
        if (!ms) {
            r.note("a pair failed to connect");
            return 1;
        }
        times.push_back(*ms);
    }
    r.figure("dc_setup_median", percentile(times, 0.5), "ms");
    r.figure("dc_setup_p90", percentile(times, 0.9), "ms");
    r.figure("dc_setup_p99", percentile(times, 0.99), "ms");
    r.figure("dc_setup_max", *std::max_element(times.begin(), times.end()), "ms");
    aiortc_figures(r, "setup", std::min(runs, 20));
    return 0;
}

int bench_throughput(bench::Reporter& r, const std::vector<std::string>& args) {
    const int seconds = args.empty() ? 10 : std::max(1, std::atoi(args[0].c_str()));
    for (size_t size : {size_t{16 * 1024}, size_t{64 * 1024}}) {
        ConnectedPair p;
        if (!connect_pair(p)) return 1;
        std::atomic<uint64_t> received{0};
        p.cb->on_message([&](std::span<const uint8_t> d, bool) { received += d.size(); });
        std::vector<uint8_t> payload(size, 0x42);
        DataChannel* ch = p.ca.get();
        // Keep between 1 and 4 MiB queued, as the reference method does (refill below the low threshold).
        const double c0 = cpu_seconds();
        const auto t0 = Clock::now();
        const auto end = t0 + std::chrono::seconds(seconds);
        uint64_t queued = 0;
        while (Clock::now() < end) {
            const size_t buffered = ch->buffered_amount();
            if (buffered < (1u << 20)) {
                for (size_t b = buffered; b < (4u << 20); b += size) {
                    if (!ch->send(std::span<const uint8_t>(payload))) break;
                    queued += size;
                }
            } else {
                std::this_thread::sleep_for(200us);
            }
        }
        (void)queued;
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        const double cpu = cpu_seconds() - c0;
        const double mb = static_cast<double>(received.load()) / 1e6;
        const std::string tag = size == 16 * 1024 ? "16k" : "64k";
        r.figure("dc_throughput_" + tag, mb / secs, "MB/s");
        r.figure("dc_cpu_per_gb_" + tag, cpu / std::max(mb / 1000.0, 1e-9), "CPU s/GB");
    }
    aiortc_figures(r, "throughput", std::min(seconds, 5));
    return 0;
}

int bench_pairs(bench::Reporter& r, const std::vector<std::string>& args) {
    std::vector<int> counts;
    for (const auto& a : args) counts.push_back(std::atoi(a.c_str()));
    if (counts.empty()) counts = {1, 100, 1000};
    for (int n : counts) {
        const long before = rss_kib();
        std::vector<ConnectedPair> pairs(static_cast<size_t>(n));
        const auto t0 = Clock::now();
        for (auto& p : pairs) {
            if (!connect_pair(p)) {
                r.note("pair failed to connect at " + std::to_string(&p - pairs.data()));
                return 1;
            }
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        const long after = rss_kib();
        r.figure("dc_pairs_" + std::to_string(n) + "_connect_time", ms, "ms");
        r.figure("dc_pairs_" + std::to_string(n) + "_rss_per_pair", static_cast<double>(after - before) / n, "KiB");
    }
    return 0;
}

} // namespace

RTCPP_BENCHMARK("dc-setup", "data channel setup over 127.0.0.1 (createOffer to both open), pooled runs", bench_setup);
RTCPP_BENCHMARK("dc-throughput", "reliable ordered data channel throughput over 127.0.0.1, 16 and 64 KiB messages",
                bench_throughput);
RTCPP_BENCHMARK("dc-pairs", "memory per connected pair and time to connect N pairs in one process", bench_pairs);
