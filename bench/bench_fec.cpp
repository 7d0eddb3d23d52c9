// fec: ULPFEC (in RED) and FlexFEC-03 recovery and overhead across random and Gilbert-Elliott loss, with the
// protection level chosen by the hybrid NACK/FEC table (FEC alone here: no retransmission); the table itself at
// three RTTs; and the adaptive audio jitter buffer over a simulated link at 0/20/50/100 ms jitter.
// --plots DIR draws recovery and overhead against loss, and audio delay against jitter.
#include "bench.hpp"
#include "png_plot.hpp"

#include "rtp/audio_jitter_buffer.hpp"
#include "rtp/fec_protection.hpp"
#include "rtp/fec_ulpfec.hpp"
#include "rtp/flexfec_03.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"
#include "sim/network.hpp"

#include <rtcpp/random.hpp>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <set>

namespace {

using namespace rtcpp;
using namespace rtcpp::rtp;

std::string fmt(double v, int prec = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return buf;
}

constexpr uint32_t kSsrc = 0x1234, kFlexSsrc = 0x5678;
constexpr uint8_t kVp8 = 96, kRed = 116, kUlpfec = 117, kFlex = 118;
constexpr size_t kFrames = 3000, kPacketsPerFrame = 8;

// Independent or Gilbert-Elliott loss, one decision per packet in sending order.
class LossModel {
public:
    LossModel(double average, double mean_burst, uint64_t seed)
        : rnd_(seed), bursty_(mean_burst > 1), ge_(sim::GilbertElliott::from_average(average, mean_burst)),
          p_(average) {}
    bool lose() {
        if (!bursty_) return rnd_.bernoulli(p_);
        bad_ = bad_ ? !rnd_.bernoulli(ge_.p_bad_to_good) : rnd_.bernoulli(ge_.p_good_to_bad);
        return rnd_.bernoulli(bad_ ? ge_.loss_in_bad : ge_.loss_in_good);
    }

private:
    Random rnd_;
    bool bursty_;
    sim::GilbertElliott ge_;
    double p_;
    bool bad_ = false;
};

struct FecResult {
    double protection = 0;
    uint64_t media = 0, lost = 0, recovered = 0;
    uint64_t media_bytes = 0, overhead_bytes = 0;
    uint64_t frames_complete = 0;
    double recovery() const { return lost ? 100.0 * static_cast<double>(recovered) / static_cast<double>(lost) : 100.0; }
    double residual() const { return 100.0 * static_cast<double>(lost - recovered) / static_cast<double>(media); }
    double overhead() const { return 100.0 * static_cast<double>(overhead_bytes) / static_cast<double>(media_bytes); }
    double complete() const { return 100.0 * static_cast<double>(frames_complete) / kFrames; }
};

std::vector<uint8_t> media_packet(Random& rnd, uint16_t seq, size_t frame, size_t i) {
    RtpHeader h;
    h.payload_type = kVp8;
    h.sequence_number = seq;
    h.timestamp = static_cast<uint32_t>(frame * 3000);
    h.ssrc = kSsrc;
    h.marker = i + 1 == kPacketsPerFrame;
    std::vector<uint8_t> payload(800 + rnd.uniform(400));
    rnd.fill(payload);
    return build_rtp_packet(h, payload);
}

FecResult run_fec(bool flexfec, double loss, double burst, uint64_t seed) {
    ProtectionInput in;
    in.loss = loss;
    in.rtt = TimeDelta::millis(100);
    in.nack_enabled = false;
    in.mean_burst = burst;
    in.packets_per_frame = kPacketsPerFrame;
    const ProtectionDecision d = choose_protection(in);
    FecResult r;
    r.protection = d.fec.protection;
    Random rnd(seed);
    LossModel net(loss, burst, seed + 100);
    UlpfecEncoder ulp_tx;
    ulp_tx.set_params(d.fec);
    UlpfecReceiver ulp_rx(kSsrc, kRed, kUlpfec);
    FlexfecEncoder flex_tx(kFlexSsrc, kFlex, kSsrc);
    flex_tx.set_params(d.fec);
    FlexfecReceiver flex_rx(kFlexSsrc, kFlex, kSsrc);
    std::set<uint16_t> lost_seqs, recovered_seqs;
    std::map<uint16_t, size_t> frame_of;
    uint16_t seq = 1000;
    auto deliver = [&](const std::vector<uint8_t>& p) {
        if (net.lose()) return false;
        if (flexfec) flex_rx.handle_packet(p);
        else ulp_rx.handle_packet(p);
        return true;
    };
    for (size_t f = 0; f < kFrames; ++f) {
        for (size_t i = 0; i < kPacketsPerFrame; ++i) {
            const auto m = media_packet(rnd, seq, f, i);
            frame_of[seq] = f;
            const auto v = *RtpPacketView::parse(m);
            ++r.media;
            r.media_bytes += m.size();
            if (flexfec) {
                flex_tx.add_media_packet(v);
                if (!deliver(m)) lost_seqs.insert(seq);
            } else {
                ulp_tx.add_media_packet(v);
                const auto red = wrap_red(v, kRed);
                r.overhead_bytes += red.size() - m.size();
                if (!deliver(red)) lost_seqs.insert(seq);
            }
            ++seq;
        }
        if (flexfec) {
            while (auto p = flex_tx.poll_fec_packet()) {
                r.overhead_bytes += p->size();
                deliver(*p);
            }
        } else {
            while (auto p = ulp_tx.poll_fec_payload()) {
                RtpHeader h;
                h.payload_type = kRed;
                h.sequence_number = seq++;
                h.ssrc = kSsrc;
                std::vector<uint8_t> red;
                ByteWriter w(red);
                write_red(w, {}, kUlpfec, *p);
                const auto pkt = build_rtp_packet(h, red);
                r.overhead_bytes += pkt.size();
                deliver(pkt);
            }
        }
        auto note = [&](ByteView p) {
            const uint16_t s = static_cast<uint16_t>(p[2] << 8 | p[3]);
            if (lost_seqs.count(s)) recovered_seqs.insert(s);
        };
        if (flexfec) {
            while (auto p = flex_rx.poll_recovered()) note(*p);
        } else {
            while (auto o = ulp_rx.poll_packet())
                if (o->recovered) note(o->packet);
        }
    }
    r.lost = lost_seqs.size();
    r.recovered = recovered_seqs.size();
    std::vector<bool> bad(kFrames, false);
    for (uint16_t s : lost_seqs)
        if (!recovered_seqs.count(s)) bad[frame_of[s]] = true;
    r.frames_complete = static_cast<uint64_t>(std::count(bad.begin(), bad.end(), false));
    return r;
}

// Audio: 20 ms packets through a link with gaussian jitter (FIFO, as the simulator's default) into the buffer.
const SocketAddr kTx(IpAddr::v4(10, 0, 0, 1), 5000), kRx(IpAddr::v4(10, 0, 0, 2), 5000);

class AudioTx : public sim::Endpoint {
public:
    explicit AudioTx(size_t frames) : frames_(frames) {}
    void handle_datagram(Timestamp, const sim::Datagram&) override {}
    void handle_timeout(Timestamp now) override {
        while (sent_ < frames_ && next_ <= now) {
            RtpHeader h;
            h.payload_type = 111;
            h.sequence_number = static_cast<uint16_t>(sent_);
            h.timestamp = 960u * static_cast<uint32_t>(sent_);
            h.ssrc = kSsrc;
            out_.push_back({kTx, kRx, build_rtp_packet(h, std::vector<uint8_t>(80, 1))});
            sent_at[h.timestamp] = next_;
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
    std::map<uint32_t, Timestamp> sent_at;

private:
    size_t frames_;
    size_t sent_ = 0;
    Timestamp next_ = Timestamp::zero();
    std::deque<sim::Datagram> out_;
};

class AudioRx : public sim::Endpoint {
public:
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        const auto v = RtpPacketView::parse(d.bytes);
        if (!v) return;
        arrivals.emplace_back(v->timestamp(), now);
        buf.handle_packet(now, v->timestamp(), v->payload());
        if (!started_) {
            started_ = true;
            tick_ = now;
        }
    }
    void handle_timeout(Timestamp now) override {
        while (started_ && tick_ <= now) {
            if (auto f = buf.poll_frame(tick_); f && f->kind != PlayoutKind::Conceal)
                played.emplace_back(static_cast<uint32_t>(f->timestamp), tick_);
            tick_ = tick_ + TimeDelta::millis(20);
        }
    }
    std::optional<sim::Datagram> poll_transmit() override { return std::nullopt; }
    Timestamp poll_timeout() override { return started_ ? tick_ : Timestamp::plus_infinity(); }
    AudioJitterBuffer buf;
    std::vector<std::pair<uint32_t, Timestamp>> arrivals, played;

private:
    bool started_ = false;
    Timestamp tick_ = Timestamp::zero();
};

struct AudioResult {
    double late_loss = 0, underruns = 0, mean_delay = 0, p95_delay = 0, p95_jitter = 0;
};

AudioResult run_audio(TimeDelta jitter, uint64_t seed) {
    constexpr size_t kAudioFrames = 6000;
    sim::Network net(seed);
    sim::LinkConfig link;
    link.delay = TimeDelta::millis(40);
    link.jitter = jitter;
    const auto up = net.add_link(link);
    AudioTx tx(kAudioFrames);
    AudioRx rx;
    net.add_host(tx, {kTx.ip()}, sim::HostOptions{up, std::nullopt, std::nullopt});
    net.add_host(rx, {kRx.ip()});
    net.run_until(Timestamp::millis(static_cast<int64_t>(kAudioFrames) * 20 + 300));
    std::vector<double> transit, delay;
    for (const auto& [ts, at] : rx.arrivals) transit.push_back(static_cast<double>((at - tx.sent_at.at(ts)).us()) / 1e3);
    const double base = *std::min_element(transit.begin(), transit.end());
    for (double& t : transit) t -= base;
    for (const auto& [ts, at] : rx.played) delay.push_back(static_cast<double>((at - tx.sent_at.at(ts)).us()) / 1e3 - base);
    std::sort(transit.begin(), transit.end());
    std::sort(delay.begin(), delay.end());
    auto pct = [](const std::vector<double>& v, double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
    AudioResult r;
    r.p95_jitter = pct(transit, 0.95);
    r.p95_delay = pct(delay, 0.95);
    double sum = 0;
    for (double d : delay) sum += d;
    r.mean_delay = sum / static_cast<double>(delay.size());
    r.late_loss = 100.0 * rx.buf.stats().late_loss_rate();
    r.underruns = 100.0 * static_cast<double>(rx.buf.stats().underruns) / kAudioFrames;
    return r;
}

int run(bench::Reporter& rep, const std::vector<std::string>& args) {
    std::string plots;
    uint64_t seed = 1;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--plots" && i + 1 < args.size()) plots = args[++i];
        else if (args[i] == "--seed" && i + 1 < args.size()) seed = std::stoull(args[++i]);
        else {
            rep.note("usage: fec [--plots DIR] [--seed N]");
            return 2;
        }
    }
    const double losses[] = {0.01, 0.05, 0.10, 0.20, 0.30};
    static const bench::Rgb blue{31, 119, 180}, red{214, 39, 40}, green{44, 160, 44}, black{0, 0, 0};
    std::vector<bench::Line> rec_lines, ovh_lines;

    rep.note("Video FEC, FEC alone (no NACK), protection from the table; " + std::to_string(kFrames) + " frames of " +
             std::to_string(kPacketsPerFrame) + " packets; bursty = Gilbert-Elliott, mean burst 3");
    rep.note("model    loss  format   prot%  recovered%  residual%  frames-ok%  overhead%");
    for (const bool bursty : {false, true}) {
        const std::string model = bursty ? "bursty" : "random";
        bench::Line rl{{}, bursty ? red : blue, 2}, ol{{}, bursty ? red : blue, 2};
        for (double loss : losses) {
            for (const bool flex : {false, true}) {
                const FecResult r = run_fec(flex, loss, bursty ? 3.0 : 1.0, seed);
                const std::string fmt_name = flex ? "flexfec" : "ulpfec";
                const std::string name = "fec." + fmt_name + "." + model + ".loss" + fmt(loss * 100, 0);
                rep.figure(name + ".recovered", r.recovery(), "%");
                rep.figure(name + ".residual_loss", r.residual(), "%");
                rep.figure(name + ".frames_complete", r.complete(), "%");
                rep.figure(name + ".overhead", r.overhead(), "%");
                char row[160];
                std::snprintf(row, sizeof row, "%-7s %5.0f%%  %-7s %6.1f  %10.1f  %9.2f  %10.1f  %9.1f", model.c_str(),
                              loss * 100, fmt_name.c_str(), r.protection * 100, r.recovery(), r.residual(),
                              r.complete(), r.overhead());
                rep.note(row);
                if (!flex) {
                    rl.points.emplace_back(loss * 100, r.recovery());
                    ol.points.emplace_back(loss * 100, r.overhead());
                }
            }
        }
        rec_lines.push_back(rl);
        ovh_lines.push_back(ol);
    }

    rep.note("Hybrid NACK/FEC table: FEC packets per media packet (%), 8 packets per frame, random loss");
    rep.note("loss   rtt20  rtt100  rtt300   (nack off)");
    for (double loss : losses) {
        double prot[3] = {};
        int col = 0;
        for (int rtt : {20, 100, 300}) {
            const auto d = choose_protection(ProtectionInput{loss, TimeDelta::millis(rtt), true, 1, kPacketsPerFrame});
            rep.figure("fec.table.loss" + fmt(loss * 100, 0) + ".rtt" + std::to_string(rtt), d.fec.protection * 100, "%");
            prot[col++] = d.fec.protection * 100;
        }
        const auto off = choose_protection(ProtectionInput{loss, TimeDelta::millis(100), false, 1, kPacketsPerFrame});
        char row[128];
        std::snprintf(row, sizeof row, "%4.0f%%  %5.1f  %6.1f  %6.1f   %6.1f", loss * 100, prot[0], prot[1], prot[2],
                      off.fec.protection * 100);
        rep.note(row);
    }

    rep.note("Audio jitter buffer over the simulator (40 ms delay + gaussian jitter, FIFO), 6000 frames of 20 ms");
    rep.note("jitter  p95jitter  late-loss%  underrun%  delay-mean  delay-p95  (ms; delay above the fastest transit)");
    bench::Line dl{{}, blue, 2}, jl{{}, black, 1};
    for (int j : {0, 20, 50, 100}) {
        const AudioResult a = run_audio(TimeDelta::millis(j), seed);
        const std::string name = "audio_jitter.jitter" + std::to_string(j);
        rep.figure(name + ".late_loss", a.late_loss, "%");
        rep.figure(name + ".underruns", a.underruns, "%");
        rep.figure(name + ".delay_mean", a.mean_delay, "ms");
        rep.figure(name + ".delay_p95", a.p95_delay, "ms");
        rep.figure(name + ".p95_jitter", a.p95_jitter, "ms");
        char row[160];
        std::snprintf(row, sizeof row, "%4d   %9.1f  %10.2f  %9.2f  %10.1f  %9.1f", j, a.p95_jitter, a.late_loss,
                      a.underruns, a.mean_delay, a.p95_delay);
        rep.note(row);
        dl.points.emplace_back(j, a.mean_delay);
        jl.points.emplace_back(j, a.p95_jitter + 20);
    }

    if (!plots.empty()) {
        std::filesystem::create_directories(plots);
        bench::plot(rec_lines, 32, 105).write_png(plots + "/fec_recovery.png");
        bench::plot(ovh_lines, 32, 110).write_png(plots + "/fec_overhead.png");
        double y = 0;
        for (const auto& p : jl.points) y = std::max(y, p.second);
        for (const auto& p : dl.points) y = std::max(y, p.second);
        bench::plot({dl, jl}, 105, y * 1.1).write_png(plots + "/audio_delay.png");
        rep.note("plots: " + plots + "/fec_recovery.png (ULPFEC recovered % vs loss %, blue random, red bursty), " +
                 plots + "/fec_overhead.png (overhead % vs loss %), " + plots +
                 "/audio_delay.png (mean playout delay blue vs p95 jitter + 20 ms black, against jitter ms)");
    }
    (void)green;
    return 0;
}

} // namespace

RTCPP_BENCHMARK("fec", "ULPFEC/FlexFEC recovery and overhead under random and bursty loss, the hybrid NACK/FEC table, "
                       "audio jitter buffer late loss and delay at 0-100 ms jitter; --plots DIR",
                run);
