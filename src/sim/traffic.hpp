// Simple sans-IO traffic endpoints for exercising the simulated network (and for its benchmark).
#pragma once

#include "sim/network.hpp"

#include <deque>

namespace rtcpp::sim {

/// Sends `size`-byte datagrams at a constant rate (or a fixed count as fast as the schedule allows) from `local`
/// to `remote`. Each carries a 64-bit sequence number and its send time, so a sink can measure loss and delay.
class PacketSource : public Endpoint {
public:
    PacketSource(SocketAddr local, SocketAddr remote, DataRate rate, size_t size, uint64_t count,
                 Timestamp start = Timestamp::zero());

    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp now) override;
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override;

    uint64_t sent() const { return sent_; }
    uint64_t received() const { return received_; }
    /// Datagrams received back (from an echo), as for sink-side accounting.
    const std::vector<Datagram>& replies() const { return replies_; }

private:
    SocketAddr local_, remote_;
    TimeDelta interval_;
    size_t size_;
    uint64_t count_;
    uint64_t sent_ = 0;
    uint64_t received_ = 0;
    Timestamp next_send_;
    std::deque<Datagram> out_;
    std::vector<Datagram> replies_;
};

/// Records every datagram it receives: sequence number, send time (from a PacketSource) and arrival time.
class PacketSink : public Endpoint {
public:
    explicit PacketSink(bool echo = false) : echo_(echo) {}

    struct Arrival {
        uint64_t seq;
        Timestamp sent;
        Timestamp received;
        SocketAddr from;
    };
    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp) override {}
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override { return Timestamp::plus_infinity(); }

    const std::vector<Arrival>& arrivals() const { return arrivals_; }
    /// Arrivals whose sequence number is lower than one already seen.
    uint64_t reordered() const { return reordered_; }
    uint64_t duplicates() const { return duplicates_; }

private:
    bool echo_;
    std::vector<Arrival> arrivals_;
    std::deque<Datagram> out_;
    std::vector<bool> seen_;
    uint64_t highest_ = 0;
    bool any_ = false;
    uint64_t reordered_ = 0;
    uint64_t duplicates_ = 0;
};

} // namespace rtcpp::sim
