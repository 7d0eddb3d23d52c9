// Send-side history of transport-wide sequence numbers: remembers what was sent (size, time, probe cluster) and
// turns feedback (sequence number -> arrival or "not received") into per-packet results for the estimators.
#pragma once

#include "cc/network_types.hpp"
#include "core/ring_queue.hpp"

#include <cstdint>
#include <deque>
#include <optional>

namespace rtcpp::cc {

/// Extends 16-bit sequence numbers to 64 bits, taking the closest candidate to the last value (so it copes with
/// reordering of up to half the sequence space, in both directions).
class SeqNumUnwrapper {
public:
    int64_t unwrap(uint16_t seq);
    /// What unwrap() would return, without updating the state.
    int64_t peek(uint16_t seq) const;

private:
    std::optional<int64_t> last_;
};

class TransportFeedbackAdapter {
public:
    struct Stats {
        uint64_t feedback_messages = 0;
        uint64_t unknown_packets = 0;     ///< reported but not (or no longer) in the history
        uint64_t duplicate_reports = 0;   ///< reported received twice
        uint64_t history_pruned = 0;      ///< dropped by age without feedback
    };

    /// Packets older than this (by send time) are forgotten; their feedback would be too stale to use.
    static constexpr TimeDelta kHistoryWindow = TimeDelta::seconds(60);
    /// At most half the 16-bit space, so unwrapping a reported sequence number stays unambiguous.
    static constexpr size_t kMaxHistoryPackets = 1 << 15;

    /// Records a packet that left the socket. Returns its history entry (unwrapped sequence number, bytes that were
    /// in flight before it).
    SentPacketInfo add_packet(const SentPacket& packet);

    /// Matches a feedback message against the history. Returns nothing when the message covers no known packet.
    std::optional<TransportPacketsFeedback> process_feedback(const TransportFeedback& feedback);

    /// Bytes sent and not yet covered by any feedback.
    DataSize data_in_flight() const { return in_flight_; }
    const Stats& stats() const { return stats_; }

private:
    enum class Report : uint8_t { None, Lost, Received };
    struct Entry {
        bool valid = false;
        SentPacketInfo info;
        Report report = Report::None;
        bool counted_in_flight = false;
    };

    Entry* find(int64_t seq);
    void prune(Timestamp now);

    SeqNumUnwrapper send_unwrapper_;
    RingQueue<Entry> history_;  ///< index i holds sequence number first_seq_ + i (a ring: no per-packet blocks)
    int64_t first_seq_ = 0;
    DataSize in_flight_ = DataSize::zero();
    /// Remote clock -> local clock, fixed by the first feedback that carried an arrival time.
    std::optional<TimeDelta> arrival_offset_;
    Stats stats_;
};

} // namespace rtcpp::cc
