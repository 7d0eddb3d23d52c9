#include "runtime/tcp_listener.hpp"

#include "runtime/sockaddr.hpp"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rtcpp::runtime {

namespace {

Error os_error(const std::string& what) {
    return make_error(ErrorCategory::NetworkError, "runtime", what + ": " + std::strerror(errno));
}

} // namespace

Result<std::unique_ptr<TcpListener>> TcpListener::listen(EventLoop& loop, const SocketAddr& local, OnAccept on_accept) {
    const int family = local.ip().family() == IpFamily::V4 ? AF_INET : AF_INET6;
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return os_error("cannot create a TCP socket");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(local, ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        auto e = os_error("cannot bind a TCP listener to " + local.to_string());
        ::close(fd);
        return e;
    }
    if (::listen(fd, 16) != 0) {
        auto e = os_error("cannot listen on " + local.to_string());
        ::close(fd);
        return e;
    }
    sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
        auto e = os_error("getsockname");
        ::close(fd);
        return e;
    }
    std::unique_ptr<TcpListener> l(new TcpListener(loop, fd, from_sockaddr(bound), std::move(on_accept)));
    TcpListener* self = l.get();
    std::weak_ptr<bool> alive = l->alive_;
    if (auto w = loop.watch_readable(fd, [self, alive] {
            if (alive.lock()) self->on_readable();
        });
        !w) {
        return w.error();
    }
    return l;
}

TcpListener::TcpListener(EventLoop& loop, int fd, SocketAddr local, OnAccept on_accept)
    : loop_(loop), fd_(fd), local_(local), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() {
    *alive_ = false;
    if (fd_ >= 0) {
        loop_.unwatch(fd_);
        ::close(fd_);
    }
}

void TcpListener::on_readable() {
    std::weak_ptr<bool> alive = alive_;
    // A bounded batch per wake-up: a flood of connections cannot hold the loop.
    for (int i = 0; i < 16 && fd_ >= 0; ++i) {
        sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        const int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; // EAGAIN, or out of descriptors: try again on the next wake-up
        }
        const int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (on_accept_) on_accept_(c, from_sockaddr(peer));
        else ::close(c);
        if (!alive.lock()) return;
    }
}

} // namespace rtcpp::runtime
