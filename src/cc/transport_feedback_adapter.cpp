#include "cc/transport_feedback_adapter.hpp"

namespace rtcpp::cc {

int64_t SeqNumUnwrapper::peek(uint16_t seq) const {
    if (!last_) return seq;
    const uint16_t last16 = static_cast<uint16_t>(*last_ & 0xffff);
    // The signed 16-bit difference picks the nearest candidate.
    const int16_t diff = static_cast<int16_t>(static_cast<uint16_t>(seq - last16));
    return *last_ + diff;
}

int64_t SeqNumUnwrapper::unwrap(uint16_t seq) {
    const int64_t v = peek(seq);
    last_ = v;
    return v;
}

SentPacketInfo TransportFeedbackAdapter::add_packet(const SentPacket& packet) {
    prune(packet.send_time);
    const int64_t seq = send_unwrapper_.unwrap(packet.transport_seq);

    SentPacketInfo info;
    info.sequence_number = seq;
    info.send_time = packet.send_time;
    info.size = packet.size;
    info.prior_unacked_data = in_flight_;
    info.pacing_info = packet.pacing_info;
    info.kind = packet.kind;

    if (history_.empty() || seq < first_seq_ || seq > first_seq_ + static_cast<int64_t>(kMaxHistoryPackets) * 2) {
        // First packet, or a sender that restarted its sequence numbers: start over.
        for (const auto& e : history_)
            if (e.valid && e.counted_in_flight) in_flight_ -= e.info.size;
        history_.clear();
        first_seq_ = seq;
        info.prior_unacked_data = in_flight_;
    }
    const auto index = static_cast<size_t>(seq - first_seq_);
    if (index >= history_.size()) history_.resize(index + 1);
    Entry& e = history_[index];
    if (e.valid && e.counted_in_flight) in_flight_ -= e.info.size;  // same number sent again
    e = Entry{true, info, Report::None, true};
    in_flight_ += packet.size;
    while (history_.size() > kMaxHistoryPackets) {
        if (history_.front().valid && history_.front().counted_in_flight) in_flight_ -= history_.front().info.size;
        history_.pop_front();
        ++first_seq_;
        ++stats_.history_pruned;
    }
    return info;
}

TransportFeedbackAdapter::Entry* TransportFeedbackAdapter::find(int64_t seq) {
    if (seq < first_seq_) return nullptr;
    const auto index = static_cast<size_t>(seq - first_seq_);
    if (index >= history_.size() || !history_[index].valid) return nullptr;
    return &history_[index];
}

void TransportFeedbackAdapter::prune(Timestamp now) {
    while (!history_.empty()) {
        Entry& e = history_.front();
        if (e.valid && now - e.info.send_time < kHistoryWindow) break;
        if (e.valid) {
            if (e.counted_in_flight) in_flight_ -= e.info.size;
            if (e.report == Report::None) ++stats_.history_pruned;
        }
        history_.pop_front();
        ++first_seq_;
    }
}

std::optional<TransportPacketsFeedback> TransportFeedbackAdapter::process_feedback(const TransportFeedback& feedback) {
    ++stats_.feedback_messages;
    TransportPacketsFeedback out;
    out.feedback_time = feedback.receive_time;
    out.prior_in_flight = in_flight_;

    if (!arrival_offset_) {
        for (const auto& p : feedback.packets) {
            if (p.arrival) {
                arrival_offset_ = feedback.receive_time - *p.arrival;
                break;
            }
        }
    }

    for (const auto& p : feedback.packets) {
        const int64_t seq = send_unwrapper_.peek(p.transport_seq);
        Entry* e = find(seq);
        if (!e) {
            ++stats_.unknown_packets;
            continue;
        }
        if (e->counted_in_flight) {
            in_flight_ -= e->info.size;
            e->counted_in_flight = false;
        }
        PacketResult r;
        r.sent_packet = e->info;
        if (p.arrival) {
            if (e->report == Report::Received) {
                ++stats_.duplicate_reports;
                continue;
            }
            e->report = Report::Received;
            r.receive_time = *p.arrival + *arrival_offset_;
        } else {
            // A later report may still say it arrived (reordering); a loss after an arrival is stale news.
            if (e->report != Report::None) continue;
            e->report = Report::Lost;
        }
        out.packet_feedbacks.push_back(r);
    }
    out.data_in_flight = in_flight_;
    if (out.packet_feedbacks.empty()) return std::nullopt;
    return out;
}

} // namespace rtcpp::cc
