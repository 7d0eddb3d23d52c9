// RFC 8867 test cases over the simulator, measured as RFC 8868 asks: per-phase link utilisation, queuing delay
// percentiles, loss, time to reach 90% of a new capacity, Jain fairness. Shared by tests/cc and bench/bench_cc.
#pragma once

#include "sim/cc_endpoints.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rtcpp::sim {

enum class CcScenario {
    VariableCapacity,   ///< RFC 8867 5.1: 1 -> 2.5 -> 0.6 -> 1 Mbps, one flow
    TwoFlows,           ///< 5.2: 4 -> 2 -> 3.5 -> 1 -> 2 Mbps, two flows
    CongestedFeedback,  ///< 5.3: media in both directions, both directions' capacity varies
    CompetingTcp,       ///< 5.6: 2 Mbps shared with a long-lived TCP-like flow started 5 s earlier
};

const char* scenario_id(CcScenario s);    ///< "5.1", ...
const char* scenario_name(CcScenario s);  ///< "variable_capacity", ...

struct CapacityPhase {
    Timestamp start;
    DataRate rate;
};

struct PhaseMetrics {
    Timestamp start;
    Timestamp end;
    DataRate capacity;
    double utilisation = 0;        ///< media bytes (IP level, no padding) served by the bottleneck / capacity
    double total_utilisation = 0;  ///< including padding and competing TCP traffic
};

struct RampMetrics {
    Timestamp at;         ///< when the capacity increased
    DataRate capacity;    ///< the new capacity
    std::optional<TimeDelta> time_to_90;  ///< until the summed target reached 90% of it (nullopt: not in the phase)
};

struct DirectionMetrics {
    std::string name;
    std::vector<PhaseMetrics> phases;
    double avg_utilisation = 0;
    TimeDelta qdelay_p50 = TimeDelta::zero();
    TimeDelta qdelay_p95 = TimeDelta::zero();
    double loss = 0;  ///< media packets not received / sent
    std::vector<RampMetrics> ramps;
};

struct PlotSeries {
    std::string name;
    std::vector<std::pair<double, double>> points;  ///< (seconds, value)
};

struct ScenarioResult {
    CcScenario scenario;
    TimeDelta rtt;
    std::vector<DirectionMetrics> directions;
    /// Jain's index over the media flows sharing the forward bottleneck (5.2), or media vs TCP (5.6).
    std::optional<double> fairness;
    /// 5.6: the media flow's throughput as a share of the capacity, after it started.
    std::optional<double> media_share;
    std::vector<double> flow_throughput_kbps;  ///< per forward flow over the steady period (media flows, then TCP)
    std::vector<PlotSeries> rate_series;       ///< kbps: capacity, target per flow, received rate per flow
    std::vector<PlotSeries> delay_series;      ///< ms: queuing delay (max per 100 ms)
    /// Every media sender's controller log (forward flows first), for plots and diagnosis.
    std::vector<std::vector<MediaSender::RateSample>> rate_logs;
    std::vector<std::vector<std::pair<Timestamp, DataRate>>> probe_logs;  ///< per media sender: probe clusters
    uint64_t tcp_loss_events = 0;
    uint64_t tcp_timeouts = 0;
    TimeDelta duration;
    uint64_t events = 0;
};

ScenarioResult run_cc_scenario(CcScenario scenario, TimeDelta rtt, uint64_t seed = 1);

/// Jain's fairness index: (sum x)^2 / (n * sum x^2); 1 is perfectly fair.
double jain_fairness(const std::vector<double>& x);

} // namespace rtcpp::sim
