// The send side's congestion target obeys a REMB cap from the receiver: SFUs (Janus's echotest and videoroom
// {"bitrate": N}, among others) limit a publisher that way, next to transport-cc feedback.
#include "pc/media_engine.hpp"
#include "pc/media_fixture.hpp"
#include "rtcp/rtcp_compound.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::pc;

namespace {

/// A MediaEngine that sends VP8 (transport-cc and goog-remb negotiated, as with Janus) on transceiver 0.
struct Sender {
    Vp8EnginePair pair;
    std::unique_ptr<MediaEngine>& engine;
    std::deque<SessionEvent>& events;
    uint32_t ssrc = 0;

    /// `transport_cc`: false negotiates goog-remb alone (the extension left out of the offer).
    explicit Sender(bool transport_cc = true)
        : pair({.transport_cc = transport_cc}), engine(pair.tx), events(pair.tx_events) {
        REQUIRE(pair.ok);
    }

    /// Sends a few VP8 frames and learns our SSRC from the packets.
    void send_frames(Timestamp from, int n) {
        for (int i = 0; i < n; ++i) {
            const Timestamp now = from + TimeDelta::millis(33 * i);
            std::vector<uint8_t> frame(1000, 0x42);
            frame[0] = 0x10; // a VP8 keyframe tag
            REQUIRE(engine->send_frame(now, 0, frame, static_cast<uint32_t>(3000 * i)));
            engine->handle_timeout(now);
            while (auto p = engine->poll_packet())
                if (!p->rtcp && p->bytes.size() >= 12)
                    ssrc = static_cast<uint32_t>(p->bytes[8]) << 24 | static_cast<uint32_t>(p->bytes[9]) << 16 |
                           static_cast<uint32_t>(p->bytes[10]) << 8 | p->bytes[11];
        }
    }

    std::optional<DataRate> last_target_event() const {
        std::optional<DataRate> r;
        for (const auto& e : events)
            if (auto* t = std::get_if<event::TargetBitrate>(&e)) r = t->target;
        return r;
    }
};

std::vector<uint8_t> remb(uint32_t media_ssrc, DataRate rate) {
    rtcp::Remb r;
    r.sender_ssrc = 0x1234;
    r.bitrate = rate;
    r.ssrcs = {media_ssrc};
    const std::vector<rtcp::RtcpPacket> packets{r};
    return rtcp::build_rtcp_compound(packets);
}

} // namespace

TEST_CASE("media engine: a REMB from the receiver caps the congestion target") {
    Sender s;
    s.send_frames(Timestamp::zero(), 10);
    REQUIRE(s.ssrc != 0);
    const auto start = s.engine->target_rate();
    REQUIRE(start);
    REQUIRE(*start > DataRate::kbps(150)); // GCC's start rate is well above the cap below

    s.engine->handle_rtcp(Timestamp::millis(400), remb(s.ssrc, DataRate::kbps(100)));
    s.engine->handle_timeout(Timestamp::millis(400));
    const auto capped = s.engine->target_rate();
    REQUIRE(capped);
    MESSAGE("start " << start->kbps() << " kbps, after REMB 100 kbps: " << capped->kbps() << " kbps");
    CHECK(*capped <= DataRate::kbps(100));
    const auto event = s.last_target_event();
    REQUIRE(event);
    CHECK(*event <= DataRate::kbps(100)); // the application (its encoder) hears about it

    // The cap stays while more frames go out.
    s.send_frames(Timestamp::millis(500), 30);
    CHECK(*s.engine->target_rate() <= DataRate::kbps(100));
}

TEST_CASE("media engine: a malformed REMB is dropped without touching the target") {
    Sender s;
    s.send_frames(Timestamp::zero(), 5);
    const auto before = s.engine->target_rate();
    REQUIRE(before);
    auto bytes = remb(s.ssrc, DataRate::kbps(50));
    // PSFB fmt 15 whose body is not "REMB": the identifier broken.
    bytes[12] = 'X';
    s.engine->handle_rtcp(Timestamp::millis(200), bytes);
    CHECK(s.engine->target_rate() == before);
}

TEST_CASE("media engine: a peer with goog-remb but no transport-cc still sets the target, by REMB") {
    Sender s(false);
    s.send_frames(Timestamp::zero(), 10);
    REQUIRE(s.ssrc != 0);
    REQUIRE(s.engine->target_rate());  // a controller runs without transport-wide feedback
    s.engine->handle_rtcp(Timestamp::millis(400), remb(s.ssrc, DataRate::kbps(700)));
    s.engine->handle_timeout(Timestamp::millis(400));
    REQUIRE(s.engine->target_rate());
    CHECK(*s.engine->target_rate() == DataRate::kbps(700));
    s.engine->handle_rtcp(Timestamp::millis(1400), remb(s.ssrc, DataRate::kbps(250)));
    s.engine->handle_timeout(Timestamp::millis(1400));
    CHECK(*s.engine->target_rate() <= DataRate::kbps(250));
    const auto event = s.last_target_event();
    REQUIRE(event);
    CHECK(*event <= DataRate::kbps(250));
}

TEST_CASE("media engines without transport-cc: the receiver's REMB (from abs-send-time) sets the sender's target") {
    // Sender and receiver negotiated goog-remb and abs-send-time, no transport-cc. The sender's encoder follows
    // the target; its packets cross a 1 Mbps FIFO bottleneck (20 ms base delay); the receiver's RTCP comes back.
    Vp8EnginePair pair({.transport_cc = false});
    REQUIRE(pair.ok);
    MediaEngine& tx = *pair.tx;
    MediaEngine& rx = *pair.rx;

    const DataRate capacity = DataRate::kbps(1000);
    std::deque<std::pair<Timestamp, std::vector<uint8_t>>> to_rx, to_tx;
    Timestamp link_free = Timestamp::zero();
    size_t rembs = 0;
    std::vector<DataRate> late_targets;
    for (int frame = 0; frame < 30 * 25; ++frame) {
        const Timestamp now = Timestamp::millis(frame * 100 / 3);
        // Deliver what has arrived by now, both ways.
        while (!to_rx.empty() && to_rx.front().first <= now) {
            rx.handle_rtp(to_rx.front().first, to_rx.front().second);
            to_rx.pop_front();
        }
        while (!to_tx.empty() && to_tx.front().first <= now) {
            ByteView b = to_tx.front().second;
            if (b.size() > 1 && b[1] == 206 && (b[0] & 0x1F) == 15) ++rembs;  // PSFB AFB: REMB
            tx.handle_rtcp(to_tx.front().first, b);
            to_tx.pop_front();
        }
        rx.handle_timeout(now);
        tx.handle_timeout(now);
        const DataRate target = tx.target_rate().value_or(DataRate::kbps(300));
        if (frame >= 30 * 20) late_targets.push_back(target);
        std::vector<uint8_t> payload(static_cast<size_t>(std::max<int64_t>(200, target.bps() / 8 / 30)), 0x42);
        payload[0] = frame % 90 == 0 ? 0x10 : 0x11;
        REQUIRE(tx.send_frame(now, 0, payload, static_cast<uint32_t>(frame * 3000)));
        while (auto p = tx.poll_packet()) {
            if (p->rtcp) continue;
            const TimeDelta service = TimeDelta::micros(static_cast<int64_t>(p->bytes.size() + 44) * 8 * 1000000 / capacity.bps());
            link_free = std::max(link_free, now) + service;
            to_rx.emplace_back(link_free + TimeDelta::millis(20), std::move(p->bytes));
        }
        while (auto p = rx.poll_packet())
            if (p->rtcp) to_tx.emplace_back(now + TimeDelta::millis(20), std::move(p->bytes));
    }
    std::sort(late_targets.begin(), late_targets.end());
    const DataRate median = late_targets[late_targets.size() / 2];
    MESSAGE(rembs << " REMBs; target over the last 5 s: median " << median.kbps() << " kbps (min "
                  << late_targets.front().kbps() << ", max " << late_targets.back().kbps() << ")");
    CHECK(rembs >= 15);
    CHECK(median >= DataRate::kbps(600));   // found most of the path...
    CHECK(median <= DataRate::kbps(1150));  // ...without living above it
}
