// Compares the (modified) delay trend with an adaptive threshold (draft-ietf-rmcat-gcc-02 sections 5.4-5.5).
// Overuse is signalled only when the trend stays above the threshold for kOverusingTimeThreshold and is not
// falling. The threshold follows |trend| slowly upwards (k_up) and quickly downwards (k_down), so that a
// competing loss-based flow which keeps the queue full does not starve us, while self-inflicted queuing is caught.
#pragma once

#include "cc/network_types.hpp"

#include <rtcpp/units.hpp>

#include <optional>

namespace rtcpp::cc {

class OveruseDetector {
public:
    struct Config {
        double k_up = 0.0087;
        double k_down = 0.039;
        TimeDelta overusing_time_threshold = TimeDelta::millis(10);
        double initial_threshold = 12.5;
        double min_threshold = 6;
        double max_threshold = 600;
        /// Trend samples further than this above the threshold do not move it (sudden spikes, route changes).
        double max_adapt_offset = 15;
    };

    OveruseDetector() : OveruseDetector(Config{}) {}
    explicit OveruseDetector(const Config& config) : config_(config), threshold_(config.initial_threshold) {}

    /// One detection step. `trend` is the raw slope, `modified_trend` what is compared with the threshold,
    /// `send_delta` the send-time span since the previous group, `now` the arrival time.
    BandwidthUsage detect(double modified_trend, double trend, int num_deltas, TimeDelta send_delta, Timestamp now);

    BandwidthUsage state() const { return state_; }
    double threshold() const { return threshold_; }

private:
    void update_threshold(double modified_trend, Timestamp now);

    Config config_;
    double threshold_;
    std::optional<Timestamp> last_threshold_update_;
    double time_over_using_ms_ = -1;
    int overuse_counter_ = 0;
    double prev_trend_ = 0;
    BandwidthUsage state_ = BandwidthUsage::Normal;
};

} // namespace rtcpp::cc
