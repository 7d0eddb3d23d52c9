#include "cc/goog_cc_network_controller.hpp"
#include "cc/probe_bitrate_estimator.hpp"
#include "cc/probe_controller.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::cc;

namespace {

PacketResult probe_packet(int cluster, int64_t send_us, int64_t recv_us, int64_t bytes = 1000) {
    PacketResult p;
    p.sent_packet.pacing_info.probe_cluster_id = cluster;
    p.sent_packet.pacing_info.probe_cluster_min_probes = 5;
    p.sent_packet.pacing_info.probe_cluster_min_bytes = DataSize::bytes(5000);
    p.sent_packet.send_time = Timestamp::micros(send_us);
    p.sent_packet.size = DataSize::bytes(bytes);
    p.receive_time = Timestamp::micros(recv_us);
    return p;
}

} // namespace

TEST_CASE("probe estimator: unsaturated path reports the send rate") {
    ProbeBitrateEstimator e;
    std::optional<DataRate> r;
    // 1000 bytes every 4 ms sent (2 Mbps); received with the same spacing.
    for (int i = 0; i < 6; ++i) r = e.handle_probe_and_estimate_bitrate(probe_packet(1, i * 4000, 50000 + i * 4000));
    REQUIRE(r);
    CHECK(r->kbps_f() == doctest::Approx(2000).epsilon(0.01));
    CHECK(e.fetch_and_reset_last_estimate() == r);
    CHECK_FALSE(e.fetch_and_reset_last_estimate());
}

TEST_CASE("probe estimator: a bottleneck spreads the arrivals; result is 95% of the receive rate") {
    ProbeBitrateEstimator e;
    std::optional<DataRate> r;
    // Sent at 2 Mbps, received at 1 Mbps (8 ms apart).
    for (int i = 0; i < 6; ++i) r = e.handle_probe_and_estimate_bitrate(probe_packet(2, i * 4000, 50000 + i * 8000));
    REQUIRE(r);
    CHECK(r->kbps_f() == doctest::Approx(950).epsilon(0.01));
}

TEST_CASE("probe estimator: too few packets or implausible timing give nothing") {
    ProbeBitrateEstimator e;
    for (int i = 0; i < 3; ++i) CHECK_FALSE(e.handle_probe_and_estimate_bitrate(probe_packet(3, i * 4000, i * 4000)));
    // Received more than twice as fast as sent: broken timing.
    ProbeBitrateEstimator e2;
    std::optional<DataRate> r;
    for (int i = 0; i < 6; ++i) r = e2.handle_probe_and_estimate_bitrate(probe_packet(4, i * 4000, 100000 + i * 1000));
    CHECK_FALSE(r);
    // Not a probe at all.
    PacketResult media = probe_packet(5, 0, 0);
    media.sent_packet.pacing_info = PacedPacketInfo{};
    CHECK_FALSE(e.handle_probe_and_estimate_bitrate(media));
}

TEST_CASE("probe controller: initial exponential probes at 3x and 6x, further probing while results keep up") {
    ProbeController pc;
    const Timestamp t0 = Timestamp::seconds(1);
    auto probes = pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(10), t0);
    REQUIRE(probes.size() == 2);
    CHECK(probes[0].target_data_rate == DataRate::kbps(900));
    CHECK(probes[1].target_data_rate == DataRate::kbps(1800));
    CHECK(probes[0].id != probes[1].id);
    CHECK(pc.state() == ProbeController::State::WaitingForProbingResult);
    // Result above 70% of the last probe: probe at twice it.
    auto more = pc.set_estimated_bitrate(DataRate::kbps(1700), t0 + TimeDelta::millis(300));
    REQUIRE(more.size() == 1);
    CHECK(more[0].target_data_rate == DataRate::kbps(3400));
    // A result under 70% ends it.
    CHECK(pc.set_estimated_bitrate(DataRate::kbps(2000), t0 + TimeDelta::millis(600)).empty());
    pc.process(t0 + TimeDelta::seconds(2));
    CHECK(pc.state() == ProbeController::State::ProbingComplete);
}

TEST_CASE("probe controller: probes capped at the maximum; probe on max increase and on allocation increase") {
    ProbeController::Config cfg;
    cfg.probe_on_capacity_unknown = false;
    ProbeController pc(cfg);
    const Timestamp t0 = Timestamp::seconds(1);
    auto probes = pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::kbps(1000), t0);
    REQUIRE(probes.size() == 2);
    CHECK(probes[1].target_data_rate == DataRate::kbps(1000));
    CHECK(pc.state() == ProbeController::State::ProbingComplete);
    pc.set_estimated_bitrate(DataRate::kbps(900), t0);
    auto up = pc.set_bitrates(DataRate::kbps(50), std::nullopt, DataRate::kbps(3000), t0 + TimeDelta::seconds(5));
    REQUIRE(up.size() == 1);
    CHECK(up[0].target_data_rate == DataRate::kbps(3000));
    auto alloc = pc.on_max_total_allocated_bitrate(DataRate::kbps(1200), t0 + TimeDelta::seconds(10));
    REQUIRE(alloc.size() == 2);
    CHECK(alloc[0].target_data_rate == DataRate::kbps(1200));
    CHECK(alloc[1].target_data_rate == DataRate::kbps(2400));
}

TEST_CASE("probe controller: probes on ALR exit and while the capacity is unknown") {
    ProbeController::Config cfg;
    cfg.probe_when_stable = false;
    ProbeController pc(cfg);
    const Timestamp t0 = Timestamp::seconds(1);
    pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(5), t0);
    pc.set_estimated_bitrate(DataRate::kbps(800), t0 + TimeDelta::millis(200));
    pc.set_capacity_known(true);
    CHECK(pc.process(t0 + TimeDelta::seconds(2)).empty());  // initial probing times out
    CHECK(pc.state() == ProbeController::State::ProbingComplete);
    CHECK(pc.process(t0 + TimeDelta::seconds(3)).empty());
    pc.set_alr_start_time(t0 + TimeDelta::seconds(3));
    auto exit = pc.on_alr_ended(t0 + TimeDelta::seconds(4));
    REQUIRE(exit.size() == 1);
    CHECK(exit[0].target_data_rate == DataRate::kbps(1600));
    pc.process(t0 + TimeDelta::seconds(6));
    pc.set_capacity_known(false);
    auto cap = pc.process(t0 + TimeDelta::seconds(7));
    REQUIRE(cap.size() == 1);
    CHECK(cap[0].target_data_rate == DataRate::kbps(1600));
    // Not again within the interval.
    pc.process(t0 + TimeDelta::millis(8500));
    CHECK(pc.process(t0 + TimeDelta::millis(8600)).empty());
}

TEST_CASE("GoogCcNetworkController: constraints give a target, pacing 2.5x and the initial probes") {
    GoogCcNetworkController::Config cfg;
    GoogCcNetworkController c(cfg);
    TargetRateConstraints tc;
    tc.at_time = Timestamp::seconds(1);
    tc.min_data_rate = DataRate::kbps(30);
    tc.max_data_rate = DataRate::mbps(3);
    tc.starting_rate = DataRate::kbps(300);
    auto u = c.on_target_rate_constraints(tc);
    REQUIRE(u.target_rate);
    CHECK(u.target_rate->target_rate == DataRate::kbps(300));
    REQUIRE(u.pacer_config);
    CHECK(u.pacer_config->pacing_rate == DataRate::kbps(750));
    REQUIRE(u.probe_cluster_configs.size() == 2);
    CHECK(u.probe_cluster_configs[0].target_data_rate == DataRate::kbps(900));
}

TEST_CASE("GoogCcNetworkController: REMB-only peer follows the receiver estimate") {
    GoogCcNetworkController::Config cfg;
    cfg.probing.probe_on_capacity_unknown = false;
    GoogCcNetworkController c(cfg);
    TargetRateConstraints tc;
    tc.at_time = Timestamp::seconds(1);
    tc.max_data_rate = DataRate::mbps(5);
    tc.starting_rate = DataRate::kbps(300);
    c.on_target_rate_constraints(tc);
    Timestamp now = Timestamp::seconds(1);
    auto u = c.on_remb(now, DataRate::kbps(200));
    REQUIRE(u.target_rate);
    CHECK(u.target_rate->target_rate == DataRate::kbps(200));
    // A higher REMB early in the call (no loss) is followed at once.
    c.on_remb(now, DataRate::kbps(1500));
    now += TimeDelta::millis(25);
    c.on_process_interval(now);
    CHECK(c.target_rate() == DataRate::kbps(1500));
    // Heavy loss from receiver reports cuts it.
    now += TimeDelta::seconds(3);
    c.on_process_interval(now);
    auto u3 = c.on_loss_report(now, 30, 100);
    REQUIRE(u3.target_rate);
    CHECK(u3.target_rate->target_rate < DataRate::kbps(1400));
}

TEST_CASE("probe controller: probes when the estimate has not decreased for a while") {
    ProbeController::Config cfg;
    cfg.probe_on_capacity_unknown = false;
    ProbeController pc(cfg);
    const Timestamp t0 = Timestamp::seconds(1);
    pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(5), t0);
    pc.set_estimated_bitrate(DataRate::kbps(1000), t0 + TimeDelta::millis(200));
    pc.set_last_decrease_time(t0 + TimeDelta::millis(1500));
    CHECK(pc.process(t0 + TimeDelta::seconds(2)).empty());  // initial probing times out
    CHECK(pc.process(t0 + TimeDelta::seconds(4)).empty());  // 2.5 s since the decrease: not yet
    auto p = pc.process(t0 + TimeDelta::millis(4600));
    REQUIRE(p.size() == 1);
    CHECK(p[0].target_data_rate == DataRate::kbps(2000));
    // In an application-limited region the rate says nothing about the capacity: no such probes.
    ProbeController pc2(cfg);
    pc2.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(5), t0);
    pc2.set_estimated_bitrate(DataRate::kbps(1000), t0);
    pc2.set_alr_start_time(t0);
    pc2.process(t0 + TimeDelta::seconds(2));
    CHECK(pc2.process(t0 + TimeDelta::seconds(10)).empty());
}

TEST_CASE("probe controller: the fairness switches hold the stable probe back (off by default)") {
    const Timestamp t0 = Timestamp::seconds(1);
    auto make = [&](const ProbeController::Config& cfg) {
        ProbeController pc(cfg);
        pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(5), t0);
        pc.set_estimated_bitrate(DataRate::kbps(1000), t0 + TimeDelta::millis(200));
        pc.set_last_decrease_time(t0 + TimeDelta::millis(1500));
        pc.process(t0 + TimeDelta::seconds(2));  // initial probing times out
        return pc;
    };
    ProbeController::Config cfg;
    cfg.probe_on_capacity_unknown = false;
    {
        // Defaults: the sawtooth period and the capacity estimate are ignored.
        auto pc = make(cfg);
        pc.set_expected_bandwidth_period(TimeDelta::seconds(10));
        pc.set_link_capacity(DataRate::kbps(2000));
        CHECK(pc.process(t0 + TimeDelta::millis(4600)).size() == 1);
    }
    {
        ProbeController::Config c = cfg;
        c.stable_after_expected_period = true;
        c.max_stable_time = TimeDelta::seconds(6);
        auto pc = make(c);
        pc.set_expected_bandwidth_period(TimeDelta::seconds(5));
        CHECK(pc.process(t0 + TimeDelta::millis(4600)).empty());  // 3.1 s since the decrease, period 5 s
        CHECK(pc.process(t0 + TimeDelta::millis(6600)).size() == 1);
    }
    {
        ProbeController::Config c = cfg;
        c.stable_probe_at_capacity = true;
        c.max_stable_time = TimeDelta::seconds(8);
        auto pc = make(c);
        pc.set_link_capacity(DataRate::kbps(1200));
        CHECK(pc.process(t0 + TimeDelta::millis(4600)).empty());  // 1000 kbps, last overuse at 1200
        pc.set_estimated_bitrate(DataRate::kbps(1250), t0 + TimeDelta::millis(4700));
        CHECK(pc.process(t0 + TimeDelta::millis(4800)).size() == 1);
        // Without ever getting there: probes max_stable_time after the decrease all the same.
        auto pc2 = make(c);
        pc2.set_link_capacity(DataRate::kbps(1200));
        CHECK(pc2.process(t0 + TimeDelta::millis(9000)).empty());
        CHECK(pc2.process(t0 + TimeDelta::millis(9600)).size() == 1);
    }
}

TEST_CASE("probe controller: stable probes, and the probes continuing them, last stable_probe_duration") {
    ProbeController::Config cfg;
    cfg.probe_on_capacity_unknown = false;
    cfg.stable_probe_duration = TimeDelta::millis(40);
    ProbeController pc(cfg);
    const Timestamp t0 = Timestamp::seconds(1);
    auto initial = pc.set_bitrates(DataRate::kbps(50), DataRate::kbps(300), DataRate::mbps(5), t0);
    REQUIRE_FALSE(initial.empty());
    CHECK(initial[0].target_duration == cfg.probe_duration);  // start-up probes keep the short cluster
    pc.set_estimated_bitrate(DataRate::kbps(1000), t0 + TimeDelta::millis(200));
    pc.set_last_decrease_time(t0 + TimeDelta::millis(1500));
    pc.process(t0 + TimeDelta::seconds(2));
    auto p = pc.process(t0 + TimeDelta::millis(4600));
    REQUIRE(p.size() == 1);
    CHECK(p[0].target_duration == TimeDelta::millis(40));
    // The result kept up with the probe: the next, doubled, probe is as long.
    auto further = pc.set_estimated_bitrate(DataRate::kbps(1900), t0 + TimeDelta::millis(4800));
    REQUIRE(further.size() == 1);
    CHECK(further[0].target_data_rate == DataRate::kbps(3800));
    CHECK(further[0].target_duration == TimeDelta::millis(40));
}
