#include "cc/delay_based_bwe.hpp"

#include "cc/time_util.hpp"

#include <algorithm>

namespace rtcpp::cc {

DelayBasedBwe::DelayBasedBwe(const Config& config)
    : config_(config), trendline_(config.trendline), detector_(config.detector), rate_control_(config.aimd) {}

void DelayBasedBwe::reset_delay_estimation() {
    inter_arrival_ = InterArrival();
    trendline_ = TrendlineEstimator(config_.trendline);
    detector_ = OveruseDetector(config_.detector);
}

void DelayBasedBwe::exclude_probe_cluster(int id) {
    if (std::find(excluded_clusters_.begin(), excluded_clusters_.end(), id) != excluded_clusters_.end()) return;
    excluded_clusters_[next_excluded_] = id;
    next_excluded_ = (next_excluded_ + 1) % excluded_clusters_.size();
}

bool DelayBasedBwe::skip_own_probe_packet(const PacketResult& packet) {
    const int id = packet.sent_packet.pacing_info.probe_cluster_id;
    if (id != PacedPacketInfo::kNotAProbe &&
        std::find(excluded_clusters_.begin(), excluded_clusters_.end(), id) != excluded_clusters_.end()) {
        if (id != current_cluster_) {
            current_cluster_ = id;
            skipping_cluster_ = previous_queue_delay_.value_or(TimeDelta::zero()) < kOwnProbeQueueThreshold;
        }
        return skipping_cluster_;
    }
    current_cluster_ = id;
    if (skipping_cluster_) {
        // The first packet after the cluster starts a new delay reference: the step the cluster's queue put
        // between the packets before and after it is not a trend.
        skipping_cluster_ = false;
        inter_arrival_ = InterArrival();
    }
    return false;
}

void DelayBasedBwe::incoming_packet(const PacketResult& packet, Timestamp at) {
    if (elapsed_since(at, last_seen_packet_) > kStreamTimeout) reset_delay_estimation();
    last_seen_packet_ = at;
    if (skip_own_probe_packet(packet)) return;
    auto deltas = inter_arrival_.compute_deltas(packet.sent_packet.send_time, packet.receive_time, at,
                                                packet.sent_packet.size.bytes());
    if (!deltas) return;
    const auto sample = trendline_.update(deltas->arrival_delta, deltas->send_delta, packet.receive_time);
    detector_.detect(sample.modified_trend, sample.trend, sample.num_deltas, deltas->send_delta, packet.receive_time);
}

void DelayBasedBwe::update_queue_delay(const TransportPacketsFeedback& feedback) {
    // One-way delay in the adapter's shifted clock: only differences to its minimum mean anything.
    TimeDelta lowest = TimeDelta::plus_infinity();
    for (const auto& p : feedback.packet_feedbacks)
        if (p.is_received()) lowest = std::min(lowest, p.receive_time - p.sent_packet.send_time);
    if (!lowest.is_finite()) return;
    previous_queue_delay_ = queue_delay_;
    const Timestamp bucket = Timestamp::seconds(feedback.feedback_time.us() / 1000000);
    if (owd_minima_.empty() || owd_minima_.back().first != bucket) owd_minima_.emplace_back(bucket, lowest);
    else owd_minima_.back().second = std::min(owd_minima_.back().second, lowest);
    while (owd_minima_.size() > 30) owd_minima_.pop_front();
    TimeDelta base = TimeDelta::plus_infinity();
    for (const auto& [t, v] : owd_minima_) base = std::min(base, v);
    queue_delay_ = lowest - base;
}

bool DelayBasedBwe::standing_queue_decrease_due(Timestamp at) {
    if (!config_.drain_standing_queue || !queue_delay_ || *queue_delay_ <= config_.standing_queue_threshold) return false;
    if (at < competing_until_ || detector_.state() == BandwidthUsage::Underusing) return false;
    const TimeDelta since = elapsed_since(at, last_standing_decrease_);
    if (since < TimeDelta::seconds(1)) return false;  // give the last decrease time to act
    if (since < TimeDelta::seconds(3) && *queue_delay_ > queue_at_standing_decrease_ * 0.8) {
        // Our decrease did not drain it: not our queue.
        competing_until_ = at + config_.competing_backoff;
        return false;
    }
    last_standing_decrease_ = at;
    queue_at_standing_decrease_ = *queue_delay_;
    return true;
}

DelayBasedBwe::Result DelayBasedBwe::incoming_packet_feedback(const TransportPacketsFeedback& feedback,
                                                              std::optional<DataRate> acked_bitrate,
                                                              std::optional<DataRate> probe_bitrate, bool in_alr,
                                                              std::optional<DataRate> recent_throughput,
                                                              bool rate_just_raised) {
    const auto packets = feedback.sorted_by_receive_time();
    if (packets.empty()) return Result{};
    update_queue_delay(feedback);
    bool recovered_from_overuse = false;
    BandwidthUsage prev = detector_.state();
    for (const auto& p : packets) {
        incoming_packet(p, feedback.feedback_time);
        if (prev == BandwidthUsage::Underusing && detector_.state() == BandwidthUsage::Normal)
            recovered_from_overuse = true;
        prev = detector_.state();
    }
    rate_control_.set_in_alr(in_alr);
    return maybe_update_estimate(acked_bitrate, probe_bitrate, recent_throughput, rate_just_raised,
                                 recovered_from_overuse, feedback.feedback_time);
}

std::optional<DataRate> DelayBasedBwe::decrease_throughput(std::optional<DataRate> acked,
                                                           std::optional<DataRate> recent,
                                                           bool rate_just_raised) const {
    if (!acked || !recent) return acked;
    return rate_just_raised ? *recent : std::min(*acked, *recent);
}

DelayBasedBwe::Result DelayBasedBwe::maybe_update_estimate(std::optional<DataRate> acked_bitrate,
                                                           std::optional<DataRate> probe_bitrate,
                                                           std::optional<DataRate> recent_throughput,
                                                           bool rate_just_raised, bool recovered_from_overuse,
                                                           Timestamp at) {
    Result r;
    if (detector_.state() == BandwidthUsage::Overusing) {
        const auto throughput = decrease_throughput(acked_bitrate, recent_throughput, rate_just_raised);
        if (throughput && rate_control_.time_to_reduce_further(at, *throughput)) {
            rate_control_.update(BandwidthUsage::Overusing, throughput, at);
            r.updated = rate_control_.valid_estimate();
            r.target_bitrate = rate_control_.latest_estimate();
        } else if (!acked_bitrate && rate_control_.initial_time_to_reduce_further(at)) {
            // Overusing before any throughput measurement: halve, at most once per interval.
            rate_control_.set_estimate(rate_control_.latest_estimate() * 0.5, at);
            r.updated = true;
            r.target_bitrate = rate_control_.latest_estimate();
        }
    } else if (standing_queue_decrease_due(at)) {
        const auto throughput = decrease_throughput(acked_bitrate, recent_throughput, rate_just_raised);
        if (throughput) {
            rate_control_.update(BandwidthUsage::Overusing, throughput, at);
            r.updated = rate_control_.valid_estimate();
            r.target_bitrate = rate_control_.latest_estimate();
        }
    } else if (probe_bitrate) {
        r.probe = true;
        r.updated = true;
        rate_control_.set_estimate(*probe_bitrate, at);
        rate_control_.on_probe_rate(*probe_bitrate);
        r.target_bitrate = rate_control_.latest_estimate();
    } else {
        rate_control_.update(detector_.state(), acked_bitrate, at);
        r.updated = rate_control_.valid_estimate();
        r.target_bitrate = rate_control_.latest_estimate();
        r.recovered_from_overuse = recovered_from_overuse;
    }
    return r;
}

} // namespace rtcpp::cc
