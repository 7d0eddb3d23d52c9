// Elapsed time that treats a never-happened (infinite) instant as infinitely long ago, so comparisons stay
// correct and no int64 subtraction overflows.
#pragma once

#include <rtcpp/units.hpp>

namespace rtcpp::cc {

inline TimeDelta elapsed_since(Timestamp now, Timestamp then) {
    if (!then.is_finite() || !now.is_finite()) return TimeDelta::plus_infinity();
    return now - then;
}

} // namespace rtcpp::cc
