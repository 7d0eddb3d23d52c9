#include "runtime/tcp_connection.hpp"

#include "runtime/sockaddr.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
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

Result<std::unique_ptr<TcpConnection>> TcpConnection::connect(EventLoop& loop, const SocketAddr& remote,
                                                              std::optional<IpAddr> local_ip, Callbacks callbacks) {
    const int family = remote.ip().family() == IpFamily::V4 ? AF_INET : AF_INET6;
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return os_error("cannot create a TCP socket");
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // STUN transactions are small and latency-bound
    if (local_ip && local_ip->family() == remote.ip().family()) {
        sockaddr_storage ss;
        const socklen_t len = to_sockaddr(SocketAddr(*local_ip, 0), ss);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
            auto e = os_error("cannot bind a TCP socket to " + local_ip->to_string());
            ::close(fd);
            return e;
        }
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(remote, ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
        auto e = os_error("cannot connect to " + remote.to_string());
        ::close(fd);
        return e;
    }
    std::unique_ptr<TcpConnection> c(new TcpConnection(loop, fd, std::move(callbacks)));
    TcpConnection* self = c.get();
    std::weak_ptr<bool> alive = c->alive_;
    if (auto w = loop.watch(fd, true, [self, alive] {
            if (alive.lock()) self->on_ready();
        });
        !w) {
        return w.error();
    }
    return c;
}

Result<std::unique_ptr<TcpConnection>> TcpConnection::adopt(EventLoop& loop, int fd, Callbacks callbacks) {
    std::unique_ptr<TcpConnection> c(new TcpConnection(loop, fd, std::move(callbacks)));
    c->connected_ = true;
    c->writable_interest_ = false;
    TcpConnection* self = c.get();
    std::weak_ptr<bool> alive = c->alive_;
    if (auto w = loop.watch(fd, false, [self, alive] {
            if (alive.lock()) self->on_ready();
        });
        !w) {
        return w.error(); // the destructor closes fd
    }
    return c;
}

TcpConnection::TcpConnection(EventLoop& loop, int fd, Callbacks callbacks)
    : loop_(loop), fd_(fd), callbacks_(std::move(callbacks)) {}

TcpConnection::~TcpConnection() {
    *alive_ = false;
    if (fd_ >= 0) {
        loop_.unwatch(fd_);
        ::close(fd_);
    }
}

void TcpConnection::send(std::span<const uint8_t> bytes) {
    if (fd_ < 0 || closing_) return;
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    if (connected_) flush();
}

void TcpConnection::close(bool flush_first) {
    if (fd_ < 0) return;
    closing_ = true;
    if (flush_first && connected_) flush();
    if (!flush_first || queued_bytes() == 0 || !connected_) {
        loop_.unwatch(fd_);
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        fd_ = -1;
    }
}

void TcpConnection::fail(const std::string& reason) {
    if (fd_ >= 0) {
        loop_.unwatch(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    if (!closing_ && callbacks_.on_closed) callbacks_.on_closed(reason); // may destroy *this
}

void TcpConnection::update_interest() {
    const bool want = !connected_ || queued_bytes() > 0;
    if (want == writable_interest_ || fd_ < 0) return;
    writable_interest_ = want;
    loop_.set_writable_interest(fd_, want);
}

void TcpConnection::flush() {
    while (fd_ >= 0 && queued_bytes() > 0) {
        const ssize_t n = ::send(fd_, out_.data() + out_offset_, queued_bytes(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            fail(std::string("TCP send failed: ") + std::strerror(errno));
            return;
        }
        out_offset_ += static_cast<size_t>(n);
    }
    if (queued_bytes() == 0) {
        out_.clear();
        out_offset_ = 0;
        if (closing_) {
            close(false);
            return;
        }
    } else if (out_offset_ > 64 * 1024) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_offset_));
        out_offset_ = 0;
    }
    update_interest();
}

void TcpConnection::on_ready() {
    if (fd_ < 0) return;
    std::weak_ptr<bool> alive = alive_;
    if (!connected_) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == EINPROGRESS || err == EALREADY) return;
        if (err != 0) {
            fail(std::string("TCP connect failed: ") + std::strerror(err));
            return;
        }
        // Writable with no error means connected; readable-only means not yet.
        sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
        connected_ = true;
        if (callbacks_.on_connected) callbacks_.on_connected();
        if (!alive.lock() || fd_ < 0) return;
        flush();
        if (!alive.lock() || fd_ < 0) return;
    }
    uint8_t buf[16384];
    for (int rounds = 0; rounds < 64 && fd_ >= 0; ++rounds) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            if (callbacks_.on_data) callbacks_.on_data(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
            if (!alive.lock()) return;
            continue;
        }
        if (n == 0) {
            fail("the TCP connection was closed by the server");
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        fail(std::string("TCP receive failed: ") + std::strerror(errno));
        return;
    }
    if (fd_ >= 0 && alive.lock()) flush();
}

} // namespace rtcpp::runtime
