// A sans-IO TURN client (RFC 8656): one allocation on one TURN server, over UDP, TCP or TLS.
//
// What it does: Allocate with the long-term credential dance (401 -> retry with REALM/NONCE and the MD5 key;
// 438 stale nonce -> retry with the new nonce), Refresh before the lifetime runs out (at lifetime - 60 s, or at half
// for lifetimes of 2 minutes or less), CreatePermission per peer IP (refreshed every 4 minutes, before the 5-minute
// expiry), ChannelBind (0x4000..0x4FFF, refreshed every 9 minutes, before the 10-minute expiry), ChannelData once a
// channel is bound and Send/Data indications before that, and deallocation (Refresh LIFETIME 0) on close().
// The password and the derived key are never logged.
//
// Driving it (the runtime owns the socket and the clock):
//   TurnClient turn(config, random);
//   turn.allocate(now);              // TCP/TLS: once the TCP connection to config.server is established
//   loop:
//     bytes from the server socket -> turn.handle_datagram(now, bytes)
//                                     (UDP: one datagram; TCP/TLS: any chunk of the stream, framing is done here)
//     turn.poll_timeout() reached  -> turn.handle_timeout(now)
//     then drain turn.poll_transmit() (bytes to write to the server socket: a datagram over UDP, a chunk of the
//     stream over TCP/TLS) and turn.poll_event() (TurnAllocated, TurnPeerData, TurnFailed, ...).
//   turn.send_to(now, peer, bytes) relays application bytes to a peer (then drain poll_transmit()).
//   TCP/TLS: if the connection drops, call handle_disconnected(now); after TurnClosed/TurnFailed close the socket.
//
// Using a relay as an ICE "local socket" (see src/ice/agent.hpp, "Relay hook"):
//   - on TurnAllocated{relayed, mapped}: agent.add_relay_candidate(relayed, mapped, config.server);
//   - every agent Transmit whose `local` is the relayed address: turn.send_to(now, transmit.remote, transmit.bytes);
//   - every TurnPeerData{peer, bytes}: agent.handle_datagram(now, relayed, peer, bytes);
//   - TurnFailed: the relay candidate is gone (the agent treats it like a lost interface).
// send_to() installs the permission for the peer's IP by itself (holding the data until the server confirms it),
// so connectivity checks sent to a remote candidate open the way for the remote side's checks too. To receive from
// a peer before sending to it, call create_permission(now, peer_ip).
#pragma once

#include "stun/message.hpp"
#include "stun/tls_stream.hpp"
#include "stun/transaction.hpp"
#include "stun/turn_framing.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/units.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rtcpp::stun {

enum class TurnTransport : uint8_t { Udp, Tcp, Tls };

struct TurnClientConfig {
    SocketAddr server;
    TurnTransport transport = TurnTransport::Udp;
    std::string username;
    std::string password; ///< never logged
    IpFamily relay_family = IpFamily::V4; ///< V6 asks for an IPv6 relay (REQUESTED-ADDRESS-FAMILY)
    /// LIFETIME asked for in Allocate and Refresh; zero leaves it to the server (usually 10 minutes).
    TimeDelta requested_lifetime = TimeDelta::seconds(600);
    /// Bind a channel to each peer on the first send_to() and use ChannelData once it is bound.
    bool auto_channel = true;
    TimeDelta permission_refresh = TimeDelta::seconds(240); ///< permissions last 300 s on the server
    TimeDelta channel_refresh = TimeDelta::seconds(540);    ///< channel bindings last 600 s
    TlsClientConfig tls;                                    ///< for TurnTransport::Tls
    /// Retransmission of requests over UDP; over TCP/TLS requests are sent once (reliable is forced).
    TransactionConfig transaction;
    std::string software; ///< SOFTWARE attribute if non-empty
    size_t max_peers = 256;                 ///< permissions (peer IPs) and channels, each
    size_t max_queued_bytes = 256 * 1024;   ///< data held while a permission is being installed
    int max_nonce_retries = 3;              ///< 438 answers in a row before giving up on a request
};

enum class TurnState : uint8_t { Idle, Allocating, Allocated, Closing, Closed, Failed };
std::string_view to_string(TurnState s);

struct TurnAllocated {
    SocketAddr relayed; ///< the relayed transport address on the server (the relay candidate)
    SocketAddr mapped;  ///< our address as the server saw it (a server-reflexive address)
    TimeDelta lifetime;
};
struct TurnRefreshed { TimeDelta lifetime; };
struct TurnPermissionCreated { IpAddr peer; };
struct TurnChannelBound { SocketAddr peer; uint16_t channel = 0; };
/// Bytes a peer sent to the relayed address (from a Data indication or ChannelData).
struct TurnPeerData { SocketAddr peer; std::vector<uint8_t> bytes; };
/// A permission or channel for one peer failed; data queued for it is dropped. The allocation is still usable.
struct TurnPeerFailed { SocketAddr peer; Error error; };
/// The allocation failed or was lost (wrong credentials, quota, server gone...). Terminal.
struct TurnFailed { Error error; };
/// Deallocated after close().
struct TurnClosed {};
using TurnEvent = std::variant<TurnAllocated, TurnRefreshed, TurnPermissionCreated, TurnChannelBound, TurnPeerData,
                               TurnPeerFailed, TurnFailed, TurnClosed>;

struct TurnClientStats {
    uint64_t requests_sent = 0;          ///< transactions started (retries after 401/438 included)
    uint64_t refreshes = 0;              ///< successful Refresh transactions
    uint64_t stale_nonce_retries = 0;
    uint64_t send_indications = 0;
    uint64_t channel_data_sent = 0;
    uint64_t data_indications = 0;
    uint64_t channel_data_received = 0;
    uint64_t bytes_sent = 0;             ///< application bytes handed to the relay
    uint64_t bytes_received = 0;         ///< application bytes from peers
    uint64_t dropped_malformed = 0;      ///< bytes from the server that are neither valid STUN nor ChannelData
    uint64_t dropped_integrity = 0;      ///< responses whose MESSAGE-INTEGRITY did not verify
    uint64_t dropped_unknown_channel = 0;
    uint64_t dropped_stray = 0;          ///< responses to no outstanding request
    uint64_t dropped_queue_full = 0;     ///< send_to() data over max_queued_bytes
};

class TurnClient {
public:
    TurnClient(TurnClientConfig config, Random& random);
    ~TurnClient();
    TurnClient(const TurnClient&) = delete;
    TurnClient& operator=(const TurnClient&) = delete;

    /// Starts the allocation. Fails if already started or the TLS context cannot be set up.
    Result<void> allocate(Timestamp now);
    /// Relays `bytes` to `peer` through the allocation. Before the permission is confirmed the bytes are held
    /// (up to max_queued_bytes in all). Errors: not allocated, wrong address family, too many peers.
    Result<void> send_to(Timestamp now, const SocketAddr& peer, ByteView bytes);
    /// Installs (and keeps refreshing) a permission so `peer` may send to the relayed address.
    Result<void> create_permission(Timestamp now, const IpAddr& peer);
    /// Binds a channel to `peer` now (send_to() does it by itself when auto_channel is set).
    Result<void> bind_channel(Timestamp now, const SocketAddr& peer);
    /// Deallocates (Refresh LIFETIME 0); TurnClosed follows once the server answered or the request timed out.
    void close(Timestamp now);

    void handle_datagram(Timestamp now, ByteView bytes);
    /// UDP, when the socket towards the server is shared with an ICE agent (which sends Binding requests to the same
    /// server for a server-reflexive candidate): true if `bytes` is the TURN client's (ChannelData, or STUN of a TURN
    /// method), false for what belongs to the agent (Binding).
    static bool claims(ByteView bytes);
    /// TCP/TLS: the connection to the server was closed or reset. The allocation is lost (TurnFailed).
    void handle_disconnected(Timestamp now);
    void handle_timeout(Timestamp now);
    std::optional<std::vector<uint8_t>> poll_transmit();
    std::optional<TurnEvent> poll_event();
    Timestamp poll_timeout() const;

    TurnState state() const { return state_; }
    const TurnClientConfig& config() const { return config_; }
    std::optional<SocketAddr> relayed_address() const { return relayed_; }
    std::optional<SocketAddr> mapped_address() const { return mapped_; }
    /// When the allocation expires on the server unless refreshed.
    Timestamp expires_at() const { return expires_at_; }
    std::optional<uint16_t> channel_of(const SocketAddr& peer) const;
    bool has_permission(const IpAddr& peer) const;
    const TurnClientStats& stats() const { return stats_; }

private:
    enum class Kind : uint8_t { Allocate, Refresh, CreatePermission, ChannelBind };
    struct Request {
        Kind kind = Kind::Allocate;
        Message base;        ///< attributes without USERNAME/REALM/NONCE/integrity
        SocketAddr peer;     ///< CreatePermission (ip only) and ChannelBind
        uint16_t channel = 0;
        int nonce_retries = 0;
        bool with_credentials = false;
    };
    enum class PeerState : uint8_t { Pending, Installed, Failed };
    struct Permission {
        PeerState state = PeerState::Pending;
        Timestamp refresh_at = Timestamp::plus_infinity();
        bool in_flight = false;
        std::deque<std::pair<SocketAddr, std::vector<uint8_t>>> queue;
    };
    struct Channel {
        uint16_t number = 0;
        PeerState state = PeerState::Pending;
        Timestamp refresh_at = Timestamp::plus_infinity();
        bool in_flight = false;
    };

    void start_request(Timestamp now, Request request);
    void send_request(Timestamp now, uint64_t tag, Request& request);
    void start_allocate(Timestamp now);
    void start_refresh(Timestamp now, TimeDelta lifetime);
    void start_permission(Timestamp now, const IpAddr& peer);
    void start_channel_bind(Timestamp now, const SocketAddr& peer, uint16_t channel);
    void handle_message(Timestamp now, ByteView bytes);
    void handle_response(Timestamp now, const Message& msg);
    void handle_success(Timestamp now, Request& request, const Message& msg);
    void handle_error(Timestamp now, uint64_t tag, Request& request, const Message& msg);
    void handle_request_timeout(Timestamp now, Request& request);
    void fail(Error error);
    void finish_close();
    void emit_bytes(std::vector<uint8_t> bytes);
    void flush_transactions();
    void send_data(const SocketAddr& peer, ByteView bytes);
    void flush_queue(const IpAddr& peer);
    Error error_from_response(const Request& request, const ErrorCodeValue& code, const Message& msg) const;
    TimeDelta refresh_delay(TimeDelta lifetime) const;
    bool stream() const { return config_.transport != TurnTransport::Udp; }

    TurnClientConfig config_;
    Random& random_;
    TurnState state_ = TurnState::Idle;
    TransactionTable transactions_;
    std::map<uint64_t, Request> requests_;
    uint64_t next_tag_ = 1;

    std::string realm_;
    std::string nonce_;
    std::vector<uint8_t> key_;

    std::optional<SocketAddr> relayed_;
    std::optional<SocketAddr> mapped_;
    Timestamp expires_at_ = Timestamp::plus_infinity();
    Timestamp refresh_at_ = Timestamp::plus_infinity();
    bool refresh_in_flight_ = false;

    std::map<IpAddr, Permission> permissions_;
    std::map<SocketAddr, Channel> channels_;
    std::map<uint16_t, SocketAddr> channel_peers_;
    uint16_t next_channel_ = kMinChannel;
    size_t queued_bytes_ = 0;

    StreamFramer framer_;
    std::unique_ptr<TlsClientStream> tls_;
    std::deque<std::vector<uint8_t>> out_;
    std::deque<TurnEvent> events_;
    std::vector<uint8_t> scratch_;
    TurnClientStats stats_;
};

} // namespace rtcpp::stun
