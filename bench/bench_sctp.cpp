// sctp-throughput: two SctpAssociations joined in memory (no DTLS, no network), reliable ordered messages of
// 16 KiB and 64 KiB pushed for a few seconds each. Measures what usrsctp and the wrapper cost per byte.
#include "bench.hpp"

#include "sctp/sctp_association.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace rtcpp;
using namespace rtcpp::sctp;

double cpu_seconds() {
    struct rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Link {
    std::unique_ptr<SctpAssociation> a;
    std::unique_ptr<SctpAssociation> b;
    Timestamp now = Timestamp::seconds(1);
    uint64_t received_bytes = 0;
    uint16_t channel = 0;
    bool b_has_channel = false;

    // Moves packets both ways and consumes events until nothing moves.
    void pump() {
        for (bool progress = true; progress;) {
            progress = false;
            while (auto p = a->poll_transmit()) {
                b->handle_packet(now, *p);
                a->recycle(std::move(*p));
                progress = true;
            }
            while (auto p = b->poll_transmit()) {
                a->handle_packet(now, *p);
                b->recycle(std::move(*p));
                progress = true;
            }
            while (auto e = b->poll_event()) {
                progress = true;
                if (auto* m = std::get_if<events::MessageReceived>(&*e)) received_bytes += m->data.size();
                if (std::holds_alternative<events::ChannelOpen>(*e)) b_has_channel = true;
            }
            while (auto e = a->poll_event()) progress = true;
        }
    }
    void tick() {
        Timestamp next = std::min(a->poll_timeout(), b->poll_timeout());
        now = next > now ? next : now + TimeDelta::millis(1);
        a->handle_timeout(now);
        b->handle_timeout(now);
        pump();
    }
};

std::unique_ptr<Link> make_link(uint16_t streams = 1024) {
    SctpSettings s;
    s.max_streams = streams;
    s.remote_max_message_size = kDefaultMaxMessageSize;
    auto link = std::make_unique<Link>();
    s.dtls_client = true;
    link->a = SctpAssociation::create(s).value();
    s.dtls_client = false;
    link->b = SctpAssociation::create(s).value();
    if (!link->a->connect(link->now).ok() || !link->b->connect(link->now).ok()) return nullptr;
    ChannelOptions o;
    o.label = "bench";
    auto id = link->a->open_channel(o);
    if (!id.ok()) return nullptr;
    link->channel = *id;
    for (int i = 0; i < 1000 && link->a->channel_state(link->channel) != ChannelState::Open; ++i) link->tick();
    if (link->a->channel_state(link->channel) != ChannelState::Open) return nullptr;
    return link;
}

int run(rtcpp::bench::Reporter& r, const std::vector<std::string>& args) {
    double seconds = 3.0;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--seconds") seconds = std::stod(args[i + 1]);
    }
    for (size_t message : {size_t{16 * 1024}, size_t{64 * 1024}}) {
        auto link = make_link();
        if (!link) {
            r.note("sctp-throughput: association did not come up");
            return 1;
        }
        const std::vector<uint8_t> payload(message, 0x5a);
        const auto wall0 = std::chrono::steady_clock::now();
        const double cpu0 = cpu_seconds();
        double elapsed = 0;
        while (elapsed < seconds) {
            // Keep about 1 MiB queued, as an application honouring bufferedAmount would.
            while (link->a->buffered_amount(link->channel) < 1024 * 1024) {
                if (!link->a->send(link->channel, payload, true).ok()) return 1;
            }
            link->pump();
            link->tick();
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
        }
        const double cpu = cpu_seconds() - cpu0;
        const double mb = static_cast<double>(link->received_bytes) / 1e6;
        const std::string tag = std::to_string(message / 1024) + "k";
        r.figure("sctp_inmemory_reliable_" + tag + "_throughput", mb / elapsed, "MB/s");
        r.figure("sctp_inmemory_reliable_" + tag + "_cpu_per_gb", mb > 0 ? cpu / (mb / 1000.0) : 0.0, "s/GB");
        r.note("sctp-throughput " + tag + ": " + std::to_string(mb) + " MB in " + std::to_string(elapsed) + " s, " +
               std::to_string(cpu) + " CPU s");
    }
    return 0;
}

long rss_kib() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long pages = 0, resident = 0;
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
    return resident * 4;
}

int run_pairs(rtcpp::bench::Reporter& r, const std::vector<std::string>& args) {
    size_t count = 100;
    uint16_t streams = 1024;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--pairs") count = static_cast<size_t>(std::stoul(args[i + 1]));
        if (args[i] == "--streams") streams = static_cast<uint16_t>(std::stoul(args[i + 1]));
    }
    auto warm = make_link();  // usrsctp's global state is not charged to the pairs
    const long before = rss_kib();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<Link>> links;
    for (size_t i = 0; i < count; ++i) {
        auto link = make_link(streams);
        if (!link) {
            r.note("sctp-pairs: a pair did not come up");
            return 1;
        }
        links.push_back(std::move(link));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const long after = rss_kib();
    r.figure("sctp_pair_memory", static_cast<double>(after - before) / static_cast<double>(count), "KiB/pair");
    r.figure("sctp_pair_setup", secs * 1000.0 / static_cast<double>(count), "ms/pair");
    return 0;
}

} // namespace

RTCPP_BENCHMARK("sctp-pairs", "memory and setup time per connected SCTP pair with one open channel (--pairs N, --streams S)",
                run_pairs);
RTCPP_BENCHMARK("sctp-throughput",
                "two SCTP associations in memory: reliable ordered 16 KiB / 64 KiB messages (MB/s, CPU s/GB)", run);
