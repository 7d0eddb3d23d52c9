// Estimates the trend of the one-way delay variation: accumulates the inter-group delay deltas, smooths them
// exponentially, and fits a least-squares line through the last `window` (arrival time, smoothed delay) points.
// A positive slope means queues are building up. (libwebrtc's trendline filter, which replaced the Kalman filter
// of draft-ietf-rmcat-gcc-02 section 5.3.)
#pragma once

#include <rtcpp/units.hpp>

#include <deque>
#include <optional>

namespace rtcpp::cc {

class TrendlineEstimator {
public:
    struct Config {
        size_t window_size = 20;
        double smoothing = 0.9;
        double threshold_gain = 4.0;
    };
    struct Sample {
        double trend = 0;           ///< slope of the fitted line (ms of delay per ms of time)
        double modified_trend = 0;  ///< trend scaled by the sample count and gain, compared to the threshold (ms)
        int num_deltas = 0;
    };

    /// Caps the sample count that scales the trend, so a long call does not amplify it without bound.
    static constexpr int kMinNumDeltas = 60;
    static constexpr int kDeltaCounterMax = 1000;

    TrendlineEstimator() : TrendlineEstimator(Config{}) {}
    explicit TrendlineEstimator(const Config& config) : config_(config) {}

    /// Feeds one inter-group delta. Returns the updated trend (the previous trend until the window is full).
    Sample update(TimeDelta recv_delta, TimeDelta send_delta, Timestamp arrival_time);

    /// Least-squares slope through (x, y) points; nullopt when the x values have no spread.
    static std::optional<double> linear_fit_slope(const std::deque<std::pair<double, double>>& points);

    double trend() const { return prev_trend_; }
    int num_deltas() const { return num_deltas_; }

private:
    Config config_;
    int num_deltas_ = 0;
    std::optional<Timestamp> first_arrival_;
    double accumulated_delay_ = 0;
    double smoothed_delay_ = 0;
    std::deque<std::pair<double, double>> history_;  ///< (ms since first arrival, smoothed accumulated delay ms)
    double prev_trend_ = 0;
};

} // namespace rtcpp::cc
