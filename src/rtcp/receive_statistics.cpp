#include "rtcp/receive_statistics.hpp"

namespace rtcpp::rtcp {

namespace {
constexpr uint32_t kSeqMod = 1u << 16;
constexpr uint16_t kMaxDropout = 3000;
constexpr uint16_t kMaxMisorder = 100;
} // namespace

NtpTime ntp_from_timestamp(Timestamp t, TimeDelta offset) {
    const int64_t us = (t + offset).us();
    const uint64_t u = us < 0 ? 0 : static_cast<uint64_t>(us);
    const uint64_t secs = u / 1000000;
    const uint64_t frac = ((u % 1000000) << 32) / 1000000;
    return NtpTime{(secs << 32) | frac};
}

StreamReceiveStatistics::StreamReceiveStatistics(uint32_t ssrc, uint32_t clock_rate)
    : ssrc_(ssrc), clock_rate_(clock_rate == 0 ? 90000 : clock_rate) {}

// RFC 3550 A.1 without probation: WebRTC streams are signalled, so the first packet is trusted.
StreamReceiveStatistics::SeqUpdate StreamReceiveStatistics::update_sequence(uint16_t seq) {
    const uint16_t udelta = static_cast<uint16_t>(seq - max_seq_);
    if (udelta < kMaxDropout) {
        if (seq < max_seq_) cycles_ += kSeqMod;
        max_seq_ = seq;
        return SeqUpdate::InOrder;
    }
    if (udelta <= kSeqMod - kMaxMisorder) {
        // A very large jump: accept it only if the next packet follows it (the sender restarted).
        if (seq == bad_seq_) {
            max_seq_ = seq;
            cycles_ = 0;
            base_seq_ = seq;
            bad_seq_ = kSeqMod + 1;
            received_ = 0;
            received_prior_ = 0;
            expected_prior_ = 0;
            have_transit_ = false;
            return SeqUpdate::InOrder;
        }
        bad_seq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
        return SeqUpdate::Jump;
    }
    // Duplicate or reordered: counts as received, does not move the highest number.
    return SeqUpdate::Reordered;
}

void StreamReceiveStatistics::handle_packet(Timestamp arrival, uint16_t seq, uint32_t rtp_timestamp, size_t bytes,
                                            bool retransmission) {
    bool in_order = true;
    if (!started_) {
        started_ = true;
        max_seq_ = seq;
        base_seq_ = seq;
        cycles_ = 0;
    } else {
        const auto u = update_sequence(seq);
        // The first packet after a big jump is left out of the counts until the next one confirms the jump.
        if (u == SeqUpdate::Jump) return;
        in_order = u == SeqUpdate::InOrder;
    }
    ++received_;
    bytes_ += bytes;
    if (!in_order || retransmission) return;

    // A.8: transit time in RTP units; its variation drives the jitter estimate (kept << 4 for precision).
    // Signed: core time may start below zero. Only differences of transit matter, so wrapping to 32 bits is fine.
    const int64_t arrival_rtp = arrival.us() * static_cast<int64_t>(clock_rate_) / 1000000;
    const uint32_t transit = static_cast<uint32_t>(arrival_rtp) - rtp_timestamp;
    if (have_transit_) {
        int64_t d = static_cast<int32_t>(transit - last_transit_);
        if (d < 0) d = -d;
        // Ignore steps of more than ~5 s (a timestamp jump, not network jitter), as libwebrtc does.
        if (d < int64_t{clock_rate_} * 5) {
            const int64_t j = static_cast<int64_t>(jitter_q4_);
            jitter_q4_ = static_cast<uint64_t>(j + d - ((j + 8) >> 4));
        }
    }
    last_transit_ = transit;
    have_transit_ = true;
}

void StreamReceiveStatistics::handle_sender_report(Timestamp now, const SenderReport& sr) {
    last_sr_compact_ = sr.ntp.compact();
    last_sr_time_ = now;
}

int64_t StreamReceiveStatistics::cumulative_lost() const {
    if (!started_) return 0;
    const int64_t expected = int64_t{extended_highest_sequence()} - int64_t{base_seq_} + 1;
    return expected - static_cast<int64_t>(received_);
}

TimeDelta StreamReceiveStatistics::jitter_time() const {
    return TimeDelta::micros(static_cast<int64_t>(jitter()) * 1000000 / clock_rate_);
}

std::optional<ReportBlock> StreamReceiveStatistics::make_report_block(Timestamp now) {
    if (!started_) return std::nullopt;
    ReportBlock b;
    b.source_ssrc = ssrc_;
    const uint64_t expected = uint64_t{extended_highest_sequence()} - base_seq_ + 1;
    const int64_t expected_interval = static_cast<int64_t>(expected - expected_prior_);
    const int64_t received_interval = static_cast<int64_t>(received_ - received_prior_);
    const int64_t lost_interval = expected_interval - received_interval;
    expected_prior_ = expected;
    received_prior_ = received_;
    last_fraction_lost_ =
        (expected_interval <= 0 || lost_interval <= 0) ? 0 : static_cast<uint8_t>((lost_interval << 8) / expected_interval);
    b.fraction_lost = last_fraction_lost_;
    const int64_t lost = cumulative_lost();
    b.cumulative_lost = static_cast<int32_t>(lost > 0x7FFFFF ? 0x7FFFFF : (lost < -0x800000 ? -0x800000 : lost));
    b.extended_highest_sequence = extended_highest_sequence();
    b.jitter = jitter();
    if (last_sr_time_) {
        b.last_sr = last_sr_compact_;
        b.delay_since_last_sr = to_compact_ntp(now - *last_sr_time_);
    }
    return b;
}

StreamReceiveStatistics& ReceiveStatistics::stream(uint32_t ssrc, uint32_t clock_rate) {
    auto it = streams_.find(ssrc);
    if (it == streams_.end()) it = streams_.emplace(ssrc, StreamReceiveStatistics(ssrc, clock_rate)).first;
    return it->second;
}

StreamReceiveStatistics* ReceiveStatistics::find(uint32_t ssrc) {
    auto it = streams_.find(ssrc);
    return it == streams_.end() ? nullptr : &it->second;
}

void ReceiveStatistics::handle_sender_report(Timestamp now, const SenderReport& sr) {
    if (auto* s = find(sr.sender_ssrc)) s->handle_sender_report(now, sr);
}

std::vector<ReportBlock> ReceiveStatistics::make_report_blocks(Timestamp now, size_t max_blocks) {
    std::vector<ReportBlock> out;
    for (auto& [ssrc, s] : streams_) {
        if (out.size() >= max_blocks) break;
        if (auto b = s.make_report_block(now)) out.push_back(*b);
    }
    return out;
}

} // namespace rtcpp::rtcp
