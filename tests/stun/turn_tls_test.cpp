// TURN over TLS without a real server: the client's sans-IO TLS stream against an in-memory OpenSSL server that
// fronts the in-process TurnServer.
#include "stun/tls_stream.hpp"
#include "stun/turn_client.hpp"
#include "stun/turn_server.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

using namespace rtcpp;
using namespace rtcpp::stun;

namespace {

/// A TLS server over memory BIOs with a fresh self-signed P-256 certificate for "localhost".
struct TlsServer {
    TlsServer() {
        pkey = EVP_EC_gen("P-256");
        cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, pkey);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                                   -1, 0);
        X509_set_issuer_name(cert, name);
        X509_sign(cert, pkey, EVP_sha256());
        ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate(ctx, cert);
        SSL_CTX_use_PrivateKey(ctx, pkey);
        ssl = SSL_new(ctx);
        rbio = BIO_new(BIO_s_mem());
        wbio = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(rbio, -1);
        SSL_set_bio(ssl, rbio, wbio);
        SSL_set_accept_state(ssl);
    }
    ~TlsServer() {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        X509_free(cert);
        EVP_PKEY_free(pkey);
    }
    std::vector<uint8_t> feed(ByteView in) {
        BIO_write(rbio, in.data(), static_cast<int>(in.size()));
        if (!SSL_is_init_finished(ssl)) SSL_do_handshake(ssl);
        std::vector<uint8_t> plain;
        uint8_t buf[4096];
        int n;
        while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) plain.insert(plain.end(), buf, buf + n);
        return plain;
    }
    void write(ByteView plain) { SSL_write(ssl, plain.data(), static_cast<int>(plain.size())); }
    std::vector<uint8_t> take() {
        std::vector<uint8_t> out(BIO_ctrl_pending(wbio));
        if (!out.empty()) BIO_read(wbio, out.data(), static_cast<int>(out.size()));
        return out;
    }
    std::string cert_pem_file() {
        const std::string path = "/tmp/rtcpp-turn-tls-test-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".pem";
        FILE* f = std::fopen(path.c_str(), "w");
        PEM_write_X509(f, cert);
        std::fclose(f);
        return path;
    }
    EVP_PKEY* pkey = nullptr;
    X509* cert = nullptr;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr;
    BIO* wbio = nullptr;
};

const SocketAddr kServer = *SocketAddr::parse("198.51.100.1:5349");
const SocketAddr kClient = *SocketAddr::parse("203.0.113.5:40000");

struct Harness {
    explicit Harness(TlsClientConfig tls_config = {}, bool trust_own_certificate = false)
        : server(config(), rs), client(client_config(with_ca(std::move(tls_config), trust_own_certificate)), rc) {}
    ~Harness() {
        if (!ca_file.empty()) std::remove(ca_file.c_str());
    }
    // Members are initialized in declaration order: the TLS server (and its certificate) exist by now.
    TlsClientConfig with_ca(TlsClientConfig c, bool trust) {
        if (trust) c.ca_file = ca_file = tls.cert_pem_file();
        return c;
    }
    static TurnServerConfig config() {
        TurnServerConfig c;
        c.listen = {kServer};
        c.relay_ipv4 = *IpAddr::parse("198.51.100.2");
        c.realm = "tls.test";
        c.users = {{"carol", "pw"}};
        return c;
    }
    static TurnClientConfig client_config(TlsClientConfig tls) {
        TurnClientConfig c;
        c.server = kServer;
        c.transport = TurnTransport::Tls;
        c.username = "carol";
        c.password = "pw";
        c.tls = std::move(tls);
        return c;
    }
    void pump() {
        for (int round = 0; round < 30; ++round) {
            bool moved = false;
            while (auto b = client.poll_transmit()) {
                moved = true;
                framer.feed(tls.feed(*b));
                while (auto m = framer.next()) server.handle_datagram(now, kClient, kServer, *m);
            }
            while (auto t = server.poll_transmit()) {
                moved = true;
                if (t->to != kClient) {
                    to_peer.push_back(std::move(*t));
                    continue;
                }
                std::vector<uint8_t> framed;
                if (is_channel_data(t->bytes)) {
                    auto cd = parse_channel_data(t->bytes);
                    encode_channel_data(framed, cd->channel, cd->data, true);
                } else {
                    framed = t->bytes;
                }
                tls.write(framed);
            }
            const auto down = tls.take();
            for (size_t off = 0; off < down.size(); off += 100) {
                moved = true;
                client.handle_datagram(now, ByteView(down).subspan(off, std::min<size_t>(100, down.size() - off)));
            }
            while (auto e = client.poll_event()) events.push_back(std::move(*e));
            if (!moved) return;
        }
    }
    Random rs{1}, rc{2};
    std::string ca_file;
    TlsServer tls;
    TurnServer server;
    TurnClient client;
    StreamFramer framer;
    Timestamp now = Timestamp::seconds(1);
    std::vector<ServerTransmit> to_peer;
    std::vector<TurnEvent> events;
};

} // namespace

TEST_CASE("turn over TLS: allocation and ChannelData through an in-memory TLS server") {
    Harness h;
    REQUIRE(h.client.allocate(h.now).ok());
    h.pump();
    REQUIRE(h.client.state() == TurnState::Allocated);
    const SocketAddr relayed = *h.client.relayed_address();
    const SocketAddr peer = *SocketAddr::parse("192.0.2.9:9999");
    for (int i = 0; i < 3; ++i) {
        REQUIRE(h.client.send_to(h.now, peer, std::vector<uint8_t>(7, static_cast<uint8_t>(i))).ok());
        h.pump();
    }
    REQUIRE(h.to_peer.size() == 3);
    CHECK(h.to_peer[2].bytes == std::vector<uint8_t>(7, 2));
    CHECK(h.to_peer[2].from == relayed);
    h.server.handle_datagram(h.now, peer, relayed, std::vector<uint8_t>{1, 2, 3});
    h.pump();
    bool got = false;
    for (auto& e : h.events)
        if (auto* d = std::get_if<TurnPeerData>(&e)) got = d->peer == peer && d->bytes == std::vector<uint8_t>{1, 2, 3};
    CHECK(got);
    CHECK(h.client.stats().channel_data_received == 1);
    h.client.close(h.now);
    h.pump();
    CHECK(h.client.state() == TurnState::Closed);
    CHECK(h.server.allocation_count() == 0);
}

TEST_CASE("turn over TLS: certificate verification") {
    SUBCASE("off by default: a self-signed certificate is accepted") {
        CHECK_FALSE(TlsClientConfig{}.verify_peer);
    }
    SUBCASE("on, without trusting the certificate: the handshake fails with a certificate error") {
        Harness h(TlsClientConfig{true, "localhost", ""});
        REQUIRE(h.client.allocate(h.now).ok());
        h.pump();
        CHECK(h.client.state() == TurnState::Failed);
        bool clear = false;
        for (auto& e : h.events)
            if (auto* f = std::get_if<TurnFailed>(&e))
                clear = f->error.message.find("certificate") != std::string::npos;
        CHECK(clear);
        CHECK(h.server.allocation_count() == 0);
    }
    SUBCASE("on, trusting the certificate, matching host name: allocates") {
        Harness h(TlsClientConfig{true, "localhost", ""}, /*trust_own_certificate=*/true);
        REQUIRE(h.client.allocate(h.now).ok());
        h.pump();
        CHECK(h.client.state() == TurnState::Allocated);
    }
    SUBCASE("on, trusting the certificate, another host name: refused") {
        Harness h(TlsClientConfig{true, "turn.example.org", ""}, /*trust_own_certificate=*/true);
        REQUIRE(h.client.allocate(h.now).ok());
        h.pump();
        CHECK(h.client.state() == TurnState::Failed);
    }
}
