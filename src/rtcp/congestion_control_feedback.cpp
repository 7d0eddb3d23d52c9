#include "rtcp/congestion_control_feedback.hpp"

namespace rtcpp::rtcp {

uint16_t CongestionControlFeedback::encode_ato(TimeDelta offset) {
    if (offset < TimeDelta::zero()) return 0;
    const int64_t v = (offset.us() * 1024 + 500000) / 1000000;
    return v >= kAtoMax ? kAtoMax : static_cast<uint16_t>(v);
}

TimeDelta CongestionControlFeedback::decode_ato(uint16_t ato) {
    return TimeDelta::micros((int64_t{ato} * 1000000 + 512) / 1024);
}

std::optional<CongestionControlFeedback> CongestionControlFeedback::parse(const RtcpHeader& h) {
    if (h.packet_type != kRtpFeedback || h.count != kFmtCcfb) return std::nullopt;
    ByteReader r(h.body);
    CongestionControlFeedback fb;
    const auto s = r.read_u32();
    if (!s || r.remaining() < 4) return std::nullopt;
    fb.sender_ssrc = *s;
    while (r.remaining() > 4) {
        Stream st;
        const auto ssrc = r.read_u32();
        const auto begin = r.read_u16();
        const auto num = r.read_u16();
        if (!r.ok() || *num > 16384) return std::nullopt;
        st.ssrc = *ssrc;
        st.begin_sequence = *begin;
        const size_t bytes = (size_t{*num} * 2 + 3) / 4 * 4;
        // The report timestamp must still follow the metric blocks.
        if (r.remaining() < bytes + 4) return std::nullopt;
        auto blocks = *r.read_sub(bytes);
        st.packets.reserve(*num);
        for (size_t i = 0; i < *num; ++i) {
            const uint16_t v = *blocks.read_u16();
            Packet p;
            p.sequence_number = static_cast<uint16_t>(st.begin_sequence + i);
            p.received = (v & 0x8000) != 0;
            p.ecn = static_cast<uint8_t>((v >> 13) & 3);
            const uint16_t ato = v & 0x1FFF;
            if (p.received && ato != kAtoUnavailable) p.arrival_time_offset = decode_ato(ato);
            st.packets.push_back(p);
        }
        fb.streams.push_back(std::move(st));
    }
    const auto ts = r.read_u32();
    if (!ts || !r.empty()) return std::nullopt;
    fb.report_timestamp = *ts;
    return fb;
}

void CongestionControlFeedback::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, kFmtCcfb, kRtpFeedback);
    w.write_u32(sender_ssrc);
    for (const auto& st : streams) {
        const size_t n = st.packets.size() > 16384 ? 16384 : st.packets.size();
        w.write_u32(st.ssrc);
        w.write_u16(st.begin_sequence);
        w.write_u16(static_cast<uint16_t>(n));
        for (size_t i = 0; i < n; ++i) {
            const auto& p = st.packets[i];
            uint16_t v = 0;
            if (p.received) {
                const uint16_t ato = p.arrival_time_offset ? encode_ato(*p.arrival_time_offset) : kAtoUnavailable;
                v = static_cast<uint16_t>(0x8000 | ((p.ecn & 3) << 13) | ato);
            }
            w.write_u16(v);
        }
        if (n % 2) w.write_u16(0);
    }
    w.write_u32(report_timestamp);
    finish_packet(w, start);
}

} // namespace rtcpp::rtcp
