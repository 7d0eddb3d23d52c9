#include "cc/acknowledged_bitrate_estimator.hpp"

#include "cc/time_util.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::cc {

std::optional<double> BitrateEstimator::update_window(Timestamp at, DataSize amount, TimeDelta window) {
    if (prev_time_ && at < *prev_time_) {
        // Time went backwards (reordered feedback): start the window afresh.
        prev_time_.reset();
        sum_bytes_ = 0;
        current_window_ = TimeDelta::zero();
    }
    if (prev_time_) {
        current_window_ += at - *prev_time_;
        if (at - *prev_time_ > window) {
            // Nothing arrived for a whole window: what accumulated before is not a rate.
            sum_bytes_ = 0;
            current_window_ = TimeDelta::micros(current_window_.us() % window.us());
        }
    }
    prev_time_ = at;
    std::optional<double> sample;
    if (current_window_ >= window) {
        sample = static_cast<double>(sum_bytes_) * 8.0 / window.ms_f();  // bits per ms = kbps
        current_window_ -= window;
        sum_bytes_ = 0;
    }
    sum_bytes_ += amount.bytes();
    return sample;
}

void BitrateEstimator::update(Timestamp at, DataSize amount, bool in_alr) {
    const TimeDelta window = estimate_kbps_ ? config_.window : config_.initial_window;
    const auto sample = update_window(at, amount, window);
    if (!sample) return;
    last_sample_kbps_ = *sample;
    last_sample_time_ = at;
    if (!estimate_kbps_) {
        estimate_kbps_ = *sample;
        return;
    }
    const double scale = in_alr ? config_.uncertainty_scale_in_alr : config_.uncertainty_scale;
    // Samples far from the estimate are less trustworthy: a lone burst or a feedback gap.
    const double sample_uncertainty = scale * std::fabs(*estimate_kbps_ - *sample) / std::max(*estimate_kbps_, 1.0);
    const double sample_var = sample_uncertainty * sample_uncertainty;
    // The estimate itself drifts between samples.
    const double pred_var = variance_ + 5.0;
    estimate_kbps_ = (sample_var * *estimate_kbps_ + pred_var * *sample) / (sample_var + pred_var);
    estimate_kbps_ = std::max(*estimate_kbps_, config_.estimate_floor.kbps_f());
    variance_ = sample_var * pred_var / (sample_var + pred_var);
}

std::optional<DataRate> BitrateEstimator::last_sample() const {
    if (!last_sample_kbps_) return std::nullopt;
    return DataRate::bps(static_cast<int64_t>(*last_sample_kbps_ * 1000));
}

std::optional<DataRate> AcknowledgedBitrateEstimator::recent_sample(Timestamp now, TimeDelta max_age) const {
    const auto s = estimator_.last_sample();
    if (!s || !estimator_.last_sample_time().is_finite()) return std::nullopt;
    // Receive times are in their own (shifted) clock domain; compare loosely.
    if (now - estimator_.last_sample_time() > max_age) return std::nullopt;
    return s;
}

std::optional<DataRate> BitrateEstimator::bitrate() const {
    if (!estimate_kbps_) return std::nullopt;
    return DataRate::bps(static_cast<int64_t>(*estimate_kbps_ * 1000));
}

void AcknowledgedBitrateEstimator::incoming_packet_feedback(const std::vector<PacketResult>& sorted_by_arrival) {
    for (const auto& p : sorted_by_arrival) {
        if (!p.is_received()) continue;
        if (alr_ended_time_ && p.sent_packet.send_time > *alr_ended_time_) {
            estimator_.expect_fast_rate_change();
            alr_ended_time_.reset();
        }
        estimator_.update(p.receive_time, p.sent_packet.size, in_alr_);
    }
}

} // namespace rtcpp::cc
