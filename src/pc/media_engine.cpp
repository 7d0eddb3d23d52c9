#include "pc/media_engine.hpp"

#include "dtls/srtp_session.hpp"
#include "rtcp/congestion_control_feedback.hpp"
#include "rtcp/rtcp_compound.hpp"
#include "rtp/av1_payload.hpp"
#include "rtp/h264_payload.hpp"
#include "rtp/opus_payload.hpp"
#include "rtp/fec_protection.hpp"
#include "rtp/red.hpp"
#include "rtp/rtx.hpp"
#include "rtp/vp8_payload.hpp"
#include "rtp/vp9_payload.hpp"
#include "sdp/codec_match.hpp"

#include <rtcpp/log.hpp>

#include <algorithm>

namespace rtcpp::pc {

namespace {

// An RTP packet must fit a 1200-byte datagram with its header, extensions and the SRTP tag (16 bytes for GCM,
// 10 for AES-CM): 1100 bytes of payload leaves room for all of them.
constexpr size_t kMaxPayload = 1100;

constexpr std::string_view kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr std::string_view kRidUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr std::string_view kRepairedRidUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
constexpr std::string_view kAbsSendTimeUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr std::string_view kTransportCcUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
// What a packet costs on the wire besides its RTP bytes: SRTP tag (16), UDP (8), IPv4 (20).
constexpr size_t kPacketOverhead = 44;
constexpr TimeDelta kFeedbackInterval = TimeDelta::millis(100);

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_media_codec(const std::string& name) {
    for (const char* n : {"red", "ulpfec", "flexfec-03", "rtx", "CN", "telephone-event"})
        if (ieq(name, n)) return false;
    return true;
}

std::unique_ptr<rtp::Packetizer> make_packetizer(const std::string& name, const std::string& fmtp, Random& random) {
    if (ieq(name, "opus")) return std::make_unique<rtp::OpusPacketizer>();
    if (ieq(name, "VP8")) {
        rtp::Vp8PayloadDescriptor d;
        d.picture_id = static_cast<uint16_t>(random.next_u32() & 0x7FFF);
        return std::make_unique<rtp::Vp8Packetizer>(d);
    }
    if (ieq(name, "VP9")) {
        rtp::Vp9PayloadDescriptor d;
        d.picture_id = static_cast<uint16_t>(random.next_u32() & 0x7FFF);
        return std::make_unique<rtp::Vp9Packetizer>(d);
    }
    if (ieq(name, "H264")) {
        // RFC 6184: without the parameter the mode is 0 (single NAL unit).
        const auto mode = sdp::fmtp_value(sdp::parse_fmtp(fmtp), "packetization-mode").value_or("0");
        return std::make_unique<rtp::H264Packetizer>(mode == "1" ? 1 : 0);
    }
    if (ieq(name, "AV1")) return std::make_unique<rtp::Av1Packetizer>();
    return nullptr;
}

std::optional<rtp::VideoCodec> frame_buffer_codec(const std::string& name) {
    if (ieq(name, "VP8")) return rtp::VideoCodec::Vp8;
    if (ieq(name, "VP9")) return rtp::VideoCodec::Vp9;
    if (ieq(name, "H264")) return rtp::VideoCodec::H264;
    return std::nullopt;
}

std::unique_ptr<rtp::Depacketizer> make_depacketizer(const std::string& name) {
    if (ieq(name, "opus")) return std::make_unique<rtp::OpusDepacketizer>();
    if (ieq(name, "AV1")) return std::make_unique<rtp::Av1Depacketizer>();
    if (ieq(name, "VP8")) return std::make_unique<rtp::Vp8Depacketizer>();
    if (ieq(name, "VP9")) return std::make_unique<rtp::Vp9Depacketizer>();
    if (ieq(name, "H264")) return std::make_unique<rtp::H264Depacketizer>();
    return nullptr;
}

std::string text_of(std::optional<ByteView> v) {
    if (!v) return {};
    return std::string(v->begin(), v->end());
}

} // namespace

MediaEngine::MediaEngine(Random& random, std::deque<SessionEvent>& events, bool raw_events, bool video_fec)
    : random_(random), events_(events), raw_events_(raw_events), video_fec_(video_fec),
      fallback_ssrc_(random.next_u32() | 1) {}

MediaEngine::~MediaEngine() = default;

void MediaEngine::configure(Timestamp now, const sdp::Negotiated& negotiated,
                            const std::vector<sdp::Transceiver>& transceivers, const std::string& cname) {
    cname_ = cname;
    if (transceivers_.size() < transceivers.size()) transceivers_.resize(transceivers.size());
    for (size_t i = 0; i < transceivers_.size(); ++i) {
        transceivers_[i].id = static_cast<TransceiverId>(i + 1);
        transceivers_[i].index = i;
    }
    for (const auto& nm : negotiated.media) {
        if (!nm.transceiver || nm.datachannel || *nm.transceiver >= transceivers_.size()) continue;
        Transceiver& t = transceivers_[*nm.transceiver];
        t.index = *nm.transceiver;
        const sdp::Transceiver& st = transceivers[*nm.transceiver];
        t.kind = st.init.kind == sdp::MediaKind::Audio ? MediaKind::Audio : MediaKind::Video;
        t.mid = nm.mid;
        const bool was_receiving = t.receiving;
        t.sending = !nm.rejected && (nm.direction == sdp::Direction::SendRecv || nm.direction == sdp::Direction::SendOnly);
        t.receiving = !nm.rejected && (nm.direction == sdp::Direction::SendRecv || nm.direction == sdp::Direction::RecvOnly);
        t.codecs.clear();
        for (const auto& c : nm.codecs) {
            Codec k;
            k.name = c.name;
            k.pt = c.pt;
            k.clock_rate = c.clock_rate;
            k.rtx_pt = c.rtx_pt;
            k.fmtp = c.fmtp;
            k.channels = c.channels;
            for (const auto& fb : c.feedback) {
                if (fb.type == "nack" && fb.subtype.empty()) k.nack = true;
                if (fb.type == "nack" && fb.subtype == "pli") k.pli = true;
                if (fb.type == "goog-remb") k.remb = true;
            }
            t.codecs.push_back(std::move(k));
        }
        t.remote_ssrcs = nm.remote_ssrcs;
        t.mid_ext = t.rid_ext = t.rrid_ext = t.twcc_ext = t.abs_send_time_ext = 0;
        t.ccfb = nm.ccfb;
        for (const auto& e : nm.extensions) {
            if (e.id == 0 || e.id > 255) continue;
            if (e.uri == kMidUri) t.mid_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kRidUri) t.rid_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kRepairedRidUri) t.rrid_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kTransportCcUri) t.twcc_ext = static_cast<uint8_t>(e.id);
            if (e.uri == kAbsSendTimeUri) t.abs_send_time_ext = static_cast<uint8_t>(e.id);
        }
        const Codec* send_codec = nullptr;
        for (const auto& c : t.codecs)
            if (is_media_codec(c.name)) {
                send_codec = &c;
                break;
            }
        if (t.sending && send_codec && st.ssrc != 0 && nm.send_rids.empty()) {
            if (!t.sender || t.sender->codec.pt != send_codec->pt || t.sender->ssrc != st.ssrc) {
                Sender s;
                s.ssrc = st.ssrc;
                s.rtx_ssrc = st.rtx_ssrc;
                s.codec = *send_codec;
                s.packetizer = make_packetizer(send_codec->name, send_codec->fmtp, random_);
                s.sequence = static_cast<uint16_t>(random_.next_u32());
                rtp::NackResponderConfig nc;
                if (send_codec->rtx_pt && st.rtx_ssrc)
                    nc.rtx = rtp::RtxConfig{*send_codec->rtx_pt, st.rtx_ssrc, static_cast<uint16_t>(random_.next_u32())};
                nc.target_rate = t.kind == MediaKind::Video ? DataRate::kbps(2500) : DataRate::kbps(128);
                s.nack = std::make_unique<rtp::NackResponder>(st.ssrc, nc);
                s.stats = std::make_unique<rtcp::SenderStatistics>(st.ssrc, send_codec->clock_rate);
                t.sender = std::move(s);
            }
        } else if (!t.sending) {
            t.sender.reset();
        }
        if (t.sender) {
            // Video FEC needs RED and ULPFEC both negotiated (libwebrtc's "ulpfec in red" for video).
            Sender& s = *t.sender;
            s.red_pt.reset();
            s.ulpfec_pt.reset();
            if (video_fec_ && t.kind == MediaKind::Video && frame_buffer_codec(s.codec.name)) {
                for (const auto& c : t.codecs) {
                    if (ieq(c.name, "red")) s.red_pt = c.pt;
                    if (ieq(c.name, "ulpfec")) s.ulpfec_pt = c.pt;
                }
            }
            if (!s.red_pt || !s.ulpfec_pt) {
                s.red_pt.reset();
                s.ulpfec_pt.reset();
                s.fec.reset();
            }
        }
        configure_flexfec(*nm.transceiver, nm, st);
        configure_audio_red(*nm.transceiver);
        configure_layers(t, t.sending && send_codec ? layer_order(nm.send_rids, st) : std::vector<std::string>{});
        if (t.receiving && !was_receiving) {
            // The Session turns this into a Track event with the full TransceiverInfo.
            newly_receiving_.push_back(*nm.transceiver);
        }
    }
    if (!next_report_.is_finite()) schedule_report(now);
    bool congestion_controlled = false;
    // Transport-wide feedback drives GCC; a peer that only does REMB (goog-remb, no transport-cc) still gets a
    // target: its receiver-side estimate, through the same controller.
    for (const auto& t : transceivers_)
        congestion_controlled |= t.sending && (t.twcc_ext != 0 || t.ccfb || (t.sender && t.sender->codec.remb) ||
                                               (!t.layers.empty() && t.layers.front().sender->codec.remb));
    if (congestion_controlled && !cc_) {
        cc::GoogCcNetworkController::Config cc_config;
        // libwebrtc's probing set (start-up, ALR exit, allocation increases, recovery after a drop, and while the
        // capacity is unknown), without the probe every 3 s of a stable estimate: on a real bottleneck with a
        // shallow buffer (a 1 Mbps tbf, Chromium on the other side) each such probe overran it and the decrease
        // after it pulled the target to 80 % of the path; the simulator's RFC 8867 capacity steps keep it.
        cc_config.probing.probe_when_stable = false;
        cc_config.constraints.at_time = now;
        cc_ = std::make_unique<cc::GoogCcNetworkController>(cc_config);
        next_cc_process_ = now;
        pacer_ = std::make_unique<cc::Pacer>();
        // Until GCC's first update: its start rate, with the same headroom it gives the pacer.
        pacer_->set_pacing_rates(cc::GoogCcNetworkController::kDefaultStartRate * cc_config.pacing_factor,
                                 DataRate::zero());
    }
    // New or changed senders get their share of the target we already have.
    allocation_dirty_ = true;
    pending_allocation_.clear(); // its pointers may be stale after the resize above
    reallocate();
    report_max_allocation(now);
}

void MediaEngine::handle_cc_update(cc::NetworkControlUpdate update) {
    if (pacer_) {
        if (update.pacer_config) pacer_->set_pacing_rates(update.pacer_config->pacing_rate, update.pacer_config->padding_rate);
        for (const auto& cluster : update.probe_cluster_configs) {
            if (last_media_enqueued_) pacer_->create_probe_cluster(cluster);
            else if (pending_probes_.size() < 8) pending_probes_.push_back(cluster);
        }
    }
    if (!update.target_rate) return;
    const DataRate rate = update.target_rate->target_rate;
    for_each_send_stream([&](Transceiver& t) { t.sender->nack->set_target_rate(rate); });
    // Layers switch on and off at thresholds a drifting target can cross in steps under 5 %.
    const bool layers_changed = allocate(rate);
    const bool changed = !last_target_ || rate.bps() * 20 >= last_target_->bps() * 21 || rate.bps() * 20 <= last_target_->bps() * 19;
    if (!changed && !layers_changed) return;
    commit_allocation(); // the rates change with the event that announces them
    last_target_ = rate;
    last_target_event_ = event::TargetBitrate{rate, update.target_rate->stable_target_rate,
                                              update.target_rate->round_trip_time, allocation()};
    events_.push_back(*last_target_event_);
}

void MediaEngine::record_sent(Timestamp now, uint16_t transport_seq, size_t bytes, cc::PacketKind kind,
                              const cc::PacedPacketInfo& pacing_info) {
    if (!cc_) return;
    cc::SentPacket sp;
    sp.transport_seq = transport_seq;
    sp.send_time = now;
    sp.size = DataSize::bytes(static_cast<int64_t>(bytes + kPacketOverhead));
    sp.kind = kind;
    sp.pacing_info = pacing_info;
    handle_cc_update(cc_->on_sent_packet(feedback_adapter_.add_packet(sp)));
}

void MediaEngine::handle_transport_feedback(Timestamp now, const cc::TransportFeedback& feedback) {
    for (const auto& pk : feedback.packets) {
        ++twcc_reported_;
        if (!pk.arrival) ++twcc_lost_;
    }
    // Loss on the path before any repair, for the FEC level: over >= 200 packets, smoothed.
    if (twcc_reported_ >= 200) {
        const double fraction = static_cast<double>(twcc_lost_) / static_cast<double>(twcc_reported_);
        path_loss_ = path_loss_ ? 0.5 * *path_loss_ + 0.5 * fraction : fraction;
        twcc_reported_ = twcc_lost_ = 0;
    }
    if (auto fb = feedback_adapter_.process_feedback(feedback)) handle_cc_update(cc_->on_transport_feedback(*fb));
    (void)now;
}

void MediaEngine::record_ccfb_sent(uint32_t ssrc, uint16_t sequence, uint16_t transport_seq) {
    CcfbStream* stream = nullptr;
    for (auto& s : ccfb_sent_)
        if (s.ssrc == ssrc) stream = &s;
    if (!stream) {
        if (ccfb_sent_.size() >= kMaxCcfbStreams) return;
        ccfb_sent_.push_back(CcfbStream{ssrc, std::vector<CcfbSent>(kCcfbRing)});
        stream = &ccfb_sent_.back();
    }
    stream->ring[sequence % kCcfbRing] = CcfbSent{sequence, transport_seq, true};
}

void MediaEngine::handle_ccfb(Timestamp now, const rtcp::CongestionControlFeedback& feedback) {
    // The report timestamp is the receiver's clock (compact NTP, 1/65536 s); arrivals are offsets before it. The
    // feedback adapter keeps one offset from that clock to ours, so only differences matter.
    const Timestamp report = Timestamp::micros(static_cast<int64_t>(feedback.report_timestamp) * 1000000 / 65536);
    cc::TransportFeedback plain;
    plain.receive_time = now;
    for (const auto& stream : feedback.streams) {
        const CcfbStream* sent = nullptr;
        for (const auto& s : ccfb_sent_)
            if (s.ssrc == stream.ssrc) sent = &s;
        if (!sent) continue;
        for (const auto& pk : stream.packets) {
            const CcfbSent& e = sent->ring[pk.sequence_number % kCcfbRing];
            if (!e.valid || e.sequence != pk.sequence_number) continue;  // not ours, or too old
            if (pk.received && !pk.arrival_time_offset) continue;         // arrived, time unknown: no use to GCC
            std::optional<Timestamp> arrival;
            if (pk.received) arrival = report - *pk.arrival_time_offset;
            plain.packets.push_back({e.transport_seq, arrival});
        }
    }
    if (plain.packets.empty()) return;
    // The adapter wants transport-wide order; streams interleave on the wire.
    const uint16_t newest = plain.packets.back().transport_seq;
    auto key = [&](uint16_t s) { return static_cast<int32_t>(static_cast<int16_t>(s - newest)); };
    std::sort(plain.packets.begin(), plain.packets.end(),
              [&](const auto& a, const auto& b) { return key(a.transport_seq) < key(b.transport_seq); });
    handle_transport_feedback(now, plain);
}

void MediaEngine::send_ccfb(Timestamp now) {
    if (ccfb_received_.empty()) return;
    // Per SSRC, sorted by sequence number (unwrapped around the newest), duplicates dropped; gaps are reported as
    // not received.
    std::stable_sort(ccfb_received_.begin(), ccfb_received_.end(),
                     [](const CcfbArrival& a, const CcfbArrival& b) { return a.ssrc < b.ssrc; });
    rtcp::CongestionControlFeedback fb;
    fb.sender_ssrc = local_ssrc();
    fb.report_timestamp = static_cast<uint32_t>((now - Timestamp::zero()).us() * 65536 / 1000000);
    for (size_t i = 0; i < ccfb_received_.size();) {
        size_t j = i;
        while (j < ccfb_received_.size() && ccfb_received_[j].ssrc == ccfb_received_[i].ssrc) ++j;
        const uint16_t newest = ccfb_received_[j - 1].sequence;
        auto key = [&](uint16_t s) { return static_cast<int32_t>(static_cast<int16_t>(s - newest)); };
        std::sort(ccfb_received_.begin() + static_cast<std::ptrdiff_t>(i), ccfb_received_.begin() + static_cast<std::ptrdiff_t>(j),
                  [&](const CcfbArrival& a, const CcfbArrival& b) { return key(a.sequence) < key(b.sequence); });
        rtcp::CongestionControlFeedback::Stream stream;
        stream.ssrc = ccfb_received_[i].ssrc;
        stream.begin_sequence = ccfb_received_[i].sequence;
        for (size_t k = i; k < j; ++k) {
            const auto& a = ccfb_received_[k];
            const auto index = static_cast<size_t>(static_cast<uint16_t>(a.sequence - stream.begin_sequence));
            if (index >= 16384) break;  // RFC 8888: at most 16384 reports per SSRC
            if (index < stream.packets.size()) continue;  // a duplicate
            while (stream.packets.size() < index) {
                rtcp::CongestionControlFeedback::Packet lost;
                lost.sequence_number = static_cast<uint16_t>(stream.begin_sequence + stream.packets.size());
                stream.packets.push_back(lost);
            }
            rtcp::CongestionControlFeedback::Packet got;
            got.sequence_number = a.sequence;
            got.received = true;
            got.arrival_time_offset = now - a.arrival;
            stream.packets.push_back(got);
        }
        fb.streams.push_back(std::move(stream));
        i = j;
    }
    ccfb_received_.clear();
    std::vector<rtcp::RtcpPacket> packets{std::move(fb)};
    out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
}

void MediaEngine::send_transport_feedback(Timestamp now) {
    next_twcc_feedback_ = Timestamp::plus_infinity();
    send_ccfb(now);
    if (twcc_received_.empty()) return;
    // Sorted by unwrapped sequence number (around the newest one), duplicates dropped.
    const uint16_t newest = twcc_received_.back().sequence_number;
    auto key = [&](uint16_t s) { return static_cast<int32_t>(static_cast<int16_t>(s - newest)); };
    std::sort(twcc_received_.begin(), twcc_received_.end(),
              [&](const auto& a, const auto& b) { return key(a.sequence_number) < key(b.sequence_number); });
    twcc_received_.erase(std::unique(twcc_received_.begin(), twcc_received_.end(),
                                     [](const auto& a, const auto& b) { return a.sequence_number == b.sequence_number; }),
                         twcc_received_.end());
    if (auto fb = rtcp::TransportFeedback::create(local_ssrc(), twcc_media_ssrc_, twcc_count_++, twcc_received_)) {
        std::vector<rtcp::RtcpPacket> packets{std::move(*fb)};
        out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
    }
    twcc_received_.clear();
    (void)now;
}

std::vector<size_t> MediaEngine::take_newly_receiving() {
    std::vector<size_t> out;
    out.swap(newly_receiving_);
    return out;
}

std::optional<MediaEngine::SendInfo> MediaEngine::send_info(size_t transceiver) const {
    if (transceiver >= transceivers_.size()) return std::nullopt;
    const Transceiver& st = transceivers_[transceiver];
    const Transceiver& t = !st.sender && !st.layers.empty() ? st.layers.front() : st; // simulcast: the layers' codec
    if (!t.sender) return std::nullopt;
    const auto& c = t.sender->codec;
    // With FEC on, RED's byte comes out of the payload (see send_frame): the smaller size holds either way.
    return SendInfo{c.name, c.pt, c.clock_rate, c.fmtp, kMaxPayload - 1};
}

std::vector<uint8_t> MediaEngine::build_packet(const rtp::RtpHeader& h, ByteView payload) {
    std::vector<uint8_t> bytes;
    if (!spare_buffers_.empty()) {
        bytes = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
        bytes.clear();
    }
    // Room for the SRTP tag the Session appends in place: no reallocation there either. Every buffer gets room
    // for a full-sized packet at once: buffers circulate between audio, video and the peer's owner (Session::recycle),
    // and one sized for a small packet would otherwise grow again when a larger packet comes to it.
    bytes.reserve(std::max(h.size() + payload.size() + dtls::kSrtpMaxTrailer, kPacketBufferSize));
    ByteWriter w(bytes);
    rtp::write_rtp_packet(w, h, payload);
    return bytes;
}

void MediaEngine::recycle(std::vector<uint8_t>&& buffer) {
    if (wants_buffer(buffer.capacity())) spare_buffers_.push_back(std::move(buffer));
}

void MediaEngine::send_rtp_packet(Timestamp now, Transceiver& t, std::vector<uint8_t> packet, size_t payload_bytes,
                                  uint32_t rtp_timestamp, ByteView history) {
    Sender& s = *t.sender;
    s.nack->on_packet_sent(now, history.empty() ? ByteView(packet) : history);
    s.stats->handle_packet_sent(now, rtp_timestamp, payload_bytes);
    s.last_rtp_timestamp = rtp_timestamp;
    ++t.stats.packets_sent;
    t.stats.bytes_sent += payload_bytes;
    t.send_counters.header_bytes += packet.size() - payload_bytes;
    emit_rtp(now, t, std::move(packet), t.kind == MediaKind::Audio ? cc::PacketKind::Audio : cc::PacketKind::Video);
}

void MediaEngine::emit_rtp(Timestamp now, Transceiver& t, std::vector<uint8_t> packet, cc::PacketKind kind) {
    if (!pacer_) {
        stamp_send_time(now, t, packet, kind, {});
        out_.push_back(OutgoingPacket{false, std::move(packet)});
        return;
    }
    uint64_t id = paced_.size();
    if (!free_paced_.empty()) {
        id = free_paced_.back();
        free_paced_.pop_back();
    } else {
        paced_.emplace_back();
    }
    const auto size = DataSize::bytes(static_cast<int64_t>(packet.size() + kPacketOverhead));
    // A simulcast layer is not in transceivers_: its transceiver's index (same header extension ids) is what the
    // departure needs.
    paced_[id] = PacedSlot{std::move(packet), t.index};
    pacer_->enqueue(now, {id, kind, size});
    if (kind == cc::PacketKind::Audio || kind == cc::PacketKind::Video) {
        if (!last_media_enqueued_) {
            for (auto cluster : pending_probes_) {
                cluster.at_time = now;
                pacer_->create_probe_cluster(cluster);
            }
            pending_probes_.clear();
        }
        last_media_enqueued_ = now;
    }
}

void MediaEngine::release_paced(Timestamp now) {
    if (!pacer_) return;
    while (auto p = pacer_->poll_send(now)) {
        if (p->is_padding) {
            send_padding(now, p->size, p->pacing_info);
            continue;
        }
        PacedSlot& slot = paced_[p->id];
        stamp_send_time(now, transceivers_[slot.transceiver], slot.bytes, p->kind, p->pacing_info);
        out_.push_back(OutgoingPacket{false, std::move(slot.bytes)});
        free_paced_.push_back(p->id);
    }
    for (uint64_t id : pacer_->take_dropped()) {
        recycle(std::move(paced_[id].bytes));
        free_paced_.push_back(id);
    }
}

void MediaEngine::stamp_send_time(Timestamp now, Transceiver& t, std::vector<uint8_t>& packet, cc::PacketKind kind,
                                  const cc::PacedPacketInfo& pacing_info) {
    // RFC 8888 replaces transport-cc when both were agreed.
    const bool twcc = t.twcc_ext && cc_ && !t.ccfb;
    if (!twcc && !t.abs_send_time_ext && !(t.ccfb && cc_)) return;
    if (t.ccfb && cc_) {
        // Our own packet: the fixed header is there (sequence number at 2, SSRC at 8).
        ByteReader r(packet);
        r.skip(2);
        const auto sequence = r.read_u16();
        r.skip(4);
        const auto ssrc = r.read_u32();
        if (!ssrc) return;
        const uint16_t tseq = transport_seq_++;
        record_ccfb_sent(*ssrc, *sequence, tseq);
        record_sent(now, tseq, packet.size(), kind, pacing_info);
    }
    if (twcc) {
        const auto offset = stamp_offset(t, packet, t.twcc_ext, 2);
        if (!offset) return;
        const uint16_t tseq = transport_seq_++;
        packet[*offset] = static_cast<uint8_t>(tseq >> 8);
        packet[*offset + 1] = static_cast<uint8_t>(tseq & 0xFF);
        record_sent(now, tseq, packet.size(), kind, pacing_info);
        return;
    }
    // For a receiver that estimates by itself (REMB): our send time, 6.18 fixed-point seconds, 24 bits.
    if (!t.abs_send_time_ext) return;
    const auto offset = stamp_offset(t, packet, t.abs_send_time_ext, 3);
    if (!offset) return;
    const auto ast = static_cast<uint32_t>(((now - Timestamp::zero()).us() * (1 << 18) / 1000000) & 0xFFFFFF);
    packet[*offset] = static_cast<uint8_t>(ast >> 16);
    packet[*offset + 1] = static_cast<uint8_t>(ast >> 8);
    packet[*offset + 2] = static_cast<uint8_t>(ast);
}

std::optional<size_t> MediaEngine::stamp_offset(Transceiver& t, const std::vector<uint8_t>& packet, uint8_t id,
                                                size_t size) {
    // With the extension bit set and no CSRCs the block starts at byte 12. Equal bytes from there up to the kept
    // offset mean the same profile, block length and elements before it, and the same element header (id and
    // length) in front of it: the parse would find the extension at the same place.
    constexpr size_t kBlock = 12;
    auto& l = t.stamp_layout;
    const bool plain = packet.size() > kBlock && (packet[0] & 0x1F) == 0x10;
    if (plain && l.offset > kBlock && l.id == id && packet.size() >= l.offset + size &&
        std::equal(l.prefix.begin(), l.prefix.begin() + (l.offset - kBlock), packet.begin() + kBlock))
        return l.offset;
    const auto view = rtp::RtpPacketView::parse(packet);
    if (!view) return std::nullopt;
    const auto ext = view->find_extension(id);
    if (!ext || ext->size() != size) return std::nullopt;
    const auto offset = static_cast<size_t>(ext->data() - packet.data());
    if (plain && offset - kBlock <= l.prefix.size()) {
        l.id = id;
        l.offset = static_cast<uint16_t>(offset);
        std::copy(packet.begin() + kBlock, packet.begin() + static_cast<std::ptrdiff_t>(offset), l.prefix.begin());
    }
    return offset;
}

void MediaEngine::send_padding(Timestamp now, DataSize size, const cc::PacedPacketInfo& pacing_info) {
    // On the RTX stream of a video sender (as libwebrtc does): the receiver's RTX path drops a packet without
    // payload after transport-wide feedback has seen it, and the media stream's sequence numbers stay untouched.
    // Without RTX there is no padding: probes then measure with media only.
    if (!last_media_enqueued_ || now - *last_media_enqueued_ > kPaddingAfterMedia) return;
    Transceiver* pt = nullptr;
    for_each_send_stream([&](Transceiver& t) { // simulcast: a layer's RTX stream
        if (t.sending && t.kind == MediaKind::Video && t.sender->nack->rtx() && (t.twcc_ext || t.ccfb)) pt = &t;
    });
    if (!pt) return;
    Transceiver& t = *pt;
    Sender& s = *t.sender;
    // RTP padding holds at most 255 bytes; the rest of the size is the header.
    constexpr int64_t kMaxPadding = 255;
    int64_t remaining = size.bytes();
    while (remaining > 0) {
        rtp::RtpHeader h = next_header(now, t, s.nack->rtx()->payload_type, s.last_rtp_timestamp, false);
        --s.sequence;  // next_header took a media sequence number; padding uses the RTX stream's
        if (!t.rid.empty()) { // a layer's RTX stream is named by repaired-rid, never rid (an SFU would take it for the layer)
            h.extensions.remove(t.rid_ext);
            if (t.rrid_ext)
                h.extensions.set(t.rrid_ext, ByteView(reinterpret_cast<const uint8_t*>(t.rid.data()), t.rid.size()));
        }
        h.ssrc = s.nack->rtx()->ssrc;
        h.sequence_number = s.nack->take_rtx_sequence_number();
        const auto padding = static_cast<uint8_t>(std::clamp<int64_t>(remaining - static_cast<int64_t>(h.size()),
                                                                      1, kMaxPadding));
        std::vector<uint8_t> bytes;
        if (!spare_buffers_.empty()) {
            bytes = std::move(spare_buffers_.back());
            spare_buffers_.pop_back();
            bytes.clear();
        }
        bytes.reserve(std::max(h.size() + padding + dtls::kSrtpMaxTrailer, kPacketBufferSize));
        ByteWriter w(bytes);
        rtp::write_rtp_packet(w, h, {}, padding);
        remaining -= static_cast<int64_t>(bytes.size() + kPacketOverhead);
        ++t.stats.padding_packets_sent;
        t.stats.padding_bytes_sent += padding;
        t.send_counters.header_bytes += bytes.size();
        stamp_send_time(now, t, bytes, cc::PacketKind::Padding, pacing_info);
        out_.push_back(OutgoingPacket{false, std::move(bytes)});
    }
}

Result<void> MediaEngine::send_frame(Timestamp now, size_t transceiver, ByteView frame, uint32_t rtp_timestamp) {
    if (transceiver < transceivers_.size() && !transceivers_[transceiver].layers.empty())
        return make_error(ErrorCategory::InvalidAccessError, "media",
                          "the transceiver sends simulcast: name the layer (send_frame with a rid)");
    if (transceiver >= transceivers_.size() || !transceivers_[transceiver].sender || !transceivers_[transceiver].sending)
        return make_error(ErrorCategory::InvalidStateError, "media", "the transceiver does not send (yet)");
    return send_frame_on(now, transceivers_[transceiver], frame, rtp_timestamp);
}

Result<void> MediaEngine::send_frame_on(Timestamp now, Transceiver& t, ByteView frame, uint32_t rtp_timestamp) {
    Sender& s = *t.sender;
    if (!s.packetizer)
        return make_error(ErrorCategory::NotSupportedError, "media",
                          "no packetizer for the negotiated codec " + s.codec.name + " (use send_rtp)");
    if (ieq(s.codec.name, "VP9") && !frame.empty()) {
        // VP9's descriptor says whether the picture is predicted from an earlier one (P): read frame_type from
        // the uncompressed header (frame_marker 2 bits, profile 2 bits (+1 reserved for profile 3),
        // show_existing_frame, frame_type: 0 = key frame).
        const uint8_t b = frame[0];
        const int profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
        const int shift = profile == 3 ? 1 : 2; // bit index of frame_type counted from the least significant end
        const bool show_existing = (b >> (shift + 1)) & 1;
        const bool key = !show_existing && ((b >> shift) & 1) == 0;
        static_cast<rtp::Vp9Packetizer&>(*s.packetizer).descriptor().inter_picture_predicted = !key;
    }
    const bool protect = s.fec && s.fec->params().protection > 0;
    // RED costs one byte per packet: the payload leaves room for it when FEC is on.
    auto count = s.packetizer->packetize_into(frame, protect ? kMaxPayload - 1 : kMaxPayload, payloads_);
    if (!count) return count.error();
    s.packets_per_frame = 0.9 * s.packets_per_frame + 0.1 * static_cast<double>(*count);
    for (size_t i = 0; i < *count; ++i) {
        const rtp::RtpPayload& p = payloads_[i];
        if (s.audio_red) {
            send_audio_red(now, t, p, rtp_timestamp);
            continue;
        }
        const rtp::RtpHeader h = next_header(now, t, s.codec.pt, rtp_timestamp, p.marker);
        auto bytes = build_packet(h, p.data);
        if (s.flexfec)
            if (const auto plain = rtp::RtpPacketView::parse(bytes)) s.flexfec->add_media_packet(*plain);
        if (protect) {
            // FEC protects the packet as it is before RED wrapping; a retransmission resends it that way too.
            if (const auto plain = rtp::RtpPacketView::parse(bytes)) s.fec->add_media_packet(*plain);
            red_payload_.clear();
            red_payload_.push_back(static_cast<uint8_t>(s.codec.pt & 0x7F));  // primary block: F=0, block PT
            red_payload_.insert(red_payload_.end(), p.data.begin(), p.data.end());
            rtp::RtpHeader rh = h;
            rh.payload_type = *s.red_pt;
            auto red = build_packet(rh, red_payload_);
            send_rtp_packet(now, t, std::move(red), p.data.size(), rtp_timestamp, bytes);
            recycle(std::move(bytes));
            continue;
        }
        send_rtp_packet(now, t, std::move(bytes), p.data.size(), rtp_timestamp);
    }
    if (protect) send_fec(now, t, rtp_timestamp);
    if (s.flexfec) send_flexfec(now, t);
    ++t.stats.frames_sent;
    release_paced(now);
    return {};
}

rtp::RtpHeader MediaEngine::next_header(Timestamp now, Transceiver& t, uint8_t payload_type, uint32_t rtp_timestamp,
                                        bool marker) {
    Sender& s = *t.sender;
    rtp::RtpHeader h;
    h.marker = marker;
    h.payload_type = payload_type;
    h.sequence_number = s.sequence++;
    h.timestamp = rtp_timestamp;
    h.ssrc = s.ssrc;
    if (t.mid_ext) h.extensions.set(t.mid_ext, ByteView(reinterpret_cast<const uint8_t*>(t.mid.data()), t.mid.size()));
    if (t.rid_ext && !t.rid.empty()) // a simulcast layer: rtp-stream-id on every packet, as Chromium sends it
        h.extensions.set(t.rid_ext, ByteView(reinterpret_cast<const uint8_t*>(t.rid.data()), t.rid.size()));
    // Placeholders, written by stamp_send_time() when the packet leaves.
    static constexpr uint8_t kZeros[3] = {0, 0, 0};
    if (t.abs_send_time_ext && !t.twcc_ext) h.extensions.set(t.abs_send_time_ext, ByteView(kZeros, 3));
    if (t.twcc_ext && cc_ && !t.ccfb) h.extensions.set(t.twcc_ext, ByteView(kZeros, 2));
    (void)now;
    return h;
}

void MediaEngine::update_protection(Transceiver& t) {
    Sender& s = *t.sender;
    if ((!s.red_pt && !s.flexfec_pt) || !t.rtt) return;
    rtp::ProtectionInput in;
    // Transport-wide feedback tells the loss before repair; receiver reports only what NACK left unrepaired.
    in.loss = path_loss_.value_or(s.loss);
    in.rtt = *t.rtt;
    in.nack_enabled = s.codec.nack;
    in.packets_per_frame = static_cast<size_t>(std::max(1.0, s.packets_per_frame + 0.5));
    // Below this much reported loss NACK alone is cheap enough; the smallest FEC group costs 8-15% of the rate,
    // which the encoder's budget (the congestion target) does not account for.
    constexpr double kMinLossForFec = 0.02;
    const auto decision = in.loss >= kMinLossForFec ? rtp::choose_protection(in) : rtp::ProtectionDecision{};
    if (decision.fec.protection <= 0) {
        // Off: an unfinished group would otherwise mix with packets sent much later.
        s.fec.reset();
        s.flexfec.reset();
        return;
    }
    if (s.flexfec_pt) {
        // The encoder's own sequence numbers are not used: send_flexfec() numbers the stream (one sequence space
        // however often protection turns off and on).
        if (!s.flexfec) s.flexfec = std::make_unique<rtp::FlexfecEncoder>(s.fec_ssrc, *s.flexfec_pt, s.ssrc);
        s.flexfec->set_params(decision.fec);
        return;
    }
    if (!s.fec) s.fec = std::make_unique<rtp::UlpfecEncoder>();
    s.fec->set_params(decision.fec);
}

void MediaEngine::send_fec(Timestamp now, Transceiver& t, uint32_t rtp_timestamp) {
    Sender& s = *t.sender;
    while (auto fec = s.fec->poll_fec_payload()) {
        const rtp::RtpHeader h = next_header(now, t, *s.red_pt, rtp_timestamp, false);
        red_payload_.clear();
        red_payload_.push_back(static_cast<uint8_t>(*s.ulpfec_pt & 0x7F));
        red_payload_.insert(red_payload_.end(), fec->begin(), fec->end());
        auto bytes = build_packet(h, red_payload_);
        // Not kept for retransmission: a lost FEC packet is not worth a round trip.
        ++s.fec_packets;
        emit_rtp(now, t, std::move(bytes), cc::PacketKind::Fec);
    }
}

Result<void> MediaEngine::send_rtp(Timestamp now, size_t transceiver, ByteView packet) {
    if (transceiver >= transceivers_.size() || !transceivers_[transceiver].sender || !transceivers_[transceiver].sending)
        return make_error(ErrorCategory::InvalidStateError, "media", "the transceiver does not send (yet)");
    auto view = rtp::RtpPacketView::parse(packet);
    if (!view) return make_error(ErrorCategory::TypeError, "media", "not a valid RTP packet");
    Transceiver& t = transceivers_[transceiver];
    rtp::RtpHeader h = rtp::RtpHeader::from_view(*view);
    h.ssrc = t.sender->ssrc;
    h.sequence_number = t.sender->sequence++;
    auto bytes = build_packet(h, view->payload());
    send_rtp_packet(now, t, std::move(bytes), view->payload().size(), h.timestamp);
    release_paced(now);
    return {};
}

Result<void> MediaEngine::send_rtcp(ByteView packet) {
    if (!rtcp::parse_rtcp_compound(packet)) return make_error(ErrorCategory::TypeError, "media", "not valid RTCP");
    out_.push_back(OutgoingPacket{true, std::vector<uint8_t>(packet.begin(), packet.end())});
    return {};
}

void MediaEngine::send_keyframe_request(Receiver& r) {
    rtcp::Pli pli;
    pli.sender_ssrc = local_ssrc();
    pli.media_ssrc = r.ssrc;
    std::vector<rtcp::RtcpPacket> packets{pli};
    out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
    ++transceivers_[r.transceiver].stats.keyframe_requests_sent;
    ++r.counters.plis;
}

Result<void> MediaEngine::request_keyframe(size_t transceiver) {
    bool any = false;
    for (auto& [ssrc, r] : receivers_) {
        if (r->transceiver != transceiver || r->rtx) continue;
        send_keyframe_request(*r);
        any = true;
    }
    if (!any) return make_error(ErrorCategory::InvalidStateError, "media", "nothing received on this transceiver yet");
    return {};
}

const MediaEngine::Codec* MediaEngine::codec_for(const Transceiver& t, uint8_t pt) const {
    for (const auto& c : t.codecs)
        if (c.pt == pt) return &c;
    return nullptr;
}

uint32_t MediaEngine::local_ssrc() const {
    for (const auto& t : transceivers_) {
        if (t.sender) return t.sender->ssrc;
        if (!t.layers.empty() && t.layers.front().sender) return t.layers.front().sender->ssrc;
    }
    return fallback_ssrc_;
}

MediaEngine::Sender MediaEngine::make_layer_sender(const Transceiver& layer, const Codec& codec) {
    // As configure() makes a transceiver's sender, with SSRCs of our own choosing: rid-based simulcast signals none.
    Sender s;
    s.ssrc = unused_ssrc();
    s.codec = codec;
    s.packetizer = make_packetizer(codec.name, codec.fmtp, random_);
    s.sequence = static_cast<uint16_t>(random_.next_u32());
    rtp::NackResponderConfig nc;
    if (codec.rtx_pt) {
        do s.rtx_ssrc = unused_ssrc();
        while (s.rtx_ssrc == s.ssrc);
        nc.rtx = rtp::RtxConfig{*codec.rtx_pt, s.rtx_ssrc, static_cast<uint16_t>(random_.next_u32())};
    }
    nc.target_rate = DataRate::kbps(2500);
    s.nack = std::make_unique<rtp::NackResponder>(s.ssrc, nc);
    s.stats = std::make_unique<rtcp::SenderStatistics>(s.ssrc, codec.clock_rate);
    if (video_fec_ && layer.kind == MediaKind::Video && frame_buffer_codec(codec.name)) {
        for (const auto& c : layer.codecs) {
            if (ieq(c.name, "red")) s.red_pt = c.pt;
            if (ieq(c.name, "ulpfec")) s.ulpfec_pt = c.pt;
        }
        if (!s.red_pt || !s.ulpfec_pt) {
            s.red_pt.reset();
            s.ulpfec_pt.reset();
        }
    }
    return s;
}

MediaEngine::Receiver* MediaEngine::receiver_for(Timestamp, const rtp::RtpPacketView& view) {
    if (auto it = receivers_.find(view.ssrc()); it != receivers_.end()) return it->second.get();
    if (receivers_.size() >= kMaxReceivers) return nullptr;
    std::optional<size_t> match;
    std::string rid;
    bool repaired = false;
    // 1. the mid header extension (BUNDLE, RFC 8843 9.2), with rid / repaired rid for simulcast and RTX.
    for (size_t i = 0; i < transceivers_.size() && !match; ++i) {
        const Transceiver& t = transceivers_[i];
        if (!t.receiving || !t.mid_ext) continue;
        if (text_of(view.find_extension(t.mid_ext)) == t.mid) {
            match = i;
            if (t.rid_ext) rid = text_of(view.find_extension(t.rid_ext));
            if (rid.empty() && t.rrid_ext) {
                rid = text_of(view.find_extension(t.rrid_ext));
                repaired = !rid.empty();
            }
        }
    }
    // 2. an SSRC the remote description announced.
    for (size_t i = 0; i < transceivers_.size() && !match; ++i) {
        const Transceiver& t = transceivers_[i];
        if (t.receiving && std::find(t.remote_ssrcs.begin(), t.remote_ssrcs.end(), view.ssrc()) != t.remote_ssrcs.end())
            match = i;
    }
    // 3. a payload type only one receiving transceiver uses.
    if (!match) {
        std::optional<size_t> only;
        bool ambiguous = false;
        for (size_t i = 0; i < transceivers_.size(); ++i) {
            const Transceiver& t = transceivers_[i];
            if (!t.receiving) continue;
            bool uses = false;
            for (const auto& c : t.codecs) uses |= c.pt == view.payload_type() || c.rtx_pt == view.payload_type();
            if (!uses) continue;
            if (only) ambiguous = true;
            only = i;
        }
        if (!ambiguous) match = only;
    }
    if (!match) return nullptr;
    const Transceiver& t = transceivers_[*match];
    auto r = std::make_unique<Receiver>();
    r->transceiver = *match;
    r->ssrc = view.ssrc();
    r->rid = rid;
    bool rtx_pt = false;
    for (const auto& c : t.codecs) rtx_pt |= c.rtx_pt == view.payload_type();
    r->rtx = repaired || rtx_pt;
    if (!r->rtx) {
        const Codec* c = codec_for(t, view.payload_type());
        r->stats = std::make_unique<rtcp::StreamReceiveStatistics>(view.ssrc(), c ? c->clock_rate : 90000);
    }
    Receiver* raw = r.get();
    receivers_[view.ssrc()] = std::move(r);
    return raw;
}

void MediaEngine::handle_rtp(Timestamp now, ByteView packet) {
    auto view = rtp::RtpPacketView::parse(packet);
    if (!view) {
        ++dropped_;
        return;
    }
    if (!flexfec_rx_.empty() && handle_flexfec(now, *view, packet)) return;
    Receiver* r = receiver_for(now, *view);
    if (!r) {
        ++dropped_;
        return;
    }
    Transceiver& t = transceivers_[r->transceiver];
    if (raw_events_) events_.push_back(event::RtpPacket{t.id, std::vector<uint8_t>(packet.begin(), packet.end())});
    if (t.ccfb) {
        // Bounded like transport-wide feedback: a report every 100 ms, or sooner once 500 arrivals wait.
        ccfb_received_.push_back({view->ssrc(), view->sequence_number(), now});
        if (!next_twcc_feedback_.is_finite()) next_twcc_feedback_ = now + kFeedbackInterval;
        if (ccfb_received_.size() >= 500) send_ccfb(now);
    } else if (t.twcc_ext) {
        if (auto ext = view->find_extension(t.twcc_ext); ext && ext->size() == 2) {
            // Bounded: feedback goes out every 100 ms, or sooner once 500 arrivals are waiting.
            twcc_received_.push_back({static_cast<uint16_t>(((*ext)[0] << 8) | (*ext)[1]), now});
            if (!twcc_media_ssrc_) twcc_media_ssrc_ = view->ssrc();
            if (!next_twcc_feedback_.is_finite()) next_twcc_feedback_ = now + kFeedbackInterval;
            if (twcc_received_.size() >= 500) send_transport_feedback(now);
        }
    }
    if (!t.twcc_ext && !t.ccfb && t.abs_send_time_ext && t.receiving &&
        std::any_of(t.codecs.begin(), t.codecs.end(), [](const Codec& c) { return c.remb; })) {
        // The sender wants our estimate as REMB (goog-remb without transport-cc): estimate from abs-send-time.
        if (auto ext = view->find_extension(t.abs_send_time_ext); ext && ext->size() == 3) {
            if (!remote_estimator_) remote_estimator_ = std::make_unique<cc::RemoteEstimator>();
            remote_estimator_->on_packet(now, static_cast<uint32_t>((*ext)[0] << 16 | (*ext)[1] << 8 | (*ext)[2]),
                                         packet.size() + kPacketOverhead);
        }
    }
    if (!r->rtx) {
        deliver(now, *r, *view, packet, false);
        if (!flexfec_rx_.empty()) protect_received(now, *r, packet);
        return;
    }
    // RTX (RFC 4588): the original sequence number leads the payload; the media stream is the same transceiver's
    // (and rid's) non-RTX receiver.
    std::optional<uint8_t> apt;
    for (const auto& c : t.codecs)
        if (c.rtx_pt == view->payload_type()) apt = c.pt;
    Receiver* media = nullptr;
    for (auto& [ssrc, other] : receivers_)
        if (!other->rtx && other->transceiver == r->transceiver && other->rid == r->rid) media = other.get();
    if (!apt || !media) {
        ++dropped_;
        return;
    }
    if (view->payload().empty()) {
        // Padding the sender's pacer sent to probe the path: it has done its job once transport-wide feedback
        // saw it; counted as header and padding bytes like the sender counts it.
        media->counters.header_bytes += packet.size();
        return;
    }
    auto original = rtp::unwrap_rtx(*view, *apt, media->ssrc);
    if (!original) {
        ++dropped_;
        return;
    }
    auto ov = rtp::RtpPacketView::parse(*original);
    if (!ov) {
        ++dropped_;
        return;
    }
    deliver(now, *media, *ov, *original, true);
}

void MediaEngine::deliver(Timestamp now, Receiver& r, const rtp::RtpPacketView& view, ByteView packet,
                          bool retransmitted, bool count_received_packet) {
    Transceiver& t = transceivers_[r.transceiver];
    const Codec* codec = codec_for(t, view.payload_type());
    if (codec && ieq(codec->name, "red")) {
        // RED (RFC 2198): video carries the media or ULPFEC blocks, which also recover lost media packets; audio
        // carries redundant copies of earlier frames, which fill frames lost before it (recover_audio_red).
        if (t.kind == MediaKind::Video) {
            if (!r.ulpfec) {
                for (const auto& c : t.codecs)
                    if (ieq(c.name, "ulpfec")) r.ulpfec_pt = c.pt;
                r.ulpfec = std::make_unique<rtp::UlpfecReceiver>(view.ssrc(), codec->pt, r.ulpfec_pt);
            }
            // An FEC packet takes a sequence number of the media stream but is never retransmitted (libwebrtc keeps
            // no history for it): unless the NACK generator sees it arrive, it asks for it until it gives up and
            // requests a keyframe.
            // The receive statistics count it as received too (libwebrtc does): otherwise our reports would call
            // every FEC packet lost, and a sender that sizes FEC by reported loss would send ever more of it.
            if (const auto red = !retransmitted ? rtp::parse_red(view.payload()) : std::nullopt;
                red && red->primary().payload_type == r.ulpfec_pt) {
                if (r.nack) r.nack->handle_packet(now, view.sequence_number());
                if (r.stats) r.stats->handle_packet(now, view.sequence_number(), view.timestamp(), 0, false);
            }
            r.ulpfec->handle_packet(packet);
            while (auto out = r.ulpfec->poll_packet()) {
                auto inner = rtp::RtpPacketView::parse(out->packet);
                const Codec* ic = inner ? codec_for(t, inner->payload_type()) : nullptr;
                if (!inner || !ic || ieq(ic->name, "red")) {
                    ++dropped_;
                    continue;
                }
                // A packet rebuilt from FEC was lost on the path: the reports keep it lost (as libwebrtc's do).
                deliver(now, r, *inner, out->packet, retransmitted || out->recovered, !out->recovered);
            }
            return;
        }
        if (t.kind == MediaKind::Audio && !recover_audio_red(now, r, view)) return;
        auto primary = rtp::unwrap_red_primary(view);
        auto inner = primary ? rtp::RtpPacketView::parse(*primary) : std::nullopt;
        const Codec* ic = inner ? codec_for(t, inner->payload_type()) : nullptr;
        if (!inner || !ic || ieq(ic->name, "red")) {
            ++dropped_;
            return;
        }
        deliver(now, r, *inner, *primary, retransmitted);
        return;
    }
    if (!codec || !is_media_codec(codec->name)) {
        ++dropped_; // red/fec and unknown payload types are not decoded yet
        return;
    }
    if (r.stats && count_received_packet)
        r.stats->handle_packet(now, view.sequence_number(), view.timestamp(), view.payload().size(), retransmitted);
    ++t.stats.packets_received;
    t.stats.bytes_received += view.payload().size();
    // A packet rebuilt from FEC (not counted as received) is no retransmission: W3C's retransmittedPacketsReceived
    // counts RTX; rebuilt packets are RtpStats::fec_packets_recovered.
    count_received(r, now, packet.size(), view.payload().size(), retransmitted && count_received_packet);
    if (r.pt != codec->pt) {
        r.pt = codec->pt;
        r.frames.reset();
        r.depacketizer.reset();
        r.nack.reset();
        if (auto fb = frame_buffer_codec(codec->name); fb && t.kind == MediaKind::Video) {
            rtp::FrameBufferConfig fc;
            fc.codec = *fb;
            fc.clock_rate = codec->clock_rate;
            fc.nack_enabled = codec->nack;
            r.frames = std::make_unique<rtp::FrameBuffer>(fc);
            if (codec->nack) {
                rtp::NackGeneratorConfig nc;
                nc.sender_ssrc = local_ssrc();
                nc.media_ssrc = r.ssrc;
                r.nack = std::make_unique<rtp::NackGenerator>(nc);
            }
            if (t.rtt) {
                r.frames->set_rtt(*t.rtt);
                if (r.nack) r.nack->set_rtt(*t.rtt);
            }
        } else {
            r.depacketizer = make_depacketizer(codec->name);
        }
    }
    if (r.frames) {
        const bool key_start = ieq(codec->name, "VP8") && rtp::vp8_is_keyframe(view.payload());
        if (r.nack) r.nack->handle_packet(now, view.sequence_number(), key_start);
        r.frames->handle_packet(now, view, retransmitted);
    } else if (r.depacketizer) {
        r.depacketizer->handle_payload(view.payload(), view.sequence_number(), view.timestamp(), view.marker());
    } else {
        // No depacketizer for this codec: each payload is handed over as it is.
        ++t.stats.frames_received;
        ++r.counters.frames;
        events_.push_back(event::MediaFrame{t.id, r.rid, codec->name, codec->pt, view.timestamp(), false,
                                            std::vector<uint8_t>(view.payload().begin(), view.payload().end())});
    }
    drain_receiver(now, r);
}

void MediaEngine::drain_receiver(Timestamp, Receiver& r) {
    Transceiver& t = transceivers_[r.transceiver];
    const Codec* codec = r.pt ? codec_for(t, *r.pt) : nullptr;
    const std::string name = codec ? codec->name : std::string();
    if (r.frames) {
        while (auto f = r.frames->poll_frame()) {
            ++t.stats.frames_received;
            ++r.counters.frames;
            events_.push_back(event::MediaFrame{t.id, r.rid, name, r.pt.value_or(0), f->frame.rtp_timestamp,
                                                f->frame.keyframe, std::move(f->frame.data)});
        }
        if (auto skipped = r.frames->poll_skipped_to(); skipped && r.nack) r.nack->clear_before(*skipped);
        if (r.frames->poll_keyframe_request()) send_keyframe_request(r);
    }
    if (r.nack) {
        while (auto n = r.nack->poll_nack()) {
            n->sender_ssrc = local_ssrc();
            std::vector<rtcp::RtcpPacket> packets{*n};
            out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
            ++t.stats.nacks_sent;
            ++r.counters.nacks;
        }
        if (r.nack->poll_keyframe_request()) send_keyframe_request(r);
    }
    if (r.depacketizer) {
        while (auto f = r.depacketizer->poll_frame()) {
            ++t.stats.frames_received;
            ++r.counters.frames;
            events_.push_back(event::MediaFrame{t.id, r.rid, name, r.pt.value_or(0), f->rtp_timestamp, f->keyframe,
                                                std::move(f->data)});
        }
    }
}

void MediaEngine::handle_rtcp(Timestamp now, ByteView packet) {
    auto compound = rtcp::parse_rtcp_compound(packet);
    if (!compound) {
        ++dropped_;
        return;
    }
    if (raw_events_) events_.push_back(event::RtcpPacket{std::vector<uint8_t>(packet.begin(), packet.end())});
    auto handle_blocks = [&](const std::vector<rtcp::ReportBlock>& blocks) {
        for (const auto& b : blocks) {
            for_each_send_stream([&](Transceiver& t) {
                if (t.sender->ssrc != b.source_ssrc) return;
                // Loss for the FEC level: smoothed over reports (~1 s apart), so one bad second is not a trend.
                t.sender->loss = 0.6 * t.sender->loss + 0.4 * (b.fraction_lost / 256.0);
                if (cc_ && !t.twcc_ext && !t.ccfb) {
                    // Without transport-wide feedback the loss-based estimate learns the loss from the reports.
                    Sender& snd = *t.sender;
                    if (snd.last_block) {
                        const int64_t expected = static_cast<int64_t>(b.extended_highest_sequence) -
                                                 static_cast<int64_t>(snd.last_block->extended_highest_sequence);
                        const int64_t lost = static_cast<int64_t>(b.cumulative_lost) - snd.last_block->cumulative_lost;
                        if (expected > 0) handle_cc_update(cc_->on_loss_report(now, std::clamp<int64_t>(lost, 0, expected), expected));
                    }
                    snd.last_block = b;
                }
                if (auto rtt = t.sender->stats->handle_report_block(now, b)) {
                    t.rtt = *rtt;
                    t.send_counters.total_rtt += *rtt;
                    ++t.send_counters.rtt_measurements;
                    if (cc_) handle_cc_update(cc_->on_rtt(now, *rtt));
                    t.sender->nack->set_rtt(*rtt);
                    update_protection(t);
                    for (auto& [ssrc, r] : receivers_) {
                        if (r->transceiver != t.index) continue;
                        if (r->frames) r->frames->set_rtt(*rtt);
                        if (r->nack) r->nack->set_rtt(*rtt);
                    }
                }
            });
        }
    };
    for (const auto& p : compound->packets) {
        if (auto* sr = std::get_if<rtcp::SenderReport>(&p)) {
            if (auto it = receivers_.find(sr->sender_ssrc); it != receivers_.end() && it->second->stats) {
                it->second->stats->handle_sender_report(now, *sr);
                count_sender_report(*it->second, *sr);
            }
            handle_blocks(sr->report_blocks);
        } else if (auto* rr = std::get_if<rtcp::ReceiverReport>(&p)) {
            handle_blocks(rr->report_blocks);
        } else if (auto* nack = std::get_if<rtcp::Nack>(&p)) {
            for_each_send_stream([&](Transceiver& t) {
                if (t.sender->ssrc != nack->media_ssrc) return;
                ++t.stats.nacks_received;
                t.sender->nack->handle_nack(now, *nack);
                while (auto re = t.sender->nack->poll_transmit()) {
                    ++t.stats.retransmitted_packets_sent;
                    count_retransmission(t, *re);
                    if (!t.rid.empty()) mark_repaired_rid(t, *re);
                    emit_rtp(now, t, std::move(*re), cc::PacketKind::Retransmission);
                }
            });
        } else if (auto* twcc = std::get_if<rtcp::TransportFeedback>(&p)) {
            if (cc_) {
                cc::TransportFeedback plain;
                plain.receive_time = now;
                for (const auto& pk : twcc->packets) plain.packets.push_back({pk.sequence_number, pk.arrival});
                handle_transport_feedback(now, plain);
            }
        } else if (auto* ccfb = std::get_if<rtcp::CongestionControlFeedback>(&p)) {
            if (cc_) handle_ccfb(now, *ccfb);
        } else if (auto* remb = std::get_if<rtcp::Remb>(&p)) {
            // The receiver's (or an SFU's) cap on what we send, e.g. Janus's {"bitrate": N}: GCC keeps its target
            // below it, whatever transport-cc feedback says.
            if (cc_) handle_cc_update(cc_->on_remb(now, remb->bitrate));
        } else if (auto* pli = std::get_if<rtcp::Pli>(&p)) {
            for_each_send_stream([&](Transceiver& t) {
                if (t.sender->ssrc != pli->media_ssrc) return;
                ++t.stats.keyframe_requests_received;
                ++t.send_counters.plis;
                events_.push_back(event::KeyframeRequest{t.id, t.rid});
            });
        } else if (auto* fir = std::get_if<rtcp::Fir>(&p)) {
            for (const auto& e : fir->entries)
                for_each_send_stream([&](Transceiver& t) {
                    if (t.sender->ssrc != e.ssrc) return;
                    ++t.stats.keyframe_requests_received;
                    ++t.send_counters.firs;
                    events_.push_back(event::KeyframeRequest{t.id, t.rid});
                });
        }
    }
    release_paced(now);  // retransmissions, and pacing rates or probes from the feedback
}

void MediaEngine::schedule_report(Timestamp now) {
    // RFC 3550 6.2 with WebRTC's ~1 s interval, randomized over [0.5, 1.5] so peers do not synchronize.
    next_report_ = now + TimeDelta::millis(500 + static_cast<int64_t>(random_.next_u32() % 1000));
}

void MediaEngine::send_report(Timestamp now) {
    std::vector<rtcp::ReportBlock> blocks;
    for (auto& [ssrc, r] : receivers_) {
        if (r->rtx || !r->stats) continue;
        if (auto b = r->stats->make_report_block(now)) blocks.push_back(*b);
        if (blocks.size() == 31) break;
    }
    std::vector<rtcp::RtcpPacket> packets;
    bool first = true;
    for_each_send_stream([&](Transceiver& t) {
        if (!t.sender->stats->has_sent()) return;
        rtcp::SenderReport sr = t.sender->stats->make_sender_report(now);
        if (first) sr.report_blocks = blocks;
        first = false;
        packets.push_back(std::move(sr));
    });
    if (packets.empty()) {
        if (blocks.empty()) return; // nothing sent, nothing received: nothing to report
        rtcp::ReceiverReport rr;
        rr.sender_ssrc = local_ssrc();
        rr.report_blocks = std::move(blocks);
        packets.push_back(std::move(rr));
    }
    rtcp::Sdes sdes;
    sdes.chunks.push_back(rtcp::Sdes::Chunk{local_ssrc(), {rtcp::Sdes::Item{rtcp::kSdesCname, cname_}}});
    packets.push_back(std::move(sdes));
    out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
}

void MediaEngine::handle_timeout(Timestamp now) {
    for (auto& [ssrc, r] : receivers_) {
        if (r->frames) r->frames->handle_timeout(now);
        if (r->nack) r->nack->handle_timeout(now);
        drain_receiver(now, *r);
    }
    if (now >= next_report_) {
        send_report(now);
        schedule_report(now);
    }
    if (now >= next_twcc_feedback_) send_transport_feedback(now);
    if (cc_ && now >= next_cc_process_) {
        handle_cc_update(cc_->on_process_interval(now));
        next_cc_process_ = now + cc::GoogCcNetworkController::kProcessInterval;
    }
    if (remote_estimator_) {
        remote_estimator_->handle_timeout(now);
        while (auto rate = remote_estimator_->poll_remb()) send_remb(*rate);
    }
    release_paced(now);
}

void MediaEngine::send_remb(DataRate rate) {
    rtcp::Remb remb;
    remb.sender_ssrc = local_ssrc();
    remb.bitrate = rate;
    for (const auto& [ssrc, r] : receivers_)
        if (!r->rtx && remb.ssrcs.size() < 16) remb.ssrcs.push_back(ssrc);
    const std::vector<rtcp::RtcpPacket> packets{std::move(remb)};
    out_.push_back(OutgoingPacket{true, rtcp::build_rtcp_compound(packets)});
}

std::optional<OutgoingPacket> MediaEngine::poll_packet() {
    if (out_.empty()) return std::nullopt;
    OutgoingPacket p = std::move(out_.front());
    out_.pop_front();
    return p;
}

Timestamp MediaEngine::poll_timeout() const {
    Timestamp t = std::min({next_report_, next_twcc_feedback_, next_cc_process_});
    if (remote_estimator_) t = std::min(t, remote_estimator_->poll_timeout());
    if (pacer_) t = std::min(t, pacer_->poll_timeout());
    for (const auto& [ssrc, r] : receivers_) {
        if (r->frames) t = std::min(t, r->frames->poll_timeout());
        if (r->nack) t = std::min(t, r->nack->poll_timeout());
    }
    return t;
}

std::vector<RtpStats> MediaEngine::stats() const {
    std::vector<RtpStats> out;
    for (size_t i = 0; i < transceivers_.size(); ++i) {
        RtpStats s = transceivers_[i].stats;
        s.transceiver = transceivers_[i].id;
        s.rtt = transceivers_[i].rtt;
        if (const auto& snd = transceivers_[i].sender) {
            s.fec_packets_sent = snd->fec_packets + snd->flexfec_packets;
            s.fec_protection = snd->fec ? snd->fec->params().protection : 0;
            if (snd->flexfec) s.fec_protection = snd->flexfec->params().protection;
        }
        for (const auto& l : transceivers_[i].layers) { // simulcast: the transceiver's sending is its layers'
            s.packets_sent += l.stats.packets_sent;
            s.bytes_sent += l.stats.bytes_sent;
            s.frames_sent += l.stats.frames_sent;
            s.retransmitted_packets_sent += l.stats.retransmitted_packets_sent;
            s.nacks_received += l.stats.nacks_received;
            s.keyframe_requests_received += l.stats.keyframe_requests_received;
            s.padding_packets_sent += l.stats.padding_packets_sent;
            s.padding_bytes_sent += l.stats.padding_bytes_sent;
            if (l.sender) s.fec_packets_sent += l.sender->fec_packets;
            if (!s.rtt) s.rtt = l.rtt;
        }
        for (const auto& [ssrc, r] : receivers_) {
            if (r->transceiver != i) continue;
            if (r->ulpfec) s.fec_packets_recovered += r->ulpfec->stats().recovery.recovered;
            if (!r->stats) continue;
            s.packets_lost += static_cast<uint64_t>(std::max<int64_t>(0, r->stats->cumulative_lost()));
            s.jitter_seconds = std::max(s.jitter_seconds, r->stats->jitter_time().seconds_f());
        }
        for (const auto& [ssrc, f] : flexfec_rx_)
            if (f.transceiver == i) s.fec_packets_recovered += f.fec->stats().recovery.recovered;
        out.push_back(s);
    }
    return out;
}

} // namespace rtcpp::pc
