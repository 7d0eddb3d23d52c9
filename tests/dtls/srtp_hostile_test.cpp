// Hostile SRTP/SRTCP input at the SrtpSession level (issue #9): floods of replayed packets and of forged packets from
// 10,000 random SSRCs are rejected and counted, genuine traffic keeps passing, and the heap stays within a stated
// bound (libsrtp must not create a stream per unauthenticated SSRC).
#include "dtls/srtp_session.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTCPP_SRTP_HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RTCPP_SRTP_HOSTILE_ASAN)
#define RTCPP_SRTP_HOSTILE_ASAN 1
#endif
#ifdef RTCPP_SRTP_HOSTILE_ASAN
// From the sanitizer runtime (GCC ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

using namespace rtcpp;
using namespace rtcpp::dtls;

namespace {

size_t heap_in_use() {
#ifdef RTCPP_SRTP_HOSTILE_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

std::vector<uint8_t> rtp(uint16_t seq, uint32_t ssrc, size_t payload, Random& r) {
    std::vector<uint8_t> p(12 + payload);
    r.fill(p);
    p[0] = 0x80;
    p[1] = 111;
    p[2] = static_cast<uint8_t>(seq >> 8), p[3] = static_cast<uint8_t>(seq);
    p[8] = static_cast<uint8_t>(ssrc >> 24), p[9] = static_cast<uint8_t>(ssrc >> 16);
    p[10] = static_cast<uint8_t>(ssrc >> 8), p[11] = static_cast<uint8_t>(ssrc);
    return p;
}

std::vector<uint8_t> sender_report(uint32_t ssrc, Random& r) {
    std::vector<uint8_t> p(28);
    r.fill(p);
    p[0] = 0x80, p[1] = 200, p[2] = 0, p[3] = 6;
    p[4] = static_cast<uint8_t>(ssrc >> 24), p[5] = static_cast<uint8_t>(ssrc >> 16);
    p[6] = static_cast<uint8_t>(ssrc >> 8), p[7] = static_cast<uint8_t>(ssrc);
    return p;
}

std::vector<uint8_t> protect(SrtpSession& s, const std::vector<uint8_t>& plain, bool rtcp) {
    std::vector<uint8_t> buf(plain.size() + kSrtpMaxTrailer);
    std::copy(plain.begin(), plain.end(), buf.begin());
    auto r = rtcp ? s.protect_rtcp(buf, plain.size()) : s.protect_rtp(buf, plain.size());
    REQUIRE(r.ok());
    buf.resize(r.size);
    return buf;
}

SrtpStatus unprotect(SrtpSession& s, const std::vector<uint8_t>& packet, bool rtcp, std::vector<uint8_t>& scratch) {
    scratch.assign(packet.begin(), packet.end());
    return (rtcp ? s.unprotect_rtcp(scratch, scratch.size()) : s.unprotect_rtp(scratch, scratch.size())).status;
}

struct Pair {
    SrtpSession tx, rx;
};

Pair make_pair(SrtpProfile profile, Random& r) {
    std::vector<uint8_t> k1(srtp_master_key_size(profile)), k2(srtp_master_key_size(profile));
    std::vector<uint8_t> s1(srtp_master_salt_size(profile)), s2(srtp_master_salt_size(profile));
    r.fill(k1), r.fill(k2), r.fill(s1), r.fill(s2);
    auto tx = SrtpSession::create(profile, k1, s1, k2, s2);
    auto rx = SrtpSession::create(profile, k2, s2, k1, s1);
    REQUIRE(tx);
    REQUIRE(rx);
    return Pair{std::move(tx.value()), std::move(rx.value())};
}

} // namespace

TEST_CASE("hostile SRTP: 100,000 replayed SRTP and 10,000 replayed SRTCP packets are rejected and counted") {
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        CAPTURE(to_string(profile));
        Random r(21);
        Pair p = make_pair(profile, r);
        std::vector<uint8_t> scratch;
        std::vector<std::vector<uint8_t>> srtp, srtcp;
        for (uint16_t seq = 0; seq < 2000; ++seq) srtp.push_back(protect(p.tx, rtp(seq, 0x1234, 160, r), false));
        for (int i = 0; i < 200; ++i) srtcp.push_back(protect(p.tx, sender_report(0x1234, r), true));
        for (const auto& pkt : srtp) REQUIRE(unprotect(p.rx, pkt, false, scratch) == SrtpStatus::Ok);
        for (const auto& pkt : srtcp) REQUIRE(unprotect(p.rx, pkt, true, scratch) == SrtpStatus::Ok);

        const size_t base = heap_in_use();
        size_t peak = base;
        uint64_t replays = 0, rejected = 0, rejected_rtcp = 0;
        // Every packet again, 50 times, in a shuffled order: within the window they are duplicates, behind it
        // (the first 2000 - 1024) too old. Either way: Replayed, never Ok.
        for (int round = 0; round < 50; ++round) {
            for (size_t i = 0; i < srtp.size(); ++i) {
                const auto& pkt = srtp[(i * 7919 + static_cast<size_t>(round)) % srtp.size()];
                if (unprotect(p.rx, pkt, false, scratch) == SrtpStatus::Replayed) ++rejected;
                ++replays;
            }
            for (const auto& pkt : srtcp)
                if (unprotect(p.rx, pkt, true, scratch) == SrtpStatus::Replayed) ++rejected_rtcp;
            peak = std::max(peak, heap_in_use());
        }
        const size_t growth = peak - base;
        MESSAGE(to_string(profile) << ": " << replays << " SRTP and " << 50 * srtcp.size()
                                   << " SRTCP replays rejected, heap growth " << growth << " bytes");
        CHECK(rejected == replays);
        CHECK(rejected_rtcp == 50 * srtcp.size());
        CHECK(p.rx.stats().replays == replays + 50 * srtcp.size());
        CHECK(p.rx.stats().rtp_unprotected == srtp.size());
        CHECK(p.rx.stats().rtcp_unprotected == srtcp.size());
        CHECK(growth < 4096); // nothing is kept per rejected packet

        // Genuine traffic continues.
        CHECK(unprotect(p.rx, protect(p.tx, rtp(2000, 0x1234, 160, r), false), false, scratch) == SrtpStatus::Ok);
        CHECK(unprotect(p.rx, protect(p.tx, sender_report(0x1234, r), true), true, scratch) == SrtpStatus::Ok);
    }
}

TEST_CASE("hostile SRTP: forged packets from 10,000 random SSRCs are rejected without per-SSRC state") {
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        CAPTURE(to_string(profile));
        Random r(22);
        Pair p = make_pair(profile, r);
        std::vector<uint8_t> scratch;
        REQUIRE(unprotect(p.rx, protect(p.tx, rtp(1, 0x1234, 160, r), false), false, scratch) == SrtpStatus::Ok);

        // Forgeries: valid headers, random "ciphertext" and tag, 10,000 SSRCs, 5 packets each, plus SRTCP.
        const size_t tag = profile == SrtpProfile::AeadAes128Gcm ? 16 : 10;
        const size_t base = heap_in_use();
        size_t peak = base;
        uint64_t forged = 0, forged_rtcp = 0, rejected = 0;
        for (int round = 0; round < 5; ++round) {
            Random ssrcs(23); // the same 10,000 SSRCs every round
            for (int i = 0; i < 10000; ++i) {
                const uint32_t ssrc = ssrcs.next_u32();
                auto pkt = rtp(static_cast<uint16_t>(round * 10 + i), ssrc, 160 + tag, r);
                if (unprotect(p.rx, pkt, false, scratch) == SrtpStatus::AuthFailed) ++rejected;
                ++forged;
                if (round == 0) {
                    auto sr = sender_report(ssrc, r);
                    // E flag and index, then a random tag.
                    for (size_t k = 0; k < 4 + tag; ++k) sr.push_back(static_cast<uint8_t>(r.next_u32()));
                    sr[sr.size() - tag - 4] |= 0x80;
                    if (unprotect(p.rx, sr, true, scratch) == SrtpStatus::AuthFailed) ++rejected;
                    ++forged_rtcp;
                }
                if (i % 1000 == 0) peak = std::max(peak, heap_in_use());
            }
        }
        const size_t growth = peak - base;
        MESSAGE(to_string(profile) << ": " << forged << " forged SRTP and " << forged_rtcp
                                   << " forged SRTCP packets from 10,000 SSRCs rejected, heap growth " << growth
                                   << " bytes");
        CHECK(rejected == forged + forged_rtcp);
        CHECK(p.rx.stats().auth_failures == forged + forged_rtcp);
        // Bound: 16 KiB for 10,000 SSRCs, under 2 bytes each; a libsrtp stream per SSRC is kilobytes each.
        CHECK(growth < 16 * 1024);

        // The genuine stream still passes, and a new genuine SSRC is accepted (the template still works).
        CHECK(unprotect(p.rx, protect(p.tx, rtp(2, 0x1234, 160, r), false), false, scratch) == SrtpStatus::Ok);
        CHECK(unprotect(p.rx, protect(p.tx, rtp(1, 0x5678, 160, r), false), false, scratch) == SrtpStatus::Ok);
    }
}
