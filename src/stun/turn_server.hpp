// A small sans-IO STUN/TURN server (RFC 8489 Binding, RFC 8656 TURN over UDP), for the simulated-network tests and
// for applications that need a modest relay of their own.
//
// It answers Binding requests (XOR-MAPPED-ADDRESS) without credentials, and Allocate, Refresh, CreatePermission,
// ChannelBind with long-term credentials (realm, users, MD5 keys). Nonces are stateless: each one carries its expiry
// and an HMAC under a per-server secret, so unauthenticated requests allocate nothing at all, and an expired nonce
// is answered with 438. Relayed transport addresses are taken from the configured relay IPs and port range.
// State is bounded: allocations in total and per client IP, permissions and channels per allocation.
//
// Driving it: every datagram addressed to one of the listening addresses or to a relayed address goes to
// handle_datagram(now, from, to, bytes); poll_transmit() then yields datagrams {from, to, bytes} (from a listening
// address to a client, or from a relayed address to a peer); handle_timeout() at poll_timeout() expires
// allocations, permissions and channels. In the simulator the server is one host owning its listening IP and its
// relay IP; owns() tells whether an address is one the server answers on.
//
// Not implemented: TURN over TCP/TLS toward clients, EVEN-PORT reservations, SHA-256 password algorithms, and the
// 5-minute quarantine of expired channel numbers.
#pragma once

#include "stun/message.hpp"
#include "stun/turn_framing.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/units.hpp>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp::stun {

struct TurnServerConfig {
    std::vector<SocketAddr> listen;        ///< addresses answering STUN/TURN (UDP)
    std::optional<IpAddr> relay_ipv4;      ///< relayed addresses for IPv4 allocations
    std::optional<IpAddr> relay_ipv6;      ///< and for IPv6 (REQUESTED-ADDRESS-FAMILY)
    uint16_t min_port = 49152;
    uint16_t max_port = 65535;
    std::string realm = "rtcpp";
    std::map<std::string, std::string> users; ///< username -> password (only the derived keys are kept)
    TimeDelta nonce_lifetime = TimeDelta::seconds(600);
    TimeDelta default_lifetime = TimeDelta::seconds(600);
    TimeDelta max_lifetime = TimeDelta::seconds(3600);
    TimeDelta permission_lifetime = TimeDelta::seconds(300);
    TimeDelta channel_lifetime = TimeDelta::seconds(600);
    size_t max_allocations = 1000;
    size_t max_allocations_per_client = 8; ///< per client IP address
    size_t max_permissions = 64;           ///< per allocation
    size_t max_channels = 64;              ///< per allocation
    bool allow_loopback_peers = false;
    std::string software;
};

struct ServerTransmit {
    SocketAddr from;
    SocketAddr to;
    std::vector<uint8_t> bytes;
};

struct TurnServerStats {
    uint64_t binding_requests = 0;
    uint64_t allocations_created = 0;
    uint64_t allocations_expired = 0;
    uint64_t allocations_deleted = 0;    ///< by Refresh LIFETIME 0
    uint64_t unauthenticated = 0;        ///< 401 answers to requests without (valid) credentials
    uint64_t stale_nonces = 0;           ///< 438 answers
    uint64_t bad_integrity = 0;
    uint64_t error_responses = 0;        ///< all error responses, 401/438 included
    uint64_t malformed = 0;              ///< dropped: not parseable, bad fingerprint, unexpected class
    uint64_t relayed_to_peer = 0;        ///< datagrams sent from a relayed address
    uint64_t relayed_to_client = 0;      ///< Data indications and ChannelData sent to clients
    uint64_t dropped_no_permission = 0;  ///< peer datagrams without a permission, or Send to a peer without one
    uint64_t dropped_no_allocation = 0;  ///< indications/ChannelData from clients without an allocation
    uint64_t refreshes = 0;
    uint64_t permissions_created = 0;
    uint64_t channels_bound = 0;
};

class TurnServer {
public:
    TurnServer(TurnServerConfig config, Random& random);

    void add_user(const std::string& username, const std::string& password);
    bool owns(const SocketAddr& addr) const;

    void handle_datagram(Timestamp now, const SocketAddr& from, const SocketAddr& to, ByteView bytes);
    void handle_timeout(Timestamp now);
    std::optional<ServerTransmit> poll_transmit();
    Timestamp poll_timeout() const;

    size_t allocation_count() const { return allocations_.size(); }
    /// The relayed address of the allocation of a client 5-tuple, if any (for tests and monitoring).
    std::optional<SocketAddr> relayed_address_of(const SocketAddr& client, const SocketAddr& server) const;
    const TurnServerStats& stats() const { return stats_; }
    const TurnServerConfig& config() const { return config_; }

private:
    using FiveTuple = std::pair<SocketAddr, SocketAddr>; // client, server (transport is always UDP)
    struct ChannelBinding {
        SocketAddr peer;
        Timestamp expires;
    };
    struct Allocation {
        FiveTuple tuple;
        std::string username;
        std::vector<uint8_t> key;
        SocketAddr relayed;
        Timestamp expires;
        TransactionId allocate_id{};
        std::vector<uint8_t> allocate_response; ///< resent for a retransmitted Allocate
        std::map<IpAddr, Timestamp> permissions;
        std::map<uint16_t, ChannelBinding> channels;
        std::map<SocketAddr, uint16_t> peer_channels;
    };
    struct User {
        std::vector<uint8_t> key;
    };

    void handle_client(Timestamp now, const SocketAddr& from, const SocketAddr& to, ByteView bytes);
    void handle_peer(Timestamp now, Allocation& a, const SocketAddr& from, ByteView bytes);
    void handle_binding(const SocketAddr& from, const SocketAddr& to, const Message& req);
    /// Checks long-term credentials; answers 400/401/438 itself and returns nullptr when they do not pass.
    const User* authenticate(Timestamp now, const SocketAddr& from, const SocketAddr& to, const Message& req,
                             std::string& username);
    void handle_allocate(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                         const User& u);
    void handle_refresh(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                        const User& u);
    void handle_create_permission(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                                  const User& u);
    void handle_channel_bind(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                             const User& u);
    void handle_send(Timestamp now, const FiveTuple& t, const Message& ind);
    void handle_channel_data(Timestamp now, const FiveTuple& t, ByteView bytes);

    std::string make_nonce(Timestamp now, const IpAddr& client) const;
    enum class NonceCheck { Ok, Invalid, Expired };
    NonceCheck check_nonce(Timestamp now, std::string_view nonce, const IpAddr& client) const;
    bool peer_allowed(const IpAddr& peer) const;
    std::optional<SocketAddr> pick_relay(const IpAddr& ip);
    void send_error(const FiveTuple& t, const Message& req, uint16_t code, std::string_view reason,
                    const std::vector<uint8_t>* key);
    void send_challenge(Timestamp now, const FiveTuple& t, const Message& req, uint16_t code,
                        std::string_view reason);
    void send_success(const FiveTuple& t, Message& resp, const std::vector<uint8_t>& key);
    void remove_allocation(std::map<FiveTuple, Allocation>::iterator it);
    TimeDelta granted_lifetime(std::optional<uint32_t> requested, bool allocate) const;

    TurnServerConfig config_;
    Random& random_;
    std::vector<uint8_t> nonce_secret_;
    std::map<std::string, User> users_;
    std::map<FiveTuple, Allocation> allocations_;
    std::map<SocketAddr, FiveTuple> by_relay_;
    std::map<IpAddr, size_t> per_client_;
    std::deque<ServerTransmit> out_;
    TurnServerStats stats_;
};

} // namespace rtcpp::stun
