// Sender-side statistics of one outgoing SSRC: packet and octet counts for SRs, the SR's NTP/RTP timestamp pair,
// and the round-trip time from the report blocks that come back (RFC 3550 §6.4.1: RTT = A - LSR - DLSR).
#pragma once

#include "rtcp/receive_statistics.hpp"
#include "rtcp/rtcp_packets.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>

namespace rtcpp::rtcp {

/// Round-trip time from a report block (or DLRR): now - last - delay, all in compact NTP. nullopt when the
/// block carries no LSR. Negative results (clock noise) become 0.
std::optional<TimeDelta> rtt_from_compact(uint32_t now_compact, uint32_t last, uint32_t delay);

class SenderStatistics {
public:
    SenderStatistics(uint32_t ssrc, uint32_t clock_rate, TimeDelta ntp_offset = TimeDelta::zero());

    /// An RTP packet we sent: `payload_bytes` excludes header and padding, as RFC 3550's octet count does.
    void handle_packet_sent(Timestamp now, uint32_t rtp_timestamp, size_t payload_bytes);
    /// An SR for now. Its RTP timestamp is the last sent one advanced by the time since it was sent, so the
    /// NTP/RTP pair describes the same instant.
    SenderReport make_sender_report(Timestamp now) const;
    bool has_sent() const { return last_sent_.has_value(); }

    /// A report block about our SSRC came back: updates and returns the RTT.
    std::optional<TimeDelta> handle_report_block(Timestamp now, const ReportBlock& block);

    uint32_t ssrc() const { return ssrc_; }
    uint64_t packets_sent() const { return packets_; }
    uint64_t octets_sent() const { return octets_; }
    std::optional<TimeDelta> last_rtt() const { return last_rtt_; }
    std::optional<TimeDelta> min_rtt() const { return min_rtt_; }
    /// Loss as the remote reported it in the latest block.
    std::optional<ReportBlock> last_report_block() const { return last_block_; }

private:
    uint32_t ssrc_;
    uint32_t clock_rate_;
    TimeDelta ntp_offset_;
    uint64_t packets_ = 0;
    uint64_t octets_ = 0;
    std::optional<Timestamp> last_sent_;
    uint32_t last_rtp_timestamp_ = 0;
    std::optional<TimeDelta> last_rtt_;
    std::optional<TimeDelta> min_rtt_;
    std::optional<ReportBlock> last_block_;
};

/// RTT for receive-only endpoints (RFC 3611 §4.4/4.5): a receiver sends RRTR blocks, the sender answers with DLRR
/// sub-blocks, the receiver computes the RTT from them. One object plays both sides.
class XrRttTracker {
public:
    explicit XrRttTracker(uint32_t local_ssrc, TimeDelta ntp_offset = TimeDelta::zero())
        : local_ssrc_(local_ssrc), ntp_offset_(ntp_offset) {}

    /// An XR with our RRTR for now (the receiver side).
    ExtendedReports make_rrtr(Timestamp now) const;
    /// A received XR: remembers its RRTR (to answer with a DLRR), and returns the RTT if it carries a DLRR
    /// sub-block about our SSRC.
    std::optional<TimeDelta> handle_extended_reports(Timestamp now, const ExtendedReports& xr);
    /// DLRR sub-blocks answering the RRTRs received so far (the sender side); each is answered once.
    std::vector<ExtendedReports::Dlrr> take_dlrr(Timestamp now);
    std::optional<TimeDelta> last_rtt() const { return last_rtt_; }

private:
    struct Pending {
        uint32_t ssrc;
        uint32_t lrr;
        Timestamp received;
    };
    uint32_t local_ssrc_;
    TimeDelta ntp_offset_;
    std::vector<Pending> pending_;
    std::optional<TimeDelta> last_rtt_;
};

} // namespace rtcpp::rtcp
