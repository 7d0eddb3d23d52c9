#include "cc/aimd_rate_control.hpp"

#include "cc/time_util.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::cc {

AimdRateControl::AimdRateControl(const Config& config)
    : config_(config), current_(config.max_rate), latest_throughput_(config.max_rate) {}

void AimdRateControl::set_start_bitrate(DataRate rate) {
    current_ = clamp(rate);
    latest_throughput_ = current_;
    initialized_ = true;
}

void AimdRateControl::set_min_bitrate(DataRate rate) {
    config_.min_rate = rate;
    current_ = std::max(current_, rate);
}

void AimdRateControl::set_max_bitrate(DataRate rate) {
    config_.max_rate = rate;
    current_ = std::min(current_, rate);
}

DataRate AimdRateControl::clamp(DataRate rate) const {
    return std::clamp(rate, config_.min_rate, std::max(config_.min_rate, config_.max_rate));
}

bool AimdRateControl::time_to_reduce_further(Timestamp at, DataRate estimated_throughput) const {
    const TimeDelta interval = std::clamp(rtt_, TimeDelta::millis(10), TimeDelta::millis(200));
    if (elapsed_since(at, time_last_change_) >= interval) return true;
    if (valid_estimate()) {
        // The throughput collapsed far below what we think we send: no point waiting.
        return estimated_throughput < current_ * 0.5;
    }
    return false;
}

bool AimdRateControl::initial_time_to_reduce_further(Timestamp at) const {
    return valid_estimate() && time_to_reduce_further(at, current_ * 0.5 - DataRate::bps(1));
}

void AimdRateControl::set_estimate(DataRate rate, Timestamp at) {
    initialized_ = true;
    const DataRate prev = current_;
    current_ = clamp(rate);
    time_last_change_ = at;
    if (current_ < prev) time_last_decrease_ = at;
}

DataRate AimdRateControl::near_max_increase_rate_per_second() const {
    // Assume 30 fps video: the average packet of a frame at the current rate, once per response time.
    const TimeDelta frame_interval = TimeDelta::micros(1000000 / 30);
    const DataSize frame_size = current_ * frame_interval;
    const double packets_per_frame = std::ceil(static_cast<double>(frame_size.bytes()) / 1200.0);
    const double avg_packet_bytes = static_cast<double>(frame_size.bytes()) / std::max(packets_per_frame, 1.0);
    const TimeDelta response_time = rtt_ + TimeDelta::millis(100);
    const double rate_bps = avg_packet_bytes * 8.0 / response_time.seconds_f();
    return DataRate::bps(std::max<int64_t>(4000, static_cast<int64_t>(rate_bps)));
}

TimeDelta AimdRateControl::expected_bandwidth_period() const {
    if (!time_last_decrease_.is_finite()) return TimeDelta::seconds(3);
    const double seconds = static_cast<double>(last_decrease_.bps()) /
                           static_cast<double>(near_max_increase_rate_per_second().bps());
    return std::clamp(TimeDelta::micros(static_cast<int64_t>(seconds * 1e6)), TimeDelta::seconds(2),
                      TimeDelta::seconds(50));
}

DataRate AimdRateControl::multiplicative_increase(Timestamp at, Timestamp last, DataRate current) const {
    double alpha = config_.increase_factor_per_second;
    if (last.is_finite()) {
        const double since = std::min((at - last).seconds_f(), 1.0);
        alpha = std::pow(alpha, since);
    }
    return DataRate::bps(std::max<int64_t>(1000, static_cast<int64_t>(static_cast<double>(current.bps()) * (alpha - 1))));
}

DataRate AimdRateControl::additive_increase(Timestamp at, Timestamp last) const {
    const double since = last.is_finite() ? std::max(0.0, (at - last).seconds_f()) : 0.0;
    return DataRate::bps(static_cast<int64_t>(static_cast<double>(near_max_increase_rate_per_second().bps()) * since));
}

void AimdRateControl::change_state(BandwidthUsage usage, Timestamp at) {
    switch (usage) {
    case BandwidthUsage::Normal:
        if (state_ == State::Hold) {
            time_last_change_ = at;
            state_ = State::Increase;
        }
        break;
    case BandwidthUsage::Overusing:
        if (state_ != State::Decrease) state_ = State::Decrease;
        break;
    case BandwidthUsage::Underusing:
        state_ = State::Hold;
        break;
    }
}

DataRate AimdRateControl::update(BandwidthUsage usage, std::optional<DataRate> estimated_throughput, Timestamp at) {
    if (!initialized_) {
        if (!time_first_throughput_.is_finite()) {
            if (estimated_throughput) time_first_throughput_ = at;
        } else if (at - time_first_throughput_ > kInitializationTime && estimated_throughput) {
            current_ = *estimated_throughput;
            initialized_ = true;
        }
    }

    const DataRate throughput = estimated_throughput.value_or(latest_throughput_);
    if (estimated_throughput) latest_throughput_ = *estimated_throughput;
    // Without a start rate, nothing but an overuse may set the first estimate.
    if (!initialized_ && usage != BandwidthUsage::Overusing) return current_;

    change_state(usage, at);
    std::optional<DataRate> new_rate;
    switch (state_) {
    case State::Hold:
        break;
    case State::Increase: {
        if (throughput > link_capacity_.upper_bound()) link_capacity_.reset();
        // The estimate may not run away from what the path demonstrably carried.
        DataRate limit = throughput * 1.5 + DataRate::kbps(10);
        if (in_alr_ && config_.no_increase_in_alr) limit = current_;
        if (current_ < limit) {
            const DataRate inc = link_capacity_.has_estimate() ? additive_increase(at, time_last_change_)
                                                               : multiplicative_increase(at, time_last_change_, current_);
            new_rate = std::min(current_ + inc, limit);
        }
        time_last_change_ = at;
        break;
    }
    case State::Decrease: {
        // Slightly under the measured throughput, to drain the queue we built.
        DataRate decreased = throughput * config_.beta;
        if (decreased > DataRate::kbps(5)) decreased -= DataRate::kbps(5);
        if (decreased > current_ && link_capacity_.has_estimate()) decreased = link_capacity_.estimate() * config_.beta;
        if (decreased < current_) {
            last_decrease_ = current_ - decreased;
            new_rate = decreased;
        } else {
            last_decrease_ = DataRate::zero();
        }
        if (throughput < link_capacity_.lower_bound()) link_capacity_.reset();
        link_capacity_.on_overuse_detected(throughput);
        initialized_ = true;
        state_ = State::Hold;
        time_last_change_ = at;
        time_last_decrease_ = at;
        break;
    }
    }
    if (new_rate) current_ = clamp(*new_rate);
    return current_;
}

} // namespace rtcpp::cc
