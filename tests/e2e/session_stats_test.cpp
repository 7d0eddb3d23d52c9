// W3C stats (Session::get_stats) between two Sessions over the simulated network: what one side counts as sent the
// other counts as received or lost, RTT from RTCP report blocks and from ICE matches the simulated link, every id
// a stats object refers to exists, and the JSON form parses and carries the typed values.
#include "json_value.hpp"
#include "session_peer.hpp"

#include <rtcpp/stats.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <set>

using namespace rtcpp;
using namespace rtcpp::test;

namespace {

struct Pair : SessionPair {
    explicit Pair(const sim::LinkConfig& link) : SessionPair(link, media_config(1), media_config(2), 23) {}
};

std::vector<uint8_t> opus_frame(int n) {
    std::vector<uint8_t> f(60 + n % 40, static_cast<uint8_t>(n));
    f[0] = 0x78;
    return f;
}

template <class T>
const T* by_ssrc(const StatsReport& r, uint32_t ssrc) {
    for (const T* s : r.all<T>())
        if (s->ssrc == ssrc) return s;
    return nullptr;
}

/// Ids are unique, and every id an object names is an object of the expected type in the same report.
void check_references(const StatsReport& r) {
    std::set<std::string> ids;
    for (const auto& o : r.objects) {
        CHECK_MESSAGE(ids.insert(stats_base(o).id).second, "duplicate id " << stats_base(o).id);
        CHECK(stats_base(o).timestamp == r.timestamp);
    }
    auto transport = [&](const std::string& id) { CHECK_MESSAGE(r.get<TransportStats>(id), "transport " << id); };
    auto codec = [&](const std::string& id) { CHECK_MESSAGE(r.get<CodecStats>(id), "codec " << id); };
    CHECK(r.get<PeerConnectionStats>("P"));
    for (const auto* t : r.all<TransportStats>())
        if (t->selected_candidate_pair_id) CHECK(r.get<CandidatePairStats>(*t->selected_candidate_pair_id));
    for (const auto* c : r.all<CodecStats>()) transport(c->transport_id);
    for (const auto* c : r.all<LocalCandidateStats>()) transport(c->transport_id);
    for (const auto* c : r.all<RemoteCandidateStats>()) transport(c->transport_id);
    for (const auto* p : r.all<CandidatePairStats>()) {
        transport(p->transport_id);
        CHECK(r.get<LocalCandidateStats>(p->local_candidate_id));
        CHECK(r.get<RemoteCandidateStats>(p->remote_candidate_id));
    }
    for (const auto* s : r.all<InboundRtpStats>()) {
        transport(s->transport_id);
        codec(s->codec_id);
        if (!s->remote_id.empty()) {
            const auto* ro = r.get<RemoteOutboundRtpStats>(s->remote_id);
            REQUIRE(ro);
            CHECK(ro->local_id == s->id);
            CHECK(ro->ssrc == s->ssrc);
        }
    }
    for (const auto* s : r.all<OutboundRtpStats>()) {
        transport(s->transport_id);
        codec(s->codec_id);
        if (!s->remote_id.empty()) {
            const auto* ri = r.get<RemoteInboundRtpStats>(s->remote_id);
            REQUIRE(ri);
            CHECK(ri->local_id == s->id);
            CHECK(ri->ssrc == s->ssrc);
        }
    }
    for (const auto* s : r.all<RemoteInboundRtpStats>()) CHECK(r.get<OutboundRtpStats>(s->local_id));
    for (const auto* s : r.all<RemoteOutboundRtpStats>()) CHECK(r.get<InboundRtpStats>(s->local_id));
}

double num(const JsonValue& o, std::string_view key) {
    const JsonValue* v = o.get(key);
    REQUIRE_MESSAGE(v, "missing " << key);
    REQUIRE(v->type == JsonValue::Type::Number);
    return v->number;
}
std::string str(const JsonValue& o, std::string_view key) {
    const JsonValue* v = o.get(key);
    REQUIRE_MESSAGE(v, "missing " << key);
    REQUIRE(v->type == JsonValue::Type::String);
    return v->string;
}
bool close_to(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

/// to_json() parses, has one member per object keyed by id, and carries the typed values in W3C units.
void check_json(const StatsReport& r) {
    const std::string json = r.to_json();
    const auto v = JsonReader::parse(json);
    REQUIRE_MESSAGE(v, "not JSON: " << json);
    REQUIRE(v->is_object());
    CHECK(v->keys.size() == r.objects.size());
    CHECK(std::set<std::string>(v->keys.begin(), v->keys.end()).size() == v->keys.size());
    for (const auto& o : r.objects) {
        const StatsBase& base = stats_base(o);
        const JsonValue* j = v->get(base.id);
        REQUIRE(j);
        CHECK(str(*j, "id") == base.id);
        CHECK(str(*j, "type") == stats_type(o));
        CHECK(close_to(num(*j, "timestamp"), static_cast<double>(base.timestamp.us()) / 1e3));
        if (const auto* s = std::get_if<InboundRtpStats>(&o)) {
            CHECK(num(*j, "ssrc") == s->ssrc);
            CHECK(str(*j, "kind") == s->kind);
            CHECK(str(*j, "codecId") == s->codec_id);
            CHECK(num(*j, "packetsReceived") == static_cast<double>(s->packets_received));
            CHECK(num(*j, "packetsLost") == static_cast<double>(s->packets_lost));
            CHECK(close_to(num(*j, "jitter"), s->jitter.seconds_f()));
            CHECK(num(*j, "bytesReceived") == static_cast<double>(s->bytes_received));
            CHECK(num(*j, "headerBytesReceived") == static_cast<double>(s->header_bytes_received));
            CHECK(num(*j, "nackCount") == s->nack_count);
            if (s->kind == "video") CHECK(num(*j, "framesReceived") == *s->frames_received);
            else CHECK(j->get("framesReceived") == nullptr);
        } else if (const auto* s = std::get_if<OutboundRtpStats>(&o)) {
            CHECK(num(*j, "packetsSent") == static_cast<double>(s->packets_sent));
            CHECK(num(*j, "bytesSent") == static_cast<double>(s->bytes_sent));
            CHECK(num(*j, "retransmittedPacketsSent") == static_cast<double>(s->retransmitted_packets_sent));
            CHECK(str(*j, "mid") == s->mid);
            CHECK(j->get("active")->type == JsonValue::Type::Bool);
        } else if (const auto* s = std::get_if<RemoteInboundRtpStats>(&o)) {
            REQUIRE(s->round_trip_time);
            CHECK(close_to(num(*j, "roundTripTime"), s->round_trip_time->seconds_f()));
            CHECK(close_to(num(*j, "fractionLost"), s->fraction_lost));
            CHECK(str(*j, "localId") == s->local_id);
        } else if (const auto* s = std::get_if<CandidatePairStats>(&o)) {
            CHECK(str(*j, "state") == s->state);
            CHECK(j->get("nominated")->boolean == s->nominated);
            if (s->available_outgoing_bitrate)
                CHECK(num(*j, "availableOutgoingBitrate") == static_cast<double>(s->available_outgoing_bitrate->bps()));
            if (s->current_round_trip_time)
                CHECK(close_to(num(*j, "currentRoundTripTime"), s->current_round_trip_time->seconds_f()));
        } else if (const auto* s = std::get_if<CodecStats>(&o)) {
            CHECK(str(*j, "mimeType") == s->mime_type);
            CHECK(num(*j, "clockRate") == s->clock_rate);
            CHECK(num(*j, "payloadType") == s->payload_type);
            if (s->channels) CHECK(num(*j, "channels") == *s->channels);
            else CHECK(j->get("channels") == nullptr);
        } else if (const auto* s = std::get_if<TransportStats>(&o)) {
            CHECK(str(*j, "dtlsState") == s->dtls_state);
            if (s->selected_candidate_pair_id) CHECK(str(*j, "selectedCandidatePairId") == *s->selected_candidate_pair_id);
        } else if (const auto* s = std::get_if<DataChannelStats>(&o)) {
            CHECK(str(*j, "label") == s->label);
            CHECK(num(*j, "messagesSent") == s->messages_sent);
            CHECK(num(*j, "bytesReceived") == static_cast<double>(s->bytes_received));
        }
    }
}

std::string mime_of(const StatsReport& r, const std::string& codec_id) {
    const auto* c = r.get<CodecStats>(codec_id);
    return c ? c->mime_type : std::string("?");
}

/// What `sender` sent on each outbound stream, `receiver` received or counted lost, and the report blocks that came
/// back say the same; without loss the counts match exactly.
void check_direction(const StatsReport& sender, const StatsReport& receiver, int video_frames) {
    const auto outs = sender.all<OutboundRtpStats>();
    REQUIRE(outs.size() == 2);
    for (const auto* o : outs) {
        INFO("outbound " << o->id);
        const auto* in = by_ssrc<InboundRtpStats>(receiver, o->ssrc);
        REQUIRE(in);
        CHECK(in->kind == o->kind);
        CHECK(in->mid == o->mid);
        CHECK(mime_of(sender, o->codec_id) == mime_of(receiver, in->codec_id));
        CHECK(o->packets_sent > 0);
        CHECK(o->packets_sent == in->packets_received + static_cast<uint64_t>(in->packets_lost));
        CHECK(in->packets_lost == 0);
        CHECK(o->bytes_sent == in->bytes_received);
        CHECK(o->header_bytes_sent == in->header_bytes_received);
        CHECK(o->header_bytes_sent >= 12 * o->packets_sent);
        CHECK(o->retransmitted_packets_sent == 0);
        // The link adds no jitter, but the send pattern does: two 20 ms audio frames leave together every 33 ms,
        // so transit differences alternate between 20 and 13 ms (RFC 3550 A.8 converges near their mean); a video
        // frame every 33 ms carries 33.3 ms of timestamps.
        if (o->kind == "audio") {
            CHECK(in->jitter.us() >= 15'000);
            CHECK(in->jitter.us() <= 18'000);
        } else {
            CHECK(in->jitter.us() < 1'000);
        }
        REQUIRE(in->last_packet_received_timestamp);
        CHECK(*in->last_packet_received_timestamp <= receiver.timestamp);
        if (o->kind == "video") {
            CHECK(o->frames_sent == static_cast<uint32_t>(video_frames));
            CHECK(in->frames_received == static_cast<uint32_t>(video_frames));
            CHECK(o->pli_count == 0);
            CHECK(in->pli_count == 0);
        } else {
            CHECK_FALSE(o->frames_sent);
        }
        // The receiver's RR/SR report blocks: RTT from LSR/DLSR over a 2 x 20 ms path, no loss.
        const auto* ri = sender.get<RemoteInboundRtpStats>(o->remote_id);
        REQUIRE(ri);
        REQUIRE(ri->round_trip_time);
        MESSAGE(o->kind << " RTT from RTCP " << ri->round_trip_time->us() << " us, " << ri->round_trip_time_measurements
                        << " measurements");
        CHECK(ri->round_trip_time->ms() >= 38);
        CHECK(ri->round_trip_time->ms() <= 50);
        CHECK(ri->round_trip_time_measurements >= 2);
        CHECK(ri->total_round_trip_time >= *ri->round_trip_time);
        CHECK(ri->total_round_trip_time.us() <= 50'000 * static_cast<int64_t>(ri->round_trip_time_measurements));
        CHECK(ri->packets_lost == 0);
        CHECK(ri->fraction_lost == 0);
        // The sender's SRs as the receiver saw them.
        const auto* ro = receiver.get<RemoteOutboundRtpStats>(in->remote_id);
        REQUIRE(ro);
        CHECK(ro->reports_sent >= 2);
        CHECK(ro->packets_sent > 0);
        CHECK(ro->packets_sent <= o->packets_sent);
        CHECK(ro->bytes_sent <= o->bytes_sent);
    }
}

/// The transport is up and names its selected pair, whose ICE RTT is the link's (`rtt_ms` +0/-2 ms).
void check_transport(const StatsReport& r, std::string_view local_ip, std::string_view remote_ip, int64_t rtt_ms,
                     bool media) {
    const auto ts = r.all<TransportStats>();
    REQUIRE(ts.size() == 1);
    const TransportStats& t = *ts[0];
    CHECK(t.id == "T01");
    CHECK(t.dtls_state == "connected");
    CHECK((t.ice_state == "connected" || t.ice_state == "completed"));
    CHECK(t.tls_version == "FEFD");
    REQUIRE(t.dtls_cipher);
    CHECK(t.dtls_cipher->rfind("TLS_ECDHE_", 0) == 0);
    if (media) {
        REQUIRE(t.srtp_cipher);
        CHECK((*t.srtp_cipher == "AEAD_AES_128_GCM" || *t.srtp_cipher == "AES_CM_128_HMAC_SHA1_80"));
    }
    CHECK(t.selected_candidate_pair_changes >= 1);
    CHECK(t.packets_sent > 0);
    CHECK(t.bytes_received > 0);
    REQUIRE(t.ice_local_username_fragment);
    REQUIRE(t.selected_candidate_pair_id);
    const auto* pair = r.get<CandidatePairStats>(*t.selected_candidate_pair_id);
    REQUIRE(pair);
    CHECK(pair->state == "succeeded");
    CHECK(pair->nominated);
    CHECK(pair->bytes_sent > 0);
    CHECK(pair->bytes_received > 0);
    CHECK(pair->responses_received > 0);
    REQUIRE(pair->current_round_trip_time);
    CHECK(pair->current_round_trip_time->ms() >= rtt_ms - 2);
    CHECK(pair->current_round_trip_time->ms() <= rtt_ms + 10);
    const auto* local = r.get<LocalCandidateStats>(pair->local_candidate_id);
    const auto* remote = r.get<RemoteCandidateStats>(pair->remote_candidate_id);
    REQUIRE(local);
    REQUIRE(remote);
    CHECK(local->address == local_ip);
    CHECK(local->port == 5000);
    CHECK(local->protocol == "udp");
    CHECK(local->candidate_type == "host");
    CHECK(local->username_fragment == t.ice_local_username_fragment);
    CHECK(remote->address == remote_ip);
    CHECK(remote->port == 5000);
}

} // namespace

TEST_CASE("stats: audio and video both ways: sent = received + lost, RTT from RTCP and ICE near the link's") {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(20);
    Pair p(link);
    const auto a_audio = p.a.session->add_transceiver(MediaKind::Audio);
    const auto a_video = p.a.session->add_transceiver(MediaKind::Video);
    const auto b_audio = p.b.session->add_transceiver(MediaKind::Audio);
    const auto b_video = p.b.session->add_transceiver(MediaKind::Video);
    REQUIRE((a_audio && a_video && b_audio && b_video));

    // Before any negotiation: a report with the peer-connection and a transport that has not started.
    const StatsReport early = p.a.session->get_stats(p.net.now());
    CHECK(early.get<PeerConnectionStats>("P"));
    REQUIRE(early.get<TransportStats>("T01"));
    CHECK(early.get<TransportStats>("T01")->dtls_state == "new");
    CHECK(early.all<InboundRtpStats>().empty());
    check_references(early);
    check_json(early);

    REQUIRE(p.connect());
    REQUIRE(p.a.session->transceiver_info(*a_video)->send_codec == "VP8");
    REQUIRE(p.b.session->transceiver_info(*b_video)->send_codec == "VP8");
    const int frames = 90; // 3 s at 30 fps, and 50 audio frames a second
    for (int i = 0; i < frames; ++i) {
        for (auto* peer : {&p.a, &p.b}) {
            const bool is_a = peer == &p.a;
            REQUIRE(peer->session->send_frame(is_a ? *a_video : *b_video, vp8_frame(i, i == 0),
                                              static_cast<uint32_t>(i * 3000)));
            for (int k = 0; k < 2; ++k) {
                const int n = i * 2 + k;
                (void)peer->session->send_frame(is_a ? *a_audio : *b_audio, opus_frame(n), static_cast<uint32_t>(n * 960));
            }
        }
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(3)); // reports (every 0.5 to 1.5 s) after the last packet

    const StatsReport ra = p.a.session->get_stats(p.net.now());
    const StatsReport rb = p.b.session->get_stats(p.net.now());
    CHECK(ra.timestamp == p.net.now());
    check_references(ra);
    check_references(rb);
    check_json(ra);
    check_json(rb);
    check_direction(ra, rb, frames);
    check_direction(rb, ra, frames);
    check_transport(ra, "10.0.0.1", "10.0.0.2", 40, true);
    check_transport(rb, "10.0.0.2", "10.0.0.1", 40, true);
    // One side is the DTLS client, the other the server; one controls ICE.
    const auto* ta = ra.get<TransportStats>("T01");
    const auto* tb = rb.get<TransportStats>("T01");
    REQUIRE((ta && tb && ta->dtls_role && tb->dtls_role && ta->ice_role && tb->ice_role));
    CHECK(*ta->dtls_role != *tb->dtls_role);
    CHECK(*ta->ice_role != *tb->ice_role);
    CHECK(*ta->ice_role == "controlling"); // the offerer
    // Congestion control runs (transport-cc is negotiated by default): its target is the pair's outgoing bitrate.
    const auto* pair = ra.get<CandidatePairStats>(*ta->selected_candidate_pair_id);
    REQUIRE(pair->available_outgoing_bitrate);
    CHECK(pair->available_outgoing_bitrate->bps() > 0);
    CHECK(pair->available_outgoing_bitrate == p.a.session->stats().available_outgoing_bitrate);

    // Codecs: only what the streams use, with their SDP parameters.
    const auto codecs = ra.all<CodecStats>();
    CHECK(codecs.size() == 2); // the same payload types both ways (both sides use rtcpp's defaults)
    for (const auto* c : codecs) {
        if (c->mime_type == "audio/opus") {
            CHECK(c->clock_rate == 48000);
            CHECK(c->channels == 2u);
            CHECK(c->sdp_fmtp_line.find("useinbandfec=1") != std::string::npos);
        } else {
            CHECK(c->mime_type == "video/VP8");
            CHECK(c->clock_rate == 90000);
            CHECK_FALSE(c->channels);
        }
    }
    // The existing condensed counters agree with the W3C ones.
    for (const auto& rs : p.a.session->rtp_stats()) {
        const auto info = p.a.session->transceiver_info(rs.transceiver);
        REQUIRE(info);
        const auto* o = by_ssrc<OutboundRtpStats>(ra, info->ssrc);
        REQUIRE(o);
        CHECK(o->packets_sent == rs.packets_sent + rs.retransmitted_packets_sent);
    }
    // A later report: the same ids, counters that only grow.
    p.run_for(TimeDelta::seconds(1));
    const StatsReport ra2 = p.a.session->get_stats(p.net.now());
    CHECK(ra2.objects.size() == ra.objects.size());
    for (const auto& o : ra.objects) CHECK(ra2.find(stats_base(o).id));
    const auto* pair2 = ra2.get<CandidatePairStats>(pair->id);
    REQUIRE(pair2);
    CHECK(pair2->bytes_sent >= pair->bytes_sent);
    CHECK(pair2->requests_sent + pair2->consent_requests_sent >= pair->requests_sent + pair->consent_requests_sent);
}

namespace {

/// Audio and video from a to b over a link that loses `loss` of a's packets in the middle of the call.
void lossy_call(int64_t delay_ms, double loss) {
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(delay_ms);
    Pair p(link);
    const auto audio = p.a.session->add_transceiver(MediaKind::Audio, {.direction = RtpDirection::SendOnly});
    const auto video = p.a.session->add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly});
    REQUIRE((audio && video));
    REQUIRE(p.connect());
    // Lossless for the first and last second: each stream's first and last packet arrive, so the receiver's
    // "expected" is exactly what was sent.
    const int frames = 150;
    for (int i = 0; i < frames; ++i) {
        if (i == 30) {
            sim::LinkConfig lossy = link;
            lossy.loss = loss;
            p.net.set_link(p.la, lossy);
        }
        if (i == frames - 30) p.net.set_link(p.la, link);
        REQUIRE(p.a.session->send_frame(*video, vp8_frame(i, i == 0), static_cast<uint32_t>(i * 3000)));
        for (int k = 0; k < 2; ++k) (void)p.a.session->send_frame(*audio, opus_frame(i * 2 + k), static_cast<uint32_t>((i * 2 + k) * 960));
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(3));
    const StatsReport ra = p.a.session->get_stats(p.net.now());
    const StatsReport rb = p.b.session->get_stats(p.net.now());
    check_references(ra);
    check_references(rb);
    check_json(ra);
    check_json(rb);
    CHECK(rb.all<OutboundRtpStats>().empty());
    CHECK(ra.all<InboundRtpStats>().empty());

    const auto* ov = by_ssrc<OutboundRtpStats>(ra, p.a.session->transceiver_info(*video)->ssrc);
    const auto* oa = by_ssrc<OutboundRtpStats>(ra, p.a.session->transceiver_info(*audio)->ssrc);
    REQUIRE((ov && oa));
    const auto* iv = by_ssrc<InboundRtpStats>(rb, ov->ssrc);
    const auto* ia = by_ssrc<InboundRtpStats>(rb, oa->ssrc);
    REQUIRE((iv && ia));
    const RtpStats sent_v = p.a.session->rtp_stats().at(*video - 1);
    const RtpStats recv_v = p.b.session->rtp_stats().at(*video - 1);
    MESSAGE("video: sent " << ov->packets_sent << " (" << ov->retransmitted_packets_sent << " retransmitted, "
                           << ov->nack_count << " NACKs), received " << iv->packets_received << " ("
                           << iv->retransmitted_packets_received << " repaired), lost " << iv->packets_lost
                           << "; audio: sent " << oa->packets_sent << ", received " << ia->packets_received
                           << ", lost " << ia->packets_lost << "; FEC sent " << sent_v.fec_packets_sent << ", rebuilt " << recv_v.fec_packets_recovered);

    // Audio is not repaired: sent = received + lost, with some lost, and the RR said the same.
    CHECK(oa->packets_sent == ia->packets_received + static_cast<uint64_t>(ia->packets_lost));
    CHECK(ia->packets_lost > 0);
    CHECK(ia->retransmitted_packets_received == 0);
    const auto* ria = ra.get<RemoteInboundRtpStats>(oa->remote_id);
    REQUIRE(ria);
    CHECK(ria->packets_lost == ia->packets_lost);

    // Video: NACKed and retransmitted over RTX. What the receiver expected (received + lost: retransmissions fill
    // the gaps) is the originals the sender sent.
    REQUIRE(ov->rtx_ssrc);
    CHECK(iv->rtx_ssrc == ov->rtx_ssrc);
    CHECK(ov->retransmitted_packets_sent > 0);
    CHECK(ov->retransmitted_bytes_sent > 0);
    CHECK(ov->nack_count > 0);
    CHECK(iv->nack_count > 0);
    CHECK(iv->nack_count >= ov->nack_count); // NACKs are lost on the way too, never invented
    CHECK(iv->retransmitted_packets_received > 0);
    CHECK(iv->retransmitted_bytes_received > 0);
    // Holes are repaired by RTX or rebuilt from FEC (on once the reports show loss). A rebuilt packet counts as
    // neither received nor retransmitted: the reports keep it lost, so the sender's FEC sizing sees the path's loss.
    CHECK(iv->retransmitted_packets_received <= ov->retransmitted_packets_sent);
    CHECK(ov->packets_sent - ov->retransmitted_packets_sent ==
          iv->packets_received + static_cast<uint64_t>(iv->packets_lost));
    // Every hole repaired: what is lost was rebuilt (duplicates make it lower, as RFC 3550 counts).
    CHECK(iv->packets_lost <= static_cast<int64_t>(recv_v.fec_packets_recovered));
    CHECK(iv->frames_received >= static_cast<uint32_t>(frames - 2));
    CHECK(ov->frames_sent == static_cast<uint32_t>(frames));
}

} // namespace

TEST_CASE("stats: 5% loss, 50 ms RTT: NACK, RTX and loss counted on both sides, and they add up") {
    lossy_call(25, 0.05);
}

TEST_CASE("stats: data channels count messages and bytes both ways; the peer-connection counts opens and closes") {
    Pair p({});
    DataChannelInit init;
    init.protocol = "text";
    const auto ch = p.a.session->create_data_channel("chat", init);
    REQUIRE(ch);
    REQUIRE(p.connect());
    REQUIRE(p.run_until([&] { return p.a.has<event::ChannelOpen>() && p.b.has<event::DataChannel>(); }));
    const ChannelId remote = p.b.events_of<event::DataChannel>().at(0).info.channel;
    uint64_t a_bytes = 0, b_bytes = 0;
    for (int i = 0; i < 5; ++i) {
        const std::string text = "message \"" + std::to_string(i) + "\"\n";
        REQUIRE(p.a.session->send_text(*ch, text));
        a_bytes += text.size();
    }
    for (int i = 0; i < 3; ++i) {
        const std::vector<uint8_t> data(100 + static_cast<size_t>(i), 0xAB);
        REQUIRE(p.b.session->send(remote, data));
        b_bytes += data.size();
    }
    REQUIRE(p.run_until([&] {
        return p.a.events_of<event::ChannelMessage>().size() == 3 && p.b.events_of<event::ChannelMessage>().size() == 5;
    }));
    const StatsReport ra = p.a.session->get_stats(p.net.now());
    const StatsReport rb = p.b.session->get_stats(p.net.now());
    check_references(ra);
    check_json(ra);
    check_json(rb);
    const auto da = ra.all<DataChannelStats>();
    const auto db = rb.all<DataChannelStats>();
    REQUIRE(da.size() == 1);
    REQUIRE(db.size() == 1);
    CHECK(da[0]->label == "chat");
    CHECK(db[0]->label == "chat");
    CHECK(da[0]->protocol == "text");
    CHECK(db[0]->protocol == "text");
    CHECK(da[0]->state == "open");
    REQUIRE(da[0]->data_channel_identifier);
    CHECK(da[0]->data_channel_identifier == db[0]->data_channel_identifier);
    CHECK(da[0]->messages_sent == 5);
    CHECK(da[0]->bytes_sent == a_bytes);
    CHECK(db[0]->messages_received == 5);
    CHECK(db[0]->bytes_received == a_bytes);
    CHECK(db[0]->messages_sent == 3);
    CHECK(db[0]->bytes_sent == b_bytes);
    CHECK(da[0]->messages_received == 3);
    CHECK(da[0]->bytes_received == b_bytes);
    CHECK(ra.get<PeerConnectionStats>("P")->data_channels_opened == 1);
    CHECK(ra.get<PeerConnectionStats>("P")->data_channels_closed == 0);
    CHECK(rb.get<PeerConnectionStats>("P")->data_channels_opened == 1);
    // Data only: no RTP streams and no codecs; ICE and DTLS as with media.
    CHECK(ra.all<CodecStats>().empty());
    CHECK(ra.all<OutboundRtpStats>().empty());
    check_transport(ra, "10.0.0.1", "10.0.0.2", 0, false);

    REQUIRE(p.a.session->close_channel(*ch));
    REQUIRE(p.run_until([&] { return p.b.has<event::ChannelClosed>() && p.a.has<event::ChannelClosed>(); }));
    const StatsReport ra2 = p.a.session->get_stats(p.net.now());
    const StatsReport rb2 = p.b.session->get_stats(p.net.now());
    CHECK(ra2.all<DataChannelStats>().at(0)->state == "closed");
    CHECK(rb2.all<DataChannelStats>().at(0)->state == "closed");
    CHECK(ra2.get<PeerConnectionStats>("P")->data_channels_closed == 1);
    CHECK(rb2.get<PeerConnectionStats>("P")->data_channels_closed == 1);
    check_json(ra2);
}
