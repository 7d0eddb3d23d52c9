// The TURN client against coturn (Debian package `coturn`), over real sockets on 127.0.0.1.
//
// The test starts `turnserver` itself (long-term credentials, loopback peers allowed, a TLS listener with a
// self-signed certificate made here with `openssl req -x509`), waits until it answers, and stops it at exit
// (SIGTERM, waitpid; the child also gets SIGTERM if this process dies). coturn is started with a 6-second maximum
// allocation lifetime and 4-second nonces, so every allocation here lives through refreshes and 438 retries.
// If turnserver is not installed the test fails and says so: CI installs it (scripts/install-deps.sh interop).
#include "stun/message.hpp"
#include "stun/turn_client.hpp"

#include <rtcpp/peer_connection.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::stun;

namespace {

constexpr const char* kUser = "test";
constexpr const char* kPassword = "testpass";
constexpr const char* kRealm = "test.local";
constexpr int kMaxLifetimeSeconds = 6;
constexpr int kNonceSeconds = 4;

Timestamp clock_now() {
    using namespace std::chrono;
    return Timestamp::micros(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::stringstream ss(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(ss, dir, ':'))
        if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

sockaddr_in to_sockaddr(const SocketAddr& a) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port());
    std::memcpy(&sa.sin_addr, a.ip().data(), 4);
    return sa;
}

SocketAddr from_sockaddr(const sockaddr_in& sa) {
    uint32_t host = ntohl(sa.sin_addr.s_addr);
    return SocketAddr(IpAddr::v4(host), ntohs(sa.sin_port));
}

SocketAddr local_of(int fd) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return from_sockaddr(sa);
}

bool port_free(uint16_t port) {
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        const int fd = socket(AF_INET, type, 0);
        const sockaddr_in sa = to_sockaddr(SocketAddr(IpAddr::v4_loopback(), port));
        const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
        close(fd);
        if (!ok) return false;
    }
    return true;
}

int udp_socket() {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in sa = to_sockaddr(SocketAddr(IpAddr::v4_loopback(), 0));
    bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    return fd;
}

int tcp_connect(const SocketAddr& to) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in sa = to_sockaddr(to);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/// One coturn process for the whole test program, stopped by the static destructor (or PDEATHSIG on a crash).
class Coturn {
public:
    static Coturn* get(std::string& why) {
        static std::unique_ptr<Coturn> instance;
        static std::string error;
        static bool tried = false;
        if (!tried) {
            tried = true;
            auto c = std::unique_ptr<Coturn>(new Coturn());
            error = c->start();
            if (error.empty()) instance = std::move(c);
        }
        why = error;
        return instance.get();
    }
    ~Coturn() { stop(); }

    SocketAddr udp() const { return SocketAddr(IpAddr::v4_loopback(), port); }
    SocketAddr tls() const { return SocketAddr(IpAddr::v4_loopback(), tls_port); }
    std::string cert_path() const { return dir + "/cert.pem"; }
    std::string log_tail() const {
        std::ifstream in(dir + "/turnserver.log");
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
    }

    uint16_t port = 0, tls_port = 0, min_relay = 0, max_relay = 0;

private:
    Coturn() = default;

    std::string start() {
        if (!on_path("turnserver"))
            return "turnserver is not installed: install the Debian package coturn (apt-get install -y coturn; "
                   "scripts/install-deps.sh interop does it)";
        if (!on_path("openssl")) return "openssl (the command) is not installed";
        char tmpl[] = "/tmp/rtcpp-coturn-XXXXXX";
        if (!mkdtemp(tmpl)) return "mkdtemp failed";
        dir = tmpl;
        const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
                                dir + "/key.pem -out " + dir + "/cert.pem -days 1 -subj /CN=localhost >" + dir +
                                "/openssl.log 2>&1";
        if (std::system(cmd.c_str()) != 0) return "openssl req -x509 failed";
        // Ports: a pid-derived block, checked free (several test programs may run at once).
        for (int attempt = 0; attempt < 50 && port == 0; ++attempt) {
            const uint16_t base = static_cast<uint16_t>(
                20000 + ((static_cast<unsigned>(getpid()) * 7919u + static_cast<unsigned>(attempt) * 131u) % 350u) * 100u);
            bool ok = true;
            for (uint16_t p = base; p < base + 2 && ok; ++p) ok = port_free(p);
            for (uint16_t p = base + 10; p < base + 60 && ok; ++p) ok = port_free(p);
            if (ok) {
                port = base;
                tls_port = static_cast<uint16_t>(base + 1);
                min_relay = static_cast<uint16_t>(base + 10);
                max_relay = static_cast<uint16_t>(base + 59);
            }
        }
        if (port == 0) return "no free port block found on 127.0.0.1";
        std::vector<std::string> args = {"turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                                         "--listening-port=" + std::to_string(port),
                                         "--tls-listening-port=" + std::to_string(tls_port),
                                         "--min-port=" + std::to_string(min_relay),
                                         "--max-port=" + std::to_string(max_relay), "--fingerprint", "--lt-cred-mech",
                                         std::string("--user=") + kUser + ":" + kPassword,
                                         std::string("--realm=") + kRealm, "--cert=" + dir + "/cert.pem",
                                         "--pkey=" + dir + "/key.pem", "--allow-loopback-peers", "--no-cli",
                                         "--no-multicast-peers", "--log-file=stdout", "--simple-log",
                                         "--max-allocate-lifetime=" + std::to_string(kMaxLifetimeSeconds),
                                         "--stale-nonce=" + std::to_string(kNonceSeconds)};
        const std::string log = dir + "/turnserver.log";
        pid = fork();
        if (pid < 0) return "fork failed";
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execvp("turnserver", argv.data());
            _exit(127);
        }
        // Ready when TCP, TLS and UDP (a Binding answered) all respond.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return "turnserver exited at start; its log:\n" + log_tail();
            }
            const int a = tcp_connect(udp());
            const int b = tcp_connect(tls());
            if (a >= 0) close(a);
            if (b >= 0) close(b);
            if (a >= 0 && b >= 0 && binding_answered()) return "";
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return "turnserver did not start listening within 10 s; its log:\n" + log_tail();
    }

    bool binding_answered() const {
        const int fd = udp_socket();
        Random r(1);
        Message req(Class::Request, Method::Binding, random_transaction_id(r));
        const auto bytes = req.encode({}, IntegrityAlgorithm::None, true);
        const sockaddr_in sa = to_sockaddr(udp());
        sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        pollfd p{fd, POLLIN, 0};
        const bool ok = poll(&p, 1, 200) == 1;
        close(fd);
        return ok;
    }

    void stop() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            int status = 0;
            bool gone = false;
            for (int i = 0; i < 300 && !gone; ++i) {
                if (waitpid(pid, &status, WNOHANG) == pid) gone = true;
                else std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (!gone) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
            }
            pid = -1;
        }
        if (!dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }

    std::string dir;
    pid_t pid = -1;
};

Coturn& coturn() {
    std::string why;
    Coturn* c = Coturn::get(why);
    if (!c) FAIL("cannot run the coturn interop test: " << why);
    return *c;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

/// A TurnClient on its own socket (UDP, or a TCP connection for TCP/TLS).
struct Client {
    Client(TurnTransport transport, std::string password = kPassword, bool auto_channel = true,
           TlsClientConfig tls = {})
        : random(next_seed()) {
        TurnClientConfig c;
        c.tls = std::move(tls);
        c.transport = transport;
        c.server = transport == TurnTransport::Tls ? coturn().tls() : coturn().udp();
        c.username = kUser;
        c.password = std::move(password);
        c.auto_channel = auto_channel;
        c.software = "rtcpp-interop";
        if (transport == TurnTransport::Udp) {
            fd = udp_socket();
            const sockaddr_in sa = to_sockaddr(c.server);
            connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        } else {
            fd = tcp_connect(c.server);
            REQUIRE(fd >= 0);
        }
        local = local_of(fd);
        turn = std::make_unique<TurnClient>(c, random);
    }
    ~Client() {
        if (fd >= 0) close(fd);
    }
    static uint64_t next_seed() {
        static uint64_t seed = 100;
        return ++seed;
    }
    void flush() {
        while (auto b = turn->poll_transmit()) {
            size_t off = 0;
            while (off < b->size()) {
                const ssize_t n = send(fd, b->data() + off, b->size() - off, MSG_NOSIGNAL);
                if (n <= 0) break;
                off += static_cast<size_t>(n);
            }
        }
        while (auto e = turn->poll_event()) {
            if (auto* d = std::get_if<TurnPeerData>(&*e)) received.push_back(*d);
            if (auto* f = std::get_if<TurnFailed>(&*e)) failure = f->error;
            if (std::holds_alternative<TurnClosed>(*e)) closed = true;
            events.push_back(std::move(*e));
        }
    }
    bool has_data(const std::string& text) const {
        for (const auto& d : received)
            if (d.bytes == bytes_of(text)) return true;
        return false;
    }

    Random random;
    int fd = -1;
    SocketAddr local;
    std::unique_ptr<TurnClient> turn;
    std::vector<TurnEvent> events;
    std::vector<TurnPeerData> received;
    std::optional<Error> failure;
    bool closed = false;
};

/// A plain UDP socket acting as a peer of the relay.
struct Peer {
    Peer() : fd(udp_socket()), local(local_of(fd)) {}
    ~Peer() { close(fd); }
    void send(const SocketAddr& to, const std::string& text) {
        const sockaddr_in sa = to_sockaddr(to);
        sendto(fd, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    }
    bool has(const std::string& text, const SocketAddr& from) const {
        for (const auto& [f, b] : received)
            if (f == from && b == bytes_of(text)) return true;
        return false;
    }
    int fd;
    SocketAddr local;
    std::vector<std::pair<SocketAddr, std::vector<uint8_t>>> received;
};

/// Drives clients and peers over their sockets until `done` or the time limit. Reads TCP in small pieces so the
/// client's stream reassembly is exercised on real chunking.
bool run(std::vector<Client*> clients, std::vector<Peer*> peers, const std::function<bool()>& done, double seconds) {
    const Timestamp deadline = clock_now() + TimeDelta::seconds_f(seconds);
    for (auto* c : clients) c->flush();
    for (;;) {
        Timestamp now = clock_now();
        for (auto* c : clients) {
            if (c->turn->poll_timeout() <= now) c->turn->handle_timeout(now);
            c->flush();
        }
        if (done()) return true;
        if (now >= deadline) return false;
        Timestamp wake = deadline;
        for (auto* c : clients) wake = std::min(wake, c->turn->poll_timeout());
        const int wait_ms = static_cast<int>(std::clamp<int64_t>((wake - now).ms() + 1, 0, 50));
        std::vector<pollfd> fds;
        for (auto* c : clients) fds.push_back({c->fd, POLLIN, 0});
        for (auto* p : peers) fds.push_back({p->fd, POLLIN, 0});
        if (poll(fds.data(), fds.size(), wait_ms) <= 0) continue;
        now = clock_now();
        uint8_t buf[65536];
        for (size_t i = 0; i < clients.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            Client& c = *clients[i];
            const bool stream = c.turn->config().transport != TurnTransport::Udp;
            const ssize_t n = recv(c.fd, buf, stream ? 1000 : sizeof buf, MSG_DONTWAIT);
            if (n > 0) c.turn->handle_datagram(now, ByteView(buf, static_cast<size_t>(n)));
            c.flush();
        }
        for (size_t i = 0; i < peers.size(); ++i) {
            if (!(fds[clients.size() + i].revents & POLLIN)) continue;
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n = recvfrom(peers[i]->fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                       &len);
            if (n >= 0)
                peers[i]->received.emplace_back(from_sockaddr(from),
                                                std::vector<uint8_t>(buf, buf + static_cast<size_t>(n)));
        }
    }
}

bool allocate(Client& c) {
    REQUIRE(c.turn->allocate(clock_now()).ok());
    run({&c}, {}, [&] { return c.turn->state() != TurnState::Allocating; }, 5);
    if (c.failure) MESSAGE("allocation failed: " << c.failure->message);
    return c.turn->state() == TurnState::Allocated;
}

} // namespace

TEST_CASE("coturn: STUN binding returns the mapped address") {
    Coturn& server = coturn();
    const int fd = udp_socket();
    const SocketAddr local = local_of(fd);
    Random r(7);
    Message req(Class::Request, Method::Binding, random_transaction_id(r));
    const auto bytes = req.encode({}, IntegrityAlgorithm::None, true);
    const sockaddr_in sa = to_sockaddr(server.udp());
    sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    pollfd p{fd, POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    uint8_t buf[2048];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    close(fd);
    REQUIRE(n > 0);
    auto resp = Message::parse(ByteView(buf, static_cast<size_t>(n)));
    REQUIRE(resp.ok());
    CHECK(resp->cls() == Class::SuccessResponse);
    CHECK(resp->transaction_id() == req.transaction_id());
    CHECK(resp->has_fingerprint());
    CHECK(resp->fingerprint_ok());
    REQUIRE(resp->xor_mapped_address().has_value());
    CHECK(*resp->xor_mapped_address() == local);
    CHECK(local.ip() == IpAddr::v4_loopback());
}

TEST_CASE("coturn: UDP allocation, data both ways via Send/Data indications, then via ChannelData") {
    coturn();
    Client a(TurnTransport::Udp, kPassword, /*auto_channel=*/false);
    Peer peer;
    REQUIRE(allocate(a));
    const SocketAddr relayed = *a.turn->relayed_address();
    CHECK(relayed.ip() == IpAddr::v4_loopback());
    CHECK(relayed.port() >= coturn().min_relay);
    CHECK(relayed.port() <= coturn().max_relay);
    CHECK(a.turn->mapped_address() == a.local);

    REQUIRE(a.turn->send_to(clock_now(), peer.local, bytes_of("indication to peer")).ok());
    CHECK(run({&a}, {&peer}, [&] { return peer.has("indication to peer", relayed); }, 3));
    peer.send(relayed, "indication to client");
    CHECK(run({&a}, {&peer}, [&] { return a.has_data("indication to client"); }, 3));
    CHECK(a.turn->stats().send_indications >= 1);
    CHECK(a.turn->stats().data_indications >= 1);
    CHECK(a.received.back().peer == peer.local);

    REQUIRE(a.turn->bind_channel(clock_now(), peer.local).ok());
    CHECK(run({&a}, {&peer}, [&] { return a.turn->channel_of(peer.local).has_value(); }, 3));
    REQUIRE(a.turn->send_to(clock_now(), peer.local, bytes_of("channel to peer")).ok());
    peer.send(relayed, "channel to client");
    CHECK(run({&a}, {&peer},
              [&] { return peer.has("channel to peer", relayed) && a.has_data("channel to client"); }, 3));
    CHECK(a.turn->stats().channel_data_sent >= 1);
    CHECK(a.turn->stats().channel_data_received >= 1);
    CHECK(a.turn->stats().dropped_malformed == 0);

    a.turn->close(clock_now());
    CHECK(run({&a}, {}, [&] { return a.closed; }, 3));
}

TEST_CASE("coturn: TCP and TLS allocations relay to each other both ways") {
    coturn();
    Client a(TurnTransport::Tcp);
    Client b(TurnTransport::Tls);
    REQUIRE(allocate(a));
    REQUIRE(allocate(b));
    const SocketAddr ra = *a.turn->relayed_address();
    const SocketAddr rb = *b.turn->relayed_address();
    REQUIRE(b.turn->create_permission(clock_now(), ra.ip()).ok());
    REQUIRE(run({&a, &b}, {}, [&] { return b.turn->has_permission(ra.ip()); }, 3));

    for (int i = 0; i < 5; ++i) {
        const std::string ab = "a to b " + std::to_string(i), ba = "b to a " + std::to_string(i);
        REQUIRE(a.turn->send_to(clock_now(), rb, bytes_of(ab)).ok());
        CHECK(run({&a, &b}, {}, [&] { return b.has_data(ab); }, 3));
        REQUIRE(b.turn->send_to(clock_now(), ra, bytes_of(ba)).ok());
        CHECK(run({&a, &b}, {}, [&] { return a.has_data(ba); }, 3));
    }
    CHECK(a.received.back().peer == rb);
    CHECK(b.received.back().peer == ra);
    // Channels got bound on the way (auto_channel), so later datagrams went as padded ChannelData on the streams.
    CHECK(a.turn->channel_of(rb).has_value());
    CHECK(b.turn->channel_of(ra).has_value());
    CHECK(a.turn->stats().channel_data_sent >= 1);
    CHECK(b.turn->stats().channel_data_sent >= 1);
    CHECK(a.turn->stats().channel_data_received + b.turn->stats().channel_data_received >= 1);
    CHECK(a.turn->stats().dropped_malformed + b.turn->stats().dropped_malformed == 0);

    a.turn->close(clock_now());
    b.turn->close(clock_now());
    CHECK(run({&a, &b}, {}, [&] { return a.closed && b.closed; }, 3));
}

TEST_CASE("coturn: refreshes and stale-nonce retries keep a short allocation alive past its lifetime") {
    coturn();
    Client a(TurnTransport::Udp);
    Peer peer;
    REQUIRE(allocate(a));
    const auto* allocated = std::get_if<TurnAllocated>(&a.events.front());
    REQUIRE(allocated != nullptr);
    CHECK(allocated->lifetime <= TimeDelta::seconds(kMaxLifetimeSeconds));
    const SocketAddr relayed = *a.turn->relayed_address();
    REQUIRE(a.turn->create_permission(clock_now(), peer.local.ip()).ok());
    const double seconds = kMaxLifetimeSeconds + 2.5;
    run({&a}, {&peer}, [] { return false; }, seconds);
    CHECK(a.turn->state() == TurnState::Allocated);
    CHECK(a.turn->stats().refreshes >= 2);
    CHECK(a.turn->stats().stale_nonce_retries >= 1);
    peer.send(relayed, "still relayed");
    CHECK(run({&a}, {&peer}, [&] { return a.has_data("still relayed"); }, 3));
    a.turn->close(clock_now());
    CHECK(run({&a}, {}, [&] { return a.closed; }, 3));
}

TEST_CASE("coturn: a wrong password fails with a clear authentication error") {
    coturn();
    for (auto transport : {TurnTransport::Udp, TurnTransport::Tls}) {
        Client a(transport, "wrong-password");
        REQUIRE(a.turn->allocate(clock_now()).ok());
        run({&a}, {}, [&] { return a.turn->state() != TurnState::Allocating; }, 5);
        CHECK(a.turn->state() == TurnState::Failed);
        REQUIRE(a.failure.has_value());
        CHECK(a.failure->category == ErrorCategory::InvalidAccessError);
        CHECK(a.failure->message.find("authentication failed") != std::string::npos);
        CHECK(a.failure->message.find("wrong-password") == std::string::npos);
    }
}

TEST_CASE("coturn: TLS certificate verification is off by default and works when configured") {
    coturn();
    SUBCASE("verification on, trusting the test certificate, host name localhost: allocates") {
        Client a(TurnTransport::Tls, kPassword, true, TlsClientConfig{true, "localhost", coturn().cert_path()});
        CHECK(allocate(a));
        a.turn->close(clock_now());
        CHECK(run({&a}, {}, [&] { return a.closed; }, 3));
    }
    SUBCASE("verification on with the system trust store: the self-signed certificate is refused") {
        Client a(TurnTransport::Tls, kPassword, true, TlsClientConfig{true, "localhost", ""});
        REQUIRE(a.turn->allocate(clock_now()).ok());
        run({&a}, {}, [&] { return a.turn->state() != TurnState::Allocating; }, 5);
        CHECK(a.turn->state() == TurnState::Failed);
        REQUIRE(a.failure.has_value());
        CHECK(a.failure->message.find("TLS handshake") != std::string::npos);
        CHECK(a.failure->message.find("certificate") != std::string::npos);
    }
    SUBCASE("verification on, wrong host name: refused") {
        Client a(TurnTransport::Tls, kPassword, true, TlsClientConfig{true, "turn.example.org", coturn().cert_path()});
        REQUIRE(a.turn->allocate(clock_now()).ok());
        run({&a}, {}, [&] { return a.turn->state() != TurnState::Allocating; }, 5);
        CHECK(a.turn->state() == TurnState::Failed);
    }
}

// ---- rtcpp <-> rtcpp through coturn (issue #5): two PeerConnections with the relay-only policy ----

namespace {

struct RelayedPair {
    std::unique_ptr<rtcpp::PeerConnection> a, b;
    std::shared_ptr<rtcpp::DataChannel> channel;
    std::atomic<bool> open{false};
    std::atomic<int> echoed{0};
    std::atomic<size_t> echoed_bytes{0};
    std::mutex m;
    std::vector<std::shared_ptr<rtcpp::DataChannel>> remote;
    std::optional<Error> failure;
    std::chrono::steady_clock::time_point started, opened;
    // Candidates gathered before the peer has a remote description wait here, as a signalling app would hold them.
    std::vector<rtcpp::IceCandidate> early_for_a, early_for_b;
    bool negotiated = false;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
}

rtcpp::Configuration relay_only(const std::string& url, const std::string& password = kPassword) {
    rtcpp::Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    c.ice_transport_policy = rtcpp::IceTransportPolicy::Relay;
    c.ice_servers.push_back(rtcpp::IceServer{{url}, kUser, password});
    // Client ports above the ephemeral range and never reused within the run: coturn answers an Allocate from a
    // 5-tuple it has just deallocated with 437 (allocation mismatch).
    static int next_block = 0;
    c.port_range_begin = static_cast<uint16_t>(61000 + (next_block++ % 500) * 8);
    c.port_range_end = static_cast<uint16_t>(c.port_range_begin + 7);
    return c;
}

/// a offers a channel, b echoes; candidates are trickled.
void start_relayed(RelayedPair& p, const rtcpp::Configuration& ca, const rtcpp::Configuration& cb) {
    auto a = rtcpp::PeerConnection::create(ca);
    auto b = rtcpp::PeerConnection::create(cb);
    REQUIRE(a);
    REQUIRE(b);
    p.a = std::move(*a);
    p.b = std::move(*b);
    auto* pa = p.a.get();
    auto* pb = p.b.get();
    auto signal = [&p](rtcpp::PeerConnection* to, std::vector<rtcpp::IceCandidate>& early, rtcpp::IceCandidate c) {
        {
            std::lock_guard l(p.m);
            if (!p.negotiated) {
                early.push_back(std::move(c));
                return;
            }
        }
        (void)to->add_ice_candidate(c);
    };
    pa->on_local_candidate([=, &p](const rtcpp::IceCandidate& c) { signal(pb, p.early_for_b, c); });
    pb->on_local_candidate([=, &p](const rtcpp::IceCandidate& c) { signal(pa, p.early_for_a, c); });
    // End of candidates as a null candidate, the way browsers signal it.
    pa->on_ice_gathering_state_change([=, &p](rtcpp::IceGatheringState g) {
        if (g == rtcpp::IceGatheringState::Complete) signal(pb, p.early_for_b, rtcpp::IceCandidate{});
    });
    pb->on_ice_gathering_state_change([=, &p](rtcpp::IceGatheringState g) {
        if (g == rtcpp::IceGatheringState::Complete) signal(pa, p.early_for_a, rtcpp::IceCandidate{});
    });
    pa->on_connection_state_change([&p](rtcpp::PeerConnectionState s, const std::optional<Error>& e) {
        if (s == rtcpp::PeerConnectionState::Failed) {
            std::lock_guard l(p.m);
            p.failure = e;
        }
    });
    pb->on_data_channel([&p](std::shared_ptr<rtcpp::DataChannel> ch) {
        std::weak_ptr<rtcpp::DataChannel> weak = ch;
        ch->on_message([weak](std::span<const uint8_t> data, bool) {
            if (auto c = weak.lock()) (void)c->send(data);
        });
        std::lock_guard l(p.m);
        p.remote.push_back(ch);
    });
    auto ch = pa->create_data_channel("relayed");
    REQUIRE(ch);
    p.channel = *ch;
    p.channel->on_open([&p] {
        p.opened = std::chrono::steady_clock::now();
        p.open = true;
    });
    p.channel->on_message([&p](std::span<const uint8_t> data, bool) {
        p.echoed_bytes += data.size();
        ++p.echoed;
    });
    p.started = std::chrono::steady_clock::now();
    auto offer = pa->create_offer();
    REQUIRE(offer);
    REQUIRE(pa->set_local_description(*offer));
    REQUIRE(pb->set_remote_description(*offer));
    auto answer = pb->create_answer();
    REQUIRE(answer);
    REQUIRE(pb->set_local_description(*answer));
    REQUIRE(pa->set_remote_description(*answer));
    std::vector<rtcpp::IceCandidate> early_a, early_b;
    {
        // Never call into a PeerConnection under this lock: its callbacks (on the loop thread) take it too.
        std::lock_guard l(p.m);
        p.negotiated = true;
        early_a.swap(p.early_for_a);
        early_b.swap(p.early_for_b);
    }
    for (const auto& c : early_a) (void)pa->add_ice_candidate(c);
    for (const auto& c : early_b) (void)pb->add_ice_candidate(c);
}

void check_relayed_echo(const std::string& url) {
    Coturn& server = coturn();
    (void)server;
    RelayedPair p;
    start_relayed(p, relay_only(url), relay_only(url));
    REQUIRE(wait_until([&] { return p.open.load(); }, std::chrono::seconds(10)));
    MESSAGE(url << ": channel open " << std::chrono::duration<double, std::milli>(p.opened - p.started).count()
                << " ms after createOffer");
    for (auto* pc : {p.a.get(), p.b.get()}) {
        const auto st = pc->stats();
        CHECK(st.selected_local_type == "relay");
        CHECK(st.selected_remote_type == "relay");
        REQUIRE(st.selected_local);
        CHECK(st.selected_local->ip() == IpAddr::v4_loopback());
        // A relayed address is a coturn relay port, never one of our own sockets.
        for (const auto& own : pc->local_addresses()) CHECK(*st.selected_local != own);
    }
    size_t sent = 0;
    for (int i = 0; i < 200; ++i) {
        std::vector<uint8_t> msg(static_cast<size_t>(i) * 97 + 1, static_cast<uint8_t>(i));
        REQUIRE(p.channel->send(std::span<const uint8_t>(msg)));
        sent += msg.size();
    }
    REQUIRE(wait_until([&] { return p.echoed.load() == 200; }, std::chrono::seconds(10)));
    CHECK(p.echoed_bytes.load() == sent);
    p.a->close();
    p.b->close();
}

} // namespace

TEST_CASE("coturn: two rtcpp peers with the relay-only policy exchange data through coturn over UDP") {
    check_relayed_echo("turn:127.0.0.1:" + std::to_string(coturn().udp().port()) + "?transport=udp");
}

TEST_CASE("coturn: two rtcpp peers with the relay-only policy exchange data through coturn over TCP") {
    check_relayed_echo("turn:127.0.0.1:" + std::to_string(coturn().udp().port()) + "?transport=tcp");
}

TEST_CASE("coturn: two rtcpp peers with the relay-only policy exchange data through coturn over TLS") {
    check_relayed_echo("turns:127.0.0.1:" + std::to_string(coturn().tls().port()));
}

TEST_CASE("coturn: relay-only peers with a wrong TURN password fail with an error naming TURN") {
    coturn();
    const std::string url = "turn:127.0.0.1:" + std::to_string(coturn().udp().port());
    RelayedPair p;
    start_relayed(p, relay_only(url, "wrong"), relay_only(url, "wrong"));
    REQUIRE(wait_until([&] { return p.a->connection_state() == rtcpp::PeerConnectionState::Failed; },
                       std::chrono::seconds(20)));
    std::lock_guard l(p.m);
    REQUIRE(p.failure);
    INFO(p.failure->to_string());
    CHECK(p.failure->message.find("TURN") != std::string::npos);
    CHECK_FALSE(p.open.load());
}
