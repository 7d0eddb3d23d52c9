// Receiver-side RTP statistics per SSRC (RFC 3550 §6.4.1, A.1, A.3, A.8): extended highest sequence number,
// cumulative and interval loss, interarrival jitter, and LSR/DLSR from the sender's last SR. They become the
// report blocks of our RR/SR.
#pragma once

#include "rtcp/rtcp_packets.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::rtcp {

/// NTP time from core time. Core time has an arbitrary origin; RTT computed from LSR/DLSR only needs one clock
/// used consistently on this side, so `offset` only matters for A/V sync with peers (the runtime may set a
/// wall-clock offset).
NtpTime ntp_from_timestamp(Timestamp t, TimeDelta offset = TimeDelta::zero());

class StreamReceiveStatistics {
public:
    StreamReceiveStatistics(uint32_t ssrc, uint32_t clock_rate);

    /// A received RTP packet. `retransmission` (RTX-recovered) packets count as received but do not touch jitter.
    void handle_packet(Timestamp arrival, uint16_t sequence_number, uint32_t rtp_timestamp, size_t bytes,
                       bool retransmission = false);
    /// The sender's SR: remembered for LSR/DLSR.
    void handle_sender_report(Timestamp now, const SenderReport& sr);

    /// The report block for now; starts a new interval for fraction_lost. nullopt before the first packet.
    std::optional<ReportBlock> make_report_block(Timestamp now);

    uint32_t ssrc() const { return ssrc_; }
    bool has_packets() const { return started_; }
    uint32_t extended_highest_sequence() const { return cycles_ + max_seq_; }
    /// Expected minus received; negative with duplicates, as RFC 3550 specifies.
    int64_t cumulative_lost() const;
    uint64_t packets_received() const { return received_; }
    uint64_t bytes_received() const { return bytes_; }
    /// Interarrival jitter in RTP timestamp units, and as time.
    uint32_t jitter() const { return static_cast<uint32_t>(jitter_q4_ >> 4); }
    TimeDelta jitter_time() const;
    /// The fraction lost reported in the last report block (0..255).
    uint8_t last_fraction_lost() const { return last_fraction_lost_; }
    std::optional<Timestamp> last_sender_report_time() const { return last_sr_time_; }

private:
    enum class SeqUpdate { InOrder, Reordered, Jump };
    SeqUpdate update_sequence(uint16_t seq);

    uint32_t ssrc_;
    uint32_t clock_rate_;
    bool started_ = false;
    uint16_t max_seq_ = 0;
    uint32_t cycles_ = 0;       ///< shifted count of wraps (multiples of 65536)
    uint32_t base_seq_ = 0;
    uint32_t bad_seq_ = 0x10001;  ///< RTP_SEQ_MOD + 1: nothing pending
    uint64_t received_ = 0;
    uint64_t bytes_ = 0;
    uint64_t expected_prior_ = 0;
    uint64_t received_prior_ = 0;
    bool have_transit_ = false;
    uint32_t last_transit_ = 0;
    uint64_t jitter_q4_ = 0;
    uint8_t last_fraction_lost_ = 0;
    uint32_t last_sr_compact_ = 0;
    std::optional<Timestamp> last_sr_time_;
};

/// All received SSRCs of a session.
class ReceiveStatistics {
public:
    /// Creates (or returns) the statistics for an SSRC.
    StreamReceiveStatistics& stream(uint32_t ssrc, uint32_t clock_rate);
    StreamReceiveStatistics* find(uint32_t ssrc);
    void remove(uint32_t ssrc) { streams_.erase(ssrc); }
    void handle_sender_report(Timestamp now, const SenderReport& sr);
    /// Report blocks for every stream with packets (at most max_blocks).
    std::vector<ReportBlock> make_report_blocks(Timestamp now, size_t max_blocks = 31);
    size_t size() const { return streams_.size(); }

private:
    std::map<uint32_t, StreamReceiveStatistics> streams_;
};

} // namespace rtcpp::rtcp
