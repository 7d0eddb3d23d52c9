#include "cc/overuse_detector.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::cc {

BandwidthUsage OveruseDetector::detect(double modified_trend, double trend, int num_deltas, TimeDelta send_delta,
                                       Timestamp now) {
    if (num_deltas < 2) {
        state_ = BandwidthUsage::Normal;
        return state_;
    }
    if (modified_trend > threshold_) {
        // Count half the first interval: the overuse started somewhere inside it.
        if (time_over_using_ms_ < 0) time_over_using_ms_ = send_delta.ms_f() / 2;
        else time_over_using_ms_ += send_delta.ms_f();
        ++overuse_counter_;
        if (time_over_using_ms_ > config_.overusing_time_threshold.ms_f() && overuse_counter_ > 1 &&
            trend >= prev_trend_) {
            time_over_using_ms_ = 0;
            overuse_counter_ = 0;
            state_ = BandwidthUsage::Overusing;
        }
    } else if (modified_trend < -threshold_) {
        time_over_using_ms_ = -1;
        overuse_counter_ = 0;
        state_ = BandwidthUsage::Underusing;
    } else {
        time_over_using_ms_ = -1;
        overuse_counter_ = 0;
        state_ = BandwidthUsage::Normal;
    }
    prev_trend_ = trend;
    update_threshold(modified_trend, now);
    return state_;
}

void OveruseDetector::update_threshold(double modified_trend, Timestamp now) {
    if (!last_threshold_update_) last_threshold_update_ = now;
    const double abs_trend = std::fabs(modified_trend);
    if (abs_trend > threshold_ + config_.max_adapt_offset) {
        last_threshold_update_ = now;
        return;
    }
    const double k = abs_trend < threshold_ ? config_.k_down : config_.k_up;
    // A long gap between samples must not swing the threshold in one step.
    const double dt_ms = std::min((now - *last_threshold_update_).ms_f(), 100.0);
    threshold_ += k * (abs_trend - threshold_) * dt_ms;
    threshold_ = std::clamp(threshold_, config_.min_threshold, config_.max_threshold);
    last_threshold_update_ = now;
}

} // namespace rtcpp::cc
