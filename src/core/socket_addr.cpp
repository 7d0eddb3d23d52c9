#include "rtcpp/socket_addr.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace rtcpp {

IpAddr IpAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddr ip;
    ip.family_ = IpFamily::V4;
    ip.bytes_[0] = a;
    ip.bytes_[1] = b;
    ip.bytes_[2] = c;
    ip.bytes_[3] = d;
    return ip;
}

IpAddr IpAddr::v4(uint32_t h) {
    return v4(static_cast<uint8_t>(h >> 24), static_cast<uint8_t>(h >> 16), static_cast<uint8_t>(h >> 8),
              static_cast<uint8_t>(h));
}

IpAddr IpAddr::v6(const std::array<uint8_t, 16>& bytes) {
    IpAddr ip;
    ip.family_ = IpFamily::V6;
    ip.bytes_ = bytes;
    return ip;
}

IpAddr IpAddr::v6_any() { return v6({}); }

IpAddr IpAddr::v6_loopback() {
    std::array<uint8_t, 16> b{};
    b[15] = 1;
    return v6(b);
}

Result<IpAddr> IpAddr::parse(std::string_view text) {
    // inet_pton needs a NUL-terminated string; the longest valid IPv6 text is 45 characters.
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf)
        return make_error(ErrorCategory::SyntaxError, "net", "invalid IP address '" + std::string(text.substr(0, 64)) + "'");
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddr ip;
    if (text.find(':') == std::string_view::npos) {
        if (inet_pton(AF_INET, buf, ip.bytes_.data()) == 1) {
            ip.family_ = IpFamily::V4;
            return ip;
        }
    } else if (inet_pton(AF_INET6, buf, ip.bytes_.data()) == 1) {
        ip.family_ = IpFamily::V6;
        return ip;
    }
    return make_error(ErrorCategory::SyntaxError, "net", "invalid IP address '" + std::string(text) + "'");
}

uint32_t IpAddr::v4_host_order() const {
    return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) | bytes_[3];
}

bool IpAddr::is_unspecified() const {
    for (size_t i = 0; i < size(); ++i)
        if (bytes_[i] != 0) return false;
    return true;
}

bool IpAddr::is_v4_mapped() const {
    if (!is_v6()) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes_[i] != 0) return false;
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

bool IpAddr::is_loopback() const {
    if (is_v4()) return bytes_[0] == 127;
    return *this == v6_loopback();
}

bool IpAddr::is_link_local() const {
    if (is_v4()) return bytes_[0] == 169 && bytes_[1] == 254;
    return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddr::is_private() const {
    if (is_v4()) {
        return bytes_[0] == 10 || (bytes_[0] == 172 && (bytes_[1] & 0xf0) == 16) ||
               (bytes_[0] == 192 && bytes_[1] == 168);
    }
    return (bytes_[0] & 0xfe) == 0xfc;
}

std::string IpAddr::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf)) return "?";
    return buf;
}

Result<SocketAddr> SocketAddr::parse(std::string_view text) {
    auto bad = [&](const char* why) {
        return make_error(ErrorCategory::SyntaxError, "net",
                          "invalid transport address '" + std::string(text.substr(0, 80)) + "': " + why);
    };
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return bad("missing ']'");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing ':port'");
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return bad("brackets are only for IPv6");
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("missing ':port'");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return bad("IPv6 addresses need brackets");
    }
    unsigned value = 0;
    if (port.empty() || port.size() > 5) return bad("bad port");
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535) return bad("bad port");
    auto ip = IpAddr::parse(host);
    if (!ip) return bad("bad IP address");
    return SocketAddr(*ip, static_cast<uint16_t>(value));
}

std::string SocketAddr::to_string() const {
    std::string s;
    s.reserve(48);
    if (ip_.is_v6()) s += '[';
    s += ip_.to_string();
    if (ip_.is_v6()) s += ']';
    s += ':';
    s += std::to_string(port_);
    return s;
}

size_t hash_value(const IpAddr& ip) {
    // FNV-1a over the meaningful bytes and the family.
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint8_t>(ip.family());
    for (size_t i = 0; i < ip.size(); ++i) h = (h ^ ip.data()[i]) * 1099511628211ULL;
    return static_cast<size_t>(h);
}

size_t hash_value(const SocketAddr& a) {
    uint64_t h = hash_value(a.ip());
    h = (h ^ a.port()) * 1099511628211ULL;
    return static_cast<size_t>(h);
}

} // namespace rtcpp
