// A non-blocking TCP client connection on the event loop: the runtime side of a sans-IO core's byte stream (TURN
// over TCP or TLS). Writes are buffered and flushed as the socket accepts them; reads are handed over as they come.
#pragma once

#include "runtime/event_loop.hpp"

#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rtcpp::runtime {

class TcpConnection {
public:
    struct Callbacks {
        std::function<void()> on_connected;
        std::function<void(std::span<const uint8_t>)> on_data;
        /// Connect failure, reset or end of stream; nothing is called after it.
        std::function<void(const std::string& reason)> on_closed;
    };

    /// Starts connecting to `remote` (from `local_ip` if given). Use and destroy on the loop thread; callbacks run
    /// there and may destroy the connection.
    static Result<std::unique_ptr<TcpConnection>> connect(EventLoop& loop, const SocketAddr& remote,
                                                          std::optional<IpAddr> local_ip, Callbacks callbacks);
    /// Takes over an accepted, connected, non-blocking socket (a TcpListener's). on_connected is not called.
    static Result<std::unique_ptr<TcpConnection>> adopt(EventLoop& loop, int fd, Callbacks callbacks);
    ~TcpConnection();
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;

    /// Queues bytes (sent once connected). Unbounded by design: the core above bounds what it queues.
    void send(std::span<const uint8_t> bytes);
    /// Closes once queued bytes are written (or at once if `flush` is false). No callback follows.
    void close(bool flush = true);
    bool connected() const { return connected_; }
    size_t queued_bytes() const { return out_.size() - out_offset_; }

private:
    TcpConnection(EventLoop& loop, int fd, Callbacks callbacks);
    void on_ready();
    void flush();
    void fail(const std::string& reason);
    void update_interest();

    EventLoop& loop_;
    int fd_ = -1;
    Callbacks callbacks_;
    bool connected_ = false;
    bool closing_ = false;
    bool writable_interest_ = true;
    std::vector<uint8_t> out_;
    size_t out_offset_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace rtcpp::runtime
