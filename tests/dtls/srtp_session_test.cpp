#include "dtls_test_util.hpp"

#include "dtls/srtp_session.hpp"

using namespace rtcpp;
using namespace rtcpp::dtls;
using namespace rtcpp::dtls::testing;

namespace {

std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ssrc, size_t payload, uint8_t fill) {
    std::vector<uint8_t> p(12 + payload);
    p[0] = 0x80;
    p[1] = 111;
    p[2] = static_cast<uint8_t>(seq >> 8);
    p[3] = static_cast<uint8_t>(seq);
    p[4] = 0, p[5] = 0, p[6] = 0x10, p[7] = static_cast<uint8_t>(seq);
    p[8] = static_cast<uint8_t>(ssrc >> 24);
    p[9] = static_cast<uint8_t>(ssrc >> 16);
    p[10] = static_cast<uint8_t>(ssrc >> 8);
    p[11] = static_cast<uint8_t>(ssrc);
    for (size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<uint8_t>(fill + i);
    return p;
}

std::vector<uint8_t> rtcp_receiver_report(uint32_t ssrc) {
    // RR with no report blocks: V=2, RC=0, PT=201, length=1.
    return {0x80, 201, 0, 1, static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
            static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
}

// Protects `plain` with `s`; returns the SRTP packet.
std::vector<uint8_t> protect(SrtpSession& s, const std::vector<uint8_t>& plain, bool rtcp = false) {
    std::vector<uint8_t> buf(plain.size() + kSrtpMaxTrailer);
    std::copy(plain.begin(), plain.end(), buf.begin());
    auto r = rtcp ? s.protect_rtcp(buf, plain.size()) : s.protect_rtp(buf, plain.size());
    REQUIRE(r.ok());
    CHECK(r.size > plain.size());
    buf.resize(r.size);
    return buf;
}

SrtpResult unprotect(SrtpSession& s, std::vector<uint8_t> packet, std::vector<uint8_t>* out = nullptr,
                     bool rtcp = false) {
    auto r = rtcp ? s.unprotect_rtcp(packet, packet.size()) : s.unprotect_rtp(packet, packet.size());
    if (r.ok() && out) *out = std::vector<uint8_t>(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(r.size));
    return r;
}

// Keys from a real handshake with the given profile.
SrtpKeys handshake_keys(SrtpProfile profile) {
    auto client = Pair::config(Role::Client);
    client.srtp_profiles = {profile};
    Pair p(client, Pair::config(Role::Server));
    p.start();
    p.run_until_connected();
    REQUIRE(p.both_connected());
    auto c = p.client.connected();
    auto s = p.server.connected();
    REQUIRE(c->srtp);
    REQUIRE(c->srtp == s->srtp);
    REQUIRE(c->srtp->profile == profile);
    return *c->srtp;
}

} // namespace

TEST_CASE("SRTP with keys from a DTLS handshake, both profiles") {
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        CAPTURE(to_string(profile));
        SrtpKeys keys = handshake_keys(profile);
        auto client = SrtpSession::create(keys, Role::Client);
        auto server = SrtpSession::create(keys, Role::Server);
        if (!client) FAIL(client.error().to_string());
        REQUIRE(server);
        CHECK(client->profile() == profile);
        const size_t tag = profile == SrtpProfile::AeadAes128Gcm ? 16 : 10;

        // RTP both ways.
        for (uint16_t seq = 1000; seq < 1010; ++seq) {
            auto plain = rtp_packet(seq, 0x11223344, 1188, static_cast<uint8_t>(seq));
            auto srtp = protect(*client, plain);
            CHECK(srtp.size() == plain.size() + tag);
            CHECK(!std::equal(plain.begin() + 12, plain.end(), srtp.begin() + 12)); // payload is encrypted
            std::vector<uint8_t> back;
            REQUIRE(unprotect(*server, srtp, &back).ok());
            CHECK(back == plain);

            auto reply = rtp_packet(seq, 0x55667788, 100, 1);
            std::vector<uint8_t> reply_back;
            REQUIRE(unprotect(*client, protect(*server, reply), &reply_back).ok());
            CHECK(reply_back == reply);
        }
        // RTCP both ways.
        auto rr = rtcp_receiver_report(0x11223344);
        std::vector<uint8_t> rr_back;
        REQUIRE(unprotect(*server, protect(*client, rr, true), &rr_back, true).ok());
        CHECK(rr_back == rr);
        REQUIRE(unprotect(*client, protect(*server, rr, true), &rr_back, true).ok());
        CHECK(rr_back == rr);
        CHECK(client->stats().rtp_protected == 10);
        CHECK(server->stats().rtp_unprotected == 10);
        CHECK(server->stats().rtcp_unprotected == 1);

        // A session cannot unprotect what it protected itself: the directions use different keys.
        auto own = protect(*client, rtp_packet(2000, 0x11223344, 50, 3));
        CHECK(unprotect(*client, own).status == SrtpStatus::AuthFailed);
    }
}

TEST_CASE("tampered SRTP and SRTCP packets are rejected and counted") {
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        CAPTURE(to_string(profile));
        SrtpKeys keys = handshake_keys(profile);
        auto tx = SrtpSession::create(keys, Role::Client);
        auto rx = SrtpSession::create(keys, Role::Server);
        REQUIRE(tx);
        REQUIRE(rx);
        auto srtp = protect(*tx, rtp_packet(7, 0xabcdef01, 1188, 9));
        for (size_t pos : {size_t(1), size_t(20), srtp.size() / 2, srtp.size() - 1}) {
            CAPTURE(pos);
            auto bad = srtp;
            bad[pos] ^= 0x01;
            CHECK(unprotect(*rx, bad).status == SrtpStatus::AuthFailed);
        }
        CHECK(rx->stats().auth_failures == 4);
        // The genuine packet still passes after the forgeries.
        CHECK(unprotect(*rx, srtp).ok());

        auto srtcp = protect(*tx, rtcp_receiver_report(0xabcdef01), true);
        auto bad = srtcp;
        bad[5] ^= 0x80;
        CHECK(unprotect(*rx, bad, nullptr, true).status == SrtpStatus::AuthFailed);
        CHECK(unprotect(*rx, srtcp, nullptr, true).ok());
        CHECK(rx->stats().auth_failures == 5);
    }
}

TEST_CASE("replayed SRTP and SRTCP packets are rejected and counted") {
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        CAPTURE(to_string(profile));
        SrtpKeys keys = handshake_keys(profile);
        auto tx = SrtpSession::create(keys, Role::Server);
        auto rx = SrtpSession::create(keys, Role::Client);
        REQUIRE(tx);
        REQUIRE(rx);
        std::vector<std::vector<uint8_t>> sent;
        for (uint16_t seq = 1; seq <= 5; ++seq) sent.push_back(protect(*tx, rtp_packet(seq, 42, 200, 0)));
        // Out of order within the window is fine...
        CHECK(unprotect(*rx, sent[1]).ok());
        CHECK(unprotect(*rx, sent[0]).ok());
        CHECK(unprotect(*rx, sent[4]).ok());
        // ...the same packet twice is not.
        CHECK(unprotect(*rx, sent[1]).status == SrtpStatus::Replayed);
        CHECK(unprotect(*rx, sent[4]).status == SrtpStatus::Replayed);
        CHECK(unprotect(*rx, sent[2]).ok());
        CHECK(rx->stats().replays == 2);
        CHECK(rx->stats().rtp_unprotected == 4);

        // Far behind the window (1024 packets) is too old.
        std::vector<uint8_t> old = protect(*tx, rtp_packet(6, 42, 20, 0));
        for (uint16_t seq = 7; seq < 7 + 1100; ++seq) (void)unprotect(*rx, protect(*tx, rtp_packet(seq, 42, 20, 0)));
        CHECK(unprotect(*rx, old).status == SrtpStatus::Replayed);

        auto srtcp = protect(*tx, rtcp_receiver_report(42), true);
        CHECK(unprotect(*rx, srtcp, nullptr, true).ok());
        CHECK(unprotect(*rx, srtcp, nullptr, true).status == SrtpStatus::Replayed);
    }
}

TEST_CASE("bad arguments and malformed packets fail without touching libsrtp state") {
    SrtpKeys keys = handshake_keys(SrtpProfile::AeadAes128Gcm);
    auto s = SrtpSession::create(keys, Role::Client);
    REQUIRE(s);
    std::vector<uint8_t> tight = rtp_packet(1, 1, 100, 0);
    CHECK(s->protect_rtp(tight, tight.size()).status == SrtpStatus::BufferTooSmall);
    std::vector<uint8_t> tiny(8 + kSrtpMaxTrailer);
    CHECK(s->protect_rtp(tiny, 8).status == SrtpStatus::Malformed);
    CHECK(s->unprotect_rtp(tiny, 4).status == SrtpStatus::Malformed);
    CHECK(s->unprotect_rtp(tiny, tiny.size() + 1).status == SrtpStatus::Malformed);
    // An RTP header claiming 15 CSRCs that are not there.
    std::vector<uint8_t> lying = rtp_packet(1, 1, 4, 0);
    lying[0] = 0x8f;
    lying.resize(lying.size() + kSrtpMaxTrailer);
    CHECK(!s->protect_rtp(lying, 16).ok());
    CHECK(s->unprotect_rtp(lying, 40).status != SrtpStatus::Ok);

    // Keys of the wrong size are refused.
    auto wrong = keys;
    wrong.client_salt.push_back(0);
    auto w = SrtpSession::create(wrong, Role::Client);
    REQUIRE(!w);
    CHECK(w.error().category == ErrorCategory::InvalidAccessError);
    CHECK(!SrtpSession::create(keys, Role::Client, 10));
}

TEST_CASE("SRTP sessions can be created and destroyed repeatedly (library refcount)") {
    SrtpKeys keys = handshake_keys(SrtpProfile::Aes128CmSha1_80);
    for (int i = 0; i < 3; ++i) {
        auto a = SrtpSession::create(keys, Role::Client);
        auto b = SrtpSession::create(keys, Role::Server);
        REQUIRE(a);
        REQUIRE(b);
        auto pkt = rtp_packet(static_cast<uint16_t>(i), 5, 64, 1);
        std::vector<uint8_t> back;
        REQUIRE(unprotect(*b, protect(*a, pkt), &back).ok());
        CHECK(back == pkt);
    }
}
