#include "cc/goog_cc_network_controller.hpp"

#include "cc/time_util.hpp"

#include <algorithm>

namespace rtcpp::cc {

namespace {
constexpr size_t kRttSamples = 32;
/// How long the acknowledged bitrate lags a probe-driven jump (its 500 ms window plus the smoothing).
constexpr TimeDelta kProbeRaiseMemory = TimeDelta::seconds(1);

void append(std::vector<ProbeClusterConfig>& to, std::vector<ProbeClusterConfig>&& from) {
    for (auto& c : from) to.push_back(c);
}
} // namespace

GoogCcNetworkController::GoogCcNetworkController(const Config& config)
    : config_(config),
      delay_based_(config.delay_based),
      loss_based_(config.loss_based),
      probe_controller_(config.probing),
      alr_(config.alr) {}

void GoogCcNetworkController::initialize(Timestamp at, NetworkControlUpdate& update) {
    if (initialized_) return;
    initialized_ = true;
    TargetRateConstraints c = config_.constraints;
    if (!c.starting_rate) c.starting_rate = kDefaultStartRate;
    c.at_time = at;
    apply_constraints(c, at, update);
}

void GoogCcNetworkController::apply_constraints(const TargetRateConstraints& c, Timestamp at,
                                                NetworkControlUpdate& update) {
    if (c.min_data_rate) min_rate_ = *c.min_data_rate;
    if (c.max_data_rate) max_rate_ = *c.max_data_rate;
    max_rate_ = std::max(max_rate_, min_rate_);
    std::optional<DataRate> start = c.starting_rate;
    if (start) start = std::clamp(*start, min_rate_, max_rate_);

    loss_based_.set_bitrates(start, min_rate_, max_rate_, at);
    delay_based_.set_min_bitrate(min_rate_);
    delay_based_.set_max_bitrate(max_rate_);
    if (start) delay_based_.set_start_bitrate(*start);
    append(update.probe_cluster_configs, probe_controller_.set_bitrates(min_rate_, start, max_rate_, at));
    maybe_trigger_network_changed(update, at);
}

NetworkControlUpdate GoogCcNetworkController::on_target_rate_constraints(const TargetRateConstraints& constraints) {
    NetworkControlUpdate update;
    if (!initialized_) {
        // The first constraints replace the configured ones.
        initialized_ = true;
        TargetRateConstraints c = constraints;
        if (!c.min_data_rate) c.min_data_rate = config_.constraints.min_data_rate;
        if (!c.max_data_rate) c.max_data_rate = config_.constraints.max_data_rate;
        if (!c.starting_rate) c.starting_rate = config_.constraints.starting_rate.value_or(kDefaultStartRate);
        apply_constraints(c, constraints.at_time, update);
        return update;
    }
    apply_constraints(constraints, constraints.at_time, update);
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_sent_packet(const SentPacketInfo& packet) {
    NetworkControlUpdate update;
    initialize(packet.send_time, update);
    alr_.on_bytes_sent(packet.size, packet.send_time);
    acked_.set_alr(alr_.alr_start_time().has_value());
    if (last_sent_ && packet.send_time - *last_sent_ > kSenderStallGap) resumed_after_stall_ = packet.send_time;
    last_sent_ = packet.send_time;
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_transport_feedback(const TransportPacketsFeedback& feedback) {
    NetworkControlUpdate update;
    const Timestamp at = feedback.feedback_time;
    initialize(at, update);
    if (feedback.packet_feedbacks.empty()) return update;

    // RTT: the shortest send->feedback time in this report is the closest to the path's round trip (the others
    // also waited for the feedback interval).
    TimeDelta min_rtt = TimeDelta::plus_infinity();
    int64_t lost = 0, received = 0;
    for (const auto& p : feedback.packet_feedbacks) {
        if (p.is_received()) {
            ++received;
            min_rtt = std::min(min_rtt, at - p.sent_packet.send_time);
        } else {
            ++lost;
        }
    }
    if (min_rtt.is_finite() && min_rtt >= TimeDelta::zero()) {
        feedback_rtts_.push_back(min_rtt);
        if (feedback_rtts_.size() > kRttSamples) feedback_rtts_.pop_front();
        TimeDelta sum = TimeDelta::zero();
        for (auto r : feedback_rtts_) sum += r;
        rtt_ = sum / static_cast<int64_t>(feedback_rtts_.size());
        delay_based_.on_rtt_update(rtt_);
        loss_based_.update_rtt(rtt_);
    }
    loss_based_.update_packets_lost(lost, lost + received, at);

    const auto alr_start = alr_.alr_start_time();
    if (previously_in_alr_ && !alr_start) {
        acked_.set_alr_ended_time(at);
        append(update.probe_cluster_configs, probe_controller_.on_alr_ended(at));
    }
    previously_in_alr_ = alr_start.has_value();
    probe_controller_.set_alr_start_time(alr_start);

    const auto sorted = feedback.sorted_by_receive_time();
    acked_.incoming_packet_feedback(sorted);
    for (const auto& p : sorted)
        if (p.sent_packet.pacing_info.is_probe()) probe_estimator_.handle_probe_and_estimate_bitrate(p);

    std::optional<DataRate> probe_rate = probe_estimator_.fetch_and_reset_last_estimate();
    const auto acked = acked_.bitrate();
    if (probe_rate && acked) {
        // A probe that came back low (a transient) may not pull the estimate far under what media just carried.
        probe_rate = std::max(*probe_rate, std::min(delay_based_.last_estimate(), *acked * 0.85));
    }

    const BandwidthUsage state_before = delay_based_.state();
    // The last window's delivery rate says the path carries less only if we sent more: after a pause of our own
    // it is low because we sent little, and the burst that follows the pause can read as overuse.
    const bool after_stall = resumed_after_stall_ && at - *resumed_after_stall_ < kStallMemory;
    const auto recent = sorted.empty() || after_stall
                            ? std::nullopt
                            : acked_.recent_sample(sorted.back().receive_time, TimeDelta::millis(300));
    const bool rate_just_raised = elapsed_since(at, probe_raised_at_) < kProbeRaiseMemory;
    const DataRate estimate_before = delay_based_.last_estimate();
    auto result = delay_based_.incoming_packet_feedback(feedback, acked, probe_rate, alr_start.has_value(), recent,
                                                        rate_just_raised);
    if (result.probe && result.target_bitrate > estimate_before) {
        // Keep the rate from before the first of a run of raises (further probes raise it again).
        if (!rate_just_raised) rate_before_probe_raise_ = estimate_before;
        probe_raised_at_ = at;
    } else if (config_.undo_overshooting_probe && rate_just_raised && !result.probe && result.updated &&
               delay_based_.state() == BandwidthUsage::Overusing && result.target_bitrate > rate_before_probe_raise_) {
        // The probe overshot: the path could not carry what it reported (a short cluster into an empty queue
        // passes at up to the link rate however much of the link another flow uses). Give its gain back
        // instead of keeping 0.85 x the share it grabbed: on a shared link a probe at 2 x the flow's own rate
        // is a multiplicative increase, and keeping it handed the link to whichever flow probed first (RFC
        // 8867 5.2: 2.6 vs 0.5 Mbps for a whole phase). A probe that did find new capacity causes no overuse
        // and keeps its gain.
        delay_based_.set_estimate(rate_before_probe_raise_, at);
        probe_raised_at_ = Timestamp::minus_infinity();
    }
    if (delay_based_.state() == BandwidthUsage::Overusing && state_before != BandwidthUsage::Overusing) {
        // The delivered rate is about to drop (the queue overflowed or will): let the throughput estimate follow
        // quickly, so the decreases that follow while still overusing are based on what the path carries now.
        acked_.expect_fast_rate_change();
    }
    if (result.updated) {
        result.target_bitrate = delay_based_.last_estimate();
        if (result.probe) loss_based_.set_send_bitrate(result.target_bitrate, at);
        loss_based_.update_delay_based_estimate(at, result.target_bitrate);
    }
    probe_controller_.set_capacity_known(delay_based_.rate_control().link_capacity().has_estimate());
    {
        const auto& lc = delay_based_.rate_control().link_capacity();
        probe_controller_.set_link_capacity(lc.has_estimate() && !delay_based_.competing_queue(at)
                                                ? std::optional<DataRate>(lc.estimate())
                                                : std::nullopt);
    }
    probe_controller_.set_last_decrease_time(delay_based_.rate_control().last_decrease_time());
    // Against a loss-based competitor's standing queue the AIMD sawtooth is not what limits this flow (the
    // standing-queue rule and TCP's own cycle are): keep probing at the plain stable_time there.
    probe_controller_.set_expected_bandwidth_period(delay_based_.competing_queue(at)
                                                        ? TimeDelta::zero()
                                                        : delay_based_.rate_control().expected_bandwidth_period());
    // A competitor's standing queue will not drain whatever we do: waiting for it would only cede the link.
    probe_controller_.set_queue_delay(delay_based_.competing_queue(at) ? std::nullopt : delay_based_.queue_delay());
    if (result.recovered_from_overuse) append(update.probe_cluster_configs, probe_controller_.request_probe(at));
    maybe_trigger_network_changed(update, at);
    note_probe_clusters(update);
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_process_interval(Timestamp at) {
    NetworkControlUpdate update;
    initialize(at, update);
    loss_based_.update_estimate(at);
    probe_controller_.set_alr_start_time(alr_.alr_start_time());
    append(update.probe_cluster_configs, probe_controller_.process(at));
    maybe_trigger_network_changed(update, at);
    note_probe_clusters(update);
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_remb(Timestamp at, DataRate bitrate) {
    NetworkControlUpdate update;
    initialize(at, update);
    loss_based_.update_receiver_estimate(at, bitrate);
    maybe_trigger_network_changed(update, at);
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_loss_report(Timestamp at, int64_t lost, int64_t expected) {
    NetworkControlUpdate update;
    initialize(at, update);
    loss_based_.update_packets_lost(lost, expected, at);
    maybe_trigger_network_changed(update, at);
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_rtt(Timestamp at, TimeDelta rtt) {
    NetworkControlUpdate update;
    initialize(at, update);
    if (rtt > TimeDelta::zero()) {
        rtt_ = rtt;
        delay_based_.on_rtt_update(rtt);
        loss_based_.update_rtt(rtt);
    }
    return update;
}

NetworkControlUpdate GoogCcNetworkController::on_max_total_allocated_bitrate(Timestamp at, DataRate rate) {
    NetworkControlUpdate update;
    initialize(at, update);
    append(update.probe_cluster_configs, probe_controller_.on_max_total_allocated_bitrate(rate, at));
    return update;
}

PacerConfig GoogCcNetworkController::pacing_rates(Timestamp at) const {
    const DataRate target = last_target_.value_or(DataRate::zero());
    PacerConfig c;
    c.at_time = at;
    c.pacing_rate = std::max(min_total_allocated_, target) * config_.pacing_factor;
    c.padding_rate = std::min(max_padding_rate_, target);
    return c;
}

void GoogCcNetworkController::note_probe_clusters(const NetworkControlUpdate& update) {
    // Clusters longer than the default are the stable probes (and their continuations), sent at 2 x a rate the
    // path already carries: their own queue is expected and must not read as overuse.
    for (const auto& c : update.probe_cluster_configs)
        if (c.target_duration > config_.probing.probe_duration) delay_based_.exclude_probe_cluster(c.id);
}

void GoogCcNetworkController::maybe_trigger_network_changed(NetworkControlUpdate& update, Timestamp at) {
    const DataRate target = loss_based_.target_rate();
    const double loss = loss_based_.fraction_loss();
    if (last_target_ && *last_target_ == target && loss == last_loss_ && rtt_ == last_rtt_reported_) return;
    last_target_ = target;
    last_loss_ = loss;
    last_rtt_reported_ = rtt_;
    alr_.set_estimated_bitrate(target);

    TargetTransferRate t;
    t.at_time = at;
    t.target_rate = target;
    t.stable_target_rate = std::min(target, delay_based_.last_estimate());
    t.loss_rate_ratio = loss;
    t.round_trip_time = rtt_;
    update.target_rate = t;
    update.pacer_config = pacing_rates(at);
    append(update.probe_cluster_configs, probe_controller_.set_estimated_bitrate(target, at));
}

} // namespace rtcpp::cc
