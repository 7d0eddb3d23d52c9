// Sender side of NACK: answers the receiver's generic NACKs from the packet history, as RTX (RFC 4588) when an
// RTX stream is negotiated, or as plain copies of the original packet otherwise.
//
// Two guards keep retransmission from making congestion worse: a token bucket limits retransmitted bytes to a
// share of the target rate (bursts up to `burst_window` worth), and a packet is not sent again within one RTT of
// its last retransmission (the receiver's repeated NACK crossed our retransmission on the way; 3/4 RTT in
// fact, so that the receiver's deliberate retry one RTT later is not refused when the delay jitters).
#pragma once

#include "rtcp/rtcp_packets.hpp"
#include "rtp/packet_history.hpp"

#include <rtcpp/units.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct RtxConfig {
    uint8_t payload_type = 0;
    uint32_t ssrc = 0;
    uint16_t first_sequence_number = 0;
};

struct NackResponderConfig {
    std::optional<RtxConfig> rtx;  ///< nullopt: retransmit the original packet unchanged
    PacketHistoryConfig history;
    DataRate target_rate = DataRate::kbps(1000);
    /// Retransmissions may use at most this share of the target rate.
    double max_retransmit_share = 0.5;
    /// The bucket holds this much time worth of the retransmission budget.
    TimeDelta burst_window = TimeDelta::millis(250);
    TimeDelta default_rtt = TimeDelta::millis(100);
};

struct NackResponderStats {
    uint64_t nacks = 0;              ///< NACK packets handled
    uint64_t requested = 0;          ///< sequence numbers asked for
    uint64_t retransmitted = 0;      ///< packets sent again
    uint64_t retransmitted_bytes = 0;///< bytes of those packets (as sent: RTX header and OSN included)
    uint64_t not_in_history = 0;     ///< too old, never sent, or evicted
    uint64_t rate_limited = 0;       ///< refused by the token bucket
    uint64_t too_soon = 0;           ///< already retransmitted within 3/4 RTT
    uint64_t wrong_ssrc = 0;         ///< NACK for another stream
};

class NackResponder {
public:
    /// `media_ssrc`: the stream this responder protects (NACKs for other SSRCs are counted and ignored).
    NackResponder(uint32_t media_ssrc, NackResponderConfig config = {});

    /// Every media packet sent on the stream, so it can be sent again.
    void on_packet_sent(Timestamp now, ByteView rtp_packet);
    void set_target_rate(DataRate rate) { config_.target_rate = rate; }
    void set_rtt(TimeDelta rtt);
    void handle_nack(Timestamp now, const rtcp::Nack& nack);
    /// The next retransmission to send.
    std::optional<std::vector<uint8_t>> poll_transmit();
    const std::optional<RtxConfig>& rtx() const { return config_.rtx; }
    /// The RTX stream's next sequence number, for a packet the caller sends on it (padding).
    uint16_t take_rtx_sequence_number() { return rtx_seq_++; }

    const NackResponderStats& stats() const { return stats_; }
    const PacketHistory& history() const { return history_; }

private:
    void refill(Timestamp now);
    double bucket_capacity() const;

    uint32_t media_ssrc_;
    NackResponderConfig config_;
    PacketHistory history_;
    TimeDelta rtt_;
    double tokens_ = 0;  ///< bytes
    std::optional<Timestamp> last_refill_;
    uint16_t rtx_seq_ = 0;
    std::deque<std::vector<uint8_t>> queue_;
    NackResponderStats stats_;
};

} // namespace rtcpp::rtp
