// Plain value types exchanged with the congestion controller.
//
// src/cc knows nothing of RTP or RTCP: whoever owns the packets (the RTP sender, the simulator) turns "a packet left
// the socket" and "a transport-wide feedback arrived" into these structs, and applies the NetworkControlUpdate that
// comes back (encoder target, pacer rates, probe clusters). The shapes follow libwebrtc's
// api/transport/network_control.h so the GCC literature maps onto them directly.
#pragma once

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::cc {

/// What the pacer knew about a packet when it released it: whether it belonged to a probe cluster, and the size the
/// cluster had to reach for its result to count.
struct PacedPacketInfo {
    static constexpr int kNotAProbe = -1;
    int probe_cluster_id = kNotAProbe;
    int probe_cluster_min_probes = 0;
    DataSize probe_cluster_min_bytes = DataSize::zero();

    bool is_probe() const { return probe_cluster_id != kNotAProbe; }
};

/// Pacer priority classes, highest first.
enum class PacketKind : uint8_t { Audio = 0, Retransmission = 1, Video = 2, Fec = 3, Padding = 4 };

/// A packet that has just left the socket, as the send-side history needs it.
struct SentPacket {
    uint16_t transport_seq = 0;  ///< as written in the transport-wide-cc header extension
    Timestamp send_time;
    DataSize size;               ///< bytes on the wire counted by the congestion controller (payload + headers)
    PacedPacketInfo pacing_info;
    PacketKind kind = PacketKind::Video;
};

/// Feedback for one packet, as a parser of transport-cc (or RFC 8888) feedback produces it.
struct PacketReport {
    uint16_t transport_seq = 0;
    std::optional<Timestamp> arrival;  ///< receiver clock; nullopt: reported not received
};

/// One transport feedback message, in plain form.
struct TransportFeedback {
    Timestamp receive_time;            ///< local time the feedback reached the sender
    std::vector<PacketReport> packets; ///< in transport sequence order
};

/// A sent packet matched with its history entry.
struct SentPacketInfo {
    int64_t sequence_number = 0;  ///< unwrapped transport sequence number
    Timestamp send_time;
    DataSize size;
    DataSize prior_unacked_data;  ///< bytes sent before this one and not yet covered by feedback
    PacedPacketInfo pacing_info;
    PacketKind kind = PacketKind::Video;
};

struct PacketResult {
    SentPacketInfo sent_packet;
    /// Arrival in the local clock domain (remote arrival shifted by a fixed offset); plus_infinity() if lost.
    Timestamp receive_time = Timestamp::plus_infinity();
    bool is_received() const { return receive_time.is_finite(); }
};

/// The per-packet results of one feedback message.
struct TransportPacketsFeedback {
    Timestamp feedback_time = Timestamp::plus_infinity();
    DataSize data_in_flight = DataSize::zero();
    DataSize prior_in_flight = DataSize::zero();
    std::vector<PacketResult> packet_feedbacks;

    std::vector<PacketResult> received_with_send_info() const;
    std::vector<PacketResult> lost_with_send_info() const;
    /// Received packets ordered by arrival (ties by sequence number), as the delay estimators need them.
    std::vector<PacketResult> sorted_by_receive_time() const;
};

/// The application's limits on the target rate. Unset fields leave the current value.
struct TargetRateConstraints {
    Timestamp at_time;
    std::optional<DataRate> min_data_rate;
    std::optional<DataRate> max_data_rate;
    std::optional<DataRate> starting_rate;
};

/// A request to the pacer: send `target_data_rate` for at least `target_duration` and `target_probe_count`
/// packets, tagged with `id`, so the feedback can tell what the path delivered.
struct ProbeClusterConfig {
    Timestamp at_time;
    DataRate target_data_rate;
    TimeDelta target_duration = TimeDelta::millis(15);
    TimeDelta min_probe_delta = TimeDelta::millis(2);
    int target_probe_count = 5;
    int id = 0;

    DataSize min_bytes() const { return target_data_rate * target_duration; }
};

struct PacerConfig {
    Timestamp at_time;
    DataRate pacing_rate;
    DataRate padding_rate;
};

struct TargetTransferRate {
    Timestamp at_time;
    DataRate target_rate;          ///< what the encoders should produce in total
    DataRate stable_target_rate;   ///< the delay-based estimate, less jumpy than target_rate
    double loss_rate_ratio = 0;    ///< last reported fraction lost
    TimeDelta round_trip_time = TimeDelta::zero();
};

/// What every controller method returns: the parts that changed.
struct NetworkControlUpdate {
    std::optional<TargetTransferRate> target_rate;
    std::optional<PacerConfig> pacer_config;
    std::vector<ProbeClusterConfig> probe_cluster_configs;

    bool has_updates() const { return target_rate || pacer_config || !probe_cluster_configs.empty(); }
    /// Folds a later update into this one (later values win, probe clusters accumulate).
    void merge(NetworkControlUpdate&& later);
};

/// The delay detector's verdict.
enum class BandwidthUsage : uint8_t { Normal, Underusing, Overusing };

} // namespace rtcpp::cc
