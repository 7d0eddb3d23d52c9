// Unwrapping of RTP's wrapping counters (16-bit sequence numbers, 32-bit timestamps) into monotonic 64-bit values.
//
// Each new value is placed at the unwrapped position closest to the previous one, so reordering by less than half
// the counter range is handled in both directions. The first value unwraps to itself.
#pragma once

#include <cstdint>
#include <optional>

namespace rtcpp::rtp {

template <class T>
class Unwrapper {
    static_assert(sizeof(T) < sizeof(int64_t));
    static constexpr int64_t kRange = int64_t{1} << (8 * sizeof(T));

public:
    int64_t unwrap(T value) {
        if (!last_) {
            last_ = static_cast<int64_t>(value);
            return *last_;
        }
        *last_ += forward_diff(static_cast<T>(*last_), value);
        return *last_;
    }
    /// What unwrap(value) would return, without remembering it.
    int64_t peek(T value) const {
        if (!last_) return static_cast<int64_t>(value);
        return *last_ + forward_diff(static_cast<T>(*last_), value);
    }
    std::optional<int64_t> last() const { return last_; }
    void reset() { last_.reset(); }

private:
    static int64_t forward_diff(T from, T to) {
        int64_t d = static_cast<int64_t>(to) - static_cast<int64_t>(from);
        if (d > kRange / 2) d -= kRange;
        else if (d < -kRange / 2) d += kRange;
        // Exactly half way counts as forward, as libwebrtc does.
        else if (d == -kRange / 2) d += kRange;
        return d;
    }
    std::optional<int64_t> last_;
};

using SequenceNumberUnwrapper = Unwrapper<uint16_t>;
using RtpTimestampUnwrapper = Unwrapper<uint32_t>;

/// True if a is newer than b in modular 16-bit order.
inline bool seq_newer(uint16_t a, uint16_t b) {
    return a != b && static_cast<uint16_t>(a - b) < 0x8000;
}

} // namespace rtcpp::rtp
