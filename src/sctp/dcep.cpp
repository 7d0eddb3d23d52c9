#include "sctp/dcep.hpp"

#include "core/byte_writer.hpp"

namespace rtcpp::sctp {

namespace {

constexpr uint8_t kUnorderedBit = 0x80;

bool known_channel_type(uint8_t t) {
    switch (static_cast<DcepChannelType>(t)) {
    case DcepChannelType::Reliable:
    case DcepChannelType::ReliableUnordered:
    case DcepChannelType::PartialReliableRexmit:
    case DcepChannelType::PartialReliableRexmitUnordered:
    case DcepChannelType::PartialReliableTimed:
    case DcepChannelType::PartialReliableTimedUnordered:
        return true;
    }
    return false;
}

Error dcep_error(std::string message) {
    return make_error(ErrorCategory::SyntaxError, "sctp", "DCEP: " + std::move(message));
}

} // namespace

DcepChannelType channel_type_for(const Reliability& r) {
    uint8_t t = 0x00;
    if (r.max_retransmits) {
        t = 0x01;
    } else if (r.max_packet_life_time_ms) {
        t = 0x02;
    }
    if (!r.ordered) t |= kUnorderedBit;
    return static_cast<DcepChannelType>(t);
}

Reliability DcepOpen::reliability() const {
    Reliability r;
    const auto t = static_cast<uint8_t>(channel_type);
    r.ordered = (t & kUnorderedBit) == 0;
    switch (t & 0x7f) {
    case 0x01: r.max_retransmits = reliability_parameter; break;
    case 0x02: r.max_packet_life_time_ms = reliability_parameter; break;
    default: break;
    }
    return r;
}

Result<DcepMessage> parse_dcep(ByteView payload) {
    ByteReader r(payload);
    auto type = r.read_u8();
    if (!type) return dcep_error("empty message");
    switch (static_cast<DcepMessageType>(*type)) {
    case DcepMessageType::Ack:
        return DcepMessage{DcepAck{}};
    case DcepMessageType::Open: {
        auto channel_type = r.read_u8();
        auto priority = r.read_u16();
        auto reliability = r.read_u32();
        auto label_length = r.read_u16();
        auto protocol_length = r.read_u16();
        if (!r.ok()) return dcep_error("DATA_CHANNEL_OPEN shorter than its fixed header");
        if (!known_channel_type(*channel_type)) return dcep_error("unknown channel type " + std::to_string(*channel_type));
        auto label = r.read_string(*label_length);
        auto protocol = r.read_string(*protocol_length);
        if (!r.ok()) return dcep_error("label or protocol runs past the end of the message");
        DcepOpen open;
        open.channel_type = static_cast<DcepChannelType>(*channel_type);
        open.priority = *priority;
        // RFC 8832 §5.1: the parameter is ignored for reliable channels; normalise it so equal channels compare equal.
        open.reliability_parameter = (*channel_type & 0x7f) == 0 ? 0 : *reliability;
        open.label.assign(*label);
        open.protocol.assign(*protocol);
        return DcepMessage{std::move(open)};
    }
    }
    return dcep_error("unknown message type " + std::to_string(*type));
}

Result<std::vector<uint8_t>> serialize_dcep(const DcepMessage& message) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    if (std::holds_alternative<DcepAck>(message)) {
        w.write_u8(static_cast<uint8_t>(DcepMessageType::Ack));
        return out;
    }
    const auto& open = std::get<DcepOpen>(message);
    if (open.label.size() > 0xffff || open.protocol.size() > 0xffff) {
        return make_error(ErrorCategory::TypeError, "sctp", "data channel label or protocol longer than 65535 bytes");
    }
    out.reserve(12 + open.label.size() + open.protocol.size());
    w.write_u8(static_cast<uint8_t>(DcepMessageType::Open));
    w.write_u8(static_cast<uint8_t>(open.channel_type));
    w.write_u16(open.priority);
    w.write_u32((static_cast<uint8_t>(open.channel_type) & 0x7f) == 0 ? 0 : open.reliability_parameter);
    w.write_u16(static_cast<uint16_t>(open.label.size()));
    w.write_u16(static_cast<uint16_t>(open.protocol.size()));
    w.write_string(open.label);
    w.write_string(open.protocol);
    return out;
}

} // namespace rtcpp::sctp
