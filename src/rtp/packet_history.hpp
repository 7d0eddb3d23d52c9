// Sender-side history of sent RTP packets, kept so that NACKed ones can be sent again.
//
// Bounded two ways: at most max_packets packets, and nothing older than max_age (a retransmission that late would
// arrive after the receiver gave the frame up). Slots are indexed by sequence number modulo a power-of-two
// capacity and their buffers are reused, so steady-state storing does not allocate.
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct PacketHistoryConfig {
    size_t max_packets = 1024;
    TimeDelta max_age = TimeDelta::seconds(1);
};

class PacketHistory {
public:
    struct Stored {
        std::vector<uint8_t> bytes;  ///< the whole RTP packet as first sent
        Timestamp sent;
        std::optional<Timestamp> last_retransmitted;
        uint32_t retransmissions = 0;
        uint16_t sequence_number = 0;
        bool used = false;
    };

    explicit PacketHistory(PacketHistoryConfig config = {});

    /// Stores a sent packet (a parseable RTP packet; anything else is ignored and false returned).
    bool put(Timestamp now, ByteView rtp_packet);
    /// The packet with this sequence number, if still held and not older than max_age at `now`.
    Stored* get(Timestamp now, uint16_t sequence_number);
    /// Drops packets older than max_age.
    void expire(Timestamp now);
    size_t size() const { return count_; }
    size_t capacity() const { return slots_.size(); }

private:
    PacketHistoryConfig config_;
    std::vector<Stored> slots_;
    size_t count_ = 0;
};

} // namespace rtcpp::rtp
