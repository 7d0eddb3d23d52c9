// parse -> serialize -> parse must give an equal model, and the normalized text must be a fixed point.
#include "sdp/description.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto first = rtcpp::sdp::parse(text);
    if (!first.ok()) return 0;
    std::string normalized = rtcpp::sdp::serialize(*first);
    auto second = rtcpp::sdp::parse(normalized);
    if (!second.ok()) std::abort();
    if (!(*second == *first)) std::abort();
    if (rtcpp::sdp::serialize(*second) != normalized) std::abort();
    return 0;
}
