#include "rtcp/rtcp_packets.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/nack_responder.hpp"
#include "rtp/rtx.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
using Bytes = std::vector<uint8_t>;
using Seqs = std::vector<uint16_t>;

Timestamp at_ms(int64_t ms) { return Timestamp::millis(1000) + TimeDelta::millis(ms); }

Seqs drain(NackGenerator& g) {
    Seqs out;
    while (auto n = g.poll_nack()) out.insert(out.end(), n->sequence_numbers.begin(), n->sequence_numbers.end());
    return out;
}

NackGeneratorConfig gen_config() {
    NackGeneratorConfig c;
    c.sender_ssrc = 0x1111;
    c.media_ssrc = 0x2222;
    c.reorder_allowance = TimeDelta::millis(5);
    c.default_rtt = TimeDelta::millis(100);
    c.retry_margin = TimeDelta::millis(10);
    return c;
}

Bytes media_packet(uint16_t seq, size_t payload_size, uint32_t ssrc = 0xABCD, uint8_t pt = 96) {
    RtpHeader h;
    h.payload_type = pt;
    h.sequence_number = seq;
    h.timestamp = 9000u * seq;
    h.ssrc = ssrc;
    Bytes payload(payload_size);
    for (size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<uint8_t>(seq + i);
    return build_rtp_packet(h, payload);
}

rtcp::Nack nack_for(uint32_t ssrc, Seqs seqs) {
    rtcp::Nack n;
    n.sender_ssrc = 1;
    n.media_ssrc = ssrc;
    n.sequence_numbers = std::move(seqs);
    return n;
}
} // namespace

// --- NackGenerator --------------------------------------------------------------------------------------------

TEST_CASE("NackGenerator asks for a gap after the reorder allowance, not before") {
    NackGenerator g(gen_config());
    g.handle_packet(at_ms(0), 10);
    g.handle_packet(at_ms(1), 11);
    g.handle_packet(at_ms(2), 14);
    CHECK(g.list_size() == 2);
    g.handle_timeout(at_ms(4));
    CHECK(drain(g).empty());
    CHECK(g.poll_timeout() == at_ms(7));
    g.handle_timeout(at_ms(7));
    CHECK(drain(g) == Seqs{12, 13});
    CHECK(g.stats().nack_packets == 1);
}

TEST_CASE("NackGenerator: a reordered packet arriving within the allowance is never requested") {
    NackGenerator g(gen_config());
    g.handle_packet(at_ms(0), 100);
    g.handle_packet(at_ms(1), 102);
    g.handle_packet(at_ms(3), 101);
    g.handle_timeout(at_ms(50));
    CHECK(drain(g).empty());
    CHECK(g.list_size() == 0);
    CHECK(g.stats().recovered == 1);
}

TEST_CASE("NackGenerator handles the 16-bit wrap") {
    NackGenerator g(gen_config());
    g.handle_packet(at_ms(0), 65534);
    g.handle_packet(at_ms(0), 65535);
    g.handle_packet(at_ms(1), 2);
    g.handle_timeout(at_ms(10));
    CHECK(drain(g) == Seqs{0, 1});
    CHECK(g.is_missing(0));
    g.handle_packet(at_ms(12), 0);
    CHECK_FALSE(g.is_missing(0));
    CHECK(g.is_missing(1));
}

TEST_CASE("NackGenerator retries once per RTT + margin, then gives up and asks for a keyframe") {
    auto c = gen_config();
    c.max_retries = 3;
    NackGenerator g(c);
    g.set_rtt(TimeDelta::millis(50));
    g.handle_packet(at_ms(0), 1);
    g.handle_packet(at_ms(0), 3);
    g.handle_timeout(at_ms(5));
    CHECK(drain(g) == Seqs{2});
    g.handle_timeout(at_ms(40));  // less than one RTT later: no repeat
    CHECK(drain(g).empty());
    g.handle_timeout(at_ms(60));  // one RTT, but not the margin
    CHECK(drain(g).empty());
    CHECK(g.poll_timeout() == at_ms(65));
    g.handle_timeout(at_ms(65));
    CHECK(drain(g) == Seqs{2});
    g.handle_timeout(at_ms(125));
    CHECK(drain(g) == Seqs{2});
    CHECK_FALSE(g.poll_keyframe_request());
    g.handle_timeout(at_ms(185));  // three requests sent: given up
    CHECK(drain(g).empty());
    CHECK(g.list_size() == 0);
    CHECK(g.stats().given_up == 1);
    CHECK(g.poll_keyframe_request());
    CHECK_FALSE(g.poll_keyframe_request());
}

TEST_CASE("NackGenerator gives up entries older than max_age") {
    auto c = gen_config();
    c.max_age = TimeDelta::millis(120);
    c.max_retries = 100;
    NackGenerator g(c);
    g.handle_packet(at_ms(0), 1);
    g.handle_packet(at_ms(0), 3);
    for (int t = 5; t <= 300; t += 5) {
        g.handle_timeout(at_ms(t));
        drain(g);
    }
    CHECK(g.list_size() == 0);
    CHECK(g.stats().nack_requests == 2);  // at 5 and 115 ms; at 225 ms it was too old
    CHECK(g.poll_keyframe_request());
}

TEST_CASE("NackGenerator bounds its list: entries before a keyframe go first, else everything and a keyframe request") {
    auto c = gen_config();
    c.max_list_size = 10;
    SUBCASE("a keyframe makes the older entries unnecessary") {
        NackGenerator g(c);
        g.handle_packet(at_ms(0), 0);
        g.handle_packet(at_ms(0), 9);             // 1..8 missing
        g.handle_packet(at_ms(0), 12, true);      // 10, 11 missing: 10 entries
        CHECK(g.list_size() == 10);
        g.handle_packet(at_ms(0), 14);            // 13 missing: over the limit
        CHECK(g.list_size() == 1);
        CHECK(g.is_missing(13));
        CHECK_FALSE(g.poll_keyframe_request());
    }
    SUBCASE("without a keyframe the list is cleared and a keyframe requested") {
        NackGenerator g(c);
        g.handle_packet(at_ms(0), 0);
        g.handle_packet(at_ms(0), 9);
        g.handle_packet(at_ms(0), 13);
        CHECK(g.list_size() == 0);
        CHECK(g.poll_keyframe_request());
    }
    SUBCASE("a jump larger than the list is not expanded") {
        NackGenerator g(c);
        g.handle_packet(at_ms(0), 0);
        g.handle_packet(at_ms(0), 30000);
        CHECK(g.list_size() == 0);
        CHECK(g.stats().jumps == 1);
        CHECK(g.poll_keyframe_request());
    }
}

TEST_CASE("NackGenerator: duplicates and clear_before") {
    NackGenerator g(gen_config());
    g.handle_packet(at_ms(0), 1);
    g.handle_packet(at_ms(0), 5);
    g.handle_packet(at_ms(0), 5);
    CHECK(g.stats().duplicates == 1);
    CHECK(g.list_size() == 3);
    g.clear_before(4);
    CHECK(g.list_size() == 1);
    g.handle_timeout(at_ms(10));
    CHECK(drain(g) == Seqs{4});
}

TEST_CASE("NackGenerator's serialized NACK parses back to the requested numbers") {
    NackGenerator g(gen_config());
    g.handle_packet(at_ms(0), 100);
    g.handle_packet(at_ms(0), 104);
    g.handle_packet(at_ms(0), 140);
    g.handle_timeout(at_ms(10));
    const auto bytes = g.poll_transmit();
    REQUIRE(bytes);
    ByteReader r(*bytes);
    const auto h = rtcp::read_rtcp_header(r);
    REQUIRE(h);
    CHECK(h->packet_type == rtcp::kRtpFeedback);
    CHECK(h->count == rtcp::kFmtNack);
    const auto n = rtcp::Nack::parse(*h);
    REQUIRE(n);
    CHECK(n->sender_ssrc == 0x1111);
    CHECK(n->media_ssrc == 0x2222);
    Seqs expect{101, 102, 103};
    for (uint16_t s = 105; s < 140; ++s) expect.push_back(s);
    CHECK(n->sequence_numbers == expect);
}

TEST_CASE("NackGenerator splits long lists over several packets") {
    auto c = gen_config();
    c.max_per_packet = 50;
    NackGenerator g(c);
    g.handle_packet(at_ms(0), 0);
    g.handle_packet(at_ms(0), 121);
    g.handle_timeout(at_ms(10));
    size_t packets = 0, total = 0;
    while (auto n = g.poll_nack()) {
        ++packets;
        CHECK(n->sequence_numbers.size() <= 50);
        total += n->sequence_numbers.size();
    }
    CHECK(packets == 3);
    CHECK(total == 120);
}

// --- PacketHistory / NackResponder ----------------------------------------------------------------------------

TEST_CASE("PacketHistory is bounded by count and age") {
    PacketHistoryConfig hc;
    hc.max_packets = 100;
    hc.max_age = TimeDelta::millis(500);
    PacketHistory h(hc);
    for (uint16_t s = 0; s < 300; ++s) CHECK(h.put(at_ms(s), media_packet(s, 10)));
    CHECK(h.size() == 100);
    CHECK(h.get(at_ms(300), 199) == nullptr);
    REQUIRE(h.get(at_ms(300), 200) != nullptr);
    CHECK(h.get(at_ms(300), 299)->sequence_number == 299);
    CHECK(h.get(at_ms(799), 299) != nullptr);
    CHECK(h.get(at_ms(801), 299) == nullptr);
    h.expire(at_ms(1000));
    CHECK(h.size() == 0);
    CHECK_FALSE(h.put(at_ms(0), Bytes{1, 2, 3}));
}

TEST_CASE("NackResponder resends the original packet when no RTX stream exists") {
    NackResponder r(0xABCD);
    for (uint16_t s = 65530; s != 5; ++s) r.on_packet_sent(at_ms(0), media_packet(s, 100));
    r.handle_nack(at_ms(10), nack_for(0xABCD, {65534, 2}));
    auto a = r.poll_transmit();
    auto b = r.poll_transmit();
    REQUIRE(a);
    REQUIRE(b);
    CHECK_FALSE(r.poll_transmit());
    CHECK(*a == media_packet(65534, 100));
    CHECK(*b == media_packet(2, 100));
    CHECK(r.stats().retransmitted == 2);
}

TEST_CASE("NackResponder sends RTX with the OSN first and its own sequence numbers") {
    NackResponderConfig c;
    c.rtx = RtxConfig{97, 0x5555, 1000};
    NackResponder r(0xABCD, c);
    for (uint16_t s = 0; s < 10; ++s) r.on_packet_sent(at_ms(0), media_packet(s, 100));
    r.handle_nack(at_ms(10), nack_for(0xABCD, {3, 7, 42}));
    std::vector<Bytes> out;
    while (auto p = r.poll_transmit()) out.push_back(*p);
    REQUIRE(out.size() == 2);
    CHECK(r.stats().not_in_history == 1);
    for (size_t i = 0; i < 2; ++i) {
        const auto v = RtpPacketView::parse(out[i]);
        REQUIRE(v);
        CHECK(v->ssrc() == 0x5555);
        CHECK(v->payload_type() == 97);
        CHECK(v->sequence_number() == 1000 + i);
        const uint16_t osn = static_cast<uint16_t>(v->payload()[0] << 8 | v->payload()[1]);
        CHECK(osn == (i == 0 ? 3 : 7));
        const auto original = unwrap_rtx(*v, 96, 0xABCD);
        REQUIRE(original);
        CHECK(*original == media_packet(osn, 100));
    }
    CHECK(r.stats().retransmitted_bytes == out[0].size() + out[1].size());
}

TEST_CASE("NackResponder does not resend a packet twice within 3/4 RTT") {
    NackResponder r(0xABCD);
    r.set_rtt(TimeDelta::millis(80));
    r.on_packet_sent(at_ms(0), media_packet(1, 100));
    r.handle_nack(at_ms(10), nack_for(0xABCD, {1}));
    r.handle_nack(at_ms(50), nack_for(0xABCD, {1}));  // 40 ms later: crossed our retransmission
    CHECK(r.stats().retransmitted == 1);
    CHECK(r.stats().too_soon == 1);
    r.handle_nack(at_ms(75), nack_for(0xABCD, {1}));  // 65 ms later: the receiver's retry, a bit early
    CHECK(r.stats().retransmitted == 2);
    r.handle_nack(at_ms(95), nack_for(0xABCD, {1}));
    CHECK(r.stats().retransmitted == 2);
    CHECK(r.stats().too_soon == 2);
    r.handle_nack(at_ms(100), nack_for(0x9999, {1}));
    CHECK(r.stats().wrong_ssrc == 1);
}

TEST_CASE("NackResponder keeps retransmissions within its share of the target rate") {
    NackResponderConfig c;
    c.target_rate = DataRate::kbps(1000);
    c.max_retransmit_share = 0.1;                 // 12500 bytes/s
    c.burst_window = TimeDelta::millis(250);      // 3125 bytes of burst
    c.history.max_age = TimeDelta::seconds(100);
    c.history.max_packets = 4096;
    NackResponder r(0xABCD, c);
    r.set_rtt(TimeDelta::millis(1));
    const size_t packet_size = media_packet(0, 988).size();
    REQUIRE(packet_size == 1000);
    for (uint16_t s = 0; s < 4000; ++s) r.on_packet_sent(at_ms(0), media_packet(s, 988));
    // The receiver asks for everything, 20 packets every 10 ms, for 10 s.
    uint64_t bytes = 0;
    uint16_t next = 0;
    for (int t = 0; t < 10000; t += 10) {
        Seqs ask;
        for (int i = 0; i < 20; ++i) ask.push_back(next++ % 4000);
        r.handle_nack(at_ms(t), nack_for(0xABCD, ask));
        while (auto p = r.poll_transmit()) bytes += p->size();
    }
    CHECK(r.stats().rate_limited > 0);
    // 10 s at 12500 bytes/s plus one bucket.
    CHECK(bytes <= 125000 + 3125);
    CHECK(bytes >= 120000);
    CHECK(bytes == r.stats().retransmitted_bytes);
}
