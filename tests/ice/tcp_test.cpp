// ICE-TCP (RFC 6544): TCP candidates in SDP, their priorities and foundations, the pairing rules, and two agents
// connecting over an in-memory model of TCP connections (each connection a (local, remote) pair on both sides, as
// the owner of real sockets would present them).
#include "ice/agent.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>

using namespace rtcpp;
using namespace rtcpp::ice;

namespace {

const IpAddr kIpA = IpAddr::v4(10, 0, 0, 1);
const IpAddr kIpB = IpAddr::v4(10, 0, 0, 2);

std::vector<Event> drain_events(Agent& a) {
    std::vector<Event> out;
    while (auto e = a.poll_event()) out.push_back(std::move(*e));
    return out;
}

template <class T>
std::vector<T> events_of(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events)
        if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

/// Two agents and a model of the network between them: UDP datagrams are delivered or dropped as told; a TCP
/// Transmit from an active candidate "connects" (an ephemeral port on the active side's IP), one to a passive
/// candidate's address reaches the agent that listens there, and replies go back over the same connection.
struct TcpWorld {
    Random rng{7};
    AgentConfig ca, cb;
    std::unique_ptr<Agent> a, b;
    Timestamp now = Timestamp::zero();
    bool udp_works = false;
    bool drop_next_tcp = false;
    uint16_t next_port = 40000;
    size_t tcp_transmits = 0;
    size_t udp_transmits = 0;
    struct Conn {
        Agent* active;
        SocketAddr active_local;  // ip:9 as the active agent names it
        SocketAddr active_remote; // the passive candidate
        Agent* passive;
        SocketAddr ephemeral;     // what the passive side sees
    };
    std::vector<Conn> conns;
    std::map<SocketAddr, Agent*> listeners; // passive address -> agent
    std::map<SocketAddr, Agent*> udp_hosts;

    TcpWorld() {
        ca.role = Role::Controlling;
        cb.role = Role::Controlled;
        ca.local_credentials = {"aaaa", "a-password-0123456789abc"};
        cb.local_credentials = {"bbbb", "b-password-0123456789abc"};
    }
    void make() {
        a = std::make_unique<Agent>(ca, rng);
        b = std::make_unique<Agent>(cb, rng);
    }
    void listen(Agent& ag, const SocketAddr& addr) {
        REQUIRE(ag.add_host_tcp_listener(addr));
        listeners[addr] = &ag;
    }
    void udp(Agent& ag, const SocketAddr& addr) {
        REQUIRE(ag.add_host_address(addr));
        udp_hosts[addr] = &ag;
    }
    Agent& other(Agent* ag) { return ag == a.get() ? *b : *a; }
    void exchange() {
        a->set_remote_credentials(b->local_credentials());
        b->set_remote_credentials(a->local_credentials());
        a->start_gathering(now);
        b->start_gathering(now);
        for (auto& c : events_of<CandidateGathered>(drain_events(*a))) REQUIRE(b->add_remote_candidate(c.candidate.to_sdp()));
        for (auto& c : events_of<CandidateGathered>(drain_events(*b))) REQUIRE(a->add_remote_candidate(c.candidate.to_sdp()));
        a->end_of_remote_candidates();
        b->end_of_remote_candidates();
    }
    void deliver(Agent& from, const Transmit& t) {
        if (t.transport == Transport::Udp) {
            ++udp_transmits;
            auto it = udp_hosts.find(t.remote);
            if (udp_works && it != udp_hosts.end() && it->second != &from)
                it->second->handle_datagram(now, t.remote, t.local, t.bytes);
            return;
        }
        ++tcp_transmits;
        if (drop_next_tcp) {
            drop_next_tcp = false;
            return;
        }
        for (auto& c : conns) {
            if (c.active == &from && c.active_local == t.local && c.active_remote == t.remote) {
                c.passive->handle_datagram(now, c.active_remote, c.ephemeral, t.bytes, Transport::Tcp);
                return;
            }
            if (c.passive == &from && c.active_remote == t.local && c.ephemeral == t.remote) {
                c.active->handle_datagram(now, c.active_local, c.active_remote, t.bytes, Transport::Tcp);
                return;
            }
        }
        // A new connection: only from an active candidate (port 9) to a listening address.
        auto it = listeners.find(t.remote);
        if (t.local.port() != kActiveTcpPort || it == listeners.end() || it->second == &from) return;
        conns.push_back(Conn{&from, t.local, t.remote, it->second, SocketAddr(t.local.ip(), next_port++)});
        it->second->handle_datagram(now, t.remote, conns.back().ephemeral, t.bytes, Transport::Tcp);
    }
    void run(TimeDelta d) {
        const Timestamp end = now + d;
        while (now <= end) {
            bool did = true;
            while (did) {
                did = false;
                for (Agent* ag : {a.get(), b.get()}) {
                    while (auto t = ag->poll_transmit()) {
                        did = true;
                        deliver(*ag, *t);
                    }
                }
            }
            a->handle_timeout(now);
            b->handle_timeout(now);
            const Timestamp next = std::min(a->poll_timeout(), b->poll_timeout());
            now = std::max(now + TimeDelta::millis(1), std::min(next, end + TimeDelta::millis(1)));
        }
    }
};

} // namespace

TEST_CASE("ICE-TCP candidates: parse and serialize active, passive and so") {
    auto active = parse_candidate("candidate:1 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active");
    REQUIRE(active.ok());
    CHECK(active->transport == Transport::Tcp);
    CHECK(active->tcp_type == TcpType::Active);
    CHECK(active->address == SocketAddr(IpAddr::v4(10, 0, 0, 1), 9));
    CHECK(active->to_sdp() == "candidate:1 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active");
    auto passive = parse_candidate("a=candidate:2 1 TCP 1518214911 10.0.0.1 50000 typ host tcptype passive");
    REQUIRE(passive.ok());
    CHECK(passive->tcp_type == TcpType::Passive);
    CHECK(passive->address.port() == 50000);
    CHECK(passive->to_sdp().find("tcp 1518214911 10.0.0.1 50000 typ host tcptype passive") != std::string::npos);
    auto so = parse_candidate("candidate:3 1 tcp 1 10.0.0.1 6000 typ srflx raddr 10.0.0.9 rport 6001 tcptype so");
    REQUIRE(so.ok());
    CHECK(so->tcp_type == TcpType::So);
    auto back = parse_candidate(so->to_sdp());
    REQUIRE(back.ok());
    CHECK(*back == *so);
    // Port 0 on an active candidate (written by some stacks) means the same as 9.
    auto zero = parse_candidate("candidate:1 1 tcp 1 10.0.0.1 0 typ host tcptype active");
    REQUIRE(zero.ok());
    CHECK(zero->address.port() == kActiveTcpPort);
    CHECK_FALSE(parse_candidate("candidate:1 1 tcp 1 10.0.0.1 0 typ host tcptype passive").ok());
    CHECK_FALSE(parse_candidate("candidate:1 1 tcp 1 10.0.0.1 5 typ host").ok());
    CHECK_FALSE(parse_candidate("candidate:1 1 udp 1 10.0.0.1 5 typ host tcptype active").ok());
    auto udp = parse_candidate("candidate:1 1 udp 1 10.0.0.1 5 typ host");
    REQUIRE(udp.ok());
    CHECK(udp->transport == Transport::Udp);
    CHECK_FALSE(udp->tcp_type);
}

TEST_CASE("ICE-TCP priorities: direction preference inside the local preference, UDP above TCP") {
    const uint16_t lp = local_preference(kIpA, 0);
    const uint32_t udp = candidate_priority(CandidateType::Host, lp);
    const uint32_t act = tcp_candidate_priority(CandidateType::Host, TcpType::Active, lp);
    const uint32_t pas = tcp_candidate_priority(CandidateType::Host, TcpType::Passive, lp);
    const uint32_t so = tcp_candidate_priority(CandidateType::Host, TcpType::So, lp);
    CHECK(udp > act);
    CHECK(act > pas);
    CHECK(pas > so);
    // The direction preference is the top 3 bits of the local preference (RFC 6544 4.2).
    auto direction = [](uint32_t prio) { return ((prio >> 8) & 0xFFFF) >> 13; };
    CHECK(direction(act) == 6);
    CHECK(direction(pas) == 4);
    CHECK(direction(so) == 2);
    // For server-reflexive/relayed TCP candidates so ranks first.
    const uint32_t srflx_so = tcp_local_preference(CandidateType::ServerReflexive, TcpType::So, lp);
    const uint32_t srflx_dir = srflx_so >> 13;
    CHECK(srflx_dir == 6);
    // Even the worst UDP host candidate beats the best TCP host candidate, and so does UDP srflx: type preferences
    // 126 (udp host) > 100 (udp srflx) > 90 (tcp host).
    CHECK(candidate_priority(CandidateType::Host, 0) > tcp_candidate_priority(CandidateType::Host, TcpType::Active, 0xFFFF));
    CHECK(candidate_priority(CandidateType::ServerReflexive, 0) >
          tcp_candidate_priority(CandidateType::Host, TcpType::Active, 0xFFFF));
    // Interface order survives in the other preference.
    CHECK(tcp_candidate_priority(CandidateType::Host, TcpType::Active, local_preference(kIpA, 0)) >
          tcp_candidate_priority(CandidateType::Host, TcpType::Active, local_preference(kIpA, 20)));
}

TEST_CASE("ICE-TCP gathering: a listener gives a passive and an active candidate with their own foundation") {
    Random rng(1);
    AgentConfig cfg;
    Agent a(cfg, rng);
    REQUIRE(a.add_host_address(SocketAddr(kIpA, 5000)));
    REQUIRE(a.add_host_tcp_listener(SocketAddr(kIpA, 5000))); // the same port number on TCP is another socket
    CHECK_FALSE(a.add_host_tcp_listener(SocketAddr(kIpA, 5000)));
    CHECK_FALSE(a.add_host_tcp_listener(SocketAddr(IpAddr::v4_loopback(), 5001))); // no include_loopback
    a.start_gathering(Timestamp::zero());
    auto gathered = events_of<CandidateGathered>(drain_events(a));
    REQUIRE(gathered.size() == 3);
    const Candidate& udp = gathered[0].candidate;
    const Candidate& pas = gathered[1].candidate;
    const Candidate& act = gathered[2].candidate;
    CHECK(udp.transport == Transport::Udp);
    CHECK(pas.tcp_type == TcpType::Passive);
    CHECK(pas.address == SocketAddr(kIpA, 5000));
    CHECK(act.tcp_type == TcpType::Active);
    CHECK(act.address == SocketAddr(kIpA, kActiveTcpPort));
    CHECK(udp.foundation != pas.foundation);
    CHECK(pas.foundation == act.foundation); // same type, base IP and transport (RFC 6544 4.3 leaves tcptype out)
    CHECK(udp.priority > act.priority);
    CHECK(act.priority > pas.priority);
    CHECK(act.to_sdp().find(" tcp ") != std::string::npos);
    CHECK(act.to_sdp().find("10.0.0.1 9 typ host tcptype active") != std::string::npos);
    // Relay-only and ice-lite agents gather no TCP candidates.
    AgentConfig relay;
    relay.policy = TransportPolicy::Relay;
    Agent r(relay, rng);
    CHECK_FALSE(r.add_host_tcp_listener(SocketAddr(kIpA, 5000)));
    AgentConfig lite;
    lite.lite = true;
    Agent l(lite, rng);
    CHECK_FALSE(l.add_host_tcp_listener(SocketAddr(kIpA, 5000)));
}

TEST_CASE("ICE-TCP pairing: active checks passive, never active-active, passive-passive or UDP-TCP") {
    Random rng(2);
    AgentConfig cfg;
    cfg.role = Role::Controlling;
    Agent a(cfg, rng);
    REQUIRE(a.add_host_tcp_listener(SocketAddr(kIpA, 7000)));
    REQUIRE(a.add_host_address(SocketAddr(kIpA, 5000)));
    a.start_gathering(Timestamp::zero());
    drain_events(a);
    a.set_remote_credentials({"rfrg", "remote-password-0123456789"});
    REQUIRE(a.add_remote_candidate("candidate:1 1 tcp 1518280447 10.0.0.2 9 typ host tcptype active"));
    CHECK(a.pair_stats().empty()); // our passive does not check a signalled active; active-active never
    REQUIRE(a.add_remote_candidate("candidate:2 1 tcp 1518214911 10.0.0.2 7001 typ host tcptype passive"));
    auto pairs = a.pair_stats();
    REQUIRE(pairs.size() == 1);
    CHECK(pairs[0].local.tcp_type == TcpType::Active);
    CHECK(pairs[0].remote.tcp_type == TcpType::Passive);
    REQUIRE(a.add_remote_candidate("candidate:3 1 udp 2122260223 10.0.0.2 6000 typ host"));
    pairs = a.pair_stats();
    REQUIRE(pairs.size() == 2); // the UDP remote meets only the UDP local
    for (const auto& p : pairs) {
        const bool same_transport = p.local.transport == p.remote.transport;
        CHECK(same_transport);
    }
    // The UDP pair (higher priority) is checked first, then the TCP one from ip:9, marked as TCP.
    std::vector<Transmit> sent;
    for (int ms = 0; ms <= 200; ms += 10) {
        a.handle_timeout(Timestamp::millis(ms));
        while (auto t = a.poll_transmit()) sent.push_back(std::move(*t));
    }
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].transport == Transport::Udp);
    CHECK(sent[1].transport == Transport::Tcp);
    CHECK(sent[1].local == SocketAddr(kIpA, kActiveTcpPort));
    CHECK(sent[1].remote == SocketAddr(kIpB, 7001));
    // A TCP check is never retransmitted (RFC 6544 7.1); the UDP one is.
    size_t tcp = 0, udp = 0;
    for (int ms = 210; ms <= 7000; ms += 10) {
        a.handle_timeout(Timestamp::millis(ms));
        while (auto t = a.poll_transmit()) (t->transport == Transport::Tcp ? tcp : udp)++;
    }
    CHECK(tcp == 0);
    CHECK(udp > 0);
}

TEST_CASE("ICE-TCP: two agents with only TCP usable connect active -> passive and exchange data") {
    TcpWorld w;
    w.make();
    w.listen(*w.a, SocketAddr(kIpA, 7000));
    w.listen(*w.b, SocketAddr(kIpB, 7000));
    w.udp(*w.a, SocketAddr(kIpA, 5000));
    w.udp(*w.b, SocketAddr(kIpB, 5000));
    w.exchange();
    w.run(TimeDelta::seconds(3));
    // Connected, not completed: the UDP checks (higher priority, unanswered) are still running.
    REQUIRE((w.a->state() == ConnectionState::Connected || w.a->state() == ConnectionState::Completed));
    REQUIRE((w.b->state() == ConnectionState::Connected || w.b->state() == ConnectionState::Completed));
    auto sa = w.a->selected_pair();
    auto sb = w.b->selected_pair();
    REQUIRE(sa);
    REQUIRE(sb);
    CHECK(sa->local.transport == Transport::Tcp);
    CHECK(sb->local.transport == Transport::Tcp);
    // Both sides agree on the connection: A's active end to B's listener (or B's active end to A's listener).
    auto ra = w.a->selected_route();
    auto rb = w.b->selected_route();
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(ra->transport == Transport::Tcp);
    const bool a_active = ra->local.port() == kActiveTcpPort;
    if (a_active) {
        CHECK(ra->remote == SocketAddr(kIpB, 7000));
        CHECK(rb->local == SocketAddr(kIpB, 7000));
        CHECK(sb->remote.type == CandidateType::PeerReflexive); // learnt from the connection
        CHECK(sb->remote.tcp_type == TcpType::Active);
    } else {
        CHECK(rb->local.port() == kActiveTcpPort);
    }
    // Data both ways over the connection.
    const std::vector<uint8_t> hello = {0x17, 0xfe, 0xfd, 1, 2, 3};
    REQUIRE(w.a->send(hello));
    auto t = w.a->poll_transmit();
    REQUIRE(t);
    CHECK(t->transport == Transport::Tcp);
    w.deliver(*w.a, *t);
    REQUIRE(w.b->send(hello));
    auto t2 = w.b->poll_transmit();
    REQUIRE(t2);
    CHECK(t2->transport == Transport::Tcp);
    CHECK(w.a->selected_pair()->bytes_sent == hello.size());
    // Nothing went over UDP successfully (UDP was down), and the UDP checks were tried.
    CHECK(w.udp_transmits > 0);
    CHECK(w.conns.size() >= 1);
}

TEST_CASE("ICE-TCP: with UDP working too, the UDP pair wins") {
    TcpWorld w;
    w.udp_works = true;
    w.make();
    w.listen(*w.a, SocketAddr(kIpA, 7000));
    w.listen(*w.b, SocketAddr(kIpB, 7000));
    w.udp(*w.a, SocketAddr(kIpA, 5000));
    w.udp(*w.b, SocketAddr(kIpB, 5000));
    w.exchange();
    w.run(TimeDelta::seconds(3));
    auto sa = w.a->selected_pair();
    REQUIRE(sa);
    CHECK(sa->local.transport == Transport::Udp);
    CHECK(sa->remote.transport == Transport::Udp);
}

TEST_CASE("ICE-TCP: a lost TCP check is not retransmitted, and a closed connection fails its pair") {
    TcpWorld w;
    w.make();
    w.listen(*w.a, SocketAddr(kIpA, 7000));
    w.b->add_host_tcp_active(kIpB); // B can only connect out; A only listens (its active meets no passive)
    w.exchange();
    w.drop_next_tcp = true; // B's only check is lost (say the connection was refused)
    w.run(TimeDelta::seconds(2));
    CHECK(w.tcp_transmits == 1);
    CHECK(w.b->state() == ConnectionState::Checking);
    w.run(TimeDelta::seconds(8)); // tcp_check_timeout: the pair fails, and with it ICE
    CHECK(w.tcp_transmits == 1);
    CHECK(w.b->state() == ConnectionState::Failed);

    // Again without loss: B connects; then the connection closes under the selected pair.
    TcpWorld v;
    v.make();
    v.listen(*v.a, SocketAddr(kIpA, 7000));
    v.b->add_host_tcp_active(kIpB);
    v.exchange();
    v.run(TimeDelta::seconds(2));
    REQUIRE(v.a->state() == ConnectionState::Completed);
    auto rb = v.b->selected_route();
    REQUIRE(rb);
    v.b->handle_tcp_closed(v.now, rb->local, rb->remote);
    drain_events(*v.b);
    CHECK(v.b->state() == ConnectionState::Disconnected);
    CHECK(v.b->pair_stats()[0].state == PairState::Failed);
}
