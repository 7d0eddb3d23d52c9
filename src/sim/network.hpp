// A deterministic simulated network for tests and benchmarks.
//
// Endpoints are sans-IO objects (the same verbs as every rtcpp layer). The network moves their datagrams through
// links (delay, jitter, random and Gilbert-Elliott loss, reordering, duplication, a bottleneck rate with a drop-tail
// queue) and NAT boxes (RFC 4787 mapping and filtering behaviours, binding timeouts), in virtual time. The scheduler
// always handles the earliest pending event: a datagram reaching the next hop, an endpoint's timeout, or a scheduled
// change. Ties are broken by insertion order, and all randomness comes from one seed, so the same seed gives the
// same run, bit for bit.
//
// Path of a datagram from host A to host B:
//   A's uplink -> (A's NAT, outbound) -> (B's NAT, inbound) -> B's downlink -> B
// Hosts in the same address realm (both public, or both behind the same NAT) reach each other directly, still
// through both access links. A NAT translates only when the packet leaves its realm.
#pragma once

#include <rtcpp/random.hpp>
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/units.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <vector>

namespace rtcpp::sim {

struct Datagram {
    SocketAddr from;
    SocketAddr to;
    std::vector<uint8_t> bytes;
};

/// Anything that owns addresses on the simulated network. After every handle_* the network drains poll_transmit()
/// until it returns nullopt, then asks poll_timeout() (Timestamp::plus_infinity() for none).
class Endpoint {
public:
    virtual ~Endpoint() = default;
    virtual void handle_datagram(Timestamp now, const Datagram& datagram) = 0;
    virtual void handle_timeout(Timestamp now) = 0;
    virtual std::optional<Datagram> poll_transmit() = 0;
    virtual Timestamp poll_timeout() = 0;
};

/// Two-state Markov loss (Gilbert-Elliott): bursts of loss as on real wireless and congested paths.
struct GilbertElliott {
    double p_good_to_bad = 0;
    double p_bad_to_good = 1;
    double loss_in_good = 0;
    double loss_in_bad = 1;
    /// A chain whose long-run loss is `average` with bursts of `mean_burst` packets on average (loss 1 in bad).
    static GilbertElliott from_average(double average, double mean_burst);
    double average_loss() const;
};

struct LinkConfig {
    TimeDelta delay = TimeDelta::zero();    ///< one-way propagation delay
    TimeDelta jitter = TimeDelta::zero();   ///< standard deviation of a gaussian added to the delay
    bool jitter_reorders = false;           ///< false: jitter never reorders (arrivals stay FIFO)
    double loss = 0;                        ///< independent random loss probability
    std::optional<GilbertElliott> burst_loss;
    double reorder = 0;                     ///< probability that a packet is held back by reorder_delay
    TimeDelta reorder_delay = TimeDelta::millis(10);
    double duplicate = 0;                   ///< probability that a packet is delivered twice
    DataRate rate = DataRate::infinity();   ///< bottleneck capacity
    DataSize queue = DataSize::bytes(64 * 1500); ///< drop-tail queue limit in front of the bottleneck
    int overhead_bytes = 28;                ///< per-packet IP+UDP overhead counted against the rate
};

struct LinkStats {
    uint64_t packets_in = 0;
    uint64_t packets_delivered = 0;  ///< duplicates included
    uint64_t lost = 0;               ///< random or burst loss
    uint64_t queue_drops = 0;        ///< tail drops at the bottleneck
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
    uint64_t bytes_delivered = 0;
    TimeDelta max_queue_delay = TimeDelta::zero();
    TimeDelta total_queue_delay = TimeDelta::zero(); ///< sum over admitted packets, for the mean
};

enum class NatMapping { EndpointIndependent, AddressDependent, AddressAndPortDependent };
enum class NatFiltering { EndpointIndependent, AddressDependent, AddressAndPortDependent };

struct NatConfig {
    NatMapping mapping = NatMapping::EndpointIndependent;
    NatFiltering filtering = NatFiltering::AddressAndPortDependent;
    TimeDelta binding_timeout = TimeDelta::seconds(120); ///< refreshed by outbound traffic (RFC 4787 REQ-6)
    bool preserve_port = false;     ///< try the internal port first
    bool random_ports = false;      ///< otherwise sequential from port_base
    uint16_t port_base = 40000;
    bool hairpinning = true;

    static NatConfig full_cone();            ///< EIM + EIF
    static NatConfig restricted_cone();      ///< EIM + ADF
    static NatConfig port_restricted_cone(); ///< EIM + APDF
    static NatConfig symmetric();            ///< APDM + APDF
};

struct NatStats {
    uint64_t bindings_created = 0;
    uint64_t bindings_expired = 0;
    uint64_t inbound_filtered = 0;   ///< dropped by the filtering rule
    uint64_t inbound_no_binding = 0; ///< no binding for the destination port (or it expired)
    size_t active_bindings = 0;
};

struct NetworkStats {
    uint64_t events = 0;
    uint64_t datagrams_sent = 0;
    uint64_t datagrams_delivered = 0;
    uint64_t unroutable = 0;       ///< no host or NAT owns the destination
    uint64_t bad_source = 0;       ///< sent from an address the host does not own
};

using LinkId = size_t;
using NatId = size_t;
using HostId = size_t;

struct HostOptions {
    std::optional<LinkId> uplink = std::nullopt;    ///< host -> network; none means an ideal link
    std::optional<LinkId> downlink = std::nullopt;  ///< network -> host
    std::optional<NatId> behind_nat = std::nullopt; ///< the host's addresses are private addresses behind this NAT
};

/// Where a tap saw a datagram.
enum class TapPoint { Sent, Delivered, Dropped };

class Network {
public:
    explicit Network(uint64_t seed = 1);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    Timestamp now() const { return now_; }
    Random& random() { return random_; }

    LinkId add_link(const LinkConfig& config);
    /// Takes effect for packets entering the link from now on (those in flight keep their fate).
    void set_link(LinkId link, const LinkConfig& config);
    const LinkConfig& link_config(LinkId link) const;
    const LinkStats& link_stats(LinkId link) const;
    /// Changes a link's configuration at a given time.
    void schedule_link_change(Timestamp at, LinkId link, const LinkConfig& config);

    NatId add_nat(IpAddr public_ip, const NatConfig& config);
    const NatStats& nat_stats(NatId nat) const;
    /// Forgets every binding now, as a NAT reboot or a mobile handover would: the next outbound packet of each flow
    /// gets a new external port.
    void nat_rebind(NatId nat);

    /// Attaches an endpoint owning `addresses` (the endpoint must outlive the network or be removed first).
    HostId add_host(Endpoint& endpoint, std::vector<IpAddr> addresses, const HostOptions& options = {});
    void remove_host(HostId host);

    /// Runs a callback at a given virtual time (capacity changes, application actions...).
    void schedule(Timestamp at, std::function<void(Network&)> action);
    /// Asks the network to poll this host again now (after the test handed it a command outside any handle_*).
    void wake(HostId host);

    /// Handles the earliest pending event. Returns false if there is none.
    bool step();
    /// Runs every event up to and including `until`, then sets the clock to `until`.
    void run_until(Timestamp until);
    void run_for(TimeDelta duration) { run_until(now_ + duration); }
    /// Runs until `done()` is true (checked after every event) or the clock would pass `limit`. Returns done().
    bool run_until(const std::function<bool()>& done, Timestamp limit);

    /// Observes every datagram leaving an endpoint, reaching one, or dropped anywhere.
    void set_tap(std::function<void(Timestamp, TapPoint, const Datagram&)> tap) { tap_ = std::move(tap); }
    const NetworkStats& stats() const { return stats_; }

private:
    struct Link;
    struct Nat;
    struct Host;
    struct Event;
    struct EventOrder {
        bool operator()(const Event& a, const Event& b) const;
    };
    enum class Stage : uint8_t { AfterUplink, AfterDownlink, Action, Timeout };

    void service(HostId host);
    /// Discards superseded timeouts at the head of the queue; true if the next event is due by `until`.
    bool next_event_due(Timestamp until);
    void route_from_host(HostId host, Datagram&& d);
    void after_uplink(HostId src, Datagram&& d);
    void enter_downlink(HostId dst, Datagram&& d);
    void push_event(Timestamp at, Stage stage, HostId host, Datagram&& d, size_t action = 0);
    /// Runs a datagram through a link: returns the arrival times (none if dropped, two if duplicated).
    void admit(std::optional<LinkId> link, size_t bytes, std::vector<Timestamp>& arrivals);
    std::optional<HostId> find_host(size_t realm, const IpAddr& ip) const;
    void drop(const Datagram& d);

    Timestamp now_ = Timestamp::zero();
    Random random_;
    uint64_t next_seq_ = 0;
    std::vector<std::unique_ptr<Link>> links_;
    std::vector<std::unique_ptr<Nat>> nats_;
    std::vector<std::unique_ptr<Host>> hosts_;
    std::vector<std::function<void(Network&)>> actions_;
    std::priority_queue<Event, std::vector<Event>, EventOrder> events_;
    std::map<std::pair<size_t, IpAddr>, HostId> host_by_ip_;  ///< (realm, ip); realm 0 is public, NAT n is n+1
    std::unordered_map<IpAddr, NatId> nat_by_ip_;
    std::function<void(Timestamp, TapPoint, const Datagram&)> tap_;
    NetworkStats stats_;
    std::vector<Timestamp> scratch_arrivals_;
};

} // namespace rtcpp::sim
