#include "rtcpp/version.hpp"

namespace rtcpp {
const char* version() { return "0.1.0"; }
} // namespace rtcpp
