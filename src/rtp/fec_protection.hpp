// Choosing how much FEC to send: hybrid NACK/FEC in the spirit of libwebrtc's media-optimization tables.
//
// Retransmission costs nothing when there is no loss but one RTT of delay per repair; FEC costs bandwidth all
// the time but repairs at once. So at a short RTT NACK does everything; as the RTT grows, FEC takes over a
// growing share of the losses (a smooth, sigmoid-like hand-over), and without NACK FEC must bring the residual
// loss down alone. The amount is derived from the loss model instead of a fixed table: with partition masks, a
// lost packet stays lost if another member of its equation (its FEC packet included) is lost too.
#pragma once

#include "rtp/fec_ulpfec.hpp"

#include <rtcpp/units.hpp>

namespace rtcpp::rtp {

struct ProtectionInput {
    double loss = 0;                  ///< measured packet loss fraction (0..1), e.g. from RTCP receiver reports
    TimeDelta rtt = TimeDelta::millis(100);
    bool nack_enabled = true;
    double mean_burst = 1;            ///< mean loss burst length in packets (1 = independent losses)
    size_t packets_per_frame = 8;
};

struct ProtectionDecision {
    bool use_nack = true;
    FecParams fec;                    ///< fec.protection == 0: no FEC
    double target_residual_loss = 0;  ///< the loss left after FEC that the choice aims at
};

/// The share of losses FEC should repair given the RTT when NACK is available (0 at <= 20 ms, ~0.5 at 100 ms,
/// 0.97 from ~250 ms).
double fec_share_for_rtt(TimeDelta rtt);

/// Residual loss after FEC with k equations over n media packets (partition masks, independent loss p).
double residual_loss(double p, size_t n, size_t k);

ProtectionDecision choose_protection(const ProtectionInput& in);

} // namespace rtcpp::rtp
