#include "cc/remote_estimator.hpp"

#include <algorithm>

namespace rtcpp::cc {

namespace {
constexpr int64_t kAbsSendTimeUnitsPerSecond = 1 << 18;
constexpr int64_t kAbsSendTimeWrap = 1 << 24;  // 64 s
} // namespace

RemoteEstimator::RemoteEstimator() {
    bwe_.set_start_bitrate(DataRate::kbps(300));
    batch_.packet_feedbacks.reserve(256);
}

void RemoteEstimator::on_packet(Timestamp arrival, uint32_t abs_send_time, size_t bytes) {
    const uint32_t ast = abs_send_time & 0xFFFFFF;
    if (last_abs_send_time_) {
        // Unwrap by the shortest step either way: reordered packets step back a little.
        int64_t step = static_cast<int64_t>(ast) - static_cast<int64_t>(*last_abs_send_time_);
        if (step > kAbsSendTimeWrap / 2) step -= kAbsSendTimeWrap;
        if (step < -kAbsSendTimeWrap / 2) step += kAbsSendTimeWrap;
        send_time_units_ += step;
    }
    last_abs_send_time_ = ast;
    PacketResult r;
    r.sent_packet.sequence_number = sequence_++;
    // Only differences of the sender's clock matter; a fixed origin keeps it far from Timestamp's limits.
    r.sent_packet.send_time =
        Timestamp::seconds(1000) + TimeDelta::micros(send_time_units_ * 1000000 / kAbsSendTimeUnitsPerSecond);
    r.sent_packet.size = DataSize::bytes(static_cast<int64_t>(bytes));
    r.receive_time = arrival;
    if (batch_.packet_feedbacks.size() < 2000) batch_.packet_feedbacks.push_back(r);
    if (!next_process_.is_finite()) next_process_ = arrival + kProcessInterval;
    if (!next_remb_.is_finite()) next_remb_ = arrival + kRembInterval;
}

void RemoteEstimator::process(Timestamp now) {
    if (batch_.packet_feedbacks.empty()) return;
    batch_.feedback_time = now;
    const auto sorted = batch_.sorted_by_receive_time();
    incoming_.incoming_packet_feedback(sorted);
    const auto result = bwe_.incoming_packet_feedback(batch_, incoming_.bitrate(), std::nullopt, false);
    batch_.packet_feedbacks.clear();
    if (!result.updated) return;
    // A drop is news the sender needs now; a rise can wait for the regular report.
    if (last_remb_ && result.target_bitrate.bps() * 100 <= last_remb_->bps() * 97) pending_remb_ = result.target_bitrate;
}

void RemoteEstimator::handle_timeout(Timestamp now) {
    if (now >= next_process_) {
        process(now);
        next_process_ = now + kProcessInterval;
    }
    if (now >= next_remb_ && bwe_.valid_estimate()) {
        pending_remb_ = bwe_.last_estimate();
        next_remb_ = now + kRembInterval;
    }
}

std::optional<DataRate> RemoteEstimator::poll_remb() {
    if (!pending_remb_) return std::nullopt;
    last_remb_ = pending_remb_;
    pending_remb_.reset();
    return last_remb_;
}

Timestamp RemoteEstimator::poll_timeout() const { return std::min(next_process_, next_remb_); }

std::optional<DataRate> RemoteEstimator::estimate() const {
    if (!bwe_.valid_estimate()) return std::nullopt;
    return bwe_.last_estimate();
}

} // namespace rtcpp::cc
