// cc-rfc8867: RFC 8867 test cases (5.1, 5.2, 5.3, 5.6) at 50 and 150 ms RTT over the simulator, with the RFC 8868
// metrics, and optional PNG plots (--plots DIR): estimate vs capacity, and queuing delay over time.
#include "bench.hpp"
#include "png_plot.hpp"

#include "sim/cc_scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

namespace {

using namespace rtcpp;
using namespace rtcpp::sim;

std::string fmt(double v, int prec = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return buf;
}

void write_plots(const ScenarioResult& r, const std::string& dir, const std::string& stem, bench::Reporter& rep) {
    static const bench::Rgb palette[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {148, 103, 189}, {255, 127, 14}};
    const double x_max = r.duration.seconds_f();
    // Rates: capacity black and thick, targets in colour, received rates in light colour.
    std::vector<bench::Line> lines;
    double y_max = 0;
    size_t target_i = 0, received_i = 0;
    std::ostringstream legend;
    for (const auto& s : r.rate_series) {
        for (const auto& p : s.points) y_max = std::max(y_max, p.second);
        bench::Line l{s.points, {0, 0, 0}, 2};
        if (s.name.find("capacity") != std::string::npos) {
            l.color = s.name.rfind("bwd", 0) == 0 ? bench::Rgb{120, 120, 120} : bench::Rgb{0, 0, 0};
            l.thickness = 3;
        } else if (s.name.find("target") != std::string::npos) {
            l.color = palette[target_i++ % 5];
        } else {
            const bench::Rgb c = palette[received_i++ % 5];
            l.color = {static_cast<uint8_t>(c.r / 2 + 128), static_cast<uint8_t>(c.g / 2 + 128),
                       static_cast<uint8_t>(c.b / 2 + 128)};
            l.thickness = 1;
        }
        legend << s.name << "=rgb(" << int(l.color.r) << "," << int(l.color.g) << "," << int(l.color.b) << ") ";
        lines.push_back(std::move(l));
    }
    // Draw received rates first so targets and capacity stay visible on top.
    std::stable_sort(lines.begin(), lines.end(), [](const bench::Line& a, const bench::Line& b) {
        return a.thickness < b.thickness;
    });
    const std::string rates_path = dir + "/" + stem + "_rates.png";
    bench::plot(lines, x_max, y_max * 1.05).write_png(rates_path);

    std::vector<bench::Line> dl;
    double d_max = 0;
    size_t i = 0;
    for (const auto& s : r.delay_series) {
        for (const auto& p : s.points) d_max = std::max(d_max, p.second);
        dl.push_back({s.points, palette[i++ % 5], 1});
    }
    const std::string delay_path = dir + "/" + stem + "_delay.png";
    bench::plot(dl, x_max, std::max(d_max * 1.05, 10.0)).write_png(delay_path);
    rep.note("  plots: " + rates_path + " (x 0.." + fmt(x_max, 0) + " s, y 0.." + fmt(y_max * 1.05, 0) +
             " kbps; " + legend.str() + ") " + delay_path + " (y 0.." + fmt(std::max(d_max * 1.05, 10.0), 0) + " ms)");
}

/// Mean and worst case of one metric over seeds ("worst" is the minimum or the maximum, as the metric goes).
struct Spread {
    double sum = 0;
    double worst = 0;
    int n = 0;
    void add(double v, bool lower_is_worse) {
        worst = n == 0 ? v : (lower_is_worse ? std::min(worst, v) : std::max(worst, v));
        sum += v;
        ++n;
    }
    double mean() const { return n > 0 ? sum / n : 0; }
    std::string str(int prec = 1) const { return fmt(mean(), prec) + " (" + fmt(worst, prec) + ")"; }
};

/// --seeds N: every scenario and RTT over seeds 1..N; per direction the mean and the worst seed of each phase's
/// utilisation, p95 queuing delay and Jain index (one seed's figures move by several points with any change: the
/// AIMD and probing dynamics are chaotic, so changes are judged on these).
int run_seeds(bench::Reporter& rep, uint64_t seeds) {
    for (auto sc : {CcScenario::VariableCapacity, CcScenario::TwoFlows, CcScenario::CongestedFeedback,
                    CcScenario::CompetingTcp}) {
        for (int rtt_ms : {50, 150}) {
            std::vector<std::vector<Spread>> util;  // [direction][phase]
            std::vector<Spread> p95, avg;
            Spread jain, share, ramp_max;
            int ramps_missed = 0;
            std::vector<std::string> names;
            for (uint64_t seed = 1; seed <= seeds; ++seed) {
                const ScenarioResult r = run_cc_scenario(sc, TimeDelta::millis(rtt_ms), seed);
                util.resize(r.directions.size());
                p95.resize(r.directions.size());
                avg.resize(r.directions.size());
                names.resize(r.directions.size());
                for (size_t d = 0; d < r.directions.size(); ++d) {
                    const auto& dm = r.directions[d];
                    names[d] = dm.name;
                    util[d].resize(dm.phases.size());
                    for (size_t i = 0; i < dm.phases.size(); ++i) util[d][i].add(dm.phases[i].utilisation * 100, true);
                    p95[d].add(dm.qdelay_p95.ms_f(), false);
                    avg[d].add(dm.avg_utilisation * 100, true);
                    if (r.media_share) continue;  // 5.6: sharing with TCP, 90 % of the link is not the goal
                    double worst_ramp = 0;
                    for (const auto& ramp : dm.ramps) {
                        if (ramp.time_to_90) worst_ramp = std::max(worst_ramp, ramp.time_to_90->seconds_f());
                        else ++ramps_missed;
                    }
                    ramp_max.add(worst_ramp, false);
                }
                if (r.fairness) jain.add(*r.fairness, true);
                if (r.media_share) share.add(*r.media_share * 100, true);
            }
            std::string id = scenario_id(sc);
            std::replace(id.begin(), id.end(), '.', '_');
            const std::string base = "cc_rfc8867_seeds." + id + "_" + scenario_name(sc) + ".rtt" + std::to_string(rtt_ms);
            rep.note(std::string("RFC 8867 ") + scenario_id(sc) + " " + scenario_name(sc) + ", RTT " +
                     std::to_string(rtt_ms) + " ms, seeds 1.." + std::to_string(seeds) + ": mean (worst)");
            for (size_t d = 0; d < util.size(); ++d) {
                std::ostringstream row;
                row << "  " << names[d] << ": util";
                for (size_t i = 0; i < util[d].size(); ++i) {
                    row << " " << util[d][i].str();
                    rep.figure(base + "." + names[d] + ".util.phase" + std::to_string(i) + ".mean", util[d][i].mean(), "%");
                    rep.figure(base + "." + names[d] + ".util.phase" + std::to_string(i) + ".worst", util[d][i].worst, "%");
                }
                row << " | avg " << avg[d].str() << " | p95 " << p95[d].str(0) << " ms";
                rep.figure(base + "." + names[d] + ".qdelay.p95.mean", p95[d].mean(), "ms");
                rep.figure(base + "." + names[d] + ".qdelay.p95.worst", p95[d].worst, "ms");
                rep.note(row.str());
            }
            std::ostringstream tail;
            tail << "  slowest ramp to 90 %:";
            if (ramp_max.n > 0) {
                tail << " " << fmt(ramp_max.worst, 2) << " s, " << ramps_missed << " not reached";
                rep.figure(base + ".ramp90.worst", ramp_max.worst, "s");
                rep.figure(base + ".ramp90.not_reached", ramps_missed, "count");
            } else {
                tail << " -";
            }
            if (jain.n > 0) {
                tail << " | Jain " << jain.str(3);
                rep.figure(base + ".jain_fairness.mean", jain.mean(), "index");
                rep.figure(base + ".jain_fairness.worst", jain.worst, "index");
            }
            if (share.n > 0) {
                tail << " | media share " << share.str() << " %";
                rep.figure(base + ".media_share.mean", share.mean(), "%");
                rep.figure(base + ".media_share.worst", share.worst, "%");
            }
            rep.note(tail.str());
        }
    }
    return 0;
}

/// --trace ID [--rtt MS] [--seed N]: one run's per-flow controller state every 500 ms (diagnosis: which flow wins,
/// when, and through what: decreases, additive or multiplicative increase, probes), then per phase each flow's
/// average received rate and the Jain index over them.
int run_trace(bench::Reporter& rep, const std::string& id, int rtt_ms, uint64_t seed) {
    CcScenario sc = CcScenario::TwoFlows;
    bool found = false;
    for (auto s : {CcScenario::VariableCapacity, CcScenario::TwoFlows, CcScenario::CongestedFeedback,
                   CcScenario::CompetingTcp})
        if (id == scenario_id(s)) {
            sc = s;
            found = true;
        }
    if (!found) return 2;
    const ScenarioResult r = run_cc_scenario(sc, TimeDelta::millis(rtt_ms), seed);
    std::vector<const PlotSeries*> received;
    const PlotSeries* cap = nullptr;
    for (const auto& s : r.rate_series) {
        if (s.name.rfind("fwd received", 0) == 0 || s.name == "fwd tcp received") received.push_back(&s);
        if (s.name == "fwd capacity") cap = &s;
    }
    const char* usage_char = "NUO";  // Normal, Underusing, Overusing
    std::ostringstream head;
    head << "   t    cap |";
    for (size_t f = 0; f < r.rate_logs.size(); ++f)
        head << " f" << f << ": target  delay  acked  lincap u  q  recv probes |";
    if (received.size() > r.rate_logs.size()) head << " tcp recv";
    rep.note(head.str());
    std::vector<size_t> idx(r.rate_logs.size(), 0), pidx(r.rate_logs.size(), 0);
    for (double t = 0.5; t <= r.duration.seconds_f(); t += 0.5) {
        const Timestamp at = Timestamp::micros(static_cast<int64_t>(t * 1e6));
        std::ostringstream row;
        char buf[64];
        const auto b = static_cast<size_t>(t * 10) - 1;
        std::snprintf(buf, sizeof buf, "%5.1f %5.0f |", t, cap && b < cap->points.size() ? cap->points[b].second : 0.0);
        row << buf;
        for (size_t f = 0; f < r.rate_logs.size(); ++f) {
            const auto& log = r.rate_logs[f];
            while (idx[f] + 1 < log.size() && log[idx[f] + 1].at <= at) ++idx[f];
            std::string probes;
            const auto& pl = r.probe_logs[f];
            while (pidx[f] < pl.size() && pl[pidx[f]].first <= at) {
                probes += (probes.empty() ? "" : ",") + fmt(pl[pidx[f]].second.kbps_f(), 0);
                ++pidx[f];
            }
            if (log.empty() || log[idx[f]].at > at) {
                row << "          -      -      -       -   -      -        |";
                continue;
            }
            const auto& s = log[idx[f]];
            const double recv = f < received.size() && b < received[f]->points.size() ? received[f]->points[b].second : 0;
            std::snprintf(buf, sizeof buf, "     %6.0f %6.0f %6.0f %6.0f %c%c%3.0f %5.0f", s.target.kbps_f(),
                          s.delay_based.kbps_f(), s.acked.kbps_f(), s.link_capacity.kbps_f(),
                          usage_char[static_cast<int>(s.usage)], s.competing_queue ? 'C' : ' ',
                          s.queue_delay.ms_f(), recv);
            row << buf << " " << (probes.empty() ? "-" : probes) << " |";
        }
        if (received.size() > r.rate_logs.size() && b < received.back()->points.size())
            row << " " << fmt(received.back()->points[b].second, 0);
        rep.note(row.str());
    }
    // Per phase: each flow's average received rate (from the 500 ms-window series) and the Jain index over them.
    const auto& phases = r.directions.at(0).phases;
    for (const auto& ph : phases) {
        std::vector<double> avg;
        for (const PlotSeries* s : received) {
            double sum = 0;
            int n = 0;
            for (const auto& p : s->points)
                if (p.first >= ph.start.seconds_f() + 0.5 && p.first < ph.end.seconds_f()) {
                    sum += p.second;
                    ++n;
                }
            avg.push_back(n > 0 ? sum / n : 0);
        }
        std::ostringstream row;
        row << "phase " << fmt(ph.start.seconds_f(), 0) << "-" << fmt(ph.end.seconds_f(), 0) << " s @"
            << ph.capacity.kbps() << ": avg kbps";
        for (double a : avg) row << " " << fmt(a, 0);
        if (avg.size() > 1) row << " | Jain " << fmt(jain_fairness(avg), 3);
        rep.note(row.str());
    }
    std::ostringstream flows;
    flows << "steady period (kbps):";
    for (double t : r.flow_throughput_kbps) flows << " " << fmt(t, 0);
    if (r.fairness) flows << " | Jain " << fmt(*r.fairness, 3);
    rep.note(flows.str());
    return 0;
}

int run(bench::Reporter& rep, const std::vector<std::string>& args) {
    std::string plots;
    uint64_t seed = 1;
    uint64_t seeds = 0;
    std::string trace;
    int rtt = 150;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--plots" && i + 1 < args.size()) plots = args[++i];
        else if (args[i] == "--seed" && i + 1 < args.size()) seed = std::stoull(args[++i]);
        else if (args[i] == "--seeds" && i + 1 < args.size()) seeds = std::stoull(args[++i]);
        else if (args[i] == "--trace" && i + 1 < args.size()) trace = args[++i];
        else if (args[i] == "--rtt" && i + 1 < args.size()) rtt = std::stoi(args[++i]);
        else {
            rep.note("usage: cc-rfc8867 [--plots DIR] [--seed N | --seeds N] [--trace 5.x [--rtt MS] [--seed N]]");
            return 2;
        }
    }
    if (seeds > 0) return run_seeds(rep, seeds);
    if (!trace.empty()) return run_trace(rep, trace, rtt, seed);
    if (!plots.empty()) std::filesystem::create_directories(plots);

    double total_sim_s = 0, total_cpu_s = 0;
    for (auto sc : {CcScenario::VariableCapacity, CcScenario::TwoFlows, CcScenario::CongestedFeedback,
                    CcScenario::CompetingTcp}) {
        for (int rtt_ms : {50, 150}) {
            const std::clock_t c0 = std::clock();
            const ScenarioResult r = run_cc_scenario(sc, TimeDelta::millis(rtt_ms), seed);
            const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
            total_sim_s += r.duration.seconds_f();
            total_cpu_s += cpu;
            std::string id = scenario_id(sc);
            std::replace(id.begin(), id.end(), '.', '_');
            const std::string base = "cc_rfc8867." + id + "_" + scenario_name(sc) + ".rtt" + std::to_string(rtt_ms);
            rep.note(std::string("RFC 8867 ") + scenario_id(sc) + " " + scenario_name(sc) + ", RTT " +
                     std::to_string(rtt_ms) + " ms");
            for (const auto& d : r.directions) {
                const std::string p = base + "." + d.name;
                std::ostringstream row;
                row << "  " << d.name << ": util";
                for (size_t i = 0; i < d.phases.size(); ++i) {
                    const auto& ph = d.phases[i];
                    rep.figure(p + ".util.phase" + std::to_string(i) + "_" + std::to_string(ph.capacity.kbps()) + "kbps",
                               ph.utilisation * 100, "%");
                    row << " " << fmt(ph.utilisation * 100) << "%@" << ph.capacity.kbps();
                }
                rep.figure(p + ".util.avg", d.avg_utilisation * 100, "%");
                rep.figure(p + ".qdelay.p50", d.qdelay_p50.ms_f(), "ms");
                rep.figure(p + ".qdelay.p95", d.qdelay_p95.ms_f(), "ms");
                rep.figure(p + ".loss", d.loss * 100, "%");
                row << " avg " << fmt(d.avg_utilisation * 100) << "% | qdelay p50 " << fmt(d.qdelay_p50.ms_f())
                    << " p95 " << fmt(d.qdelay_p95.ms_f()) << " ms | loss " << fmt(d.loss * 100, 2) << "% | ramp";
                for (const auto& ramp : d.ramps) {
                    const std::string name = p + ".ramp90.at" + fmt(ramp.at.seconds_f(), 0) + "s_to" +
                                             std::to_string(ramp.capacity.kbps()) + "kbps";
                    // Not reached within the phase: report the phase length, marked in the table.
                    const double v = ramp.time_to_90 ? ramp.time_to_90->seconds_f() : -1;
                    rep.figure(name, v, "s");
                    row << " " << (ramp.time_to_90 ? fmt(v, 2) + "s" : std::string("not-reached"));
                }
                rep.note(row.str());
            }
            if (r.fairness) rep.figure(base + ".jain_fairness", *r.fairness, "index");
            if (r.media_share) rep.figure(base + ".media_share", *r.media_share * 100, "%");
            std::ostringstream flows;
            flows << "  flows (kbps):";
            for (double t : r.flow_throughput_kbps) flows << " " << fmt(t, 0);
            if (r.fairness) flows << " | Jain " << fmt(*r.fairness, 3);
            if (r.media_share) flows << " | media share " << fmt(*r.media_share * 100) << "%";
            rep.note(flows.str());
            if (!plots.empty()) write_plots(r, plots, "rfc8867_" + id + "_rtt" + std::to_string(rtt_ms), rep);
        }
    }
    rep.figure("cc_rfc8867.cpu_per_sim_minute", total_cpu_s / total_sim_s * 60.0, "s");
    return 0;
}

} // namespace

RTCPP_BENCHMARK("cc-rfc8867", "RFC 8867 congestion control test cases (GCC) with RFC 8868 metrics; --plots DIR, --seed N, --seeds N, --trace 5.x --rtt MS",
                run);
