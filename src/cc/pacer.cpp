#include "cc/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::cc {

namespace {

size_t class_index(PacketKind kind) {
    switch (kind) {
    case PacketKind::Audio: return 0;
    case PacketKind::Retransmission: return 1;
    case PacketKind::Video: return 2;
    case PacketKind::Fec:
    case PacketKind::Padding: return 3;
    }
    return 2;
}

/// Time to drain `bytes` at `rate`, rounded up to the next microsecond so a wake-up at that time finds the
/// budget really available (rounding down would make the caller spin at the same instant).
TimeDelta drain_time(double bytes, DataRate rate) {
    if (bytes <= 0) return TimeDelta::zero();
    if (rate.bps() <= 0) return TimeDelta::plus_infinity();
    const double us = bytes * 8.0 * 1e6 / static_cast<double>(rate.bps());
    return TimeDelta::micros(static_cast<int64_t>(std::ceil(us)) + 1);
}

double bytes_in(DataRate rate, TimeDelta t) {
    return static_cast<double>(rate.bps()) * t.seconds_f() / 8.0;
}

constexpr double kEpsilonBytes = 1e-6;

} // namespace

void Pacer::set_pacing_rates(DataRate pacing_rate, DataRate padding_rate) {
    pacing_rate_ = pacing_rate;
    padding_rate_ = padding_rate;
}

void Pacer::create_probe_cluster(const ProbeClusterConfig& cluster) {
    if (cluster.target_data_rate <= DataRate::zero()) return;
    update_budget(cluster.at_time);
    clusters_.push_back(Cluster{cluster});
}

void Pacer::enqueue(Timestamp now, const PacketMeta& packet) {
    update_budget(now);
    queues_[class_index(packet.kind)].push_back(Queued{packet, now});
    queue_bytes_ += packet.size;
    if (config_.queue_limit_action == QueueLimitAction::DropOldest) enforce_queue_limit();
}

void Pacer::enforce_queue_limit() {
    while (expected_queue_time() > config_.max_queue_time) {
        // Drop the oldest packet of the lowest-priority class that has any (never audio).
        bool dropped = false;
        for (size_t c = kClasses; c-- > 1;) {
            if (queues_[c].empty()) continue;
            queue_bytes_ -= queues_[c].front().meta.size;
            dropped_.push_back(queues_[c].front().meta.id);
            queues_[c].pop_front();
            ++stats_.dropped;
            dropped = true;
            break;
        }
        if (!dropped) break;
    }
}

std::vector<uint64_t> Pacer::take_dropped() {
    std::vector<uint64_t> out;
    out.swap(dropped_);
    return out;
}

size_t Pacer::queue_packets() const {
    size_t n = 0;
    for (const auto& q : queues_) n += q.size();
    return n;
}

TimeDelta Pacer::expected_queue_time() const {
    if (pacing_rate_.bps() <= 0) return queue_bytes_.bytes() > 0 ? TimeDelta::plus_infinity() : TimeDelta::zero();
    return queue_bytes_ / pacing_rate_;
}

Timestamp Pacer::oldest_enqueue_time() const {
    Timestamp oldest = Timestamp::plus_infinity();
    for (const auto& q : queues_)
        if (!q.empty()) oldest = std::min(oldest, q.front().enqueued);
    return oldest;
}

DataRate Pacer::effective_pacing_rate() const {
    if (config_.queue_limit_action == QueueLimitAction::RaisePacingRate && queue_bytes_.bytes() > 0) {
        // Drain whatever is queued before its oldest packet has waited the queue time limit, even if that
        // exceeds the estimate (a frozen picture is worse than a short overshoot).
        TimeDelta remaining = config_.max_queue_time;
        const Timestamp oldest = oldest_enqueue_time();
        if (last_update_.is_finite() && oldest.is_finite()) remaining -= last_update_ - oldest;
        remaining = std::max(remaining, TimeDelta::millis(50));
        const DataRate needed = queue_bytes_ / remaining;
        if (needed > pacing_rate_) return needed;
    }
    return pacing_rate_;
}

DataSize Pacer::burst_size() const { return effective_pacing_rate() * config_.burst_interval; }

void Pacer::update_budget(Timestamp now) {
    if (!last_update_.is_finite()) {
        last_update_ = now;
        return;
    }
    if (now <= last_update_) return;  // time going backwards is ignored
    const TimeDelta elapsed = now - last_update_;
    media_debt_ = std::max(0.0, media_debt_ - bytes_in(effective_pacing_rate(), elapsed));
    padding_debt_ = std::max(0.0, padding_debt_ - bytes_in(padding_rate_, elapsed));
    last_update_ = now;
}

const Pacer::Queued* Pacer::peek_highest() const {
    for (const auto& q : queues_)
        if (!q.empty()) return &q.front();
    return nullptr;
}

std::optional<Pacer::Queued> Pacer::pop_highest() {
    for (auto& q : queues_) {
        if (q.empty()) continue;
        Queued out = q.front();
        q.pop_front();
        queue_bytes_ -= out.meta.size;
        return out;
    }
    return std::nullopt;
}

void Pacer::on_sent(DataSize size, bool padding) {
    media_debt_ += static_cast<double>(size.bytes());
    if (padding) padding_debt_ += static_cast<double>(size.bytes());
}

Timestamp Pacer::next_probe_time() const {
    if (clusters_.empty()) return Timestamp::plus_infinity();
    const Cluster& c = clusters_.front();
    if (!c.started.is_finite()) return std::max(last_update_, c.config.at_time);
    return c.started + drain_time(static_cast<double>(c.sent.bytes()), c.config.target_data_rate);
}

DataSize Pacer::probe_packet_size(const Cluster& c) const {
    // Small enough for several packets within the cluster's short duration, large enough to keep overhead low.
    const DataSize s = c.config.target_data_rate * (c.config.min_probe_delta * 2);
    return std::clamp(s, config_.min_probe_packet_size, config_.max_probe_packet_size);
}

std::optional<Pacer::PacedPacket> Pacer::poll_send(Timestamp now) {
    update_budget(now);

    // Probe clusters first: they run at their own rate, on top of the budget.
    while (!clusters_.empty()) {
        Cluster& c = clusters_.front();
        if (c.started.is_finite() && now - c.started > config_.max_probe_duration) {
            clusters_.pop_front();
            ++stats_.clusters_abandoned;
            continue;
        }
        if (now < next_probe_time()) {
            // Between the packets of a running cluster nothing else may go out: extra packets at the bottleneck
            // would stretch the cluster's arrival spread and make the path look slower than it is.
            if (c.started.is_finite()) return std::nullopt;
            break;
        }
        if (!c.started.is_finite()) c.started = now;
        PacedPacket out;
        out.pacing_info.probe_cluster_id = c.config.id;
        out.pacing_info.probe_cluster_min_probes = c.config.target_probe_count;
        out.pacing_info.probe_cluster_min_bytes = c.config.min_bytes();
        if (auto q = pop_highest()) {
            out.id = q->meta.id;
            out.kind = q->meta.kind;
            out.size = q->meta.size;
            out.queue_time = now - q->enqueued;
            ++stats_.media_sent;
        } else {
            out.is_padding = true;
            out.kind = PacketKind::Padding;
            out.size = probe_packet_size(c);
            ++stats_.padding_sent;
            stats_.padding_bytes += out.size;
        }
        on_sent(out.size, false);
        ++stats_.probe_packets_sent;
        c.sent += out.size;
        ++c.probes;
        if (c.probes >= c.config.target_probe_count && c.sent >= c.config.min_bytes()) {
            clusters_.pop_front();
            ++stats_.clusters_completed;
        }
        return out;
    }

    if (const Queued* head = peek_highest()) {
        const bool bypass = head->meta.kind == PacketKind::Audio && !config_.pace_audio;
        const bool budget = effective_pacing_rate().bps() > 0 &&
                            media_debt_ <= static_cast<double>(burst_size().bytes()) + kEpsilonBytes;
        if (!bypass && !budget) return std::nullopt;
        Queued q = *pop_highest();
        PacedPacket out;
        out.id = q.meta.id;
        out.kind = q.meta.kind;
        out.size = q.meta.size;
        out.queue_time = now - q.enqueued;
        on_sent(out.size, false);
        ++stats_.media_sent;
        return out;
    }

    if (padding_rate_.bps() > 0 && pacing_rate_.bps() > 0 && media_debt_ <= kEpsilonBytes &&
        padding_debt_ <= kEpsilonBytes) {
        PacedPacket out;
        out.is_padding = true;
        out.kind = PacketKind::Padding;
        out.size = config_.padding_packet_size;
        on_sent(out.size, true);
        ++stats_.padding_sent;
        stats_.padding_bytes += out.size;
        return out;
    }
    return std::nullopt;
}

Timestamp Pacer::poll_timeout() const {
    Timestamp t = Timestamp::plus_infinity();
    if (!clusters_.empty()) {
        t = std::min(t, next_probe_time());
        if (clusters_.front().started.is_finite()) return t;  // a running cluster owns the link
    }
    if (const Queued* head = peek_highest()) {
        const DataRate rate = effective_pacing_rate();
        if (head->meta.kind == PacketKind::Audio && !config_.pace_audio) {
            t = std::min(t, last_update_);
        } else if (rate.bps() > 0) {
            const double excess = media_debt_ - static_cast<double>(burst_size().bytes());
            t = std::min(t, last_update_ + drain_time(excess, rate));
        }
    } else if (padding_rate_.bps() > 0 && pacing_rate_.bps() > 0) {
        const TimeDelta wait = std::max(drain_time(media_debt_, pacing_rate_), drain_time(padding_debt_, padding_rate_));
        t = std::min(t, last_update_ + wait);
    }
    return t;
}

} // namespace rtcpp::cc
