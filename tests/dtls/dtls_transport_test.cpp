#include "dtls_test_util.hpp"

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
