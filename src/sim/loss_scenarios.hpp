// Loss-resilience evaluation over the simulator: a VP8-like video sender -> lossy, jittery link -> a receiver with
// the NACK generator and the frame buffer; NACKs and PLIs return over the reverse link and the sender answers
// with RTX from its NACK responder. Shared by tests/e2e and bench/bench_loss ("rtcpp-bench loss-sweep").
//
// The RTT is given to both ends from the configuration (in a session it comes from RTCP SR/RR); everything else
// is measured. Added latency of a rendered frame = when the frame buffer released it - its capture time - the
// one-way propagation delay, i.e. what jitter buffering and recovery cost on top of the path itself.
#pragma once

#include "core/byte_reader.hpp"
#include "sim/network.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace rtcpp::sim {

/// Where forward error correction plugs in (both optional).
struct ProtectionHooks {
    /// Sender: called for every media packet sent; protection packets (FEC, RED) appended to `out` are sent too and
    /// counted as FEC overhead.
    std::function<void(Timestamp now, ByteView media_packet, std::vector<std::vector<uint8_t>>& out)> protect;
    /// Receiver: called for every packet received (an RTX packet as the original it carries), so FEC equations
    /// see the media they protect; media packets it can rebuild are appended to `recovered` and handled as if
    /// retransmitted.
    std::function<void(Timestamp now, ByteView packet, std::vector<std::vector<uint8_t>>& recovered)> recover;
};

struct LossScenarioConfig {
    double loss = 0;            ///< average packet loss on the path (both directions unless feedback_loss is false)
    bool bursty = false;        ///< Gilbert-Elliott loss with that average instead of independent loss
    double mean_burst = 3;      ///< packets per loss burst when bursty
    bool feedback_loss = true;  ///< the reverse path (NACK, PLI, nothing else) loses packets too
    TimeDelta rtt = TimeDelta::millis(100);
    TimeDelta jitter = TimeDelta::zero();  ///< standard deviation of the one-way delay (FIFO: no reordering)
    DataRate video_rate = DataRate::kbps(1000);
    int fps = 30;
    TimeDelta keyframe_interval = TimeDelta::seconds(3);
    double keyframe_size_factor = 3;  ///< keyframes are this many times a delta frame
    TimeDelta duration = TimeDelta::seconds(20);
    bool nack = true;
    bool rtx = true;                  ///< false: plain retransmission on the media SSRC
    /// Retransmissions may use up to this share of video_rate. 1.0 here (the library's default is 0.5): the link
    /// has no bottleneck, and at 30% loss recovery alone needs ~45% of the media rate, keyframes aside.
    double max_retransmit_share = 1.0;
    size_t max_payload = 1200;
    uint64_t seed = 1;
    /// FlexFEC (own SSRC) at the level rtp::choose_protection picks for this loss, burstiness and RTT (hybrid with
    /// NACK: more FEC as the RTT grows). The scenario feeds it the configured loss, as RTCP receiver reports
    /// would after a few seconds. Ignored when `protection` has hooks of its own.
    bool fec = false;
    ProtectionHooks protection;
};

struct LossScenarioResult {
    uint64_t frames_sent = 0;       ///< frames captured early enough to be counted (all but the last second)
    uint64_t frames_rendered = 0;   ///< of those, released complete and decodable by the frame buffer
    double rendered_share = 0;
    TimeDelta latency_p50 = TimeDelta::zero();  ///< added latency of rendered frames
    TimeDelta latency_p95 = TimeDelta::zero();
    TimeDelta latency_max = TimeDelta::zero();
    uint64_t media_bytes = 0;          ///< RTP bytes of original media packets
    uint64_t retransmitted_bytes = 0;  ///< RTP bytes of retransmissions (RTX or plain)
    uint64_t fec_bytes = 0;            ///< bytes from ProtectionHooks::protect
    uint64_t fec_recovered = 0;        ///< media packets rebuilt from FEC (LossScenarioConfig::fec)
    double fec_protection = 0;         ///< FEC packets per media packet chosen (LossScenarioConfig::fec)
    double retransmit_overhead = 0;    ///< retransmitted_bytes / media_bytes
    double fec_overhead = 0;
    uint64_t nack_packets = 0;
    uint64_t keyframe_requests = 0;    ///< PLIs sent
    uint64_t keyframes_sent = 0;
    uint64_t forward_lost = 0;         ///< packets the forward link dropped
    uint64_t frames_late = 0;          ///< released after their render time
    uint64_t retransmissions = 0;
    uint64_t nack_not_in_history = 0;  ///< requests the sender could not answer (too old)
    uint64_t nack_rate_limited = 0;    ///< requests refused by the retransmission budget
    uint64_t nack_too_soon = 0;        ///< requests for a packet retransmitted less than an RTT before
    uint64_t nack_given_up = 0;        ///< sequence numbers the receiver stopped asking for
    std::vector<std::pair<double, double>> latency_series;  ///< (capture time s, added latency ms) per frame
};

LossScenarioResult run_loss_scenario(const LossScenarioConfig& config);

} // namespace rtcpp::sim
