// Synthetic sources for the examples and tests: a moving I420 gradient with the frame number drawn in large
// digits (readable back after a lossy codec), and a sine tone.
#pragma once

#include "codec/image.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::codec {

class TestPattern {
public:
    /// Digits of the drawn counter; it wraps at 10^kCounterDigits.
    static constexpr int kCounterDigits = 6;

    TestPattern(int width, int height);

    /// The picture for frame `index` (the counter shows index modulo 10^kCounterDigits).
    I420Image render(uint64_t index) const;
    /// render(n) with n = 0, 1, 2, ... on successive calls.
    I420Image next() { return render(next_index_++); }

    int width() const { return width_; }
    int height() const { return height_; }

private:
    int width_;
    int height_;
    uint64_t next_index_ = 0;
};

/// Reads the counter TestPattern drew, from a (possibly decoded, lossy) picture of the same size; nullopt when a
/// digit is not recognisable.
std::optional<uint32_t> read_frame_counter(const I420Image& image);

class ToneGenerator {
public:
    /// `amplitude` is a fraction of full scale.
    explicit ToneGenerator(double frequency_hz = 440.0, int sample_rate = 48000, int channels = 1,
                           double amplitude = 0.3);

    /// The next `samples_per_channel` samples, interleaved (the same value in every channel).
    std::vector<int16_t> next(int samples_per_channel);

    int sample_rate() const { return sample_rate_; }
    int channels() const { return channels_; }

private:
    double frequency_;
    int sample_rate_;
    int channels_;
    double amplitude_;
    uint64_t position_ = 0;
};

} // namespace rtcpp::codec
