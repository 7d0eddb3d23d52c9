// Google congestion control (draft-ietf-rmcat-gcc-02, shaped like libwebrtc's GoogCcNetworkController): composes
// the delay-based estimator, acknowledged-bitrate estimator, loss-based controller, ALR detector and probing.
// One method per event; each takes the time and returns what changed. No observers, no threads, no clock.
//
// Drive it with: on_target_rate_constraints (once, then on changes), on_sent_packet for every packet that leaves
// the socket, on_transport_feedback for every parsed feedback (after matching it with TransportFeedbackAdapter),
// on_process_interval every ~25 ms, on_remb / on_loss_report when the peer only sends REMB and receiver reports.
#pragma once

#include "cc/acknowledged_bitrate_estimator.hpp"
#include "cc/alr_detector.hpp"
#include "cc/delay_based_bwe.hpp"
#include "cc/loss_based_bwe.hpp"
#include "cc/network_types.hpp"
#include "cc/probe_bitrate_estimator.hpp"
#include "cc/probe_controller.hpp"

#include <deque>
#include <optional>

namespace rtcpp::cc {

class GoogCcNetworkController {
public:
    struct Config {
        TargetRateConstraints constraints;
        /// The pacer runs this much faster than the target, so frames leave in bursts shorter than a frame interval.
        double pacing_factor = 2.5;
        DelayBasedBwe::Config delay_based;
        LossBasedBwe::Config loss_based;
        ProbeController::Config probing;
        AlrDetector::Config alr;
        /// Experiment, off (docs/cc.md, "Two-flow fairness"): an overuse within a second of a probe that raised
        /// the delay-based estimate takes the estimate back to where it was before the probe. Cuts 5.2's p95
        /// queuing delay (118/152 -> 96/141 ms) but costs utilisation, fairness and share against TCP.
        bool undo_overshooting_probe = false;
    };

    static constexpr TimeDelta kProcessInterval = TimeDelta::millis(25);
    static constexpr DataRate kDefaultStartRate = DataRate::kbps(300);

    explicit GoogCcNetworkController(const Config& config);

    NetworkControlUpdate on_target_rate_constraints(const TargetRateConstraints& constraints);
    NetworkControlUpdate on_sent_packet(const SentPacketInfo& packet);
    NetworkControlUpdate on_transport_feedback(const TransportPacketsFeedback& feedback);
    NetworkControlUpdate on_process_interval(Timestamp at);
    /// Receiver-estimated maximum bitrate (REMB), for peers without transport-cc feedback.
    NetworkControlUpdate on_remb(Timestamp at, DataRate bitrate);
    /// Loss from receiver reports (`lost` of `expected` packets), for peers without transport-cc feedback.
    NetworkControlUpdate on_loss_report(Timestamp at, int64_t lost, int64_t expected);
    NetworkControlUpdate on_rtt(Timestamp at, TimeDelta rtt);
    /// What the application would send at most (sum of its streams' maxima): probes up to it when it grows.
    NetworkControlUpdate on_max_total_allocated_bitrate(Timestamp at, DataRate rate);
    /// Padding the application wants while under its target (e.g. to keep the estimate up); capped by the target.
    void set_max_padding_rate(DataRate rate) { max_padding_rate_ = rate; }

    DataRate target_rate() const { return last_target_.value_or(DataRate::zero()); }
    DataRate delay_based_estimate() const { return delay_based_.last_estimate(); }
    std::optional<DataRate> acknowledged_bitrate() const { return acked_.bitrate(); }
    TimeDelta rtt() const { return rtt_; }
    BandwidthUsage delay_state() const { return delay_based_.state(); }
    bool in_alr() const { return alr_.alr_start_time().has_value(); }
    const DelayBasedBwe& delay_based() const { return delay_based_; }
    const LossBasedBwe& loss_based() const { return loss_based_; }

private:
    void note_probe_clusters(const NetworkControlUpdate& update);
    /// No packet sent for this long: the sender paused (an encoder or a loaded machine), not the path.
    static constexpr TimeDelta kSenderStallGap = TimeDelta::millis(250);
    /// How long after such a pause the last window's delivery rate is not taken as the path's.
    static constexpr TimeDelta kStallMemory = TimeDelta::seconds(1);
    std::optional<Timestamp> last_sent_;
    std::optional<Timestamp> resumed_after_stall_;
    /// When a probe result last raised the estimate: for about a second the acknowledged bitrate still describes
    /// the rate before the jump.
    Timestamp probe_raised_at_ = Timestamp::minus_infinity();
    /// The delay-based estimate just before that probe raised it.
    DataRate rate_before_probe_raise_ = DataRate::zero();

    void maybe_trigger_network_changed(NetworkControlUpdate& update, Timestamp at);
    PacerConfig pacing_rates(Timestamp at) const;
    void apply_constraints(const TargetRateConstraints& c, Timestamp at, NetworkControlUpdate& update);
    void initialize(Timestamp at, NetworkControlUpdate& update);

    Config config_;
    DelayBasedBwe delay_based_;
    LossBasedBwe loss_based_;
    AcknowledgedBitrateEstimator acked_;
    ProbeBitrateEstimator probe_estimator_;
    ProbeController probe_controller_;
    AlrDetector alr_;

    DataRate min_rate_ = DataRate::kbps(5);
    DataRate max_rate_ = DataRate::mbps(30);
    DataRate max_padding_rate_ = DataRate::zero();
    DataRate min_total_allocated_ = DataRate::zero();
    bool initialized_ = false;
    bool previously_in_alr_ = false;
    TimeDelta rtt_ = TimeDelta::zero();
    std::deque<TimeDelta> feedback_rtts_;
    std::optional<DataRate> last_target_;
    double last_loss_ = -1;
    TimeDelta last_rtt_reported_ = TimeDelta::zero();
};

} // namespace rtcpp::cc
