#include "cc/transport_feedback_adapter.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::cc;

namespace {

SentPacket sent(uint16_t seq, int64_t ms, int64_t bytes = 1000) {
    SentPacket p;
    p.transport_seq = seq;
    p.send_time = Timestamp::millis(ms);
    p.size = DataSize::bytes(bytes);
    return p;
}

} // namespace

TEST_CASE("SeqNumUnwrapper extends across the 16-bit wrap in both directions") {
    SeqNumUnwrapper u;
    CHECK(u.unwrap(65534) == 65534);
    CHECK(u.unwrap(65535) == 65535);
    CHECK(u.unwrap(0) == 65536);
    CHECK(u.unwrap(5) == 65541);
    CHECK(u.unwrap(65533) == 65533);  // reordered back over the wrap
    CHECK(u.peek(2) == 65538);
}

TEST_CASE("feedback maps arrivals and losses to the sent packets") {
    TransportFeedbackAdapter a;
    for (uint16_t i = 0; i < 5; ++i) a.add_packet(sent(static_cast<uint16_t>(100 + i), 10 * i));
    CHECK(a.data_in_flight() == DataSize::bytes(5000));

    TransportFeedback fb;
    fb.receive_time = Timestamp::millis(200);
    fb.packets = {{100, Timestamp::millis(1050)}, {101, std::nullopt}, {102, Timestamp::millis(1075)}};
    auto r = a.process_feedback(fb);
    REQUIRE(r);
    REQUIRE(r->packet_feedbacks.size() == 3);
    CHECK(r->packet_feedbacks[0].sent_packet.sequence_number == 100);
    CHECK(r->packet_feedbacks[0].sent_packet.send_time == Timestamp::millis(0));
    CHECK(r->packet_feedbacks[0].is_received());
    CHECK_FALSE(r->packet_feedbacks[1].is_received());
    // Arrival deltas survive the clock-domain shift.
    CHECK(r->packet_feedbacks[2].receive_time - r->packet_feedbacks[0].receive_time == TimeDelta::millis(25));
    CHECK(r->lost_with_send_info().size() == 1);
    CHECK(r->prior_in_flight == DataSize::bytes(5000));
    CHECK(r->data_in_flight == DataSize::bytes(2000));

    // A late report that the lost packet arrived after all wins; a second arrival report is a duplicate.
    TransportFeedback fb2;
    fb2.receive_time = Timestamp::millis(250);
    fb2.packets = {{101, Timestamp::millis(1090)}, {102, Timestamp::millis(1075)}, {103, Timestamp::millis(1100)}};
    auto r2 = a.process_feedback(fb2);
    REQUIRE(r2);
    REQUIRE(r2->packet_feedbacks.size() == 2);
    CHECK(r2->packet_feedbacks[0].sent_packet.sequence_number == 101);
    CHECK(r2->packet_feedbacks[0].is_received());
    CHECK(a.stats().duplicate_reports == 1);
    CHECK(a.data_in_flight() == DataSize::bytes(1000));
}

TEST_CASE("feedback across the sequence number wrap and unknown packets") {
    TransportFeedbackAdapter a;
    for (int i = 0; i < 10; ++i) a.add_packet(sent(static_cast<uint16_t>(65530 + i), i));
    TransportFeedback fb;
    fb.receive_time = Timestamp::millis(100);
    fb.packets = {{65535, Timestamp::millis(5)}, {0, Timestamp::millis(6)}, {3, Timestamp::millis(9)},
                  {20, Timestamp::millis(9)}};
    auto r = a.process_feedback(fb);
    REQUIRE(r);
    REQUIRE(r->packet_feedbacks.size() == 3);
    CHECK(r->packet_feedbacks[1].sent_packet.sequence_number == 65536);
    CHECK(r->packet_feedbacks[2].sent_packet.send_time == Timestamp::millis(9));
    CHECK(a.stats().unknown_packets == 1);
}

TEST_CASE("history is bounded by age") {
    TransportFeedbackAdapter a;
    a.add_packet(sent(1, 0));
    a.add_packet(sent(2, 1));
    a.add_packet(sent(3, 61000));  // 61 s later: the first two are gone
    CHECK(a.data_in_flight() == DataSize::bytes(1000));
    TransportFeedback fb;
    fb.receive_time = Timestamp::millis(61100);
    fb.packets = {{1, Timestamp::millis(10)}, {3, Timestamp::millis(20)}};
    auto r = a.process_feedback(fb);
    REQUIRE(r);
    CHECK(r->packet_feedbacks.size() == 1);
    CHECK(a.stats().unknown_packets == 1);
    CHECK(a.stats().history_pruned == 2);
}
