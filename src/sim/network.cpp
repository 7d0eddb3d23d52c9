#include "sim/network.hpp"

#include <algorithm>
#include <cassert>
#include <tuple>

namespace rtcpp::sim {

GilbertElliott GilbertElliott::from_average(double average, double mean_burst) {
    GilbertElliott ge;
    mean_burst = std::max(mean_burst, 1.0);
    average = std::clamp(average, 0.0, 0.999);
    ge.p_bad_to_good = 1.0 / mean_burst;
    ge.p_good_to_bad = average * ge.p_bad_to_good / (1.0 - average);
    ge.loss_in_good = 0;
    ge.loss_in_bad = 1;
    return ge;
}

double GilbertElliott::average_loss() const {
    const double sum = p_good_to_bad + p_bad_to_good;
    if (sum <= 0) return loss_in_good;
    const double bad = p_good_to_bad / sum;
    return bad * loss_in_bad + (1 - bad) * loss_in_good;
}

NatConfig NatConfig::full_cone() {
    NatConfig c;
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::EndpointIndependent;
    return c;
}
NatConfig NatConfig::restricted_cone() {
    NatConfig c;
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::AddressDependent;
    return c;
}
NatConfig NatConfig::port_restricted_cone() {
    NatConfig c;
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::AddressAndPortDependent;
    return c;
}
NatConfig NatConfig::symmetric() {
    NatConfig c;
    c.mapping = NatMapping::AddressAndPortDependent;
    c.filtering = NatFiltering::AddressAndPortDependent;
    return c;
}

struct Network::Link {
    LinkConfig config;
    LinkStats stats;
    Timestamp busy_until = Timestamp::zero();
    Timestamp last_arrival = Timestamp::zero();
    bool burst_bad = false;
};

struct Network::Nat {
    struct Binding {
        SocketAddr internal;
        std::tuple<SocketAddr, IpAddr, uint16_t> key;
        Timestamp last_outbound;
        std::set<IpAddr> allowed_ips;
        std::set<SocketAddr> allowed_addrs;
    };
    IpAddr public_ip;
    NatConfig config;
    NatStats stats;
    std::map<std::tuple<SocketAddr, IpAddr, uint16_t>, uint16_t> port_by_key;
    std::unordered_map<uint16_t, Binding> by_port;
    uint32_t next_port = 0;

    bool expired(const Binding& b, Timestamp now) const { return now - b.last_outbound > config.binding_timeout; }
    void erase(uint16_t port) {
        auto it = by_port.find(port);
        if (it == by_port.end()) return;
        port_by_key.erase(it->second.key);
        by_port.erase(it);
    }
    std::optional<uint16_t> allocate(uint16_t internal_port, Random& random) {
        if (config.preserve_port && !by_port.count(internal_port) && internal_port != 0) return internal_port;
        for (int attempt = 0; attempt < 65536; ++attempt) {
            uint16_t p;
            if (config.random_ports) {
                p = static_cast<uint16_t>(1024 + random.uniform(65536 - 1024));
            } else {
                p = static_cast<uint16_t>(config.port_base + (next_port++ % (65536u - config.port_base)));
            }
            if (!by_port.count(p)) return p;
        }
        return std::nullopt;
    }
    /// Outbound translation; nullopt when the NAT ran out of ports.
    std::optional<SocketAddr> outbound(const SocketAddr& from, const SocketAddr& to, Timestamp now, Random& random) {
        std::tuple<SocketAddr, IpAddr, uint16_t> key{from, IpAddr(), 0};
        if (config.mapping == NatMapping::AddressDependent) key = {from, to.ip(), 0};
        if (config.mapping == NatMapping::AddressAndPortDependent) key = {from, to.ip(), to.port()};
        uint16_t port;
        auto it = port_by_key.find(key);
        if (it != port_by_key.end() && expired(by_port.at(it->second), now)) {
            ++stats.bindings_expired;
            erase(it->second);
            it = port_by_key.end();
        }
        if (it != port_by_key.end()) {
            port = it->second;
        } else {
            auto p = allocate(from.port(), random);
            if (!p) return std::nullopt;
            port = *p;
            port_by_key[key] = port;
            Binding b;
            b.internal = from;
            b.key = key;
            by_port[port] = std::move(b);
            ++stats.bindings_created;
        }
        Binding& b = by_port.at(port);
        b.last_outbound = now;
        b.allowed_ips.insert(to.ip());
        b.allowed_addrs.insert(to);
        stats.active_bindings = by_port.size();
        return SocketAddr(public_ip, port);
    }
    /// Inbound translation to the internal address; nullopt if filtered or unbound.
    std::optional<SocketAddr> inbound(const SocketAddr& from, uint16_t port, Timestamp now) {
        auto it = by_port.find(port);
        if (it == by_port.end()) {
            ++stats.inbound_no_binding;
            return std::nullopt;
        }
        if (expired(it->second, now)) {
            ++stats.bindings_expired;
            ++stats.inbound_no_binding;
            erase(port);
            stats.active_bindings = by_port.size();
            return std::nullopt;
        }
        const Binding& b = it->second;
        bool allowed = true;
        if (config.filtering == NatFiltering::AddressDependent) allowed = b.allowed_ips.count(from.ip()) > 0;
        if (config.filtering == NatFiltering::AddressAndPortDependent) allowed = b.allowed_addrs.count(from) > 0;
        if (!allowed) {
            ++stats.inbound_filtered;
            return std::nullopt;
        }
        return b.internal;
    }
};

struct Network::Host {
    Endpoint* endpoint = nullptr;
    std::vector<IpAddr> addresses;
    HostOptions options;
    size_t realm = 0;
    bool removed = false;
    Timestamp scheduled_timeout = Timestamp::plus_infinity();
    uint64_t timeout_generation = 0;
    Timestamp spin_time = Timestamp::minus_infinity();
    uint32_t spin_count = 0;
};

struct Network::Event {
    Timestamp at;
    uint64_t seq;
    Stage stage;
    HostId host;
    uint64_t generation;
    size_t action;
    Datagram datagram;
};

bool Network::EventOrder::operator()(const Event& a, const Event& b) const {
    // std heaps are max-heaps: "less" means "later".
    if (a.at != b.at) return a.at > b.at;
    return a.seq > b.seq;
}

Network::Network(uint64_t seed) : random_(seed) {}
Network::~Network() = default;

LinkId Network::add_link(const LinkConfig& config) {
    auto l = std::make_unique<Link>();
    l->config = config;
    links_.push_back(std::move(l));
    return links_.size() - 1;
}

void Network::set_link(LinkId link, const LinkConfig& config) { links_.at(link)->config = config; }
const LinkConfig& Network::link_config(LinkId link) const { return links_.at(link)->config; }
const LinkStats& Network::link_stats(LinkId link) const { return links_.at(link)->stats; }

void Network::schedule_link_change(Timestamp at, LinkId link, const LinkConfig& config) {
    schedule(at, [link, config](Network& n) { n.set_link(link, config); });
}

NatId Network::add_nat(IpAddr public_ip, const NatConfig& config) {
    auto n = std::make_unique<Nat>();
    n->public_ip = public_ip;
    n->config = config;
    nats_.push_back(std::move(n));
    const NatId id = nats_.size() - 1;
    nat_by_ip_[public_ip] = id;
    return id;
}

const NatStats& Network::nat_stats(NatId nat) const { return nats_.at(nat)->stats; }

void Network::nat_rebind(NatId nat) {
    Nat& n = *nats_.at(nat);
    n.port_by_key.clear();
    n.by_port.clear();
    n.stats.active_bindings = 0;
    // Move the port counter on so new bindings get ports the old ones did not use.
    n.next_port += 1000;
}

HostId Network::add_host(Endpoint& endpoint, std::vector<IpAddr> addresses, const HostOptions& options) {
    auto h = std::make_unique<Host>();
    h->endpoint = &endpoint;
    h->addresses = std::move(addresses);
    h->options = options;
    h->realm = options.behind_nat ? *options.behind_nat + 1 : 0;
    hosts_.push_back(std::move(h));
    const HostId id = hosts_.size() - 1;
    for (const auto& ip : hosts_[id]->addresses) host_by_ip_[{hosts_[id]->realm, ip}] = id;
    service(id);
    return id;
}

void Network::remove_host(HostId host) {
    Host& h = *hosts_.at(host);
    h.removed = true;
    for (const auto& ip : h.addresses) {
        auto it = host_by_ip_.find({h.realm, ip});
        if (it != host_by_ip_.end() && it->second == host) host_by_ip_.erase(it);
    }
    ++h.timeout_generation;
}

void Network::schedule(Timestamp at, std::function<void(Network&)> action) {
    actions_.push_back(std::move(action));
    push_event(std::max(at, now_), Stage::Action, 0, Datagram{}, actions_.size() - 1);
}

void Network::wake(HostId host) { service(host); }

void Network::push_event(Timestamp at, Stage stage, HostId host, Datagram&& d, size_t action) {
    Event e{at, next_seq_++, stage, host, 0, action, std::move(d)};
    if (stage == Stage::Timeout) e.generation = hosts_[host]->timeout_generation;
    events_.push(std::move(e));
}

void Network::service(HostId host) {
    Host& h = *hosts_[host];
    if (h.removed) return;
    while (auto d = h.endpoint->poll_transmit()) {
        route_from_host(host, std::move(*d));
        if (h.removed) return;
    }
    Timestamp t = h.endpoint->poll_timeout();
    if (t <= now_) {
        // An endpoint that keeps asking for "now" without making progress would spin forever; let a bounded
        // number of immediate wake-ups through, then push it a microsecond on.
        if (h.spin_time == now_) {
            if (++h.spin_count > 1000) t = now_ + TimeDelta::micros(1);
        } else {
            h.spin_time = now_;
            h.spin_count = 0;
        }
        t = std::max(t, now_);
    }
    if (t == h.scheduled_timeout) return;
    h.scheduled_timeout = t;
    ++h.timeout_generation;
    if (t.is_finite()) push_event(t, Stage::Timeout, host, Datagram{});
}

void Network::drop(const Datagram& d) {
    if (tap_) tap_(now_, TapPoint::Dropped, d);
}

void Network::route_from_host(HostId host, Datagram&& d) {
    ++stats_.datagrams_sent;
    const Host& h = *hosts_[host];
    if (std::find(h.addresses.begin(), h.addresses.end(), d.from.ip()) == h.addresses.end()) {
        ++stats_.bad_source;
        drop(d);
        return;
    }
    if (tap_) tap_(now_, TapPoint::Sent, d);
    admit(h.options.uplink, d.bytes.size(), scratch_arrivals_);
    if (scratch_arrivals_.empty()) {
        drop(d);
        return;
    }
    for (size_t i = 1; i < scratch_arrivals_.size(); ++i) {
        Datagram copy = d;
        push_event(scratch_arrivals_[i], Stage::AfterUplink, host, std::move(copy));
    }
    push_event(scratch_arrivals_[0], Stage::AfterUplink, host, std::move(d));
}

std::optional<HostId> Network::find_host(size_t realm, const IpAddr& ip) const {
    auto it = host_by_ip_.find({realm, ip});
    if (it == host_by_ip_.end()) return std::nullopt;
    return it->second;
}

void Network::after_uplink(HostId src, Datagram&& d) {
    const size_t realm = hosts_[src]->realm;
    if (auto dst = find_host(realm, d.to.ip())) {
        enter_downlink(*dst, std::move(d));
        return;
    }
    if (realm != 0) {
        Nat& nat = *nats_[realm - 1];
        auto mapped = nat.outbound(d.from, d.to, now_, random_);
        if (!mapped) {
            drop(d);
            return;
        }
        d.from = *mapped;
        if (d.to.ip() == nat.public_ip && !nat.config.hairpinning) {
            ++stats_.unroutable;
            drop(d);
            return;
        }
    }
    if (auto dst = find_host(0, d.to.ip())) {
        enter_downlink(*dst, std::move(d));
        return;
    }
    auto nat_it = nat_by_ip_.find(d.to.ip());
    if (nat_it == nat_by_ip_.end()) {
        ++stats_.unroutable;
        drop(d);
        return;
    }
    Nat& nat = *nats_[nat_it->second];
    auto internal = nat.inbound(d.from, d.to.port(), now_);
    if (!internal) {
        drop(d);
        return;
    }
    d.to = *internal;
    auto dst = find_host(nat_it->second + 1, internal->ip());
    if (!dst) {
        ++stats_.unroutable;
        drop(d);
        return;
    }
    enter_downlink(*dst, std::move(d));
}

void Network::enter_downlink(HostId dst, Datagram&& d) {
    admit(hosts_[dst]->options.downlink, d.bytes.size(), scratch_arrivals_);
    if (scratch_arrivals_.empty()) {
        drop(d);
        return;
    }
    for (size_t i = 1; i < scratch_arrivals_.size(); ++i) {
        Datagram copy = d;
        push_event(scratch_arrivals_[i], Stage::AfterDownlink, dst, std::move(copy));
    }
    push_event(scratch_arrivals_[0], Stage::AfterDownlink, dst, std::move(d));
}

void Network::admit(std::optional<LinkId> id, size_t bytes, std::vector<Timestamp>& arrivals) {
    arrivals.clear();
    if (!id) {
        arrivals.push_back(now_);
        return;
    }
    Link& l = *links_[*id];
    const LinkConfig& c = l.config;
    ++l.stats.packets_in;
    Timestamp depart = now_;
    if (c.rate.is_finite() && c.rate.bps() > 0) {
        const DataSize size = DataSize::bytes(static_cast<int64_t>(bytes) + c.overhead_bytes);
        const Timestamp start = std::max(now_, l.busy_until);
        const DataSize backlog = (start - now_) * c.rate;
        if (backlog + size > c.queue) {
            ++l.stats.queue_drops;
            return;
        }
        const TimeDelta queued = start - now_;
        l.stats.max_queue_delay = std::max(l.stats.max_queue_delay, queued);
        l.stats.total_queue_delay += queued;
        depart = start + size / c.rate;
        l.busy_until = depart;
    }
    // Loss happens on the wire, after the packet has used its share of the capacity.
    bool lost = c.loss > 0 && random_.bernoulli(c.loss);
    if (c.burst_loss) {
        const GilbertElliott& ge = *c.burst_loss;
        l.burst_bad = l.burst_bad ? !random_.bernoulli(ge.p_bad_to_good) : random_.bernoulli(ge.p_good_to_bad);
        if (random_.bernoulli(l.burst_bad ? ge.loss_in_bad : ge.loss_in_good)) lost = true;
    }
    if (lost) {
        ++l.stats.lost;
        return;
    }
    TimeDelta delay = c.delay;
    if (c.jitter > TimeDelta::zero()) {
        const double j = random_.gaussian(0, static_cast<double>(c.jitter.us()));
        delay = std::max(TimeDelta::zero(), delay + TimeDelta::micros(static_cast<int64_t>(j)));
    }
    Timestamp arrive = depart + delay;
    if (!c.jitter_reorders) arrive = std::max(arrive, l.last_arrival);
    if (c.reorder > 0 && random_.bernoulli(c.reorder)) {
        arrive += c.reorder_delay;
        ++l.stats.reordered;
    } else {
        l.last_arrival = arrive;
    }
    arrivals.push_back(arrive);
    ++l.stats.packets_delivered;
    l.stats.bytes_delivered += bytes;
    if (c.duplicate > 0 && random_.bernoulli(c.duplicate)) {
        arrivals.push_back(arrive + TimeDelta::micros(1));
        ++l.stats.duplicated;
        ++l.stats.packets_delivered;
        l.stats.bytes_delivered += bytes;
    }
}

bool Network::step() {
    while (!events_.empty()) {
        Event e = std::move(const_cast<Event&>(events_.top()));
        events_.pop();
        if (e.stage == Stage::Timeout) {
            Host& h = *hosts_[e.host];
            if (h.removed || e.generation != h.timeout_generation) continue; // superseded
            h.scheduled_timeout = Timestamp::plus_infinity();
        }
        ++stats_.events;
        now_ = std::max(now_, e.at);
        switch (e.stage) {
        case Stage::AfterUplink:
            after_uplink(e.host, std::move(e.datagram));
            break;
        case Stage::AfterDownlink: {
            Host& h = *hosts_[e.host];
            if (h.removed) {
                drop(e.datagram);
                break;
            }
            ++stats_.datagrams_delivered;
            if (tap_) tap_(now_, TapPoint::Delivered, e.datagram);
            h.endpoint->handle_datagram(now_, e.datagram);
            service(e.host);
            break;
        }
        case Stage::Timeout:
            hosts_[e.host]->endpoint->handle_timeout(now_);
            service(e.host);
            break;
        case Stage::Action: {
            auto action = std::move(actions_[e.action]);
            actions_[e.action] = nullptr;
            if (action) action(*this);
            // An action may have handed commands to endpoints; give all of them a chance to transmit.
            for (HostId i = 0; i < hosts_.size(); ++i) service(i);
            break;
        }
        }
        return true;
    }
    return false;
}

bool Network::next_event_due(Timestamp until) {
    // step() skips superseded timeouts and goes on to the next event, which may lie beyond `until`: drop them here
    // first so the bound is checked against an event that will really be handled.
    while (!events_.empty()) {
        const Event& e = events_.top();
        if (e.stage != Stage::Timeout) break;
        const Host& h = *hosts_[e.host];
        if (!h.removed && e.generation == h.timeout_generation) break;
        events_.pop();
    }
    return !events_.empty() && events_.top().at <= until;
}

void Network::run_until(Timestamp until) {
    while (next_event_due(until)) step();
    now_ = std::max(now_, until);
}

bool Network::run_until(const std::function<bool()>& done, Timestamp limit) {
    if (done()) return true;
    while (next_event_due(limit)) {
        step();
        if (done()) return true;
    }
    now_ = std::max(now_, limit);
    return done();
}

} // namespace rtcpp::sim
