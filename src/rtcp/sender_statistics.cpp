#include "rtcp/sender_statistics.hpp"

namespace rtcpp::rtcp {

std::optional<TimeDelta> rtt_from_compact(uint32_t now_compact, uint32_t last, uint32_t delay) {
    if (last == 0) return std::nullopt;
    const int32_t rtt = static_cast<int32_t>(now_compact - last - delay);
    return from_compact_ntp(rtt < 0 ? 0 : static_cast<uint32_t>(rtt));
}

SenderStatistics::SenderStatistics(uint32_t ssrc, uint32_t clock_rate, TimeDelta ntp_offset)
    : ssrc_(ssrc), clock_rate_(clock_rate == 0 ? 90000 : clock_rate), ntp_offset_(ntp_offset) {}

void SenderStatistics::handle_packet_sent(Timestamp now, uint32_t rtp_timestamp, size_t payload_bytes) {
    ++packets_;
    octets_ += payload_bytes;
    last_sent_ = now;
    last_rtp_timestamp_ = rtp_timestamp;
}

SenderReport SenderStatistics::make_sender_report(Timestamp now) const {
    SenderReport sr;
    sr.sender_ssrc = ssrc_;
    sr.ntp = ntp_from_timestamp(now, ntp_offset_);
    if (last_sent_) {
        const int64_t elapsed_us = (now - *last_sent_).us();
        const int64_t ticks = elapsed_us * static_cast<int64_t>(clock_rate_) / 1000000;
        sr.rtp_timestamp = last_rtp_timestamp_ + static_cast<uint32_t>(ticks);
    }
    // The counts wrap at 32 bits, as RFC 3550 §6.4.1 says.
    sr.packet_count = static_cast<uint32_t>(packets_);
    sr.octet_count = static_cast<uint32_t>(octets_);
    return sr;
}

std::optional<TimeDelta> SenderStatistics::handle_report_block(Timestamp now, const ReportBlock& block) {
    if (block.source_ssrc != ssrc_) return std::nullopt;
    last_block_ = block;
    const auto rtt = rtt_from_compact(ntp_from_timestamp(now, ntp_offset_).compact(), block.last_sr,
                                      block.delay_since_last_sr);
    if (!rtt) return std::nullopt;
    last_rtt_ = rtt;
    if (!min_rtt_ || *rtt < *min_rtt_) min_rtt_ = rtt;
    return rtt;
}

ExtendedReports XrRttTracker::make_rrtr(Timestamp now) const {
    ExtendedReports xr;
    xr.sender_ssrc = local_ssrc_;
    xr.rrtr = ntp_from_timestamp(now, ntp_offset_);
    return xr;
}

std::optional<TimeDelta> XrRttTracker::handle_extended_reports(Timestamp now, const ExtendedReports& xr) {
    if (xr.rrtr) {
        // Keep only the latest RRTR per remote SSRC.
        std::erase_if(pending_, [&](const Pending& p) { return p.ssrc == xr.sender_ssrc; });
        if (pending_.size() < 64) pending_.push_back(Pending{xr.sender_ssrc, xr.rrtr->compact(), now});
    }
    std::optional<TimeDelta> rtt;
    for (const auto& d : xr.dlrr) {
        if (d.ssrc != local_ssrc_) continue;
        rtt = rtt_from_compact(ntp_from_timestamp(now, ntp_offset_).compact(), d.last_rr, d.delay_since_last_rr);
        if (rtt) last_rtt_ = rtt;
    }
    return rtt;
}

std::vector<ExtendedReports::Dlrr> XrRttTracker::take_dlrr(Timestamp now) {
    std::vector<ExtendedReports::Dlrr> out;
    out.reserve(pending_.size());
    for (const auto& p : pending_) out.push_back({p.ssrc, p.lrr, to_compact_ntp(now - p.received)});
    pending_.clear();
    return out;
}

} // namespace rtcpp::rtcp
