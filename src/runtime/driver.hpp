// Drives a sans-IO core from the event loop: datagrams from its UDP sockets go in with the current time, its
// transmits go out on the socket they name, and a timer follows its next timeout.
#pragma once

#include "runtime/event_loop.hpp"
#include "runtime/udp_socket.hpp"

#include <optional>
#include <vector>

namespace rtcpp::runtime {

struct Transmit {
    SocketAddr local;  ///< the socket to send from
    SocketAddr remote;
    std::vector<uint8_t> bytes;
};

/// What a driven core looks like: the verbs every rtcpp layer has.
class SansIoCore {
public:
    virtual ~SansIoCore() = default;
    virtual void handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, ByteView bytes) = 0;
    virtual void handle_timeout(Timestamp now) = 0;
    virtual std::optional<Transmit> poll_transmit() = 0;
    /// A polled Transmit's buffer after the send, for the core to reuse (a core that has no use for it lets it go).
    virtual void recycle(std::vector<uint8_t>&& bytes) { (void)bytes; }
    /// Timestamp::plus_infinity() when nothing is pending.
    virtual Timestamp poll_timeout() = 0;
};

/// Lives on, and must be used from, the loop thread (construct it inside a posted task or run_sync). Destroy it on
/// the loop thread too, before the sockets' owner goes away.
class Driver {
public:
    Driver(EventLoop& loop, SansIoCore& core);
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    /// Starts reading a socket; datagrams reach the core with that socket's local address.
    Result<void> add_socket(UdpSocket socket);
    const std::vector<UdpSocket>& sockets() const { return sockets_; }

    /// Call after handing the core a command outside a handle_* call: sends what it queued and re-arms its timer.
    void kick();

    uint64_t datagrams_in() const { return datagrams_in_; }
    uint64_t datagrams_out() const { return datagrams_out_; }
    uint64_t unroutable() const { return unroutable_; }

private:
    void flush();
    void on_readable(size_t index);

    EventLoop& loop_;
    SansIoCore& core_;
    std::vector<UdpSocket> sockets_;
    EventLoop::TimerId timer_ = 0;
    Timestamp timer_at_ = Timestamp::plus_infinity();
    uint64_t datagrams_in_ = 0;
    uint64_t datagrams_out_ = 0;
    uint64_t unroutable_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace rtcpp::runtime
