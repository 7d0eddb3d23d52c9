// A non-blocking TCP listening socket on the event loop: the runtime side of ICE-TCP passive candidates (RFC 6544).
// Accepted connections are handed over as file descriptors, to be adopted by a TcpConnection or closed.
#pragma once

#include "runtime/event_loop.hpp"

#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include <functional>
#include <memory>

namespace rtcpp::runtime {

class TcpListener {
public:
    /// Called on the loop thread for each accepted connection; the callee owns `fd` (non-blocking, close-on-exec).
    using OnAccept = std::function<void(int fd, const SocketAddr& remote)>;

    /// Binds `local` (port 0: any) and listens. Use and destroy on the loop thread.
    static Result<std::unique_ptr<TcpListener>> listen(EventLoop& loop, const SocketAddr& local, OnAccept on_accept);
    ~TcpListener();
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    SocketAddr local_address() const { return local_; }

private:
    TcpListener(EventLoop& loop, int fd, SocketAddr local, OnAccept on_accept);
    void on_readable();

    EventLoop& loop_;
    int fd_ = -1;
    SocketAddr local_;
    OnAccept on_accept_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace rtcpp::runtime
