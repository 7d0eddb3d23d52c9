// turn-relay: relayed throughput of the TURN client through coturn and through rtcpp's own TurnServer, both over
// real UDP sockets on 127.0.0.1 (one thread drives client, server and peer), plus the sans-IO path with no sockets.
// 1200-byte datagrams, a window of 64 in flight, ChannelData and Send indications, client->peer and peer->client.
// Usage: rtcpp-bench turn-relay [seconds-per-run (default 1)]
#include "bench.hpp"

#include "stun/turn_client.hpp"
#include "stun/turn_server.hpp"

#include <rtcpp/peer_connection.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace {

using namespace rtcpp;
using namespace rtcpp::stun;

constexpr size_t kPayload = 1200;
constexpr uint64_t kWindow = 64;

Timestamp clock_now() {
    using namespace std::chrono;
    return Timestamp::micros(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

sockaddr_in to_sa(const SocketAddr& a) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port());
    std::memcpy(&sa.sin_addr, a.ip().data(), 4);
    return sa;
}

SocketAddr from_sa(const sockaddr_in& sa) { return SocketAddr(IpAddr::v4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)); }

int udp_bind(const SocketAddr& at) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in sa = to_sa(at);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    return fd;
}

SocketAddr local_of(int fd) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return from_sa(sa);
}

void send_to(int fd, const SocketAddr& to, const uint8_t* data, size_t size) {
    const sockaddr_in sa = to_sa(to);
    sendto(fd, data, size, 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

/// coturn on loopback, as in tests/interop/turn_coturn_test.cpp.
struct Coturn {
    pid_t pid = -1;
    std::string dir;
    uint16_t port = 0;
    bool start() {
        char tmpl[] = "/tmp/rtcpp-bench-coturn-XXXXXX";
        if (!mkdtemp(tmpl)) return false;
        dir = tmpl;
        port = static_cast<uint16_t>(40000 + (getpid() % 200) * 100);
        // Relay ports above Linux's ephemeral range (32768-60999), where the benchmark's own sockets never are:
        // a collision makes coturn answer 508 (no relay port).
        const int relay_min = 61000 + (getpid() % 4) * 1000;
        std::vector<std::string> args = {"turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                                         "--listening-port=" + std::to_string(port), "--no-tls", "--no-dtls",
                                         "--min-port=" + std::to_string(relay_min),
                                         "--max-port=" + std::to_string(relay_min + 999), "--fingerprint", "--lt-cred-mech",
                                         "--user=bench:benchpass", "--realm=bench.local", "--allow-loopback-peers",
                                         "--no-cli", "--no-multicast-peers", "--log-file=" + dir + "/log",
                                         "--simple-log"};
        pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            freopen("/dev/null", "w", stdout);
            freopen("/dev/null", "w", stderr);
            execvp("turnserver", argv.data());
            _exit(127);
        }
        if (pid < 0) return false;
        for (int i = 0; i < 100; ++i) { // ready when a Binding is answered
            const int fd = udp_bind(SocketAddr(IpAddr::v4_loopback(), 0));
            Random r(1);
            const auto req = Message(Class::Request, Method::Binding, random_transaction_id(r)).encode();
            send_to(fd, SocketAddr(IpAddr::v4_loopback(), port), req.data(), req.size());
            pollfd p{fd, POLLIN, 0};
            const bool ok = poll(&p, 1, 100) == 1;
            close(fd);
            if (ok) return true;
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return false;
            }
        }
        return false;
    }
    ~Coturn() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            int status = 0;
            waitpid(pid, &status, 0);
        }
        if (!dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }
};

/// rtcpp's TurnServer on real sockets: the listening socket and one socket per relayed address.
struct OwnServer {
    explicit OwnServer(Random& r) : random(r) {
        listen_fd = udp_bind(SocketAddr(IpAddr::v4_loopback(), 0));
        local_by_fd[listen_fd] = local_of(listen_fd);
        TurnServerConfig c;
        c.listen = {local_of(listen_fd)};
        c.relay_ipv4 = IpAddr::v4_loopback();
        c.min_port = static_cast<uint16_t>(45000 + (getpid() % 100) * 100);
        c.max_port = static_cast<uint16_t>(c.min_port + 99);
        c.realm = "bench.local";
        c.users = {{"bench", "benchpass"}};
        c.allow_loopback_peers = true;
        server = std::make_unique<TurnServer>(c, random);
    }
    ~OwnServer() {
        close(listen_fd);
        for (auto& [a, fd] : relay_fds) close(fd);
    }
    SocketAddr addr() const { return server->config().listen.front(); }
    void add_relay(const SocketAddr& relayed) {
        relay_fds[relayed] = udp_bind(relayed);
        local_by_fd[relay_fds[relayed]] = relayed;
    }
    void flush() {
        while (auto t = server->poll_transmit()) {
            const int fd = t->from == addr() ? listen_fd : relay_fds.count(t->from) ? relay_fds[t->from] : -1;
            if (fd >= 0) send_to(fd, t->to, t->bytes.data(), t->bytes.size());
        }
    }
    Random& random;
    int listen_fd = -1;
    std::map<SocketAddr, int> relay_fds;
    std::map<int, SocketAddr> local_by_fd; ///< no getsockname per datagram
    std::unique_ptr<TurnServer> server;
};

struct Rig {
    TurnClient* client;
    int client_fd;
    int peer_fd;
    SocketAddr peer;
    SocketAddr relayed;
    OwnServer* own = nullptr;
    uint64_t client_received = 0;
    uint64_t peer_received = 0;

    void step(int timeout_ms) {
        std::vector<pollfd> fds{{client_fd, POLLIN, 0}, {peer_fd, POLLIN, 0}};
        if (own) {
            fds.push_back({own->listen_fd, POLLIN, 0});
            for (auto& [a, fd] : own->relay_fds) fds.push_back({fd, POLLIN, 0});
        }
        poll(fds.data(), fds.size(), timeout_ms);
        const Timestamp now = clock_now();
        uint8_t buf[65536];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        for (int i = 0; i < 256; ++i) {
            const ssize_t n = recv(client_fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            client->handle_datagram(now, ByteView(buf, static_cast<size_t>(n)));
        }
        while (recv(peer_fd, buf, sizeof buf, 0) > 0) ++peer_received;
        if (own) {
            for (size_t i = 2; i < fds.size(); ++i) {
                for (int k = 0; k < 256; ++k) {
                    len = sizeof from;
                    const ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
                    if (n < 0) break;
                    own->server->handle_datagram(now, from_sa(from), own->local_by_fd[fds[i].fd],
                                                 ByteView(buf, static_cast<size_t>(n)));
                }
            }
            own->flush();
        }
        if (client->poll_timeout() <= now) client->handle_timeout(now);
        flush();
    }
    void flush() {
        while (auto b = client->poll_transmit()) send(client_fd, b->data(), b->size(), 0);
        while (auto e = client->poll_event()) {
            if (std::holds_alternative<TurnPeerData>(*e)) ++client_received;
            if (auto* a = std::get_if<TurnAllocated>(&*e)) {
                relayed = a->relayed;
                if (own) own->add_relay(a->relayed);
            }
        }
    }
    bool run_until(const std::function<bool()>& done, double seconds) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < end) {
            if (done()) return true;
            step(1);
        }
        return done();
    }
    /// Datagrams per second through the relay in one direction, window-limited, for `seconds`.
    double measure(bool up, double seconds) {
        const std::vector<uint8_t> payload(kPayload, 0x5A);
        uint64_t sent = 0;
        const uint64_t base = up ? peer_received : client_received;
        auto received = [&] { return (up ? peer_received : client_received) - base; };
        const auto t0 = std::chrono::steady_clock::now();
        auto last_progress = t0;
        uint64_t last_count = 0;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (std::chrono::duration<double>(now - t0).count() >= seconds) break;
            // Lost datagrams would stall the window for good: after 20 ms without progress, forget them.
            if (received() != last_count) {
                last_count = received();
                last_progress = now;
            } else if (now - last_progress > std::chrono::milliseconds(20)) {
                sent = received();
                last_progress = now;
            }
            while (sent - received() < kWindow) {
                if (up) {
                    (void)client->send_to(clock_now(), peer, payload);
                } else {
                    send_to(peer_fd, relayed, payload.data(), payload.size());
                }
                ++sent;
            }
            flush();
            step(1);
        }
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return static_cast<double>(received()) / wall;
    }
};

bool setup(Rig& rig, TurnClient& client, bool channel) {
    if (!client.allocate(clock_now()).ok()) return false;
    rig.flush();
    if (!rig.run_until([&] { return client.state() != TurnState::Allocating; }, 3) ||
        client.state() != TurnState::Allocated)
        return false;
    (void)client.create_permission(clock_now(), rig.peer.ip());
    if (channel) (void)client.bind_channel(clock_now(), rig.peer);
    rig.flush();
    return rig.run_until([&] { return client.has_permission(rig.peer.ip()) && (!channel || client.channel_of(rig.peer)); },
                         3);
}

void report_runs(bench::Reporter& r, const std::string& source, const SocketAddr& server, OwnServer* own,
                 double seconds) {
    for (bool channel : {true, false}) {
        Random random(7);
        TurnClientConfig c;
        c.server = server;
        c.username = "bench";
        c.password = "benchpass";
        c.auto_channel = channel;
        TurnClient client(c, random);
        const int cfd = udp_bind(SocketAddr(IpAddr::v4_loopback(), 0));
        const sockaddr_in sa = to_sa(server);
        connect(cfd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        const int pfd = udp_bind(SocketAddr(IpAddr::v4_loopback(), 0));
        Rig rig{&client, cfd, pfd, local_of(pfd), {}, own};
        const std::string mode = channel ? "channeldata" : "indications";
        if (!setup(rig, client, channel)) {
            r.note("turn-relay: allocation through " + source + " failed");
        } else {
            for (bool up : {true, false}) {
                const double pps = rig.measure(up, seconds);
                const std::string dir = up ? "client_to_peer" : "peer_to_client";
                r.figure("turn_relay_" + mode + "_" + dir + "_pps", pps, "datagrams/s", source);
                r.figure("turn_relay_" + mode + "_" + dir + "_mbps", pps * kPayload * 8 / 1e6, "Mbit/s", source);
            }
        }
        close(cfd);
        close(pfd);
    }
}

/// The sans-IO path alone: client -> server -> peer and back, no sockets, no kernel.
void report_memory(bench::Reporter& r) {
    Random rs(1), rc(2);
    const SocketAddr server_addr(IpAddr::v4(192, 0, 2, 1), 3478);
    const SocketAddr client_addr(IpAddr::v4(192, 0, 2, 2), 5000);
    const SocketAddr peer(IpAddr::v4(192, 0, 2, 3), 6000);
    TurnServerConfig sc;
    sc.listen = {server_addr};
    sc.relay_ipv4 = IpAddr::v4(192, 0, 2, 1);
    sc.users = {{"bench", "benchpass"}};
    TurnServer server(sc, rs);
    TurnClientConfig cc;
    cc.server = server_addr;
    cc.username = "bench";
    cc.password = "benchpass";
    TurnClient client(cc, rc);
    Timestamp now = Timestamp::seconds(1);
    uint64_t to_peer = 0, to_client = 0;
    auto pump = [&] {
        for (int i = 0; i < 10; ++i) {
            while (auto b = client.poll_transmit()) server.handle_datagram(now, client_addr, server_addr, *b);
            bool any = false;
            while (auto t = server.poll_transmit()) {
                any = true;
                if (t->to == client_addr) client.handle_datagram(now, t->bytes);
                else ++to_peer;
            }
            while (auto e = client.poll_event()) to_client += std::holds_alternative<TurnPeerData>(*e);
            if (!any) break;
        }
    };
    (void)client.allocate(now);
    pump();
    const std::vector<uint8_t> payload(kPayload, 1);
    (void)client.send_to(now, peer, payload);
    pump();
    const SocketAddr relayed = *client.relayed_address();
    const int n = 200000;
    to_peer = to_client = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        (void)client.send_to(now, peer, payload);
        while (auto b = client.poll_transmit()) server.handle_datagram(now, client_addr, server_addr, *b);
        while (auto t = server.poll_transmit()) ++to_peer;
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.figure("turn_sansio_channeldata_client_to_peer_pps", static_cast<double>(to_peer) / wall, "datagrams/s");
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        server.handle_datagram(now, peer, relayed, payload);
        while (auto t = server.poll_transmit()) client.handle_datagram(now, t->bytes);
        while (auto e = client.poll_event()) to_client += std::holds_alternative<TurnPeerData>(*e);
    }
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.figure("turn_sansio_channeldata_peer_to_client_pps", static_cast<double>(to_client) / wall, "datagrams/s");
}

int run(bench::Reporter& r, const std::vector<std::string>& args) {
    const double seconds = args.empty() ? 1.0 : std::stod(args[0]);
    report_memory(r);
    {
        Random random(3);
        OwnServer own(random);
        report_runs(r, "rtcpp", own.addr(), &own, seconds);
    }
    Coturn coturn;
    if (!coturn.start()) {
        r.note("turn-relay: turnserver (coturn) not installed or did not start; coturn figures skipped");
        return 0;
    }
    report_runs(r, "coturn", SocketAddr(IpAddr::v4_loopback(), coturn.port), nullptr, seconds);
    return 0;
}

// ---- ice-connect: time to ICE connected for two PeerConnections over 127.0.0.1, host candidates and through coturn

/// createOffer to both ICE agents connected (candidates trickled), in ms; nullopt if it did not connect in 10 s.
std::optional<double> time_to_connected(const rtcpp::Configuration& config) {
    auto a = rtcpp::PeerConnection::create(config);
    auto b = rtcpp::PeerConnection::create(config);
    if (!a || !b) return std::nullopt;
    auto& pa = **a;
    auto& pb = **b;
    std::atomic<int> connected{0};
    std::mutex m;
    bool ready = false; // candidates wait until the peer has a remote description
    std::vector<rtcpp::IceCandidate> for_a, for_b;
    auto deliver = [&](rtcpp::PeerConnection& to, std::vector<rtcpp::IceCandidate>& early, const rtcpp::IceCandidate& c) {
        {
            std::lock_guard l(m);
            if (!ready) {
                early.push_back(c);
                return;
            }
        }
        (void)to.add_ice_candidate(c);
    };
    pa.on_local_candidate([&](const rtcpp::IceCandidate& c) { deliver(pb, for_b, c); });
    pb.on_local_candidate([&](const rtcpp::IceCandidate& c) { deliver(pa, for_a, c); });
    auto on_ice = [&](rtcpp::IceConnectionState s) {
        if (s == rtcpp::IceConnectionState::Connected) ++connected;
    };
    pa.on_ice_connection_state_change(on_ice);
    pb.on_ice_connection_state_change(on_ice);
    const auto t0 = std::chrono::steady_clock::now();
    if (!pa.create_data_channel("x")) return std::nullopt;
    auto offer = pa.create_offer();
    if (!offer || !pa.set_local_description(*offer) || !pb.set_remote_description(*offer)) return std::nullopt;
    auto answer = pb.create_answer();
    if (!answer || !pb.set_local_description(*answer) || !pa.set_remote_description(*answer)) return std::nullopt;
    std::vector<rtcpp::IceCandidate> early_a, early_b;
    {
        // Never call into a PeerConnection under this lock: its callbacks (on the loop thread) take it too.
        std::lock_guard l(m);
        ready = true;
        early_a.swap(for_a);
        early_b.swap(for_b);
    }
    for (const auto& c : early_a) (void)pa.add_ice_candidate(c);
    for (const auto& c : early_b) (void)pb.add_ice_candidate(c);
    const auto deadline = t0 + std::chrono::seconds(10);
    while (connected.load() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    pa.close();
    pb.close();
    if (connected.load() < 2) return std::nullopt;
    return ms;
}

void report_connect(bench::Reporter& r, const std::string& name, const rtcpp::Configuration& config, int runs,
                    const std::string& source) {
    std::vector<double> t;
    int failed = 0;
    for (int i = 0; i < runs; ++i) {
        // Fresh client ports every run: coturn keeps a deallocated 5-tuple for a moment and answers an Allocate
        // from a reused port with 437 (allocation mismatch), which back-to-back runs would otherwise hit.
        rtcpp::Configuration c = config;
        c.port_range_begin = static_cast<uint16_t>(20000 + (i % 1000) * 8);
        c.port_range_end = static_cast<uint16_t>(c.port_range_begin + 7);
        if (auto ms = time_to_connected(c)) t.push_back(*ms);
        else ++failed;
    }
    if (t.empty()) {
        r.note(name + ": no run connected");
        return;
    }
    std::sort(t.begin(), t.end());
    r.figure(name + "_median", t[t.size() / 2], "ms", source);
    r.figure(name + "_p90", t[std::min(t.size() - 1, t.size() * 9 / 10)], "ms", source);
    r.figure(name + "_max", t.back(), "ms", source);
    if (failed) r.figure(name + "_failed", failed, "runs", source);
}

int run_connect(bench::Reporter& r, const std::vector<std::string>& args) {
    const int runs = args.empty() ? 20 : std::max(1, std::atoi(args[0].c_str()));
    rtcpp::Configuration host;
    host.include_loopback = true;
    host.bind_address = IpAddr::v4_loopback();
    report_connect(r, "ice_connect_host", host, runs, "rtcpp");
    Coturn coturn;
    if (!coturn.start()) {
        r.note("ice-connect: turnserver (coturn) not installed or did not start; relay figures skipped");
        return 0;
    }
    for (const char* transport : {"udp", "tcp"}) {
        rtcpp::Configuration relay = host;
        relay.ice_transport_policy = rtcpp::IceTransportPolicy::Relay;
        relay.ice_servers.push_back(rtcpp::IceServer{
            {"turn:127.0.0.1:" + std::to_string(coturn.port) + "?transport=" + transport}, "bench", "benchpass"});
        report_connect(r, std::string("ice_connect_relay_") + transport, relay, runs, "rtcpp via coturn");
    }
    return 0;
}

} // namespace

RTCPP_BENCHMARK("ice-connect",
                "time from createOffer to both ICE agents connected over 127.0.0.1: host candidates, and relay-only "
                "through coturn over UDP and TCP [RUNS]",
                run_connect);

RTCPP_BENCHMARK("turn-relay", "TURN relayed throughput over 127.0.0.1: rtcpp's TurnServer beside coturn (1200 B)",
                run);
