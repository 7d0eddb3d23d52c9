// Data channel benchmarks over 127.0.0.1 in one process (issue 5): setup time, reliable throughput, memory per
// connected pair, and aiortc's figures measured in the same run with the same method.
//
//   rtcpp-bench dc-setup [RUNS]            createOffer to both channels open: median, p90, p99, max
//   rtcpp-bench dc-throughput [SECONDS]    reliable ordered 16 KiB and 64 KiB messages: MB/s, CPU s/GB;
//                                          unordered maxRetransmits=0 1 KiB messages: MB/s, loss
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
std::optional<double> connect_pair(ConnectedPair& p, const DataChannelInit& init = {}) {
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
    auto ch = p.a->create_data_channel("bench", init);
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
    elif what == "pairs":
        import gc; gc.collect()
        def rss():
            for l in open("/proc/self/status"):
                if l.startswith("VmRSS:"): return int(l.split()[1])
        before = rss(); t0 = time.perf_counter(); keep = []
        for _ in range(arg): keep.append(await pair())
        ms = (time.perf_counter() - t0) * 1000
        print("pairs_%d_connect_time" % arg, ms); print("pairs_%d_rss_per_pair" % arg, (rss() - before) / arg)
        for a, b, _, _, _ in keep: await a.close(); await b.close()
    elif what == "unordered":
        a, b, _, _, _ = await pair()
        ch = a.createDataChannel("u", ordered=False, maxRetransmits=0); opened = asyncio.Event(); ch.on("open", opened.set)
        got = asyncio.Event(); holder = {}
        @b.on("datachannel")
        def on_dc2(c): holder["c"] = c; got.set()
        await asyncio.wait_for(asyncio.gather(opened.wait(), got.wait()), 20)
        received = [0]; holder["c"].on("message", lambda m: received.__setitem__(0, received[0] + 1))
        payload = b"u" * 1024; sent = 0; t0 = time.perf_counter(); end = t0 + arg
        while time.perf_counter() < end:
            while ch.bufferedAmount < 1024 * 1024: ch.send(payload); sent += 1
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.5)
        secs = time.perf_counter() - t0
        print("unordered_1k", received[0] * 1024 / 1e6 / secs); print("unordered_1k_loss", 100.0 * (1 - received[0] / max(sent, 1)))
        await a.close(); await b.close()
    else:
      for size in (16 * 1024, 64 * 1024):
        a, b, ch, rc, _ = await pair(); received = [0]; done = asyncio.Event()
        rc.on("message", lambda m: received.__setitem__(0, received[0] + len(m)))
        payload = b"x" * size; c0 = time.process_time(); t0 = time.perf_counter(); end = t0 + arg
        low = asyncio.Event(); ch.bufferedAmountLowThreshold = 1024 * 1024; ch.on("bufferedamountlow", low.set)
        while time.perf_counter() < end:
            while ch.bufferedAmount < 4 * 1024 * 1024: ch.send(payload)
            low.clear()
            try: await asyncio.wait_for(low.wait(), 0.2)
            except asyncio.TimeoutError: pass
        secs = time.perf_counter() - t0; cpu = time.process_time() - c0; tag = "%dk" % (size // 1024)
        print("throughput_" + tag, received[0] / 1e6 / secs); print("cpu_per_gb_" + tag, cpu / max(received[0] / 1e9, 1e-9))
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
            const std::string unit = n.rfind("setup", 0) == 0 || n.find("connect_time") != std::string::npos ? "ms"
                                     : n.rfind("cpu_per_gb", 0) == 0                                        ? "CPU s/GB"
                                     : n.find("rss") != std::string::npos                                    ? "KiB"
                                     : n.find("loss") != std::string::npos                                   ? "%"
                                                                                                             : "MB/s";
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
    {
        // Unordered, maxRetransmits=0, 1 KiB: what a game or telemetry stream uses. Loss here is what the sender's
        // queue or the receiver's buffers drop (loopback loses nothing itself).
        DataChannelInit init;
        init.ordered = false;
        init.max_retransmits = 0;
        ConnectedPair p;
        if (!connect_pair(p, init)) return 1;
        std::atomic<uint64_t> received{0};
        p.cb->on_message([&](std::span<const uint8_t>, bool) { ++received; });
        std::vector<uint8_t> payload(1024, 0x55);
        DataChannel* ch = p.ca.get();
        uint64_t sent = 0;
        const auto t0 = Clock::now();
        const auto end = t0 + std::chrono::seconds(seconds);
        while (Clock::now() < end) {
            if (ch->buffered_amount() < (1u << 20)) {
                for (int i = 0; i < 256; ++i) {
                    if (!ch->send(std::span<const uint8_t>(payload))) break;
                    ++sent;
                }
            } else {
                std::this_thread::sleep_for(100us);
            }
        }
        wait_until([&] { return received.load() >= sent; }, 500ms);
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        r.figure("dc_unordered_1k", static_cast<double>(received.load()) * 1024 / 1e6 / secs, "MB/s");
        r.figure("dc_unordered_1k_loss", 100.0 * (1.0 - static_cast<double>(received.load()) / std::max<double>(sent, 1)),
                 "%");
    }
    aiortc_figures(r, "throughput", std::min(seconds, 5));
    aiortc_figures(r, "unordered", std::min(seconds, 5));
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
    // aiortc, same method, 100 pairs (1,000 takes minutes there).
    aiortc_figures(r, "pairs", 100);
    return 0;
}

} // namespace

RTCPP_BENCHMARK("dc-setup", "data channel setup over 127.0.0.1 (createOffer to both open), pooled runs", bench_setup);
RTCPP_BENCHMARK("dc-throughput", "reliable ordered data channel throughput over 127.0.0.1, 16 and 64 KiB messages",
                bench_throughput);
RTCPP_BENCHMARK("dc-pairs", "memory per connected pair and time to connect N pairs in one process", bench_pairs);
