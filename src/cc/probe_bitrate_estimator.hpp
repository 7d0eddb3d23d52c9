// Turns the feedback for a probe cluster into a capacity measurement: the lower of the rate the cluster was sent
// at and the rate it arrived at (the path cannot deliver faster than the sender sent, and what it delivered
// slower is the bottleneck). Clusters that lost too much, or whose timing is implausible, give no result.
#pragma once

#include "cc/network_types.hpp"

#include <map>
#include <optional>

namespace rtcpp::cc {

class ProbeBitrateEstimator {
public:
    static constexpr double kMinReceivedProbesRatio = 0.80;
    static constexpr double kMinReceivedBytesRatio = 0.80;
    /// A receive rate this much higher than the send rate means the timing is broken.
    static constexpr double kMaxValidRatio = 2.0;
    /// Received slower than this fraction of the send rate: the link is saturated, and the result is scaled down.
    static constexpr double kMinRatioForUnsaturatedLink = 0.9;
    static constexpr double kTargetUtilizationFraction = 0.95;
    static constexpr TimeDelta kMaxClusterHistory = TimeDelta::seconds(1);
    static constexpr TimeDelta kMaxProbeInterval = TimeDelta::seconds(1);

    /// Feeds one received packet; returns a new estimate when its cluster has enough data.
    std::optional<DataRate> handle_probe_and_estimate_bitrate(const PacketResult& packet);
    /// The last estimate, once (cleared by the call).
    std::optional<DataRate> fetch_and_reset_last_estimate();

private:
    struct Cluster {
        Timestamp first_send = Timestamp::plus_infinity();
        Timestamp last_send = Timestamp::minus_infinity();
        Timestamp first_receive = Timestamp::plus_infinity();
        Timestamp last_receive = Timestamp::minus_infinity();
        DataSize size_last_send = DataSize::zero();
        DataSize size_first_receive = DataSize::zero();
        DataSize size_total = DataSize::zero();
        int num_probes = 0;
    };

    std::map<int, Cluster> clusters_;
    std::optional<DataRate> last_estimate_;
};

} // namespace rtcpp::cc
