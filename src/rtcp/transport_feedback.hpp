// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): RTPFB FMT=15.
//
// The receiver reports, for a run of transport sequence numbers, which packets arrived and when. Arrival times
// travel as a 24-bit reference time (64 ms units) plus per-packet deltas of 250 µs (one byte when 0..63.75 ms,
// two signed bytes otherwise). Here a feedback is the list of (sequence number, optional arrival time): create()
// encodes one, parse() decodes one back to the same list. Arrival times are on the receiver's clock, in the
// feedback's own time base: modulo 2^24 * 64 ms and quantised to 250 µs.
#pragma once

#include "rtcp/rtcp_packets.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rtcpp::rtcp {

struct TransportFeedback {
    struct Packet {
        uint16_t sequence_number = 0;
        std::optional<Timestamp> arrival;  ///< nullopt: not received
        bool operator==(const Packet&) const = default;
    };

    static constexpr int64_t kDeltaTickUs = 250;
    static constexpr int64_t kReferenceTickUs = 64000;
    /// 2^24 reference ticks: arrival times wrap at this period.
    static constexpr int64_t kTimeWrapUs = (int64_t{1} << 24) * kReferenceTickUs;

    uint32_t sender_ssrc = 0;
    uint32_t media_ssrc = 0;
    uint8_t feedback_count = 0;
    uint16_t base_sequence_number = 0;
    uint32_t reference_time = 0;  ///< 24 bits, 64 ms units
    /// One entry per status symbol, consecutive sequence numbers from base_sequence_number.
    std::vector<Packet> packets;
    bool operator==(const TransportFeedback&) const = default;

    Timestamp reference_timestamp() const { return Timestamp::micros(int64_t{reference_time} * kReferenceTickUs); }
    size_t received_count() const;

    /// Encodes a list of packets (sorted by sequence number in modular order; gaps are filled with "not
    /// received"). The reference time is the first arrival rounded down to 64 ms. nullopt if the list is empty,
    /// longer than 65535 sequence numbers, or two consecutive arrivals are more than ±8.19 s apart (the caller
    /// then splits the list over two feedbacks).
    static std::optional<TransportFeedback> create(uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t feedback_count,
                                                   std::span<const Packet> packets);

    static std::optional<TransportFeedback> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
    /// Encoded size, common header included.
    size_t size() const;

private:
    // Deltas in 250 µs ticks for the received packets, computed from the arrival times.
    std::vector<int32_t> deltas() const;
};

} // namespace rtcpp::rtcp
