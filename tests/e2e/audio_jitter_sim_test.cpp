// Audio over the simulated network: a 20 ms Opus-sized packet stream through a link with gaussian jitter into the
// adaptive audio jitter buffer, played out by a 20 ms audio clock. Issue #7's target: at 50 ms jitter, late loss
// <= 1 % with a playout delay <= p95 jitter + 20 ms.
#include "rtp/audio_jitter_buffer.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"
#include "sim/network.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
constexpr uint32_t kSsrc = 0x5EED;
constexpr uint8_t kOpusPt = 111, kRedPt = 63;
const SocketAddr kSenderAddr(IpAddr::v4(10, 0, 0, 1), 5000);
const SocketAddr kReceiverAddr(IpAddr::v4(10, 0, 0, 2), 5000);

class AudioSender : public sim::Endpoint {
public:
    AudioSender(size_t frames, bool red) : frames_(frames), red_(red) {}
    void handle_datagram(Timestamp, const sim::Datagram&) override {}
    void handle_timeout(Timestamp now) override {
        while (sent_ < frames_ && next_ <= now) {
            const uint32_t ts = 960u * static_cast<uint32_t>(sent_);
            std::vector<uint8_t> frame(60 + sent_ % 40, static_cast<uint8_t>(sent_));
            RtpHeader h;
            h.payload_type = red_ ? kRedPt : kOpusPt;
            h.sequence_number = static_cast<uint16_t>(sent_);
            h.timestamp = ts;
            h.ssrc = kSsrc;
            const auto payload = red_ ? red_enc_.encode(ts, frame) : frame;
            out_.push_back(sim::Datagram{kSenderAddr, kReceiverAddr, build_rtp_packet(h, payload)});
            send_time_[ts] = next_;
            ++sent_;
            next_ = next_ + TimeDelta::millis(20);
        }
    }
    std::optional<sim::Datagram> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        auto d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    Timestamp poll_timeout() override { return sent_ < frames_ ? next_ : Timestamp::plus_infinity(); }
    std::map<uint32_t, Timestamp> send_time_;

private:
    size_t frames_;
    bool red_;
    AudioRedEncoder red_enc_{kOpusPt, 1};
    size_t sent_ = 0;
    Timestamp next_ = Timestamp::zero();
    std::deque<sim::Datagram> out_;
};

class AudioReceiver : public sim::Endpoint {
public:
    explicit AudioReceiver(const AudioJitterConfig& cfg) : buf(cfg) {}
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        const auto v = RtpPacketView::parse(d.bytes);
        REQUIRE(v);
        arrivals.emplace_back(v->timestamp(), now);
        if (v->payload_type() == kRedPt) {
            std::array<RedAudioFrame, kRedMaxBlocks> frames{};
            const size_t n = split_red_audio(v->payload(), v->timestamp(), frames);
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
                ++frames_out;
                if (f->kind != PlayoutKind::Conceal) played.emplace_back(static_cast<uint32_t>(f->timestamp), next_tick_);
            }
            next_tick_ = next_tick_ + TimeDelta::millis(20);
        }
    }
    std::optional<sim::Datagram> poll_transmit() override { return std::nullopt; }
    Timestamp poll_timeout() override { return clock_started_ ? next_tick_ : Timestamp::plus_infinity(); }

    AudioJitterBuffer buf;
    std::vector<std::pair<uint32_t, Timestamp>> arrivals;
    std::vector<std::pair<uint32_t, Timestamp>> played;  // frames decoded from media, when
    size_t frames_out = 0;

private:
    bool clock_started_ = false;
    Timestamp next_tick_ = Timestamp::zero();
};

struct Outcome {
    double late_loss = 0;
    double p95_jitter_ms = 0;
    double mean_delay_ms = 0;
    double p95_delay_ms = 0;
    double concealed_share = 0;
    double underrun_share = 0;
    uint64_t holes = 0;  ///< frames rebuilt from in-band FEC or concealed while newer packets were here
};

Outcome run(TimeDelta jitter, double loss, bool red, uint64_t seed, size_t frames = 9000,
            const AudioJitterConfig& cfg = {}) {
    sim::Network net(seed);
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(40);
    link.jitter = jitter;
    link.loss = loss;
    const auto up = net.add_link(link);
    AudioSender tx(frames, red);
    AudioReceiver rx(cfg);
    net.add_host(tx, {kSenderAddr.ip()}, sim::HostOptions{up, std::nullopt, std::nullopt});
    net.add_host(rx, {kReceiverAddr.ip()});
    net.run_until(Timestamp::millis(static_cast<int64_t>(frames) * 20 + 300));

    // Ground truth jitter: one-way transit above the fastest packet.
    std::vector<double> transit;
    for (const auto& [ts, at] : rx.arrivals) transit.push_back(static_cast<double>((at - tx.send_time_.at(ts)).us()) / 1000);
    const double min_transit = *std::min_element(transit.begin(), transit.end());
    for (double& t : transit) t -= min_transit;
    std::sort(transit.begin(), transit.end());
    auto pct = [](const std::vector<double>& v, double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
    Outcome o;
    o.p95_jitter_ms = pct(transit, 0.95);
    o.late_loss = rx.buf.stats().late_loss_rate();
    // Playout delay on the same scale: time from sending to playing, above the fastest transit.
    std::vector<double> delay;
    for (const auto& [ts, at] : rx.played) delay.push_back(static_cast<double>((at - tx.send_time_.at(ts)).us()) / 1000 - min_transit);
    std::sort(delay.begin(), delay.end());
    double sum = 0;
    for (double d : delay) sum += d;
    o.mean_delay_ms = sum / static_cast<double>(delay.size());
    o.p95_delay_ms = pct(delay, 0.95);
    const auto& s = rx.buf.stats();
    o.concealed_share = static_cast<double>(s.frames_concealed) / static_cast<double>(frames);
    o.underrun_share = static_cast<double>(s.underruns) / static_cast<double>(frames);
    o.holes = s.frames_concealed + s.frames_fec;
    MESSAGE("jitter " << jitter.ms() << " ms loss " << loss << std::string(red ? " RED" : "") << ": late loss "
                      << o.late_loss * 100 << " %, p95 jitter " << o.p95_jitter_ms << " ms, delay mean "
                      << o.mean_delay_ms << " p95 " << o.p95_delay_ms << " ms, concealed " << o.concealed_share * 100
                      << " %, fec " << s.frames_fec << ", stretched " << s.frames_stretched << ", dropped "
                      << s.frames_dropped << ", underruns " << s.underruns);
    return o;
}
} // namespace

TEST_CASE("Audio jitter buffer over a 50 ms jitter link: late loss <= 1 %, delay <= p95 jitter + 20 ms") {
    // Measured (seeds 1-3): late loss ~0.05 %, mean playout delay ~145 ms against a p95 jitter of ~133 ms, and
    // ~4.4 % of frames are underruns (the buffer waited a frame for a late packet instead of losing it).
    for (uint64_t seed : {1u, 2u, 3u}) {
        const Outcome o = run(TimeDelta::millis(50), 0, false, seed);
        CHECK(o.late_loss <= 0.01);
        CHECK(o.mean_delay_ms <= o.p95_jitter_ms + 20);
        CHECK(o.underrun_share <= 0.06);
    }
}

TEST_CASE("Audio jitter buffer follows the jitter: no jitter, little delay; more jitter, more delay") {
    const Outcome none = run(TimeDelta::zero(), 0, false, 4, 3000);
    CHECK(none.late_loss == 0);
    CHECK(none.mean_delay_ms <= 25);
    CHECK(none.underrun_share <= 0.01);
    const Outcome j20 = run(TimeDelta::millis(20), 0, false, 4, 3000);
    const Outcome j100 = run(TimeDelta::millis(100), 0, false, 4, 3000);
    CHECK(j20.mean_delay_ms < j100.mean_delay_ms);
    CHECK(j20.late_loss <= 0.01);
    CHECK(j100.late_loss <= 0.01);
    CHECK(j20.mean_delay_ms <= j20.p95_jitter_ms + 20);
    CHECK(j100.mean_delay_ms <= j100.p95_jitter_ms + 20);
}

TEST_CASE("Audio RED over a lossy jittery link: single losses cost nothing") {
    const Outcome plain = run(TimeDelta::millis(20), 0.05, false, 5, 5000);
    const Outcome red = run(TimeDelta::millis(20), 0.05, true, 5, 5000);
    CHECK(plain.holes > 150);  // ~5 % of 5000
    CHECK(red.holes * 5 < plain.holes);
}
