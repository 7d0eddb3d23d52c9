#include "cc/probe_bitrate_estimator.hpp"

#include <algorithm>

namespace rtcpp::cc {

std::optional<DataRate> ProbeBitrateEstimator::handle_probe_and_estimate_bitrate(const PacketResult& packet) {
    const PacedPacketInfo& info = packet.sent_packet.pacing_info;
    if (!info.is_probe() || !packet.is_received()) return std::nullopt;

    // Forget clusters that finished long ago (their ids may be reused).
    for (auto it = clusters_.begin(); it != clusters_.end();) {
        if (packet.receive_time - it->second.last_receive > kMaxClusterHistory) it = clusters_.erase(it);
        else ++it;
    }

    Cluster& c = clusters_[info.probe_cluster_id];
    const DataSize size = packet.sent_packet.size;
    if (packet.sent_packet.send_time < c.first_send) c.first_send = packet.sent_packet.send_time;
    if (packet.sent_packet.send_time > c.last_send) {
        c.last_send = packet.sent_packet.send_time;
        c.size_last_send = size;
    }
    if (packet.receive_time < c.first_receive) {
        c.first_receive = packet.receive_time;
        c.size_first_receive = size;
    }
    if (packet.receive_time > c.last_receive) c.last_receive = packet.receive_time;
    c.size_total += size;
    ++c.num_probes;

    const double min_probes = info.probe_cluster_min_probes * kMinReceivedProbesRatio;
    const DataSize min_size = info.probe_cluster_min_bytes * kMinReceivedBytesRatio;
    if (c.num_probes < min_probes || c.size_total < min_size) return std::nullopt;

    const TimeDelta send_interval = c.last_send - c.first_send;
    const TimeDelta receive_interval = c.last_receive - c.first_receive;
    if (send_interval <= TimeDelta::zero() || send_interval > kMaxProbeInterval ||
        receive_interval <= TimeDelta::zero() || receive_interval > kMaxProbeInterval) {
        return std::nullopt;
    }
    // The last packet sent and the first received only mark the ends of the intervals: their bytes were not
    // carried within them.
    const DataRate send_rate = (c.size_total - c.size_last_send) / send_interval;
    const DataRate receive_rate = (c.size_total - c.size_first_receive) / receive_interval;
    if (send_rate.is_zero() || receive_rate / send_rate > kMaxValidRatio) return std::nullopt;

    DataRate result = std::min(send_rate, receive_rate);
    // Arriving markedly slower than sent: the path was saturated and queued some of the probe; aim a bit below.
    if (receive_rate < send_rate * kMinRatioForUnsaturatedLink) result = receive_rate * kTargetUtilizationFraction;
    last_estimate_ = result;
    return result;
}

std::optional<DataRate> ProbeBitrateEstimator::fetch_and_reset_last_estimate() {
    auto r = last_estimate_;
    last_estimate_.reset();
    return r;
}

} // namespace rtcpp::cc
