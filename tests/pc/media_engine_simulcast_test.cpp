// Simulcast sending in the MediaEngine: one stream per negotiated rid (own SSRC, RTX SSRC, sequence numbers, mid and
// rid extensions), keyframe requests and NACKs routed to the layer they name, repaired-rid on RTX, and the
// congestion target split over the layers (allocation in the TargetBitrate event, bounds settable per encoding).
#include "pc/media_engine.hpp"
#include "pc/media_fixture.hpp"
#include "rtcp/rtcp_compound.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace rtcpp;
using namespace rtcpp::pc;

namespace {

constexpr std::string_view kRidUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr std::string_view kRridUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
constexpr std::string_view kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";

/// A sender engine with a three-layer VP8 simulcast transceiver (rids q, h, f lowest first; the SDP lists them
/// highest first, as Session::add_transceiver makes them) and the engine that receives it, negotiated by two
/// Negotiators as two Sessions would.
struct SimulcastPair {
    Random random{5};
    std::deque<SessionEvent> tx_events, rx_events;
    std::unique_ptr<MediaEngine> tx, rx;
    uint8_t rid_ext = 0, rrid_ext = 0, mid_ext = 0;

    explicit SimulcastPair(bool transport_cc = true) {
        sdp::Negotiator offerer(random, fixture_transport("offr", 0xAA));
        sdp::Negotiator answerer(random, fixture_transport("answ", 0xBB));
        sdp::TransceiverInit video;
        video.kind = sdp::MediaKind::Video;
        video.direction = sdp::Direction::SendOnly;
        video.send_encodings = {{"f", true}, {"h", true}, {"q", true}};
        if (!transport_cc)
            for (const auto& uri : sdp::default_config().video_extensions)
                if (uri.find("transport-wide-cc") == std::string::npos) video.header_extensions.push_back(uri);
        offerer.add_transceiver(video);
        auto offer = offerer.create_offer();
        REQUIRE(offer);
        auto answer = answerer.answer(*offer);
        REQUIRE(answer);
        auto applied = offerer.apply_answer(answer->description);
        REQUIRE(applied);
        REQUIRE(applied->media.size() == 1);
        CHECK(applied->media[0].send_rids == std::vector<std::string>{"f", "h", "q"});
        for (const auto& e : applied->media[0].extensions) {
            if (e.uri == kRidUri) rid_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kRridUri) rrid_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kMidUri) mid_ext = static_cast<uint8_t>(e.id);
        }
        tx = std::make_unique<MediaEngine>(random, tx_events, false);
        tx->configure(Timestamp::zero(), *applied, offerer.transceivers(), "sender");
        rx = std::make_unique<MediaEngine>(random, rx_events, false);
        rx->configure(Timestamp::zero(), answer->negotiated, answerer.transceivers(), "receiver");
    }

    /// What the sender's pacer lets out over the next `d` (everything queued, at these rates), delivered to the
    /// receiver unless `drop` says no; returns the RTP media packets (padding-only probe packets left out).
    std::vector<std::vector<uint8_t>> deliver(const std::function<bool(const rtp::RtpPacketView&)>& drop = {},
                                              TimeDelta d = TimeDelta::millis(300)) {
        std::vector<std::vector<uint8_t>> rtp;
        for (const Timestamp end = now + d; now < end; now += TimeDelta::millis(5)) {
            tx->handle_timeout(now);
            while (auto p = tx->poll_packet()) {
                if (p->rtcp) {
                    rx->handle_rtcp(now, p->bytes);
                    continue;
                }
                auto view = rtp::RtpPacketView::parse(p->bytes);
                REQUIRE(view);
                if (view->payload().empty()) continue;
                rtp.push_back(p->bytes);
                if (!drop || !drop(*view)) rx->handle_rtp(now, p->bytes);
            }
        }
        return rtp;
    }

    void send_layers(int frames, const std::vector<std::string>& rids = {"q", "h", "f"}) {
        for (int i = 0; i < frames; ++i) {
            for (size_t l = 0; l < rids.size(); ++l) {
                // Bigger layers, bigger frames: the top one spans several packets.
                std::vector<uint8_t> f(static_cast<size_t>(300 * (l + 1) * (l + 1)), static_cast<uint8_t>(l));
                f[0] = counter_ == 0 ? 0x10 : 0x11; // VP8: a keyframe first
                f[1] = static_cast<uint8_t>(counter_);
                REQUIRE(tx->send_frame(now, 0, rids[l], f, static_cast<uint32_t>(3000 * counter_)));
            }
            ++counter_;
            tx->handle_timeout(now);
            now += TimeDelta::millis(33);
        }
    }

    /// The receiver's jitter buffer releases frames at their render time: let it run (its own output is dropped).
    void settle(TimeDelta d = TimeDelta::seconds(1)) {
        for (Timestamp end = now + d; now < end; now += TimeDelta::millis(10)) {
            rx->handle_timeout(now);
            while (rx->poll_packet()) {
            }
        }
    }

    std::string text(const rtp::RtpPacketView& v, uint8_t id) const {
        auto e = v.find_extension(id);
        return e ? std::string(e->begin(), e->end()) : std::string();
    }

    Timestamp now = Timestamp::millis(1000);
    int counter_ = 0;
};

std::map<std::string, int> frames_by_rid(const std::deque<SessionEvent>& events) {
    std::map<std::string, int> n;
    for (const auto& e : events)
        if (auto* f = std::get_if<event::MediaFrame>(&e)) ++n[f->rid];
    return n;
}

std::optional<event::TargetBitrate> last_target(const std::deque<SessionEvent>& events) {
    std::optional<event::TargetBitrate> r;
    for (const auto& e : events)
        if (auto* t = std::get_if<event::TargetBitrate>(&e)) r = *t;
    return r;
}

DataRate rate_of(const event::TargetBitrate& t, const std::string& rid) {
    for (const auto& a : t.allocation)
        if (a.rid == rid) return a.bitrate;
    FAIL("no allocation for rid " << rid);
    return DataRate::zero();
}

std::vector<uint8_t> rtcp_bytes(rtcp::RtcpPacket p) {
    const std::vector<rtcp::RtcpPacket> packets{std::move(p)};
    return rtcp::build_rtcp_compound(packets);
}

} // namespace

TEST_CASE("media engine simulcast: one stream per rid, each packet with mid and rid; the receiver splits them") {
    SimulcastPair p;
    REQUIRE(p.rid_ext != 0);
    CHECK(p.tx->send_rids(0) == std::vector<std::string>{"q", "h", "f"});
    REQUIRE(p.tx->send_info(0));
    CHECK(p.tx->send_info(0)->codec == "VP8");
    // Without a rid the call is refused: which layer would it be?
    const std::vector<uint8_t> frame(100, 0x10);
    CHECK_FALSE(p.tx->send_frame(p.now, 0, frame, 0));
    CHECK_FALSE(p.tx->send_frame(p.now, 0, "x", frame, 0));

    std::vector<std::vector<uint8_t>> packets;
    for (int i = 0; i < 10; ++i) {
        p.send_layers(1);
        for (auto& b : p.deliver()) packets.push_back(std::move(b));
    }
    p.settle();
    std::map<uint32_t, std::set<std::string>> rids_by_ssrc;
    std::map<uint32_t, std::vector<uint16_t>> seqs;
    for (const auto& b : packets) {
        auto v = rtp::RtpPacketView::parse(b);
        CHECK(p.text(*v, p.mid_ext) == "0");
        rids_by_ssrc[v->ssrc()].insert(p.text(*v, p.rid_ext));
        seqs[v->ssrc()].push_back(v->sequence_number());
    }
    REQUIRE(rids_by_ssrc.size() == 3); // three SSRCs, one rid each
    std::set<std::string> all;
    for (const auto& [ssrc, rids] : rids_by_ssrc) {
        CHECK(rids.size() == 1);
        all.insert(*rids.begin());
    }
    CHECK(all == std::set<std::string>{"q", "h", "f"});
    for (const auto& [ssrc, s] : seqs) // each layer numbers its own packets consecutively
        for (size_t i = 1; i < s.size(); ++i) CHECK(static_cast<uint16_t>(s[i] - s[i - 1]) == 1);

    const auto n = frames_by_rid(p.rx_events);
    CHECK(n.at("q") == 10);
    CHECK(n.at("h") == 10);
    CHECK(n.at("f") == 10);

    // Per-layer statistics, summed for the transceiver.
    const auto stats = p.tx->stats();
    REQUIRE(stats.size() == 1);
    CHECK(stats[0].frames_sent == 30);
    CHECK(stats[0].packets_sent == packets.size());
    StatsReport report;
    p.tx->collect_stats(p.now, "T", report);
    std::set<std::string> outbound_rids;
    std::set<uint32_t> outbound_ssrcs;
    for (const auto& o : report.objects)
        if (auto* out = std::get_if<OutboundRtpStats>(&o)) {
            outbound_rids.insert(out->rid);
            outbound_ssrcs.insert(out->ssrc);
            CHECK(out->frames_sent == 10);
            CHECK(out->rtx_ssrc);
        }
    CHECK(outbound_rids == std::set<std::string>{"q", "h", "f"});
    CHECK(outbound_ssrcs.size() == 3);
}

TEST_CASE("media engine simulcast: a PLI or FIR for one layer asks the application for that rid's keyframe only") {
    SimulcastPair p;
    p.send_layers(3);
    std::map<std::string, uint32_t> ssrc_of;
    for (const auto& b : p.deliver()) {
        auto v = rtp::RtpPacketView::parse(b);
        ssrc_of[p.text(*v, p.rid_ext)] = v->ssrc();
    }
    REQUIRE(ssrc_of.size() == 3);
    p.tx_events.clear();
    p.tx->handle_rtcp(p.now, rtcp_bytes(rtcp::Pli{0x1234, ssrc_of["h"]}));
    std::vector<event::KeyframeRequest> reqs;
    for (const auto& e : p.tx_events)
        if (auto* k = std::get_if<event::KeyframeRequest>(&e)) reqs.push_back(*k);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].transceiver == 1);
    CHECK(reqs[0].rid == "h");

    rtcp::Fir fir;
    fir.sender_ssrc = 0x1234;
    fir.entries.push_back({ssrc_of["f"], 1});
    p.tx_events.clear();
    p.tx->handle_rtcp(p.now, rtcp_bytes(fir));
    reqs.clear();
    for (const auto& e : p.tx_events)
        if (auto* k = std::get_if<event::KeyframeRequest>(&e)) reqs.push_back(*k);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].rid == "f");
    // Counted on that layer's outbound-rtp only.
    StatsReport report;
    p.tx->collect_stats(p.now, "T", report);
    for (const auto& o : report.objects)
        if (auto* out = std::get_if<OutboundRtpStats>(&o)) {
            CHECK(out->pli_count == (out->rid == "h" ? 1u : 0u));
            CHECK(out->fir_count == (out->rid == "f" ? 1u : 0u));
        }
}

TEST_CASE("media engine simulcast: a NACK for one layer is answered on its RTX SSRC with repaired-rid") {
    SimulcastPair p;
    REQUIRE(p.rrid_ext != 0);
    for (int i = 0; i < 3; ++i) {
        p.send_layers(1);
        p.deliver();
    }
    p.settle();
    // The next frame of layer h: its first packet is lost.
    p.send_layers(1, {"h"});
    std::optional<uint16_t> lost;
    uint32_t h_ssrc = 0;
    std::set<uint32_t> media_ssrcs;
    p.deliver([&](const rtp::RtpPacketView& v) {
        h_ssrc = v.ssrc();
        if (lost) return false;
        lost = v.sequence_number();
        return true;
    });
    REQUIRE(lost);
    p.settle(TimeDelta::millis(50));
    CHECK(frames_by_rid(p.rx_events).at("h") == 3); // the frame waits for its lost packet

    rtcp::Nack nack;
    nack.sender_ssrc = 0x1234;
    nack.media_ssrc = h_ssrc;
    nack.sequence_numbers = {*lost};
    p.tx->handle_rtcp(p.now, rtcp_bytes(nack));
    std::optional<std::vector<uint8_t>> re;
    for (int i = 0; i < 40 && !re; ++i, p.now += TimeDelta::millis(5)) { // through the pacer
        p.tx->handle_timeout(p.now);
        while (auto out = p.tx->poll_packet())
            if (auto v = rtp::RtpPacketView::parse(out->bytes); !out->rtcp && v && !v->payload().empty()) re = out->bytes;
    }
    REQUIRE(re);
    auto v = rtp::RtpPacketView::parse(*re);
    REQUIRE(v);
    CHECK(v->ssrc() != h_ssrc);                       // the layer's RTX stream
    CHECK(p.text(*v, p.rrid_ext) == "h");             // named by repaired-rid
    CHECK_FALSE(v->find_extension(p.rid_ext));        // not as a layer of its own
    CHECK(p.text(*v, p.mid_ext) == "0");
    p.rx->handle_rtp(p.now, *re);
    p.settle();
    CHECK(frames_by_rid(p.rx_events).at("h") == 4);  // repaired
    CHECK(p.tx->stats()[0].retransmitted_packets_sent == 1);
    CHECK(p.tx->stats()[0].nacks_received == 1);
}

TEST_CASE("media engine simulcast: the congestion target is split over the layers, lowest first") {
    // Without transport-cc the receiver's REMB is the target: a way to set it exactly.
    SimulcastPair p(false);
    p.send_layers(3);
    std::map<std::string, uint32_t> ssrc_of;
    for (const auto& b : p.deliver()) {
        auto v = rtp::RtpPacketView::parse(b);
        ssrc_of[p.text(*v, p.rid_ext)] = v->ssrc();
    }
    auto set_remb = [&](int kbps) {
        rtcp::Remb remb;
        remb.sender_ssrc = 0x1234;
        remb.bitrate = DataRate::kbps(kbps);
        remb.ssrcs = {ssrc_of["q"]};
        p.now += TimeDelta::millis(500);
        p.tx->handle_rtcp(p.now, rtcp_bytes(remb));
        p.tx->handle_timeout(p.now);
        auto t = last_target(p.tx_events);
        REQUIRE(t);
        REQUIRE(t->allocation.size() == 3);
        return *t;
    };
    auto t = set_remb(3000);
    CHECK(t.target == DataRate::kbps(3000));
    CHECK(rate_of(t, "q") == DataRate::kbps(150));
    CHECK(rate_of(t, "h") == DataRate::kbps(500));
    CHECK(rate_of(t, "f") == DataRate::kbps(2350));
    CHECK(t.allocation[0].transceiver == 1);

    t = set_remb(1000); // 150 + 500 + 600 > 1000: the top layer is off, the middle one takes up to its max
    CHECK(rate_of(t, "q") == DataRate::kbps(150));
    CHECK(rate_of(t, "h") == DataRate::kbps(700));
    CHECK(rate_of(t, "f").is_zero());
    StatsReport report;
    p.tx->collect_stats(p.now, "T", report);
    for (const auto& o : report.objects)
        if (auto* out = std::get_if<OutboundRtpStats>(&o); out && out->rid == "h")
            CHECK(out->target_bitrate == DataRate::kbps(700));

    t = set_remb(200);
    CHECK(rate_of(t, "q") == DataRate::kbps(200));
    CHECK(rate_of(t, "h").is_zero());

    t = set_remb(1500); // back: 1500 - 650 >= 600 * 1.15
    CHECK(rate_of(t, "f") == DataRate::kbps(850));

    // Bounds per encoding: a cheaper top layer fits at 1000 kbps; the change is announced at once.
    t = set_remb(1000);
    REQUIRE(rate_of(t, "f").is_zero());
    const size_t before = p.tx_events.size();
    p.tx->set_send_encoding(0, SendEncodingParameters{"f", DataRate::kbps(200), DataRate::kbps(1200), true});
    REQUIRE(p.tx_events.size() == before + 1);
    t = *last_target(p.tx_events);
    CHECK(rate_of(t, "f") == DataRate::kbps(350));
    // An inactive layer is allocated nothing, and the one below becomes the top.
    p.tx->set_send_encoding(0, SendEncodingParameters{"f", {}, {}, false});
    t = *last_target(p.tx_events);
    CHECK(rate_of(t, "f").is_zero());
    CHECK(rate_of(t, "h") == DataRate::kbps(700));
}

TEST_CASE("media engine simulcast: an answer without a=simulcast (a peer that cannot receive it) gets one stream") {
    // Chromium answers a simulcast offer that way: the sender falls back to the transceiver's single SSRC.
    Random random{9};
    std::deque<SessionEvent> events;
    sdp::Negotiator offerer(random, fixture_transport("offr", 0xAA));
    sdp::Negotiator answerer(random, fixture_transport("answ", 0xBB));
    sdp::TransceiverInit video;
    video.kind = sdp::MediaKind::Video;
    video.direction = sdp::Direction::SendOnly;
    video.send_encodings = {{"f", true}, {"h", true}, {"q", true}};
    offerer.add_transceiver(video);
    auto offer = offerer.create_offer();
    REQUIRE(offer);
    auto answer = answerer.answer(*offer);
    REQUIRE(answer);
    REQUIRE(answer->description.media.size() == 1);
    REQUIRE(answer->description.media[0].simulcast);
    answer->description.media[0].simulcast.reset();
    answer->description.media[0].rids.clear();
    auto applied = offerer.apply_answer(answer->description);
    REQUIRE(applied);
    CHECK(applied->media[0].send_rids.empty());
    MediaEngine tx(random, events, false);
    tx.configure(Timestamp::zero(), *applied, offerer.transceivers(), "sender");
    CHECK(tx.send_rids(0).empty());
    REQUIRE(tx.send_info(0));
    std::vector<uint8_t> frame(500, 0x10);
    CHECK_FALSE(tx.send_frame(Timestamp::millis(10), 0, "f", frame, 0)); // no layers: the app sends one stream
    REQUIRE(tx.send_frame(Timestamp::millis(10), 0, frame, 0));
    std::set<uint32_t> ssrcs;
    for (Timestamp t = Timestamp::millis(10); t < Timestamp::millis(200); t += TimeDelta::millis(5)) {
        tx.handle_timeout(t);
        while (auto p = tx.poll_packet()) // media only (probing may add padding on the RTX stream)
            if (auto v = rtp::RtpPacketView::parse(p->bytes); !p->rtcp && v && !v->payload().empty())
                ssrcs.insert(v->ssrc());
    }
    CHECK(ssrcs == std::set<uint32_t>{offerer.transceivers()[0].ssrc});
}
