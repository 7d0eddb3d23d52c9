#include "cc/link_capacity_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::cc {

double LinkCapacityEstimator::deviation_estimate_kbps() const {
    // The variance is kept normalized by the estimate, so it scales with the link.
    return std::sqrt(deviation_kbps_ * *estimate_kbps_);
}

DataRate LinkCapacityEstimator::upper_bound() const {
    if (!estimate_kbps_) return DataRate::infinity();
    return DataRate::bps(static_cast<int64_t>((*estimate_kbps_ + 3 * deviation_estimate_kbps()) * 1000));
}

DataRate LinkCapacityEstimator::lower_bound() const {
    if (!estimate_kbps_) return DataRate::zero();
    return DataRate::bps(static_cast<int64_t>(std::max(0.0, *estimate_kbps_ - 3 * deviation_estimate_kbps()) * 1000));
}

DataRate LinkCapacityEstimator::estimate() const {
    return DataRate::bps(static_cast<int64_t>(estimate_kbps_.value_or(0) * 1000));
}

void LinkCapacityEstimator::update(DataRate sample, double alpha) {
    const double sample_kbps = sample.kbps_f();
    if (!estimate_kbps_) estimate_kbps_ = sample_kbps;
    else estimate_kbps_ = (1 - alpha) * *estimate_kbps_ + alpha * sample_kbps;
    const double norm = std::max(*estimate_kbps_, 1.0);
    const double error = *estimate_kbps_ - sample_kbps;
    deviation_kbps_ = (1 - alpha) * deviation_kbps_ + alpha * error * error / norm;
    // 0.4 ~= 14 kbps at 500 kbps, 2.5 ~= 35 kbps at 500 kbps.
    deviation_kbps_ = std::clamp(deviation_kbps_, 0.4, 2.5);
}

} // namespace rtcpp::cc
