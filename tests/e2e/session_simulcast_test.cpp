// Simulcast from one rtcpp Session to another over the simulated network: three VP8 layers (rids q, h, f, lowest
// first) negotiated with a=rid/a=simulcast, received and split by rid; keyframe requests and NACK/RTX per layer;
// the congestion target's allocation switching the top layer off on a narrow link and back on a wide one.
#include "session_peer.hpp"

#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

const std::vector<std::string> kRids = {"q", "h", "f"};

struct SimulcastPair : SessionPair {
    TransceiverId video = 0;

    explicit SimulcastPair(const sim::LinkConfig& link, bool raw = false, bool audio = false)
        : SessionPair(link, media_config(1), media_config(2, raw), 23) {
        if (audio) REQUIRE(a.session->add_transceiver(MediaKind::Audio, {.direction = RtpDirection::SendOnly}));
        auto v = a.session->add_transceiver(
            MediaKind::Video, {.direction = RtpDirection::SendOnly, .codecs = {"VP8"}, .send_rids = kRids});
        REQUIRE(v);
        video = *v;
        negotiate(a, b);
        REQUIRE(run_until([&] { return b.session->connection_state() == PeerConnectionState::Connected; }));
    }
    /// The extmap id of `uri` in a's offer.
    int ext_id(std::string_view uri) const {
        const std::string sdp = a.session->local_description()->sdp;
        const size_t at = sdp.find(uri);
        REQUIRE(at != std::string::npos);
        return std::stoi(sdp.substr(sdp.rfind("a=extmap:", at) + 9));
    }
};

/// A fake VP8 frame of layer `layer`: keyframe tag in byte 0, layer and frame number after it.
std::vector<uint8_t> frame(size_t layer, int n, bool key, size_t bytes = 0) {
    std::vector<uint8_t> f(bytes ? std::max<size_t>(bytes, 8) : 200 + 400 * layer * layer + static_cast<size_t>(n % 7) * 50);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>((n * 13 + static_cast<int>(i + layer)) & 0xFF);
    f[0] = key ? 0x10 : 0x11;
    f[1] = static_cast<uint8_t>(layer);
    f[2] = static_cast<uint8_t>(n & 0xFF);
    f[3] = static_cast<uint8_t>(n >> 8);
    return f;
}

int number_of(const std::vector<uint8_t>& f) { return f.size() < 4 ? -1 : f[2] | (f[3] << 8); }

std::string ext_text(const rtp::RtpPacketView& v, int id) {
    auto e = v.find_extension(static_cast<uint8_t>(id));
    return e ? std::string(e->begin(), e->end()) : std::string();
}

} // namespace

TEST_CASE("session simulcast: three layers to rtcpp, split by rid; a PLI for one layer asks for that rid only") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(20);
    SimulcastPair p(link);
    const std::string offer = p.a.session->local_description()->sdp;
    CHECK(offer.find("a=simulcast:send f;h;q") != std::string::npos); // highest first (RFC 8853 preference)
    CHECK(offer.find("a=rid:f send") != std::string::npos);
    CHECK(p.b.session->local_description()->sdp.find("a=simulcast:recv f;h;q") != std::string::npos);
    CHECK(p.a.session->transceiver_info(p.video)->send_rids == kRids); // the API's order: lowest first
    const auto info = p.a.session->transceiver_info(p.video);
    REQUIRE(info);
    CHECK(info->send_rids == kRids);
    CHECK(info->send_codec == "VP8");
    // The single-stream call is refused on a simulcast transceiver: which layer would it be?
    CHECK_FALSE(p.a.session->send_frame(p.video, frame(0, 0, true), 0));

    for (int i = 0; i < 90; ++i) {
        for (size_t l = 0; l < 3; ++l)
            REQUIRE(p.a.session->send_frame(p.video, kRids[l], frame(l, i, i == 0), static_cast<uint32_t>(i * 3000)));
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(1));

    const TransceiverId receiving = p.b.events_of<event::Track>().at(0).transceiver.id;
    std::map<std::string, std::vector<int>> got;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) {
        CHECK(f.transceiver == receiving);
        REQUIRE(f.data.size() > 4);
        const size_t layer = f.data[1];
        REQUIRE(layer < 3);
        CHECK(f.rid == kRids[layer]);                                // each layer under its own rid
        CHECK(f.data == frame(layer, number_of(f.data), f.keyframe)); // whole and intact
        got[f.rid].push_back(number_of(f.data));
    }
    for (const auto& rid : kRids) {
        MESSAGE("rid " << rid << ": " << got[rid].size() << " frames");
        CHECK(got[rid].size() == 90);
        CHECK(std::is_sorted(got[rid].begin(), got[rid].end()));
    }

    // W3C stats: an outbound-rtp per layer at the sender, an inbound-rtp per rid at the receiver, SSRCs matching.
    std::map<std::string, uint32_t> sent_ssrc, received_ssrc;
    for (const auto& o : p.a.session->get_stats(p.net.now()).objects)
        if (auto* out = std::get_if<OutboundRtpStats>(&o)) {
            sent_ssrc[out->rid] = out->ssrc;
            CHECK(out->frames_sent == 90);
            CHECK(out->mid == *info->mid);
        }
    for (const auto& o : p.b.session->get_stats(p.net.now()).objects)
        if (auto* in = std::get_if<InboundRtpStats>(&o)) {
            received_ssrc[in->rid] = in->ssrc;
            CHECK(in->frames_received == 90);
        }
    CHECK(sent_ssrc.size() == 3);
    CHECK(sent_ssrc == received_ssrc);
    CHECK(p.a.session->rtp_stats().at(0).frames_sent == 270);

    // A keyframe request for the middle layer reaches the sending application for "h" only.
    p.a.events.clear();
    CHECK_FALSE(p.b.session->request_keyframe(receiving, "x"));
    REQUIRE(p.b.session->request_keyframe(receiving, "h"));
    p.run_for(TimeDelta::millis(200));
    const auto reqs = p.a.events_of<event::KeyframeRequest>();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].transceiver == p.video);
    CHECK(reqs[0].rid == "h");
    // Asking for the whole transceiver asks every layer.
    p.a.events.clear();
    REQUIRE(p.b.session->request_keyframe(receiving));
    p.run_for(TimeDelta::millis(200));
    std::set<std::string> asked;
    for (const auto& r : p.a.events_of<event::KeyframeRequest>()) asked.insert(r.rid);
    CHECK(asked == std::set<std::string>{"q", "h", "f"});
}

TEST_CASE("session simulcast: 8% loss is repaired per layer by NACK and RTX with repaired-rid") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(25);
    SimulcastPair p(link, true);
    const int rid_id = p.ext_id("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    const int rrid_id = p.ext_id("urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id");
    sim::LinkConfig lossy = link;
    lossy.loss = 0.08;
    p.net.set_link(p.la, lossy);
    for (int i = 0; i < 150; ++i) {
        for (size_t l = 0; l < 3; ++l)
            REQUIRE(p.a.session->send_frame(p.video, kRids[l], frame(l, i, i == 0), static_cast<uint32_t>(i * 3000)));
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(2));

    std::map<std::string, std::vector<int>> got;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) got[f.rid].push_back(number_of(f.data));
    std::map<std::string, OutboundRtpStats> out;
    for (const auto& o : p.a.session->get_stats(p.net.now()).objects)
        if (auto* x = std::get_if<OutboundRtpStats>(&o)) out[x->rid] = *x;
    REQUIRE(out.size() == 3);
    for (const auto& rid : kRids) {
        MESSAGE("rid " << rid << ": " << got[rid].size() << " of 150 frames, " << out[rid].nack_count << " NACKs, "
                       << out[rid].retransmitted_packets_sent << " retransmitted of " << out[rid].packets_sent);
        CHECK(got[rid].size() >= 147);
        CHECK(std::is_sorted(got[rid].begin(), got[rid].end()));
        CHECK(out[rid].nack_count > 0);
        CHECK(out[rid].retransmitted_packets_sent > 0);
    }
    // On the wire: each layer's media SSRC carries its rid; retransmissions come on the layer's RTX SSRC, named by
    // repaired-rid (never rid), and that SSRC is the one the sender's stats give for the layer.
    std::map<uint32_t, std::set<std::string>> rid_on, rrid_on;
    for (const auto& e : p.b.events_of<event::RtpPacket>()) {
        const auto v = rtp::RtpPacketView::parse(e.packet);
        REQUIRE(v);
        if (auto r = ext_text(*v, rid_id); !r.empty()) rid_on[v->ssrc()].insert(r);
        if (auto r = ext_text(*v, rrid_id); !r.empty()) rrid_on[v->ssrc()].insert(r);
    }
    for (const auto& rid : kRids) {
        REQUIRE(out[rid].rtx_ssrc);
        CHECK(rid_on[out[rid].ssrc] == std::set<std::string>{rid});
        CHECK(rrid_on[*out[rid].rtx_ssrc] == std::set<std::string>{rid});
        CHECK(rid_on.count(*out[rid].rtx_ssrc) == 0);
    }
}

TEST_CASE("session simulcast: the allocator turns the top layer off on a narrow link and back on when it widens") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(25);
    SimulcastPair p(link, false, true);
    const TransceiverId audio = 1;
    REQUIRE(p.video == 2);

    // The application: one encoder per layer at the rate the allocation gives it (nothing while it is zero, a
    // keyframe when it starts again or when asked), Opus at 64 kbps.
    std::map<std::string, DataRate> rate;
    std::map<std::string, bool> need_key{{"q", true}, {"h", true}, {"f", true}};
    DataRate audio_rate = DataRate::zero();
    DataRate target = DataRate::zero();
    int tick = 0;
    std::vector<std::pair<int64_t, std::string>> top_changes; // (ms, "on"/"off") as the allocation said
    std::vector<std::pair<int64_t, int64_t>> trace;           // (s, target kbps)
    auto run_phase = [&](TimeDelta duration) {
        const int ticks = static_cast<int>(duration.ms() / 20);
        for (int k = 0; k < ticks; ++k, ++tick) {
            for (const auto& e : p.a.events) {
                if (auto* t = std::get_if<event::TargetBitrate>(&e)) {
                    target = t->target;
                    for (const auto& a : t->allocation) {
                        if (a.transceiver == audio) {
                            audio_rate = a.bitrate;
                            continue;
                        }
                        REQUIRE(a.transceiver == p.video);
                        const bool was_on = rate.count(a.rid) && !rate[a.rid].is_zero();
                        if (!was_on && !a.bitrate.is_zero()) need_key[a.rid] = true;
                        if (a.rid == "f" && was_on != !a.bitrate.is_zero())
                            top_changes.push_back({p.net.now().ms(), a.bitrate.is_zero() ? "off" : "on"});
                        rate[a.rid] = a.bitrate;
                    }
                }
                if (auto* r = std::get_if<event::KeyframeRequest>(&e); r && r->transceiver == p.video)
                    need_key[r->rid] = true;
            }
            p.a.events.clear();
            const auto ts = static_cast<uint32_t>(tick * 960);
            std::vector<uint8_t> opus(160, 0x33);
            opus[0] = 0x78;
            REQUIRE(p.a.session->send_frame(audio, opus, ts));
            if (tick % 2 == 0 && !rate.empty()) { // video at 25 fps
                for (size_t l = 0; l < 3; ++l) {
                    const DataRate r = rate[kRids[l]];
                    if (r.is_zero()) continue;
                    const bool key = need_key[kRids[l]];
                    need_key[kRids[l]] = false;
                    const auto bytes = static_cast<size_t>(r.bps() / 8 / 25);
                    REQUIRE(p.a.session->send_frame(p.video, kRids[l], frame(l, tick / 2, key, bytes),
                                                    static_cast<uint32_t>(tick * 1800)));
                }
            }
            p.run_for(TimeDelta::millis(20));
            if (tick % 50 == 0) trace.push_back({p.net.now().ms() / 1000, target.kbps()});
        }
    };
    // 1. A wide path: the target ramps up until all three layers are on.
    run_phase(TimeDelta::seconds(30));
    std::string line;
    for (const auto& [s, kbps] : trace) line += std::to_string(kbps) + " ";
    MESSAGE("wide: target kbps per second " << line);
    CHECK(audio_rate == DataRate::kbps(64)); // audio first, at its cap
    REQUIRE(!rate["f"].is_zero());
    // outbound-rtp targetBitrate: each stream's share, as the latest allocation told the application.
    std::map<std::string, DataRate> latest = rate;
    latest["audio"] = audio_rate;
    for (const auto& t : p.a.events_of<event::TargetBitrate>()) // not yet seen by the loop above
        for (const auto& a : t.allocation) latest[a.transceiver == audio ? "audio" : a.rid] = a.bitrate;
    for (const auto& o : p.a.session->get_stats(p.net.now()).objects)
        if (auto* out = std::get_if<OutboundRtpStats>(&o)) {
            REQUIRE(out->target_bitrate);
            CHECK(*out->target_bitrate == latest[out->kind == "audio" ? "audio" : out->rid]);
        }
    const auto frames_f = [&] {
        size_t n = 0;
        for (const auto& f : p.b.events_of<event::MediaFrame>()) n += f.rid == "f" ? 1 : 0;
        return n;
    };
    const size_t f_phase1 = frames_f();
    CHECK(f_phase1 > 0);

    // 2. The path narrows to 900 kbps: the target falls under what the top layer needs; it is switched off, the two
    //    lower layers keep going.
    sim::LinkConfig narrow = link;
    narrow.rate = DataRate::kbps(900);
    narrow.queue = DataSize::bytes(60 * 1500);
    p.net.set_link(p.la, narrow);
    const int64_t narrowed_ms = p.net.now().ms();
    trace.clear();
    run_phase(TimeDelta::seconds(20));
    line.clear();
    for (const auto& [s, kbps] : trace) line += std::to_string(kbps) + " ";
    MESSAGE("narrow: target kbps per second " << line);
    CHECK(rate["f"].is_zero());
    CHECK(!rate["q"].is_zero());
    CHECK(!rate["h"].is_zero());
    REQUIRE(!top_changes.empty());
    CHECK(top_changes.back().second == "off");
    CHECK(top_changes.back().first > narrowed_ms);
    const size_t f_after_off = frames_f();
    const size_t h_before = [&] {
        size_t n = 0;
        for (const auto& f : p.b.events_of<event::MediaFrame>()) n += f.rid == "h" ? 1 : 0;
        return n;
    }();
    run_phase(TimeDelta::seconds(3));
    CHECK(frames_f() == f_after_off); // nothing of the top layer while it is off...
    size_t h_after = 0;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) h_after += f.rid == "h" ? 1 : 0;
    CHECK(h_after >= h_before + 60); // ...the middle one keeps its 25 fps

    // 3. Wide again: the top layer comes back (starting with a keyframe) and reaches the receiver.
    p.net.set_link(p.la, link);
    const int64_t widened_ms = p.net.now().ms();
    trace.clear();
    run_phase(TimeDelta::seconds(30));
    line.clear();
    for (const auto& [s, kbps] : trace) line += std::to_string(kbps) + " ";
    MESSAGE("wide again: target kbps per second " << line);
    CHECK(!rate["f"].is_zero());
    CHECK(top_changes.back().second == "on");
    CHECK(top_changes.back().first > widened_ms);
    auto first_after = [&](int64_t ms, const std::string& what) {
        for (const auto& [at, w] : top_changes)
            if (at > ms && w == what) return at - ms;
        return int64_t{-1};
    };
    MESSAGE("top layer off " << first_after(narrowed_ms, "off") << " ms after the narrowing, on again "
                             << first_after(widened_ms, "on") << " ms after the widening; " << top_changes.size()
                             << " switches in all");
    CHECK(frames_f() > f_after_off + 100);
}
