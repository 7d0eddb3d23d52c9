// Hostile STUN at the ICE agent (issue #9): what the agent counts and keeps when flooded. The same floods run against
// a whole Session in tests/e2e/hostile_test.cpp; here the agent's own counters and tables are visible.
#include "ice/agent.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTCPP_ICE_HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RTCPP_ICE_HOSTILE_ASAN)
#define RTCPP_ICE_HOSTILE_ASAN 1
#endif
#ifdef RTCPP_ICE_HOSTILE_ASAN
// From the sanitizer runtime (GCC ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

using namespace rtcpp;
using namespace rtcpp::ice;

namespace {

size_t heap_in_use() {
#ifdef RTCPP_ICE_HOSTILE_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

const SocketAddr kLocal(IpAddr::v4(10, 0, 0, 1), 5000);
const SocketAddr kPeer(IpAddr::v4(10, 0, 0, 2), 6000);
const Credentials kPeerCreds{"peer", "peer-password-0123456789"};

SocketAddr random_source(Random& r) {
    return SocketAddr(IpAddr::v4(r.next_u32() | 0x01000000u), static_cast<uint16_t>(1024 + r.next_u32() % 60000));
}

std::vector<uint8_t> check_from_peer(const Agent& agent, Random& r, std::string_view pwd) {
    stun::Message m(stun::Class::Request, stun::Method::Binding, stun::random_transaction_id(r));
    m.add_string(stun::attr::Username, agent.local_credentials().ufrag + ":" + kPeerCreds.ufrag);
    m.add_u32(stun::attr::Priority, 0x6e0001ff);
    m.add_u64(stun::attr::IceControlling, 1);
    return m.encode(stun::short_term_key(pwd), stun::IntegrityAlgorithm::Sha1, true);
}

struct Fixture {
    Random rng{31};
    Agent agent;
    explicit Fixture(const AgentConfig& cfg = controlled()) : agent(cfg, rng) {
        agent.add_host_address(kLocal);
        agent.start_gathering(Timestamp::zero());
        agent.set_remote_credentials(kPeerCreds);
        Candidate c;
        c.type = CandidateType::Host;
        c.address = c.base = kPeer;
        c.priority = 2130706431;
        c.foundation = "1";
        REQUIRE(agent.add_remote_candidate(c));
        drain();
    }
    static AgentConfig controlled() {
        AgentConfig c;
        c.role = Role::Controlled;
        return c;
    }
    size_t drain() {
        size_t n = 0;
        while (agent.poll_event()) {}
        while (agent.poll_transmit()) ++n;
        return n;
    }
};

} // namespace

TEST_CASE("hostile ICE: 1,000,000 unauthenticated Binding requests at 100,000/s: rate-limited, counted, no state") {
    Fixture f;
    Random r(32);
    std::vector<std::vector<uint8_t>> requests;
    for (int i = 0; i < 64; ++i) {
        stun::Message m(stun::Class::Request, stun::Method::Binding, stun::random_transaction_id(r));
        if (i % 2) m.add_string(stun::attr::Username, f.agent.local_credentials().ufrag + ":x");
        requests.push_back(i % 2 ? m.encode(stun::short_term_key("guess"), stun::IntegrityAlgorithm::Sha1, true)
                                 : m.encode({}, stun::IntegrityAlgorithm::None, true));
    }
    const size_t base = heap_in_use();
    size_t peak = base, replies = 0;
    uint64_t sent = 0, dropped = 0;
    for (int ms = 0; ms < 10000; ++ms) {
        const Timestamp now = Timestamp::seconds(1) + TimeDelta::millis(ms);
        for (int i = 0; i < 100; ++i, ++sent)
            if (f.agent.handle_datagram(now, kLocal, random_source(r), requests[sent % requests.size()]) ==
                Input::Dropped)
                ++dropped;
        if (f.agent.poll_timeout() <= now) f.agent.handle_timeout(now);
        replies += f.drain();
        if (ms % 100 == 0) peak = std::max(peak, heap_in_use());
    }
    const auto& s = f.agent.stats();
    MESSAGE("1,000,000 requests: rate_limited " << s.rate_limited << ", missing_credentials " << s.missing_credentials
                                                << ", bad_integrity " << s.bad_integrity << ", replies " << replies
                                                << ", heap growth " << peak - base << " bytes");
    CHECK(sent == 1000000);
    CHECK(dropped == sent);
    CHECK(s.rate_limited + s.missing_credentials + s.bad_integrity == sent);
    // 50 tokens/s and a burst of 100 over 10 s: at most 600 requests get past the bucket.
    CHECK(s.rate_limited >= sent - 600);
    CHECK(s.missing_credentials + s.bad_integrity <= 600);
    CHECK(f.agent.remote_candidates().size() == 1);
    CHECK(peak - base < 16 * 1024);
    // Replies: 400s to the credential-less half of what passed the bucket, plus the agent's own checks to kPeer.
    CHECK(replies <= 600 + 50);
}

TEST_CASE("hostile ICE: authenticated checks from 10,000 source addresses: prflx candidates and pairs are capped") {
    // An attacker holding the ICE password (a malicious peer, or leaked signalling) sends valid checks from a
    // different source each time. With the unknown-source bucket raised so they all reach authentication, the
    // remote candidate and pair tables still stop at their caps.
    AgentConfig cfg = Fixture::controlled();
    cfg.unknown_source_rate = 1e9;
    cfg.unknown_source_burst = 1e9;
    Fixture f(cfg);
    Random r(33);
    const size_t base = heap_in_use();
    size_t peak = base;
    size_t answered = 0, consumed = 0;
    for (int i = 0; i < 10000; ++i) {
        const Timestamp now = Timestamp::seconds(1) + TimeDelta::millis(i);
        const auto check = check_from_peer(f.agent, r, f.agent.local_credentials().pwd);
        if (f.agent.handle_datagram(now, kLocal, random_source(r), check) == Input::Stun) ++consumed;
        if (f.agent.poll_timeout() <= now) f.agent.handle_timeout(now);
        answered += f.drain();
        if (i % 500 == 0) peak = std::max(peak, heap_in_use());
    }
    const auto& s = f.agent.stats();
    MESSAGE("10,000 authenticated sources: " << f.agent.remote_candidates().size() << " remote candidates, "
                                             << f.agent.pair_stats().size() << " pairs, "
                                             << s.remote_candidates_dropped << " candidates dropped, "
                                             << s.pairs_dropped << " pairs dropped, heap growth " << peak - base
                                             << " bytes");
    CHECK(consumed == 10000);
    CHECK(f.agent.remote_candidates().size() <= cfg.max_remote_candidates);
    CHECK(f.agent.pair_stats().size() <= cfg.max_pairs);
    CHECK(s.remote_candidates_dropped >= 10000 - cfg.max_remote_candidates);
    // Bound: 256 KiB for the capped tables (100 candidates, 100 pairs with their transactions); uncapped, 10,000
    // of each would be megabytes.
    CHECK(peak - base < 256 * 1024);
    CHECK(answered >= 10000); // every authenticated check is answered, even past the cap (RFC 8445 7.3)
    // The real peer is still in the table and its check is answered.
    const auto remotes = f.agent.remote_candidates();
    CHECK(std::any_of(remotes.begin(), remotes.end(), [](const Candidate& c) { return c.address == kPeer; }));
    CHECK(f.agent.handle_datagram(Timestamp::seconds(12), kLocal, kPeer,
                                  check_from_peer(f.agent, r, f.agent.local_credentials().pwd)) == Input::Stun);
    CHECK(f.drain() >= 1);
}
