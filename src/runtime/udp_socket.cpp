#include "runtime/udp_socket.hpp"

#include "runtime/sockaddr.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rtcpp::runtime {

namespace {

constexpr size_t kBatch = 32;
constexpr size_t kSlot = 4096; // larger than any datagram WebRTC sends; bigger ones are truncated and dropped

Error sys_error(const std::string& what) {
    return make_error(ErrorCategory::NetworkError, "runtime", what + ": " + std::strerror(errno));
}

} // namespace

socklen_t to_sockaddr(const SocketAddr& a, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (a.ip().is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a.port());
        std::memcpy(&sin->sin_addr, a.ip().data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(a.port());
    std::memcpy(&sin6->sin6_addr, a.ip().data(), 16);
    return sizeof(sockaddr_in6);
}

SocketAddr from_sockaddr(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
        return SocketAddr(IpAddr::v4(ntohl(sin->sin_addr.s_addr)), ntohs(sin->sin_port));
    }
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return SocketAddr(IpAddr::v6(b), ntohs(sin6->sin6_port));
}

struct UdpSocket::Buffers {
    std::vector<uint8_t> data = std::vector<uint8_t>(kBatch * kSlot);
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage addrs[kBatch];
};

Result<std::vector<NetworkInterface>> list_interfaces(bool include_loopback) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return sys_error("getifaddrs");
    std::vector<NetworkInterface> out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
        const int family = i->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        sockaddr_storage ss{};
        std::memcpy(&ss, i->ifa_addr, family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        NetworkInterface ni;
        ni.name = i->ifa_name;
        ni.address = from_sockaddr(ss).ip();
        ni.index = if_nametoindex(i->ifa_name);
        ni.loopback = (i->ifa_flags & IFF_LOOPBACK) != 0 || ni.address.is_loopback();
        if (i->ifa_netmask) {
            const auto* m = reinterpret_cast<const uint8_t*>(
                family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr)
                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_netmask)->sin6_addr));
            const size_t n = family == AF_INET ? 4 : 16;
            for (size_t k = 0; k < n; ++k) ni.prefix_length += static_cast<uint8_t>(__builtin_popcount(m[k]));
        }
        if (ni.loopback && !include_loopback) continue;
        if (ni.address.is_v6() && ni.address.is_link_local()) continue;
        out.push_back(std::move(ni));
    }
    freeifaddrs(list);
    return out;
}

UdpSocket::UdpSocket(int fd, SocketAddr local) : fd_(fd), local_(local), buffers_(std::make_unique<Buffers>()) {}

UdpSocket::UdpSocket(UdpSocket&& o) noexcept
    : fd_(o.fd_), local_(o.local_), buffers_(std::move(o.buffers_)), truncated_(o.truncated_),
      send_failures_(o.send_failures_) {
    o.fd_ = -1;
}

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
    if (this != &o) {
        release();
        fd_ = o.fd_;
        local_ = o.local_;
        buffers_ = std::move(o.buffers_);
        truncated_ = o.truncated_;
        send_failures_ = o.send_failures_;
        o.fd_ = -1;
    }
    return *this;
}

UdpSocket::~UdpSocket() { release(); }

void UdpSocket::release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

Result<UdpSocket> UdpSocket::bind(const SocketAddr& local) {
    const int family = local.ip().is_v4() ? AF_INET : AF_INET6;
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket");
    if (family == AF_INET6) {
        int on = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    // Large buffers absorb bursts (a DTLS flight, a video keyframe); the kernel caps them at its rmem/wmem_max.
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(local, ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        auto err = sys_error("bind " + local.to_string());
        close(fd);
        return err;
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    return UdpSocket(fd, from_sockaddr(bound));
}

Result<UdpSocket> UdpSocket::bind_in_range(const IpAddr& ip, uint16_t min_port, uint16_t max_port) {
    if (min_port == 0 || max_port < min_port)
        return make_error(ErrorCategory::RangeError, "runtime", "invalid port range");
    for (uint32_t p = min_port; p <= max_port; ++p) {
        auto s = bind(SocketAddr(ip, static_cast<uint16_t>(p)));
        if (s) return s;
    }
    return make_error(ErrorCategory::NetworkError, "runtime",
                      "no free port in " + std::to_string(min_port) + "-" + std::to_string(max_port) + " on " +
                          ip.to_string());
}

Result<void> UdpSocket::send_to(const SocketAddr& to, ByteView bytes) {
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(to, ss);
    const ssize_t n = sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
    if (n < 0) {
        ++send_failures_;
        return sys_error("sendto " + to.to_string());
    }
    return {};
}

size_t UdpSocket::send_batch(std::span<const OutgoingDatagram> datagrams) {
    size_t sent = 0;
    while (sent < datagrams.size()) {
        const size_t n = std::min(kBatch, datagrams.size() - sent);
        mmsghdr msgs[kBatch];
        iovec iov[kBatch];
        sockaddr_storage addrs[kBatch];
        for (size_t i = 0; i < n; ++i) {
            const auto& d = datagrams[sent + i];
            iov[i].iov_base = const_cast<uint8_t*>(d.bytes.data());
            iov[i].iov_len = d.bytes.size();
            std::memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = to_sockaddr(d.to, addrs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int r = sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
        if (r <= 0) {
            // Skip the datagram the kernel refused (e.g. unreachable) and carry on with the rest.
            ++send_failures_;
            ++sent;
            continue;
        }
        sent += static_cast<size_t>(r);
    }
    return sent;
}

size_t UdpSocket::receive(const std::function<void(const SocketAddr&, ByteView)>& on_datagram, size_t max_datagrams) {
    size_t delivered = 0;
    Buffers& b = *buffers_;
    while (delivered < max_datagrams) {
        const size_t n = std::min(kBatch, max_datagrams - delivered);
        for (size_t i = 0; i < n; ++i) {
            b.iov[i].iov_base = b.data.data() + i * kSlot;
            b.iov[i].iov_len = kSlot;
            std::memset(&b.msgs[i], 0, sizeof b.msgs[i]);
            b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
            b.msgs[i].msg_hdr.msg_namelen = sizeof b.addrs[i];
            b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
            b.msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int r = recvmmsg(fd_, b.msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
        if (r <= 0) break;
        for (int i = 0; i < r; ++i) {
            if (b.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                ++truncated_;
                continue;
            }
            on_datagram(from_sockaddr(b.addrs[i]), ByteView(b.data.data() + static_cast<size_t>(i) * kSlot,
                                                            b.msgs[i].msg_len));
            ++delivered;
        }
        if (static_cast<size_t>(r) < n) break;
    }
    return delivered;
}

} // namespace rtcpp::runtime
