// Data channel setup and throughput between two processes over 127.0.0.1 (issue 5: "in one process and in two
// processes"). The bench forks an answering process before any thread exists; the two exchange complete SDP
// (candidates included, as WHIP-style signalling does) over a pipe pair, so the figures include two event loops,
// two usrsctp stacks and real cross-process scheduling, as between two applications.
//
//   rtcpp-bench dc-two-process [RUNS] [SECONDS]   setup median/p90/p99/max over RUNS; 64 KiB throughput for SECONDS
#include "bench.hpp"

#include <rtcpp/peer_connection.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace rtcpp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// ---- a tiny length-prefixed message protocol over a pipe pair ----
bool write_all(int fd, const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}
bool read_all(int fd, void* data, size_t n) {
    auto* p = static_cast<uint8_t*>(data);
    while (n > 0) {
        const ssize_t r = ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}
bool send_msg(int fd, const std::string& s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    return write_all(fd, &n, sizeof n) && write_all(fd, s.data(), s.size());
}
std::optional<std::string> recv_msg(int fd) {
    uint32_t n = 0;
    if (!read_all(fd, &n, sizeof n) || n > (16u << 20)) return std::nullopt;
    std::string s(n, '\0');
    if (!read_all(fd, s.data(), n)) return std::nullopt;
    return s;
}

Configuration loopback() {
    Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    return c;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(50us);
    }
    return done();
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// The answering process: "offer" messages get an answer; the peer's channel counts what arrives; "stats" replies
/// with the bytes received since the last "stats" and this process's CPU seconds; "quit" ends it.
int answerer(int in, int out) {
    std::unique_ptr<PeerConnection> pc;
    std::atomic<uint64_t> received{0};
    std::mutex m;
    std::shared_ptr<DataChannel> channel;
    while (auto msg = recv_msg(in)) {
        if (*msg == "quit") break;
        if (*msg == "stats") {
            char buf[128];
            std::snprintf(buf, sizeof buf, "%llu %.6f", static_cast<unsigned long long>(received.exchange(0)),
                          cpu_seconds());
            if (!send_msg(out, buf)) break;
            continue;
        }
        // A new offer: the previous connection goes.
        if (pc) pc->close();
        {
            std::lock_guard l(m);
            channel.reset();
        }
        pc.reset();
        auto created = PeerConnection::create(loopback());
        if (!created) return 1;
        pc = std::move(created.value());
        pc->on_data_channel([&](std::shared_ptr<DataChannel> ch) {
            ch->on_message([&](std::span<const uint8_t> d, bool) { received += d.size(); });
            std::lock_guard l(m);
            channel = ch;
        });
        std::atomic<bool> gathered{false};
        pc->on_ice_gathering_state_change([&](IceGatheringState g) {
            if (g == IceGatheringState::Complete) gathered = true;
        });
        if (!pc->set_remote_description({SdpType::Offer, *msg})) return 1;
        auto answer = pc->create_answer();
        if (!answer || !pc->set_local_description(*answer)) return 1;
        wait_until([&] { return gathered.load(); }, 2s);
        auto full = pc->local_description();
        if (!full || !send_msg(out, full->sdp)) return 1;
    }
    if (pc) pc->close();
    return 0;
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

struct Offerer {
    std::unique_ptr<PeerConnection> pc;
    std::shared_ptr<DataChannel> channel;
};

/// createOffer (with candidates) -> answer from the other process -> our channel open. Returns milliseconds.
std::optional<double> connect_once(int to_child, int from_child, Offerer& o) {
    auto created = PeerConnection::create(loopback());
    if (!created) return std::nullopt;
    o.pc = std::move(created.value());
    std::atomic<bool> gathered{false}, open{false};
    o.pc->on_ice_gathering_state_change([&](IceGatheringState g) {
        if (g == IceGatheringState::Complete) gathered = true;
    });
    const auto t0 = Clock::now();
    auto ch = o.pc->create_data_channel("bench");
    if (!ch) return std::nullopt;
    (*ch)->on_open([&] { open = true; });
    auto offer = o.pc->create_offer();
    if (!offer || !o.pc->set_local_description(*offer)) return std::nullopt;
    wait_until([&] { return gathered.load(); }, 2s);
    auto full = o.pc->local_description();
    if (!full || !send_msg(to_child, full->sdp)) return std::nullopt;
    auto answer = recv_msg(from_child);
    if (!answer || !o.pc->set_remote_description({SdpType::Answer, *answer})) return std::nullopt;
    if (!wait_until([&] { return open.load(); }, 10s)) return std::nullopt;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    o.channel = *ch;
    o.pc->on_ice_gathering_state_change(nullptr);
    (*ch)->on_open(nullptr);
    return ms;
}

int bench_two_process(bench::Reporter& r, const std::vector<std::string>& args) {
    const int runs = args.size() > 0 ? std::max(1, std::atoi(args[0].c_str())) : 100;
    const int seconds = args.size() > 1 ? std::max(1, std::atoi(args[1].c_str())) : 10;
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) return 1;
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child < 0) return 1;
    if (child == 0) {
        ::close(down[1]);
        ::close(up[0]);
        ::_exit(answerer(down[0], up[1]));
    }
    ::close(down[0]);
    ::close(up[1]);
    const int to_child = down[1], from_child = up[0];
    int status = 0;
    auto finish = [&](int rc) {
        (void)send_msg(to_child, "quit");
        ::close(to_child);
        ::close(from_child);
        ::waitpid(child, &status, 0);
        return rc;
    };

    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        Offerer o;
        auto ms = connect_once(to_child, from_child, o);
        if (!ms) {
            r.note("a connection between the two processes failed");
            return finish(1);
        }
        times.push_back(*ms);
        o.pc->close();
    }
    r.figure("dc2p_setup_median", percentile(times, 0.5), "ms");
    r.figure("dc2p_setup_p90", percentile(times, 0.9), "ms");
    r.figure("dc2p_setup_p99", percentile(times, 0.99), "ms");
    r.figure("dc2p_setup_max", *std::max_element(times.begin(), times.end()), "ms");

    // Reliable ordered 64 KiB messages for `seconds`, refilled between 1 and 4 MiB queued; both processes' CPU.
    Offerer o;
    if (!connect_once(to_child, from_child, o)) return finish(1);
    auto stats = [&]() -> std::pair<uint64_t, double> {
        if (!send_msg(to_child, "stats")) return {0, 0};
        auto s = recv_msg(from_child);
        unsigned long long bytes = 0;
        double cpu = 0;
        if (s) std::sscanf(s->c_str(), "%llu %lf", &bytes, &cpu);
        return {bytes, cpu};
    };
    const auto [ignored, child_cpu0] = stats();
    (void)ignored;
    const double cpu0 = cpu_seconds();
    std::vector<uint8_t> payload(64 * 1024, 0x42);
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
        const size_t buffered = o.channel->buffered_amount();
        if (buffered < (1u << 20)) {
            for (size_t b = buffered; b < (4u << 20); b += payload.size())
                if (!o.channel->send(std::span<const uint8_t>(payload))) break;
        } else {
            std::this_thread::sleep_for(200us);
        }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto [bytes, child_cpu1] = stats();
    const double cpu = (cpu_seconds() - cpu0) + (child_cpu1 - child_cpu0);
    const double mb = static_cast<double>(bytes) / 1e6;
    r.figure("dc2p_throughput_64k", mb / secs, "MB/s");
    r.figure("dc2p_cpu_per_gb_64k", cpu / std::max(mb / 1000.0, 1e-9), "CPU s/GB");
    o.pc->close();
    return finish(0);
}

} // namespace

RTCPP_BENCHMARK("dc-two-process",
                "data channel setup (RUNS) and 64 KiB throughput (SECONDS) between two processes over 127.0.0.1",
                bench_two_process);
