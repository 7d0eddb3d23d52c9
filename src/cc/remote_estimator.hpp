// Receive-side bandwidth estimate for peers that ask for REMB (goog-remb) instead of transport-wide feedback:
// the same delay-based estimator as the send side (inter-arrival, trendline, overuse detector, AIMD), fed with the
// sender's clock from the abs-send-time extension and our arrival times, and the incoming bitrate as the
// throughput. Sans-IO: packets and time in, a REMB value out when one is due.
#pragma once

#include "cc/acknowledged_bitrate_estimator.hpp"
#include "cc/delay_based_bwe.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcpp::cc {

class RemoteEstimator {
public:
    /// Packets are handed to the estimator in batches this far apart, like transport-wide feedback would be.
    static constexpr TimeDelta kProcessInterval = TimeDelta::millis(100);
    /// REMB goes out this often, and at once when the estimate falls by 3 % or more.
    static constexpr TimeDelta kRembInterval = TimeDelta::seconds(1);

    RemoteEstimator();

    /// A received media packet: its abs-send-time (24-bit 6.18 fixed-point seconds) and size on the wire.
    void on_packet(Timestamp arrival, uint32_t abs_send_time, size_t bytes);
    void handle_timeout(Timestamp now);
    /// The estimate to send as REMB now, if one is due.
    std::optional<DataRate> poll_remb();
    Timestamp poll_timeout() const;

    std::optional<DataRate> estimate() const;

private:
    void process(Timestamp now);

    DelayBasedBwe bwe_;
    AcknowledgedBitrateEstimator incoming_;
    TransportPacketsFeedback batch_;
    int64_t sequence_ = 0;
    std::optional<uint32_t> last_abs_send_time_;
    int64_t send_time_units_ = 0;  ///< unwrapped abs-send-time, 1/262144 s
    Timestamp next_process_ = Timestamp::plus_infinity();
    Timestamp next_remb_ = Timestamp::plus_infinity();
    std::optional<DataRate> last_remb_;
    std::optional<DataRate> pending_remb_;
};

} // namespace rtcpp::cc
