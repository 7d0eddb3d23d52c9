// The delay-based estimator: inter-arrival grouping -> trendline -> overuse detector -> AIMD, fed with the packet
// results of each transport feedback.
#pragma once

#include "cc/aimd_rate_control.hpp"
#include "cc/inter_arrival.hpp"
#include "cc/network_types.hpp"
#include "cc/overuse_detector.hpp"
#include "cc/trendline_estimator.hpp"

#include <array>
#include <deque>
#include <optional>
#include <utility>

namespace rtcpp::cc {

class DelayBasedBwe {
public:
    struct Config {
        TrendlineEstimator::Config trendline;
        OveruseDetector::Config detector;
        AimdRateControl::Config aimd;
        /// Decrease when the queue stays above standing_queue_threshold (minimum one-way delay of a feedback over
        /// the 30 s minimum) while the trend sees nothing: a full drop-tail queue gives a flat delay. If a
        /// decrease does not shrink the queue, the queue is someone else's (a loss-based competitor): the rule
        /// pauses for competing_backoff instead of yielding to it.
        bool drain_standing_queue = true;
        TimeDelta standing_queue_threshold = TimeDelta::millis(60);
        TimeDelta competing_backoff = TimeDelta::seconds(10);
    };
    struct Result {
        bool updated = false;
        bool probe = false;
        DataRate target_bitrate = DataRate::zero();
        bool recovered_from_overuse = false;
    };

    /// No feedback for this long: the delay history is stale, start over.
    static constexpr TimeDelta kStreamTimeout = TimeDelta::seconds(2);
    static constexpr TimeDelta kOwnProbeQueueThreshold = TimeDelta::millis(15);

    DelayBasedBwe() : DelayBasedBwe(Config{}) {}
    explicit DelayBasedBwe(const Config& config);

    /// `recent_throughput`: the unsmoothed delivery rate of the last window, if fresh. On overuse the decrease is
    /// based on the lower of it and the acknowledged bitrate, so that a sudden capacity drop is not answered with a
    /// rate derived from before the drop (which would leave a standing queue the delay trend cannot see).
    /// `rate_just_raised`: a probe raised the estimate moments ago, so the acknowledged bitrate still describes the
    /// rate before the jump; a decrease is then based on the last window alone (what the path carried at the new
    /// rate), not on the smoothed rate from before the probe.
    Result incoming_packet_feedback(const TransportPacketsFeedback& feedback, std::optional<DataRate> acked_bitrate,
                                    std::optional<DataRate> probe_bitrate, bool in_alr,
                                    std::optional<DataRate> recent_throughput = std::nullopt,
                                    bool rate_just_raised = false);
    void on_rtt_update(TimeDelta rtt) { rate_control_.set_rtt(rtt); }
    void set_start_bitrate(DataRate rate) { rate_control_.set_start_bitrate(rate); }
    void set_min_bitrate(DataRate rate) { rate_control_.set_min_bitrate(rate); }
    void set_max_bitrate(DataRate rate) { rate_control_.set_max_bitrate(rate); }
    /// Packets of this probe cluster are kept out of the delay trend when it starts into an empty queue (below
    /// kOwnProbeQueueThreshold): the queue a long cluster builds there is our own and drains once it ends, so
    /// reading it as overuse would back a lone flow off after every such probe. The probe's result still
    /// counts, and into a busy queue (another flow's) the cluster is measured as usual.
    void exclude_probe_cluster(int id);
    /// Overrides the estimate (the controller undoing an overshooting probe).
    void set_estimate(DataRate rate, Timestamp at) { rate_control_.set_estimate(rate, at); }

    DataRate last_estimate() const { return rate_control_.latest_estimate(); }
    bool valid_estimate() const { return rate_control_.valid_estimate(); }
    BandwidthUsage state() const { return detector_.state(); }
    const AimdRateControl& rate_control() const { return rate_control_; }
    const OveruseDetector& detector() const { return detector_; }
    const TrendlineEstimator& trendline() const { return trendline_; }
    /// Queuing delay seen in the last feedback (its lowest one-way delay above the 30 s minimum).
    std::optional<TimeDelta> queue_delay() const { return queue_delay_; }
    /// Whether the standing queue was found to be a competitor's (our decreases did not drain it).
    bool competing_queue(Timestamp at) const { return at < competing_until_; }

private:
    void incoming_packet(const PacketResult& packet, Timestamp at);
    bool skip_own_probe_packet(const PacketResult& packet);
    Result maybe_update_estimate(std::optional<DataRate> acked_bitrate, std::optional<DataRate> probe_bitrate,
                                 std::optional<DataRate> recent_throughput, bool rate_just_raised,
                                 bool recovered_from_overuse, Timestamp at);
    std::optional<DataRate> decrease_throughput(std::optional<DataRate> acked, std::optional<DataRate> recent,
                                                bool rate_just_raised) const;
    void reset_delay_estimation();

    void update_queue_delay(const TransportPacketsFeedback& feedback);
    bool standing_queue_decrease_due(Timestamp at);

    Config config_;
    std::deque<std::pair<Timestamp, TimeDelta>> owd_minima_;  ///< per second: lowest one-way delay (+ offset)
    std::optional<TimeDelta> queue_delay_;
    std::optional<TimeDelta> previous_queue_delay_;  ///< before the current feedback
    std::array<int, 4> excluded_clusters_{PacedPacketInfo::kNotAProbe, PacedPacketInfo::kNotAProbe,
                                          PacedPacketInfo::kNotAProbe, PacedPacketInfo::kNotAProbe};
    size_t next_excluded_ = 0;
    int current_cluster_ = PacedPacketInfo::kNotAProbe;  ///< the cluster whose packets are being seen
    bool skipping_cluster_ = false;
    Timestamp last_standing_decrease_ = Timestamp::minus_infinity();
    TimeDelta queue_at_standing_decrease_ = TimeDelta::zero();
    Timestamp competing_until_ = Timestamp::minus_infinity();
    InterArrival inter_arrival_;
    TrendlineEstimator trendline_;
    OveruseDetector detector_;
    AimdRateControl rate_control_;
    Timestamp last_seen_packet_ = Timestamp::minus_infinity();
};

} // namespace rtcpp::cc
