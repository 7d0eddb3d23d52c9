// The MediaEngine's W3C stats: counting on the packet paths (plain integer updates, no allocation) and the report
// objects built from those counters, RtpStats and the RTCP statistics when get_stats is called.
#include "pc/media_engine.hpp"

#include "rtp/rtp_packet.hpp"

#include <string>

namespace rtcpp::pc {

namespace {

std::string stream_id(std::string_view prefix, MediaKind kind, uint32_t ssrc) {
    std::string id(prefix);
    id += kind == MediaKind::Audio ? 'A' : 'V';
    id += std::to_string(ssrc);
    return id;
}

} // namespace

void MediaEngine::count_received(Receiver& r, Timestamp now, size_t packet_bytes, size_t payload_bytes,
                                 bool retransmitted) {
    r.counters.header_bytes += packet_bytes - payload_bytes; // header, extensions and padding
    r.counters.last_packet = now;
    if (retransmitted) {
        ++r.counters.retransmitted_packets;
        r.counters.retransmitted_bytes += payload_bytes;
    }
}

void MediaEngine::count_sender_report(Receiver& r, const rtcp::SenderReport& sr) {
    r.counters.sr_packets = sr.packet_count;
    r.counters.sr_octets = sr.octet_count;
    ++r.counters.sr_count;
}

void MediaEngine::count_retransmission(Transceiver& t, ByteView packet) {
    auto view = rtp::RtpPacketView::parse(packet);
    if (!view || !t.sender) return;
    size_t payload = view->payload().size();
    // RTX (RFC 4588) puts the original sequence number ahead of the original payload: that is header, not media.
    if (view->ssrc() != t.sender->ssrc && payload >= 2) payload -= 2;
    t.send_counters.retransmitted_bytes += payload;
    t.send_counters.header_bytes += packet.size() - payload;
}

void MediaEngine::collect_stats(Timestamp now, const std::string& transport_id, StatsReport& report) const {
    // Codec objects exist for the codecs an RTP stream refers to (W3C: no codec without a user). Under BUNDLE a
    // payload type names one codec for the whole transport (RFC 8843 9.1), so transport and payload type make the id.
    auto codec_ref = [&](const Transceiver& t, const Codec& c) {
        std::string id = "C" + transport_id + "_" + std::to_string(c.pt);
        if (!report.find(id)) {
            CodecStats cs;
            cs.id = id;
            cs.timestamp = now;
            cs.payload_type = c.pt;
            cs.transport_id = transport_id;
            cs.mime_type = std::string(to_string(t.kind)) + "/" + c.name;
            cs.clock_rate = c.clock_rate;
            if (c.channels) cs.channels = *c.channels;
            cs.sdp_fmtp_line = c.fmtp;
            report.objects.push_back(std::move(cs));
        }
        return id;
    };

    size_t senders = 0;
    for (const auto& t : transceivers_) senders += (t.sender && t.sending ? 1 : 0) + t.layers.size();

    // One outbound-rtp per SSRC we send: a transceiver's stream, or each of its simulcast layers (with its rid).
    std::vector<const Transceiver*> send_streams;
    for (const auto& t : transceivers_) {
        if (t.sender) send_streams.push_back(&t);
        for (const auto& l : t.layers)
            if (l.sender) send_streams.push_back(&l);
    }
    for (const Transceiver* stream : send_streams) {
        const Transceiver& t = *stream;
        const Sender& s = *t.sender;
        const bool video = t.kind == MediaKind::Video;
        OutboundRtpStats o;
        o.id = stream_id("O" + transport_id, t.kind, s.ssrc);
        o.timestamp = now;
        o.ssrc = s.ssrc;
        o.kind = std::string(to_string(t.kind));
        o.transport_id = transport_id;
        o.codec_id = codec_ref(t, s.codec);
        o.mid = t.mid;
        o.rid = t.rid;
        // FEC packets (ULPFEC in RED) take sequence numbers of this SSRC too: the receiver's expected count has them.
        o.packets_sent = t.stats.packets_sent + t.stats.retransmitted_packets_sent + s.fec_packets;
        o.bytes_sent = t.stats.bytes_sent + t.send_counters.retransmitted_bytes;
        o.header_bytes_sent = t.send_counters.header_bytes;
        o.retransmitted_packets_sent = t.stats.retransmitted_packets_sent;
        o.retransmitted_bytes_sent = t.send_counters.retransmitted_bytes;
        if (s.rtx_ssrc && s.codec.rtx_pt) o.rtx_ssrc = s.rtx_ssrc;
        o.nack_count = static_cast<uint32_t>(t.stats.nacks_received);
        if (video) {
            o.frames_sent = static_cast<uint32_t>(t.stats.frames_sent);
            o.pli_count = t.send_counters.plis;
            o.fir_count = t.send_counters.firs;
        }
        // The congestion controller's target covers all media: it is this stream's target only when it is alone.
        // With several streams, each one's share of it (the allocation the application was told).
        if (senders == 1 && t.sending) o.target_bitrate = last_target_;
        else if (last_target_ && t.sending) o.target_bitrate = t.allocated;
        o.active = t.sending;

        std::optional<RemoteInboundRtpStats> ri;
        if (auto block = s.stats->last_report_block()) {
            ri.emplace();
            ri->id = stream_id("RI", t.kind, s.ssrc);
            ri->timestamp = now;
            ri->ssrc = s.ssrc;
            ri->kind = o.kind;
            ri->transport_id = transport_id;
            ri->codec_id = o.codec_id;
            ri->local_id = o.id;
            ri->packets_lost = block->cumulative_lost;
            if (s.codec.clock_rate)
                ri->jitter = TimeDelta::micros(static_cast<int64_t>(block->jitter) * 1'000'000 / s.codec.clock_rate);
            ri->fraction_lost = block->fraction_lost / 256.0;
            ri->round_trip_time = s.stats->last_rtt();
            ri->total_round_trip_time = t.send_counters.total_rtt;
            ri->round_trip_time_measurements = t.send_counters.rtt_measurements;
            o.remote_id = ri->id;
        }
        report.objects.push_back(std::move(o));
        if (ri) report.objects.push_back(std::move(*ri));
    }

    for (const auto& [ssrc, r] : receivers_) {
        if (r->rtx || !r->stats) continue;
        const Transceiver& t = transceivers_[r->transceiver];
        const bool video = t.kind == MediaKind::Video;
        InboundRtpStats in;
        in.id = stream_id("I" + transport_id, t.kind, ssrc);
        in.timestamp = now;
        in.ssrc = ssrc;
        in.kind = std::string(to_string(t.kind));
        in.transport_id = transport_id;
        if (const Codec* c = r->pt ? codec_for(t, *r->pt) : nullptr) in.codec_id = codec_ref(t, *c);
        in.mid = t.mid;
        in.rid = r->rid;
        in.packets_received = r->stats->packets_received();
        in.packets_lost = r->stats->cumulative_lost();
        in.jitter = r->stats->jitter_time();
        in.bytes_received = r->stats->bytes_received();
        in.header_bytes_received = r->counters.header_bytes;
        in.last_packet_received_timestamp = r->counters.last_packet;
        in.retransmitted_packets_received = r->counters.retransmitted_packets;
        in.retransmitted_bytes_received = r->counters.retransmitted_bytes;
        for (const auto& [rtx_ssrc, other] : receivers_)
            if (other->rtx && other->transceiver == r->transceiver && other->rid == r->rid) in.rtx_ssrc = rtx_ssrc;
        in.nack_count = r->counters.nacks;
        if (video) {
            in.frames_received = r->counters.frames;
            in.pli_count = r->counters.plis;
            in.fir_count = 0; // keyframes are asked for with PLI only
        }
        std::optional<RemoteOutboundRtpStats> ro;
        if (r->counters.sr_count) {
            ro.emplace();
            ro->id = stream_id("RO", t.kind, ssrc);
            ro->timestamp = now;
            ro->ssrc = ssrc;
            ro->kind = in.kind;
            ro->transport_id = transport_id;
            ro->codec_id = in.codec_id;
            ro->local_id = in.id;
            ro->packets_sent = r->counters.sr_packets;
            ro->bytes_sent = r->counters.sr_octets;
            ro->reports_sent = r->counters.sr_count;
            in.remote_id = ro->id;
        }
        report.objects.push_back(std::move(in));
        if (ro) report.objects.push_back(std::move(*ro));
    }
}

} // namespace rtcpp::pc
