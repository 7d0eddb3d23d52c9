#include "rtcp/receive_statistics.hpp"
#include "rtcp/report_scheduler.hpp"
#include "rtcp/sender_statistics.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace rtcpp;
using namespace rtcpp::rtcp;

TEST_CASE("Receive statistics: extended highest sequence across a wrap, loss and fraction lost") {
    StreamReceiveStatistics s(0x1234, 90000);
    Timestamp t = Timestamp::seconds(10);
    // 65530..65535, 0..9 with 3 and 5 missing: 16 expected, 14 received.
    uint16_t seq = 65530;
    for (int i = 0; i < 16; ++i, ++seq) {
        if (seq == 3 || seq == 5) continue;
        s.handle_packet(t, seq, 1000u * i, 100);
    }
    CHECK(s.extended_highest_sequence() == 65536u + 9);
    CHECK(s.cumulative_lost() == 2);
    CHECK(s.packets_received() == 14);
    CHECK(s.bytes_received() == 1400);
    auto b = s.make_report_block(t);
    REQUIRE(b);
    CHECK(b->source_ssrc == 0x1234u);
    CHECK(b->extended_highest_sequence == 65545u);
    CHECK(b->cumulative_lost == 2);
    CHECK(b->fraction_lost == (2 * 256) / 16);
    CHECK(b->last_sr == 0);
    CHECK(b->delay_since_last_sr == 0);

    // Next interval: 10 more, none lost, plus a late arrival of 3 (recovered): fraction 0, cumulative 1.
    for (int i = 0; i < 10; ++i, ++seq) s.handle_packet(t, seq, 0, 100);
    s.handle_packet(t, 3, 0, 100);
    b = s.make_report_block(t);
    REQUIRE(b);
    CHECK(b->fraction_lost == 0);
    CHECK(b->cumulative_lost == 1);
    // Duplicates push the cumulative count negative, as RFC 3550 allows.
    s.handle_packet(t, 3, 0, 100);
    s.handle_packet(t, 3, 0, 100);
    CHECK(s.cumulative_lost() == -1);
}

TEST_CASE("Receive statistics: a big sequence jump is accepted once confirmed") {
    StreamReceiveStatistics s(1, 8000);
    const Timestamp t = Timestamp::seconds(1);
    for (uint16_t q = 100; q < 110; ++q) s.handle_packet(t, q, 0, 10);
    s.handle_packet(t, 40000, 0, 10);  // a stray: ignored
    CHECK(s.extended_highest_sequence() == 109);
    CHECK(s.packets_received() == 10);
    s.handle_packet(t, 110, 0, 10);
    CHECK(s.extended_highest_sequence() == 110);
    s.handle_packet(t, 30000, 0, 10);
    s.handle_packet(t, 30001, 0, 10);  // confirmed: the sender restarted
    CHECK(s.extended_highest_sequence() == 30001);
    CHECK(s.cumulative_lost() == 0);
}

TEST_CASE("Receive statistics: jitter follows RFC 3550 A.8") {
    // 8 kHz audio, 20 ms packets (160 ticks). Arrivals alternate 0 and +2 ms late: |D| = 16 ticks each time
    // after the first. J converges to 16 from below: J_n = 16 * (1 - (15/16)^(n-1)).
    StreamReceiveStatistics s(1, 8000);
    const int n = 200;
    for (int i = 0; i < n; ++i) {
        const Timestamp arrival = Timestamp::millis(1000 + 20 * i + (i % 2 ? 2 : 0));
        s.handle_packet(arrival, static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), 160);
    }
    CHECK(s.jitter() >= 14);
    CHECK(s.jitter() <= 16);
    CHECK(s.jitter_time() >= TimeDelta::micros(1750));
    // Perfectly paced packets: no jitter.
    StreamReceiveStatistics p(2, 90000);
    for (int i = 0; i < 100; ++i) {
        p.handle_packet(Timestamp::millis(5000 + 33 * i), static_cast<uint16_t>(i), static_cast<uint32_t>(2970 * i), 1000);
    }
    CHECK(p.jitter() == 0);
    // Ten steps of 10 ms jitter on a 90 kHz clock: J = 900 * (1 - (15/16)^10) ≈ 429.
    StreamReceiveStatistics q(3, 90000);
    for (int i = 0; i <= 10; ++i) {
        q.handle_packet(Timestamp::millis(1000 + 40 * i + (i % 2 ? 10 : 0)), static_cast<uint16_t>(i),
                        static_cast<uint32_t>(3600 * i), 1000);
    }
    const double expect = 900.0 * (1 - std::pow(15.0 / 16.0, 10));
    CHECK(std::abs(static_cast<double>(q.jitter()) - expect) <= 2.0);
}

TEST_CASE("LSR/DLSR in report blocks give the sender its RTT") {
    const uint32_t ssrc = 0xabc;
    SenderStatistics sender(ssrc, 90000);
    StreamReceiveStatistics receiver(ssrc, 90000);
    Timestamp t = Timestamp::seconds(100);
    sender.handle_packet_sent(t, 9000, 1000);
    receiver.handle_packet(t + TimeDelta::millis(20), 1, 9000, 1012);
    // Sender sends an SR at t; it arrives after 30 ms (one way), the receiver reports 200 ms later, and the
    // report takes 50 ms back: RTT 80 ms.
    const auto sr = sender.make_sender_report(t);
    receiver.handle_sender_report(t + TimeDelta::millis(30), sr);
    auto rb = receiver.make_report_block(t + TimeDelta::millis(230));
    REQUIRE(rb);
    CHECK(rb->last_sr == sr.ntp.compact());
    CHECK(std::abs(from_compact_ntp(rb->delay_since_last_sr).us() - 200000) <= 15);
    auto rtt = sender.handle_report_block(t + TimeDelta::millis(280), *rb);
    REQUIRE(rtt);
    CHECK(std::abs(rtt->us() - 80000) <= 50);  // compact NTP resolution is 15 µs
    CHECK(sender.last_rtt() == rtt);
    CHECK(sender.min_rtt() == rtt);
    // A block without LSR carries no RTT; one about another SSRC is ignored.
    ReportBlock none = *rb;
    none.last_sr = 0;
    CHECK(!sender.handle_report_block(t, none));
    ReportBlock other = *rb;
    other.source_ssrc = 1;
    CHECK(!sender.handle_report_block(t, other));
}

TEST_CASE("Sender reports carry counts and an RTP timestamp extrapolated to the SR time") {
    SenderStatistics s(7, 48000, TimeDelta::seconds(2208988800LL));
    Timestamp t = Timestamp::seconds(1);
    for (int i = 0; i < 50; ++i) s.handle_packet_sent(t + TimeDelta::millis(20 * i), 960u * i, 100);
    const auto sr = s.make_sender_report(t + TimeDelta::millis(20 * 49 + 10));
    CHECK(sr.sender_ssrc == 7);
    CHECK(sr.packet_count == 50);
    CHECK(sr.octet_count == 5000);
    CHECK(sr.rtp_timestamp == 960u * 49 + 480);
    // NTP seconds include the offset; 0.99 s fraction.
    CHECK((sr.ntp.value >> 32) == 2208988801ULL);
    CHECK(std::abs(static_cast<double>(sr.ntp.value & 0xFFFFFFFFu) / 4294967296.0 - 0.99) < 1e-6);
}

TEST_CASE("XR RRTR/DLRR give a receive-only endpoint its RTT") {
    XrRttTracker receiver(0x1111);
    XrRttTracker sender(0x2222);
    const Timestamp t = Timestamp::seconds(50);
    const auto rrtr = receiver.make_rrtr(t);
    REQUIRE(rrtr.rrtr);
    CHECK(!sender.handle_extended_reports(t + TimeDelta::millis(40), rrtr));
    ExtendedReports answer;
    answer.sender_ssrc = 0x2222;
    answer.dlrr = sender.take_dlrr(t + TimeDelta::millis(140));
    REQUIRE(answer.dlrr.size() == 1);
    CHECK(answer.dlrr[0].ssrc == 0x1111u);
    CHECK(sender.take_dlrr(t).empty());  // answered once
    const auto rtt = receiver.handle_extended_reports(t + TimeDelta::millis(200), answer);
    REQUIRE(rtt);
    CHECK(std::abs(rtt->us() - 100000) <= 50);
    CHECK(receiver.last_rtt() == rtt);
}

TEST_CASE("RTT from compact NTP clamps clock noise to zero") {
    CHECK(rtt_from_compact(100, 200, 0) == TimeDelta::zero());
    CHECK(!rtt_from_compact(100, 0, 0));
    CHECK(rtt_from_compact(0x30000, 0x10000, 0x10000) == TimeDelta::seconds(1));
}

TEST_CASE("Report interval: RFC 3550 deterministic interval and minimums") {
    ReportIntervalParams p;
    p.session_bandwidth = DataRate::kbps(64);
    p.members = 2;
    p.senders = 1;
    p.average_rtcp_size = DataSize::bytes(100);
    // 5% of 64 kbps = 400 B/s shared by 2: 0.5 s, below the 5 s minimum.
    CHECK(deterministic_report_interval(p) == TimeDelta::seconds(5));
    p.initial = true;
    CHECK(deterministic_report_interval(p) == TimeDelta::millis(2500));
    p.initial = false;
    // Many receivers: 1000 members, 1 sender who is us: senders share 25% among themselves.
    p.members = 1000;
    p.we_sent = true;
    CHECK(deterministic_report_interval(p) == TimeDelta::seconds(5));
    p.we_sent = false;
    // Receivers: 75% of 400 B/s = 300 B/s among 999: 100 * 999 / 300 = 333 s.
    CHECK(deterministic_report_interval(p) == TimeDelta::seconds_f(333.0));
    // Reduced minimum: 360 / 2000 kbps = 0.18 s.
    ReportIntervalParams w;
    w.session_bandwidth = DataRate::kbps(2000);
    w.reduced_minimum = true;
    w.average_rtcp_size = DataSize::bytes(100);
    // 5% of 2 Mbps = 12500 B/s; 2 members: 16 ms < 180 ms minimum.
    CHECK(deterministic_report_interval(w) == TimeDelta::millis(180));
}

TEST_CASE("Report interval randomisation stays in [0.5, 1.5] * Td / (e - 3/2) and averages in the middle") {
    ReportIntervalParams p;
    p.session_bandwidth = DataRate::kbps(64);
    Random rng(42);
    const double td = deterministic_report_interval(p).seconds_f();
    double sum = 0;
    double lo = 1e9, hi = 0;
    const int n = 10000;
    for (int i = 0; i < n; ++i) {
        const double t = report_interval(p, rng).seconds_f();
        sum += t;
        lo = std::min(lo, t);
        hi = std::max(hi, t);
    }
    const double c = 2.71828 - 1.5;
    CHECK(lo >= 0.5 * td / c - 1e-6);
    CHECK(hi <= 1.5 * td / c + 1e-6);
    CHECK(std::abs(sum / n - td / c) < 0.02 * td / c);
    CHECK(hi - lo > 0.9 * td / c);  // actually spread out
}

TEST_CASE("ReportScheduler is driven by time: first report early, then by the interval") {
    ReportIntervalParams p;
    p.session_bandwidth = DataRate::kbps(300);
    p.minimum = TimeDelta::seconds(1);
    ReportScheduler s(p);
    Random rng(7);
    const Timestamp t0 = Timestamp::seconds(3);
    CHECK(!s.handle_timeout(t0 + TimeDelta::seconds(100)));  // not started
    s.start(t0, rng);
    const Timestamp first = s.poll_timeout();
    CHECK(first > t0);
    CHECK(first - t0 <= TimeDelta::seconds_f(0.5 * 1.5 / (2.71828 - 1.5)) + TimeDelta::micros(1));
    CHECK(!s.handle_timeout(first - TimeDelta::micros(1)));
    CHECK(s.handle_timeout(first));
    s.handle_report_sent(first, DataSize::bytes(260), rng);
    CHECK(s.average_rtcp_size() == DataSize::bytes((260 + 15 * 100) / 16));
    const Timestamp second = s.poll_timeout();
    CHECK(second - first >= TimeDelta::seconds_f(0.5 / (2.71828 - 1.5)) - TimeDelta::micros(1));
    CHECK(second - first <= TimeDelta::seconds_f(1.5 / (2.71828 - 1.5)) + TimeDelta::micros(1));
    // Same seed, same schedule.
    ReportScheduler again(p);
    Random rng2(7);
    again.start(t0, rng2);
    CHECK(again.poll_timeout() == first);
}

TEST_CASE("ReceiveStatistics keeps one stream per SSRC and feeds SRs to the right one") {
    ReceiveStatistics rs;
    rs.stream(1, 90000).handle_packet(Timestamp::seconds(1), 10, 0, 100);
    rs.stream(2, 48000).handle_packet(Timestamp::seconds(1), 20, 0, 100);
    rs.stream(3, 48000);  // no packets yet: no block
    SenderReport sr;
    sr.sender_ssrc = 2;
    sr.ntp = NtpTime{0x0000123456780000ULL};
    rs.handle_sender_report(Timestamp::seconds(2), sr);
    const auto blocks = rs.make_report_blocks(Timestamp::seconds(3));
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0].source_ssrc == 1);
    CHECK(blocks[0].last_sr == 0);
    CHECK(blocks[1].source_ssrc == 2);
    CHECK(blocks[1].last_sr == 0x12345678u);
    CHECK(blocks[1].delay_since_last_sr == 0x10000u);
    CHECK(rs.make_report_blocks(Timestamp::seconds(3), 1).size() == 1);
}

TEST_CASE("Retransmitted and reordered packets count as received but leave jitter alone") {
    StreamReceiveStatistics s(1, 90000);
    for (int i = 0; i < 20; ++i) {
        s.handle_packet(Timestamp::millis(1000 + 33 * i), static_cast<uint16_t>(100 + i), static_cast<uint32_t>(2970 * i),
                        500);
    }
    CHECK(s.jitter() == 0);
    // A retransmission of 105 arriving 400 ms late, and a late original of 90 (before the first: not counted
    // as a new highest).
    s.handle_packet(Timestamp::millis(1000 + 33 * 19 + 400), 105, 2970 * 5, 500, true);
    s.handle_packet(Timestamp::millis(1000 + 33 * 19 + 500), 99, 0, 500);
    CHECK(s.jitter() == 0);
    CHECK(s.extended_highest_sequence() == 119);
    CHECK(s.packets_received() == 22);
    CHECK(s.cumulative_lost() == -2);
}
