// Sans-IO pacer: releases queued packets at the pacing rate (a leaky bucket that allows bursts of up to
// `burst_interval` worth of data after idle time), highest priority first (audio > retransmission > video > FEC),
// generates padding at the padding rate when the queue is empty, and runs probe clusters (sending media when
// queued, padding otherwise, at the cluster's rate, tagged with the cluster id).
//
//   pacer.enqueue(now, {id, kind, size});
//   while (auto p = pacer.poll_send(now)) send(*p);   // a media id, or a request for padding of p->size bytes
//   wake me at pacer.poll_timeout();
#pragma once

#include "cc/network_types.hpp"
#include "core/ring_queue.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace rtcpp::cc {

class Pacer {
public:
    enum class QueueLimitAction : uint8_t { RaisePacingRate, DropOldest };
    struct Config {
        /// Credit accumulated while idle, sent back-to-back when packets arrive.
        TimeDelta burst_interval = TimeDelta::millis(40);
        /// Queued data may not take longer than this to drain at the pacing rate.
        TimeDelta max_queue_time = TimeDelta::seconds(2);
        QueueLimitAction queue_limit_action = QueueLimitAction::RaisePacingRate;
        /// Audio is tiny and latency-critical: by default it skips the bucket (but still counts against it).
        bool pace_audio = false;
        DataSize padding_packet_size = DataSize::bytes(600);
        DataSize min_probe_packet_size = DataSize::bytes(200);
        DataSize max_probe_packet_size = DataSize::bytes(1200);
        /// A cluster that could not complete in this time is abandoned.
        TimeDelta max_probe_duration = TimeDelta::millis(500);
    };
    struct PacketMeta {
        uint64_t id = 0;  ///< the caller's handle
        PacketKind kind = PacketKind::Video;
        DataSize size;
    };
    struct PacedPacket {
        bool is_padding = false;
        uint64_t id = 0;  ///< valid if !is_padding
        PacketKind kind = PacketKind::Video;
        DataSize size;    ///< for padding: the size to generate
        PacedPacketInfo pacing_info;
        TimeDelta queue_time = TimeDelta::zero();
    };
    struct Stats {
        uint64_t media_sent = 0;
        uint64_t padding_sent = 0;
        uint64_t probe_packets_sent = 0;
        uint64_t dropped = 0;
        uint64_t clusters_completed = 0;
        uint64_t clusters_abandoned = 0;
        DataSize padding_bytes = DataSize::zero();
    };

    Pacer() : Pacer(Config{}) {}
    explicit Pacer(const Config& config) : config_(config) {}

    void set_pacing_rates(DataRate pacing_rate, DataRate padding_rate);
    void create_probe_cluster(const ProbeClusterConfig& cluster);
    void enqueue(Timestamp now, const PacketMeta& packet);
    /// The next packet to send now, if any.
    std::optional<PacedPacket> poll_send(Timestamp now);
    /// When poll_send may next return something (plus_infinity: nothing to do until enqueue or new rates).
    Timestamp poll_timeout() const;
    /// Ids dropped by the queue limit since the last call.
    std::vector<uint64_t> take_dropped();

    size_t queue_packets() const;
    DataSize queue_size() const { return queue_bytes_; }
    /// Time to drain the queue at the current pacing rate.
    TimeDelta expected_queue_time() const;
    Timestamp oldest_enqueue_time() const;
    DataRate pacing_rate() const { return pacing_rate_; }
    /// The rate actually used: the pacing rate, raised if the queue would take too long to drain.
    DataRate effective_pacing_rate() const;
    const Stats& stats() const { return stats_; }

private:
    struct Queued {
        PacketMeta meta;
        Timestamp enqueued;
    };
    struct Cluster {
        ProbeClusterConfig config;
        DataSize sent = DataSize::zero();
        int probes = 0;
        Timestamp started = Timestamp::plus_infinity();
    };
    static constexpr size_t kClasses = 4;  // audio, retransmission, video, fec

    void update_budget(Timestamp now);
    void on_sent(DataSize size, bool padding);
    std::optional<Queued> pop_highest();
    const Queued* peek_highest() const;
    Timestamp next_probe_time() const;
    DataSize probe_packet_size(const Cluster& c) const;
    DataSize burst_size() const;
    void enforce_queue_limit();

    Config config_;
    DataRate pacing_rate_ = DataRate::zero();
    DataRate padding_rate_ = DataRate::zero();
    std::array<RingQueue<Queued>, kClasses> queues_; // rings: packets passing through allocate nothing
    DataSize queue_bytes_ = DataSize::zero();
    double media_debt_ = 0;    ///< bytes
    double padding_debt_ = 0;  ///< bytes
    Timestamp last_update_ = Timestamp::minus_infinity();
    std::deque<Cluster> clusters_;
    std::vector<uint64_t> dropped_;
    Stats stats_;
};

} // namespace rtcpp::cc
