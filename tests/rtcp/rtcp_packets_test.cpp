#include "rtcp/rtcp_compound.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtcp;

namespace {
template <class T>
const T* get(const RtcpCompound& c, size_t i) {
    if (i >= c.packets.size()) return nullptr;
    return std::get_if<T>(&c.packets[i]);
}

std::vector<uint8_t> bytes_of(const RtcpPacket& p) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    write_rtcp_packet(w, p);
    return out;
}

template <class T>
T round_trip(const T& v) {
    const auto b = bytes_of(RtcpPacket(v));
    REQUIRE(b.size() % 4 == 0);
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    REQUIRE(c->packets.size() == 1);
    const T* out = std::get_if<T>(&c->packets[0]);
    REQUIRE(out);
    return *out;
}

// SR with one report block, then SDES with a CNAME: the shape of every compound packet a WebRTC sender emits.
const std::vector<uint8_t> kSrSdes = {
    0x81, 0xc8, 0x00, 0x0c,                          // SR, RC=1, length 12
    0x11, 0x22, 0x33, 0x44,                          // sender SSRC
    0xe5, 0x4d, 0x6f, 0x00, 0x80, 0x00, 0x00, 0x00,  // NTP
    0x00, 0x01, 0x5f, 0x90,                          // RTP timestamp 90000
    0x00, 0x00, 0x00, 0x64,                          // 100 packets
    0x00, 0x00, 0x27, 0x10,                          // 10000 octets
    0x55, 0x66, 0x77, 0x88,                          // report block: source SSRC
    0x40, 0xff, 0xff, 0xfe,                          // fraction 64/256, cumulative -2
    0x00, 0x01, 0x00, 0x05,                          // extended highest 65541
    0x00, 0x00, 0x00, 0x20,                          // jitter 32
    0x6f, 0x00, 0x80, 0x00,                          // LSR
    0x00, 0x01, 0x00, 0x00,                          // DLSR 1 s
    0x81, 0xca, 0x00, 0x03,                          // SDES, SC=1, length 3
    0x11, 0x22, 0x33, 0x44,                          // SSRC
    0x01, 0x04, 'a', 'b', 'c', 'd', 0x00, 0x00,      // CNAME "abcd", end, pad
};

// TWCC feedback built by hand from the draft's layout: base 100, 4 statuses (small, lost, large, large
// negative), reference time 1 (64 ms), feedback count 3.
const std::vector<uint8_t> kTwcc = {
    0x8f, 0xcd, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x64, 0x00, 0x04, 0x00, 0x00, 0x01, 0x03,
    0xd2, 0x80,              // 2-bit status vector: 01 00 10 10
    0x01, 0x01, 0x2c, 0xff, 0xff,
    0x00,
};
} // namespace

TEST_CASE("A compound SR + SDES parses field by field and writes back identically") {
    auto c = parse_rtcp_compound(kSrSdes, RtcpParseOptions{false});
    REQUIRE(c);
    REQUIRE(c->packets.size() == 2);
    const auto* sr = get<SenderReport>(*c, 0);
    REQUIRE(sr);
    CHECK(sr->sender_ssrc == 0x11223344u);
    CHECK(sr->ntp.value == 0xe54d6f0080000000ULL);
    CHECK(sr->ntp.compact() == 0x6f008000u);
    CHECK(sr->rtp_timestamp == 90000);
    CHECK(sr->packet_count == 100);
    CHECK(sr->octet_count == 10000);
    REQUIRE(sr->report_blocks.size() == 1);
    const auto& rb = sr->report_blocks[0];
    CHECK(rb.source_ssrc == 0x55667788u);
    CHECK(rb.fraction_lost == 64);
    CHECK(rb.cumulative_lost == -2);
    CHECK(rb.extended_highest_sequence == 65541u);
    CHECK(rb.jitter == 32);
    CHECK(rb.last_sr == 0x6f008000u);
    CHECK(from_compact_ntp(rb.delay_since_last_sr) == TimeDelta::seconds(1));
    const auto* sdes = get<Sdes>(*c, 1);
    REQUIRE(sdes);
    REQUIRE(sdes->chunks.size() == 1);
    CHECK(sdes->chunks[0].ssrc == 0x11223344u);
    CHECK(sdes->chunks[0].cname() == std::string("abcd"));
    CHECK(build_rtcp_compound(c->packets) == kSrSdes);
}

TEST_CASE("Report blocks clamp the cumulative loss to 24 signed bits") {
    ReceiverReport rr;
    rr.sender_ssrc = 9;
    rr.report_blocks.push_back(ReportBlock{1, 255, 0x7FFFFF, 1, 2, 3, 4});
    rr.report_blocks.push_back(ReportBlock{2, 0, -0x800000, 1, 2, 3, 4});
    CHECK(round_trip(rr) == rr);
    ReceiverReport big = rr;
    big.report_blocks[0].cumulative_lost = 0x1000000;
    CHECK(round_trip(big).report_blocks[0].cumulative_lost == 0x7FFFFF);
    ReceiverReport empty{7, {}};
    CHECK(bytes_of(empty) == std::vector<uint8_t>{0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 7});
}

TEST_CASE("SDES with several chunks and items, BYE with reason, APP round trip") {
    Sdes sdes;
    sdes.chunks.push_back({1, {{kSdesCname, "user@host"}, {kSdesTool, "rtcpp"}}});
    sdes.chunks.push_back({2, {{kSdesCname, "abc"}}});  // 2+3 bytes: end item + 3 pad
    sdes.chunks.push_back({3, {}});
    CHECK(round_trip(sdes) == sdes);

    Bye bye{{1, 2, 3}, "shutting down"};
    CHECK(round_trip(bye) == bye);
    Bye silent{{0xabcdef01u}, ""};
    CHECK(bytes_of(silent) == std::vector<uint8_t>{0x81, 0xcb, 0x00, 0x01, 0xab, 0xcd, 0xef, 0x01});
    CHECK(round_trip(silent) == silent);

    App app{5, 0x01020304, {'t', 'e', 's', 't'}, {1, 2, 3, 4, 5, 6, 7, 8}};
    CHECK(round_trip(app) == app);
    CHECK(bytes_of(app)[0] == 0x85);
}

TEST_CASE("Generic NACK packs sequence numbers into PID+BLP and unpacks them") {
    Nack n{1, 2, {100, 101, 116, 117, 200, 65535, 0, 15}};
    const auto b = bytes_of(n);
    // Items: (100, bit0 | bit15) (117, 0) (200, 0) (65535, bit0 | bit15).
    const std::vector<uint8_t> expect = {0x81, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2,
                                         0x00, 0x64, 0x80, 0x01, 0x00, 0x75, 0x00, 0x00,
                                         0x00, 0xc8, 0x00, 0x00, 0xff, 0xff, 0x80, 0x01};
    CHECK(b == expect);
    CHECK(n.item_count() == 4);
    auto back = round_trip(n);
    CHECK(back.sequence_numbers == std::vector<uint16_t>{100, 101, 116, 117, 200, 65535, 0, 15});
    // A lone BLP decodes to all 17 numbers.
    const std::vector<uint8_t> all = {0x81, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x0a, 0xff, 0xff};
    auto c = parse_rtcp_compound(all);
    REQUIRE(c);
    const auto* nk = get<Nack>(*c, 0);
    REQUIRE(nk);
    REQUIRE(nk->sequence_numbers.size() == 17);
    CHECK(nk->sequence_numbers.front() == 10);
    CHECK(nk->sequence_numbers.back() == 26);
}

TEST_CASE("PLI, FIR and REMB round trip with their wire bytes") {
    Pli pli{0x01020304, 0x05060708};
    CHECK(bytes_of(pli) == std::vector<uint8_t>{0x81, 0xce, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(round_trip(pli) == pli);

    Fir fir{1, {{0xaabbccddu, 7}, {2, 255}}};
    const auto fb = bytes_of(fir);
    CHECK(fb.size() == 12 + 16);
    CHECK(fb[0] == 0x84);
    CHECK(round_trip(fir) == fir);

    // libwebrtc's REMB layout: 0x8f 0xce, "REMB", 1 SSRC, exp/mantissa.
    Remb remb{1, DataRate::bps(1000000), {0x12345678u}};
    const auto rb = bytes_of(remb);
    // 1,000,000 = 0x F4240 (20 bits): exp 2, mantissa 250000 = 0x3D090.
    const std::vector<uint8_t> expect = {0x8f, 0xce, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0,
                                         'R', 'E', 'M', 'B', 0x01, 0x0b, 0xd0, 0x90, 0x12, 0x34, 0x56, 0x78};
    CHECK(rb == expect);
    CHECK(round_trip(remb) == remb);
    Remb odd{1, DataRate::bps(1000001), {}};
    CHECK(round_trip(odd).bitrate == DataRate::bps(1000000));  // rounded down to what the mantissa holds
    Remb huge{1, DataRate::bps(int64_t{1} << 40), {1, 2}};
    CHECK(round_trip(huge) == huge);
}

TEST_CASE("XR with RRTR and DLRR round trips; unknown blocks are skipped and counted") {
    ExtendedReports xr;
    xr.sender_ssrc = 42;
    xr.rrtr = NtpTime{0x0102030405060708ULL};
    xr.dlrr = {{1, 0x11111111, 0x22222222}, {2, 3, 4}};
    CHECK(round_trip(xr) == xr);
    const std::vector<uint8_t> with_unknown = {0x80, 0xcf, 0x00, 0x06, 0, 0, 0, 42,
                                               0x07, 0x00, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,  // BT 7
                                               0x04, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    auto c = parse_rtcp_compound(with_unknown);
    REQUIRE(c);
    const auto* x = get<ExtendedReports>(*c, 0);
    REQUIRE(x);
    CHECK(x->unknown_blocks == 1);
    CHECK(x->rrtr == NtpTime{0x0000000100000002ULL});
}

TEST_CASE("Transport-cc feedback decodes the hand-built packet") {
    auto c = parse_rtcp_compound(kTwcc);
    REQUIRE(c);
    const auto* fb = get<TransportFeedback>(*c, 0);
    REQUIRE(fb);
    CHECK(fb->sender_ssrc == 1);
    CHECK(fb->media_ssrc == 2);
    CHECK(fb->base_sequence_number == 100);
    CHECK(fb->feedback_count == 3);
    CHECK(fb->reference_time == 1);
    REQUIRE(fb->packets.size() == 4);
    CHECK(fb->packets[0] == TransportFeedback::Packet{100, Timestamp::micros(64250)});
    CHECK(fb->packets[1] == TransportFeedback::Packet{101, std::nullopt});
    CHECK(fb->packets[2] == TransportFeedback::Packet{102, Timestamp::micros(139250)});
    CHECK(fb->packets[3] == TransportFeedback::Packet{103, Timestamp::micros(139000)});
    CHECK(fb->received_count() == 3);
}

TEST_CASE("Transport-cc feedback builds the same bytes from a list with a gap") {
    const std::vector<TransportFeedback::Packet> in = {
        {100, Timestamp::micros(64250)}, {102, Timestamp::micros(139250)}, {103, Timestamp::micros(139000)}};
    auto fb = TransportFeedback::create(1, 2, 3, in);
    REQUIRE(fb);
    CHECK(bytes_of(*fb) == kTwcc);
    CHECK(fb->size() == kTwcc.size());
}

TEST_CASE("Transport-cc chunks: run length, 1-bit and 2-bit vectors all round trip") {
    // 300 received at 1 ms spacing (run length), then alternating loss (1-bit vectors), then a burst of
    // reordered arrivals (2-bit vectors), then a long loss run, then a wrap of the sequence number.
    std::vector<TransportFeedback::Packet> in;
    uint16_t seq = 65000;
    int64_t t = 10'000'000;
    for (int i = 0; i < 300; ++i, ++seq) in.push_back({seq, Timestamp::micros(t += 1000)});
    for (int i = 0; i < 60; ++i, ++seq) {
        if (i % 2 == 0) in.push_back({seq, Timestamp::micros(t += 250)});
    }
    for (int i = 0; i < 20; ++i, ++seq) in.push_back({seq, Timestamp::micros(t += (i % 2 ? -5000 : 80000))});
    seq = static_cast<uint16_t>(seq + 9000);  // 9000 lost: longer than one run-length chunk
    for (int i = 0; i < 700; ++i, ++seq) in.push_back({seq, Timestamp::micros(t += 500)});
    auto fb = TransportFeedback::create(7, 8, 200, in);
    REQUIRE(fb);
    CHECK(fb->packets.size() == 300 + 60 + 20 + 9000 + 700);
    const auto b = bytes_of(*fb);
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    const auto* back = get<TransportFeedback>(*c, 0);
    REQUIRE(back);
    CHECK(*back == *fb);
    // Every input packet reports its own arrival (all inputs are multiples of 250 µs).
    size_t j = 0;
    for (const auto& p : back->packets) {
        if (!p.arrival) continue;
        CHECK(p.sequence_number == in[j].sequence_number);
        CHECK(*p.arrival == *in[j].arrival);
        ++j;
    }
    CHECK(j == in.size());
}

TEST_CASE("Transport-cc create refuses what it cannot encode") {
    CHECK(!TransportFeedback::create(1, 2, 0, {}));
    const std::vector<TransportFeedback::Packet> far = {{1, Timestamp::seconds(1)}, {2, Timestamp::seconds(10)}};
    CHECK(!TransportFeedback::create(1, 2, 0, far));
    const std::vector<TransportFeedback::Packet> backwards = {{5, Timestamp::seconds(1)}, {3, Timestamp::seconds(1)}};
    CHECK(!TransportFeedback::create(1, 2, 0, backwards));
    // A duplicate that is received replaces the loss it repeats.
    const std::vector<TransportFeedback::Packet> dup = {{5, std::nullopt}, {5, Timestamp::millis(3)}};
    auto fb = TransportFeedback::create(1, 2, 0, dup);
    REQUIRE(fb);
    REQUIRE(fb->packets.size() == 1);
    CHECK(fb->packets[0].arrival == Timestamp::millis(3));
    // All lost is encodable.
    const std::vector<TransportFeedback::Packet> lost = {{5, std::nullopt}, {9, std::nullopt}};
    auto l = TransportFeedback::create(1, 2, 0, lost);
    REQUIRE(l);
    CHECK(round_trip(*l) == *l);
}

TEST_CASE("Transport-cc parse rejects lies") {
    auto parse_body = [](std::vector<uint8_t> b) {
        return parse_rtcp_compound(b);
    };
    // Status count 4 but only a run-length chunk of 2 and nothing else.
    {
        std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0,
                                  0x20, 0x02, 0x00, 0x00};
        auto c = parse_body(b);
        REQUIRE(c);
        CHECK(c->malformed == 1);
        CHECK(c->packets.empty());
    }
    // Deltas missing.
    {
        std::vector<uint8_t> b = kTwcc;
        b.resize(24);
        b[3] = 0x05;
        auto c = parse_body(b);
        REQUIRE(c);
        CHECK(c->malformed == 1);
    }
    // Reserved symbol 3 in a run-length chunk.
    {
        std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0,
                                  0x60, 0x01, 0x00, 0x00};
        auto c = parse_body(b);
        REQUIRE(c);
        CHECK(c->malformed == 1);
    }
    // Status count 0.
    {
        std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
        auto c = parse_body(b);
        REQUIRE(c);
        CHECK(c->malformed == 1);
    }
    // Status count 65535 with room for a single chunk: rejected before allocating.
    {
        std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
                                  0x3f, 0xff, 0x00, 0x00};
        auto c = parse_body(b);
        REQUIRE(c);
        CHECK(c->malformed == 1);
    }
}

TEST_CASE("RFC 8888 CCFB round trips and decodes the wire layout") {
    CongestionControlFeedback fb;
    fb.sender_ssrc = 0x01;
    fb.report_timestamp = 0x12345678;
    CongestionControlFeedback::Stream a{0xaa, 65534, {}};
    a.packets.push_back({65534, true, 1, TimeDelta::zero()});
    a.packets.push_back({65535, false, 0, std::nullopt});
    a.packets.push_back({0, true, 3, std::nullopt});
    CongestionControlFeedback::Stream b{0xbb, 10, {}};
    b.packets.push_back({10, true, 0, TimeDelta::micros(1000000)});
    b.packets.push_back({11, true, 2, TimeDelta::seconds(20)});
    fb.streams = {a, b};
    const auto bytes = bytes_of(fb);
    const std::vector<uint8_t> expect = {
        0x8b, 0xcd, 0x00, 0x09, 0, 0, 0, 1,
        0, 0, 0, 0xaa, 0xff, 0xfe, 0x00, 0x03, 0xa0, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
        0, 0, 0, 0xbb, 0x00, 0x0a, 0x00, 0x02, 0x84, 0x00, 0xdf, 0xfe,
        0x12, 0x34, 0x56, 0x78};
    CHECK(bytes == expect);
    auto back = round_trip(fb);
    CHECK(back.report_timestamp == fb.report_timestamp);
    REQUIRE(back.streams.size() == 2);
    CHECK(back.streams[0] == a);
    CHECK(back.streams[1].packets[0] == b.packets[0]);
    // 20 s is beyond the ATO range: it comes back as the maximum.
    CHECK(back.streams[1].packets[1].arrival_time_offset ==
          CongestionControlFeedback::decode_ato(CongestionControlFeedback::kAtoMax));
    // A num_reports that runs into the report timestamp is a lie.
    std::vector<uint8_t> lying = expect;
    lying[31] = 0x04;
    auto c = parse_rtcp_compound(lying);
    REQUIRE(c);
    CHECK(c->malformed == 1);
}

TEST_CASE("The compound parser rejects lying lengths and bad headers") {
    RtcpCompoundError err{};
    auto rejects = [&](std::vector<uint8_t> b, RtcpParseOptions o = {}) { return !parse_rtcp_compound(b, o, &err); };
    CHECK(rejects({}));
    CHECK(err == RtcpCompoundError::Empty);
    CHECK(rejects({0x80, 0xc9, 0x00}));
    CHECK(err == RtcpCompoundError::BadHeader);
    // Length says 2 words, 1 present.
    CHECK(rejects({0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1}));
    CHECK(err == RtcpCompoundError::BadHeader);
    // Second sub-packet lies: the whole datagram is dropped.
    auto lying = kSrSdes;
    lying[kSrSdes.size() - 16 + 3] = 0x09;
    CHECK(rejects(lying));
    CHECK(err == RtcpCompoundError::BadHeader);
    // Version 1.
    CHECK(rejects({0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 1}));
    // Padding count larger than the body.
    CHECK(rejects({0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 9}));
    // Padding count zero.
    CHECK(rejects({0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0}));
    // A trailing partial header.
    auto tail = kSrSdes;
    tail.push_back(0x80);
    CHECK(rejects(tail));
    // Compound rules: must start with SR/RR unless reduced size is allowed.
    const std::vector<uint8_t> pli = {0x81, 0xce, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(rejects(pli, RtcpParseOptions{false}));
    CHECK(err == RtcpCompoundError::NotCompound);
    CHECK(parse_rtcp_compound(pli));
}

TEST_CASE("Bodies that contradict their count are malformed, not fatal") {
    // RR claiming 2 report blocks with room for 1, followed by a valid PLI.
    std::vector<uint8_t> b = {0x82, 0xc9, 0x00, 0x07, 0, 0, 0, 1};
    for (int i = 0; i < 24; ++i) b.push_back(0);
    for (uint8_t x : {0x81, 0xce, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8}) b.push_back(x);
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    CHECK(c->malformed == 1);
    REQUIRE(c->packets.size() == 1);
    CHECK(std::holds_alternative<Pli>(c->packets[0]));

    auto malformed = [](std::vector<uint8_t> x) {
        auto c = parse_rtcp_compound(x);
        REQUIRE(c);
        return c->malformed == 1 && c->packets.empty();
    };
    CHECK(malformed({0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1}));                            // SR too short
    CHECK(malformed({0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 'a', 'b'}));     // SDES item overruns
    CHECK(malformed({0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 'b'}));     // SDES without end item
    CHECK(malformed({0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1}));                            // BYE count 2, 1 SSRC
    CHECK(malformed({0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x07, 'a', 'b', 'c'}));       // BYE reason overruns
    CHECK(malformed({0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 1}));                            // APP without name
    CHECK(malformed({0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2}));                // NACK without items
    CHECK(malformed({0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1}));                            // PLI too short
    CHECK(malformed({0x84, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}));    // FIR half an entry
    CHECK(malformed({0x8f, 0xce, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0x02, 0, 0, 1,
                     0, 0, 0, 1}));                                                    // REMB 2 SSRCs, 1 there
    CHECK(malformed({0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0x00, 0xff, 0, 1}));
    CHECK(malformed({0x80, 0xcf, 0x00, 0x03, 0, 0, 0, 1, 0x04, 0, 0x00, 0x02, 0, 0, 0, 0}));  // RRTR overruns
    CHECK(malformed({0x80, 0xcf, 0x00, 0x03, 0, 0, 0, 1, 0x05, 0, 0x00, 0x01, 0, 0, 0, 0}));  // DLRR 1 word
}

TEST_CASE("Unknown packet types and feedback formats are kept and counted") {
    std::vector<uint8_t> b = {0x80, 0xd0, 0x00, 0x01, 1, 2, 3, 4,                  // PT 208
                              0x83, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,       // RTPFB FMT 3 (TMMBR-ish)
                              0x8f, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'X', 'Y', 'Z', 'W'};  // AFB, not REMB
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    CHECK(c->unknown == 3);
    CHECK(c->malformed == 0);
    REQUIRE(c->packets.size() == 3);
    const auto* u = get<UnknownRtcpPacket>(*c, 0);
    REQUIRE(u);
    CHECK(u->packet_type == 208);
    CHECK(u->packet.size() == 8);
    // Unknown packets are written back verbatim.
    CHECK(build_rtcp_compound(c->packets) == b);
}

TEST_CASE("Padding on a sub-packet is removed before parsing its body") {
    const std::vector<uint8_t> b = {0xa1, 0xce, 0x00, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 4};
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    REQUIRE(c->packets.size() == 1);
    CHECK(std::get<Pli>(c->packets[0]) == Pli{0x01020304, 0x05060708});
}

TEST_CASE("Compact NTP conversions") {
    CHECK(to_compact_ntp(TimeDelta::seconds(1)) == 0x10000u);
    CHECK(to_compact_ntp(TimeDelta::millis(500)) == 0x8000u);
    CHECK(to_compact_ntp(-TimeDelta::seconds(1)) == 0u);
    CHECK(from_compact_ntp(0x18000u) == TimeDelta::millis(1500));
}

TEST_CASE("Transport-cc: the draft's run-length and 1-bit vector chunk examples decode") {
    // Run of 221 "not received" (0|00|0000011011101), then a 1-bit vector 1|0|01111100011100: 1 lost,
    // 5 received, 3 lost, 3 received, 2 lost. 8 small deltas of 1..8 ticks.
    std::vector<uint8_t> b = {0x8f, 0xcd, 0x00, 0x00, 0, 0, 0, 1, 0, 0, 0, 2,
                              0x00, 0x0a, 0x00, 235, 0x00, 0x00, 0x02, 0x00,
                              0x00, 0xdd, 0x9f, 0x1c, 1, 2, 3, 4, 5, 6, 7, 8};
    b[3] = static_cast<uint8_t>(b.size() / 4 - 1);
    auto c = parse_rtcp_compound(b);
    REQUIRE(c);
    const auto* fb = get<TransportFeedback>(*c, 0);
    REQUIRE(fb);
    REQUIRE(fb->packets.size() == 235);
    for (size_t i = 0; i < 221; ++i) CHECK(!fb->packets[i].arrival);
    const bool expect[14] = {false, true, true, true, true, true, false, false, false, true, true, true, false, false};
    int64_t ticks = 0;
    int k = 0;
    for (size_t i = 0; i < 14; ++i) {
        const auto& p = fb->packets[221 + i];
        CHECK(p.sequence_number == 10 + 221 + i);
        REQUIRE(p.arrival.has_value() == expect[i]);
        if (p.arrival) {
            ticks += ++k;
            CHECK(*p.arrival == Timestamp::micros(2 * 64000 + ticks * 250));
        }
    }
    // Our encoder folds the vector's leading loss into the run (222, then 1|0|11111000111000): as compact,
    // and it decodes to the same list.
    const auto again = bytes_of(*fb);
    CHECK(again.size() == b.size());
    CHECK(again[20] == 0x00);
    CHECK(again[21] == 0xde);
    CHECK(again[22] == 0xbe);
    CHECK(again[23] == 0x38);
    CHECK(round_trip(*fb) == *fb);
}
