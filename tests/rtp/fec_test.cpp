#include "rtp/fec_protection.hpp"
#include "rtp/fec_ulpfec.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
constexpr uint32_t kSsrc = 0x11223344;
constexpr uint8_t kVp8 = 96, kRed = 116, kUlpfec = 117;

// Media packets with varied sizes, markers, CSRCs, extensions and padding, so every recovered header bit matters.
std::vector<std::vector<uint8_t>> make_media(Random& rnd, uint16_t first_seq, size_t n, size_t frame_len = 5) {
    std::vector<std::vector<uint8_t>> out;
    for (size_t i = 0; i < n; ++i) {
        RtpHeader h;
        h.payload_type = kVp8;
        h.sequence_number = static_cast<uint16_t>(first_seq + i);
        h.timestamp = 90000u + static_cast<uint32_t>(i / frame_len) * 3000u;
        h.ssrc = kSsrc;
        h.marker = (i % frame_len) == frame_len - 1 || i + 1 == n;
        if (i % 3 == 1) h.add_csrc(0xC0000000u + static_cast<uint32_t>(i));
        if (i % 4 == 2) {
            const uint8_t ext[3] = {static_cast<uint8_t>(i), 2, 3};
            h.extensions.set(3, ext);
        }
        std::vector<uint8_t> payload(20 + rnd.uniform(900));
        rnd.fill(payload);
        out.push_back(build_rtp_packet(h, payload, i % 5 == 3 ? 4 : 0));
    }
    return out;
}

std::vector<uint8_t> fec_packet(ByteView fec_payload, uint16_t seq, uint32_t ts = 0) {
    RtpHeader h;
    h.payload_type = kRed;
    h.sequence_number = seq;
    h.timestamp = ts;
    h.ssrc = kSsrc;
    std::vector<uint8_t> red;
    ByteWriter w(red);
    write_red(w, {}, kUlpfec, fec_payload);
    return build_rtp_packet(h, red);
}

std::vector<uint8_t> as_red(const std::vector<uint8_t>& media) { return wrap_red(*RtpPacketView::parse(media), kRed); }

struct Received {
    std::vector<std::vector<uint8_t>> media;
    std::vector<std::vector<uint8_t>> recovered;
};
Received drain(UlpfecReceiver& rx) {
    Received r;
    while (auto o = rx.poll_packet()) (o->recovered ? r.recovered : r.media).push_back(std::move(o->packet));
    return r;
}

// Runs a group through encoder, RED and receiver with `lost` media indices dropped; returns what was recovered.
std::vector<std::vector<uint8_t>> run_group(const std::vector<std::vector<uint8_t>>& media, const FecParams& params,
                                            const std::set<size_t>& lost, size_t* fec_count = nullptr) {
    UlpfecEncoder enc;
    enc.set_params(params);
    for (const auto& m : media) enc.add_media_packet(*RtpPacketView::parse(m));
    std::vector<std::vector<uint8_t>> fec;
    const uint16_t last_seq = static_cast<uint16_t>(media.back()[2] << 8 | media.back()[3]);
    uint16_t seq = static_cast<uint16_t>(last_seq + 1);
    while (auto p = enc.poll_fec_payload()) fec.push_back(fec_packet(*p, seq++));
    if (fec_count) *fec_count = fec.size();
    UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
    for (size_t i = 0; i < media.size(); ++i)
        if (!lost.count(i)) rx.handle_packet(as_red(media[i]));
    for (const auto& f : fec) rx.handle_packet(f);
    auto r = drain(rx);
    CHECK(r.media.size() == media.size() - lost.size());
    return r.recovered;
}
} // namespace

TEST_CASE("FEC masks: bursty masks are interleaved partitions, random masks put each packet in one or two") {
    for (size_t n : {1u, 5u, 10u, 17u, 48u}) {
        for (size_t k = 1; k <= n; k += (n > 8 ? 3 : 1)) {
            for (auto type : {FecMaskType::Random, FecMaskType::Bursty}) {
                const auto masks = make_fec_masks(n, k, type);
                REQUIRE(masks.size() == k);
                for (size_t i = 0; i < n; ++i) {
                    int count = 0;
                    for (const auto& m : masks) count += m[i] ? 1 : 0;
                    if (type == FecMaskType::Bursty || k == 1) CHECK(count == 1);
                    else CHECK((count == 1 || count == 2));
                }
                for (const auto& m : masks) CHECK(m.any());
                for (const auto& m : masks) CHECK((m >> n).none());
                if (type == FecMaskType::Bursty)
                    for (size_t i = 0; i + 1 < n && k > 1; ++i)
                        for (const auto& m : masks) CHECK_FALSE((m[i] && m[i + 1]));
            }
        }
    }
    CHECK(make_fec_masks(0, 1, FecMaskType::Random).empty());
    CHECK(make_fec_masks(4, 9, FecMaskType::Random).size() == 4);
}

TEST_CASE("Random masks repair more independent double losses than a partition would") {
    // 8 media, 4 FEC: a partition into pairs repairs no double loss inside a pair; the two-equation masks repair
    // most double losses (every one the peeling decoder can reach).
    Random rnd(10);
    const auto media = make_media(rnd, 40, 8, 8);
    const FecParams p{0.5, 1, FecMaskType::Random};
    size_t both = 0, pairs = 0;
    for (size_t a = 0; a < 8; ++a)
        for (size_t b = a + 1; b < 8; ++b) {
            ++pairs;
            const auto rec = run_group(media, p, {a, b});
            for (const auto& r : rec) CHECK((r == media[a] || r == media[b]));
            if (rec.size() == 2) ++both;
        }
    CHECK(both * 10 >= pairs * 8);
}

TEST_CASE("ULPFEC header: fields, short and long masks") {
    Random rnd(1);
    const auto media = make_media(rnd, 1000, 20);
    std::vector<ByteView> views(media.begin(), media.end());
    FecMask m;
    m.set(0);
    m.set(3);
    auto fec = build_ulpfec(views, m, 1000);
    REQUIRE(fec);
    CHECK(((*fec)[0] & 0xC0) == 0);  // E=0, L=0
    auto h = parse_ulpfec(*fec);
    REQUIRE(h);
    CHECK_FALSE(h->long_mask);
    CHECK(h->eq.seq_base == 1000);
    CHECK(h->eq.mask.count() == 2);
    CHECK(h->eq.mask[0]);
    CHECK(h->eq.mask[3]);
    CHECK(h->eq.payload.size() == std::max(media[0].size(), media[3].size()) - 12);
    CHECK(h->eq.length == ((media[0].size() - 12) ^ (media[3].size() - 12)));
    CHECK(fec->size() == kUlpfecHeaderSize + 4 + h->eq.payload.size());

    m.set(19);
    fec = build_ulpfec(views, m, 1000);
    REQUIRE(fec);
    CHECK(((*fec)[0] & 0x40) == 0x40);
    h = parse_ulpfec(*fec);
    REQUIRE(h);
    CHECK(h->long_mask);
    CHECK(h->eq.mask.count() == 3);
    CHECK(h->eq.mask[19]);
    CHECK(fec->size() == kUlpfecHeaderSize + 8 + h->eq.payload.size());

    // A span of 48 or more sequence numbers cannot be described.
    const auto wide = make_media(rnd, 1000, 49);
    std::vector<ByteView> wv(wide.begin(), wide.end());
    FecMask all;
    all.set(0);
    CHECK_FALSE(build_ulpfec(wv, all, 1000));
    // Nothing selected: no packet.
    CHECK_FALSE(build_ulpfec(views, FecMask{}, 1000));
}

TEST_CASE("ULPFEC parse rejects truncation, the E bit and short payloads") {
    Random rnd(2);
    const auto media = make_media(rnd, 10, 4);
    std::vector<ByteView> views(media.begin(), media.end());
    FecMask m;
    m.set(0);
    m.set(1);
    const auto fec = *build_ulpfec(views, m, 10);
    for (size_t len = 0; len < 14; ++len) CHECK_FALSE(parse_ulpfec(ByteView(fec).first(len)));
    CHECK_FALSE(parse_ulpfec(ByteView(fec).first(fec.size() - 1)));  // shorter than the protection length
    auto e = fec;
    e[0] |= 0x80;
    CHECK_FALSE(parse_ulpfec(e));
}

TEST_CASE("ULPFEC recovers every single loss in a group, byte for byte") {
    Random rnd(3);
    for (auto type : {FecMaskType::Random, FecMaskType::Bursty}) {
        for (double protection : {0.1, 0.3, 0.5, 1.0}) {
            const auto media = make_media(rnd, 65530, 12);  // crosses the sequence number wrap
            for (size_t lost = 0; lost < media.size(); ++lost) {
                size_t fec_count = 0;
                const auto rec = run_group(media, FecParams{protection, 3, type}, {lost}, &fec_count);
                CHECK(fec_count == std::max<size_t>(1, static_cast<size_t>(std::lround(12 * protection))));
                REQUIRE(rec.size() == 1);
                CHECK(rec[0] == media[lost]);
            }
        }
    }
}

TEST_CASE("ULPFEC: k losses in distinct equations are recovered, two in one equation are not") {
    Random rnd(4);
    const auto media = make_media(rnd, 500, 12, 12);
    // Bursty, k=3: equations {0,3,6,9} {1,4,7,10} {2,5,8,11}.
    const FecParams p{0.25, 1, FecMaskType::Bursty};
    auto rec = run_group(media, p, {4, 5, 6});  // a burst of 3
    REQUIRE(rec.size() == 3);
    std::set<std::vector<uint8_t>> got(rec.begin(), rec.end());
    CHECK(got == std::set<std::vector<uint8_t>>{media[4], media[5], media[6]});

    rec = run_group(media, p, {0, 3});  // same equation, no other way to solve it
    CHECK(rec.empty());
    rec = run_group(media, p, {0, 3, 1});  // 1 is recoverable alone; 0 and 3 are not
    REQUIRE(rec.size() == 1);
    CHECK(rec[0] == media[1]);
}

TEST_CASE("ULPFEC recovery iterates: a recovered packet completes another equation") {
    Random rnd(5);
    const auto media = make_media(rnd, 100, 3);
    std::vector<ByteView> views(media.begin(), media.end());
    FecMask a, b;
    a.set(0);
    a.set(1);
    b.set(1);
    b.set(2);
    const auto fa = *build_ulpfec(views, a, 100);
    const auto fb = *build_ulpfec(views, b, 100);
    UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
    rx.handle_packet(as_red(media[2]));
    rx.handle_packet(fec_packet(fa, 103));  // two unknowns: waits
    CHECK(drain(rx).recovered.empty());
    rx.handle_packet(fec_packet(fb, 104));  // solves 1, then a solves 0
    const auto r = drain(rx);
    REQUIRE(r.recovered.size() == 2);
    CHECK(r.recovered[0] == media[1]);
    CHECK(r.recovered[1] == media[0]);
    CHECK(rx.stats().recovery.recovered == 2);
}

TEST_CASE("ULPFEC with a 48-bit mask recovers far into the group") {
    Random rnd(6);
    const auto media = make_media(rnd, 7, 40, 40);
    const auto rec = run_group(media, FecParams{0.025, 1, FecMaskType::Random}, {37});
    REQUIRE(rec.size() == 1);
    CHECK(rec[0] == media[37]);
}

TEST_CASE("ULPFEC: packets that protect nothing, lie about lengths or reference ancient packets") {
    Random rnd(7);
    const auto media = make_media(rnd, 2000, 6);
    std::vector<ByteView> views(media.begin(), media.end());
    FecMask m;
    m.set(0);
    m.set(1);
    const auto good = *build_ulpfec(views, m, 2000);

    SUBCASE("empty mask") {
        auto f = good;
        f[12] = f[13] = 0;
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        rx.handle_packet(as_red(media[1]));
        rx.handle_packet(fec_packet(f, 2006));
        CHECK(drain(rx).recovered.empty());
        CHECK(rx.stats().recovery.fec_empty == 1);
    }
    SUBCASE("length recovery larger than the protection length") {
        auto f = good;
        f[8] ^= 0x40;
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        rx.handle_packet(as_red(media[1]));
        rx.handle_packet(fec_packet(f, 2006));
        CHECK(drain(rx).recovered.empty());
        CHECK(rx.stats().recovery.fec_inconsistent == 1);
    }
    SUBCASE("a present packet longer than the protection length") {
        // Claims to protect 0 and 1 but its protection length only covers the first bytes.
        auto f = good;
        const uint16_t short_len = 8;
        f[10] = 0;
        f[11] = short_len;
        f.resize(kUlpfecHeaderSize + 4 + short_len);
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        rx.handle_packet(as_red(media[1]));
        rx.handle_packet(fec_packet(f, 2006));
        CHECK(drain(rx).recovered.empty());
        CHECK(rx.stats().recovery.fec_inconsistent == 1);
    }
    SUBCASE("protection length past the end of the packet") {
        auto f = good;
        f[10] = 0xFF;
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        rx.handle_packet(fec_packet(f, 2006));
        CHECK(rx.stats().malformed == 1);
    }
    SUBCASE("ancient and far-future sequence numbers") {
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        for (const auto& p : media) rx.handle_packet(as_red(p));
        auto f = good;
        f[2] = static_cast<uint8_t>((2000 - 1000) >> 8);
        f[3] = static_cast<uint8_t>(2000 - 1000);
        rx.handle_packet(fec_packet(f, 2006));
        f[2] = static_cast<uint8_t>((2000 + 5000) >> 8);
        f[3] = static_cast<uint8_t>(2000 + 5000);
        rx.handle_packet(fec_packet(f, 2007));
        drain(rx);
        CHECK(rx.stats().recovery.fec_out_of_window == 2);
        CHECK(rx.stats().recovery.recovered == 0);
    }
    SUBCASE("every protected packet already present") {
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        for (const auto& p : media) rx.handle_packet(as_red(p));
        rx.handle_packet(fec_packet(good, 2006));
        CHECK(drain(rx).recovered.empty());
        CHECK(rx.stats().recovery.fec_useless == 1);
        CHECK(rx.stats().recovery.recovered == 0);
    }
    SUBCASE("other SSRC and garbage RED") {
        UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
        RtpHeader h;
        h.ssrc = 1;
        h.payload_type = kRed;
        rx.handle_packet(build_rtp_packet(h, std::vector<uint8_t>{0x80 | kUlpfec, 0, 0}));
        h.ssrc = kSsrc;
        rx.handle_packet(build_rtp_packet(h, std::vector<uint8_t>{0x80 | kUlpfec, 0, 0}));
        rx.handle_packet(std::vector<uint8_t>{1, 2, 3});
        CHECK(rx.stats().wrong_ssrc == 1);
        CHECK(rx.stats().malformed == 2);
        CHECK_FALSE(rx.poll_packet());
    }
}

TEST_CASE("ULPFEC receiver memory stays bounded under a flood of unsolvable equations") {
    Random rnd(8);
    UlpfecReceiver rx(kSsrc, kRed, kUlpfec);
    uint16_t seq = 0;
    for (int round = 0; round < 3000; ++round) {
        const auto media = make_media(rnd, seq, 4, 4);
        std::vector<ByteView> views(media.begin(), media.end());
        FecMask m;
        m.set(0);
        m.set(1);
        m.set(2);
        rx.handle_packet(as_red(media[3]));
        rx.handle_packet(fec_packet(*build_ulpfec(views, m, seq), static_cast<uint16_t>(seq + 4)));
        seq = static_cast<uint16_t>(seq + 5);
        drain(rx);
    }
    CHECK(rx.stats().recovery.recovered == 0);
    CHECK(rx.stats().recovery.evicted > 2000);
}

TEST_CASE("UlpfecEncoder groups frames and emits nothing without protection") {
    Random rnd(9);
    const auto media = make_media(rnd, 1, 20, 5);  // 4 frames of 5
    UlpfecEncoder enc;
    for (const auto& m : media) enc.add_media_packet(*RtpPacketView::parse(m));
    CHECK_FALSE(enc.poll_fec_payload());
    enc.set_params(FecParams{0.2, 2, FecMaskType::Bursty});
    int groups = 0;
    for (const auto& m : media) {
        enc.add_media_packet(*RtpPacketView::parse(m));
        int n = 0;
        while (auto p = enc.poll_fec_payload()) {
            ++n;
            CHECK(parse_ulpfec(*p)->eq.mask.count() == 5);
        }
        if (n) {
            ++groups;
            CHECK(n == 2);  // 10 packets * 0.2
        }
    }
    CHECK(groups == 2);
}

TEST_CASE("Protection: NACK alone at short RTT, more FEC as the RTT grows, FEC alone without NACK") {
    CHECK(fec_share_for_rtt(TimeDelta::millis(10)) == 0);
    CHECK(fec_share_for_rtt(TimeDelta::millis(20)) == 0);
    double prev = 0;
    for (int rtt : {30, 60, 100, 150, 200, 300, 500}) {
        const double s = fec_share_for_rtt(TimeDelta::millis(rtt));
        if (rtt <= 200) CHECK(s > prev);
        else CHECK(s >= prev);
        prev = s;
    }
    CHECK(prev > 0.9);

    ProtectionInput in;
    in.loss = 0.1;
    in.packets_per_frame = 10;
    in.rtt = TimeDelta::millis(10);
    auto d = choose_protection(in);
    CHECK(d.use_nack);
    CHECK(d.fec.protection == 0);
    double last = 0;
    for (int rtt : {50, 100, 200, 400}) {
        in.rtt = TimeDelta::millis(rtt);
        d = choose_protection(in);
        CHECK(d.fec.protection >= last);
        const size_t n = 10 * d.fec.max_frames;
        const size_t k = static_cast<size_t>(std::lround(d.fec.protection * static_cast<double>(n)));
        if (k < static_cast<size_t>(0.6 * static_cast<double>(n)))  // below the cap the choice meets its target
            CHECK(residual_loss(0.1, n, k) <= d.target_residual_loss + 1e-9);
        last = d.fec.protection;
    }
    CHECK(last > choose_protection(ProtectionInput{0.1, TimeDelta::millis(50), true, 1, 10}).fec.protection);

    in.loss = 0;
    CHECK(choose_protection(in).fec.protection == 0);
    in.loss = 0.05;
    in.nack_enabled = false;
    in.rtt = TimeDelta::millis(20);
    d = choose_protection(in);
    CHECK_FALSE(d.use_nack);
    CHECK(d.fec.protection > 0.2);
    in.mean_burst = 4;
    CHECK(choose_protection(in).fec.mask_type == FecMaskType::Bursty);
    in.rtt = TimeDelta::millis(900);
    in.nack_enabled = true;
    CHECK_FALSE(choose_protection(in).use_nack);

    for (size_t k = 1; k < 9; ++k) CHECK(residual_loss(0.1, 10, k + 1) < residual_loss(0.1, 10, k));
    CHECK(residual_loss(0.1, 10, 0) == doctest::Approx(0.1));
}
