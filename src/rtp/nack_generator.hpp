// Receiver side of NACK (RFC 4585 generic NACK): finds sequence number gaps and asks for them again.
//
// A gap is not NACKed at once: reordering by a few milliseconds is common, so the first request waits a small
// reorder allowance. Later requests for the same packet wait one RTT and a small margin (the earlier request or
// its retransmission may still be in flight). A packet is given up after max_retries requests or once it is older than
// max_age; giving up means the frame it belongs to cannot be completed, so a keyframe request is raised. The list
// is bounded: on overflow the oldest entries are dropped and a keyframe is requested too.
#pragma once

#include "rtcp/rtcp_packets.hpp"
#include "rtp/sequence_unwrapper.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct NackGeneratorConfig {
    uint32_t sender_ssrc = 0;  ///< our SSRC, in the NACK's sender field
    uint32_t media_ssrc = 0;   ///< the stream whose packets we ask for
    size_t max_list_size = 1000;
    int max_retries = 10;
    /// Entries older than this (since the gap was seen) are given up.
    TimeDelta max_age = TimeDelta::seconds(2);
    /// Wait before the first request for a fresh gap (reordering tolerance).
    TimeDelta reorder_allowance = TimeDelta::millis(5);
    /// Assumed until set_rtt() is called.
    TimeDelta default_rtt = TimeDelta::millis(100);
    /// Floor on the retry interval, so a tiny RTT estimate does not flood the sender.
    TimeDelta min_retry_interval = TimeDelta::millis(10);
    /// Added to the RTT before a retry: a retransmission due just now is likelier late than lost, and asking again
    /// at the very moment it should arrive makes the sender send it twice.
    TimeDelta retry_margin = TimeDelta::millis(10);
    /// At most this many sequence numbers per NACK packet (keeps it well under the MTU).
    size_t max_per_packet = 200;
};

struct NackGeneratorStats {
    uint64_t packets = 0;
    uint64_t duplicates = 0;         ///< a packet seen before (or older than anything tracked), no effect
    uint64_t missing_detected = 0;   ///< sequence numbers that entered the list
    uint64_t recovered = 0;          ///< arrived while in the list
    uint64_t nack_packets = 0;       ///< NACK packets emitted
    uint64_t nack_requests = 0;      ///< sequence numbers requested, retries included
    uint64_t given_up = 0;           ///< dropped after max_retries or max_age
    uint64_t overflow_dropped = 0;   ///< dropped because the list was full
    uint64_t keyframe_requests = 0;
    uint64_t jumps = 0;              ///< forward jumps larger than the list: not tracked, keyframe requested
};

class NackGenerator {
public:
    explicit NackGenerator(NackGeneratorConfig config = {});

    /// A media packet (or a recovered original from RTX / FEC) arrived. `keyframe_start` marks the first packet of
    /// a keyframe: on overflow, entries older than the newest keyframe are the ones dropped.
    void handle_packet(Timestamp now, uint16_t sequence_number, bool keyframe_start = false);
    void set_rtt(TimeDelta rtt);
    TimeDelta rtt() const { return rtt_; }
    /// Stop asking for everything before `sequence_number` (the frame buffer skipped to a keyframe).
    void clear_before(uint16_t sequence_number);
    void handle_timeout(Timestamp now);
    Timestamp poll_timeout() const;
    /// The next NACK to send (sequence numbers due now, ascending). Call after handle_packet / handle_timeout.
    std::optional<rtcp::Nack> poll_nack();
    /// Same, serialized (one RTCP RTPFB packet, reduced-size as RFC 5506 allows).
    std::optional<std::vector<uint8_t>> poll_transmit();
    /// True once per keyframe request raised since the last call (an unrecoverable packet or an overflow).
    bool poll_keyframe_request();

    size_t list_size() const { return list_.size(); }
    bool is_missing(uint16_t sequence_number) const;
    const NackGeneratorStats& stats() const { return stats_; }
    const NackGeneratorConfig& config() const { return config_; }

private:
    struct Entry {
        Timestamp detected;
        Timestamp next_send;  ///< when the next request is due
        int sent = 0;
    };
    void collect(Timestamp now);
    void request_keyframe();
    TimeDelta retry_interval() const;

    NackGeneratorConfig config_;
    TimeDelta rtt_;
    SequenceNumberUnwrapper unwrapper_;
    std::optional<int64_t> newest_;
    std::optional<int64_t> newest_keyframe_;
    std::map<int64_t, Entry> list_;  ///< unwrapped sequence number -> state
    std::vector<uint16_t> pending_;  ///< due now, not yet polled
    bool keyframe_request_ = false;
    NackGeneratorStats stats_;
};

} // namespace rtcpp::rtp
