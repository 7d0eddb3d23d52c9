// Application-limited region detection: a budget fills at 65% of the estimate and drains with every byte sent.
// When the budget stays mostly unused (above 80% of its 500 ms capacity) the application sends less than the
// network would carry, so throughput says nothing about capacity; the region ends when usage brings the budget
// under 50%.
#pragma once

#include <rtcpp/units.hpp>

#include <optional>

namespace rtcpp::cc {

class AlrDetector {
public:
    struct Config {
        double bandwidth_usage_ratio = 0.65;
        double start_budget_level_ratio = 0.80;
        double stop_budget_level_ratio = 0.50;
        TimeDelta window = TimeDelta::millis(500);
    };

    AlrDetector() : AlrDetector(Config{}) {}
    explicit AlrDetector(const Config& config) : config_(config) {}

    void on_bytes_sent(DataSize bytes, Timestamp send_time);
    void set_estimated_bitrate(DataRate rate);
    /// Start of the current application-limited region, if in one.
    std::optional<Timestamp> alr_start_time() const { return alr_start_; }
    double budget_ratio() const;

private:
    Config config_;
    DataRate target_ = DataRate::zero();
    double bytes_remaining_ = 0;
    std::optional<Timestamp> last_send_;
    std::optional<Timestamp> alr_start_;
};

} // namespace rtcpp::cc
