// rtcpp-delay-forwarder: a fixed-delay path for benchmarks, because netem does not work in this kernel.
//
//   rtcpp-delay-forwarder --tun NAME --delay-ms D [--rate-mbit R] [--loss-pct P] [--queue-packets N]
//                         [--duration-s S] [--seed X]
//
// Creates (or attaches to) the TUN device NAME, reads every IP packet the kernel routes into it and writes it
// back after D ms, so the kernel routes it on to its destination. With policy routing in a router namespace
// ("packets from the veth links go to the TUN device"), every packet between two namespaces crosses it once per
// direction: D is the one-way delay, 2*D the added RTT. Optional: a serialisation rate (R Mbit/s, packets queue
// behind each other), random loss (P percent), a bounded queue (tail drop), a bounded runtime (exits after S s).
// Prints its counters on exit (SIGINT/SIGTERM or the runtime bound).
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Packet {
    int64_t due_ns;
    std::vector<uint8_t> bytes;
};

struct Options {
    std::string tun;
    double delay_ms = -1;
    double rate_mbit = 0;  // 0: unlimited
    double loss_pct = 0;
    size_t queue_packets = 100000;
    double duration_s = 600;
    uint64_t seed = 1;
};

int usage() {
    std::fprintf(stderr,
                 "usage: rtcpp-delay-forwarder --tun NAME --delay-ms D [--rate-mbit R] [--loss-pct P] "
                 "[--queue-packets N] [--duration-s S] [--seed X]\n");
    return 1;
}

int open_tun(const std::string& name) {
    const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        std::perror("open /dev/net/tun");
        return -1;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        std::perror("TUNSETIFF");
        close(fd);
        return -1;
    }
    return fd;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const char* v = argv[++i];
        if (a == "--tun") o.tun = v;
        else if (a == "--delay-ms") o.delay_ms = std::atof(v);
        else if (a == "--rate-mbit") o.rate_mbit = std::atof(v);
        else if (a == "--loss-pct") o.loss_pct = std::atof(v);
        else if (a == "--queue-packets") o.queue_packets = static_cast<size_t>(std::atoll(v));
        else if (a == "--duration-s") o.duration_s = std::atof(v);
        else if (a == "--seed") o.seed = static_cast<uint64_t>(std::atoll(v));
        else return usage();
    }
    if (o.tun.empty() || o.delay_ms < 0 || o.queue_packets == 0 || o.duration_s <= 0) return usage();

    const int fd = open_tun(o.tun);
    if (fd < 0) return 2;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const int64_t delay_ns = static_cast<int64_t>(o.delay_ms * 1e6);
    const double ns_per_byte = o.rate_mbit > 0 ? 8e3 / o.rate_mbit : 0.0;
    const int64_t end_ns = now_ns() + static_cast<int64_t>(o.duration_s * 1e9);
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> uniform(0.0, 100.0);

    std::deque<Packet> queue;
    std::vector<std::vector<uint8_t>> spare;  // recycled buffers: no allocation per packet once warm
    int64_t link_free_ns = 0;                 // when the serialising link finishes its current packet
    uint64_t forwarded = 0, dropped_loss = 0, dropped_queue = 0, write_errors = 0;
    size_t max_queue = 0;
    std::fprintf(stderr, "delay-forwarder on %s: %.1f ms one way, rate %s, loss %.2f%%, queue %zu packets\n",
                 o.tun.c_str(), o.delay_ms, o.rate_mbit > 0 ? (std::to_string(o.rate_mbit) + " Mbit/s").c_str() : "unlimited",
                 o.loss_pct, o.queue_packets);

    while (!g_stop) {
        int64_t now = now_ns();
        if (now >= end_ns) break;
        // Send everything that is due.
        while (!queue.empty() && queue.front().due_ns <= now) {
            Packet& p = queue.front();
            if (write(fd, p.bytes.data(), p.bytes.size()) < 0) ++write_errors;
            else ++forwarded;
            spare.push_back(std::move(p.bytes));
            queue.pop_front();
        }
        // Sleep until the next packet is due, a packet arrives, or the run ends.
        int64_t wake = end_ns;
        if (!queue.empty()) wake = std::min(wake, queue.front().due_ns);
        const int64_t wait = std::max<int64_t>(0, wake - now);
        timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
        pollfd pfd{fd, POLLIN, 0};
        const int r = ppoll(&pfd, 1, &ts, nullptr);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::perror("ppoll");
            break;
        }
        if (r == 0 || !(pfd.revents & POLLIN)) continue;
        // Drain what the kernel has queued; stamp each packet on arrival.
        for (;;) {
            std::vector<uint8_t> buf;
            if (!spare.empty()) {
                buf = std::move(spare.back());
                spare.pop_back();
            }
            buf.resize(65536);
            const ssize_t n = read(fd, buf.data(), buf.size());
            if (n <= 0) {
                spare.push_back(std::move(buf));
                break;
            }
            buf.resize(static_cast<size_t>(n));
            now = now_ns();
            if (o.loss_pct > 0 && uniform(rng) < o.loss_pct) {
                ++dropped_loss;
                spare.push_back(std::move(buf));
                continue;
            }
            if (queue.size() >= o.queue_packets) {
                ++dropped_queue;
                spare.push_back(std::move(buf));
                continue;
            }
            int64_t due = now + delay_ns;
            if (ns_per_byte > 0) {
                // The packet leaves the link after those ahead of it; then it propagates for the delay.
                link_free_ns = std::max(link_free_ns, now) + static_cast<int64_t>(ns_per_byte * static_cast<double>(n));
                due = link_free_ns + delay_ns;
            }
            queue.push_back(Packet{due, std::move(buf)});
            max_queue = std::max(max_queue, queue.size());
        }
    }
    std::fprintf(stderr,
                 "delay-forwarder: forwarded %llu, lost %llu (random), dropped %llu (queue full), write errors %llu, "
                 "max queue %zu packets, %zu left\n",
                 static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(dropped_loss),
                 static_cast<unsigned long long>(dropped_queue), static_cast<unsigned long long>(write_errors),
                 max_queue, queue.size());
    close(fd);
    return 0;
}
