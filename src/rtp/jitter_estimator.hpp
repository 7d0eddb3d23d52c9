// Video jitter estimate from frame delay variation, in the spirit of libwebrtc's VCMJitterEstimator.
//
// For consecutive complete frames, the delay variation d = (arrival delta) - (RTP timestamp delta) is modelled as
// d = slope * (frame size delta) + offset + noise: a large frame takes longer to cross a bottleneck, which is not
// jitter the buffer has to absorb at random. A two-state Kalman filter tracks (slope, offset); the residual's
// variance is the random part. The estimate covers the size effect of an unusually large frame plus a few
// standard deviations of the noise.
#pragma once

#include <rtcpp/units.hpp>

#include <cstdint>

namespace rtcpp::rtp {

class JitterEstimator {
public:
    JitterEstimator() { reset(); }
    void reset();
    /// One frame that arrived complete without retransmission: its delay variation against the previous such
    /// frame, and its size.
    void update(TimeDelta frame_delay_variation, DataSize frame_size);
    /// The jitter the buffer should absorb (never negative).
    TimeDelta estimate() const;

    double noise_stddev_ms() const;
    double slope_ms_per_byte() const { return theta_[0]; }
    uint64_t samples() const { return samples_; }

private:
    double theta_[2];      ///< ms per byte, ms
    double cov_[2][2];     ///< estimate covariance
    double var_noise_;     ///< ms^2
    double avg_noise_;     ///< ms
    double avg_frame_size_;
    double var_frame_size_;
    double max_frame_size_;
    double prev_frame_size_;
    uint64_t samples_;
};

} // namespace rtcpp::rtp
