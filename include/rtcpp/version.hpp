#pragma once

namespace rtcpp {
/// The library version, "MAJOR.MINOR.PATCH".
const char* version();
} // namespace rtcpp
