#include "rtp/fec_protection.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::rtp {

namespace {
constexpr double kLowRttMs = 20;         // below: retransmission repairs in time, FEC is wasted bandwidth
constexpr double kHandOverMidMs = 80;    // half of the losses repaired by FEC
constexpr double kHandOverWidthMs = 45;
constexpr double kMaxProtection = 0.6;   // never more FEC than this share of the media packets
constexpr double kFecOnlyResidual = 0.002;
constexpr double kMaxNackRttMs = 500;    // beyond this a retransmission misses any sensible playout deadline
constexpr size_t kMinGroup = 6;          // fewer packets per group makes one FEC packet a large overhead
constexpr size_t kMaxGroupFrames = 3;    // more frames per group delays recovery too much
} // namespace

double fec_share_for_rtt(TimeDelta rtt) {
    const double ms = static_cast<double>(rtt.ms());
    if (ms <= kLowRttMs) return 0;
    const double s = 1.0 / (1.0 + std::exp(-(ms - kHandOverMidMs) / kHandOverWidthMs));
    const double s0 = 1.0 / (1.0 + std::exp(-(kLowRttMs - kHandOverMidMs) / kHandOverWidthMs));
    // Rescaled so the share starts at 0 exactly at the low-RTT threshold.
    return std::clamp((s - s0) / (1 - s0), 0.0, 0.97);
}

double residual_loss(double p, size_t n, size_t k) {
    if (n == 0) return 0;
    if (k == 0) return p;
    // Equation sizes differ by at most one; average the residual over the packets.
    double total = 0;
    for (size_t eq = 0; eq < k; ++eq) {
        const size_t m = n / k + (eq < n % k ? 1 : 0);
        total += static_cast<double>(m) * p * (1 - std::pow(1 - p, static_cast<double>(m)));
    }
    return total / static_cast<double>(n);
}

ProtectionDecision choose_protection(const ProtectionInput& in) {
    ProtectionDecision d;
    const double p = std::clamp(in.loss, 0.0, 0.9);
    const double rtt_ms = static_cast<double>(in.rtt.ms());
    d.use_nack = in.nack_enabled && rtt_ms <= kMaxNackRttMs;
    d.fec.mask_type = in.mean_burst > 1.5 ? FecMaskType::Bursty : FecMaskType::Random;
    const size_t ppf = std::max<size_t>(1, in.packets_per_frame);
    const double share = d.use_nack ? fec_share_for_rtt(in.rtt) : 1.0;
    // With NACK behind it FEC never needs to do better than it must alone.
    d.target_residual_loss = std::min(p, d.use_nack ? std::max(p * (1 - share), kFecOnlyResidual) : kFecOnlyResidual);
    d.fec.max_frames = std::clamp<size_t>((kMinGroup + ppf - 1) / ppf, 1, kMaxGroupFrames);
    if (p <= 0 || share <= 0) return d;
    // Bursts defeat parity: a burst of b packets costs like b independent losses in one equation.
    const double effective = std::min(0.9, p * std::max(1.0, in.mean_burst > 1.5 ? std::sqrt(in.mean_burst) : 1.0));
    // Larger groups need fewer FEC packets for the same residual loss at low loss, but hold recovery back until the
    // group ends: take the least overhead over 1..kMaxGroupFrames frames, preferring fewer frames on a tie.
    double best = 2;
    size_t best_frames = d.fec.max_frames, best_n = 0, best_k = 0;
    for (size_t frames = d.fec.max_frames; frames <= kMaxGroupFrames; ++frames) {
        const size_t n = std::min(ppf * frames, kUlpfecMaxMediaPackets);
        const size_t k_max = std::max<size_t>(1, static_cast<size_t>(std::floor(kMaxProtection * static_cast<double>(n))));
        size_t k = 1;
        while (k < k_max && residual_loss(effective, n, k) > d.target_residual_loss) ++k;
        const double prot = static_cast<double>(k) / static_cast<double>(n);
        if (prot < best - 1e-9) {
            best = prot;
            best_frames = frames;
            best_n = n;
            best_k = k;
        }
        if (n == kUlpfecMaxMediaPackets) break;
    }
    d.fec.max_frames = best_frames;
    const size_t n = best_n, k = best_k;
    d.fec.protection = static_cast<double>(k) / static_cast<double>(n);
    return d;
}

} // namespace rtcpp::rtp
