#include "rtp/flexfec_03.hpp"
#include "rtp/rtp_packet.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
constexpr uint32_t kMedia = 0xAABBCCDD, kFlex = 0x01020304;
constexpr uint8_t kVp8 = 96, kFlexPt = 118;

std::vector<std::vector<uint8_t>> make_media(Random& rnd, uint16_t first_seq, size_t n, size_t frame_len) {
    std::vector<std::vector<uint8_t>> out;
    for (size_t i = 0; i < n; ++i) {
        RtpHeader h;
        h.payload_type = kVp8;
        h.sequence_number = static_cast<uint16_t>(first_seq + i);
        h.timestamp = 1000u + static_cast<uint32_t>(i / frame_len) * 3000u;
        h.ssrc = kMedia;
        h.marker = (i % frame_len) == frame_len - 1 || i + 1 == n;
        if (i % 3 == 0) {
            const uint8_t ext[2] = {static_cast<uint8_t>(i), 9};
            h.extensions.set(5, ext);
        }
        std::vector<uint8_t> payload(1 + rnd.uniform(1100));
        rnd.fill(payload);
        out.push_back(build_rtp_packet(h, payload, i % 7 == 6 ? 3 : 0));
    }
    return out;
}

std::vector<std::vector<uint8_t>> encode(const std::vector<std::vector<uint8_t>>& media, const FecParams& p) {
    FlexfecEncoder enc(kFlex, kFlexPt, kMedia, 40000);
    enc.set_params(p);
    std::vector<std::vector<uint8_t>> fec;
    for (const auto& m : media) {
        enc.add_media_packet(*RtpPacketView::parse(m));
        while (auto f = enc.poll_fec_packet()) fec.push_back(std::move(*f));
    }
    return fec;
}

std::vector<std::vector<uint8_t>> receive(const std::vector<std::vector<uint8_t>>& media,
                                          const std::vector<std::vector<uint8_t>>& fec, const std::set<size_t>& lost,
                                          FlexfecReceiverStats* stats = nullptr) {
    FlexfecReceiver rx(kFlex, kFlexPt, kMedia);
    for (size_t i = 0; i < media.size(); ++i)
        if (!lost.count(i)) rx.handle_packet(media[i]);
    for (const auto& f : fec) rx.handle_packet(f);
    std::vector<std::vector<uint8_t>> out;
    while (auto p = rx.poll_recovered()) out.push_back(std::move(*p));
    if (stats) *stats = rx.stats();
    return out;
}
} // namespace

TEST_CASE("FlexFEC-03 header layout: one SSRC, k bits, 20/24/32-byte headers") {
    Random rnd(1);
    const auto media = make_media(rnd, 100, 109, 200);
    std::vector<ByteView> views(media.begin(), media.end());
    const size_t expect_header[] = {20, 24, 32};
    const size_t last_bit[] = {14, 45, 108};
    for (int c = 0; c < 3; ++c) {
        FecMask m;
        m.set(0);
        m.set(last_bit[c]);
        const auto fec = build_flexfec(views, m, 100, kMedia);
        REQUIRE(fec);
        const size_t body = std::max(media[0].size(), media[last_bit[c]].size()) - 12;
        CHECK(fec->size() == expect_header[c] + body);
        CHECK(((*fec)[0] & 0xC0) == 0);  // R=0, F=0
        CHECK((*fec)[8] == 1);           // SSRCCount
        CHECK((((*fec)[12] << 24) | ((*fec)[13] << 16) | ((*fec)[14] << 8) | (*fec)[15]) == static_cast<int>(kMedia));
        CHECK((((*fec)[16] << 8) | (*fec)[17]) == 100);
        CHECK(((*fec)[18] & 0x80) == (c == 0 ? 0x80 : 0));  // first k bit
        CHECK(((*fec)[18] & 0x40) == 0x40);  // mask bit 0 right after the k bit
        const auto h = parse_flexfec(*fec);
        REQUIRE(h);
        CHECK(h->protected_ssrc == kMedia);
        CHECK(h->eq.mask.count() == 2);
        CHECK(h->eq.mask[0]);
        CHECK(h->eq.mask[last_bit[c]]);
        CHECK(h->eq.payload.size() == body);
        for (size_t len = 0; len < expect_header[c]; ++len) CHECK_FALSE(parse_flexfec(ByteView(*fec).first(len)));
    }
    FecMask m;
    m.set(0);
    auto fec = *build_flexfec(views, m, 100, kMedia);
    auto bad = fec;
    bad[0] |= 0x80;  // R: retransmission form
    CHECK_FALSE(parse_flexfec(bad));
    bad = fec;
    bad[0] |= 0x40;  // F: fixed mask form
    CHECK_FALSE(parse_flexfec(bad));
    bad = fec;
    bad[8] = 2;  // two SSRCs
    CHECK_FALSE(parse_flexfec(bad));
    // Last k bit 0 in the third chunk would announce a fourth chunk.
    m.set(100);
    fec = *build_flexfec(views, m, 100, kMedia);
    bad = fec;
    bad[24] &= 0x7F;
    CHECK_FALSE(parse_flexfec(bad));
}

TEST_CASE("FlexFEC recovers every single loss in a group, byte for byte") {
    Random rnd(2);
    for (auto type : {FecMaskType::Random, FecMaskType::Bursty}) {
        for (double protection : {0.05, 0.2, 0.5}) {
            const auto media = make_media(rnd, 65520, 20, 10);  // crosses the wrap
            const auto fec = encode(media, FecParams{protection, 2, type});
            CHECK(fec.size() == std::max<size_t>(1, static_cast<size_t>(std::lround(20 * protection))));
            for (const auto& f : fec) {
                const auto v = RtpPacketView::parse(f);
                REQUIRE(v);
                CHECK(v->ssrc() == kFlex);
                CHECK(v->payload_type() == kFlexPt);
            }
            for (size_t lost = 0; lost < media.size(); ++lost) {
                const auto rec = receive(media, fec, {lost});
                REQUIRE(rec.size() == 1);
                CHECK(rec[0] == media[lost]);
            }
            // No loss: nothing recovered.
            CHECK(receive(media, fec, {}).empty());
        }
    }
}

TEST_CASE("FlexFEC: a 109-packet group, bursts, double losses") {
    Random rnd(3);
    const auto media = make_media(rnd, 9, 109, 109);
    auto fec = encode(media, FecParams{1.0 / 109, 1, FecMaskType::Random});
    REQUIRE(fec.size() == 1);
    auto rec = receive(media, fec, {108});
    REQUIRE(rec.size() == 1);
    CHECK(rec[0] == media[108]);
    CHECK(receive(media, fec, {3, 108}).empty());

    const auto small = make_media(rnd, 300, 16, 16);
    fec = encode(small, FecParams{0.25, 1, FecMaskType::Bursty});
    REQUIRE(fec.size() == 4);
    rec = receive(small, fec, {5, 6, 7, 8});
    std::set<std::vector<uint8_t>> got(rec.begin(), rec.end());
    CHECK(got == std::set<std::vector<uint8_t>>{small[5], small[6], small[7], small[8]});
}

TEST_CASE("FlexFEC receiver ignores other SSRCs and survives lying packets") {
    Random rnd(4);
    const auto media = make_media(rnd, 50, 6, 6);
    auto fec = encode(media, FecParams{0.2, 1, FecMaskType::Random});
    REQUIRE(fec.size() == 1);
    FlexfecReceiverStats st;

    auto other = fec[0];
    other[12 + 12] ^= 1;  // protected SSRC
    CHECK(receive(media, {other}, {2}, &st).empty());
    CHECK(st.wrong_ssrc == 1);

    auto lying = fec[0];
    lying[12 + 2] ^= 0x80;  // length recovery
    CHECK(receive(media, {lying}, {2}, &st).empty());
    CHECK(st.recovery.fec_inconsistent == 1);

    auto truncated = fec[0];
    truncated.resize(12 + 18);
    CHECK(receive(media, {truncated}, {2}, &st).empty());
    CHECK(st.malformed == 1);

    auto ancient = fec[0];
    ancient[12 + 16] ^= 0x80;  // SN base 32768 away
    CHECK(receive(media, {ancient}, {2}, &st).empty());
    CHECK(st.recovery.fec_out_of_window == 1);
}
