#include "cc/trendline_estimator.hpp"

#include <algorithm>

namespace rtcpp::cc {

std::optional<double> TrendlineEstimator::linear_fit_slope(const std::deque<std::pair<double, double>>& points) {
    if (points.size() < 2) return std::nullopt;
    double sum_x = 0, sum_y = 0;
    for (const auto& [x, y] : points) {
        sum_x += x;
        sum_y += y;
    }
    const double n = static_cast<double>(points.size());
    const double mean_x = sum_x / n, mean_y = sum_y / n;
    double num = 0, den = 0;
    for (const auto& [x, y] : points) {
        num += (x - mean_x) * (y - mean_y);
        den += (x - mean_x) * (x - mean_x);
    }
    if (den == 0) return std::nullopt;
    return num / den;
}

TrendlineEstimator::Sample TrendlineEstimator::update(TimeDelta recv_delta, TimeDelta send_delta,
                                                      Timestamp arrival_time) {
    const double delta_ms = (recv_delta - send_delta).ms_f();
    num_deltas_ = std::min(num_deltas_ + 1, kDeltaCounterMax);
    if (!first_arrival_) first_arrival_ = arrival_time;

    accumulated_delay_ += delta_ms;
    smoothed_delay_ = config_.smoothing * smoothed_delay_ + (1 - config_.smoothing) * accumulated_delay_;
    history_.emplace_back((arrival_time - *first_arrival_).ms_f(), smoothed_delay_);
    if (history_.size() > config_.window_size) history_.pop_front();

    double trend = prev_trend_;
    if (history_.size() == config_.window_size) {
        // Until the window is full the fit is too noisy to act on.
        if (auto slope = linear_fit_slope(history_)) trend = *slope;
    }
    prev_trend_ = trend;

    Sample s;
    s.trend = trend;
    s.num_deltas = num_deltas_;
    s.modified_trend = static_cast<double>(std::min(num_deltas_, kMinNumDeltas)) * trend * config_.threshold_gain;
    return s;
}

} // namespace rtcpp::cc
