// Uses only installed public headers.
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/units.hpp>
#include <rtcpp/version.hpp>

#include <cstdio>

int main() {
    auto addr = rtcpp::SocketAddr::parse("[::1]:5000");
    if (!addr || addr->port() != 5000) return 1;
    auto t = rtcpp::Timestamp::millis(5) + rtcpp::TimeDelta::millis(10);
    if (t.ms() != 15) return 1;
    std::printf("consumer ok: rtcpp %s, %s\n", rtcpp::version(), addr->to_string().c_str());
    return 0;
}
