#include "rtcp/rtcp_compound.hpp"

namespace rtcpp::rtcp {

std::string_view to_string(RtcpCompoundError e) {
    switch (e) {
    case RtcpCompoundError::None: return "none";
    case RtcpCompoundError::Empty: return "empty";
    case RtcpCompoundError::BadHeader: return "bad sub-packet header";
    case RtcpCompoundError::NotCompound: return "compound packet does not start with SR or RR";
    }
    return "?";
}

namespace {
template <class T>
std::optional<RtcpPacket> wrap(std::optional<T> v) {
    if (!v) return std::nullopt;
    return RtcpPacket(std::move(*v));
}

bool is_remb(const RtcpHeader& h) {
    const auto id = ByteReader(h.body).peek_u32(8);
    return id && *id == 0x52454D42u;
}
} // namespace

std::optional<RtcpPacket> parse_rtcp_packet(const RtcpHeader& h) {
    switch (h.packet_type) {
    case kSenderReport: return wrap(SenderReport::parse(h));
    case kReceiverReport: return wrap(ReceiverReport::parse(h));
    case kSdes: return wrap(Sdes::parse(h));
    case kBye: return wrap(Bye::parse(h));
    case kApp: return wrap(App::parse(h));
    case kExtendedReport: return wrap(ExtendedReports::parse(h));
    case kRtpFeedback:
        if (h.count == kFmtNack) return wrap(Nack::parse(h));
        if (h.count == kFmtTransportCc) return wrap(TransportFeedback::parse(h));
        if (h.count == kFmtCcfb) return wrap(CongestionControlFeedback::parse(h));
        break;
    case kPayloadFeedback:
        if (h.count == kFmtPli) return wrap(Pli::parse(h));
        if (h.count == kFmtFir) return wrap(Fir::parse(h));
        if (h.count == kFmtAfb && is_remb(h)) return wrap(Remb::parse(h));
        break;
    default: break;
    }
    return RtcpPacket(UnknownRtcpPacket{h.packet_type, h.count, h.packet});
}

std::optional<RtcpCompound> parse_rtcp_compound(ByteView datagram, const RtcpParseOptions& options,
                                                RtcpCompoundError* error) {
    RtcpCompound out;
    bool first = true;
    bool not_compound = false;
    const auto err = for_each_rtcp_packet(datagram, [&](const RtcpHeader& h) {
        if (first && !options.allow_reduced_size && h.packet_type != kSenderReport &&
            h.packet_type != kReceiverReport) {
            not_compound = true;
        }
        first = false;
        if (not_compound) return;
        auto p = parse_rtcp_packet(h);
        if (!p) {
            ++out.malformed;
            return;
        }
        if (std::holds_alternative<UnknownRtcpPacket>(*p)) ++out.unknown;
        out.packets.push_back(std::move(*p));
    });
    const auto e = err != RtcpCompoundError::None ? err : (not_compound ? RtcpCompoundError::NotCompound : err);
    if (error) *error = e;
    if (e != RtcpCompoundError::None) return std::nullopt;
    return out;
}

void write_rtcp_packet(ByteWriter& w, const RtcpPacket& packet) {
    std::visit(
        [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, UnknownRtcpPacket>) {
                w.write_bytes(p.packet);
            } else {
                p.write(w);
            }
        },
        packet);
}

std::vector<uint8_t> build_rtcp_compound(std::span<const RtcpPacket> packets) {
    std::vector<uint8_t> out;
    // A typical compound (reports, SDES, a NACK or a transport-cc feedback) fits one datagram: one allocation,
    // not the doubling steps of growing from nothing.
    out.reserve(1200);
    ByteWriter w(out);
    for (const auto& p : packets) write_rtcp_packet(w, p);
    return out;
}

} // namespace rtcpp::rtcp
