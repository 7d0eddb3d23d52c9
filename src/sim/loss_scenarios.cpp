#include "sim/loss_scenarios.hpp"

#include "rtcp/rtcp_packets.hpp"
#include "rtp/fec_protection.hpp"
#include "rtp/flexfec_03.hpp"
#include "rtp/frame_buffer.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/nack_responder.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"
#include "rtp/vp8_payload.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

namespace rtcpp::sim {

namespace {

constexpr uint16_t kPort = 5004;
constexpr uint8_t kMediaPt = 96;
constexpr uint8_t kRtxPt = 97;
constexpr uint32_t kMediaSsrc = 0x11223344;
constexpr uint32_t kRtxSsrc = 0x55667788;
constexpr uint32_t kReceiverSsrc = 0x99AABBCC;
constexpr uint8_t kFlexfecPt = 98;
constexpr uint32_t kFlexfecSsrc = 0x0F0E0D0C;

// LossScenarioConfig::fec: FlexFEC hooks at the hybrid NACK/FEC level for the configured path.
struct FlexfecProtection {
    explicit FlexfecProtection(const LossScenarioConfig& c)
        : encoder(kFlexfecSsrc, kFlexfecPt, kMediaSsrc), receiver(kFlexfecSsrc, kFlexfecPt, kMediaSsrc) {
        rtp::ProtectionInput in;
        in.loss = c.loss;
        in.rtt = c.rtt;
        in.nack_enabled = c.nack;
        in.mean_burst = c.bursty ? c.mean_burst : 1;
        const int64_t frame_bytes = (c.video_rate * TimeDelta::micros(1000000 / c.fps)).bytes();
        in.packets_per_frame = static_cast<size_t>(std::max<int64_t>(1, (frame_bytes + static_cast<int64_t>(c.max_payload) - 1) /
                                                                          static_cast<int64_t>(c.max_payload)));
        decision = rtp::choose_protection(in);
        encoder.set_params(decision.fec);
    }

    ProtectionHooks hooks() {
        ProtectionHooks h;
        h.protect = [this](Timestamp, ByteView media, std::vector<std::vector<uint8_t>>& out) {
            const auto v = rtp::RtpPacketView::parse(media);
            if (!v) return;
            encoder.add_media_packet(*v);
            while (auto f = encoder.poll_fec_packet()) out.push_back(std::move(*f));
        };
        h.recover = [this](Timestamp, ByteView packet, std::vector<std::vector<uint8_t>>& recovered) {
            receiver.handle_packet(packet);
            while (auto r = receiver.poll_recovered()) recovered.push_back(std::move(*r));
        };
        return h;
    }

    rtp::ProtectionDecision decision;
    rtp::FlexfecEncoder encoder;
    rtp::FlexfecReceiver receiver;
};

// What both ends share only for measurement: capture times by RTP timestamp, render times.
struct Log {
    std::map<uint32_t, Timestamp> captured;
    std::map<uint32_t, Timestamp> rendered;
    uint64_t keyframes = 0;
};

class VideoSender final : public Endpoint {
public:
    VideoSender(const LossScenarioConfig& c, SocketAddr local, SocketAddr remote, Log& log, Random& rng)
        : config_(c), local_(local), remote_(remote), log_(log), rng_(rng),
          responder_(kMediaSsrc, responder_config(c)) {
        rtp::Vp8PayloadDescriptor d;
        d.picture_id = static_cast<uint16_t>(rng_.uniform(0x8000));
        packetizer_ = rtp::Vp8Packetizer(d);
        seq_ = static_cast<uint16_t>(rng_.next_u32());
        ts_base_ = rng_.next_u32();
        responder_.set_rtt(c.rtt);
    }

    static rtp::NackResponderConfig responder_config(const LossScenarioConfig& c) {
        rtp::NackResponderConfig r;
        if (c.rtx) r.rtx = rtp::RtxConfig{kRtxPt, kRtxSsrc, 1};
        r.target_rate = c.video_rate;
        r.max_retransmit_share = c.max_retransmit_share;
        r.default_rtt = c.rtt;
        // As long as the receiver keeps asking (NackGeneratorConfig::max_age), with one RTT for the way back.
        r.history.max_age = TimeDelta::seconds(2) + c.rtt;
        r.history.max_packets = 4096;
        return r;
    }

    void handle_datagram(Timestamp now, const Datagram& d) override {
        ByteReader r(d.bytes);
        while (!r.empty()) {
            const auto h = rtcp::read_rtcp_header(r);
            if (!h) return;
            if (h->packet_type == rtcp::kRtpFeedback && h->count == rtcp::kFmtNack) {
                if (const auto nack = rtcp::Nack::parse(*h)) responder_.handle_nack(now, *nack);
            } else if (h->packet_type == rtcp::kPayloadFeedback && h->count == rtcp::kFmtPli) {
                // An encoder does not answer every PLI: one keyframe per RTT (at least 300 ms apart) is enough,
                // more only feed the loss that made the receiver ask.
                const TimeDelta gap = std::max(config_.rtt, TimeDelta::millis(300));
                if (rtcp::Pli::parse(*h) && (last_keyframe_ == Timestamp::minus_infinity() || now - last_keyframe_ >= gap))
                    force_keyframe_ = true;
            }
        }
        while (auto p = responder_.poll_transmit()) out_.push_back(std::move(*p));
    }

    void handle_timeout(Timestamp now) override {
        if (!start_) {
            start_ = now;
            next_frame_ = now;
        }
        while (now >= next_frame_ && next_frame_ < *start_ + config_.duration) {
            send_frame(next_frame_);
            ++frame_index_;
            next_frame_ = *start_ + TimeDelta::micros(frame_index_ * 1000000 / config_.fps);
        }
    }

    std::optional<Datagram> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        Datagram d{local_, remote_, std::move(out_.front())};
        out_.pop_front();
        return d;
    }

    Timestamp poll_timeout() override {
        if (!start_) return Timestamp::zero();
        if (next_frame_ >= *start_ + config_.duration) return Timestamp::plus_infinity();
        return next_frame_;
    }

    uint64_t media_bytes = 0;
    uint64_t fec_bytes = 0;
    const rtp::NackResponder& responder() const { return responder_; }

private:
    void send_frame(Timestamp capture) {
        const bool periodic = last_keyframe_ == Timestamp::minus_infinity() ||
                              capture - last_keyframe_ >= config_.keyframe_interval;
        const bool keyframe = periodic || force_keyframe_;
        force_keyframe_ = false;
        if (keyframe) {
            last_keyframe_ = capture;
            ++log_.keyframes;
        }
        const int64_t delta_bytes = (config_.video_rate * TimeDelta::micros(1000000 / config_.fps)).bytes();
        const size_t size = static_cast<size_t>(std::max<int64_t>(
            16, keyframe ? static_cast<int64_t>(static_cast<double>(delta_bytes) * config_.keyframe_size_factor)
                         : delta_bytes));
        frame_.resize(size);
        rng_.fill(frame_);
        frame_[0] = keyframe ? 0x10 : 0x11;  // VP8 frame tag: P bit clear on keyframes
        const uint32_t ts = ts_base_ + static_cast<uint32_t>((capture - *start_).us() * 90 / 1000);
        log_.captured[ts] = capture;
        const auto payloads = packetizer_.packetize(frame_, config_.max_payload);
        if (!payloads.ok()) return;
        for (const auto& p : *payloads) {
            rtp::RtpHeader h;
            h.payload_type = kMediaPt;
            h.ssrc = kMediaSsrc;
            h.sequence_number = seq_++;
            h.timestamp = ts;
            h.marker = p.marker;
            std::vector<uint8_t> packet = rtp::build_rtp_packet(h, p.data);
            media_bytes += packet.size();
            responder_.on_packet_sent(capture, packet);
            if (config_.protection.protect) {
                protection_.clear();
                config_.protection.protect(capture, packet, protection_);
                for (auto& f : protection_) {
                    fec_bytes += f.size();
                    pending_fec_.push_back(std::move(f));
                }
            }
            out_.push_back(std::move(packet));
        }
        for (auto& f : pending_fec_) out_.push_back(std::move(f));
        pending_fec_.clear();
    }

    const LossScenarioConfig& config_;
    SocketAddr local_, remote_;
    Log& log_;
    Random& rng_;
    rtp::NackResponder responder_;
    rtp::Vp8Packetizer packetizer_;
    uint16_t seq_ = 0;
    uint32_t ts_base_ = 0;
    std::optional<Timestamp> start_;
    Timestamp next_frame_ = Timestamp::zero();
    int64_t frame_index_ = 0;
    Timestamp last_keyframe_ = Timestamp::minus_infinity();
    bool force_keyframe_ = false;
    std::vector<uint8_t> frame_;
    std::vector<std::vector<uint8_t>> protection_;
    std::vector<std::vector<uint8_t>> pending_fec_;
    std::deque<std::vector<uint8_t>> out_;
};

class VideoReceiver final : public Endpoint {
public:
    VideoReceiver(const LossScenarioConfig& c, SocketAddr local, SocketAddr remote, Log& log)
        : config_(c), local_(local), remote_(remote), log_(log), nack_(nack_config()), buffer_(buffer_config(c)) {
        nack_.set_rtt(c.rtt);
        buffer_.set_rtt(c.rtt);
    }

    static rtp::NackGeneratorConfig nack_config() {
        rtp::NackGeneratorConfig n;
        n.sender_ssrc = kReceiverSsrc;
        n.media_ssrc = kMediaSsrc;
        return n;
    }
    static rtp::FrameBufferConfig buffer_config(const LossScenarioConfig& c) {
        rtp::FrameBufferConfig f;
        f.codec = rtp::VideoCodec::Vp8;
        f.nack_enabled = c.nack;
        f.default_rtt = c.rtt;
        return f;
    }

    void handle_datagram(Timestamp now, const Datagram& d) override {
        const auto view = rtp::RtpPacketView::parse(d.bytes);
        ByteView for_fec = d.bytes;
        std::optional<std::vector<uint8_t>> original;
        if (view && view->ssrc() == kMediaSsrc && view->payload_type() == kMediaPt) {
            media(now, *view, false);
        } else if (view && view->ssrc() == kRtxSsrc && view->payload_type() == kRtxPt) {
            original = rtp::unwrap_rtx(*view, kMediaPt, kMediaSsrc);
            if (!original) return;
            if (const auto o = rtp::RtpPacketView::parse(*original)) media(now, *o, true);
            for_fec = *original;  // a retransmitted packet completes FEC equations as well as the original would
        }
        if (config_.protection.recover) {
            recovered_.clear();
            config_.protection.recover(now, for_fec, recovered_);
            for (const auto& r : recovered_)
                if (const auto o = rtp::RtpPacketView::parse(r)) media(now, *o, true);
        }
        process(now);
    }

    void handle_timeout(Timestamp now) override { process(now); }

    std::optional<Datagram> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        Datagram d{local_, remote_, std::move(out_.front())};
        out_.pop_front();
        return d;
    }

    Timestamp poll_timeout() override {
        Timestamp t = buffer_.poll_timeout();
        if (config_.nack) t = std::min(t, nack_.poll_timeout());
        return t;
    }

    uint64_t plis = 0;
    uint64_t late = 0;
    const rtp::NackGenerator& nack() const { return nack_; }
    const rtp::FrameBuffer& buffer() const { return buffer_; }

private:
    void media(Timestamp now, const rtp::RtpPacketView& v, bool retransmitted) {
        buffer_.handle_packet(now, v, retransmitted);
        if (config_.nack) nack_.handle_packet(now, v.sequence_number(), rtp::vp8_is_keyframe(v.payload()));
    }

    void process(Timestamp now) {
        buffer_.handle_timeout(now);
        if (config_.nack) {
            nack_.handle_timeout(now);
            while (auto bytes = nack_.poll_transmit()) out_.push_back(std::move(*bytes));
        }
        bool want_keyframe = buffer_.poll_keyframe_request();
        if (nack_.poll_keyframe_request()) want_keyframe = true;
        if (want_keyframe) send_pli(now);
        while (auto f = buffer_.poll_frame()) {
            log_.rendered.emplace(f->frame.rtp_timestamp, now);
            if (f->completed > f->render_time) ++late;
        }
        if (const auto s = buffer_.poll_skipped_to()) nack_.clear_before(*s);
    }

    void send_pli(Timestamp now) {
        // One PLI per two RTTs at most: a second one before the keyframe could arrive only costs bandwidth.
        if (last_pli_ && now - *last_pli_ < std::max(config_.rtt * 2, TimeDelta::millis(300))) return;
        last_pli_ = now;
        rtcp::Pli pli{kReceiverSsrc, kMediaSsrc};
        std::vector<uint8_t> bytes;
        ByteWriter w(bytes);
        pli.write(w);
        out_.push_back(std::move(bytes));
        ++plis;
    }

    const LossScenarioConfig& config_;
    SocketAddr local_, remote_;
    Log& log_;
    rtp::NackGenerator nack_;
    rtp::FrameBuffer buffer_;
    std::optional<Timestamp> last_pli_;
    std::vector<std::vector<uint8_t>> recovered_;
    std::deque<std::vector<uint8_t>> out_;
};

TimeDelta percentile(std::vector<TimeDelta> v, double q) {
    if (v.empty()) return TimeDelta::zero();
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

} // namespace

LossScenarioResult run_loss_scenario(const LossScenarioConfig& config) {
    Network net(config.seed);
    Random rng(config.seed * 7919 + 1);
    LinkConfig fwd;
    fwd.delay = config.rtt / 2;
    fwd.jitter = config.jitter;
    fwd.jitter_reorders = false;
    if (config.loss > 0) {
        if (config.bursty) fwd.burst_loss = GilbertElliott::from_average(config.loss, config.mean_burst);
        else fwd.loss = config.loss;
    }
    LinkConfig rev = fwd;
    if (!config.feedback_loss) {
        rev.loss = 0;
        rev.burst_loss.reset();
    }
    const LinkId fwd_link = net.add_link(fwd);
    const LinkId rev_link = net.add_link(rev);

    Log log;
    const SocketAddr a(IpAddr::v4(10, 0, 0, 1), kPort), b(IpAddr::v4(10, 0, 1, 1), kPort);
    LossScenarioConfig effective = config;
    std::optional<FlexfecProtection> flexfec;
    if (config.fec && !config.protection.protect && !config.protection.recover) {
        flexfec.emplace(config);
        effective.protection = flexfec->hooks();
    }
    VideoSender sender(effective, a, b, log, rng);
    VideoReceiver receiver(effective, b, a, log);
    net.add_host(sender, {a.ip()}, {.uplink = fwd_link});
    net.add_host(receiver, {b.ip()}, {.uplink = rev_link});
    // Let the last frames finish: recovery and playout take a few RTTs.
    net.run_until(Timestamp::zero() + config.duration + TimeDelta::seconds(2) + config.rtt * 4);

    LossScenarioResult r;
    const TimeDelta one_way = config.rtt / 2;
    const Timestamp count_until = Timestamp::zero() + config.duration - TimeDelta::seconds(1);
    std::vector<TimeDelta> latencies;
    for (const auto& [ts, captured] : log.captured) {
        if (captured >= count_until) continue;
        ++r.frames_sent;
        const auto it = log.rendered.find(ts);
        if (it == log.rendered.end()) continue;
        ++r.frames_rendered;
        const TimeDelta added = it->second - captured - one_way;
        latencies.push_back(added);
        r.latency_series.emplace_back(captured.seconds_f(), added.ms_f());
    }
    std::sort(r.latency_series.begin(), r.latency_series.end());
    r.rendered_share = r.frames_sent ? static_cast<double>(r.frames_rendered) / static_cast<double>(r.frames_sent) : 0;
    r.latency_p50 = percentile(latencies, 0.5);
    r.latency_p95 = percentile(latencies, 0.95);
    r.latency_max = percentile(latencies, 1.0);
    r.media_bytes = sender.media_bytes;
    r.retransmitted_bytes = sender.responder().stats().retransmitted_bytes;
    r.fec_bytes = sender.fec_bytes;
    if (r.media_bytes) {
        r.retransmit_overhead = static_cast<double>(r.retransmitted_bytes) / static_cast<double>(r.media_bytes);
        r.fec_overhead = static_cast<double>(r.fec_bytes) / static_cast<double>(r.media_bytes);
    }
    r.nack_packets = receiver.nack().stats().nack_packets;
    r.keyframe_requests = receiver.plis;
    r.keyframes_sent = log.keyframes;
    r.forward_lost = net.link_stats(fwd_link).lost;
    r.frames_late = receiver.late;
    const auto& rs = sender.responder().stats();
    r.retransmissions = rs.retransmitted;
    r.nack_not_in_history = rs.not_in_history;
    r.nack_rate_limited = rs.rate_limited;
    r.nack_too_soon = rs.too_soon;
    r.nack_given_up = receiver.nack().stats().given_up;
    if (flexfec) {
        r.fec_recovered = flexfec->receiver.stats().recovery.recovered;
        r.fec_protection = flexfec->decision.fec.protection;
    }
    return r;
}

} // namespace rtcpp::sim
