#include "cc/acknowledged_bitrate_estimator.hpp"
#include "cc/aimd_rate_control.hpp"
#include "cc/alr_detector.hpp"
#include "cc/loss_based_bwe.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::cc;

TEST_CASE("AIMD: multiplicative increase of about 8% per second without a capacity estimate") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::kbps(500));
    Timestamp now = Timestamp::seconds(10);
    a.update(BandwidthUsage::Normal, DataRate::kbps(500), now);  // hold -> increase
    for (int i = 0; i < 40; ++i) {
        now += TimeDelta::millis(25);
        a.update(BandwidthUsage::Normal, DataRate::kbps(500), now);
    }
    // One second at 8%/s, compounded per step.
    CHECK(a.latest_estimate().kbps_f() == doctest::Approx(540).epsilon(0.01));
}

TEST_CASE("AIMD: increase is capped at 1.5x the acknowledged throughput") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::kbps(200));
    Timestamp now = Timestamp::seconds(10);
    for (int i = 0; i < 400; ++i) {
        now += TimeDelta::millis(25);
        a.update(BandwidthUsage::Normal, DataRate::kbps(300), now);
    }
    CHECK(a.latest_estimate() <= DataRate::kbps(460));
    CHECK(a.latest_estimate() >= DataRate::kbps(455));
}

TEST_CASE("AIMD: overuse decreases to 0.85 x acknowledged rate, then additive increase near the capacity") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::mbps(1));
    a.set_rtt(TimeDelta::millis(50));
    Timestamp now = Timestamp::seconds(10);
    a.update(BandwidthUsage::Normal, DataRate::kbps(1000), now);
    now += TimeDelta::millis(100);
    const DataRate after = a.update(BandwidthUsage::Overusing, DataRate::kbps(800), now);
    CHECK(after == DataRate::kbps(800) * 0.85 - DataRate::kbps(5));
    CHECK(a.state() == AimdRateControl::State::Hold);
    CHECK(a.link_capacity().has_estimate());
    CHECK(a.link_capacity().estimate() == DataRate::kbps(800));
    // Still overusing right after: not time to reduce again (one RTT), unless throughput collapses.
    CHECK_FALSE(a.time_to_reduce_further(now + TimeDelta::millis(20), DataRate::kbps(700)));
    CHECK(a.time_to_reduce_further(now + TimeDelta::millis(20), DataRate::kbps(300)));
    CHECK(a.time_to_reduce_further(now + TimeDelta::millis(60), DataRate::kbps(700)));
    // Underuse holds.
    now += TimeDelta::millis(100);
    CHECK(a.update(BandwidthUsage::Underusing, DataRate::kbps(700), now) == after);
    // Normal again: additive, about one packet per (rtt + 100 ms) each second.
    now += TimeDelta::millis(100);
    a.update(BandwidthUsage::Normal, DataRate::kbps(700), now);
    const DataRate start = a.latest_estimate();
    const DataRate per_second = a.near_max_increase_rate_per_second();
    CHECK(per_second > DataRate::kbps(4));
    CHECK(per_second < DataRate::kbps(100));
    for (int i = 0; i < 40; ++i) {
        now += TimeDelta::millis(25);
        a.update(BandwidthUsage::Normal, DataRate::kbps(700), now);
    }
    const double gained = (a.latest_estimate() - start).kbps_f();
    CHECK(gained == doctest::Approx(per_second.kbps_f()).epsilon(0.1));
    CHECK(gained < start.kbps_f() * 0.08);  // slower than the multiplicative mode
}

TEST_CASE("AIMD: throughput far above the capacity estimate resets it (back to multiplicative)") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::mbps(1));
    Timestamp now = Timestamp::seconds(1);
    a.update(BandwidthUsage::Overusing, DataRate::kbps(1000), now);
    CHECK(a.link_capacity().has_estimate());
    now += TimeDelta::millis(100);
    a.update(BandwidthUsage::Normal, DataRate::kbps(2000), now);
    now += TimeDelta::millis(100);
    a.update(BandwidthUsage::Normal, DataRate::kbps(2000), now);
    CHECK_FALSE(a.link_capacity().has_estimate());
}

TEST_CASE("AIMD: no increase in an application-limited region") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::kbps(500));
    a.set_in_alr(true);
    Timestamp now = Timestamp::seconds(1);
    for (int i = 0; i < 100; ++i) {
        now += TimeDelta::millis(25);
        a.update(BandwidthUsage::Normal, DataRate::kbps(500), now);
    }
    CHECK(a.latest_estimate() == DataRate::kbps(500));
}

TEST_CASE("link capacity estimator: bounds around a learnt estimate") {
    LinkCapacityEstimator l;
    CHECK(l.upper_bound() == DataRate::infinity());
    CHECK(l.lower_bound() == DataRate::zero());
    for (int i = 0; i < 50; ++i) l.on_overuse_detected(DataRate::kbps(1000));
    CHECK(l.estimate().kbps_f() == doctest::Approx(1000).epsilon(0.001));
    CHECK(l.upper_bound() > DataRate::kbps(1000));
    CHECK(l.upper_bound() < DataRate::kbps(1100));
    CHECK(l.lower_bound() < DataRate::kbps(1000));
    CHECK(l.lower_bound() > DataRate::kbps(900));
}

TEST_CASE("acknowledged bitrate converges to the delivered rate") {
    AcknowledgedBitrateEstimator e;
    CHECK_FALSE(e.bitrate());
    std::vector<PacketResult> batch;
    Timestamp t = Timestamp::seconds(1);
    // 1000-byte packets every 8 ms: 1 Mbps.
    for (int i = 0; i < 500; ++i) {
        PacketResult p;
        p.sent_packet.size = DataSize::bytes(1000);
        p.sent_packet.send_time = t;
        p.receive_time = t;
        batch.push_back(p);
        t += TimeDelta::millis(8);
        if (batch.size() == 6) {
            e.incoming_packet_feedback(batch);
            batch.clear();
        }
    }
    REQUIRE(e.bitrate());
    CHECK(e.bitrate()->kbps_f() == doctest::Approx(1000).epsilon(0.1));
}

TEST_CASE("loss-based: >10% decreases by half the loss, <2% increases 8% per second, between holds") {
    LossBasedBwe l;
    Timestamp now = Timestamp::seconds(100);
    l.set_bitrates(DataRate::kbps(1000), DataRate::kbps(50), DataRate::mbps(5), now);
    // Leave the start phase with a lossless report first.
    l.update_packets_lost(0, 100, now);
    now += TimeDelta::seconds(3);
    l.update_estimate(now);
    const DataRate before = l.target_rate();

    l.update_packets_lost(20, 100, now);  // 20%
    CHECK(l.target_rate().kbps_f() == doctest::Approx(before.kbps_f() * (1 - 0.5 * 51.0 / 256.0)).epsilon(0.01));
    const DataRate decreased = l.target_rate();
    // Not again before 300 ms + rtt, nor without a new report.
    now += TimeDelta::millis(100);
    l.update_packets_lost(20, 100, now);
    CHECK(l.target_rate() == decreased);

    now += TimeDelta::seconds(1);
    l.update_packets_lost(5, 100, now);  // 5%: hold
    for (int i = 0; i < 20; ++i) {
        now += TimeDelta::millis(25);
        l.update_estimate(now);
    }
    CHECK(l.target_rate() == decreased);

    l.update_packets_lost(1, 100, now);  // 1%: increase at once to 1.08 x the lowest rate of the last second
    CHECK(l.target_rate().kbps_f() == doctest::Approx(decreased.kbps_f() * 1.08 + 1).epsilon(0.001));
    // ... and from then on 8% per second.
    for (int i = 0; i < 80; ++i) {
        now += TimeDelta::millis(25);
        l.update_estimate(now);
    }
    CHECK(l.target_rate().kbps_f() == doctest::Approx(decreased.kbps_f() * 1.08 * 1.08 * 1.08).epsilon(0.01));
}

TEST_CASE("loss-based: the target never exceeds the delay-based or receiver estimate") {
    LossBasedBwe l;
    Timestamp now = Timestamp::seconds(1);
    l.set_bitrates(DataRate::kbps(1000), DataRate::kbps(50), DataRate::mbps(5), now);
    l.update_delay_based_estimate(now, DataRate::kbps(700));
    CHECK(l.target_rate() == DataRate::kbps(700));
    l.update_receiver_estimate(now, DataRate::kbps(400));
    CHECK(l.target_rate() == DataRate::kbps(400));
    // In the start phase, without loss, the estimate follows the caps upwards.
    l.update_receiver_estimate(now, DataRate::kbps(2000));
    l.update_delay_based_estimate(now, DataRate::kbps(1500));
    l.update_estimate(now + TimeDelta::millis(100));
    CHECK(l.target_rate() == DataRate::kbps(1500));
}

TEST_CASE("ALR detector: enters when sending well under the estimate, leaves when using it") {
    AlrDetector d;
    d.set_estimated_bitrate(DataRate::mbps(1));
    Timestamp t = Timestamp::seconds(1);
    // 200 kbps for a second.
    for (int i = 0; i < 100; ++i) {
        d.on_bytes_sent(DataSize::bytes(250), t);
        t += TimeDelta::millis(10);
    }
    REQUIRE(d.alr_start_time());
    // 1 Mbps (above the 650 kbps budget rate): the budget drains and the region ends.
    for (int i = 0; i < 100 && d.alr_start_time(); ++i) {
        d.on_bytes_sent(DataSize::bytes(1250), t);
        t += TimeDelta::millis(10);
    }
    CHECK_FALSE(d.alr_start_time());
}

TEST_CASE("AIMD: expected bandwidth period is the time the additive increase needs to win back the last decrease") {
    AimdRateControl a;
    a.set_start_bitrate(DataRate::mbps(1));
    a.set_rtt(TimeDelta::millis(50));
    CHECK(a.expected_bandwidth_period() == TimeDelta::seconds(3));  // no decrease yet
    Timestamp now = Timestamp::seconds(10);
    a.update(BandwidthUsage::Normal, DataRate::kbps(1000), now);
    now += TimeDelta::millis(100);
    a.update(BandwidthUsage::Overusing, DataRate::kbps(1000), now);
    const double expected_s = a.last_decrease().kbps_f() / a.near_max_increase_rate_per_second().kbps_f();
    REQUIRE(expected_s > 2.0);  // 1000 -> 845 kbps at ~55 kbps/s: inside the [2 s, 50 s] clamp
    CHECK(a.expected_bandwidth_period().seconds_f() == doctest::Approx(expected_s).epsilon(0.01));
    // A bigger flow decreases more, so its sawtooth is longer.
    AimdRateControl b;
    b.set_start_bitrate(DataRate::mbps(3));
    b.set_rtt(TimeDelta::millis(50));
    b.update(BandwidthUsage::Normal, DataRate::kbps(3000), now);
    b.update(BandwidthUsage::Overusing, DataRate::kbps(3000), now + TimeDelta::millis(100));
    CHECK(b.expected_bandwidth_period() > a.expected_bandwidth_period() * 2);
}
