#include <doctest/doctest.h>

#include <rtcpp/certificate.hpp>

#include "dtls_test_util.hpp"

using namespace rtcpp;

TEST_CASE("fingerprint text round-trips in SDP form") {
    auto cert = dtls::testing::client_cert();
    for (auto alg : {HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        Fingerprint f = cert.fingerprint(alg);
        CHECK(f.algorithm() == alg);
        CHECK(f.digest().size() == digest_size(alg));
        const std::string text = f.to_string();
        CHECK(text.rfind(std::string(to_string(alg)) + " ", 0) == 0);
        CHECK(text.size() == to_string(alg).size() + 1 + digest_size(alg) * 3 - 1);
        auto back = Fingerprint::parse(text);
        REQUIRE(back);
        CHECK(*back == f);
    }
}

TEST_CASE("fingerprint format matches the SDP spelling") {
    std::array<uint8_t, 20> d{};
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(0xa0 + i);
    auto f = Fingerprint::from_digest(HashAlgorithm::Sha1, d);
    REQUIRE(f);
    CHECK(f->to_string() == "sha-1 A0:A1:A2:A3:A4:A5:A6:A7:A8:A9:AA:AB:AC:AD:AE:AF:B0:B1:B2:B3");
    CHECK(!Fingerprint::from_digest(HashAlgorithm::Sha256, d));
}

TEST_CASE("fingerprint parsing is case-insensitive and strict about the digest") {
    auto cert = dtls::testing::client_cert();
    Fingerprint f = cert.fingerprint();
    std::string lower = f.to_string();
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto upper_name = "SHA-256 " + f.hex();
    CHECK(Fingerprint::parse(lower) == f);
    CHECK(Fingerprint::parse(upper_name) == f);
    CHECK(Fingerprint::parse("  " + f.to_string() + "\r\n") == f);

    CHECK(!Fingerprint::parse(""));
    CHECK(!Fingerprint::parse("sha-256"));
    CHECK(!Fingerprint::parse("md5 " + f.hex()));
    CHECK(!Fingerprint::parse("sha-1 " + f.hex()));                        // wrong length for the algorithm
    CHECK(!Fingerprint::parse("sha-256 " + f.hex().substr(3)));            // one byte short
    CHECK(!Fingerprint::parse("sha-256 " + f.hex() + ":00"));              // one byte long
    std::string bad_sep = f.hex();
    bad_sep[2] = '-';
    CHECK(!Fingerprint::parse("sha-256 " + bad_sep));
    std::string bad_hex = f.hex();
    bad_hex[0] = 'G';
    CHECK(!Fingerprint::parse("sha-256 " + bad_hex));
}

TEST_CASE("fingerprints compare by algorithm and digest") {
    auto a = dtls::testing::client_cert();
    auto b = dtls::testing::server_cert();
    CHECK(a.fingerprint() == a.fingerprint());
    CHECK(a.fingerprint() != b.fingerprint());
    CHECK(a.fingerprint(HashAlgorithm::Sha256) != a.fingerprint(HashAlgorithm::Sha384));
}

TEST_CASE("generated certificates are fresh; the process default is shared") {
    auto a = Certificate::generate();
    auto b = Certificate::generate();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->fingerprint() != b->fingerprint());
    auto d1 = Certificate::process_default();
    auto d2 = Certificate::process_default();
    REQUIRE(d1);
    REQUIRE(d2);
    CHECK(d1->fingerprint() == d2->fingerprint());
    CHECK(d1->certificate_pem().find("-----BEGIN CERTIFICATE-----") == 0);
}

TEST_CASE("a certificate loads from PEM and keeps its fingerprint") {
    auto cert = dtls::testing::server_cert();
    auto loaded = Certificate::from_pem(cert.certificate_pem(), cert.private_key_pem());
    REQUIRE(loaded);
    CHECK(loaded->fingerprint() == cert.fingerprint());
    CHECK(loaded->fingerprint(HashAlgorithm::Sha512) == cert.fingerprint(HashAlgorithm::Sha512));

    // A key that belongs to another certificate is refused.
    auto mismatched = Certificate::from_pem(cert.certificate_pem(), dtls::testing::client_cert().private_key_pem());
    REQUIRE(!mismatched);
    CHECK(mismatched.error().category == ErrorCategory::InvalidAccessError);
    CHECK(!Certificate::from_pem("not a certificate", cert.private_key_pem()));
    CHECK(!Certificate::from_pem(cert.certificate_pem(), "not a key"));
}

TEST_CASE("a user-supplied PEM certificate works in a handshake") {
    auto cert = dtls::testing::server_cert();
    auto loaded = Certificate::from_pem(cert.certificate_pem(), cert.private_key_pem());
    REQUIRE(loaded);
    auto server = dtls::testing::Pair::config(dtls::Role::Server);
    server.certificate = *loaded;
    dtls::testing::Pair p(dtls::testing::Pair::config(dtls::Role::Client), server);
    p.start();
    p.run_until_connected();
    CHECK(p.both_connected());
}
