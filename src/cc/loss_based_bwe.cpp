#include "cc/loss_based_bwe.hpp"

#include "cc/time_util.hpp"

#include <algorithm>

namespace rtcpp::cc {

void LossBasedBwe::set_bitrates(std::optional<DataRate> send_bitrate, DataRate min, DataRate max, Timestamp at) {
    min_configured_ = min;
    max_configured_ = std::max(min, max);
    if (send_bitrate) set_send_bitrate(*send_bitrate, at);
    else apply_limits(at);
}

void LossBasedBwe::set_send_bitrate(DataRate rate, Timestamp at) {
    // A rate set from outside (a probe result) restarts the "lowest of the last second" window, and must not be
    // capped by the delay-based estimate it is about to replace.
    min_history_.clear();
    delay_based_limit_ = DataRate::infinity();
    update_target(rate, at);
}

void LossBasedBwe::update_delay_based_estimate(Timestamp at, DataRate rate) {
    delay_based_limit_ = rate.is_zero() ? DataRate::infinity() : rate;
    apply_limits(at);
}

void LossBasedBwe::update_receiver_estimate(Timestamp at, DataRate rate) {
    receiver_limit_ = rate.is_zero() ? DataRate::infinity() : rate;
    if (!first_report_time_.is_finite()) first_report_time_ = at;
    apply_limits(at);
}

void LossBasedBwe::update_packets_lost(int64_t lost, int64_t expected, Timestamp at) {
    if (expected <= 0) return;
    if (!first_report_time_.is_finite()) first_report_time_ = at;
    lost_since_report_ += std::max<int64_t>(0, lost);
    expected_since_report_ += expected;
    // Small samples make a noisy fraction: accumulate until there are enough packets.
    if (expected_since_report_ < config_.min_packets_per_report) return;
    has_decreased_since_last_loss_ = false;
    const int64_t q8 = (lost_since_report_ * 256) / expected_since_report_;
    last_fraction_loss_q8_ = static_cast<int>(std::min<int64_t>(q8, 255));
    lost_since_report_ = 0;
    expected_since_report_ = 0;
    last_loss_report_ = at;
    update_estimate(at);
}

DataRate LossBasedBwe::upper_limit() const {
    return std::min({delay_based_limit_, receiver_limit_, max_configured_});
}

void LossBasedBwe::update_min_history(Timestamp at) {
    // +1 ms so that an increase exactly one interval later is not missed by rounding.
    while (!min_history_.empty() && at - min_history_.front().first + TimeDelta::millis(1) > kIncreaseInterval)
        min_history_.pop_front();
    while (!min_history_.empty() && current_ <= min_history_.back().second) min_history_.pop_back();
    min_history_.emplace_back(at, current_);
}

void LossBasedBwe::update_target(DataRate rate, Timestamp at) {
    (void)at;
    rate = std::min(rate, upper_limit());
    current_ = std::max(rate, min_configured_);
}

void LossBasedBwe::update_estimate(Timestamp at) {
    // Early in the call, with no loss, follow the delay-based and receiver estimates up (they carry the probe
    // results) instead of creeping up at 8%/s.
    if (last_fraction_loss_q8_ == 0 && in_start_phase(at)) {
        DataRate rate = current_;
        if (receiver_limit_.is_finite()) rate = std::max(rate, receiver_limit_);
        if (delay_based_limit_.is_finite()) rate = std::max(rate, delay_based_limit_);
        if (rate != current_) {
            min_history_.clear();
            min_history_.emplace_back(at, current_);
            update_target(rate, at);
            return;
        }
    }
    update_min_history(at);
    if (!last_loss_report_.is_finite()) {
        apply_limits(at);
        return;
    }
    if (at - last_loss_report_ < kMaxFeedbackInterval * 1.2) {
        const double loss = fraction_loss();
        if (current_ < config_.bitrate_threshold || loss <= config_.low_loss_threshold) {
            const DataRate base = min_history_.front().second;
            update_target(DataRate::bps(static_cast<int64_t>(static_cast<double>(base.bps()) * 1.08 + 0.5)) +
                              DataRate::kbps(1),
                          at);
            return;
        }
        if (current_ > config_.bitrate_threshold && loss > config_.high_loss_threshold &&
            !has_decreased_since_last_loss_ && elapsed_since(at, time_last_decrease_) >= kDecreaseInterval + rtt_) {
            time_last_decrease_ = at;
            has_decreased_since_last_loss_ = true;
            update_target(current_ * (1.0 - 0.5 * loss), at);
            return;
        }
    }
    apply_limits(at);
}

} // namespace rtcpp::cc
