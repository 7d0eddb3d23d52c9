#include "rtp/nack_generator.hpp"

#include <algorithm>

namespace rtcpp::rtp {

NackGenerator::NackGenerator(NackGeneratorConfig config) : config_(config), rtt_(config.default_rtt) {
    if (config_.max_list_size == 0) config_.max_list_size = 1;
    if (config_.max_per_packet == 0) config_.max_per_packet = 1;
}

void NackGenerator::set_rtt(TimeDelta rtt) {
    if (rtt > TimeDelta::zero() && rtt.is_finite()) rtt_ = rtt;
}

TimeDelta NackGenerator::retry_interval() const {
    return std::max(rtt_ + config_.retry_margin, config_.min_retry_interval);
}

void NackGenerator::request_keyframe() {
    keyframe_request_ = true;
    ++stats_.keyframe_requests;
}

void NackGenerator::handle_packet(Timestamp now, uint16_t sequence_number, bool keyframe_start) {
    ++stats_.packets;
    const int64_t s = unwrapper_.unwrap(sequence_number);
    if (!newest_) {
        newest_ = s;
        if (keyframe_start) newest_keyframe_ = s;
        return;
    }
    if (s <= *newest_) {
        const auto it = list_.find(s);
        if (it != list_.end()) {
            list_.erase(it);
            ++stats_.recovered;
        } else {
            ++stats_.duplicates;
        }
        if (keyframe_start && (!newest_keyframe_ || s > *newest_keyframe_)) newest_keyframe_ = s;
        return;
    }
    const int64_t gap = s - *newest_ - 1;
    newest_ = s;
    if (keyframe_start) newest_keyframe_ = s;
    if (gap == 0) return;
    if (static_cast<uint64_t>(gap) > config_.max_list_size) {
        // Far more lost than we could ever ask for: the decoder needs a fresh start anyway.
        stats_.overflow_dropped += list_.size();
        list_.clear();
        ++stats_.jumps;
        request_keyframe();
        return;
    }
    for (int64_t m = s - gap; m < s; ++m) {
        list_.emplace(m, Entry{now, now + config_.reorder_allowance, 0});
        ++stats_.missing_detected;
    }
    if (list_.size() <= config_.max_list_size) return;
    // Over the limit: what precedes the newest keyframe is no longer needed to decode from here on.
    if (newest_keyframe_) {
        while (!list_.empty() && list_.begin()->first < *newest_keyframe_) {
            list_.erase(list_.begin());
            ++stats_.overflow_dropped;
        }
    }
    if (list_.size() > config_.max_list_size) {
        stats_.overflow_dropped += list_.size();
        list_.clear();
        request_keyframe();
    }
}

void NackGenerator::clear_before(uint16_t sequence_number) {
    if (!newest_) return;
    const int64_t s = unwrapper_.peek(sequence_number);
    while (!list_.empty() && list_.begin()->first < s) list_.erase(list_.begin());
    std::erase_if(pending_, [&](uint16_t p) { return unwrapper_.peek(p) < s; });
}

void NackGenerator::collect(Timestamp now) {
    bool gave_up = false;
    for (auto it = list_.begin(); it != list_.end();) {
        Entry& e = it->second;
        if (e.next_send > now) {
            ++it;
            continue;
        }
        if (e.sent >= config_.max_retries || now - e.detected > config_.max_age) {
            it = list_.erase(it);
            ++stats_.given_up;
            gave_up = true;
            continue;
        }
        const uint16_t seq = static_cast<uint16_t>(it->first);
        if (std::find(pending_.begin(), pending_.end(), seq) == pending_.end()) pending_.push_back(seq);
        ++e.sent;
        e.next_send = now + retry_interval();
        ++it;
    }
    if (gave_up) request_keyframe();
}

void NackGenerator::handle_timeout(Timestamp now) { collect(now); }

Timestamp NackGenerator::poll_timeout() const {
    Timestamp t = Timestamp::plus_infinity();
    for (const auto& [seq, e] : list_) t = std::min(t, e.next_send);
    return t;
}

std::optional<rtcp::Nack> NackGenerator::poll_nack() {
    if (pending_.empty()) return std::nullopt;
    rtcp::Nack nack;
    nack.sender_ssrc = config_.sender_ssrc;
    nack.media_ssrc = config_.media_ssrc;
    const size_t n = std::min(pending_.size(), config_.max_per_packet);
    nack.sequence_numbers.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    ++stats_.nack_packets;
    stats_.nack_requests += n;
    return nack;
}

std::optional<std::vector<uint8_t>> NackGenerator::poll_transmit() {
    auto nack = poll_nack();
    if (!nack) return std::nullopt;
    std::vector<uint8_t> out;
    ByteWriter w(out);
    nack->write(w);
    return out;
}

bool NackGenerator::poll_keyframe_request() {
    const bool r = keyframe_request_;
    keyframe_request_ = false;
    return r;
}

bool NackGenerator::is_missing(uint16_t sequence_number) const {
    if (!newest_) return false;
    return list_.count(unwrapper_.peek(sequence_number)) != 0;
}

} // namespace rtcpp::rtp
