// A sans-IO ICE agent (RFC 8445) with trickle (RFC 8838), consent freshness (RFC 7675), ICE restart and ice-lite.
// One agent per PeerConnection: BUNDLE and rtcp-mux, so one data stream with one component.
//
// The agent owns no socket and reads no clock. The owner:
//   - tells it the local transport addresses it has bound (add_host_address), and any relayed addresses a TURN client
//     obtained (add_relay_candidate, see "Relay hook" below);
//   - feeds every datagram received on those sockets: handle_datagram(now, local, remote, bytes). STUN for the agent
//     is consumed (returns Input::Stun); anything else returns Input::Data and stays the caller's to route (DTLS,
//     SRTP). With AgentConfig::data_events the agent also emits DataReceived events (a copy);
//   - calls handle_timeout(now) when poll_timeout() is reached;
//   - after every handle_* and command, drains poll_transmit() (each Transmit says which local address the datagram
//     leaves from, and to where) and poll_event() until both are empty, then asks poll_timeout().
//
// Signalling: local_credentials() and every CandidateGathered event go to the peer (trickle: candidate.to_sdp());
// the peer's ufrag/pwd go to set_remote_credentials() and its candidates to add_remote_candidate(); an
// end-of-candidates indication to end_of_remote_candidates().
//
// Relay hook (TURN): a relayed candidate is a local "socket" whose address is the relayed transport address on the
// TURN server. After a TURN allocation succeeds, call add_relay_candidate(relayed, mapped, server). Every Transmit
// whose `local` equals that relayed address must be sent through the TURN client (Send indication or ChannelData to
// `remote`), and every datagram the TURN client unwraps from `peer` must be fed as handle_datagram(now, relayed,
// peer, bytes). While a TURN allocation is in progress call hold_gathering(true) so gathering is not reported
// complete, and hold_gathering(false) once it succeeded or failed.
//
// Data: once connected, send application datagrams with send(bytes) (queued as a Transmit on the selected pair) or
// look up selected_route() and send them yourself.
//
// ICE-TCP (RFC 6544): add_host_tcp_listener(addr) for each TCP listening socket the owner bound gives a passive host
// candidate there and an active one (port 9) on its IP. Every Transmit names its transport. A TCP Transmit goes over
// the owner's connection for that (local, remote) pair: for a local active candidate the owner connects to `remote`
// the first time (from local.ip()); for a local passive candidate it is a connection the owner accepted on that
// listener from `remote` (and is dropped if there is none). Each message travels with RFC 4571 framing (a 2-byte
// length); the owner deframes and feeds whole messages as handle_datagram(now, local, remote, bytes, Transport::Tcp)
// with `local` the candidate's address (the listener, or ip:9 for active) and `remote` the peer's address on that
// connection; a request on an accepted connection names a peer-reflexive remote candidate. When a connection fails
// or closes, handle_tcp_closed(). Pairs: local active with remote passive (checked), local passive with the remote
// active candidates that connected to us (answered, and triggered checks sent back on that connection); active with
// active and passive with passive never. TCP checks are sent once (reliable transport, RFC 6544 7.1).
#pragma once

#include "ice/candidate.hpp"
#include "stun/message.hpp"
#include "stun/transaction.hpp"

#include "core/ring_queue.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/units.hpp>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rtcpp::ice {

enum class Role : uint8_t { Controlling, Controlled };
/// W3C RTCIceConnectionState.
enum class ConnectionState : uint8_t { New, Checking, Connected, Completed, Disconnected, Failed, Closed };
/// W3C RTCIceGatheringState.
enum class GatheringState : uint8_t { New, Gathering, Complete };
enum class PairState : uint8_t { Frozen, Waiting, InProgress, Succeeded, Failed };
/// W3C RTCIceTransportPolicy.
enum class TransportPolicy : uint8_t { All, Relay };

std::string_view to_string(ConnectionState s);
std::string_view to_string(GatheringState s);
std::string_view to_string(PairState s);

struct Credentials {
    std::string ufrag;
    std::string pwd;
    bool operator==(const Credentials&) const = default;
};

struct AgentConfig {
    Role role = Role::Controlling;
    /// ice-lite: host candidates only, never checks, always controlled. Without consent checks of its own, it goes
    /// disconnected when the peer's checks stop for consent_interval * 1.2 + consent_disconnected_after, failed after
    /// consent_timeout.
    bool lite = false;
    TransportPolicy policy = TransportPolicy::All;
    bool include_loopback = false;      ///< otherwise loopback host addresses are ignored
    std::vector<SocketAddr> stun_servers;
    TimeDelta ta = TimeDelta::millis(50);                     ///< pacing of ordinary and triggered checks
    TimeDelta check_rto_min = TimeDelta::millis(500);         ///< RTO = max(this, Ta * (waiting + in progress))
    /// A TCP check (sent once) fails if unanswered this long (the connection itself may take a while to open).
    TimeDelta tcp_check_timeout = TimeDelta::seconds(8);
    int check_transmissions = 7;                              ///< Rc for connectivity checks
    int check_rm = 16;
    stun::TransactionConfig gather_transaction{TimeDelta::millis(500), 3, 4, false, TimeDelta::millis(39500)};
    /// The controlling agent nominates the best valid pair once no better pair is pending, or this long after the
    /// first valid pair was found, whichever comes first.
    TimeDelta nomination_timeout = TimeDelta::millis(1000);
    /// A better UDP pair whose check has gone unanswered this long (or 3 RTTs of the best valid pair, if longer)
    /// no longer holds the nomination back: behind NATs the host pairs never answer, and waiting for them to time
    /// out would cost nomination_timeout on every such connection.
    TimeDelta nomination_patience = TimeDelta::millis(150);
    TimeDelta consent_interval = TimeDelta::seconds(5);       ///< randomized +-20 % (RFC 7675)
    TimeDelta consent_disconnected_after = TimeDelta::seconds(3); ///< a consent request unanswered this long
    TimeDelta consent_timeout = TimeDelta::seconds(30);       ///< no consent response this long: failed
    size_t max_remote_candidates = 100;
    size_t max_pairs = 100;
    size_t max_mdns_candidates = 20;
    /// With unresolved remote mDNS candidates, how long to wait for the peer's checks (peer-reflexive discovery)
    /// before an empty or failed check list means failed.
    TimeDelta mdns_failure_grace = TimeDelta::seconds(15);
    /// Responses to STUN requests from addresses that are not remote candidates: token bucket.
    double unknown_source_rate = 50;  ///< per second
    double unknown_source_burst = 100;
    bool data_events = false;         ///< also emit non-STUN datagrams as DataReceived events
    std::string software;             ///< SOFTWARE attribute in requests if non-empty
    /// Fixed credentials (tests, SDP munging); random from the injected Random if empty.
    Credentials local_credentials;
};

struct CandidateGathered { Candidate candidate; };
struct GatheringComplete {};
struct GatheringStateChanged { GatheringState state; };
struct ConnectionStateChanged { ConnectionState state; };
struct SelectedPairChanged { Candidate local; Candidate remote; };
struct RoleChanged { Role role; };
struct DataReceived {
    SocketAddr local;
    SocketAddr remote;
    std::vector<uint8_t> bytes;
    Transport transport = Transport::Udp;
};
using Event = std::variant<CandidateGathered, GatheringComplete, GatheringStateChanged, ConnectionStateChanged,
                           SelectedPairChanged, RoleChanged, DataReceived>;

struct Transmit {
    SocketAddr local;  ///< the host socket address (or relayed address) to send from
    SocketAddr remote;
    std::vector<uint8_t> bytes;
    /// Tcp: send framed (RFC 4571) on the connection for (local, remote); see the header comment.
    Transport transport = Transport::Udp;
};

/// What handle_datagram did with a datagram.
enum class Input : uint8_t {
    Stun,    ///< consumed by the agent (check, response, consent, gathering)
    Data,    ///< not STUN: the caller routes it (DTLS, SRTP)
    Dropped, ///< STUN that was malformed, unauthenticated or not ours: dropped and counted
};

struct PairStats {
    Candidate local;
    Candidate remote;
    PairState state = PairState::Frozen;
    uint64_t priority = 0;
    bool nominated = false;
    bool selected = false;
    uint64_t requests_sent = 0;
    uint64_t requests_received = 0;
    uint64_t responses_sent = 0;
    uint64_t responses_received = 0;
    uint64_t consent_requests_sent = 0;
    TimeDelta current_rtt = TimeDelta::zero();
    TimeDelta total_rtt = TimeDelta::zero();
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t packets_sent = 0;
    uint64_t packets_received = 0;
};

struct AgentStats {
    uint64_t stun_malformed = 0;        ///< looked like STUN but did not parse
    uint64_t bad_fingerprint = 0;
    uint64_t bad_integrity = 0;
    uint64_t unknown_username = 0;
    uint64_t missing_credentials = 0;   ///< requests without USERNAME or MESSAGE-INTEGRITY
    uint64_t stray_responses = 0;       ///< responses to no outstanding transaction
    uint64_t rate_limited = 0;
    uint64_t role_conflicts = 0;
    uint64_t remote_candidates_dropped = 0; ///< over max_remote_candidates or unusable
    uint64_t pairs_dropped = 0;             ///< over max_pairs
    uint64_t unknown_attribute_requests = 0;
    uint64_t checks_sent = 0;
    uint64_t restarts = 0;
};

class Agent {
public:
    /// `random` (credentials, tie-breaker, transaction ids, consent jitter) must outlive the agent.
    Agent(const AgentConfig& config, Random& random);

    // ---- local side ----
    const Credentials& local_credentials() const { return local_creds_; }
    /// A bound UDP socket address. Returns false if ignored (loopback without include_loopback, duplicate,
    /// unspecified address). Host candidates are announced once gathering has started.
    bool add_host_address(const SocketAddr& local);
    /// ICE-TCP: a TCP socket the owner listens on. Adds a passive host candidate at `listen` and an active one
    /// (add_host_tcp_active) on its IP. False if ignored, as for add_host_address.
    bool add_host_tcp_listener(const SocketAddr& listen);
    /// ICE-TCP: an active host candidate (ip:9): the owner can open TCP connections from `ip`.
    bool add_host_tcp_active(const IpAddr& ip);
    /// Starts gathering: announces host candidates and sends Binding requests to the STUN servers.
    void start_gathering(Timestamp now);
    /// Relay hook: a TURN allocation on `server` gave `relayed`; `mapped` is the XOR-MAPPED-ADDRESS the server saw.
    void add_relay_candidate(Timestamp now, const SocketAddr& relayed, const SocketAddr& mapped,
                             const SocketAddr& server);
    /// Keeps gathering "in progress" while an external gatherer (TURN) works.
    void hold_gathering(bool hold);

    // ---- remote side ----
    /// A change of remote credentials after the first set is a remote ICE restart: remote candidates and the check
    /// list are dropped (the selected pair keeps carrying data until a new one is selected).
    void set_remote_credentials(const Credentials& creds);
    Result<void> add_remote_candidate(const Candidate& candidate);
    Result<void> add_remote_candidate(std::string_view sdp);
    void end_of_remote_candidates();

    // ---- commands ----
    /// ICE restart: new local credentials (to be signalled), a new check list, gathering again. The selected pair
    /// keeps carrying data until the new checks select one.
    void restart(Timestamp now);
    void close();
    /// Queues `bytes` on the selected pair (or the previous one during a restart). False if there is none.
    /// The copy goes into a buffer given back with recycle() when there is one.
    bool send(ByteView bytes);
    /// The same without a copy: the Transmit carries this buffer. On false `bytes` is left as it was.
    bool send(std::vector<uint8_t>&& bytes);
    /// Hands back a buffer (a polled Transmit's, once sent) for send(ByteView) to copy into: sending then
    /// allocates nothing. At most kMaxSpareBuffers are kept.
    void recycle(std::vector<uint8_t>&& buffer);
    static constexpr size_t kMaxSpareBuffers = 32;

    // ---- sans-IO plumbing ----
    Input handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, ByteView bytes,
                          Transport transport = Transport::Udp);
    /// The owner's TCP connection for (local, remote) failed to open or closed: its pair fails.
    void handle_tcp_closed(Timestamp now, const SocketAddr& local, const SocketAddr& remote);
    void handle_timeout(Timestamp now);
    std::optional<Transmit> poll_transmit();
    std::optional<Event> poll_event();
    Timestamp poll_timeout() const;

    // ---- state ----
    Role role() const { return role_; }
    ConnectionState state() const { return state_; }
    GatheringState gathering_state() const { return gathering_state_; }
    std::vector<Candidate> local_candidates() const;
    std::vector<Candidate> remote_candidates() const;
    /// Remote mDNS candidates kept aside (the agent cannot resolve them; peer-reflexive discovery stands in).
    const std::vector<Candidate>& unresolved_mdns_candidates() const { return mdns_; }
    struct Route {
        SocketAddr local;
        SocketAddr remote;
        Transport transport = Transport::Udp;
    };
    /// Where data goes: the selected pair, or during an ICE restart the previous one; none once failed or closed.
    std::optional<Route> selected_route() const;
    std::optional<PairStats> selected_pair() const;
    std::vector<PairStats> pair_stats() const;
    const AgentStats& stats() const { return stats_; }
    uint64_t tie_breaker() const { return tie_breaker_; }

private:
    struct Local {
        Candidate cand;
        bool pairable = true; // host and relay: pairs are formed on bases only (RFC 8445 6.1.2.4)
        bool announced = false;
    };
    struct Remote {
        Candidate cand;
    };
    struct Pair {
        size_t local;  // index into locals_ (a base: host or relay)
        size_t remote; // index into remotes_
        std::optional<size_t> mapped_local; // the valid pair's local candidate, if the mapped address differs
        uint64_t priority = 0;
        PairState state = PairState::Frozen;
        bool removed = false;
        bool valid = false;
        bool nominated = false;
        bool use_candidate_sent = false;
        bool sent_controlling = false; // the role our last check claimed (a 487 answer flips away from it)
        bool nominate_on_success = false;
        bool triggered = false;
        std::optional<stun::TransactionId> check_tx;
        /// An earlier check re-sent early because the peer's check arrived while it was in progress (RFC 8445
        /// 7.3.1.4): its response, should it still come, counts too.
        std::optional<stun::TransactionId> superseded_tx;
        uint8_t attempt = 0; // tags responses and timeouts with the check that caused them
        Timestamp first_check_at = Timestamp::minus_infinity();
        PairStats stats;
    };
    enum class Tag : uint8_t { Check = 1, Gather = 2, Consent = 3 };
    struct Gather {
        SocketAddr host;
        SocketAddr server;
    };

    // kind (8 bits) | check-list generation (24 bits) | index (32 bits, of which checks use the top 8 for the
    // pair's attempt): responses to an older generation's checks (before an ICE restart) are recognised and ignored.
    uint64_t make_tag(Tag kind, uint64_t index) const {
        return (uint64_t{static_cast<uint8_t>(kind)} << 56) | (uint64_t{generation_ & 0xFFFFFF} << 32) |
               (index & 0xFFFFFFFF);
    }

    void advance(Timestamp now);
    void emit(Event e) { events_.push_back(std::move(e)); }
    void set_state(ConnectionState s);
    void set_gathering(GatheringState s);
    void check_gathering_complete();
    std::string foundation_for(CandidateType type, const IpAddr& base, const IpAddr& server,
                               Transport transport = Transport::Udp);
    size_t add_local(Candidate cand, bool pairable);
    void announce(size_t local);
    void pair_local_with_remotes(size_t local);
    void pair_remote_with_locals(size_t remote);
    std::optional<size_t> add_pair(size_t local, size_t remote);
    uint64_t compute_pair_priority(const Pair& p) const;
    void recompute_priorities();
    std::optional<size_t> find_pair(const SocketAddr& local_base, const SocketAddr& remote,
                                    Transport transport = Transport::Udp) const;
    std::optional<size_t> find_local_base(const SocketAddr& base, Transport transport = Transport::Udp) const;
    std::optional<size_t> find_remote(const SocketAddr& addr, Transport transport = Transport::Udp) const;
    /// Pairs whose local candidate is TCP passive are never checked on our own initiative: only over a connection
    /// the peer opened (triggered checks).
    bool ordinary_checkable(size_t pair) const;
    stun::TransactionConfig check_transaction(size_t pair, TimeDelta rto) const;
    bool pair_usable(size_t local, size_t remote) const;
    size_t live_pairs() const;

    void start_check(size_t pair, bool use_candidate);
    void send_consent(size_t pair);
    std::vector<uint8_t> build_request(bool use_candidate, uint32_t prflx_priority, stun::TransactionId& id);
    Input handle_stun_request(const stun::Message& msg, const SocketAddr& local, const SocketAddr& remote,
                              Transport transport);
    Input handle_stun_response(const stun::Message& msg, const SocketAddr& local, const SocketAddr& remote,
                               Transport transport);
    void start_gather(const SocketAddr& host);
    void reset_checks();
    bool has_check_work() const;
    uint32_t prflx_priority(size_t local) const;
    void handle_check_response(size_t pair, const stun::Message& msg, const SocketAddr& local,
                               const SocketAddr& remote, Transport transport, TimeDelta rtt);
    void handle_gather_response(const Gather& g, const stun::Message& msg);
    void handle_transaction_timeout(uint64_t tag);
    void send_error(const stun::Message& req, const SocketAddr& local, const SocketAddr& remote, Transport transport,
                    uint16_t code, const std::vector<uint16_t>& unknown = {});
    void on_pair_done(size_t pair);
    void on_nominated(size_t pair);
    void select(size_t pair);
    void maybe_nominate();
    /// When the controlling agent nominates `best` if nothing changes (plus_infinity: not while better pairs wait).
    Timestamp nomination_due(size_t best) const;
    bool may_nominate() const;
    std::optional<size_t> best_valid_pair() const;
    void update_checking_state();
    void cancel_lower_checks();
    void switch_role(Role r);
    bool take_token();
    void count_data(const SocketAddr& local, const SocketAddr& remote, Transport transport, size_t bytes, bool sent);
    TimeDelta randomized_consent_interval();
    TimeDelta lite_disconnected_after() const;

    AgentConfig config_;
    Random& random_;
    Role role_;
    uint64_t tie_breaker_;
    Credentials local_creds_;
    std::optional<Credentials> remote_creds_;
    std::vector<uint8_t> local_key_;
    std::vector<uint8_t> remote_key_;

    Timestamp now_ = Timestamp::minus_infinity();
    ConnectionState state_ = ConnectionState::New;
    GatheringState gathering_state_ = GatheringState::New;
    bool closed_ = false;
    bool gathering_started_ = false;
    bool gathering_held_ = false;
    bool remote_end_of_candidates_ = false;

    std::vector<SocketAddr> host_addresses_;
    std::vector<SocketAddr> tcp_listeners_;
    std::vector<IpAddr> tcp_active_ips_;
    std::vector<Local> locals_;
    std::vector<Remote> remotes_;
    std::vector<Candidate> mdns_;
    std::vector<Pair> pairs_;
    std::deque<size_t> triggered_;
    std::vector<Gather> gathers_;
    size_t gathers_pending_ = 0;
    std::map<std::string, std::string> foundations_;
    uint32_t generation_ = 0;
    uint32_t prflx_counter_ = 0;

    stun::TransactionTable transactions_;
    RingQueue<Transmit> transmits_;
    std::vector<std::vector<uint8_t>> spare_buffers_;
    std::deque<Event> events_;

    Timestamp next_check_ = Timestamp::minus_infinity();
    Timestamp first_valid_at_ = Timestamp::plus_infinity();
    bool nominating_ = false;
    std::optional<size_t> selected_;
    std::optional<Route> previous_route_; // kept for data during an ICE restart
    Timestamp mdns_deadline_ = Timestamp::plus_infinity();
    /// The peer signalled an active TCP candidate and we listen: its connection may still come, so an empty or
    /// failed check list does not mean failed before this.
    Timestamp tcp_passive_deadline_ = Timestamp::plus_infinity();
    Timestamp next_consent_ = Timestamp::plus_infinity();
    Timestamp last_consent_response_ = Timestamp::minus_infinity();
    Timestamp consent_pending_since_ = Timestamp::plus_infinity();

    double tokens_;
    Timestamp tokens_at_ = Timestamp::minus_infinity();
    AgentStats stats_;
};

} // namespace rtcpp::ice
