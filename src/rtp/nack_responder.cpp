#include "rtp/nack_responder.hpp"

#include "rtp/rtx.hpp"

#include <algorithm>

namespace rtcpp::rtp {

namespace {
// A repeated NACK that crossed our retransmission arrives well within one RTT of it; the receiver's deliberate
// retry comes about one RTT later, a little earlier when the delay jitters. Guard against the first only.
constexpr double kResendGuardRtts = 0.75;
} // namespace

NackResponder::NackResponder(uint32_t media_ssrc, NackResponderConfig config)
    : media_ssrc_(media_ssrc), config_(config), history_(config.history), rtt_(config.default_rtt) {
    if (config_.rtx) rtx_seq_ = config_.rtx->first_sequence_number;
    tokens_ = bucket_capacity();
}

void NackResponder::set_rtt(TimeDelta rtt) {
    if (rtt > TimeDelta::zero() && rtt.is_finite()) rtt_ = rtt;
}

double NackResponder::bucket_capacity() const {
    if (!config_.target_rate.is_finite()) return 1e18;
    return static_cast<double>((config_.target_rate * config_.max_retransmit_share * config_.burst_window).bytes());
}

void NackResponder::refill(Timestamp now) {
    if (last_refill_ && now > *last_refill_) {
        if (!config_.target_rate.is_finite()) {
            tokens_ = bucket_capacity();
        } else {
            const double rate_bytes_per_s =
                static_cast<double>(config_.target_rate.bps()) * config_.max_retransmit_share / 8.0;
            tokens_ += rate_bytes_per_s * (now - *last_refill_).seconds_f();
        }
    }
    tokens_ = std::min(tokens_, bucket_capacity());
    if (!last_refill_ || now > *last_refill_) last_refill_ = now;
}

void NackResponder::on_packet_sent(Timestamp now, ByteView rtp_packet) { history_.put(now, rtp_packet); }

void NackResponder::handle_nack(Timestamp now, const rtcp::Nack& nack) {
    ++stats_.nacks;
    if (nack.media_ssrc != media_ssrc_) {
        ++stats_.wrong_ssrc;
        return;
    }
    refill(now);
    for (const uint16_t seq : nack.sequence_numbers) {
        ++stats_.requested;
        PacketHistory::Stored* stored = history_.get(now, seq);
        if (!stored) {
            ++stats_.not_in_history;
            continue;
        }
        if (stored->last_retransmitted && now - *stored->last_retransmitted < rtt_ * kResendGuardRtts) {
            ++stats_.too_soon;
            continue;
        }
        const auto view = RtpPacketView::parse(stored->bytes);
        if (!view) continue;  // stored packets were parsed on the way in
        const size_t size = config_.rtx ? stored->bytes.size() + 2 - view->padding_size() : stored->bytes.size();
        if (static_cast<double>(size) > tokens_) {
            ++stats_.rate_limited;
            continue;
        }
        tokens_ -= static_cast<double>(size);
        if (config_.rtx) {
            RtxParams p;
            p.rtx_payload_type = config_.rtx->payload_type;
            p.rtx_ssrc = config_.rtx->ssrc;
            p.rtx_sequence_number = rtx_seq_++;
            queue_.push_back(wrap_rtx(*view, p));
        } else {
            queue_.push_back(stored->bytes);
        }
        stored->last_retransmitted = now;
        ++stored->retransmissions;
        ++stats_.retransmitted;
        stats_.retransmitted_bytes += queue_.back().size();
    }
}

std::optional<std::vector<uint8_t>> NackResponder::poll_transmit() {
    if (queue_.empty()) return std::nullopt;
    std::vector<uint8_t> p = std::move(queue_.front());
    queue_.pop_front();
    return p;
}

} // namespace rtcpp::rtp
