#include "rtcpp/units.hpp"

#include <cstdio>

namespace rtcpp {

std::string TimeDelta::to_string() const {
    if (*this == plus_infinity()) return "+inf";
    if (*this == minus_infinity()) return "-inf";
    char buf[48];
    if (us_ % 1000 == 0) std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(us_ / 1000));
    else std::snprintf(buf, sizeof buf, "%lld us", static_cast<long long>(us_));
    return buf;
}

std::string Timestamp::to_string() const {
    if (*this == plus_infinity()) return "+inf";
    if (*this == minus_infinity()) return "-inf";
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6f s", seconds_f());
    return buf;
}

std::string DataSize::to_string() const {
    if (!is_finite()) return "+inf bytes";
    return std::to_string(bytes_) + " bytes";
}

std::string DataRate::to_string() const {
    if (!is_finite()) return "+inf bps";
    char buf[48];
    if (bps_ >= 1000000) std::snprintf(buf, sizeof buf, "%.3f Mbps", mbps_f());
    else if (bps_ >= 1000) std::snprintf(buf, sizeof buf, "%.3f kbps", kbps_f());
    else std::snprintf(buf, sizeof buf, "%lld bps", static_cast<long long>(bps_));
    return buf;
}

} // namespace rtcpp
