#include "sim/cc_endpoints.hpp"

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"
#include "rtcp/transport_feedback.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::sim {

namespace {

constexpr uint8_t kMediaMagic = 'M';
constexpr uint8_t kTcpDataMagic = 'T';
constexpr uint8_t kTcpAckMagic = 'A';
constexpr size_t kMediaHeader = 13;
constexpr size_t kMaxPacketsPerFeedback = 1000;

int64_t size_to_datagram(DataSize wire) {
    return std::max<int64_t>(static_cast<int64_t>(kMediaHeader), wire.bytes() - kIpUdpOverhead);
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// MediaSender

MediaSender::MediaSender(const MediaSenderConfig& config)
    : config_(config),
      random_(config.seed),
      controller_(config.gcc),
      pacer_(config.pacer),
      target_(config.start_rate),
      next_frame_(config.start),
      next_process_(config.start) {}

Timestamp MediaSender::poll_timeout() {
    if (!started_) return config_.start;
    if (stalled(last_run_)) return std::min(next_process_, config_.stall_start + config_.stall_duration);
    Timestamp t = std::min(next_process_, pacer_.poll_timeout());
    if (next_frame_ < config_.stop) t = std::min(t, next_frame_);
    return t;
}

std::optional<Datagram> MediaSender::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

void MediaSender::handle_timeout(Timestamp now) { run(now); }

void MediaSender::apply(const cc::NetworkControlUpdate& update, Timestamp now) {
    if (update.target_rate) target_ = update.target_rate->target_rate;
    if (update.pacer_config) pacer_.set_pacing_rates(update.pacer_config->pacing_rate, update.pacer_config->padding_rate);
    for (auto c : update.probe_cluster_configs) {
        c.at_time = now;
        probe_log_.emplace_back(now, c.target_data_rate);
        pacer_.create_probe_cluster(c);
    }
}

void MediaSender::produce_frame(Timestamp now) {
    const DataRate rate = std::clamp(target_, config_.min_rate, config_.max_rate);
    const double variation = 1.0 + config_.frame_size_variation * (2.0 * random_.uniform_double() - 1.0);
    const double frame_wire_bytes = static_cast<double>(rate.bps()) / 8.0 / config_.fps * variation;
    const double max_wire = static_cast<double>(config_.max_packet_size + kIpUdpOverhead);
    const auto packets = static_cast<int64_t>(std::max(1.0, std::ceil(frame_wire_bytes / max_wire)));
    const auto per_packet = static_cast<int64_t>(frame_wire_bytes / static_cast<double>(packets));
    for (int64_t i = 0; i < packets; ++i) {
        const uint64_t id = next_packet_id_++;
        const DataSize wire = DataSize::bytes(std::max<int64_t>(per_packet, kMediaHeader + kIpUdpOverhead));
        queued_sizes_[id] = static_cast<size_t>(size_to_datagram(wire));
        pacer_.enqueue(now, {id, cc::PacketKind::Video, wire});
    }
}

void MediaSender::send(const cc::Pacer::PacedPacket& p, Timestamp now) {
    size_t bytes;
    if (p.is_padding) {
        bytes = static_cast<size_t>(size_to_datagram(p.size));
        ++padding_sent_;
    } else {
        auto it = queued_sizes_.find(p.id);
        bytes = it == queued_sizes_.end() ? kMediaHeader : it->second;
        if (it != queued_sizes_.end()) queued_sizes_.erase(it);
        ++packets_sent_;
    }
    const uint16_t seq = next_seq_++;
    Datagram d{config_.local, config_.remote, {}};
    d.bytes.reserve(bytes);
    ByteWriter w(d.bytes);
    w.write_u8(kMediaMagic);
    w.write_u8(config_.flow_id);
    w.write_u16(seq);
    w.write_u64(static_cast<uint64_t>(now.us()));
    w.write_u8(p.is_padding ? 1 : 0);
    if (d.bytes.size() < bytes) w.write_zeros(bytes - d.bytes.size());

    cc::SentPacket sp;
    sp.transport_seq = seq;
    sp.send_time = now;
    sp.size = DataSize::bytes(static_cast<int64_t>(d.bytes.size()) + kIpUdpOverhead);
    sp.pacing_info = p.pacing_info;
    sp.kind = p.kind;
    const cc::SentPacketInfo info = adapter_.add_packet(sp);
    apply(controller_.on_sent_packet(info), now);
    out_.push_back(std::move(d));
}

void MediaSender::run(Timestamp now) {
    if (now < config_.start) return;
    if (!started_) {
        started_ = true;
        cc::TargetRateConstraints c;
        c.at_time = now;
        c.min_data_rate = config_.min_rate;
        c.max_data_rate = config_.max_rate;
        c.starting_rate = config_.start_rate;
        apply(controller_.on_target_rate_constraints(c), now);
        next_frame_ = now;
        next_process_ = now;
    }
    while (next_process_ <= now) {
        apply(controller_.on_process_interval(now), now);
        next_process_ += cc::GoogCcNetworkController::kProcessInterval;
        const auto& dbwe = controller_.delay_based();
        rate_log_.push_back({now, target_, controller_.delay_based_estimate(),
                             controller_.acknowledged_bitrate().value_or(DataRate::zero()), dbwe.state(),
                             dbwe.detector().threshold(), controller_.loss_based().fraction_loss(),
                             dbwe.rate_control().link_capacity().has_estimate(),
                             dbwe.rate_control().link_capacity().estimate(),
                             dbwe.queue_delay().value_or(TimeDelta::zero()), dbwe.competing_queue(now)});
    }
    last_run_ = now;
    if (stalled(now)) return;
    const TimeDelta frame_interval = TimeDelta::micros(static_cast<int64_t>(1e6 / config_.fps));
    if (!stall_caught_up_ && now >= config_.stall_start + config_.stall_duration) {
        // Out of a stall: the frames the encoder missed go to the pacer at once.
        stall_caught_up_ = true;
        while (next_frame_ + frame_interval <= now && next_frame_ < config_.stop) {
            produce_frame(now);
            next_frame_ += frame_interval;
        }
    }
    if (next_frame_ <= now && now < config_.stop) {
        produce_frame(now);
        next_frame_ += frame_interval;
        if (next_frame_ <= now) next_frame_ = now + frame_interval;
    }
    while (auto p = pacer_.poll_send(now)) send(*p, now);
}

void MediaSender::handle_datagram(Timestamp now, const Datagram& d) {
    // Transport-cc feedback (RTCP RTPFB FMT 15), parsed by the RTCP module.
    ByteReader r(d.bytes);
    const auto h = rtcp::read_rtcp_header(r);
    if (!h || h->packet_type != rtcp::kRtpFeedback || h->count != rtcp::kFmtTransportCc) {
        ++malformed_;
        return;
    }
    const auto parsed = rtcp::TransportFeedback::parse(*h);
    if (!parsed || parsed->media_ssrc != config_.flow_id) {
        ++malformed_;
        return;
    }
    cc::TransportFeedback fb;
    fb.receive_time = now;
    fb.packets.reserve(parsed->packets.size());
    for (const auto& p : parsed->packets) fb.packets.push_back({p.sequence_number, p.arrival});
    ++feedback_received_;
    if (auto result = adapter_.process_feedback(fb)) apply(controller_.on_transport_feedback(*result), now);
    while (auto p = pacer_.poll_send(now)) send(*p, now);
}

// ---------------------------------------------------------------------------------------------------------------
// MediaReceiver

MediaReceiver::MediaReceiver(SocketAddr local, TimeDelta feedback_interval) : local_(local), interval_(feedback_interval) {}

void MediaReceiver::handle_datagram(Timestamp now, const Datagram& d) {
    ByteReader r(d.bytes);
    const auto magic = r.read_u8();
    const auto flow = r.read_u8();
    const auto seq = r.read_u16();
    const auto sent = r.read_u64();
    const auto kind = r.read_u8();
    if (!magic || *magic != kMediaMagic || !flow || !seq || !sent || !kind) {
        ++malformed_;
        return;
    }
    remote_ = d.from;
    flow_id_ = *flow;
    const int64_t s = unwrapper_.unwrap(*seq);
    arrivals_.push_back({s, Timestamp::micros(static_cast<int64_t>(*sent)), now, d.bytes.size(), *kind == 1});
    if (!next_to_report_) next_to_report_ = s;
    if (s >= *next_to_report_) pending_.emplace(s, now);  // a late packet already reported lost stays lost
    if (!next_feedback_.is_finite()) next_feedback_ = now + interval_;
}

void MediaReceiver::send_feedback(Timestamp now) {
    (void)now;
    std::vector<rtcp::TransportFeedback::Packet> packets;
    while (!pending_.empty() && remote_) {
        const int64_t base = *next_to_report_;
        const int64_t highest = pending_.rbegin()->first;
        const int64_t count = std::min<int64_t>(highest - base + 1, kMaxPacketsPerFeedback);
        packets.clear();
        for (int64_t s = base; s < base + count; ++s) {
            auto it = pending_.find(s);
            rtcp::TransportFeedback::Packet p;
            p.sequence_number = static_cast<uint16_t>(s & 0xffff);
            if (it != pending_.end()) {
                p.arrival = it->second;
                pending_.erase(it);
            }
            packets.push_back(p);
        }
        next_to_report_ = base + count;
        const auto fb = rtcp::TransportFeedback::create(0, flow_id_, feedback_count_++, packets);
        if (!fb) {
            ++malformed_;  // arrivals too far apart for one message: those reports are lost
            continue;
        }
        Datagram d{local_, *remote_, {}};
        ByteWriter w(d.bytes);
        fb->write(w);
        out_.push_back(std::move(d));
        ++feedback_sent_;
    }
}

void MediaReceiver::handle_timeout(Timestamp now) {
    if (now < next_feedback_) return;
    send_feedback(now);
    // The next report is due one interval after the next arrival.
    next_feedback_ = Timestamp::plus_infinity();
}

std::optional<Datagram> MediaReceiver::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

Timestamp MediaReceiver::poll_timeout() { return next_feedback_; }

// ---------------------------------------------------------------------------------------------------------------
// TCP-like flow

TcpSender::TcpSender(SocketAddr local, SocketAddr remote, Timestamp start, size_t segment_size, double max_cwnd)
    : local_(local), remote_(remote), start_(start), segment_size_(segment_size), max_cwnd_(max_cwnd) {}

TimeDelta TcpSender::rto() const {
    // As Linux does: the variance term is at least 200 ms, so a queue that grows steadily (small rttvar) does not
    // cause spurious timeouts.
    TimeDelta base = srtt_ ? *srtt_ + std::max(rttvar_ * 4, TimeDelta::millis(200)) : TimeDelta::seconds(1);
    for (int i = 0; i < backoff_ && base < TimeDelta::seconds(8); ++i) base = base * 2;
    return base;
}

TimeDelta TcpSender::pto() const {
    return std::max(srtt_ ? *srtt_ * 2 : TimeDelta::seconds(1), TimeDelta::millis(10));
}

void TcpSender::send_segment(Timestamp now) {
    Datagram d{local_, remote_, {}};
    ByteWriter w(d.bytes);
    w.write_u8(kTcpDataMagic);
    w.write_u32(next_seq_);
    w.write_u64(static_cast<uint64_t>(now.us()));
    w.write_zeros(segment_size_ - d.bytes.size());
    outstanding_.emplace(next_seq_, now);
    ++next_seq_;
    ++sent_;
    out_.push_back(std::move(d));
}

void TcpSender::fill_window(Timestamp now) {
    while (static_cast<double>(outstanding_.size()) < std::floor(cwnd_)) send_segment(now);
}

void TcpSender::handle_timeout(Timestamp now) {
    if (now < start_) return;
    if (!outstanding_.empty() && now - outstanding_.begin()->second >= rto()) {
        // Everything in flight is presumed lost: back to slow start.
        ssthresh_ = std::max(static_cast<double>(outstanding_.size()) / 2, 2.0);
        cwnd_ = 1;
        outstanding_.clear();
        recovery_point_ = next_seq_;
        ++backoff_;
        ++timeouts_;
    } else if (!outstanding_.empty() && !probe_sent_ && last_ack_.is_finite() && now - last_ack_ >= pto()) {
        // Tail loss probe: one more segment, whose acknowledgement reveals the losses before it.
        send_segment(now);
        probe_sent_ = true;
    }
    fill_window(now);
}

void TcpSender::handle_datagram(Timestamp now, const Datagram& d) {
    ByteReader r(d.bytes);
    const auto magic = r.read_u8();
    const auto seq = r.read_u32();
    const auto echo = r.read_u64();
    if (!magic || *magic != kTcpAckMagic || !seq || !echo) return;
    last_ack_ = now;
    probe_sent_ = false;
    const Timestamp acked_send_time = Timestamp::micros(static_cast<int64_t>(*echo));
    auto it = outstanding_.find(*seq);
    if (it != outstanding_.end()) {
        const TimeDelta sample = now - it->second;
        if (!srtt_) {
            srtt_ = sample;
            rttvar_ = sample / 2;
        } else {
            const TimeDelta err = sample > *srtt_ ? sample - *srtt_ : *srtt_ - sample;
            rttvar_ = rttvar_ * 0.75 + err * 0.25;
            srtt_ = *srtt_ * 0.875 + sample * 0.125;
        }
        backoff_ = 0;
        outstanding_.erase(it);
        const bool in_recovery = *seq < recovery_point_;
        if (!in_recovery) {
            if (cwnd_ < ssthresh_) cwnd_ += 1;
            else cwnd_ += 1.0 / cwnd_;
            cwnd_ = std::min(cwnd_, max_cwnd_);
        }
    }
    // RACK: a segment sent sufficiently earlier than one just acknowledged is lost (no reordering here, so a
    // quarter RTT of reordering window is plenty).
    const TimeDelta reo_wnd = srtt_ ? *srtt_ / 4 : TimeDelta::millis(1);
    bool loss = false;
    uint32_t first_lost = 0;
    while (!outstanding_.empty() && outstanding_.begin()->first < *seq &&
           outstanding_.begin()->second + reo_wnd < acked_send_time) {
        if (!loss) first_lost = outstanding_.begin()->first;
        loss = true;
        outstanding_.erase(outstanding_.begin());
    }
    if (loss && first_lost >= recovery_point_) {
        // One halving per window of data.
        ssthresh_ = std::max(cwnd_ / 2, 2.0);
        cwnd_ = ssthresh_;
        recovery_point_ = next_seq_;
        ++loss_events_;
    }
    if (now >= start_) fill_window(now);
}

std::optional<Datagram> TcpSender::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

Timestamp TcpSender::poll_timeout() {
    if (sent_ == 0) return start_;
    if (outstanding_.empty()) return Timestamp::plus_infinity();
    Timestamp t = outstanding_.begin()->second + rto();
    if (!probe_sent_ && last_ack_.is_finite()) t = std::min(t, last_ack_ + pto());
    return t;
}

void TcpReceiver::handle_datagram(Timestamp now, const Datagram& d) {
    ByteReader r(d.bytes);
    const auto magic = r.read_u8();
    const auto seq = r.read_u32();
    const auto sent = r.read_u64();
    if (!magic || *magic != kTcpDataMagic || !seq || !sent) return;
    arrivals_.push_back({Timestamp::micros(static_cast<int64_t>(*sent)), now, d.bytes.size()});
    Datagram ack{local_, d.from, {}};
    ByteWriter w(ack.bytes);
    w.write_u8(kTcpAckMagic);
    w.write_u32(*seq);
    w.write_u64(*sent);
    out_.push_back(std::move(ack));
}

std::optional<Datagram> TcpReceiver::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

} // namespace rtcpp::sim
