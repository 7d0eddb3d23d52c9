// The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK, and the SCTP
// payload protocol identifiers of WebRTC data channels (RFC 8831 §8).
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rtcpp::sctp {

/// SCTP payload protocol identifiers used by WebRTC (RFC 8831 §8, RFC 8832 §8.1).
enum class Ppid : uint32_t {
    Dcep = 50,
    String = 51,
    StringPartial = 52,  // deprecated, still accepted on receive
    Binary = 53,
    BinaryPartial = 54,  // deprecated, still accepted on receive
    StringEmpty = 56,
    BinaryEmpty = 57,
};

enum class DcepMessageType : uint8_t {
    Ack = 0x02,
    Open = 0x03,
};

/// RFC 8832 §5.1 channel types: the high bit means unordered, the low bits the reliability policy.
enum class DcepChannelType : uint8_t {
    Reliable = 0x00,
    ReliableUnordered = 0x80,
    PartialReliableRexmit = 0x01,
    PartialReliableRexmitUnordered = 0x81,
    PartialReliableTimed = 0x02,
    PartialReliableTimedUnordered = 0x82,
};

/// How a channel delivers: what DCEP announces and what each message is sent with.
struct Reliability {
    bool ordered = true;
    /// At most one of these is set (W3C: maxRetransmits and maxPacketLifeTime are exclusive).
    std::optional<uint32_t> max_retransmits;
    std::optional<uint32_t> max_packet_life_time_ms;
    bool operator==(const Reliability&) const = default;
};

DcepChannelType channel_type_for(const Reliability& r);

struct DcepOpen {
    DcepChannelType channel_type = DcepChannelType::Reliable;
    uint16_t priority = 256;
    /// Retransmissions or lifetime in ms, depending on channel_type; 0 for reliable channels.
    uint32_t reliability_parameter = 0;
    std::string label;
    std::string protocol;

    Reliability reliability() const;
    bool operator==(const DcepOpen&) const = default;
};

struct DcepAck {
    bool operator==(const DcepAck&) const = default;
};

using DcepMessage = std::variant<DcepOpen, DcepAck>;

/// Parses one DCEP message (the whole payload of a PPID 50 SCTP message). Unknown message or channel types,
/// and lengths that run past the end, are errors; bytes after a complete message are ignored (RFC 8832 leaves
/// room for extensions).
Result<DcepMessage> parse_dcep(ByteView payload);

/// Serialises a message. A label or protocol longer than 65535 bytes is an error.
Result<std::vector<uint8_t>> serialize_dcep(const DcepMessage& message);

} // namespace rtcpp::sctp
