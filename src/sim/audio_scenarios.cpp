#include "sim/audio_scenarios.hpp"

#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"
#include "sim/network.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <vector>

namespace rtcpp::sim {

namespace {

constexpr uint32_t kSsrc = 0x5EED;
constexpr uint8_t kOpusPt = 111, kRedPt = 63;
const SocketAddr kSenderAddr(IpAddr::v4(10, 0, 0, 1), 5000);
const SocketAddr kReceiverAddr(IpAddr::v4(10, 0, 0, 2), 5000);

class AudioSender : public Endpoint {
public:
    AudioSender(size_t frames, bool red) : frames_(frames), red_(red) {}
    void handle_datagram(Timestamp, const Datagram&) override {}
    void handle_timeout(Timestamp now) override {
        while (sent_ < frames_ && next_ <= now) {
            const uint32_t ts = 960u * static_cast<uint32_t>(sent_);
            std::vector<uint8_t> frame(60 + sent_ % 40, static_cast<uint8_t>(sent_));
            rtp::RtpHeader h;
            h.payload_type = red_ ? kRedPt : kOpusPt;
            h.sequence_number = static_cast<uint16_t>(sent_);
            h.timestamp = ts;
            h.ssrc = kSsrc;
            const auto payload = red_ ? red_enc_.encode(ts, frame) : frame;
            out_.push_back(Datagram{kSenderAddr, kReceiverAddr, rtp::build_rtp_packet(h, payload)});
            send_time[ts] = next_;
            ++sent_;
            next_ = next_ + TimeDelta::millis(20);
        }
    }
    std::optional<Datagram> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        auto d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    Timestamp poll_timeout() override { return sent_ < frames_ ? next_ : Timestamp::plus_infinity(); }
    std::map<uint32_t, Timestamp> send_time;

private:
    size_t frames_;
    bool red_;
    rtp::AudioRedEncoder red_enc_{kOpusPt, 1};
    size_t sent_ = 0;
    Timestamp next_ = Timestamp::zero();
    std::deque<Datagram> out_;
};

class AudioReceiver : public Endpoint {
public:
    explicit AudioReceiver(const rtp::AudioJitterConfig& cfg) : buf(cfg) {}
    void handle_datagram(Timestamp now, const Datagram& d) override {
        const auto v = rtp::RtpPacketView::parse(d.bytes);
        if (!v) return;
        arrivals.emplace_back(v->timestamp(), now);
        if (v->payload_type() == kRedPt) {
            std::array<rtp::RedAudioFrame, rtp::kRedMaxBlocks> frames{};
            const size_t n = rtp::split_red_audio(v->payload(), v->timestamp(), frames);
            for (size_t i = 0; i < n; ++i) buf.handle_packet(now, frames[i].timestamp, frames[i].data, frames[i].redundant);
        } else {
            buf.handle_packet(now, v->timestamp(), v->payload());
        }
        if (!clock_started_) {
            clock_started_ = true;
            next_tick_ = now;
        }
    }
    void handle_timeout(Timestamp now) override {
        while (clock_started_ && next_tick_ <= now) {
            if (auto f = buf.poll_frame(next_tick_)) {
                if (f->kind != rtp::PlayoutKind::Conceal) played.emplace_back(static_cast<uint32_t>(f->timestamp), next_tick_);
            }
            next_tick_ = next_tick_ + TimeDelta::millis(20);
        }
    }
    std::optional<Datagram> poll_transmit() override { return std::nullopt; }
    Timestamp poll_timeout() override { return clock_started_ ? next_tick_ : Timestamp::plus_infinity(); }

    rtp::AudioJitterBuffer buf;
    std::vector<std::pair<uint32_t, Timestamp>> arrivals;
    std::vector<std::pair<uint32_t, Timestamp>> played;  // frames decoded from media, when

private:
    bool clock_started_ = false;
    Timestamp next_tick_ = Timestamp::zero();
};

double percentile(const std::vector<double>& sorted, double q) {
    return sorted.empty() ? 0 : sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

} // namespace

AudioScenarioResult run_audio_scenario(const AudioScenarioConfig& config) {
    Network net(config.seed);
    LinkConfig link;
    link.delay = config.one_way;
    link.jitter = config.jitter;
    if (config.loss > 0) {
        if (config.bursty) link.burst_loss = GilbertElliott::from_average(config.loss, config.mean_burst);
        else link.loss = config.loss;
    }
    const auto up = net.add_link(link);
    AudioSender tx(config.frames, config.red);
    AudioReceiver rx(config.jitter_buffer);
    net.add_host(tx, {kSenderAddr.ip()}, HostOptions{up, std::nullopt, std::nullopt});
    net.add_host(rx, {kReceiverAddr.ip()});
    net.run_until(Timestamp::zero() + TimeDelta::millis(static_cast<int64_t>(config.frames) * 20 + 300) +
                  config.one_way * 2);

    AudioScenarioResult o;
    if (rx.arrivals.empty()) return o;
    // Ground truth jitter: one-way transit above the fastest packet.
    std::vector<double> transit;
    for (const auto& [ts, at] : rx.arrivals) transit.push_back((at - tx.send_time.at(ts)).ms_f());
    const double min_transit = *std::min_element(transit.begin(), transit.end());
    for (double& t : transit) t -= min_transit;
    std::sort(transit.begin(), transit.end());
    o.p95_jitter_ms = percentile(transit, 0.95);
    o.late_loss = rx.buf.stats().late_loss_rate();
    // Playout delay on the same scale: time from sending to playing, above the fastest transit.
    std::vector<double> delay;
    for (const auto& [ts, at] : rx.played) delay.push_back((at - tx.send_time.at(ts)).ms_f() - min_transit);
    std::sort(delay.begin(), delay.end());
    double sum = 0;
    for (double d : delay) sum += d;
    o.mean_delay_ms = delay.empty() ? 0 : sum / static_cast<double>(delay.size());
    o.p95_delay_ms = percentile(delay, 0.95);
    const auto& s = rx.buf.stats();
    const double frames = static_cast<double>(config.frames);
    o.concealed_share = static_cast<double>(s.frames_concealed) / frames;
    o.underrun_share = static_cast<double>(s.underruns) / frames;
    o.holes = s.frames_concealed + s.frames_fec;
    o.frames_fec = s.frames_fec;
    o.frames_stretched = s.frames_stretched;
    o.frames_dropped = s.frames_dropped;
    o.underruns = s.underruns;
    return o;
}

} // namespace rtcpp::sim
