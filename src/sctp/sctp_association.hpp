// One SCTP association over DTLS carrying WebRTC data channels (RFC 8831, RFC 8832), wrapping usrsctp.
//
// Sans-IO: SCTP packets that arrived over DTLS go in through handle_packet(), packets to hand to DTLS come out of
// poll_transmit(). Time comes in as a Timestamp; usrsctp's timers are ticked from it through the process-wide
// SctpStack. Drain rule: after every handle_*() or API call, call poll_transmit() until it returns nothing and
// poll_event() until it returns nothing (each may produce work for the other: loop until both are empty), then
// ask poll_timeout() when to call handle_timeout() next.
//
// Threading: single-threaded, like SctpStack: every association in the process must be driven from one thread,
// or the caller serialises all calls. usrsctp timers are process-wide, so driving one association can produce
// packets for another; poll_timeout() reports "now" for an association with undrained work.
//
// Limits of the wrap: usrsctp reads the real clock (gettimeofday) for RTT samples, PR-SCTP lifetimes and one
// guard in its T3 retransmission timer: on expiry it only retransmits (or abandons) chunks sent more than one RTO
// ago *in real time*. Its timers themselves follow core time. In production both clocks agree. In a simulation
// whose virtual clock runs far ahead of real time, T3 fires but retransmits nothing until real time catches up,
// so tail losses recover only through fast retransmit (measured: a maxRetransmits=0 channel under 20% loss
// stalls with a virtual clock and flows when the loop sleeps in step with it). A simulation should give usrsctp
// its virtual clock: tests/sctp/virtual_clock_test.cpp interposes gettimeofday() in the test executable.
#pragma once

#include "core/byte_reader.hpp"
#include "sctp/dcep.hpp"
#include "sctp/sctp_stack.hpp"

#include <rtcpp/result.hpp>
#include <rtcpp/units.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

struct socket;

namespace rtcpp::sctp {

/// The max-message-size rtcpp advertises in SDP (RFC 8841) and enforces on receive by default.
inline constexpr size_t kDefaultMaxMessageSize = 1024 * 1024;
/// RFC 8841 §6: the remote's limit when its SDP has no a=max-message-size.
inline constexpr size_t kSdpDefaultMaxMessageSize = 64 * 1024;

struct SctpSettings {
    /// Our DTLS role: the DTLS client uses even stream ids, the server odd ones (RFC 8832 §6).
    bool dtls_client = true;
    uint16_t local_port = 5000;
    uint16_t remote_port = 5000;
    /// Largest message we accept (what we advertise in SDP); a larger incoming message closes its channel.
    size_t local_max_message_size = kDefaultMaxMessageSize;
    /// The remote's a=max-message-size; 0 means "no limit" (RFC 8841 §6.1). send() refuses larger messages.
    size_t remote_max_message_size = kSdpDefaultMaxMessageSize;
    /// Largest SCTP packet handed to DTLS: fits one DTLS 1.2 AES-GCM record (37 bytes overhead) in a 1200-byte
    /// UDP payload.
    size_t max_packet_size = 1150;
    /// Streams negotiated in INIT, each way.
    uint16_t max_streams = 1024;
    /// How often usrsctp's timers are ticked while the association exists.
    TimeDelta tick_interval = TimeDelta::millis(10);
};

enum class ChannelState { Connecting, Open, Closing, Closed };

struct ChannelOptions {
    std::string label;
    std::string protocol;
    Reliability reliability;
    uint16_t priority = 256;
    /// Pre-negotiated (W3C negotiated=true): no DCEP, both sides create the channel with the same `id`.
    bool negotiated = false;
    /// Required when negotiated; otherwise chosen by the association from our parity.
    std::optional<uint16_t> id;
};

namespace events {
/// The association is established: channels can open.
struct AssociationUp {};
/// The association ended: graceful shutdown, abort (either side) or failure to establish. Every channel has been
/// reported closed before this event.
struct AssociationClosed {
    bool aborted = false;
    std::string reason;
};
/// The remote opened a channel through DCEP; it is open already.
struct ChannelOpen {
    uint16_t stream_id = 0;
    ChannelOptions options;
};
/// A channel we created is now open (DCEP ACK or first message received, or the association came up for a
/// pre-negotiated channel).
struct ChannelOpened {
    uint16_t stream_id = 0;
};
struct MessageReceived {
    uint16_t stream_id = 0;
    bool binary = false;
    std::vector<uint8_t> data;
};
struct ChannelClosed {
    uint16_t stream_id = 0;
    std::string reason;
};
/// bufferedAmount fell from above the channel's threshold to at or below it.
struct BufferedAmountLow {
    uint16_t stream_id = 0;
};
} // namespace events

using SctpEvent = std::variant<events::AssociationUp, events::AssociationClosed, events::ChannelOpen,
                               events::ChannelOpened, events::MessageReceived, events::ChannelClosed,
                               events::BufferedAmountLow>;

struct SctpStats {
    uint64_t packets_sent = 0;
    uint64_t packets_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    /// Incoming packets with a bad CRC32c (or shorter than an SCTP header): dropped.
    uint64_t checksum_errors = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
    /// DCEP messages that did not parse (bad type, truncated, bad lengths): ignored.
    uint64_t dcep_malformed = 0;
    /// Well-formed DCEP messages that made no sense here (OPEN on our parity or a used id, stray ACK): ignored.
    uint64_t dcep_unexpected = 0;
    /// User messages on a stream with no open channel, or with an unknown PPID: dropped.
    uint64_t messages_dropped = 0;
    /// Messages usrsctp refused for a reason other than a full buffer (dropped; errno in last_send_errno).
    uint64_t send_errors = 0;
    int last_send_errno = 0;
    /// Incoming messages larger than local_max_message_size (their channel was closed).
    uint64_t oversize_messages = 0;
};

class SctpAssociation final : private SctpStackClient {
public:
    enum class State { New, Connecting, Connected, Closed };

    static Result<std::unique_ptr<SctpAssociation>> create(const SctpSettings& settings);
    /// Abortive: nothing more is sent. Use close() and drain first for a graceful end.
    ~SctpAssociation();
    SctpAssociation(const SctpAssociation&) = delete;
    SctpAssociation& operator=(const SctpAssociation&) = delete;

    /// Starts the association (both sides call this once DTLS is connected; simultaneous INITs are fine). The
    /// first handle_packet() starts it too if the peer was quicker.
    Result<void> connect(Timestamp now);

    void handle_packet(Timestamp now, ByteView sctp_packet);
    void handle_timeout(Timestamp now);
    std::optional<std::vector<uint8_t>> poll_transmit();
    /// Optional: hands a buffer from poll_transmit() back once sent, so steady-state output does not allocate.
    void recycle(std::vector<uint8_t>&& buffer);
    std::optional<SctpEvent> poll_event();
    Timestamp poll_timeout();

    /// Creates a channel. Returns its stream id. Before the association is up the channel waits (Connecting).
    Result<uint16_t> open_channel(const ChannelOptions& options);
    /// Sends one message. Fails if the channel is not open or the message exceeds the remote's max-message-size.
    Result<void> send(uint16_t stream_id, ByteView data, bool binary);
    Result<void> send_text(uint16_t stream_id, std::string_view text);
    /// Low level: queues a message with an explicit PPID, bypassing the channel-state and DCEP rules (tests and
    /// protocol experiments; not for applications). Not counted in bufferedAmount.
    Result<void> send_with_ppid(uint16_t stream_id, Ppid ppid, ByteView data);
    /// Starts the closing procedure: buffered messages are sent, then the outgoing stream is reset.
    Result<void> close_channel(uint16_t stream_id);

    std::optional<ChannelState> channel_state(uint16_t stream_id) const;
    /// Bytes accepted by send() not yet handed to usrsctp.
    size_t buffered_amount(uint16_t stream_id) const;
    void set_buffered_amount_low_threshold(uint16_t stream_id, size_t threshold);
    size_t buffered_amount_low_threshold(uint16_t stream_id) const;

    /// The remote's a=max-message-size, when it is known only after creation.
    void set_remote_max_message_size(size_t size) { settings_.remote_max_message_size = size; }
    size_t max_message_size() const;

    /// Graceful SCTP shutdown (SHUTDOWN chunks); ends with AssociationClosed.
    void close(Timestamp now);
    /// ABORT with a user-initiated abort reason (RFC 4960 cause 12); channels close at once on both sides.
    void abort(Timestamp now, std::string_view reason);

    State state() const { return state_; }
    /// usrsctp's view of the association (state, windows, queues), for logs and debugging.
    std::string describe() const;
    const SctpStats& stats() const { return stats_; }
    const SctpSettings& settings() const { return settings_; }
    uint32_t stack_id() const { return id_; }

private:
    struct Channel {
        ChannelOptions options;
        ChannelState state = ChannelState::Connecting;
        bool locally_created = false;
        bool dcep_open_sent = false;
        size_t buffered = 0;
        size_t low_threshold = 0;
        /// The closing procedure: reset our outgoing stream once its buffered messages are handed to usrsctp.
        bool reset_wanted = false;
        bool outgoing_reset_sent = false;
        bool outgoing_reset_done = false;
        bool incoming_reset_done = false;
        bool closed_reported = false;
        /// Messages (user and DCEP) of this channel still in send_queue_.
        size_t queued = 0;
        std::string close_reason;
    };
    struct Outgoing {
        uint16_t stream_id;
        Ppid ppid;
        std::vector<uint8_t> data;
        /// Counted in bufferedAmount (user messages; not DCEP).
        bool counted;
    };
    struct Incoming {
        std::vector<uint8_t> data;
        uint32_t ppid = 0;
        bool discarding = false;
    };

    explicit SctpAssociation(const SctpSettings& settings);
    Result<void> setup_socket();

    void on_sctp_outbound(ByteView packet) override;
    void on_sctp_upcall(int events) override;

    void drain();
    void receive_all();
    void flush_sends();
    void send_pending_resets();
    bool sendv(uint16_t stream_id, Ppid ppid, const std::vector<uint8_t>& data, const Reliability& reliability,
               int& error);
    void handle_notification(ByteView n);
    void handle_assoc_change(ByteView n);
    void handle_stream_reset(ByteView n);
    void handle_message(uint16_t stream_id, uint32_t ppid, std::vector<uint8_t>&& data);
    void handle_dcep(uint16_t stream_id, ByteView payload);
    void handle_oversize(uint16_t stream_id);
    void on_association_up();
    void on_association_closed(bool aborted, std::string reason);
    void mark_open(uint16_t stream_id, Channel& ch);
    void queue_dcep_open(uint16_t stream_id, Channel& ch);
    void report_closed(uint16_t stream_id, Channel& ch);
    void maybe_forget(uint16_t stream_id);
    std::optional<uint16_t> allocate_stream_id() const;
    bool is_our_parity(uint16_t id) const { return (id % 2 == 0) == settings_.dtls_client; }
    bool has_pending_work() const;

    SctpSettings settings_;
    SctpStack& stack_;
    uint32_t id_ = 0;
    struct socket* sock_ = nullptr;
    State state_ = State::New;
    bool readable_ = false;
    bool dying_ = false;
    uint16_t outbound_streams_ = 0;
    bool writable_ = true;
    bool closed_reported_ = false;

    std::map<uint16_t, Channel> channels_;
    std::deque<Outgoing> send_queue_;
    std::map<uint16_t, Incoming> incoming_;
    /// Deprecated PPID 52/54 fragments waiting for their final 51/53 part.
    std::map<uint16_t, std::vector<uint8_t>> legacy_partial_;
    std::vector<uint8_t> notification_;
    std::deque<std::vector<uint8_t>> transmit_;
    std::vector<std::vector<uint8_t>> spare_;
    std::deque<SctpEvent> events_;
    SctpStats stats_;
};

} // namespace rtcpp::sctp
