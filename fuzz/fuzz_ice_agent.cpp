// A sequence of datagrams and timer ticks fed to an ICE agent. The input is split into chunks:
//   [u16 length][u8 flags][u8 delay_ms][length bytes]
// flags: bits 0-1 pick the source address, bit 2 the local socket, bit 3 ICE-TCP (with mode bit 5: the chunk
// arrives over TCP on the passive listener or the active candidate, and an empty chunk closes that connection), bit 5
// answers the agent's last request with a
// success response signed with the peer's key, bit 6 re-signs the chunk (if it parses as STUN) with the peer's key,
// bit 7 with the agent's own key, so the fuzzer reaches the logic behind the integrity checks.
#include "ice/agent.hpp"

#include <cstdlib>

using namespace rtcpp;
using namespace rtcpp::ice;

namespace {

const SocketAddr kLocals[2] = {SocketAddr(IpAddr::v4(10, 0, 0, 1), 5000), SocketAddr(IpAddr::v4(10, 0, 0, 9), 5000)};
const SocketAddr kRemotes[4] = {SocketAddr(IpAddr::v4(10, 0, 0, 2), 6000), SocketAddr(IpAddr::v4(10, 0, 0, 3), 6000),
                                SocketAddr(IpAddr::v4(192, 0, 2, 1), 7000),
                                SocketAddr(IpAddr::v4(198, 51, 100, 1), 3478)};
const Credentials kLocalCreds{"lfrg", "local-password-0123456789"};
const Credentials kRemoteCreds{"rfrg", "remote-password-0123456789"};

std::vector<uint8_t> resign(ByteView bytes, const std::string& pwd) {
    auto m = stun::Message::parse(bytes);
    if (!m.ok()) return std::vector<uint8_t>(bytes.begin(), bytes.end());
    return m->encode(stun::short_term_key(pwd), stun::IntegrityAlgorithm::Sha1, true);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteReader r(data, size);
    const uint8_t mode = r.read_u8().value_or(0);
    Random rng(mode);
    AgentConfig cfg;
    cfg.role = (mode & 1) ? Role::Controlled : Role::Controlling;
    cfg.lite = (mode & 2) != 0;
    cfg.policy = (mode & 4) ? TransportPolicy::Relay : TransportPolicy::All;
    cfg.stun_servers = {kRemotes[3]};
    cfg.local_credentials = kLocalCreds;
    cfg.max_pairs = 8;
    cfg.max_remote_candidates = 6;
    Agent agent(cfg, rng);
    agent.add_host_address(kLocals[0]);
    agent.add_host_address(kLocals[1]);
    agent.start_gathering(Timestamp::zero());
    if (mode & 8) agent.add_relay_candidate(Timestamp::zero(), SocketAddr(IpAddr::v4(198, 51, 100, 7), 50000),
                                            SocketAddr(IpAddr::v4(203, 0, 113, 5), 40000), kRemotes[3]);
    agent.set_remote_credentials(kRemoteCreds);
    (void)agent.add_remote_candidate("candidate:1 1 udp 2130706431 10.0.0.2 6000 typ host");
    const SocketAddr tcp_listener(IpAddr::v4(10, 0, 0, 1), 5001);
    const SocketAddr tcp_active(IpAddr::v4(10, 0, 0, 1), kActiveTcpPort);
    const bool tcp = (mode & 32) != 0;
    if (tcp) {
        agent.add_host_tcp_listener(tcp_listener);
        (void)agent.add_remote_candidate("candidate:2 1 tcp 1518214911 10.0.0.2 6001 typ host tcptype passive");
        (void)agent.add_remote_candidate("candidate:3 1 tcp 1518280447 10.0.0.3 9 typ host tcptype active");
    }
    if (mode & 16) agent.end_of_remote_candidates();

    Timestamp now = Timestamp::zero();
    std::optional<Transmit> last_request;
    auto drain = [&] {
        while (auto t = agent.poll_transmit()) {
            auto m = stun::Message::parse(t->bytes);
            if (stun::is_stun(t->bytes) && !m.ok()) std::abort(); // the agent only emits well-formed STUN
            if (m.ok() && m->cls() == stun::Class::Request) last_request = std::move(*t);
        }
        while (agent.poll_event()) {
        }
        const Timestamp next = agent.poll_timeout();
        if (next < now && agent.state() != ConnectionState::Closed) {
            // A deadline in the past is due now; handling it must move it on.
            agent.handle_timeout(now);
        }
    };
    drain();
    int steps = 0;
    while (!r.empty() && steps++ < 256) {
        const auto len = r.read_u16();
        const auto flags = r.read_u8();
        const auto delay = r.read_u8();
        if (!len || !flags || !delay) break;
        const ByteView chunk = r.read_bytes(std::min<size_t>(*len, r.remaining())).value_or(ByteView{});
        now += TimeDelta::millis(*delay * 4);
        const SocketAddr& from = kRemotes[*flags & 3];
        const SocketAddr& to = kLocals[(*flags >> 2) & 1];
        if ((*flags & 0x20) && last_request) {
            auto req = stun::Message::parse(last_request->bytes);
            if (req.ok()) {
                auto resp = req->make_response(stun::Class::SuccessResponse);
                resp.add_xor_address(stun::attr::XorMappedAddress, last_request->local);
                agent.handle_datagram(now, last_request->local, last_request->remote,
                                      resp.encode(stun::short_term_key(kRemoteCreds.pwd),
                                                  stun::IntegrityAlgorithm::Sha1, true),
                                      last_request->transport);
            }
            last_request.reset();
        }
        const bool over_tcp = tcp && (*flags & 0x08);
        const Transport transport = over_tcp ? Transport::Tcp : Transport::Udp;
        const SocketAddr& at = over_tcp ? ((*flags & 0x04) ? tcp_active : tcp_listener) : to;
        if (over_tcp && chunk.empty()) {
            agent.handle_tcp_closed(now, at, from);
        } else if (*flags & 0x80) {
            agent.handle_datagram(now, at, from, resign(chunk, kLocalCreds.pwd), transport);
        } else if (*flags & 0x40) {
            agent.handle_datagram(now, at, from, resign(chunk, kRemoteCreds.pwd), transport);
        } else {
            agent.handle_datagram(now, at, from, chunk, transport);
        }
        drain();
        if (*flags & 0x10) {
            agent.handle_timeout(now);
            drain();
        }
        if (agent.pair_stats().size() > cfg.max_pairs) std::abort();
        if (agent.remote_candidates().size() > cfg.max_remote_candidates) std::abort();
    }
    // Let the timers run out: everything must terminate without spinning.
    Timestamp previous = Timestamp::minus_infinity();
    int repeats = 0;
    for (int i = 0; i < 2000; ++i) {
        const Timestamp next = agent.poll_timeout();
        if (!next.is_finite()) break;
        repeats = next == previous ? repeats + 1 : 0;
        if (repeats > 20) std::abort(); // handle_timeout never moves this deadline on: a busy loop for the owner
        previous = next;
        now = std::max(now, next);
        agent.handle_timeout(now);
        drain();
        if (now > Timestamp::seconds(600)) break;
    }
    return 0;
}
