#include "rtp/packet_history.hpp"

#include "rtp/rtp_packet.hpp"

#include <bit>

namespace rtcpp::rtp {

PacketHistory::PacketHistory(PacketHistoryConfig config) : config_(config) {
    // Sequence numbers wrap at 65536, so no more than that many slots can be addressed.
    size_t cap = std::bit_ceil(std::max<size_t>(config_.max_packets, 1));
    if (cap > 65536) cap = 65536;
    config_.max_packets = std::min(config_.max_packets == 0 ? size_t{1} : config_.max_packets, cap);
    slots_.resize(cap);
}

bool PacketHistory::put(Timestamp now, ByteView rtp_packet) {
    const auto view = RtpPacketView::parse(rtp_packet);
    if (!view) return false;
    Stored& s = slots_[view->sequence_number() & (slots_.size() - 1)];
    if (!s.used) ++count_;
    s.used = true;
    // Packet sizes vary by a few bytes from frame to frame: a slot grown in 256-byte steps stops reallocating
    // after its first packets, where an exact fit would reallocate whenever a slightly larger one comes.
    if (s.bytes.capacity() < rtp_packet.size()) s.bytes.reserve((rtp_packet.size() + 255) / 256 * 256);
    s.bytes.assign(rtp_packet.begin(), rtp_packet.end());
    s.sent = now;
    s.last_retransmitted.reset();
    s.retransmissions = 0;
    s.sequence_number = view->sequence_number();
    // With max_packets below the slot count, the packet max_packets behind this one falls out of the history.
    if (config_.max_packets < slots_.size()) {
        Stored& old = slots_[static_cast<uint16_t>(view->sequence_number() - config_.max_packets) & (slots_.size() - 1)];
        if (old.used) {
            old.used = false;
            --count_;
        }
    }
    return true;
}

PacketHistory::Stored* PacketHistory::get(Timestamp now, uint16_t sequence_number) {
    Stored& s = slots_[sequence_number & (slots_.size() - 1)];
    if (!s.used || s.sequence_number != sequence_number) return nullptr;
    if (now - s.sent > config_.max_age) {
        s.used = false;
        --count_;
        return nullptr;
    }
    return &s;
}

void PacketHistory::expire(Timestamp now) {
    for (Stored& s : slots_) {
        if (s.used && now - s.sent > config_.max_age) {
            s.used = false;
            --count_;
        }
    }
}

} // namespace rtcpp::rtp
