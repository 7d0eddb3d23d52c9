#include "sctp/dcep.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::sctp;

TEST_CASE("DCEP: DATA_CHANNEL_OPEN round trip with wire layout of RFC 8832 §5.1") {
    DcepOpen open;
    open.channel_type = DcepChannelType::PartialReliableRexmitUnordered;
    open.priority = 512;
    open.reliability_parameter = 3;
    open.label = "chat";
    open.protocol = "x";
    auto bytes = serialize_dcep(open);
    REQUIRE(bytes.ok());
    const std::vector<uint8_t> expected = {0x03, 0x81, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04,
                                           0x00, 0x01, 'c',  'h',  'a',  't',  'x'};
    CHECK(*bytes == expected);
    auto parsed = parse_dcep(*bytes);
    REQUIRE(parsed.ok());
    REQUIRE(std::holds_alternative<DcepOpen>(*parsed));
    CHECK(std::get<DcepOpen>(*parsed) == open);
    auto r = std::get<DcepOpen>(*parsed).reliability();
    CHECK_FALSE(r.ordered);
    CHECK(r.max_retransmits == std::optional<uint32_t>(3));
    CHECK_FALSE(r.max_packet_life_time_ms.has_value());
}

TEST_CASE("DCEP: ACK is one byte") {
    auto bytes = serialize_dcep(DcepAck{});
    REQUIRE(bytes.ok());
    CHECK(*bytes == std::vector<uint8_t>{0x02});
    auto parsed = parse_dcep(*bytes);
    REQUIRE(parsed.ok());
    CHECK(std::holds_alternative<DcepAck>(*parsed));
}

TEST_CASE("DCEP: channel types map to reliability both ways") {
    for (bool ordered : {true, false}) {
        Reliability reliable{ordered, std::nullopt, std::nullopt};
        Reliability rexmit{ordered, 0u, std::nullopt};
        Reliability timed{ordered, std::nullopt, 150u};
        for (const auto& r : {reliable, rexmit, timed}) {
            DcepOpen open;
            open.channel_type = channel_type_for(r);
            open.reliability_parameter = r.max_retransmits.value_or(r.max_packet_life_time_ms.value_or(0));
            auto again = parse_dcep(*serialize_dcep(open));
            REQUIRE(again.ok());
            CHECK(std::get<DcepOpen>(*again).reliability() == r);
        }
    }
    CHECK(channel_type_for({true, std::nullopt, std::nullopt}) == DcepChannelType::Reliable);
    CHECK(channel_type_for({false, std::nullopt, 10u}) == DcepChannelType::PartialReliableTimedUnordered);
}

TEST_CASE("DCEP: malformed messages are errors, never crashes") {
    CHECK_FALSE(parse_dcep({}).ok());
    const std::vector<uint8_t> unknown_type = {0x07};
    CHECK_FALSE(parse_dcep(unknown_type).ok());
    const std::vector<uint8_t> short_header = {0x03, 0x00, 0x01, 0x00};
    CHECK_FALSE(parse_dcep(short_header).ok());
    const std::vector<uint8_t> bad_channel_type = {0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_FALSE(parse_dcep(bad_channel_type).ok());
    const std::vector<uint8_t> label_past_end = {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 'a', 'b'};
    auto r = parse_dcep(label_past_end);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().layer == "sctp");
    // Trailing bytes after a complete message are tolerated (room for extensions).
    const std::vector<uint8_t> trailing = {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 'a', 0xff, 0xff};
    auto t = parse_dcep(trailing);
    REQUIRE(t.ok());
    CHECK(std::get<DcepOpen>(*t).label == "a");
}

TEST_CASE("DCEP: reliability parameter of reliable channels is normalised to 0") {
    const std::vector<uint8_t> bytes = {0x03, 0x80, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0};
    auto r = parse_dcep(bytes);
    REQUIRE(r.ok());
    CHECK(std::get<DcepOpen>(*r).reliability_parameter == 0);
}

TEST_CASE("DCEP: oversize label refused by the serializer") {
    DcepOpen open;
    open.label.assign(70000, 'x');
    CHECK_FALSE(serialize_dcep(open).ok());
}
