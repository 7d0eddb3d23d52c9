#include "rtp/jitter_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::rtp {

namespace {
// Process noise: the slope may drift slowly (bottleneck rate changes), the offset a little faster.
constexpr double kProcessNoiseSlope = 2.5e-10;
constexpr double kProcessNoiseOffset = 1e-10;
// Noise statistics average over up to this many samples (faster at the start).
constexpr double kMaxNoiseSamples = 400;
// Sizes: average over ~30 frames, the maximum decays very slowly.
constexpr double kSizeAlpha = 0.97;
constexpr double kMaxSizeDecay = 0.9999;
// A sample further than this many standard deviations away is clamped (a pause, a clock jump).
constexpr double kOutlierStddevs = 15;
// ~99% one-sided coverage of gaussian noise.
constexpr double kNoiseStddevs = 2.33;
// Frames smaller than avg + this many size stddevs do not move the slope (their size delta says little).
constexpr double kSizeStddevsForSlope = 2;
} // namespace

void JitterEstimator::reset() {
    theta_[0] = 8.0 / 512.0;  // a 512 kbit/s bottleneck: ms per byte
    theta_[1] = 0;
    cov_[0][0] = 1e-4;
    cov_[1][1] = 1e2;
    cov_[0][1] = cov_[1][0] = 0;
    var_noise_ = 4.0;
    avg_noise_ = 0;
    avg_frame_size_ = 500;
    var_frame_size_ = 100;
    max_frame_size_ = 500;
    prev_frame_size_ = 0;
    samples_ = 0;
}

void JitterEstimator::update(TimeDelta frame_delay_variation, DataSize frame_size) {
    const double d = frame_delay_variation.ms_f();
    const double size = static_cast<double>(frame_size.bytes());
    ++samples_;
    if (samples_ == 1) {
        prev_frame_size_ = size;
        avg_frame_size_ = size;
        max_frame_size_ = size;
    }
    const double delta_size = size - prev_frame_size_;
    prev_frame_size_ = size;

    // Frame size statistics. Only frames that are not unusually large update the average, so a keyframe does
    // not inflate it.
    const double size_dev = size - avg_frame_size_;
    if (size_dev < kSizeStddevsForSlope * std::sqrt(var_frame_size_) || samples_ < 5) {
        avg_frame_size_ = kSizeAlpha * avg_frame_size_ + (1 - kSizeAlpha) * size;
        var_frame_size_ = std::max(kSizeAlpha * var_frame_size_ + (1 - kSizeAlpha) * size_dev * size_dev, 1.0);
    }
    max_frame_size_ = std::max(kMaxSizeDecay * max_frame_size_, size);

    // Residual against the current model. A frame of ordinary size far off the model is an outlier (a pause, a
    // clock jump) and is clamped. A frame much larger or smaller than the last one is not: how its delay differs
    // is exactly what tells the filter the slope, and clamping it would keep a wrong initial slope for minutes.
    const double predicted = theta_[0] * delta_size + theta_[1];
    const double raw_residual = d - predicted;
    const double limit = kOutlierStddevs * std::sqrt(var_noise_);
    const double residual = std::clamp(raw_residual, -limit, limit);
    const bool size_outlier = std::abs(delta_size) > kSizeStddevsForSlope * std::sqrt(var_frame_size_);
    const double filter_residual = size_outlier ? raw_residual : residual;

    // Noise statistics (exponential average that starts fast).
    const double n = std::min(static_cast<double>(samples_), kMaxNoiseSamples);
    const double alpha = (n - 1) / n;
    avg_noise_ = alpha * avg_noise_ + (1 - alpha) * residual;
    const double dev = residual - avg_noise_;
    var_noise_ = std::max(alpha * var_noise_ + (1 - alpha) * dev * dev, 1.0);

    // Kalman step. Only frames that differ clearly in size carry information about the slope; for the others
    // the update is driven by the offset term alone.
    cov_[0][0] += kProcessNoiseSlope;
    cov_[1][1] += kProcessNoiseOffset;
    const double h0 = delta_size, h1 = 1.0;
    const double ph0 = cov_[0][0] * h0 + cov_[0][1] * h1;
    const double ph1 = cov_[1][0] * h0 + cov_[1][1] * h1;
    // Measurement noise grows with the frame size deviation: a large frame's delay is less certain.
    const double meas_var = var_noise_ * (std::exp(0.0001 * std::abs(size - avg_frame_size_)));
    const double s = h0 * ph0 + h1 * ph1 + meas_var;
    if (s <= 0 || !std::isfinite(s)) return;
    const double k0 = ph0 / s, k1 = ph1 / s;
    theta_[0] += k0 * filter_residual;
    theta_[1] += k1 * filter_residual;
    // The slope is a transfer time per byte: it cannot be negative or absurdly small.
    theta_[0] = std::max(theta_[0], 1e-6);
    const double c00 = cov_[0][0], c01 = cov_[0][1], c10 = cov_[1][0], c11 = cov_[1][1];
    cov_[0][0] = c00 - k0 * (h0 * c00 + h1 * c10);
    cov_[0][1] = c01 - k0 * (h0 * c01 + h1 * c11);
    cov_[1][0] = c10 - k1 * (h0 * c00 + h1 * c10);
    cov_[1][1] = c11 - k1 * (h0 * c01 + h1 * c11);
    // Keep the covariance symmetric and positive despite rounding.
    cov_[0][1] = cov_[1][0] = 0.5 * (cov_[0][1] + cov_[1][0]);
    cov_[0][0] = std::max(cov_[0][0], 1e-12);
    cov_[1][1] = std::max(cov_[1][1], 1e-6);
}

double JitterEstimator::noise_stddev_ms() const { return std::sqrt(var_noise_); }

TimeDelta JitterEstimator::estimate() const {
    if (samples_ == 0) return TimeDelta::zero();
    const double size_term = theta_[0] * std::max(max_frame_size_ - avg_frame_size_, 0.0);
    // The delay variation of two consecutive frames carries the jitter of both: its stddev is sqrt(2) times
    // the per-frame one, which is what the buffer has to cover.
    const double noise_term = kNoiseStddevs * std::sqrt(var_noise_ / 2);
    const double ms = std::max(size_term + noise_term, 0.0);
    return TimeDelta::micros(static_cast<int64_t>(ms * 1000));
}

} // namespace rtcpp::rtp
