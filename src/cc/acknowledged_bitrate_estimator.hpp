// Throughput of the packets the receiver acknowledged, by arrival time: windowed byte counts (500 ms for the
// first sample, 150 ms after) combined with a Bayesian update whose sample uncertainty grows with the distance
// from the current estimate, so a single odd window moves it little.
#pragma once

#include "cc/network_types.hpp"

#include <optional>
#include <vector>

namespace rtcpp::cc {

class BitrateEstimator {
public:
    struct Config {
        TimeDelta initial_window = TimeDelta::millis(500);
        TimeDelta window = TimeDelta::millis(150);
        double uncertainty_scale = 10.0;
        double uncertainty_scale_in_alr = 20.0;
        DataRate estimate_floor = DataRate::zero();
    };

    BitrateEstimator() : BitrateEstimator(Config{}) {}
    explicit BitrateEstimator(const Config& config) : config_(config) {}

    void update(Timestamp at, DataSize amount, bool in_alr);
    std::optional<DataRate> bitrate() const;
    /// The last raw window sample (not smoothed), and when it completed.
    std::optional<DataRate> last_sample() const;
    Timestamp last_sample_time() const { return last_sample_time_; }
    /// The rate is about to change a lot (end of ALR): trust the next samples more.
    void expect_fast_rate_change() { variance_ += 200; }

private:
    /// Returns a rate sample in kbps when a window completes.
    std::optional<double> update_window(Timestamp at, DataSize amount, TimeDelta window);

    Config config_;
    TimeDelta current_window_ = TimeDelta::zero();
    int64_t sum_bytes_ = 0;
    std::optional<Timestamp> prev_time_;
    std::optional<double> estimate_kbps_;
    std::optional<double> last_sample_kbps_;
    Timestamp last_sample_time_ = Timestamp::minus_infinity();
    double variance_ = 50.0;
};

class AcknowledgedBitrateEstimator {
public:
    /// Feeds the received packets of one feedback, sorted by arrival.
    void incoming_packet_feedback(const std::vector<PacketResult>& sorted_by_arrival);
    std::optional<DataRate> bitrate() const { return estimator_.bitrate(); }
    /// The raw throughput of the last window if it completed within `max_age` of `now`: follows a sudden drop
    /// at once, where bitrate() lags by several windows.
    std::optional<DataRate> recent_sample(Timestamp now, TimeDelta max_age) const;
    void set_alr(bool in_alr) { in_alr_ = in_alr; }
    void set_alr_ended_time(Timestamp at) { alr_ended_time_ = at; }
    void expect_fast_rate_change() { estimator_.expect_fast_rate_change(); }

private:
    BitrateEstimator estimator_;
    bool in_alr_ = false;
    std::optional<Timestamp> alr_ended_time_;
};

} // namespace rtcpp::cc
