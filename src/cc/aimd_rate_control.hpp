// The delay-based rate controller (draft-ietf-rmcat-gcc-02 section 5.5): a state machine driven by the overuse
// detector. Increase: multiplicative (8%/s) while far from the link capacity estimate, additive (about one packet
// per response time) near it. Decrease on overuse: to beta (0.85) times the acknowledged throughput. Hold while
// underusing, so the queues drain before increasing again.
#pragma once

#include "cc/link_capacity_estimator.hpp"
#include "cc/network_types.hpp"

#include <optional>

namespace rtcpp::cc {

class AimdRateControl {
public:
    struct Config {
        double beta = 0.85;
        DataRate min_rate = DataRate::kbps(5);
        DataRate max_rate = DataRate::mbps(30);
        /// Multiplicative increase per second far from the capacity estimate.
        double increase_factor_per_second = 1.08;
        /// In application-limited periods the throughput says nothing about the capacity: do not climb on it.
        bool no_increase_in_alr = true;
    };
    enum class State : uint8_t { Hold, Increase, Decrease };

    static constexpr TimeDelta kDefaultRtt = TimeDelta::millis(200);
    /// Without a throughput measurement after this long, the start rate stands as the initial estimate.
    static constexpr TimeDelta kInitializationTime = TimeDelta::seconds(5);

    AimdRateControl() : AimdRateControl(Config{}) {}
    explicit AimdRateControl(const Config& config);

    void set_start_bitrate(DataRate rate);
    void set_min_bitrate(DataRate rate);
    void set_max_bitrate(DataRate rate);
    void set_rtt(TimeDelta rtt) { rtt_ = rtt; }
    void set_in_alr(bool in_alr) { in_alr_ = in_alr; }

    bool valid_estimate() const { return initialized_; }
    DataRate latest_estimate() const { return current_; }
    State state() const { return state_; }
    const LinkCapacityEstimator& link_capacity() const { return link_capacity_; }

    /// Whether another decrease is due while still overusing: once per RTT (10..200 ms), or at once if the
    /// throughput fell under half the estimate.
    bool time_to_reduce_further(Timestamp at, DataRate estimated_throughput) const;
    /// Before any throughput measurement: halve at most every 200 ms.
    bool initial_time_to_reduce_further(Timestamp at) const;

    /// One control step with the detector's state and (if known) the acknowledged throughput. Returns the estimate.
    DataRate update(BandwidthUsage usage, std::optional<DataRate> estimated_throughput, Timestamp at);
    /// Overrides the estimate (probe results, initial halving).
    void set_estimate(DataRate rate, Timestamp at);
    /// The capacity was measured directly (a probe).
    void on_probe_rate(DataRate rate) { link_capacity_.on_probe_rate(rate); }

    /// Increase rate used near the capacity estimate: about one average packet per response time.
    DataRate near_max_increase_rate_per_second() const;

    Timestamp last_decrease_time() const { return time_last_decrease_; }
    /// How far the last decrease took the estimate (for the probe controller's "probe after large drop").
    DataRate last_decrease() const { return last_decrease_; }
    /// How long the additive increase takes to win back the last decrease: the period of the AIMD sawtooth on a
    /// link whose capacity has not changed (as libwebrtc's GetExpectedBandwidthPeriod; 3 s before any decrease,
    /// within [2 s, 50 s]).
    TimeDelta expected_bandwidth_period() const;

private:
    void change_state(BandwidthUsage usage, Timestamp at);
    DataRate clamp(DataRate rate) const;
    DataRate multiplicative_increase(Timestamp at, Timestamp last, DataRate current) const;
    DataRate additive_increase(Timestamp at, Timestamp last) const;

    Config config_;
    DataRate current_;
    DataRate latest_throughput_;
    LinkCapacityEstimator link_capacity_;
    State state_ = State::Hold;
    Timestamp time_last_change_ = Timestamp::minus_infinity();
    Timestamp time_last_decrease_ = Timestamp::minus_infinity();
    Timestamp time_first_throughput_ = Timestamp::minus_infinity();
    bool initialized_ = false;
    bool in_alr_ = false;
    TimeDelta rtt_ = kDefaultRtt;
    DataRate last_decrease_ = DataRate::zero();
};

} // namespace rtcpp::cc
