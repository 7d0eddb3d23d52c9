#include "ice/agent.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace rtcpp;
using namespace rtcpp::ice;

namespace {

const SocketAddr kLocal(IpAddr::v4(10, 0, 0, 1), 5000);
const SocketAddr kLocal2(IpAddr::v4(10, 0, 0, 9), 5000);
const SocketAddr kRemote(IpAddr::v4(10, 0, 0, 2), 6000);
const SocketAddr kStun(IpAddr::v4(198, 51, 100, 1), 3478);
const Credentials kRemoteCreds{"rfrg", "remote-password-0123456789"};

std::vector<Event> drain_events(Agent& a) {
    std::vector<Event> out;
    while (auto e = a.poll_event()) out.push_back(std::move(*e));
    return out;
}

std::vector<Transmit> drain_transmits(Agent& a) {
    std::vector<Transmit> out;
    while (auto t = a.poll_transmit()) out.push_back(std::move(*t));
    return out;
}

template <class T>
std::vector<T> events_of(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events)
        if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

// A connectivity check as the peer would send it to `agent`.
std::vector<uint8_t> make_check(const Agent& agent, std::optional<uint64_t> controlling,
                                std::optional<uint64_t> controlled, bool use_candidate, uint32_t priority = 12345,
                                std::string_view pwd = {}, uint8_t id_fill = 1) {
    stun::TransactionId id{};
    id.fill(id_fill);
    stun::Message m(stun::Class::Request, stun::Method::Binding, id);
    m.add_string(stun::attr::Username, agent.local_credentials().ufrag + ":" + kRemoteCreds.ufrag);
    m.add_u32(stun::attr::Priority, priority);
    if (controlling) m.add_u64(stun::attr::IceControlling, *controlling);
    if (controlled) m.add_u64(stun::attr::IceControlled, *controlled);
    if (use_candidate) m.add_flag(stun::attr::UseCandidate);
    const auto key = stun::short_term_key(pwd.empty() ? std::string_view(agent.local_credentials().pwd) : pwd);
    return m.encode(key, stun::IntegrityAlgorithm::Sha1, true);
}

Candidate remote_host(const SocketAddr& addr, uint32_t prio = 2130706431, std::string foundation = "9") {
    Candidate c;
    c.type = CandidateType::Host;
    c.address = addr;
    c.base = addr;
    c.priority = prio;
    c.foundation = std::move(foundation);
    return c;
}

} // namespace

TEST_CASE("host candidates: loopback, duplicates and unspecified addresses") {
    Random rng(1);
    AgentConfig cfg;
    Agent a(cfg, rng);
    CHECK(a.add_host_address(kLocal));
    CHECK_FALSE(a.add_host_address(kLocal));
    CHECK_FALSE(a.add_host_address(SocketAddr(IpAddr::v4_loopback(), 5000)));
    CHECK_FALSE(a.add_host_address(SocketAddr(IpAddr::v4_any(), 5000)));
    CHECK_FALSE(a.add_host_address(SocketAddr(IpAddr::v4(10, 0, 0, 3), 0)));
    cfg.include_loopback = true;
    Agent b(cfg, rng);
    CHECK(b.add_host_address(SocketAddr(IpAddr::v4_loopback(), 5000)));
    b.start_gathering(Timestamp::zero());
    auto gathered = events_of<CandidateGathered>(drain_events(b));
    REQUIRE(gathered.size() == 1);
    CHECK(gathered[0].candidate.address.ip().is_loopback());
}

TEST_CASE("credentials come from the injected Random and meet RFC 8445 lengths") {
    Random r1(7), r2(7), r3(8);
    Agent a(AgentConfig{}, r1), b(AgentConfig{}, r2), c(AgentConfig{}, r3);
    CHECK(a.local_credentials() == b.local_credentials());
    CHECK(a.local_credentials() != c.local_credentials());
    CHECK(a.tie_breaker() == b.tie_breaker());
    CHECK(a.local_credentials().ufrag.size() >= 4);
    CHECK(a.local_credentials().pwd.size() >= 22);
}

TEST_CASE("gathering: host, then server-reflexive from a STUN Binding, then complete") {
    Random rng(2);
    AgentConfig cfg;
    cfg.stun_servers = {kStun, SocketAddr(*IpAddr::parse("2001:db8::1"), 3478)};
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.add_host_address(kLocal2);
    a.start_gathering(Timestamp::zero());
    auto ev = drain_events(a);
    CHECK(events_of<CandidateGathered>(ev).size() == 2);
    CHECK(events_of<GatheringComplete>(ev).empty());
    CHECK(a.gathering_state() == GatheringState::Gathering);
    auto tx = drain_transmits(a);
    REQUIRE(tx.size() == 2); // one per host, IPv4 server only
    CHECK(tx[0].remote == kStun);
    CHECK(((tx[0].local == kLocal && tx[1].local == kLocal2) || (tx[0].local == kLocal2 && tx[1].local == kLocal)));

    const SocketAddr mapped(IpAddr::v4(203, 0, 113, 5), 40000);
    for (const auto& t : tx) {
        auto req = stun::Message::parse(t.bytes);
        REQUIRE(req.ok());
        auto resp = req->make_response(stun::Class::SuccessResponse);
        // The second host is not behind a NAT: its mapped address is itself, which is redundant.
        resp.add_xor_address(stun::attr::XorMappedAddress, t.local == kLocal ? mapped : kLocal2);
        CHECK(a.handle_datagram(Timestamp::millis(20), t.local, kStun, resp.encode()) == Input::Stun);
    }
    ev = drain_events(a);
    auto srflx = events_of<CandidateGathered>(ev);
    REQUIRE(srflx.size() == 1);
    CHECK(srflx[0].candidate.type == CandidateType::ServerReflexive);
    CHECK(srflx[0].candidate.address == mapped);
    CHECK(srflx[0].candidate.base == kLocal);
    CHECK(srflx[0].candidate.related == kLocal);
    CHECK(srflx[0].candidate.priority < candidate_priority(CandidateType::Host, 0));
    CHECK(events_of<GatheringComplete>(ev).size() == 1);
    CHECK(a.gathering_state() == GatheringState::Complete);

    // Foundations: distinct for different bases and types.
    auto locals = a.local_candidates();
    REQUIRE(locals.size() == 3);
    CHECK(locals[0].foundation != locals[1].foundation);
    CHECK(locals[0].foundation != locals[2].foundation);
}

TEST_CASE("gathering completes when the STUN server never answers, and hold_gathering delays it") {
    Random rng(3);
    AgentConfig cfg;
    cfg.stun_servers = {kStun};
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.hold_gathering(true);
    a.start_gathering(Timestamp::zero());
    drain_events(a);
    Timestamp now = Timestamp::zero();
    int sends = 0;
    for (int i = 0; i < 50 && a.poll_timeout().is_finite(); ++i) {
        sends += static_cast<int>(drain_transmits(a).size());
        now = a.poll_timeout();
        a.handle_timeout(now);
    }
    CHECK(sends == 3);                                   // Rc 3 for gathering
    CHECK(a.gathering_state() == GatheringState::Gathering); // held by the relay hook
    a.add_relay_candidate(now, SocketAddr(IpAddr::v4(198, 51, 100, 7), 50000),
                          SocketAddr(IpAddr::v4(203, 0, 113, 5), 40000), kStun);
    a.hold_gathering(false);
    auto ev = drain_events(a);
    auto relay = events_of<CandidateGathered>(ev);
    REQUIRE(relay.size() == 1);
    CHECK(relay[0].candidate.type == CandidateType::Relayed);
    CHECK(relay[0].candidate.related == SocketAddr(IpAddr::v4(203, 0, 113, 5), 40000));
    CHECK(relay[0].candidate.to_sdp().find("typ relay raddr 203.0.113.5 rport 40000") != std::string::npos);
    CHECK(events_of<GatheringComplete>(ev).size() == 1);
}

TEST_CASE("pairing: same family only, srflx pruned to its base, frozen per foundation, priorities by role") {
    Random rng(4);
    AgentConfig cfg;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.add_host_address(SocketAddr(*IpAddr::parse("2001:db8::10"), 5000));
    a.start_gathering(Timestamp::zero());
    a.set_remote_credentials(kRemoteCreds);
    REQUIRE(a.add_remote_candidate(remote_host(kRemote, 2130706431, "1")).ok());
    REQUIRE(a.add_remote_candidate(remote_host(SocketAddr(IpAddr::v4(10, 0, 0, 3), 6000), 2130706175, "1")).ok());
    auto pairs = a.pair_stats();
    REQUIRE(pairs.size() == 2); // the IPv6 host pairs with nothing
    for (const auto& p : pairs) CHECK(p.local.address == kLocal);
    // Same local and remote foundations: the first pair waits, the other is frozen.
    CHECK(((pairs[0].state == PairState::Waiting && pairs[1].state == PairState::Frozen)));
    // Controlling: G is the local priority.
    const uint32_t lp = pairs[0].local.priority;
    CHECK(pairs[0].priority == pair_priority(lp, 2130706431));
    // A redundant remote candidate (same address) does not make a second pair.
    REQUIRE(a.add_remote_candidate(remote_host(kRemote, 5, "7")).ok());
    CHECK(a.pair_stats().size() == 2);
    // SDP form.
    REQUIRE(a.add_remote_candidate("candidate:3 1 udp 1694498815 10.0.0.4 6000 typ srflx raddr 0.0.0.0 rport 0").ok());
    CHECK(a.pair_stats().size() == 3);
    CHECK_FALSE(a.add_remote_candidate("candidate:garbage").ok());
}

TEST_CASE("caps: remote candidates and check-list size") {
    Random rng(5);
    AgentConfig cfg;
    cfg.max_remote_candidates = 3;
    cfg.max_pairs = 2;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.set_remote_credentials(kRemoteCreds);
    for (uint8_t i = 0; i < 3; ++i)
        REQUIRE(a.add_remote_candidate(remote_host(SocketAddr(IpAddr::v4(10, 0, 1, i), 6000), 1000u + i,
                                                   std::to_string(i)))
                    .ok());
    auto r = a.add_remote_candidate(remote_host(SocketAddr(IpAddr::v4(10, 0, 1, 9), 6000)));
    CHECK_FALSE(r.ok());
    CHECK(a.remote_candidates().size() == 3);
    auto pairs = a.pair_stats();
    CHECK(pairs.size() == 2);
    CHECK(a.stats().pairs_dropped >= 1);
    CHECK(a.stats().remote_candidates_dropped == 1);
    // The best two remote candidates kept their pairs.
    for (const auto& p : pairs) CHECK(p.remote.priority >= 1001u);
}

TEST_CASE("an authenticated check is answered from the socket it arrived on and creates a peer-reflexive remote") {
    Random rng(6);
    AgentConfig cfg;
    cfg.role = Role::Controlled;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    drain_events(a);
    auto check = make_check(a, uint64_t{1}, std::nullopt, false, 777);
    CHECK(a.handle_datagram(Timestamp::millis(1), kLocal, kRemote, check) == Input::Stun);
    auto tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    CHECK(tx[0].local == kLocal);
    CHECK(tx[0].remote == kRemote);
    auto resp = stun::Message::parse(tx[0].bytes);
    REQUIRE(resp.ok());
    CHECK(resp->cls() == stun::Class::SuccessResponse);
    CHECK(resp->xor_mapped_address() == kRemote);
    CHECK(resp->has_fingerprint());
    CHECK(resp->verify_integrity(stun::short_term_key(a.local_credentials().pwd)) == stun::IntegrityCheck::Ok);
    auto remotes = a.remote_candidates();
    REQUIRE(remotes.size() == 1);
    CHECK(remotes[0].type == CandidateType::PeerReflexive);
    CHECK(remotes[0].priority == 777);
    auto pairs = a.pair_stats();
    REQUIRE(pairs.size() == 1);
    CHECK(pairs[0].requests_received == 1);
    CHECK(pairs[0].responses_sent == 1);

    // The triggered check waits for the remote credentials, then goes out with the right attributes.
    CHECK(drain_transmits(a).empty());
    a.set_remote_credentials(kRemoteCreds);
    a.handle_timeout(a.poll_timeout());
    tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    auto req = stun::Message::parse(tx[0].bytes);
    REQUIRE(req.ok());
    CHECK(req->username() == kRemoteCreds.ufrag + ":" + a.local_credentials().ufrag);
    CHECK(req->priority() == ((110u << 24) | (a.local_candidates()[0].priority & 0xFFFFFF)));
    CHECK(req->get_u64(stun::attr::IceControlled) == a.tie_breaker());
    CHECK_FALSE(req->has(stun::attr::UseCandidate));
    CHECK(req->verify_integrity(stun::short_term_key(kRemoteCreds.pwd)) == stun::IntegrityCheck::Ok);
    CHECK(req->fingerprint_ok());
    CHECK(req->has_fingerprint());
}

TEST_CASE("bad input is dropped and counted") {
    Random rng(7);
    Agent a(AgentConfig{}, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    const Timestamp t = Timestamp::millis(5);

    SUBCASE("wrong password") {
        auto bad = make_check(a, std::nullopt, uint64_t{1}, false, 1, "not-the-password-at-all");
        CHECK(a.handle_datagram(t, kLocal, kRemote, bad) == Input::Dropped);
        CHECK(a.stats().bad_integrity == 1);
    }
    SUBCASE("broken fingerprint") {
        auto bad = make_check(a, std::nullopt, uint64_t{1}, false);
        bad.back() ^= 0xFF;
        CHECK(a.handle_datagram(t, kLocal, kRemote, bad) == Input::Dropped);
        CHECK(a.stats().bad_fingerprint == 1);
    }
    SUBCASE("unknown username") {
        stun::TransactionId id{};
        stun::Message m(stun::Class::Request, stun::Method::Binding, id);
        m.add_string(stun::attr::Username, "zzzz:rfrg");
        auto bytes = m.encode(stun::short_term_key(a.local_credentials().pwd), stun::IntegrityAlgorithm::Sha1, true);
        CHECK(a.handle_datagram(t, kLocal, kRemote, bytes) == Input::Dropped);
        CHECK(a.stats().unknown_username == 1);
    }
    SUBCASE("no credentials: 400") {
        stun::TransactionId id{};
        stun::Message m(stun::Class::Request, stun::Method::Binding, id);
        CHECK(a.handle_datagram(t, kLocal, kRemote, m.encode()) == Input::Dropped);
        CHECK(a.stats().missing_credentials == 1);
        auto tx = drain_transmits(a);
        REQUIRE(tx.size() == 1);
        auto resp = stun::Message::parse(tx[0].bytes);
        REQUIRE(resp.ok());
        CHECK(resp->error_code()->code == 400);
    }
    SUBCASE("unknown comprehension-required attribute: 420 listing it") {
        stun::TransactionId id{};
        stun::Message m(stun::Class::Request, stun::Method::Binding, id);
        m.add_string(stun::attr::Username, a.local_credentials().ufrag + ":rfrg");
        const uint8_t v[4] = {1, 2, 3, 4};
        m.add_raw(0x0042, ByteView(v, 4));
        auto bytes = m.encode(stun::short_term_key(a.local_credentials().pwd), stun::IntegrityAlgorithm::Sha1, true);
        CHECK(a.handle_datagram(t, kLocal, kRemote, bytes) == Input::Stun);
        auto tx = drain_transmits(a);
        REQUIRE(tx.size() == 1);
        auto resp = stun::Message::parse(tx[0].bytes);
        REQUIRE(resp.ok());
        CHECK(resp->error_code()->code == 420);
        CHECK(resp->unknown_attributes() == std::vector<uint16_t>{0x0042});
        CHECK(a.remote_candidates().empty());
    }
    SUBCASE("truncated STUN and stray responses") {
        auto good = make_check(a, std::nullopt, uint64_t{1}, false);
        // Keep a STUN-looking header but break an attribute length.
        good[22] = 0x7F;
        CHECK(a.handle_datagram(t, kLocal, kRemote, good) == Input::Dropped);
        CHECK(a.stats().stun_malformed == 1);
        stun::TransactionId id{};
        id.fill(0xAB);
        stun::Message resp(stun::Class::SuccessResponse, stun::Method::Binding, id);
        CHECK(a.handle_datagram(t, kLocal, kRemote, resp.encode()) == Input::Dropped);
        CHECK(a.stats().stray_responses == 1);
    }
    SUBCASE("a request on a socket that is no candidate") {
        auto check = make_check(a, std::nullopt, uint64_t{1}, false);
        CHECK(a.handle_datagram(t, kLocal2, kRemote, check) == Input::Dropped);
        CHECK(drain_transmits(a).empty());
    }
    CHECK(a.remote_candidates().empty());
}

TEST_CASE("unauthenticated requests from unknown sources are rate-limited and allocate nothing") {
    Random rng(8);
    AgentConfig cfg;
    cfg.unknown_source_rate = 10;
    cfg.unknown_source_burst = 20;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    const Timestamp t = Timestamp::seconds(1);
    for (uint16_t i = 0; i < 1000; ++i) {
        stun::TransactionId id{};
        stun::Message m(stun::Class::Request, stun::Method::Binding, id);
        CHECK(a.handle_datagram(t, kLocal, SocketAddr(IpAddr::v4(192, 0, 2, static_cast<uint8_t>(i)), 1000 + i),
                                m.encode()) == Input::Dropped);
    }
    CHECK(a.stats().rate_limited == 980);
    CHECK(a.stats().missing_credentials == 20);
    CHECK(drain_transmits(a).size() == 20);
    CHECK(a.remote_candidates().empty());
    CHECK(a.pair_stats().empty());
    // Tokens come back with time.
    stun::Message m(stun::Class::Request, stun::Method::Binding, stun::TransactionId{});
    a.handle_datagram(t + TimeDelta::millis(500), kLocal, kRemote, m.encode());
    CHECK(a.stats().missing_credentials == 21);
}

TEST_CASE("role conflict on received checks (RFC 8445 7.3.1.1)") {
    Random rng(9);
    AgentConfig cfg;
    cfg.role = Role::Controlling;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    drain_events(a);
    const uint64_t tb = a.tie_breaker();
    REQUIRE(tb > 0);
    REQUIRE(tb < UINT64_MAX);

    // Ours is larger: answer 487 and keep the role.
    CHECK(a.handle_datagram(Timestamp::millis(1), kLocal, kRemote, make_check(a, tb - 1, std::nullopt, false)) ==
          Input::Stun);
    auto tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    auto resp = stun::Message::parse(tx[0].bytes);
    REQUIRE(resp.ok());
    CHECK(resp->cls() == stun::Class::ErrorResponse);
    CHECK(resp->error_code()->code == 487);
    CHECK(a.role() == Role::Controlling);

    // Theirs is larger: switch to controlled and answer with success.
    CHECK(a.handle_datagram(Timestamp::millis(2), kLocal, kRemote,
                            make_check(a, tb + 1, std::nullopt, false, 1, {}, 2)) == Input::Stun);
    tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    CHECK(stun::Message::parse(tx[0].bytes)->cls() == stun::Class::SuccessResponse);
    CHECK(a.role() == Role::Controlled);
    auto roles = events_of<RoleChanged>(drain_events(a));
    REQUIRE(roles.size() == 1);
    CHECK(roles[0].role == Role::Controlled);
    CHECK(a.stats().role_conflicts == 2);
}

TEST_CASE("Ta paces the checks and a 487 answer flips the role away from the one the check claimed") {
    Random rng(10);
    AgentConfig cfg;
    cfg.ta = TimeDelta::millis(50);
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    a.set_remote_credentials(kRemoteCreds);
    for (uint8_t i = 1; i <= 3; ++i)
        REQUIRE(a.add_remote_candidate(remote_host(SocketAddr(IpAddr::v4(10, 0, 1, i), 6000), 100u + i,
                                                   std::to_string(i)))
                    .ok());
    std::vector<int64_t> times;
    std::vector<Transmit> sent;
    Timestamp now = Timestamp::zero();
    while (times.size() < 3) {
        a.handle_timeout(now);
        for (auto& t : drain_transmits(a)) {
            times.push_back(now.ms());
            sent.push_back(std::move(t));
        }
        now = a.poll_timeout();
    }
    CHECK(times == std::vector<int64_t>{0, 50, 100});
    // Highest priority first.
    CHECK(sent[0].remote == SocketAddr(IpAddr::v4(10, 0, 1, 3), 6000));

    auto req = stun::Message::parse(sent[0].bytes);
    REQUIRE(req.ok());
    CHECK(req->has(stun::attr::IceControlling));
    auto err = req->make_response(stun::Class::ErrorResponse);
    err.add_error_code(487, "Role Conflict");
    auto bytes = err.encode(stun::short_term_key(kRemoteCreds.pwd), stun::IntegrityAlgorithm::Sha1, true);
    CHECK(a.handle_datagram(Timestamp::millis(110), kLocal, sent[0].remote, bytes) == Input::Stun);
    CHECK(a.role() == Role::Controlled);
    // The same answer a second time (a retransmission's) cannot flip it back.
    CHECK(a.handle_datagram(Timestamp::millis(111), kLocal, sent[0].remote, bytes) == Input::Dropped);
    CHECK(a.role() == Role::Controlled);
    // A forged answer (wrong key) is dropped and counted.
    auto forged = req->make_response(stun::Class::SuccessResponse);
    forged.add_xor_address(stun::attr::XorMappedAddress, kLocal);
    auto req2 = stun::Message::parse(sent[1].bytes);
    REQUIRE(req2.ok());
    auto forged2 = req2->make_response(stun::Class::SuccessResponse);
    CHECK(a.handle_datagram(Timestamp::millis(112), kLocal, sent[1].remote,
                            forged2.encode(stun::short_term_key("wrong"), stun::IntegrityAlgorithm::Sha1, true)) ==
          Input::Dropped);
    CHECK(a.stats().bad_integrity == 1);
}

TEST_CASE("ice-lite: answers, never checks, selects on USE-CANDIDATE") {
    Random rng(11);
    AgentConfig cfg;
    cfg.lite = true;
    cfg.role = Role::Controlling; // ignored: lite is always controlled
    Agent a(cfg, rng);
    CHECK(a.role() == Role::Controlled);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    a.set_remote_credentials(kRemoteCreds);
    REQUIRE(a.add_remote_candidate(remote_host(kRemote)).ok());
    a.handle_timeout(Timestamp::seconds(1));
    CHECK(drain_transmits(a).empty());
    CHECK(a.poll_timeout() == Timestamp::plus_infinity());
    drain_events(a);
    // (selected at 2 s below)
    CHECK(a.handle_datagram(Timestamp::seconds(2), kLocal, kRemote, make_check(a, uint64_t{5}, std::nullopt, true)) ==
          Input::Stun);
    CHECK(drain_transmits(a).size() == 1);
    auto ev = drain_events(a);
    auto sel = events_of<SelectedPairChanged>(ev);
    REQUIRE(sel.size() == 1);
    CHECK(sel[0].remote.address == kRemote);
    CHECK(a.state() == ConnectionState::Connected);
    CHECK(a.stats().checks_sent == 0);
    // Data goes over the selected pair.
    const uint8_t payload[] = {23, 254, 253};
    CHECK(a.send(ByteView(payload, 3)));
    auto tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    CHECK(tx[0].local == kLocal);
    CHECK(tx[0].remote == kRemote);
    CHECK(a.selected_pair()->bytes_sent == 3);

    // The peer's consent checks keep it connected; when they stop: disconnected after 9 s, failed after 30 s.
    a.handle_datagram(Timestamp::seconds(6), kLocal, kRemote,
                      make_check(a, uint64_t{5}, std::nullopt, false, 1, {}, 7));
    drain_transmits(a);
    a.handle_timeout(Timestamp::seconds(14));
    CHECK(a.state() == ConnectionState::Connected);
    CHECK(a.poll_timeout() == Timestamp::seconds(15));
    a.handle_timeout(Timestamp::seconds(15));
    CHECK(a.state() == ConnectionState::Disconnected);
    a.handle_datagram(Timestamp::seconds(16), kLocal, kRemote,
                      make_check(a, uint64_t{5}, std::nullopt, false, 1, {}, 8));
    CHECK(a.state() == ConnectionState::Connected);
    a.handle_timeout(Timestamp::seconds(46));
    CHECK(a.state() == ConnectionState::Failed);
    CHECK(a.poll_timeout() == Timestamp::plus_infinity());
}

TEST_CASE("non-STUN datagrams are returned as data (and as events when asked)") {
    Random rng(12);
    AgentConfig cfg;
    cfg.data_events = true;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    const uint8_t dtls[] = {22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(a.handle_datagram(Timestamp::zero(), kLocal, kRemote, ByteView(dtls, sizeof dtls)) == Input::Data);
    auto data = events_of<DataReceived>(drain_events(a));
    REQUIRE(data.size() == 1);
    CHECK(data[0].remote == kRemote);
    CHECK(data[0].bytes.size() == sizeof dtls);
    CHECK_FALSE(a.send(ByteView(dtls, 3))); // nothing selected yet
}

TEST_CASE("relay hook: checks leave from the relayed address, relay-only ignores hosts") {
    Random rng(13);
    AgentConfig cfg;
    cfg.policy = TransportPolicy::Relay;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    const SocketAddr relayed(IpAddr::v4(198, 51, 100, 7), 50000);
    a.add_relay_candidate(Timestamp::zero(), relayed, SocketAddr(IpAddr::v4(203, 0, 113, 5), 40000), kStun);
    auto gathered = events_of<CandidateGathered>(drain_events(a));
    REQUIRE(gathered.size() == 1);
    CHECK(gathered[0].candidate.type == CandidateType::Relayed);
    a.set_remote_credentials(kRemoteCreds);
    REQUIRE(a.add_remote_candidate(remote_host(kRemote)).ok());
    a.handle_timeout(Timestamp::millis(1));
    auto tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    CHECK(tx[0].local == relayed);
    CHECK(tx[0].remote == kRemote);
    // A check arriving on the host socket is not answered; through the relay it is.
    CHECK(a.handle_datagram(Timestamp::millis(2), kLocal, kRemote, make_check(a, std::nullopt, uint64_t{1}, false)) ==
          Input::Dropped);
    CHECK(a.handle_datagram(Timestamp::millis(3), relayed, kRemote,
                            make_check(a, std::nullopt, uint64_t{1}, false, 1, {}, 3)) == Input::Stun);
    tx = drain_transmits(a);
    REQUIRE(tx.size() == 1);
    CHECK(tx[0].local == relayed);
}

TEST_CASE("remote mDNS candidates are kept aside and never paired") {
    Random rng(14);
    AgentConfig cfg;
    cfg.max_mdns_candidates = 2;
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.set_remote_credentials(kRemoteCreds);
    CHECK(a.add_remote_candidate("candidate:1 1 udp 2122260223 aaaa-bbbb.local 5000 typ host").ok());
    CHECK(a.add_remote_candidate("candidate:1 1 udp 2122260223 cccc-dddd.local 5000 typ host").ok());
    CHECK_FALSE(a.add_remote_candidate("candidate:1 1 udp 2122260223 eeee-ffff.local 5000 typ host").ok());
    CHECK(a.unresolved_mdns_candidates().size() == 2);
    CHECK(a.pair_stats().empty());
    CHECK(a.remote_candidates().empty());
    // Component 2 (no rtcp-mux) is ignored.
    CHECK(a.add_remote_candidate("candidate:1 2 udp 2122260223 10.0.0.5 5001 typ host").ok());
    CHECK(a.remote_candidates().empty());
}

TEST_CASE("only mDNS remote candidates: no stall, failed after the grace period without peer checks") {
    Random rng(16);
    AgentConfig cfg;
    cfg.mdns_failure_grace = TimeDelta::seconds(10);
    Agent a(cfg, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    a.set_remote_credentials(kRemoteCreds);
    REQUIRE(a.add_remote_candidate("candidate:1 1 udp 2122260223 aaaa-bbbb.local 5000 typ host").ok());
    a.end_of_remote_candidates();
    a.handle_timeout(Timestamp::seconds(1));
    CHECK(a.state() != ConnectionState::Failed);
    CHECK(a.poll_timeout() == Timestamp::seconds(10));
    a.handle_timeout(a.poll_timeout());
    CHECK(a.state() == ConnectionState::Failed);
    CHECK(a.poll_timeout() == Timestamp::plus_infinity());
}

TEST_CASE("close stops everything") {
    Random rng(15);
    Agent a(AgentConfig{}, rng);
    a.add_host_address(kLocal);
    a.start_gathering(Timestamp::zero());
    a.close();
    CHECK(a.state() == ConnectionState::Closed);
    CHECK(a.poll_timeout() == Timestamp::plus_infinity());
    CHECK(a.handle_datagram(Timestamp::zero(), kLocal, kRemote, make_check(a, std::nullopt, uint64_t{1}, false)) ==
          Input::Dropped);
    CHECK_FALSE(a.add_remote_candidate(remote_host(kRemote)).ok());
}
