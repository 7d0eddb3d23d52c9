// Strong types for time, data size and data rate.
//
// Every interface in rtcpp that speaks of time or bandwidth uses these types, never raw integers, so a
// millisecond can never be mistaken for a microsecond. All are int64 based and constexpr.
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>

namespace rtcpp {

/// A signed span of time, microsecond resolution.
class TimeDelta {
public:
    constexpr TimeDelta() = default;
    static constexpr TimeDelta micros(int64_t us) { return TimeDelta(us); }
    static constexpr TimeDelta millis(int64_t ms) { return TimeDelta(ms * 1000); }
    static constexpr TimeDelta seconds(int64_t s) { return TimeDelta(s * 1000000); }
    static constexpr TimeDelta seconds_f(double s) { return TimeDelta(static_cast<int64_t>(s * 1e6)); }
    static constexpr TimeDelta zero() { return TimeDelta(0); }
    static constexpr TimeDelta plus_infinity() { return TimeDelta(std::numeric_limits<int64_t>::max()); }
    static constexpr TimeDelta minus_infinity() { return TimeDelta(std::numeric_limits<int64_t>::min()); }

    constexpr int64_t us() const { return us_; }
    constexpr int64_t ms() const { return us_ / 1000; }
    constexpr double ms_f() const { return static_cast<double>(us_) / 1e3; }
    constexpr double seconds_f() const { return static_cast<double>(us_) / 1e6; }
    constexpr bool is_finite() const { return us_ != plus_infinity().us_ && us_ != minus_infinity().us_; }
    constexpr bool is_zero() const { return us_ == 0; }

    constexpr TimeDelta operator+(TimeDelta o) const { return TimeDelta(us_ + o.us_); }
    constexpr TimeDelta operator-(TimeDelta o) const { return TimeDelta(us_ - o.us_); }
    constexpr TimeDelta operator-() const { return TimeDelta(-us_); }
    constexpr TimeDelta& operator+=(TimeDelta o) { us_ += o.us_; return *this; }
    constexpr TimeDelta& operator-=(TimeDelta o) { us_ -= o.us_; return *this; }
    template <std::integral I>
    constexpr TimeDelta operator*(I k) const { return TimeDelta(us_ * static_cast<int64_t>(k)); }
    constexpr TimeDelta operator*(double k) const { return TimeDelta(static_cast<int64_t>(static_cast<double>(us_) * k)); }
    template <std::integral I>
    constexpr TimeDelta operator/(I k) const { return TimeDelta(us_ / static_cast<int64_t>(k)); }
    constexpr double operator/(TimeDelta o) const { return static_cast<double>(us_) / static_cast<double>(o.us_); }
    constexpr auto operator<=>(const TimeDelta&) const = default;

    std::string to_string() const;

private:
    constexpr explicit TimeDelta(int64_t us) : us_(us) {}
    int64_t us_ = 0;
};

/// A point in time on some monotonic clock, microsecond resolution. The core never reads a clock: callers pass
/// the current Timestamp in. plus_infinity() means "never" (for example "no timeout pending").
class Timestamp {
public:
    constexpr Timestamp() = default;
    static constexpr Timestamp micros(int64_t us) { return Timestamp(us); }
    static constexpr Timestamp millis(int64_t ms) { return Timestamp(ms * 1000); }
    static constexpr Timestamp seconds(int64_t s) { return Timestamp(s * 1000000); }
    static constexpr Timestamp zero() { return Timestamp(0); }
    static constexpr Timestamp plus_infinity() { return Timestamp(std::numeric_limits<int64_t>::max()); }
    static constexpr Timestamp minus_infinity() { return Timestamp(std::numeric_limits<int64_t>::min()); }

    constexpr int64_t us() const { return us_; }
    constexpr int64_t ms() const { return us_ / 1000; }
    constexpr double seconds_f() const { return static_cast<double>(us_) / 1e6; }
    constexpr bool is_finite() const { return us_ != plus_infinity().us_ && us_ != minus_infinity().us_; }
    constexpr bool is_plus_infinity() const { return us_ == plus_infinity().us_; }

    constexpr Timestamp operator+(TimeDelta d) const {
        if (!is_finite()) return *this;
        if (d == TimeDelta::plus_infinity()) return plus_infinity();
        return Timestamp(us_ + d.us());
    }
    constexpr Timestamp operator-(TimeDelta d) const { return *this + (-d); }
    constexpr TimeDelta operator-(Timestamp o) const { return TimeDelta::micros(us_ - o.us_); }
    constexpr Timestamp& operator+=(TimeDelta d) { *this = *this + d; return *this; }
    constexpr Timestamp& operator-=(TimeDelta d) { *this = *this - d; return *this; }
    constexpr auto operator<=>(const Timestamp&) const = default;

    std::string to_string() const;

private:
    constexpr explicit Timestamp(int64_t us) : us_(us) {}
    int64_t us_ = 0;
};

/// An amount of data in bytes.
class DataSize {
public:
    constexpr DataSize() = default;
    static constexpr DataSize bytes(int64_t b) { return DataSize(b); }
    static constexpr DataSize kilobytes(int64_t kb) { return DataSize(kb * 1000); }
    static constexpr DataSize zero() { return DataSize(0); }
    static constexpr DataSize infinity() { return DataSize(std::numeric_limits<int64_t>::max()); }

    constexpr int64_t bytes() const { return bytes_; }
    constexpr int64_t bits() const { return bytes_ * 8; }
    constexpr bool is_finite() const { return bytes_ != infinity().bytes_; }

    constexpr DataSize operator+(DataSize o) const { return DataSize(bytes_ + o.bytes_); }
    constexpr DataSize operator-(DataSize o) const { return DataSize(bytes_ - o.bytes_); }
    constexpr DataSize& operator+=(DataSize o) { bytes_ += o.bytes_; return *this; }
    constexpr DataSize& operator-=(DataSize o) { bytes_ -= o.bytes_; return *this; }
    template <std::integral I>
    constexpr DataSize operator*(I k) const { return DataSize(bytes_ * static_cast<int64_t>(k)); }
    constexpr DataSize operator*(double k) const { return DataSize(static_cast<int64_t>(static_cast<double>(bytes_) * k)); }
    constexpr auto operator<=>(const DataSize&) const = default;

    std::string to_string() const;

private:
    constexpr explicit DataSize(int64_t b) : bytes_(b) {}
    int64_t bytes_ = 0;
};

/// A data rate in bits per second.
class DataRate {
public:
    constexpr DataRate() = default;
    static constexpr DataRate bps(int64_t v) { return DataRate(v); }
    static constexpr DataRate kbps(int64_t v) { return DataRate(v * 1000); }
    static constexpr DataRate mbps(int64_t v) { return DataRate(v * 1000000); }
    static constexpr DataRate zero() { return DataRate(0); }
    static constexpr DataRate infinity() { return DataRate(std::numeric_limits<int64_t>::max()); }

    constexpr int64_t bps() const { return bps_; }
    constexpr int64_t kbps() const { return bps_ / 1000; }
    constexpr double kbps_f() const { return static_cast<double>(bps_) / 1e3; }
    constexpr double mbps_f() const { return static_cast<double>(bps_) / 1e6; }
    constexpr bool is_finite() const { return bps_ != infinity().bps_; }
    constexpr bool is_zero() const { return bps_ == 0; }

    constexpr DataRate operator+(DataRate o) const { return DataRate(bps_ + o.bps_); }
    constexpr DataRate operator-(DataRate o) const { return DataRate(bps_ - o.bps_); }
    constexpr DataRate& operator+=(DataRate o) { bps_ += o.bps_; return *this; }
    constexpr DataRate& operator-=(DataRate o) { bps_ -= o.bps_; return *this; }
    constexpr DataRate operator*(double k) const { return DataRate(static_cast<int64_t>(static_cast<double>(bps_) * k)); }
    constexpr double operator/(DataRate o) const { return static_cast<double>(bps_) / static_cast<double>(o.bps_); }
    constexpr auto operator<=>(const DataRate&) const = default;

    std::string to_string() const;

private:
    constexpr explicit DataRate(int64_t v) : bps_(v) {}
    int64_t bps_ = 0;
};

// Cross-type arithmetic: size = rate * time, rate = size / time, time = size / rate.
constexpr DataSize operator*(DataRate r, TimeDelta t) {
    return DataSize::bytes(static_cast<int64_t>(static_cast<double>(r.bps()) * t.seconds_f() / 8.0));
}
constexpr DataSize operator*(TimeDelta t, DataRate r) { return r * t; }
constexpr DataRate operator/(DataSize s, TimeDelta t) {
    if (t.us() <= 0) return DataRate::infinity();
    return DataRate::bps(static_cast<int64_t>(static_cast<double>(s.bits()) * 1e6 / static_cast<double>(t.us())));
}
constexpr TimeDelta operator/(DataSize s, DataRate r) {
    if (r.bps() <= 0) return TimeDelta::plus_infinity();
    if (!r.is_finite()) return TimeDelta::zero();
    return TimeDelta::micros(static_cast<int64_t>(static_cast<double>(s.bits()) * 1e6 / static_cast<double>(r.bps())));
}

} // namespace rtcpp
