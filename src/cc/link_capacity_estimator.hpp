// Running estimate of the bottleneck capacity, learnt from the throughput measured at each overuse, with its
// variance. AIMD uses it to increase additively (carefully) near the capacity and multiplicatively far from it.
#pragma once

#include <rtcpp/units.hpp>

#include <optional>

namespace rtcpp::cc {

class LinkCapacityEstimator {
public:
    /// Estimate + 3 standard deviations; infinity without an estimate.
    DataRate upper_bound() const;
    /// Estimate - 3 standard deviations; zero without an estimate.
    DataRate lower_bound() const;
    void reset() { estimate_kbps_.reset(); }
    void on_overuse_detected(DataRate acknowledged_rate) { update(acknowledged_rate, 0.05); }
    void on_probe_rate(DataRate probe_rate) { update(probe_rate, 0.5); }
    bool has_estimate() const { return estimate_kbps_.has_value(); }
    DataRate estimate() const;

private:
    void update(DataRate sample, double alpha);
    double deviation_estimate_kbps() const;

    std::optional<double> estimate_kbps_;
    double deviation_kbps_ = 0.4;  ///< normalized variance: var / estimate
};

} // namespace rtcpp::cc
