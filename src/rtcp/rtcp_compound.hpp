// Compound (RFC 3550 §6.1) and reduced-size (RFC 5506) RTCP packets.
//
// The parser first walks every sub-packet header: a length field that points past the datagram, a bad version or
// an impossible padding count rejects the whole datagram (nothing in it can be trusted). Then each sub-packet is
// parsed by its type; a known type with a malformed body is skipped and counted, an unknown type is kept as an
// UnknownRtcpPacket (a view into the input) and counted.
#pragma once

#include "rtcp/congestion_control_feedback.hpp"
#include "rtcp/rtcp_packets.hpp"
#include "rtcp/transport_feedback.hpp"

#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace rtcpp::rtcp {

struct UnknownRtcpPacket {
    uint8_t packet_type = 0;
    uint8_t count = 0;
    ByteView packet;  ///< points into the parsed datagram
    bool operator==(const UnknownRtcpPacket& o) const {
        return packet_type == o.packet_type && count == o.count && packet.size() == o.packet.size();
    }
};

using RtcpPacket = std::variant<SenderReport, ReceiverReport, Sdes, Bye, App, Nack, Pli, Fir, Remb, TransportFeedback,
                                CongestionControlFeedback, ExtendedReports, UnknownRtcpPacket>;

enum class RtcpCompoundError : uint8_t {
    None,
    Empty,
    BadHeader,     ///< version, length or padding of some sub-packet is wrong
    NotCompound,   ///< reduced-size not allowed and the first packet is not SR/RR
};
std::string_view to_string(RtcpCompoundError e);

struct RtcpParseOptions {
    /// Accept datagrams that do not start with SR/RR (RFC 5506, negotiated with a=rtcp-rsize; WebRTC always is).
    bool allow_reduced_size = true;
};

struct RtcpCompound {
    std::vector<RtcpPacket> packets;
    size_t unknown = 0;    ///< sub-packets of a type this parser does not know (kept as UnknownRtcpPacket)
    size_t malformed = 0;  ///< sub-packets of a known type whose body did not parse (dropped)
};

/// Checks every sub-packet header, then calls f(const RtcpHeader&) for each. Returns the error (and calls f for
/// none) if any header lies.
template <class F>
RtcpCompoundError for_each_rtcp_packet(ByteView datagram, F&& f) {
    if (datagram.empty()) return RtcpCompoundError::Empty;
    {
        ByteReader r(datagram);
        while (!r.empty()) {
            if (!read_rtcp_header(r)) return RtcpCompoundError::BadHeader;
        }
    }
    ByteReader r(datagram);
    while (!r.empty()) f(*read_rtcp_header(r));
    return RtcpCompoundError::None;
}

/// Parses one sub-packet into its typed form. nullopt if a known type is malformed.
std::optional<RtcpPacket> parse_rtcp_packet(const RtcpHeader& h);

std::optional<RtcpCompound> parse_rtcp_compound(ByteView datagram, const RtcpParseOptions& options = {},
                                                RtcpCompoundError* error = nullptr);

void write_rtcp_packet(ByteWriter& w, const RtcpPacket& packet);
std::vector<uint8_t> build_rtcp_compound(std::span<const RtcpPacket> packets);

} // namespace rtcpp::rtcp
