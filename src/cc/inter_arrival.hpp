// Groups packets into send-time bursts and produces the delay variation between consecutive groups
// (draft-ietf-rmcat-gcc-02 section 5.2): d(i) = (arrival(i) - arrival(i-1)) - (send(i) - send(i-1)).
#pragma once

#include <rtcpp/units.hpp>

#include <optional>

namespace rtcpp::cc {

class InterArrival {
public:
    struct Deltas {
        TimeDelta send_delta;
        TimeDelta arrival_delta;
        int64_t size_delta = 0;  ///< bytes
    };

    /// Packets sent within this span of the group's first packet form one group.
    static constexpr TimeDelta kGroupLength = TimeDelta::millis(5);
    /// Packets that arrive this close together, and earlier than their send spacing predicts, were queued behind
    /// each other: they join the current group (a burst), up to kMaxBurstDuration.
    static constexpr TimeDelta kBurstDeltaThreshold = TimeDelta::millis(5);
    static constexpr TimeDelta kMaxBurstDuration = TimeDelta::millis(100);
    /// The arrival clock jumped against the local clock by more than this: start over.
    static constexpr TimeDelta kArrivalTimeOffsetThreshold = TimeDelta::seconds(3);
    static constexpr int kReorderedResetThreshold = 3;

    explicit InterArrival(TimeDelta group_length = kGroupLength) : group_length_(group_length) {}

    /// Feeds one packet (in arrival order). Returns the deltas between the two previous groups when this packet
    /// starts a new group.
    std::optional<Deltas> compute_deltas(Timestamp send_time, Timestamp arrival_time, Timestamp system_time,
                                         int64_t packet_size);

private:
    struct Group {
        bool empty() const { return !complete_time.is_finite(); }
        int64_t size = 0;
        Timestamp first_send = Timestamp::minus_infinity();
        Timestamp send_time = Timestamp::minus_infinity();
        Timestamp first_arrival = Timestamp::minus_infinity();
        Timestamp complete_time = Timestamp::minus_infinity();
        Timestamp last_system_time = Timestamp::minus_infinity();
    };

    bool new_group(Timestamp arrival_time, Timestamp send_time) const;
    bool belongs_to_burst(Timestamp arrival_time, Timestamp send_time) const;
    void reset();

    TimeDelta group_length_;
    Group current_;
    Group prev_;
    int reordered_ = 0;
};

} // namespace rtcpp::cc
