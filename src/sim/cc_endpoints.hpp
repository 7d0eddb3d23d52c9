// Simulated endpoints for evaluating congestion control (RFC 8867 scenarios):
//  - MediaSender: a synthetic encoder producing frames at the GCC target rate, packetized into ~1200-byte packets
//    with transport-wide sequence numbers, paced by cc::Pacer, driven by cc::GoogCcNetworkController.
//  - MediaReceiver: records arrivals and returns transport-cc feedback (RTCP RTPFB FMT 15, encoded and parsed by
//    src/rtcp) every 50 ms.
//  - TcpSender / TcpReceiver: a window-based, ack-clocked Reno-like bulk flow to compete with.
// Media and TCP packets use a private wire format (a header with flow id, transport sequence number and send time,
// then zero padding); feedback is real transport-cc.
#pragma once

#include "cc/goog_cc_network_controller.hpp"
#include "cc/pacer.hpp"
#include "cc/transport_feedback_adapter.hpp"
#include "sim/network.hpp"

#include <rtcpp/random.hpp>

#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::sim {

/// Bytes counted per datagram by the simulated links besides the payload (IP + UDP).
inline constexpr int kIpUdpOverhead = 28;

struct MediaSenderConfig {
    SocketAddr local;
    SocketAddr remote;
    uint8_t flow_id = 0;
    DataRate min_rate = DataRate::kbps(50);
    DataRate start_rate = DataRate::kbps(300);
    DataRate max_rate = DataRate::mbps(3);
    double fps = 30;
    size_t max_packet_size = 1200;
    /// Frame sizes vary uniformly by this fraction around target / fps.
    double frame_size_variation = 0.1;
    Timestamp start = Timestamp::zero();
    Timestamp stop = Timestamp::plus_infinity();
    /// The encoder and pacer stall (a loaded machine, a blocked thread) for `stall_duration` from `stall_start`,
    /// then send the frames they missed at once; feedback is still handled meanwhile.
    Timestamp stall_start = Timestamp::plus_infinity();
    TimeDelta stall_duration = TimeDelta::zero();
    uint64_t seed = 1;
    cc::GoogCcNetworkController::Config gcc;
    cc::Pacer::Config pacer;
};

class MediaSender : public Endpoint {
public:
    explicit MediaSender(const MediaSenderConfig& config);

    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp now) override;
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override;

    struct RateSample {
        Timestamp at;
        DataRate target;
        DataRate delay_based;
        DataRate acked;
        cc::BandwidthUsage usage;
        double threshold;     ///< the overuse detector's adaptive threshold
        double loss;          ///< last loss fraction
        bool capacity_known;  ///< AIMD has a link capacity estimate (additive increase)
        DataRate link_capacity;  ///< AIMD's link capacity estimate (zero without one)
        TimeDelta queue_delay;   ///< the delay-based estimator's view of the queue (last feedback)
        bool competing_queue;    ///< it has attributed the standing queue to a loss-based competitor
    };
    const std::vector<RateSample>& rate_log() const { return rate_log_; }
    /// Every probe cluster the controller asked for: when, and at what rate (for diagnosis).
    const std::vector<std::pair<Timestamp, DataRate>>& probe_log() const { return probe_log_; }
    DataRate target_rate() const { return target_; }
    const cc::GoogCcNetworkController& controller() const { return controller_; }
    const cc::Pacer& pacer() const { return pacer_; }
    uint64_t packets_sent() const { return packets_sent_; }
    uint64_t padding_sent() const { return padding_sent_; }
    uint64_t feedback_received() const { return feedback_received_; }
    uint64_t malformed() const { return malformed_; }

private:
    void run(Timestamp now);
    bool stalled(Timestamp now) const {
        return now >= config_.stall_start && now < config_.stall_start + config_.stall_duration;
    }
    void produce_frame(Timestamp now);
    void apply(const cc::NetworkControlUpdate& update, Timestamp now);
    void send(const cc::Pacer::PacedPacket& p, Timestamp now);

    MediaSenderConfig config_;
    Random random_;
    cc::GoogCcNetworkController controller_;
    cc::TransportFeedbackAdapter adapter_;
    cc::Pacer pacer_;
    bool started_ = false;
    Timestamp last_run_ = Timestamp::zero();
    bool stall_caught_up_ = false;
    DataRate target_;
    Timestamp next_frame_;
    Timestamp next_process_;
    uint16_t next_seq_ = 0;
    uint64_t next_packet_id_ = 0;
    std::map<uint64_t, size_t> queued_sizes_;  ///< pacer id -> datagram size
    std::deque<Datagram> out_;
    std::vector<RateSample> rate_log_;
    std::vector<std::pair<Timestamp, DataRate>> probe_log_;
    uint64_t packets_sent_ = 0;
    uint64_t padding_sent_ = 0;
    uint64_t feedback_received_ = 0;
    uint64_t malformed_ = 0;
};

class MediaReceiver : public Endpoint {
public:
    explicit MediaReceiver(SocketAddr local, TimeDelta feedback_interval = TimeDelta::millis(50));

    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp now) override;
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override;

    struct Arrival {
        int64_t seq;
        Timestamp sent;
        Timestamp arrival;
        size_t size;  ///< datagram bytes
        bool padding;
    };
    const std::vector<Arrival>& arrivals() const { return arrivals_; }
    uint64_t malformed() const { return malformed_; }
    uint64_t feedback_sent() const { return feedback_sent_; }

private:
    void send_feedback(Timestamp now);

    SocketAddr local_;
    TimeDelta interval_;
    std::optional<SocketAddr> remote_;
    uint8_t flow_id_ = 0;
    uint8_t feedback_count_ = 0;
    cc::SeqNumUnwrapper unwrapper_;
    std::map<int64_t, Timestamp> pending_;  ///< received, not yet reported
    std::optional<int64_t> next_to_report_;
    Timestamp next_feedback_ = Timestamp::plus_infinity();
    std::vector<Arrival> arrivals_;
    std::deque<Datagram> out_;
    uint64_t malformed_ = 0;
    uint64_t feedback_sent_ = 0;
};

/// A long-lived bulk transfer with Reno-like congestion control (slow start, +1 segment per RTT, one halving per
/// window of losses), RACK-style time-based loss detection, a tail loss probe and a retransmission timeout, as a
/// modern TCP stack recovers from drop-tail losses without falling back to slow start. Lost data is not resent:
/// only the throughput and the pressure on the queue matter here.
class TcpSender : public Endpoint {
public:
    TcpSender(SocketAddr local, SocketAddr remote, Timestamp start, size_t segment_size = 1200,
              double max_cwnd = 2000);

    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp now) override;
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override;

    double cwnd() const { return cwnd_; }
    uint64_t segments_sent() const { return sent_; }
    uint64_t loss_events() const { return loss_events_; }
    uint64_t timeouts() const { return timeouts_; }

private:
    void fill_window(Timestamp now);
    void send_segment(Timestamp now);
    TimeDelta rto() const;
    TimeDelta pto() const;

    SocketAddr local_, remote_;
    Timestamp start_;
    size_t segment_size_;
    double max_cwnd_;
    double cwnd_ = 2;
    double ssthresh_ = 1e9;
    uint32_t next_seq_ = 0;
    uint32_t recovery_point_ = 0;
    std::map<uint32_t, Timestamp> outstanding_;
    std::optional<TimeDelta> srtt_;
    TimeDelta rttvar_ = TimeDelta::zero();
    int backoff_ = 0;
    Timestamp last_ack_ = Timestamp::minus_infinity();
    bool probe_sent_ = false;
    std::deque<Datagram> out_;
    uint64_t sent_ = 0;
    uint64_t loss_events_ = 0;
    uint64_t timeouts_ = 0;
};

class TcpReceiver : public Endpoint {
public:
    explicit TcpReceiver(SocketAddr local) : local_(local) {}

    void handle_datagram(Timestamp now, const Datagram& d) override;
    void handle_timeout(Timestamp) override {}
    std::optional<Datagram> poll_transmit() override;
    Timestamp poll_timeout() override { return Timestamp::plus_infinity(); }

    struct Arrival {
        Timestamp sent;
        Timestamp arrival;
        size_t size;
    };
    const std::vector<Arrival>& arrivals() const { return arrivals_; }

private:
    SocketAddr local_;
    std::vector<Arrival> arrivals_;
    std::deque<Datagram> out_;
};

} // namespace rtcpp::sim
