// Transport address parsing ("1.2.3.4:5", "[::1]:5"): used for candidates, ICE server URLs and configuration.
#include <rtcpp/socket_addr.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto addr = rtcpp::SocketAddr::parse(text);
    if (addr) {
        // Whatever parses must format to something that parses back to the same address.
        auto again = rtcpp::SocketAddr::parse(addr->to_string());
        if (!again || *again != *addr) std::abort();
    }
    auto ip = rtcpp::IpAddr::parse(text);
    if (ip) {
        auto again = rtcpp::IpAddr::parse(ip->to_string());
        if (!again || *again != *ip) std::abort();
    }
    return 0;
}
