#include "cc/pacer.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::cc;

namespace {

struct Sent {
    Timestamp at;
    Pacer::PacedPacket p;
};

// Drives the pacer as an event loop would: sends everything due, then jumps to poll_timeout().
std::vector<Sent> drain(Pacer& pacer, Timestamp from, Timestamp until) {
    std::vector<Sent> out;
    Timestamp now = from;
    for (int guard = 0; guard < 1000000 && now <= until; ++guard) {
        while (auto p = pacer.poll_send(now)) out.push_back({now, *p});
        const Timestamp next = pacer.poll_timeout();
        if (!next.is_finite() || next > until) break;
        REQUIRE(next > now);  // never asks to be woken in the past or at the same instant twice
        now = next;
    }
    return out;
}

} // namespace

TEST_CASE("pacer sends a backlog at the pacing rate after the burst allowance") {
    Pacer::Config cfg;
    cfg.burst_interval = TimeDelta::millis(40);
    Pacer pacer(cfg);
    pacer.set_pacing_rates(DataRate::kbps(800), DataRate::zero());  // 100 bytes per ms
    const Timestamp t0 = Timestamp::seconds(1);
    for (uint64_t i = 0; i < 100; ++i) pacer.enqueue(t0, {i, PacketKind::Video, DataSize::bytes(1000)});
    auto sent = drain(pacer, t0, t0 + TimeDelta::seconds(5));
    REQUIRE(sent.size() == 100);
    // 40 ms of burst credit (4000 bytes) lets 5 packets out at once, then one every 10 ms.
    int at_start = 0;
    for (const auto& s : sent) at_start += s.at == t0;
    CHECK(at_start == 5);
    const TimeDelta span = sent.back().at - sent.front().at;
    CHECK(span.ms_f() == doctest::Approx(950).epsilon(0.01));
    for (size_t i = 0; i < sent.size(); ++i) CHECK(sent[i].p.id == i);  // FIFO within a class
}

TEST_CASE("pacer priority: audio > retransmission > video > FEC") {
    Pacer pacer;
    pacer.set_pacing_rates(DataRate::kbps(80), DataRate::zero());
    const Timestamp t0 = Timestamp::seconds(1);
    // Use up the burst credit first so ordering is decided by priority, not arrival.
    pacer.enqueue(t0, {100, PacketKind::Video, DataSize::bytes(1000)});
    REQUIRE(pacer.poll_send(t0));
    pacer.enqueue(t0, {1, PacketKind::Fec, DataSize::bytes(500)});
    pacer.enqueue(t0, {2, PacketKind::Video, DataSize::bytes(500)});
    pacer.enqueue(t0, {3, PacketKind::Retransmission, DataSize::bytes(500)});
    pacer.enqueue(t0, {4, PacketKind::Audio, DataSize::bytes(100)});
    // Audio is not paced: it goes at once even with the budget exhausted.
    auto a = pacer.poll_send(t0);
    REQUIRE(a);
    CHECK(a->id == 4);
    CHECK_FALSE(pacer.poll_send(t0));
    auto sent = drain(pacer, t0, t0 + TimeDelta::seconds(10));
    REQUIRE(sent.size() == 3);
    CHECK(sent[0].p.id == 3);
    CHECK(sent[1].p.id == 2);
    CHECK(sent[2].p.id == 1);
}

TEST_CASE("pacer generates padding at the padding rate when the queue is empty") {
    Pacer::Config cfg;
    cfg.padding_packet_size = DataSize::bytes(500);
    Pacer pacer(cfg);
    pacer.set_pacing_rates(DataRate::kbps(1000), DataRate::kbps(200));
    const Timestamp t0 = Timestamp::seconds(1);
    pacer.enqueue(t0, {1, PacketKind::Video, DataSize::bytes(100)});
    auto sent = drain(pacer, t0, t0 + TimeDelta::seconds(2));
    DataSize padding = DataSize::zero();
    for (const auto& s : sent)
        if (s.p.is_padding) padding += s.p.size;
    // 200 kbps for 2 s = 50 kB.
    CHECK(static_cast<double>(padding.bytes()) == doctest::Approx(50000).epsilon(0.03));
    CHECK_FALSE(sent[0].p.is_padding);
}

TEST_CASE("pacer runs a probe cluster at its rate, with media first and padding after, tagged") {
    Pacer pacer;
    pacer.set_pacing_rates(DataRate::kbps(300), DataRate::zero());
    const Timestamp t0 = Timestamp::seconds(1);
    ProbeClusterConfig c;
    c.at_time = t0;
    c.target_data_rate = DataRate::kbps(2000);
    c.id = 7;
    pacer.create_probe_cluster(c);
    pacer.enqueue(t0, {1, PacketKind::Video, DataSize::bytes(1000)});
    auto sent = drain(pacer, t0, t0 + TimeDelta::seconds(1));
    std::vector<Sent> probes;
    for (const auto& s : sent)
        if (s.p.pacing_info.probe_cluster_id == 7) probes.push_back(s);
    REQUIRE(probes.size() >= 5);
    CHECK_FALSE(probes[0].p.is_padding);
    CHECK(probes[0].p.id == 1);
    CHECK(probes[1].p.is_padding);
    DataSize total = DataSize::zero();
    for (size_t i = 0; i + 1 < probes.size(); ++i) total += probes[i].p.size;
    CHECK(total.bytes() + probes.back().p.size.bytes() >= c.min_bytes().bytes());
    const DataRate rate = total / (probes.back().at - probes.front().at);
    CHECK(rate.kbps_f() == doctest::Approx(2000).epsilon(0.02));
    CHECK(probes[0].p.pacing_info.probe_cluster_min_probes == 5);
    CHECK(pacer.stats().clusters_completed == 1);
}

TEST_CASE("pacer queue limit: raises the rate to drain within 2 s, or drops the oldest") {
    const Timestamp t0 = Timestamp::seconds(1);
    {
        Pacer pacer;
        pacer.set_pacing_rates(DataRate::kbps(100), DataRate::zero());
        // 100 kB at 100 kbps would take 8 s.
        for (uint64_t i = 0; i < 100; ++i) pacer.enqueue(t0, {i, PacketKind::Video, DataSize::bytes(1000)});
        CHECK(pacer.effective_pacing_rate().kbps_f() == doctest::Approx(400).epsilon(0.01));
        auto sent = drain(pacer, t0, t0 + TimeDelta::seconds(10));
        REQUIRE(sent.size() == 100);
        CHECK((sent.back().at - t0) <= TimeDelta::millis(2100));
    }
    {
        Pacer::Config cfg;
        cfg.queue_limit_action = Pacer::QueueLimitAction::DropOldest;
        Pacer pacer(cfg);
        pacer.set_pacing_rates(DataRate::kbps(100), DataRate::zero());
        for (uint64_t i = 0; i < 100; ++i) pacer.enqueue(t0, {i, PacketKind::Video, DataSize::bytes(1000)});
        CHECK(pacer.expected_queue_time() <= TimeDelta::seconds(2));
        auto dropped = pacer.take_dropped();
        REQUIRE(dropped.size() == 75);
        CHECK(dropped.front() == 0);
        CHECK(pacer.take_dropped().empty());
    }
}

TEST_CASE("pacer with nothing to do has no timeout") {
    Pacer pacer;
    pacer.set_pacing_rates(DataRate::kbps(300), DataRate::zero());
    CHECK_FALSE(pacer.poll_send(Timestamp::seconds(1)));
    CHECK(pacer.poll_timeout() == Timestamp::plus_infinity());
}
