// The loss-based controller of draft-ietf-rmcat-gcc-02 section 6, which also produces the final target: the
// loss-based rate capped by the delay-based estimate and by the receiver's estimate (REMB), within the
// application's min/max.
//   loss > 10%: rate *= (1 - 0.5 * loss), at most once per (300 ms + RTT)
//   loss < 2%:  rate = 1.08 * (lowest rate of the last second) + 1 kbps
//   otherwise:  hold
#pragma once

#include "cc/network_types.hpp"

#include <deque>
#include <optional>
#include <utility>

namespace rtcpp::cc {

class LossBasedBwe {
public:
    struct Config {
        double low_loss_threshold = 0.02;
        double high_loss_threshold = 0.10;
        /// Below this rate the loss rules never decrease (a few lost packets at low rates are noise).
        DataRate bitrate_threshold = DataRate::zero();
        /// Loss fractions are computed over at least this many packets.
        int min_packets_per_report = 20;
    };

    static constexpr TimeDelta kIncreaseInterval = TimeDelta::seconds(1);
    static constexpr TimeDelta kDecreaseInterval = TimeDelta::millis(300);
    static constexpr TimeDelta kStartPhase = TimeDelta::seconds(2);
    static constexpr TimeDelta kMaxFeedbackInterval = TimeDelta::seconds(5);

    LossBasedBwe() : LossBasedBwe(Config{}) {}
    explicit LossBasedBwe(const Config& config) : config_(config) {}

    void set_bitrates(std::optional<DataRate> send_bitrate, DataRate min, DataRate max, Timestamp at);
    /// Sets the current rate outright (a probe result).
    void set_send_bitrate(DataRate rate, Timestamp at);
    void update_delay_based_estimate(Timestamp at, DataRate rate);
    /// REMB from the receiver; zero clears it.
    void update_receiver_estimate(Timestamp at, DataRate rate);
    void update_rtt(TimeDelta rtt) { rtt_ = rtt; }
    /// Loss report: `lost` of `expected` packets (from transport feedback or receiver reports).
    void update_packets_lost(int64_t lost, int64_t expected, Timestamp at);
    /// The periodic step.
    void update_estimate(Timestamp at);

    DataRate target_rate() const { return current_; }
    DataRate delay_based_limit() const { return delay_based_limit_; }
    DataRate receiver_limit() const { return receiver_limit_; }
    double fraction_loss() const { return static_cast<double>(last_fraction_loss_q8_) / 256.0; }
    TimeDelta rtt() const { return rtt_; }
    DataRate min_bitrate() const { return min_configured_; }
    DataRate max_bitrate() const { return max_configured_; }

private:
    bool in_start_phase(Timestamp at) const { return !first_report_time_.is_finite() || at - first_report_time_ < kStartPhase; }
    DataRate upper_limit() const;
    void update_min_history(Timestamp at);
    void update_target(DataRate rate, Timestamp at);
    void apply_limits(Timestamp at) { update_target(current_, at); }

    Config config_;
    DataRate current_ = DataRate::zero();
    DataRate min_configured_ = DataRate::kbps(5);
    DataRate max_configured_ = DataRate::mbps(30);
    DataRate delay_based_limit_ = DataRate::infinity();
    DataRate receiver_limit_ = DataRate::infinity();
    std::deque<std::pair<Timestamp, DataRate>> min_history_;
    int64_t lost_since_report_ = 0;
    int64_t expected_since_report_ = 0;
    int last_fraction_loss_q8_ = 0;
    bool has_decreased_since_last_loss_ = false;
    Timestamp last_loss_report_ = Timestamp::plus_infinity();
    Timestamp first_report_time_ = Timestamp::plus_infinity();
    Timestamp time_last_decrease_ = Timestamp::minus_infinity();
    TimeDelta rtt_ = TimeDelta::zero();
};

} // namespace rtcpp::cc
