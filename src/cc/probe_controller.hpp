// Decides when to probe the path with short bursts above the current estimate:
//  - at start: exponential probes at 3x and 6x the start rate, then 2x each result while results keep up (> 70%
//    of the probed rate);
//  - when the application's maximum (or its allocation) grows above the estimate;
//  - when leaving an application-limited region (the capacity may have grown unseen), and optionally
//    periodically within one;
//  - after a large drop in the estimate that recovered (was it a transient?);
//  - when the delay-based controller has lost its capacity estimate (the link got faster), or has not decreased
//    for a while: turns an 8%/s (or additive) climb into a jump.
// Every method takes the time and returns the clusters to send now (possibly none).
#pragma once

#include "cc/network_types.hpp"

#include <optional>
#include <vector>

namespace rtcpp::cc {

class ProbeController {
public:
    struct Config {
        double first_exponential_probe_scale = 3.0;
        double second_exponential_probe_scale = 6.0;
        double further_exponential_probe_scale = 2.0;
        double further_probe_threshold = 0.7;
        bool periodic_alr_probing = false;
        TimeDelta alr_probing_interval = TimeDelta::seconds(5);
        double alr_probe_scale = 2.0;
        double first_allocation_probe_scale = 1.0;
        double second_allocation_probe_scale = 2.0;
        bool probe_on_alr_exit = true;
        double alr_exit_probe_scale = 2.0;
        /// Probe (at capacity_probe_scale x estimate) while the delay-based capacity estimate is unknown and
        /// the rate is climbing, at most every capacity_probe_interval.
        bool probe_on_capacity_unknown = true;
        double capacity_probe_scale = 2.0;
        TimeDelta capacity_probe_interval = TimeDelta::seconds(2);
        /// Probe (at stable_probe_scale x estimate) when the estimate has not been decreased for stable_time: the
        /// capacity may have grown, and additive increase alone would take many seconds to find out.
        bool probe_when_stable = true;
        double stable_probe_scale = 2.0;
        TimeDelta stable_time = TimeDelta::seconds(3);
        /// Fairness experiments, off: each made two-flow sharing fairer and broke another target (docs/cc.md,
        /// "Two-flow fairness"). On a shared link a probe at 2 x the flow's own rate is a multiplicative increase
        /// that the flow keeps, so it holds the gap between two flows open where AIMD's equal additive steps
        /// would close it (Chiu-Jain).
        /// Wait for the AIMD's expected sawtooth period (set_expected_bandwidth_period, at most max_stable_time)
        /// rather than stable_time alone: a flow above its fair share decreased more, so it probes later.
        bool stable_after_expected_period = false;
        TimeDelta max_stable_time = TimeDelta::millis(3500);
        /// Probe only once the estimate is back at the AIMD's link capacity estimate (set_link_capacity: the
        /// rate of its last overuses), or max_stable_time after the last decrease: a flow above its fair share
        /// meets the next overuse before it gets there, a flow below it gets there first.
        bool stable_probe_at_capacity = false;
        /// The two rules above wait while the feedback shows more queuing delay than this (plus_infinity: never
        /// wait). A probe into a standing queue measures the bottleneck's rate (everyone's share), not spare
        /// capacity: the flow with the larger rate (hence the larger probe) takes most of it and the queue grows.
        /// A queue found to be a loss-based competitor's does not hold them back (see set_queue_delay).
        TimeDelta max_queue_delay_for_probing = TimeDelta::millis(30);
        TimeDelta min_time_between_probes = TimeDelta::seconds(1);
        TimeDelta probe_duration = TimeDelta::millis(15);
        /// Duration of the stable probes (and of the further probes that continue them). A short cluster sent
        /// into an empty queue passes at nearly the link rate however much of the link another flow uses, so
        /// the flow that probes first takes a capacity increase (two-flow Jain 0.83). A cluster long enough to
        /// build a queue is served in proportion to what each flow sends, so it reports the prober's share, and
        /// a flow below its fair share gains more from it than one above: 40 ms gives Jain 0.96/0.95 (RFC 8867
        /// 5.2, 20 seeds; 0.83 with 15 ms) and more media share against TCP. The queue such a cluster builds
        /// into an empty queue is its own, and the delay-based estimator keeps it out of the trend (see
        /// DelayBasedBwe::exclude_probe_cluster); the cost left is 5.2 p95 (+31/+25 ms): see docs/cc.md.
        TimeDelta stable_probe_duration = TimeDelta::millis(40);
        int probe_count = 5;
    };
    enum class State : uint8_t { Init, WaitingForProbingResult, ProbingComplete };

    static constexpr TimeDelta kMaxWaitingTimeForProbingResult = TimeDelta::seconds(1);
    static constexpr TimeDelta kAlrEndedTimeout = TimeDelta::seconds(3);
    static constexpr TimeDelta kBitrateDropTimeout = TimeDelta::seconds(5);
    static constexpr double kBitrateDropThreshold = 0.66;
    static constexpr double kProbeFractionAfterDrop = 0.85;
    static constexpr double kProbeUncertainty = 0.05;

    ProbeController() : ProbeController(Config{}) {}
    explicit ProbeController(const Config& config) : config_(config) {}

    std::vector<ProbeClusterConfig> set_bitrates(DataRate min, std::optional<DataRate> start, DataRate max, Timestamp at);
    std::vector<ProbeClusterConfig> on_max_total_allocated_bitrate(DataRate rate, Timestamp at);
    std::vector<ProbeClusterConfig> on_network_availability(bool available, Timestamp at);
    /// The latest target estimate.
    std::vector<ProbeClusterConfig> set_estimated_bitrate(DataRate rate, Timestamp at);
    void set_alr_start_time(std::optional<Timestamp> start) { alr_start_ = start; }
    /// The application-limited region just ended.
    std::vector<ProbeClusterConfig> on_alr_ended(Timestamp at);
    /// Whether the delay-based controller currently knows the link capacity.
    void set_capacity_known(bool known) { capacity_known_ = known; }
    /// The queuing delay the latest feedback showed (its lowest one-way delay above the path's minimum); nullopt
    /// when unknown or when the queue is a competitor's that will not drain.
    void set_queue_delay(std::optional<TimeDelta> delay) { queue_delay_ = delay; }
    /// When the delay-based estimate was last decreased.
    void set_last_decrease_time(Timestamp at) { last_decrease_ = at; }
    /// How long the delay-based AIMD needs to climb back to where it last decreased (its sawtooth period).
    void set_expected_bandwidth_period(TimeDelta period) { expected_bandwidth_period_ = period; }
    /// The delay-based AIMD's link capacity estimate (the rate at its recent overuses), if it has one.
    void set_link_capacity(std::optional<DataRate> rate) { link_capacity_ = rate; }
    /// After recovering from a large drop: probe back towards the rate before the drop.
    std::vector<ProbeClusterConfig> request_probe(Timestamp at);
    std::vector<ProbeClusterConfig> process(Timestamp at);

    State state() const { return state_; }

private:
    std::vector<ProbeClusterConfig> initiate_exponential_probing(Timestamp at);
    std::vector<ProbeClusterConfig> initiate_probing(Timestamp at, std::vector<DataRate> rates, bool probe_further,
                                                     std::optional<TimeDelta> duration = std::nullopt);

    Config config_;
    State state_ = State::Init;
    bool network_available_ = true;
    DataRate min_bitrate_ = DataRate::zero();
    DataRate start_bitrate_ = DataRate::zero();
    DataRate max_bitrate_ = DataRate::infinity();
    DataRate estimated_bitrate_ = DataRate::zero();
    DataRate max_total_allocated_ = DataRate::zero();
    DataRate min_bitrate_to_probe_further_ = DataRate::infinity();
    TimeDelta further_probe_duration_ = TimeDelta::zero();  ///< of the probes continuing the last ones
    Timestamp time_last_probing_initiated_ = Timestamp::minus_infinity();
    std::optional<Timestamp> alr_start_;
    std::optional<Timestamp> alr_end_;
    DataRate last_bwe_drop_probing_rate_ = DataRate::zero();
    Timestamp time_of_last_large_drop_ = Timestamp::minus_infinity();
    DataRate mid_call_probing_rate_ = DataRate::zero();
    bool capacity_known_ = false;
    std::optional<TimeDelta> queue_delay_;
    Timestamp last_decrease_ = Timestamp::minus_infinity();
    TimeDelta expected_bandwidth_period_ = TimeDelta::zero();
    std::optional<DataRate> link_capacity_;
    int next_cluster_id_ = 1;
};

} // namespace rtcpp::cc
