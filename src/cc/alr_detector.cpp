#include "cc/alr_detector.hpp"

#include <algorithm>

namespace rtcpp::cc {

double AlrDetector::budget_ratio() const {
    const double max_bytes = static_cast<double>((target_ * config_.window).bytes());
    if (max_bytes <= 0) return 0;
    return bytes_remaining_ / max_bytes;
}

void AlrDetector::set_estimated_bitrate(DataRate rate) {
    target_ = rate * config_.bandwidth_usage_ratio;
    const double max_bytes = static_cast<double>((target_ * config_.window).bytes());
    bytes_remaining_ = std::clamp(bytes_remaining_, -max_bytes, max_bytes);
}

void AlrDetector::on_bytes_sent(DataSize bytes, Timestamp send_time) {
    if (!last_send_) {
        last_send_ = send_time;
        return;
    }
    const TimeDelta delta = std::max(TimeDelta::zero(), send_time - *last_send_);
    last_send_ = std::max(*last_send_, send_time);
    const double max_bytes = static_cast<double>((target_ * config_.window).bytes());
    bytes_remaining_ = std::max(bytes_remaining_ - static_cast<double>(bytes.bytes()), -max_bytes);
    bytes_remaining_ = std::min(bytes_remaining_ + static_cast<double>((target_ * delta).bytes()), max_bytes);
    const double ratio = budget_ratio();
    if (ratio > config_.start_budget_level_ratio && !alr_start_) alr_start_ = send_time;
    else if (ratio < config_.stop_budget_level_ratio && alr_start_) alr_start_.reset();
}

} // namespace rtcpp::cc
