// IPv4/IPv6 addresses and transport addresses (address + port), with parsing and formatting.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "rtcpp/result.hpp"

namespace rtcpp {

enum class IpFamily : uint8_t { V4 = 4, V6 = 6 };

/// An IP address. IPv4 is stored in the first 4 bytes; IPv6 in all 16. A default-constructed IpAddr is 0.0.0.0.
class IpAddr {
public:
    constexpr IpAddr() = default;
    static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
    static IpAddr v4(uint32_t host_order);
    static IpAddr v6(const std::array<uint8_t, 16>& bytes);
    static IpAddr v4_any() { return IpAddr(); }
    static IpAddr v6_any();
    static IpAddr v4_loopback() { return v4(127, 0, 0, 1); }
    static IpAddr v6_loopback();

    /// Accepts dotted quad IPv4 and any RFC 4291 text form of IPv6 (brackets not allowed here; see SocketAddr).
    /// An IPv6 zone ("fe80::1%eth0") is not accepted.
    static Result<IpAddr> parse(std::string_view text);

    IpFamily family() const { return family_; }
    bool is_v4() const { return family_ == IpFamily::V4; }
    bool is_v6() const { return family_ == IpFamily::V6; }
    /// 4 or 16 meaningful bytes.
    const uint8_t* data() const { return bytes_.data(); }
    size_t size() const { return is_v4() ? 4 : 16; }
    uint32_t v4_host_order() const;

    bool is_unspecified() const;
    bool is_loopback() const;
    bool is_link_local() const;
    /// RFC 1918 / RFC 4193 private ranges.
    bool is_private() const;
    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d).
    bool is_v4_mapped() const;

    std::string to_string() const;
    auto operator<=>(const IpAddr&) const = default;
    bool operator==(const IpAddr&) const = default;

private:
    IpFamily family_ = IpFamily::V4;
    std::array<uint8_t, 16> bytes_{};
};

/// A transport address: IP address and UDP/TCP port.
class SocketAddr {
public:
    constexpr SocketAddr() = default;
    SocketAddr(IpAddr ip, uint16_t port) : ip_(ip), port_(port) {}

    /// "1.2.3.4:5678" or "[2001:db8::1]:5678".
    static Result<SocketAddr> parse(std::string_view text);

    const IpAddr& ip() const { return ip_; }
    uint16_t port() const { return port_; }
    IpFamily family() const { return ip_.family(); }
    void set_port(uint16_t p) { port_ = p; }

    /// "1.2.3.4:5678" or "[::1]:5678".
    std::string to_string() const;
    auto operator<=>(const SocketAddr&) const = default;
    bool operator==(const SocketAddr&) const = default;

private:
    IpAddr ip_;
    uint16_t port_ = 0;
};

size_t hash_value(const IpAddr& ip);
size_t hash_value(const SocketAddr& addr);

} // namespace rtcpp

template <>
struct std::hash<rtcpp::IpAddr> {
    size_t operator()(const rtcpp::IpAddr& a) const noexcept { return rtcpp::hash_value(a); }
};
template <>
struct std::hash<rtcpp::SocketAddr> {
    size_t operator()(const rtcpp::SocketAddr& a) const noexcept { return rtcpp::hash_value(a); }
};
