// loss-sweep: NACK/RTX and the video frame buffer under loss, delay and jitter (issue 7's evaluation), over the
// simulator: share of frames rendered complete, added latency (p50/p95), retransmission overhead. Random and
// Gilbert-Elliott loss of 0..30% x RTT 20/100/300 ms x jitter 0/20/50/100 ms (the whole cross product; --quick
// keeps jitter 0 except for a jitter sweep at 10% loss and 100 ms RTT). Every no-jitter row runs twice: NACK + RTX
// alone, and hybrid NACK + FlexFEC ("fec": the protection level rtp::choose_protection picks for the loss and RTT).
// Rows without a variant also run an Opus-like audio stream over the same path into the audio jitter buffer (late
// loss, mean playout delay above the fastest transit, p95 jitter). --plots DIR draws rendered share, p95 latency
// and overhead against loss.
#include "bench.hpp"
#include "png_plot.hpp"

#include "sim/audio_scenarios.hpp"
#include "sim/loss_scenarios.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace rtcpp;
using namespace rtcpp::sim;

std::string fmt(double v, int prec = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return buf;
}

struct Row {
    bool bursty = false;
    int loss_pct = 0;
    int rtt_ms = 0;
    int jitter_ms = 0;
    std::string variant;  // "" (NACK+RTX), "fec" (NACK+RTX+FlexFEC), "nonack", "share50"
    LossScenarioResult r;
    std::optional<AudioScenarioResult> audio;  // the same path for an Opus stream (rows without a variant)
};

std::string row_name(const Row& w) {
    std::string n = "loss_sweep." + std::string(w.bursty ? "ge" : "random") + std::to_string(w.loss_pct) + ".rtt" +
                    std::to_string(w.rtt_ms) + ".jit" + std::to_string(w.jitter_ms);
    if (!w.variant.empty()) n += "." + w.variant;
    return n;
}

void write_plots(const std::vector<Row>& rows, const std::string& dir, bench::Reporter& rep) {
    static const bench::Rgb rtt_colour[] = {{31, 119, 180}, {44, 160, 44}, {214, 39, 40}};
    const int rtts[] = {20, 100, 300};
    struct Metric {
        const char* file;
        const char* what;
        double (*value)(const LossScenarioResult&);
        double y_max;
    };
    const Metric metrics[] = {
        {"loss_rendered.png", "frames rendered complete, %",
         [](const LossScenarioResult& r) { return r.rendered_share * 100; }, 100},
        {"loss_latency_p95.png", "added latency p95, ms", [](const LossScenarioResult& r) { return r.latency_p95.ms_f(); },
         0},
        {"loss_overhead.png", "retransmitted bytes, % of media",
         [](const LossScenarioResult& r) { return r.retransmit_overhead * 100; }, 0},
    };
    for (const auto& m : metrics) {
        std::vector<bench::Line> lines;
        double y_max = m.y_max;
        for (int k = 0; k < 3; ++k) {
            for (bool bursty : {false, true}) {
                bench::Line l;
                l.color = rtt_colour[k];
                l.thickness = bursty ? 1 : 3;
                for (const auto& w : rows) {
                    if (w.rtt_ms != rtts[k] || w.jitter_ms != 0 || !w.variant.empty()) continue;
                    if (w.bursty != bursty && w.loss_pct != 0) continue;
                    const double v = m.value(w.r);
                    l.points.emplace_back(w.loss_pct, v);
                    if (m.y_max == 0) y_max = std::max(y_max, v);
                }
                lines.push_back(std::move(l));
            }
        }
        if (y_max <= 0) y_max = 1;
        const std::string path = dir + "/" + m.file;
        bench::plot(lines, 30, m.y_max == 0 ? y_max * 1.05 : y_max).write_png(path);
        rep.note("  plot " + path + ": " + m.what + " vs loss 0..30% (y 0.." +
                 fmt(m.y_max == 0 ? y_max * 1.05 : y_max, 0) +
                 "); RTT 20 blue, 100 green, 300 red; thick random loss, thin Gilbert-Elliott; jitter 0");
    }
    // Latency against jitter at 10% random loss, 100 ms RTT: p50 thick, p95 thin.
    bench::Line p50{{}, {31, 119, 180}, 3}, p95{{}, {31, 119, 180}, 1};
    double y_max = 1;
    for (const auto& w : rows) {
        if (w.bursty || w.loss_pct != 10 || w.rtt_ms != 100 || !w.variant.empty()) continue;
        p50.points.emplace_back(w.jitter_ms, w.r.latency_p50.ms_f());
        p95.points.emplace_back(w.jitter_ms, w.r.latency_p95.ms_f());
        y_max = std::max(y_max, w.r.latency_p95.ms_f());
    }
    const std::string path = dir + "/loss_latency_vs_jitter.png";
    bench::plot({p50, p95}, 100, y_max * 1.05).write_png(path);
    rep.note("  plot " + path + ": added latency (p50 thick, p95 thin) vs jitter 0..100 ms at 10% loss, RTT 100 (y 0.." +
             fmt(y_max * 1.05, 0) + " ms)");
}

int run(bench::Reporter& rep, const std::vector<std::string>& args) {
    std::string plots;
    uint64_t seed = 1;
    int duration_s = 20;
    bool quick = false;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--plots" && i + 1 < args.size()) plots = args[++i];
        else if (args[i] == "--seed" && i + 1 < args.size()) seed = std::stoull(args[++i]);
        else if (args[i] == "--duration" && i + 1 < args.size()) duration_s = std::stoi(args[++i]);
        else if (args[i] == "--quick") quick = true;
        else {
            rep.note("usage: loss-sweep [--plots DIR] [--seed N] [--duration S] [--quick]");
            return 2;
        }
    }
    if (!plots.empty()) std::filesystem::create_directories(plots);

    std::vector<Row> rows;
    const int losses[] = {0, 1, 5, 10, 20, 30};
    for (int jitter : {0, 20, 50, 100})
        for (int rtt : {20, 100, 300})
            for (bool bursty : {false, true})
                for (int loss : losses) {
                    if (bursty && loss == 0) continue;
                    if (quick && jitter != 0 && !(loss == 10 && rtt == 100 && !bursty)) continue;
                    rows.push_back(Row{bursty, loss, rtt, jitter, "", {}, {}});
                    if (loss > 0 && (jitter == 0 || (loss == 10 && rtt == 100 && !bursty)))
                        rows.push_back(Row{bursty, loss, rtt, jitter, "fec", {}, {}});
                }
    // Baselines at 100 ms RTT, no jitter: no NACK at all, and the library's default retransmission budget (50%).
    for (int loss : {1, 5, 10, 20, 30}) rows.push_back(Row{false, loss, 100, 0, "nonack", {}, {}});
    for (int loss : {20, 30}) rows.push_back(Row{false, loss, 100, 0, "share50", {}, {}});

    rep.note("loss-sweep: VP8-like 1 Mbps 30 fps, keyframe every 3 s, " + std::to_string(duration_s) +
             " s per run, NACK + RTX (retransmissions <= 100% of the media rate unless noted), loss on both paths");
    rep.note("  loss      RTT  jitter variant | rendered%   p50 ms   p95 ms   max ms | rtx ovh% fec ovh% fec rec  NACKs PLIs  late"
             " | audio late% delay ms p95 jit");
    const std::clock_t c0 = std::clock();
    double sim_s = 0;
    for (auto& w : rows) {
        LossScenarioConfig c;
        c.loss = w.loss_pct / 100.0;
        c.bursty = w.bursty;
        c.rtt = TimeDelta::millis(w.rtt_ms);
        c.jitter = TimeDelta::millis(w.jitter_ms);
        c.duration = TimeDelta::seconds(duration_s);
        c.seed = seed;
        if (w.variant == "nonack") c.nack = false;
        if (w.variant == "share50") c.max_retransmit_share = 0.5;
        if (w.variant == "fec") c.fec = true;
        w.r = run_loss_scenario(c);
        sim_s += c.duration.seconds_f();
        if (w.variant.empty()) {
            // Audio on the same path (one direction): its jitter buffer's late loss and playout delay.
            AudioScenarioConfig a;
            a.one_way = c.rtt / 2;
            a.jitter = c.jitter;
            a.loss = c.loss;
            a.bursty = c.bursty;
            a.mean_burst = c.mean_burst;
            a.frames = static_cast<size_t>(c.duration.ms() / 20);
            a.seed = seed;
            w.audio = run_audio_scenario(a);
            sim_s += c.duration.seconds_f();
        }
        const std::string n = row_name(w);
        rep.figure(n + ".rendered", w.r.rendered_share * 100, "%");
        rep.figure(n + ".latency_p50", w.r.latency_p50.ms_f(), "ms");
        rep.figure(n + ".latency_p95", w.r.latency_p95.ms_f(), "ms");
        rep.figure(n + ".rtx_overhead", w.r.retransmit_overhead * 100, "%");
        if (w.variant == "fec") rep.figure(n + ".fec_overhead", w.r.fec_overhead * 100, "%");
        if (w.audio) {
            rep.figure(n + ".audio_late_loss", w.audio->late_loss * 100, "%");
            rep.figure(n + ".audio_delay_mean", w.audio->mean_delay_ms, "ms");
        }
        char line[240];
        std::snprintf(line, sizeof line,
                      "  %-6s%3d%% %4d %6d %-8s| %8.2f %8.1f %8.1f %8.1f | %8.1f %8.1f %7llu %6llu %4llu %5llu",
                      w.bursty ? "GE" : "rand", w.loss_pct, w.rtt_ms, w.jitter_ms,
                      w.variant.empty() ? "-" : w.variant.c_str(), w.r.rendered_share * 100, w.r.latency_p50.ms_f(),
                      w.r.latency_p95.ms_f(), w.r.latency_max.ms_f(), w.r.retransmit_overhead * 100,
                      w.r.fec_overhead * 100, static_cast<unsigned long long>(w.r.fec_recovered),
                      static_cast<unsigned long long>(w.r.nack_packets),
                      static_cast<unsigned long long>(w.r.keyframe_requests),
                      static_cast<unsigned long long>(w.r.frames_late));
        std::string text = line;
        if (w.audio) {
            char audio[80];
            std::snprintf(audio, sizeof audio, " | %10.2f %8.1f %7.1f", w.audio->late_loss * 100, w.audio->mean_delay_ms,
                          w.audio->p95_jitter_ms);
            text += audio;
        }
        rep.note(text);
    }
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    rep.figure("loss_sweep.cpu_per_sim_minute", cpu / sim_s * 60.0, "s");
    if (!plots.empty()) write_plots(rows, plots, rep);
    return 0;
}

} // namespace

RTCPP_BENCHMARK("loss-sweep",
                "NACK/RTX + video frame buffer under random/bursty loss, RTT, jitter (issue 7); --plots DIR --quick",
                run);
