#include "cc/probe_controller.hpp"

#include "cc/time_util.hpp"

#include <algorithm>

namespace rtcpp::cc {

std::vector<ProbeClusterConfig> ProbeController::set_bitrates(DataRate min, std::optional<DataRate> start,
                                                              DataRate max, Timestamp at) {
    if (start && !start->is_zero()) {
        start_bitrate_ = *start;
        estimated_bitrate_ = *start;
    } else if (start_bitrate_.is_zero()) {
        start_bitrate_ = min;
    }
    const DataRate old_max = max_bitrate_;
    min_bitrate_ = min;
    max_bitrate_ = max;

    switch (state_) {
    case State::Init:
        if (network_available_) return initiate_exponential_probing(at);
        break;
    case State::WaitingForProbingResult:
        break;
    case State::ProbingComplete:
        // The application now allows more than both the old maximum and the estimate: find out whether the
        // path carries it.
        if (!estimated_bitrate_.is_zero() && old_max < max_bitrate_ && estimated_bitrate_ < max_bitrate_) {
            mid_call_probing_rate_ = max_bitrate_;
            return initiate_probing(at, {max_bitrate_}, false);
        }
        break;
    }
    return {};
}

std::vector<ProbeClusterConfig> ProbeController::on_max_total_allocated_bitrate(DataRate rate, Timestamp at) {
    const bool changed = rate != max_total_allocated_;
    max_total_allocated_ = rate;
    if (!changed || state_ != State::ProbingComplete || estimated_bitrate_.is_zero()) return {};
    if (estimated_bitrate_ >= max_bitrate_ || estimated_bitrate_ >= rate) return {};
    std::vector<DataRate> rates{rate * config_.first_allocation_probe_scale};
    if (config_.second_allocation_probe_scale > 0) rates.push_back(rate * config_.second_allocation_probe_scale);
    return initiate_probing(at, rates, false);
}

std::vector<ProbeClusterConfig> ProbeController::on_network_availability(bool available, Timestamp at) {
    network_available_ = available;
    if (!available && state_ == State::WaitingForProbingResult) {
        state_ = State::ProbingComplete;
        min_bitrate_to_probe_further_ = DataRate::infinity();
    }
    if (available && state_ == State::Init && !start_bitrate_.is_zero()) return initiate_exponential_probing(at);
    return {};
}

std::vector<ProbeClusterConfig> ProbeController::initiate_exponential_probing(Timestamp at) {
    std::vector<DataRate> rates{start_bitrate_ * config_.first_exponential_probe_scale};
    if (config_.second_exponential_probe_scale > 0) rates.push_back(start_bitrate_ * config_.second_exponential_probe_scale);
    return initiate_probing(at, rates, true);
}

std::vector<ProbeClusterConfig> ProbeController::set_estimated_bitrate(DataRate rate, Timestamp at) {
    if (!mid_call_probing_rate_.is_zero() && rate >= mid_call_probing_rate_ * (1 - kProbeUncertainty))
        mid_call_probing_rate_ = DataRate::zero();
    std::vector<ProbeClusterConfig> out;
    if (state_ == State::WaitingForProbingResult && rate > min_bitrate_to_probe_further_) {
        // The path delivered most of what we probed: keep doubling.
        out = initiate_probing(at, {rate * config_.further_exponential_probe_scale}, true, further_probe_duration_);
    }
    if (rate < estimated_bitrate_ * kBitrateDropThreshold) {
        time_of_last_large_drop_ = at;
        last_bwe_drop_probing_rate_ = estimated_bitrate_;
    }
    estimated_bitrate_ = rate;
    return out;
}

std::vector<ProbeClusterConfig> ProbeController::on_alr_ended(Timestamp at) {
    alr_end_ = at;
    alr_start_.reset();
    if (!config_.probe_on_alr_exit || state_ != State::ProbingComplete || estimated_bitrate_.is_zero()) return {};
    if (elapsed_since(at, time_last_probing_initiated_) < config_.min_time_between_probes) return {};
    if (estimated_bitrate_ >= max_bitrate_) return {};
    return initiate_probing(at, {estimated_bitrate_ * config_.alr_exit_probe_scale}, true);
}

std::vector<ProbeClusterConfig> ProbeController::request_probe(Timestamp at) {
    // Only when application limited (or just after): otherwise the media itself will find the rate again.
    const bool in_alr = alr_start_.has_value();
    const bool alr_ended_recently = alr_end_ && elapsed_since(at, *alr_end_) < kAlrEndedTimeout;
    if (!(in_alr || alr_ended_recently) || state_ != State::ProbingComplete) return {};
    const DataRate suggested = last_bwe_drop_probing_rate_ * kProbeFractionAfterDrop;
    const DataRate min_expected = suggested * (1 - kProbeUncertainty);
    if (elapsed_since(at, time_of_last_large_drop_) > kBitrateDropTimeout) return {};
    if (elapsed_since(at, time_last_probing_initiated_) < config_.alr_probing_interval) return {};
    if (estimated_bitrate_ >= min_expected) return {};
    return initiate_probing(at, {suggested}, false);
}

std::vector<ProbeClusterConfig> ProbeController::process(Timestamp at) {
    if (elapsed_since(at, time_last_probing_initiated_) > kMaxWaitingTimeForProbingResult) {
        mid_call_probing_rate_ = DataRate::zero();
        if (state_ == State::WaitingForProbingResult) {
            state_ = State::ProbingComplete;
            min_bitrate_to_probe_further_ = DataRate::infinity();
        }
    }
    if (state_ != State::ProbingComplete || estimated_bitrate_.is_zero()) return {};
    if (config_.periodic_alr_probing && alr_start_) {
        const Timestamp next = std::max(*alr_start_, time_last_probing_initiated_) + config_.alr_probing_interval;
        if (at >= next) return initiate_probing(at, {estimated_bitrate_ * config_.alr_probe_scale}, true);
    }
    if (queue_delay_ && *queue_delay_ > config_.max_queue_delay_for_probing) return {};
    if (config_.probe_on_capacity_unknown && !capacity_known_ && !alr_start_ && estimated_bitrate_ < max_bitrate_ &&
        elapsed_since(at, time_last_probing_initiated_) >= config_.capacity_probe_interval) {
        return initiate_probing(at, {estimated_bitrate_ * config_.capacity_probe_scale}, true);
    }
    const TimeDelta stable_time = config_.stable_after_expected_period
                                      ? std::clamp(expected_bandwidth_period_, config_.stable_time,
                                                   std::max(config_.stable_time, config_.max_stable_time))
                                      : config_.stable_time;
    const bool at_capacity = !config_.stable_probe_at_capacity || !link_capacity_ ||
                             estimated_bitrate_ >= *link_capacity_ ||
                             elapsed_since(at, last_decrease_) >= config_.max_stable_time;
    if (config_.probe_when_stable && !alr_start_ && estimated_bitrate_ < max_bitrate_ && at_capacity &&
        elapsed_since(at, last_decrease_) >= stable_time &&
        elapsed_since(at, time_last_probing_initiated_) >= config_.stable_time) {
        return initiate_probing(at, {estimated_bitrate_ * config_.stable_probe_scale}, true,
                                config_.stable_probe_duration);
    }
    return {};
}

std::vector<ProbeClusterConfig> ProbeController::initiate_probing(Timestamp at, std::vector<DataRate> rates,
                                                                  bool probe_further,
                                                                  std::optional<TimeDelta> duration) {
    further_probe_duration_ = duration.value_or(config_.probe_duration);
    std::vector<ProbeClusterConfig> out;
    DataRate max_probe = max_bitrate_;
    // Probing far beyond what the application would ever send wastes capacity.
    if (!max_total_allocated_.is_zero()) max_probe = std::min(max_probe, max_total_allocated_ * 2);
    for (DataRate rate : rates) {
        if (rate <= DataRate::zero()) continue;
        if (rate > max_probe) {
            rate = max_probe;
            probe_further = false;
        }
        ProbeClusterConfig c;
        c.at_time = at;
        c.target_data_rate = rate;
        c.target_duration = further_probe_duration_;
        c.target_probe_count = config_.probe_count;
        c.id = next_cluster_id_++;
        out.push_back(c);
        if (rate >= max_probe) break;
    }
    time_last_probing_initiated_ = at;
    if (probe_further && !out.empty()) {
        state_ = State::WaitingForProbingResult;
        min_bitrate_to_probe_further_ = out.back().target_data_rate * config_.further_probe_threshold;
    } else {
        state_ = State::ProbingComplete;
    }
    return out;
}

} // namespace rtcpp::cc
