#include "dtls_test_util.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <rtcpp/random.hpp>

#include "dtls/demux.hpp"

using namespace rtcpp;
using namespace rtcpp::dtls;
using namespace rtcpp::dtls::testing;

TEST_CASE("handshake completes and both sides export the same SRTP keys") {
    Pair p;
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    auto c = p.client.connected();
    auto s = p.server.connected();
    REQUIRE(c);
    REQUIRE(s);
    REQUIRE(c->srtp);
    REQUIRE(s->srtp);
    CHECK(c->srtp->profile == SrtpProfile::AeadAes128Gcm);
    CHECK(*c->srtp == *s->srtp);
    CHECK(c->srtp->client_key.size() == 16);
    CHECK(c->srtp->client_salt.size() == 12);
    CHECK(c->srtp->client_key != c->srtp->server_key);
    CHECK(c->remote_fingerprint == server_cert().fingerprint());
    CHECK(s->remote_fingerprint == client_cert().fingerprint());
    CHECK(p.client.t->stats().replayed_flights == 0);
    CHECK(p.client.t->stats().retransmits == 0);
    for (auto& [from, d] : p.wire) CHECK(d.size() <= 1200);
}

namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

Pair connected_pair() {
    Pair p;
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    return p;
}

} // namespace

TEST_CASE("application data flows both ways") {
    Pair p = connected_pair();
    REQUIRE(p.client.t->send(bytes_of("hello from the client")).ok());
    REQUIRE(p.server.t->send(bytes_of("hello from the server")).ok());
    std::vector<uint8_t> big(1100);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
    REQUIRE(p.client.t->send(big).ok());
    p.exchange();
    REQUIRE(p.server.received.size() == 2);
    CHECK(p.server.received[0] == bytes_of("hello from the client"));
    CHECK(p.server.received[1] == big);
    REQUIRE(p.client.received.size() == 1);
    CHECK(p.client.received[0] == bytes_of("hello from the server"));
    CHECK(p.client.t->stats().application_records_sent == 2);
    CHECK(p.server.t->stats().application_records_received == 2);
    // The application data record carrying 1100 bytes still fits the 1200-byte MTU.
    CHECK(p.wire.back().second.size() <= 1200);
}

TEST_CASE("send refuses before connecting and above the record limit") {
    Pair p;
    auto early = p.client.t->send(bytes_of("too early"));
    REQUIRE(!early);
    CHECK(early.error().category == ErrorCategory::InvalidStateError);
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    auto big = p.client.t->send(std::vector<uint8_t>(16385));
    REQUIRE(!big);
    CHECK(big.error().category == ErrorCategory::RangeError);
    CHECK(p.client.t->send(std::vector<uint8_t>(16384)).ok());
    p.exchange();
    REQUIRE(p.server.received.size() == 1);
    CHECK(p.server.received[0].size() == 16384);
}

TEST_CASE("a fingerprint mismatch fails the handshake with a SecurityError on the side that checks") {
    SUBCASE("client expects another server certificate") {
        auto client = Pair::config(Role::Client);
        client.remote_fingerprints = {client_cert().fingerprint()}; // not the server's
        Pair p(client, Pair::config(Role::Server));
        p.start();
        p.run([&] { return p.client.failure() && p.server.failure(); });
        CHECK(p.client.t->state() == DtlsState::Failed);
        auto err = p.client.failure();
        REQUIRE(err);
        CHECK(err->category == ErrorCategory::SecurityError);
        CHECK(err->layer == "dtls");
        CHECK(err->message.find("does not match") != std::string::npos);
        CHECK(err->message.find(server_cert().fingerprint().to_string()) != std::string::npos);
        CHECK(!p.client.connected());
        // The server hears about it as a bad_certificate alert.
        auto server_err = p.server.failure();
        REQUIRE(server_err);
        CHECK(server_err->category == ErrorCategory::SecurityError);
        CHECK(server_err->message.find("bad certificate") != std::string::npos);
        CHECK(!p.server.connected());
    }
    SUBCASE("server expects another client certificate") {
        auto server = Pair::config(Role::Server);
        server.remote_fingerprints = {server_cert().fingerprint(HashAlgorithm::Sha384)};
        Pair p(Pair::config(Role::Client), server);
        p.start();
        p.run([&] { return p.server.failure().has_value(); });
        auto err = p.server.failure();
        REQUIRE(err);
        CHECK(err->category == ErrorCategory::SecurityError);
        CHECK(err->message.find("does not match") != std::string::npos);
        CHECK(!p.server.connected());
        CHECK(p.server.received.empty());
    }
    SUBCASE("no remote fingerprint known") {
        auto client = Pair::config(Role::Client);
        client.remote_fingerprints.clear();
        Pair p(client, Pair::config(Role::Server));
        p.start();
        p.run([&] { return p.client.failure().has_value(); });
        auto err = p.client.failure();
        REQUIRE(err);
        CHECK(err->category == ErrorCategory::SecurityError);
        CHECK(err->message.find("no remote certificate fingerprint") != std::string::npos);
    }
    SUBCASE("any of several announced fingerprints may match") {
        auto client = Pair::config(Role::Client);
        client.remote_fingerprints = {client_cert().fingerprint(), server_cert().fingerprint(HashAlgorithm::Sha512)};
        Pair p(client, Pair::config(Role::Server));
        p.start();
        p.run_until_connected();
        CHECK(p.both_connected());
    }
    SUBCASE("fingerprints given after creation are used") {
        auto client = Pair::config(Role::Client);
        client.remote_fingerprints.clear();
        Pair p(client, Pair::config(Role::Server));
        p.client.t->set_remote_fingerprints({server_cert().fingerprint()});
        p.start();
        p.run_until_connected();
        CHECK(p.both_connected());
    }
}

TEST_CASE("lost flights are resent when the virtual clock passes poll_timeout") {
    // The first N datagrams overall (ClientHello and its resends), or the first N of one side, are lost. Four
    // losses of one flight still fit the 30 s cap (resends after 1, 3, 7 and 15 s).
    struct Case {
        const char* side;
        size_t drop;
    };
    for (Case k : {Case{"any", 1}, Case{"any", 2}, Case{"any", 4}, Case{"server", 1}, Case{"server", 2},
                   Case{"server", 4}, Case{"client", 1}, Case{"client", 3}}) {
        CAPTURE(k.side);
        CAPTURE(k.drop);
        Pair p;
        size_t seen = 0;
        p.filter = [&](const std::string& from, size_t, ByteView) {
            if (std::string_view(k.side) != "any" && from != k.side) return true;
            return seen++ >= k.drop;
        };
        p.start();
        const Timestamp start = p.now;
        p.run_until_connected();
        REQUIRE(p.both_connected());
        // Recovery took virtual time (at least one 1 s retransmission timeout), not wall-clock time.
        CHECK(p.now - start >= TimeDelta::seconds(1));
        CHECK(p.client.t->stats().replayed_flights + p.server.t->stats().replayed_flights >= 1);
        auto c = p.client.connected();
        auto s = p.server.connected();
        REQUIRE(c);
        REQUIRE(s);
        CHECK(c->srtp == s->srtp);
        REQUIRE(p.client.t->send(bytes_of("after loss")).ok());
        p.exchange();
        REQUIRE(p.server.received.size() == 1);
    }
}

TEST_CASE("handshakes over a lossy link complete") {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        Random rng(seed);
        // 30% loss can take one flight four times in a row; give it time beyond the default 30 s cap.
        auto client = Pair::config(Role::Client);
        auto server = Pair::config(Role::Server);
        client.handshake_timeout = server.handshake_timeout = TimeDelta::seconds(120);
        Pair p(client, server);
        p.filter = [&](const std::string&, size_t, ByteView) { return !rng.bernoulli(0.3); };
        p.start();
        p.run_until_connected();
        REQUIRE(p.both_connected());
        CHECK(p.client.connected()->srtp == p.server.connected()->srtp);
        REQUIRE(p.client.t->send(bytes_of("x")).ok());
        p.exchange();
    }
}

TEST_CASE("a lost final flight of the server is recovered") {
    Pair p;
    int dropped = 0;
    // The server's ChangeCipherSpec + Finished leave once it considers itself connected; drop them twice.
    p.filter = [&](const std::string& from, size_t, ByteView) {
        if (from == "server" && p.server.t->state() == DtlsState::Connected && dropped < 4) {
            ++dropped;
            return false;
        }
        return true;
    };
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    CHECK(dropped >= 2);
    CHECK(p.server.t->stats().replayed_flights >= 1);
    CHECK(p.client.connected()->srtp == p.server.connected()->srtp);
}

TEST_CASE("OpenSSL retransmits itself when the wall clock agrees with core time") {
    auto client = Pair::config(Role::Client);
    client.initial_retransmit_timeout = TimeDelta::millis(20);
    Pair p(client, Pair::config(Role::Server));
    p.filter = [](const std::string&, size_t i, ByteView) { return i >= 1; }; // lose the ClientHello
    // Let the wall clock catch up with the virtual one before each deadline: OpenSSL then sees its own timer
    // expired and resends with fresh record sequence numbers instead of our byte-for-byte copy.
    p.before_timeout = [] { std::this_thread::sleep_for(std::chrono::milliseconds(40)); };
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    CHECK(p.client.t->stats().retransmits >= 1);
    CHECK(p.client.t->stats().replayed_flights == 0);
}

TEST_CASE("a wall-clock jump at the end of the handshake does not start a retransmission storm") {
    // The wall clock runs past OpenSSL's timer while the client waits for the server's last flight (a loaded
    // machine, a simulation): OpenSSL resends the client's flight from inside the very call that reads the
    // server's last flight and completes. Only the server may answer copies of the peer's flight with its final
    // flight; if the client did too, each side would answer every datagram of the other's copies, without end.
    auto client = Pair::config(Role::Client);
    client.initial_retransmit_timeout = TimeDelta::millis(20);
    Pair p(client, Pair::config(Role::Server));
    size_t after_connect = 0;
    p.filter = [&](const std::string& from, size_t, ByteView) {
        if (from == "server" && p.server.t->state() == DtlsState::Connected &&
            p.client.t->state() == DtlsState::Connecting)
            std::this_thread::sleep_for(std::chrono::milliseconds(40));
        // Were the storm back, the copies would double on every pass: cut it off so the test fails, not the machine.
        if (p.both_connected()) return ++after_connect <= 1000;
        return true;
    };
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    for (int round = 0; round < 200 && p.exchange(); ++round) {
    }
    CHECK_FALSE(p.exchange());   // the exchange came to rest...
    CHECK(after_connect <= 8);   // ...after a few copies at most
    CHECK(p.client.t->stats().replayed_flights == 0);
    CHECK(p.server.t->stats().replayed_flights <= 1);
}

TEST_CASE("the handshake cap fails a handshake that cannot complete") {
    auto client = Pair::config(Role::Client);
    client.handshake_timeout = TimeDelta::seconds(5);
    Pair p(client, Pair::config(Role::Server));
    p.filter = [](const std::string& from, size_t, ByteView) { return from != "server"; }; // server is unheard
    p.start();
    const Timestamp start = p.now;
    p.run([&] { return p.client.failure().has_value(); });
    auto err = p.client.failure();
    REQUIRE(err);
    CHECK(err->category == ErrorCategory::TimeoutError);
    CHECK(err->message.find("5000 ms") != std::string::npos);
    CHECK(p.now - start == TimeDelta::seconds(5));
    CHECK(p.client.t->state() == DtlsState::Failed);
    // Retransmissions went out meanwhile (1 s, then 2 s later).
    CHECK(p.client.t->stats().replayed_flights == 2);
    CHECK(p.client.t->poll_timeout() == Timestamp::plus_infinity());
}

TEST_CASE("close_notify closes the peer") {
    Pair p = connected_pair();
    p.client.t->close();
    CHECK(p.client.t->state() == DtlsState::Closed);
    p.exchange();
    CHECK(p.server.closed_by_peer());
    CHECK(p.server.t->state() == DtlsState::Closed);
    CHECK(!p.server.failure());
    auto late = p.server.t->send(bytes_of("too late"));
    REQUIRE(!late);
    CHECK(late.error().category == ErrorCategory::InvalidStateError);
    // The server's reply close_notify reaches a closed client and is dropped and counted there.
    CHECK(p.client.t->stats().datagrams_dropped >= 1);
}

TEST_CASE("a forged plaintext fatal alert after the handshake is ignored") {
    // (Real fatal alerts and their text are covered by the fingerprint mismatch test: "bad certificate".)
    Pair p = connected_pair();
    const uint8_t alert[] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40};
    p.server.t->handle_datagram(p.now, alert);
    p.exchange();
    CHECK(p.server.t->state() == DtlsState::Connected);
    REQUIRE(p.client.t->send(bytes_of("still fine")).ok());
    p.exchange();
    CHECK(p.server.received.size() == 1);
}

TEST_CASE("garbage datagrams are dropped and counted without breaking the session") {
    Pair p;
    p.start();
    // Garbage before and during the handshake.
    const std::vector<std::vector<uint8_t>> garbage = {
        {},
        {0x00, 0x01, 0x00, 0x00},                                    // STUN-ish
        {0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1},            // RTP
        {22, 0xfe, 0xfd},                                            // truncated record header
        {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 200, 1, 2, 3},   // length beyond the datagram
        {23, 0x03, 0x03, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0},           // TLS, not DTLS, version
        {99, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0},           // unknown content type
    };
    for (const auto& g : garbage) {
        p.server.t->handle_datagram(p.now, g);
        p.client.t->handle_datagram(p.now, g);
    }
    CHECK(p.server.t->stats().datagrams_dropped == garbage.size());
    CHECK(p.client.t->stats().datagrams_dropped == garbage.size());
    p.run_until_connected();
    REQUIRE(p.both_connected());

    // Well-formed records with garbage inside reach OpenSSL, which discards them (bad MAC, unknown epoch).
    std::vector<uint8_t> fake_app(13 + 40, 0x5a);
    const uint8_t header[] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 77, 0, 40};
    std::copy(std::begin(header), std::end(header), fake_app.begin());
    std::vector<uint8_t> fake_handshake = fake_app;
    fake_handshake[0] = 22;
    fake_handshake[4] = 0; // epoch 0
    const uint64_t dropped_before = p.server.t->stats().datagrams_dropped;
    for (int i = 0; i < 3; ++i) {
        p.server.t->handle_datagram(p.now, fake_app);
        p.server.t->handle_datagram(p.now, fake_handshake);
        for (const auto& g : garbage) p.server.t->handle_datagram(p.now, g);
    }
    CHECK(p.server.t->stats().datagrams_dropped == dropped_before + 3 * garbage.size());
    p.exchange();
    CHECK(p.server.t->state() == DtlsState::Connected);
    CHECK(p.server.received.empty());
    REQUIRE(p.client.t->send(bytes_of("after garbage")).ok());
    REQUIRE(p.server.t->send(bytes_of("reply")).ok());
    p.exchange();
    REQUIRE(p.server.received.size() == 1);
    CHECK(p.server.received[0] == bytes_of("after garbage"));
    REQUIRE(p.client.received.size() == 1);
    CHECK(!p.server.failure());
    CHECK(!p.client.failure());
}

TEST_CASE("SRTP profile negotiation") {
    SUBCASE("the client offers only AES128_CM_SHA1_80") {
        auto client = Pair::config(Role::Client);
        client.srtp_profiles = {SrtpProfile::Aes128CmSha1_80};
        Pair p(client, Pair::config(Role::Server));
        p.start();
        p.run_until_connected();
        REQUIRE(p.both_connected());
        auto c = p.client.connected();
        REQUIRE(c->srtp);
        CHECK(c->srtp->profile == SrtpProfile::Aes128CmSha1_80);
        CHECK(c->srtp->client_salt.size() == 14);
        CHECK(c->srtp == p.server.connected()->srtp);
    }
    SUBCASE("no use_srtp: data channels only") {
        auto client = Pair::config(Role::Client);
        auto server = Pair::config(Role::Server);
        client.srtp_profiles.clear();
        server.srtp_profiles.clear();
        Pair p(client, server);
        p.start();
        p.run_until_connected();
        REQUIRE(p.both_connected());
        CHECK(!p.client.connected()->srtp);
        CHECK(!p.server.connected()->srtp);
    }
}

TEST_CASE("a smaller MTU bounds every datagram") {
    auto client = Pair::config(Role::Client);
    auto server = Pair::config(Role::Server);
    client.mtu = 300;
    server.mtu = 300;
    Pair p(client, server);
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    for (auto& [from, d] : p.wire) CHECK(d.size() <= 300);
    auto bad = Pair::config(Role::Client);
    bad.mtu = 100;
    CHECK(!DtlsTransport::create(bad));
}

TEST_CASE("roles from a=setup") {
    CHECK(role_from_setup("active") == Role::Client);
    CHECK(role_from_setup("passive") == Role::Server);
    CHECK(!role_from_setup("actpass"));
    CHECK(!role_from_setup("holdconn"));
}

TEST_CASE("a server starts on its first datagram and poll_timeout tracks the handshake") {
    Pair p;
    CHECK(p.client.t->poll_timeout() == Timestamp::plus_infinity());
    p.client.t->start(p.now);
    CHECK(p.client.t->state() == DtlsState::Connecting);
    // The ClientHello's retransmission deadline: now + the initial timeout.
    CHECK(p.client.t->poll_timeout() == p.now + TimeDelta::seconds(1));
    CHECK(p.server.t->state() == DtlsState::New);
    p.run_until_connected();
    CHECK(p.both_connected());
    CHECK(p.client.t->poll_timeout() == Timestamp::plus_infinity());
    CHECK(p.server.t->poll_timeout() == Timestamp::plus_infinity());
}

TEST_CASE("every datagram on the wire is well-formed DTLS (and seeds the fuzz corpus)") {
    Pair p = connected_pair();
    REQUIRE(p.client.t->send(bytes_of("seed application data")).ok());
    p.client.t->close();
    p.exchange();
    std::vector<std::vector<uint8_t>> client_datagrams;
    for (const auto& [from, d] : p.wire) {
        CHECK(classify_packet(d) == PacketKind::Dtls);
        auto scan = scan_dtls_records(d);
        CHECK(scan.well_formed);
        if (from == "client") client_datagrams.push_back(d);
    }
    REQUIRE(client_datagrams.size() >= 4); // ClientHello, flight 5, application data, close_notify
    CHECK(scan_dtls_records(client_datagrams[0]).has_handshake);
    CHECK(!scan_dtls_records(client_datagrams[2]).has_handshake);

    // RTCPP_DTLS_CAPTURE_DIR=fuzz/corpus/dtls_demux writes them in the fuzz target's input format.
    const char* dir = std::getenv("RTCPP_DTLS_CAPTURE_DIR");
    if (dir == nullptr) return;
    auto write = [&](const std::string& name, const std::vector<std::vector<uint8_t>>& datagrams) {
        std::ofstream out(std::string(dir) + "/" + name, std::ios::binary);
        for (const auto& d : datagrams) {
            const char len[2] = {static_cast<char>(d.size() >> 8), static_cast<char>(d.size() & 0xff)};
            out.write(len, 2);
            out.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
        }
    };
    write("client_hello", {client_datagrams[0]});
    write("client_flights", client_datagrams);
    std::vector<std::vector<uint8_t>> server_datagrams;
    for (const auto& [from, d] : p.wire)
        if (from == "server") server_datagrams.push_back(d);
    write("server_flights", server_datagrams);
    write("client_hello_twice", {client_datagrams[0], client_datagrams[0]});
}

TEST_CASE("time going backwards is ignored") {
    Pair p;
    p.client.t->start(p.now);
    const Timestamp deadline = p.client.t->poll_timeout();
    REQUIRE(deadline.is_finite());
    p.client.t->handle_timeout(p.now - TimeDelta::seconds(100));
    CHECK(p.client.t->poll_timeout() == deadline);
    CHECK(p.client.t->stats().replayed_flights == 0);
    p.client.t->handle_timeout(deadline - TimeDelta::micros(1));
    CHECK(p.client.t->stats().replayed_flights == 0);
    p.client.t->handle_timeout(deadline);
    CHECK(p.client.t->stats().replayed_flights == 1);
    // A later call with an older time keeps the clock where it was: the next deadline counts from `deadline`.
    p.client.t->handle_timeout(p.now);
    CHECK(p.client.t->poll_timeout() == deadline + TimeDelta::seconds(2));
}

TEST_CASE("the process default certificate serves both sides") {
    auto cert = Certificate::process_default();
    REQUIRE(cert);
    DtlsConfig client(*cert), server(*cert);
    client.role = Role::Client;
    server.role = Role::Server;
    client.remote_fingerprints = server.remote_fingerprints = {cert->fingerprint()};
    Pair p(client, server);
    p.start();
    p.run_until_connected();
    CHECK(p.both_connected());
}

TEST_CASE("after a failure, input is dropped and nothing is pending") {
    auto client = Pair::config(Role::Client);
    client.remote_fingerprints = {client_cert().fingerprint()};
    Pair p(client, Pair::config(Role::Server));
    p.start();
    p.run([&] { return p.client.failure().has_value(); });
    REQUIRE(p.client.t->state() == DtlsState::Failed);
    const auto dropped = p.client.t->stats().datagrams_dropped;
    const uint8_t record[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 1};
    p.client.t->handle_datagram(p.now, record);
    CHECK(p.client.t->stats().datagrams_dropped == dropped + 1);
    CHECK(p.client.t->poll_timeout() == Timestamp::plus_infinity());
    CHECK(!p.client.t->send(bytes_of("x")));
    // Exactly one failure event.
    size_t failures = 0;
    for (const auto& e : p.client.events) failures += std::holds_alternative<DtlsFailed>(e) ? 1 : 0;
    CHECK(failures == 1);
}
