// Non-blocking UDP sockets for the runtime (IPv4 and IPv6), with batched receive (recvmmsg) and send (sendmmsg),
// and the host's network interfaces.
#pragma once

#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include "core/byte_reader.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace rtcpp::runtime {

struct NetworkInterface {
    std::string name;
    IpAddr address;
    uint8_t prefix_length = 0;
    uint32_t index = 0;
    bool loopback = false;
};

/// Interfaces that are up, with their IPv4 and IPv6 addresses. Link-local IPv6 addresses are left out (they need a
/// scope id that candidates cannot carry); loopback only when asked for.
Result<std::vector<NetworkInterface>> list_interfaces(bool include_loopback);

struct OutgoingDatagram {
    SocketAddr to;
    ByteView bytes;
};

class UdpSocket {
public:
    /// Binds to `local` (port 0 picks an ephemeral port).
    static Result<UdpSocket> bind(const SocketAddr& local);
    /// Binds to the first free port in [min_port, max_port] on `ip`.
    static Result<UdpSocket> bind_in_range(const IpAddr& ip, uint16_t min_port, uint16_t max_port);

    UdpSocket(UdpSocket&& o) noexcept;
    UdpSocket& operator=(UdpSocket&& o) noexcept;
    ~UdpSocket();

    int fd() const { return fd_; }
    const SocketAddr& local_address() const { return local_; }

    /// Sends one datagram. A full send buffer (EAGAIN) is reported as an error; the datagram is dropped, as a router
    /// would (every protocol above retransmits).
    Result<void> send_to(const SocketAddr& to, ByteView bytes);
    /// Sends several datagrams with one sendmmsg call; returns how many were handed to the kernel.
    size_t send_batch(std::span<const OutgoingDatagram> datagrams);

    /// Reads what is queued (up to `max_datagrams`, in batches of recvmmsg) and calls `on_datagram` for each.
    /// Returns the number of datagrams delivered. Truncated datagrams are dropped and counted.
    size_t receive(const std::function<void(const SocketAddr& from, ByteView bytes)>& on_datagram,
                   size_t max_datagrams = 256);

    uint64_t truncated() const { return truncated_; }
    uint64_t send_failures() const { return send_failures_; }

private:
    UdpSocket(int fd, SocketAddr local);
    void release();

    int fd_ = -1;
    SocketAddr local_;
    struct Buffers;
    std::unique_ptr<Buffers> buffers_;
    uint64_t truncated_ = 0;
    uint64_t send_failures_ = 0;
};

} // namespace rtcpp::runtime
