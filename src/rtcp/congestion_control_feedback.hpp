// RTCP Congestion Control Feedback (RFC 8888): RTPFB FMT=11.
//
// Per media SSRC, a run of RTP sequence numbers from begin_seq, each with a received flag, its ECN marking and
// its arrival time offset (ATO) before the report timestamp, in 1/1024 s.
#pragma once

#include "rtcp/rtcp_packets.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::rtcp {

struct CongestionControlFeedback {
    struct Packet {
        uint16_t sequence_number = 0;
        bool received = false;
        uint8_t ecn = 0;  ///< 2 bits
        /// How long before the report timestamp it arrived; nullopt when received but the time is unavailable
        /// (ATO 0x1FFF). Quantised to 1/1024 s; offsets of 8189/1024 s and more are sent as 0x1FFE.
        std::optional<TimeDelta> arrival_time_offset;
        bool operator==(const Packet&) const = default;
    };
    struct Stream {
        uint32_t ssrc = 0;
        uint16_t begin_sequence = 0;
        std::vector<Packet> packets;  ///< consecutive sequence numbers from begin_sequence, at most 16384
        bool operator==(const Stream&) const = default;
    };

    uint32_t sender_ssrc = 0;
    std::vector<Stream> streams;
    uint32_t report_timestamp = 0;  ///< compact NTP (16.16)
    bool operator==(const CongestionControlFeedback&) const = default;

    static constexpr uint16_t kAtoUnavailable = 0x1FFF;
    static constexpr uint16_t kAtoMax = 0x1FFE;
    static uint16_t encode_ato(TimeDelta offset);
    static TimeDelta decode_ato(uint16_t ato);

    static std::optional<CongestionControlFeedback> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

} // namespace rtcpp::rtcp
