// NACK/RTX and the video frame buffer over the simulated network (issue 7's target, and the FEC hook).
#include "sim/loss_scenarios.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::sim;

namespace {
LossScenarioConfig base(uint64_t seed) {
    LossScenarioConfig c;
    c.loss = 0.10;
    c.rtt = TimeDelta::millis(100);
    c.duration = TimeDelta::seconds(20);
    c.seed = seed;
    return c;
}
} // namespace

TEST_CASE("loss resilience: 10% random loss, 100 ms RTT (NACK + RTX)") {
    // Issue 7 asks for >= 99% of frames decodable with <= 1 RTT + 50 ms added latency. Reached: >= 99% rendered
    // complete and a median within 1 RTT + 50 ms. Not reached by NACK alone: the 95th percentile is ~2 RTT + 50 ms,
    // because ~6% of frames need a second round (a lost retransmission or NACK) and hold the frames behind them.
    // Hybrid NACK + FEC reaches it (next test).
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        CAPTURE(seed);
        const auto r = run_loss_scenario(base(seed));
        CHECK(r.frames_sent >= 550);
        CHECK(r.forward_lost > 200);  // the loss really happened
        CHECK(r.rendered_share >= 0.99);
        CHECK(r.latency_p50 <= TimeDelta::millis(150));
        CHECK(r.latency_p95 <= TimeDelta::millis(2 * 100 + 100));
        CHECK(r.retransmit_overhead > 0.08);  // the losses were repaired by retransmission...
        CHECK(r.retransmit_overhead < 0.16);  // ...without resending much twice
        CHECK(r.nack_packets > 100);
    }
}

TEST_CASE("loss resilience: 10% random loss, 100 ms RTT, hybrid NACK + FlexFEC meets the latency target") {
    // With FEC at the level choose_protection picks for 10% loss and 100 ms RTT, most losses are repaired at once
    // and the second rounds that set NACK's 95th percentile become rare: p95 <= 1 RTT + 50 ms, for ~17% overhead.
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        CAPTURE(seed);
        auto c = base(seed);
        c.fec = true;
        const auto r = run_loss_scenario(c);
        const auto plain = run_loss_scenario(base(seed));
        CHECK(r.forward_lost > 200);
        CHECK(r.rendered_share >= 0.99);
        CHECK(r.latency_p95 <= TimeDelta::millis(100 + 50));
        CHECK(r.latency_p95 < plain.latency_p95);
        CHECK(r.fec_recovered > r.forward_lost / 4);  // FEC did a real share of the repairs...
        CHECK(r.retransmitted_bytes < plain.retransmitted_bytes);  // ...so fewer retransmissions were needed
        CHECK(r.fec_overhead > 0.05);
        CHECK(r.fec_overhead < 0.30);
    }
}

TEST_CASE("loss resilience: FEC is not sent where NACK alone is in time (20 ms RTT)") {
    auto c = base(1);
    c.rtt = TimeDelta::millis(20);
    c.fec = true;
    const auto r = run_loss_scenario(c);
    CHECK(r.fec_bytes == 0);
    CHECK(r.rendered_share >= 0.99);
}

TEST_CASE("loss resilience: without NACK the same loss breaks most frames") {
    auto c = base(1);
    c.nack = false;
    const auto r = run_loss_scenario(c);
    CHECK(r.retransmitted_bytes == 0);
    CHECK(r.rendered_share < 0.5);
    CHECK(r.keyframe_requests > 0);
}

TEST_CASE("loss resilience: no loss costs nothing") {
    auto c = base(1);
    c.loss = 0;
    const auto r = run_loss_scenario(c);
    CHECK(r.rendered_share == 1.0);
    CHECK(r.retransmitted_bytes == 0);
    CHECK(r.nack_packets == 0);
    CHECK(r.latency_p95 < TimeDelta::millis(10));
}

TEST_CASE("loss resilience: the FEC hook carries protection packets and their recoveries") {
    // A stand-in for FEC: every media packet sent twice, the copy under payload type 120.
    auto c = base(2);
    c.protection.protect = [](Timestamp, ByteView media, std::vector<std::vector<uint8_t>>& out) {
        std::vector<uint8_t> copy(media.begin(), media.end());
        copy[1] = static_cast<uint8_t>((copy[1] & 0x80) | 120);
        out.push_back(std::move(copy));
    };
    c.protection.recover = [](Timestamp, ByteView packet, std::vector<std::vector<uint8_t>>& recovered) {
        if (packet.size() < 12 || (packet[1] & 0x7F) != 120) return;
        std::vector<uint8_t> original(packet.begin(), packet.end());
        original[1] = static_cast<uint8_t>((original[1] & 0x80) | 96);
        recovered.push_back(std::move(original));
    };
    const auto protected_run = run_loss_scenario(c);
    const auto plain = run_loss_scenario(base(2));
    CHECK(protected_run.fec_overhead == doctest::Approx(1.0));
    CHECK(protected_run.rendered_share >= 0.99);
    // Only packets lost together with their copy need a retransmission: ~1% instead of ~10%.
    CHECK(protected_run.retransmitted_bytes * 4 < plain.retransmitted_bytes);
    CHECK(protected_run.latency_p95 < plain.latency_p95);
}

TEST_CASE("loss resilience: bursty loss, long RTT and jitter stay decodable") {
    auto c = base(4);
    c.bursty = true;
    c.loss = 0.05;
    c.rtt = TimeDelta::millis(300);
    c.jitter = TimeDelta::millis(20);
    const auto r = run_loss_scenario(c);
    CHECK(r.rendered_share >= 0.95);
    CHECK(r.latency_p50 <= TimeDelta::millis(300 + 100));
}
