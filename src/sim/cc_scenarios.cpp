#include "sim/cc_scenarios.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

namespace rtcpp::sim {

namespace {

constexpr TimeDelta kQueueTime = TimeDelta::millis(300);
constexpr uint16_t kPort = 5000;

struct Spec {
    TimeDelta duration;
    std::vector<CapacityPhase> forward;
    std::vector<CapacityPhase> backward;  ///< empty: uncongested reverse path
    int forward_flows = 1;
    bool backward_flow = false;
    bool tcp = false;
    Timestamp media_start = Timestamp::zero();
    DataRate max_rate = DataRate::mbps(3);
    Timestamp steady_from = Timestamp::seconds(10);  ///< start of the period used for fairness
};

Spec spec_for(CcScenario s) {
    Spec spec;
    switch (s) {
    case CcScenario::VariableCapacity:
        spec.duration = TimeDelta::seconds(100);
        spec.forward = {{Timestamp::seconds(0), DataRate::kbps(1000)},
                        {Timestamp::seconds(40), DataRate::kbps(2500)},
                        {Timestamp::seconds(60), DataRate::kbps(600)},
                        {Timestamp::seconds(80), DataRate::kbps(1000)}};
        break;
    case CcScenario::TwoFlows:
        spec.duration = TimeDelta::seconds(125);
        spec.forward = {{Timestamp::seconds(0), DataRate::kbps(4000)},
                        {Timestamp::seconds(25), DataRate::kbps(2000)},
                        {Timestamp::seconds(50), DataRate::kbps(3500)},
                        {Timestamp::seconds(75), DataRate::kbps(1000)},
                        {Timestamp::seconds(100), DataRate::kbps(2000)}};
        spec.forward_flows = 2;
        spec.max_rate = DataRate::mbps(4);
        break;
    case CcScenario::CongestedFeedback:
        spec.duration = TimeDelta::seconds(100);
        spec.forward = {{Timestamp::seconds(0), DataRate::kbps(2000)},
                        {Timestamp::seconds(20), DataRate::kbps(1000)},
                        {Timestamp::seconds(40), DataRate::kbps(500)},
                        {Timestamp::seconds(60), DataRate::kbps(2000)}};
        spec.backward = {{Timestamp::seconds(0), DataRate::kbps(2000)},
                         {Timestamp::seconds(35), DataRate::kbps(800)},
                         {Timestamp::seconds(70), DataRate::kbps(2000)}};
        spec.backward_flow = true;
        break;
    case CcScenario::CompetingTcp:
        spec.duration = TimeDelta::seconds(120);
        spec.forward = {{Timestamp::seconds(0), DataRate::kbps(2000)}};
        spec.tcp = true;
        spec.media_start = Timestamp::seconds(5);
        spec.steady_from = Timestamp::seconds(15);
        break;
    }
    return spec;
}

LinkConfig link_for(DataRate rate, TimeDelta delay) {
    LinkConfig c;
    c.delay = delay;
    c.rate = rate;
    c.queue = rate * kQueueTime;
    return c;
}

DataRate capacity_at(const std::vector<CapacityPhase>& phases, Timestamp t) {
    DataRate r = phases.front().rate;
    for (const auto& p : phases)
        if (p.start <= t) r = p.rate;
    return r;
}

TimeDelta percentile(std::vector<TimeDelta> v, double q) {
    if (v.empty()) return TimeDelta::zero();
    const auto k = static_cast<size_t>(std::min<double>(static_cast<double>(v.size() - 1),
                                                        std::floor(q * static_cast<double>(v.size() - 1) + 0.5)));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

DataRate target_at(const MediaSender& s, Timestamp t) {
    const auto& log = s.rate_log();
    auto it = std::upper_bound(log.begin(), log.end(), t,
                               [](Timestamp v, const MediaSender::RateSample& r) { return v < r.at; });
    if (it == log.begin()) return DataRate::zero();
    return std::prev(it)->target;
}

struct Direction {
    std::string name;
    std::vector<CapacityPhase> phases;
    TimeDelta one_way;
    std::vector<MediaSender*> senders;
    std::vector<MediaReceiver*> receivers;
    TcpReceiver* tcp = nullptr;
};

DirectionMetrics measure(const Direction& dir, Timestamp end, std::vector<PlotSeries>& rates,
                         std::vector<PlotSeries>& delays) {
    DirectionMetrics m;
    m.name = dir.name;
    // Bytes served by the bottleneck per phase: the packet left the bottleneck one propagation delay before it
    // arrived.
    std::vector<double> media_bits(dir.phases.size(), 0), total_bits(dir.phases.size(), 0);
    auto phase_of = [&](Timestamp served) -> int {
        int idx = -1;
        for (size_t i = 0; i < dir.phases.size(); ++i)
            if (dir.phases[i].start <= served) idx = static_cast<int>(i);
        return served < end ? idx : -1;
    };
    std::vector<TimeDelta> qdelays;
    uint64_t media_received = 0;
    uint64_t media_sent = 0;
    const size_t buckets = static_cast<size_t>(end.us() / 100000) + 1;
    std::vector<double> max_delay_ms(buckets, -1);
    for (const MediaReceiver* r : dir.receivers) {
        for (const auto& a : r->arrivals()) {
            const Timestamp served = a.arrival - dir.one_way;
            const int ph = phase_of(served);
            const double bits = static_cast<double>((a.size + kIpUdpOverhead) * 8);
            if (ph >= 0) {
                total_bits[static_cast<size_t>(ph)] += bits;
                if (!a.padding) media_bits[static_cast<size_t>(ph)] += bits;
            }
            if (a.padding) continue;
            ++media_received;
            const DataRate cap = capacity_at(dir.phases, served);
            const TimeDelta serialization = DataSize::bytes(static_cast<int64_t>(a.size + kIpUdpOverhead)) / cap;
            const TimeDelta q = std::max(TimeDelta::zero(), a.arrival - a.sent - dir.one_way - serialization);
            qdelays.push_back(q);
            const auto b = static_cast<size_t>(a.sent.us() / 100000);
            if (b < buckets) max_delay_ms[b] = std::max(max_delay_ms[b], q.ms_f());
        }
    }
    for (const MediaSender* s : dir.senders) media_sent += s->packets_sent();
    if (dir.tcp) {
        for (const auto& a : dir.tcp->arrivals()) {
            const int ph = phase_of(a.arrival - dir.one_way);
            if (ph >= 0) total_bits[static_cast<size_t>(ph)] += static_cast<double>((a.size + kIpUdpOverhead) * 8);
        }
    }
    double sum_util = 0, sum_weight = 0;
    for (size_t i = 0; i < dir.phases.size(); ++i) {
        PhaseMetrics p;
        p.start = dir.phases[i].start;
        p.end = i + 1 < dir.phases.size() ? dir.phases[i + 1].start : end;
        p.capacity = dir.phases[i].rate;
        const double cap_bits = static_cast<double>(p.capacity.bps()) * (p.end - p.start).seconds_f();
        p.utilisation = media_bits[i] / cap_bits;
        p.total_utilisation = total_bits[i] / cap_bits;
        sum_util += p.utilisation * (p.end - p.start).seconds_f();
        sum_weight += (p.end - p.start).seconds_f();
        m.phases.push_back(p);
    }
    m.avg_utilisation = sum_weight > 0 ? sum_util / sum_weight : 0;
    m.qdelay_p50 = percentile(qdelays, 0.50);
    m.qdelay_p95 = percentile(qdelays, 0.95);
    // Media packets still in flight at the end are not lost; they are few compared with a run.
    m.loss = media_sent > 0 ? std::max(0.0, 1.0 - static_cast<double>(media_received) / static_cast<double>(media_sent)) : 0;

    // Ramp: from each capacity increase (and the start) until the summed target reaches 90% of the capacity.
    for (size_t i = 0; i < dir.phases.size(); ++i) {
        const bool increase = i == 0 || dir.phases[i].rate > dir.phases[i - 1].rate;
        if (!increase) continue;
        RampMetrics r;
        Timestamp from = dir.phases[i].start;
        for (const MediaSender* s : dir.senders)
            if (!s->rate_log().empty()) from = std::max(from, s->rate_log().front().at);
        r.at = from;
        r.capacity = dir.phases[i].rate;
        const Timestamp until = i + 1 < dir.phases.size() ? dir.phases[i + 1].start : end;
        for (Timestamp t = from; t < until; t += TimeDelta::millis(25)) {
            DataRate sum = DataRate::zero();
            for (const MediaSender* s : dir.senders) sum += target_at(*s, t);
            if (sum >= r.capacity * 0.9) {
                r.time_to_90 = t - from;
                break;
            }
        }
        m.ramps.push_back(r);
    }

    // Plot series.
    PlotSeries cap{dir.name + " capacity", {}};
    for (Timestamp t = Timestamp::zero(); t < end; t += TimeDelta::millis(100))
        cap.points.emplace_back(t.seconds_f(), capacity_at(dir.phases, t).kbps_f());
    rates.push_back(std::move(cap));
    for (size_t i = 0; i < dir.senders.size(); ++i) {
        PlotSeries s{dir.name + " target " + std::to_string(i), {}};
        for (size_t k = 0; k < dir.senders[i]->rate_log().size(); k += 4) {
            const auto& r = dir.senders[i]->rate_log()[k];
            s.points.emplace_back(r.at.seconds_f(), r.target.kbps_f());
        }
        rates.push_back(std::move(s));
    }
    auto received_series = [&](const std::string& name, auto arrivals_fn) {
        PlotSeries s{name, {}};
        std::vector<double> bits(buckets, 0);
        arrivals_fn([&](Timestamp arrival, size_t size) {
            const auto b = static_cast<size_t>(arrival.us() / 100000);
            if (b < buckets) bits[b] += static_cast<double>((size + kIpUdpOverhead) * 8);
        });
        // 500 ms moving window.
        for (size_t b = 0; b < buckets; ++b) {
            double sum = 0;
            for (size_t k = b >= 4 ? b - 4 : 0; k <= b; ++k) sum += bits[k];
            s.points.emplace_back(static_cast<double>(b) * 0.1, sum / 0.5 / 1000.0);
        }
        rates.push_back(std::move(s));
    };
    for (size_t i = 0; i < dir.receivers.size(); ++i) {
        received_series(dir.name + " received " + std::to_string(i), [&](auto add) {
            for (const auto& a : dir.receivers[i]->arrivals()) add(a.arrival, a.size);
        });
    }
    if (dir.tcp) {
        received_series(dir.name + " tcp received", [&](auto add) {
            for (const auto& a : dir.tcp->arrivals()) add(a.arrival, a.size);
        });
    }
    PlotSeries d{dir.name + " queuing delay", {}};
    for (size_t b = 0; b < buckets; ++b)
        if (max_delay_ms[b] >= 0) d.points.emplace_back(static_cast<double>(b) * 0.1, max_delay_ms[b]);
    delays.push_back(std::move(d));
    return m;
}

double throughput_kbps(const std::vector<MediaReceiver::Arrival>& arrivals, Timestamp from, Timestamp to) {
    double bits = 0;
    for (const auto& a : arrivals)
        if (a.arrival >= from && a.arrival < to && !a.padding) bits += static_cast<double>((a.size + kIpUdpOverhead) * 8);
    return bits / (to - from).seconds_f() / 1000.0;
}

} // namespace

const char* scenario_id(CcScenario s) {
    switch (s) {
    case CcScenario::VariableCapacity: return "5.1";
    case CcScenario::TwoFlows: return "5.2";
    case CcScenario::CongestedFeedback: return "5.3";
    case CcScenario::CompetingTcp: return "5.6";
    }
    return "?";
}

const char* scenario_name(CcScenario s) {
    switch (s) {
    case CcScenario::VariableCapacity: return "variable_capacity";
    case CcScenario::TwoFlows: return "two_flows";
    case CcScenario::CongestedFeedback: return "congested_feedback";
    case CcScenario::CompetingTcp: return "competing_tcp";
    }
    return "?";
}

double jain_fairness(const std::vector<double>& x) {
    double sum = 0, sum_sq = 0;
    for (double v : x) {
        sum += v;
        sum_sq += v * v;
    }
    if (x.empty() || sum_sq == 0) return 0;
    return sum * sum / (static_cast<double>(x.size()) * sum_sq);
}

ScenarioResult run_cc_scenario(CcScenario scenario, TimeDelta rtt, uint64_t seed) {
    const Spec spec = spec_for(scenario);
    const TimeDelta one_way = rtt / 2;
    const Timestamp end = Timestamp::zero() + spec.duration;
    Network net(seed);

    const LinkId fwd = net.add_link(link_for(spec.forward.front().rate, one_way));
    for (size_t i = 1; i < spec.forward.size(); ++i)
        net.schedule_link_change(spec.forward[i].start, fwd, link_for(spec.forward[i].rate, one_way));
    LinkConfig rev_config;
    rev_config.delay = one_way;
    if (!spec.backward.empty()) rev_config = link_for(spec.backward.front().rate, one_way);
    const LinkId rev = net.add_link(rev_config);
    for (size_t i = 1; i < spec.backward.size(); ++i)
        net.schedule_link_change(spec.backward[i].start, rev, link_for(spec.backward[i].rate, one_way));

    std::vector<std::unique_ptr<MediaSender>> senders;
    std::vector<std::unique_ptr<MediaReceiver>> receivers;
    Direction forward{"fwd", spec.forward, one_way, {}, {}, nullptr};
    Direction backward{"bwd", spec.backward, one_way, {}, {}, nullptr};

    auto add_flow = [&](IpAddr src, IpAddr dst, LinkId src_link, LinkId dst_link, uint8_t flow, Direction& dir) {
        MediaSenderConfig c;
        c.local = SocketAddr(src, kPort);
        c.remote = SocketAddr(dst, kPort);
        c.flow_id = flow;
        c.max_rate = spec.max_rate;
        c.start = spec.media_start;
        c.seed = seed * 1000 + flow;
        senders.push_back(std::make_unique<MediaSender>(c));
        receivers.push_back(std::make_unique<MediaReceiver>(SocketAddr(dst, kPort)));
        net.add_host(*senders.back(), {src}, {.uplink = src_link});
        net.add_host(*receivers.back(), {dst}, {.uplink = dst_link});
        dir.senders.push_back(senders.back().get());
        dir.receivers.push_back(receivers.back().get());
    };
    for (int i = 0; i < spec.forward_flows; ++i) {
        add_flow(IpAddr::v4(10, 0, 0, static_cast<uint8_t>(1 + i)), IpAddr::v4(10, 0, 1, static_cast<uint8_t>(1 + i)),
                 fwd, rev, static_cast<uint8_t>(i), forward);
    }
    if (spec.backward_flow)
        add_flow(IpAddr::v4(10, 0, 1, 50), IpAddr::v4(10, 0, 0, 50), rev, fwd, 50, backward);

    std::unique_ptr<TcpSender> tcp_sender;
    std::unique_ptr<TcpReceiver> tcp_receiver;
    if (spec.tcp) {
        const SocketAddr a(IpAddr::v4(10, 0, 0, 100), kPort), b(IpAddr::v4(10, 0, 1, 100), kPort);
        tcp_sender = std::make_unique<TcpSender>(a, b, Timestamp::zero());
        tcp_receiver = std::make_unique<TcpReceiver>(b);
        net.add_host(*tcp_sender, {a.ip()}, {.uplink = fwd});
        net.add_host(*tcp_receiver, {b.ip()}, {.uplink = rev});
        forward.tcp = tcp_receiver.get();
    }

    net.run_until(end);

    ScenarioResult result;
    result.scenario = scenario;
    result.rtt = rtt;
    result.duration = spec.duration;
    result.events = net.stats().events;
    result.directions.push_back(measure(forward, end, result.rate_series, result.delay_series));
    if (spec.backward_flow) result.directions.push_back(measure(backward, end, result.rate_series, result.delay_series));

    for (const MediaReceiver* r : forward.receivers)
        result.flow_throughput_kbps.push_back(throughput_kbps(r->arrivals(), spec.steady_from, end));
    if (spec.tcp) {
        double bits = 0;
        for (const auto& a : tcp_receiver->arrivals())
            if (a.arrival >= spec.steady_from && a.arrival < end) bits += static_cast<double>((a.size + kIpUdpOverhead) * 8);
        result.flow_throughput_kbps.push_back(bits / (end - spec.steady_from).seconds_f() / 1000.0);
        result.media_share = result.flow_throughput_kbps.front() / spec.forward.front().rate.kbps_f();
        result.tcp_loss_events = tcp_sender->loss_events();
        result.tcp_timeouts = tcp_sender->timeouts();
    }
    for (const auto& s : senders) {
        result.rate_logs.push_back(s->rate_log());
        result.probe_logs.push_back(s->probe_log());
    }
    if (result.flow_throughput_kbps.size() > 1) result.fairness = jain_fairness(result.flow_throughput_kbps);
    return result;
}

} // namespace rtcpp::sim
