#include "cc/inter_arrival.hpp"

namespace rtcpp::cc {

bool InterArrival::belongs_to_burst(Timestamp arrival_time, Timestamp send_time) const {
    const TimeDelta arrival_delta = arrival_time - current_.complete_time;
    const TimeDelta send_delta = send_time - current_.send_time;
    if (send_delta.is_zero()) return true;
    const TimeDelta propagation_delta = arrival_delta - send_delta;
    return propagation_delta < TimeDelta::zero() && arrival_delta <= kBurstDeltaThreshold &&
           arrival_time - current_.first_arrival < kMaxBurstDuration;
}

bool InterArrival::new_group(Timestamp arrival_time, Timestamp send_time) const {
    if (current_.empty()) return false;
    if (belongs_to_burst(arrival_time, send_time)) return false;
    return send_time - current_.first_send > group_length_;
}

void InterArrival::reset() {
    current_ = Group{};
    prev_ = Group{};
    reordered_ = 0;
}

std::optional<InterArrival::Deltas> InterArrival::compute_deltas(Timestamp send_time, Timestamp arrival_time,
                                                                 Timestamp system_time, int64_t packet_size) {
    std::optional<Deltas> out;
    if (current_.empty()) {
        current_.send_time = send_time;
        current_.first_send = send_time;
        current_.first_arrival = arrival_time;
    } else if (send_time < current_.first_send) {
        return std::nullopt;  // sent before the current group: reordered, ignore
    } else if (new_group(arrival_time, send_time)) {
        if (!prev_.empty()) {
            Deltas d;
            d.send_delta = current_.send_time - prev_.send_time;
            d.arrival_delta = current_.complete_time - prev_.complete_time;
            const TimeDelta system_delta = current_.last_system_time - prev_.last_system_time;
            if (d.arrival_delta - system_delta >= kArrivalTimeOffsetThreshold) {
                reset();
                return std::nullopt;
            }
            if (d.arrival_delta < TimeDelta::zero()) {
                if (++reordered_ >= kReorderedResetThreshold) reset();
                return std::nullopt;
            }
            reordered_ = 0;
            d.size_delta = current_.size - prev_.size;
            out = d;
        }
        prev_ = current_;
        current_ = Group{};
        current_.first_send = send_time;
        current_.send_time = send_time;
        current_.first_arrival = arrival_time;
    } else if (send_time > current_.send_time) {
        current_.send_time = send_time;
    }
    current_.size += packet_size;
    current_.complete_time = arrival_time;
    current_.last_system_time = system_time;
    return out;
}

} // namespace rtcpp::cc
