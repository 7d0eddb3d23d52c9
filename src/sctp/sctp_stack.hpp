// The process-wide usrsctp instance.
//
// usrsctp keeps global state (one stack per process), so every SctpAssociation shares this object. It owns:
//  - initialisation: usrsctp_init_nothreads() when the first association registers, usrsctp_finish() when the last
//    one leaves (reference counted), and the sysctls tuned for WebRTC (applied after each init, which resets them);
//  - the registry of AF_CONN addresses: usrsctp only ever sees an opaque integer id, never a pointer, because it may
//    call back (outbound packets, upcalls) for a socket whose owner is gone; unknown ids are ignored;
//  - the timer clock: usrsctp_handle_timers(elapsed) is driven from core time. The stack remembers the last
//    Timestamp it was ticked with; time that goes backwards is ignored.
//
// Threading: usrsctp is used in no-threads mode and this class takes no locks. All usrsctp calls (so all calls on
// every SctpAssociation) must happen on one thread, or the caller must serialise them.
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

struct socket;

namespace rtcpp::sctp {

/// What the stack calls back into; implemented by SctpAssociation.
class SctpStackClient {
public:
    /// An SCTP packet usrsctp wants sent for this client's AF_CONN address.
    virtual void on_sctp_outbound(ByteView packet) = 0;
    /// The socket became readable/writable or has an error (SCTP_EVENT_* bits). Must only set flags.
    virtual void on_sctp_upcall(int events) = 0;

protected:
    ~SctpStackClient() = default;
};

class SctpStack {
public:
    /// usrsctp's send/receive buffer limits (sysctls). A message must fit the send buffer whole.
    static constexpr uint32_t kSendSpace = 8 * 1024 * 1024;
    static constexpr uint32_t kRecvSpace = 8 * 1024 * 1024;

    static SctpStack& instance();

    SctpStack(const SctpStack&) = delete;
    SctpStack& operator=(const SctpStack&) = delete;

    /// Registers a client (initialising usrsctp if it is the first) and returns its AF_CONN id (never 0, never
    /// reused within the process).
    uint32_t acquire(SctpStackClient* client);
    /// Forgets the id; callbacks for it are dropped from now on. The last release finishes usrsctp when it can.
    void release(uint32_t id);

    /// Advances usrsctp's timers to `now` (whole milliseconds; the remainder is carried over).
    void advance(Timestamp now);
    /// When usrsctp's timers next need ticking. usrsctp does not expose its next deadline, so this is the last
    /// tick plus a fixed interval.
    Timestamp next_tick() const;
    /// The time of the last tick (minus_infinity before the first).
    Timestamp now() const { return last_tick_; }
    void set_tick_interval(TimeDelta interval) { tick_interval_ = interval; }

    bool initialized() const { return initialized_; }
    size_t client_count() const { return clients_.size(); }
    /// Times usrsctp was initialised in this process (reference-counting evidence for tests).
    uint64_t init_count() const { return init_count_; }

    /// A scratch buffer shared by all associations for usrsctp_recvv (the stack is single-threaded).
    std::span<uint8_t> receive_buffer() { return receive_buffer_; }

    /// The upcall to install on every AF_CONN socket, with the client id as its argument.
    static void upcall(struct socket* sock, void* arg, int flags);
    static void* id_to_addr(uint32_t id);

private:
    SctpStack();
    void init();
    void try_finish();
    static int outbound(void* addr, void* buffer, size_t length, uint8_t tos, uint8_t set_df);
    SctpStackClient* lookup(uint32_t id) const;

    bool initialized_ = false;
    uint64_t init_count_ = 0;
    uint32_t next_id_ = 1;
    std::unordered_map<uint32_t, SctpStackClient*> clients_;
    Timestamp last_tick_ = Timestamp::minus_infinity();
    TimeDelta tick_interval_ = TimeDelta::millis(10);
    std::vector<uint8_t> receive_buffer_;
};

} // namespace rtcpp::sctp
