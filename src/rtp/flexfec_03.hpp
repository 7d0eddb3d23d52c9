// FlexFEC as Chromium negotiates it (`flexfec-03`, draft-ietf-payload-flexible-fec-scheme-03): FEC packets on their
// own SSRC, payload type and sequence space, protecting one media SSRC with a flexible mask (R=0, F=0).
//
//   R F P X CC | M PT recovery | length recovery      (4 bytes)
//   TS recovery                                       (4)
//   SSRCCount | reserved                              (4)
//   SSRC_i                                            (4)
//   SN base_i | k | mask 0-14                         (4)
//   k | mask 15-45                                    (4, when the first k is 0)
//   k | mask 46-108                                   (8, when the second k is 0)
// then the XOR of everything after the protected packets' fixed headers. A k bit of 1 ends the mask.
#pragma once

#include "rtp/fec_ulpfec.hpp"
#include "rtp/fec_xor.hpp"
#include "rtp/rtp_packet.hpp"

#include <deque>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

inline constexpr size_t kFlexfecMaxMediaPackets = kMaxFecMaskBits;

struct FlexfecHeader {
    uint32_t protected_ssrc = 0;
    FecEquation eq;
};
/// Only the flexible-mask form with one protected SSRC (what Chromium sends); nullopt for anything else or when
/// truncated.
std::optional<FlexfecHeader> parse_flexfec(ByteView fec_payload);

/// The FlexFEC payload protecting `media` (one SSRC, in sequence order, spanning fewer than 109 sequence numbers,
/// each 12..kMaxFecPacketSize bytes). Only packets whose bit is set in `mask` (relative to seq_base) are XORed.
std::optional<std::vector<uint8_t>> build_flexfec(std::span<const ByteView> media, const FecMask& mask,
                                                  uint16_t seq_base, uint32_t protected_ssrc);

/// Groups outgoing media packets and produces complete FlexFEC RTP packets (own SSRC and sequence numbers).
class FlexfecEncoder {
public:
    FlexfecEncoder(uint32_t flexfec_ssrc, uint8_t flexfec_pt, uint32_t protected_ssrc, uint16_t first_seq = 0)
        : ssrc_(flexfec_ssrc), pt_(flexfec_pt), protected_ssrc_(protected_ssrc), seq_(first_seq) {}
    void set_params(const FecParams& p) { params_ = p; }
    const FecParams& params() const { return params_; }
    void add_media_packet(const RtpPacketView& media);
    std::optional<std::vector<uint8_t>> poll_fec_packet();
    uint64_t fec_packets() const { return fec_packets_; }

private:
    void generate();
    uint32_t ssrc_;
    uint8_t pt_;
    uint32_t protected_ssrc_;
    uint16_t seq_;
    FecParams params_;
    std::vector<std::vector<uint8_t>> group_;
    size_t frames_ = 0;
    uint32_t last_timestamp_ = 0;
    std::deque<std::vector<uint8_t>> out_;
    uint64_t fec_packets_ = 0;
};

struct FlexfecReceiverStats {
    uint64_t fec_packets = 0;
    uint64_t malformed = 0;
    uint64_t wrong_ssrc = 0;  ///< FEC for another SSRC, or media of another SSRC
    FecRecoveryStats recovery;
};

/// Receives the protected media stream and the FlexFEC stream; poll_recovered() yields recovered media packets.
class FlexfecReceiver {
public:
    FlexfecReceiver(uint32_t flexfec_ssrc, uint8_t flexfec_pt, uint32_t protected_ssrc)
        : ssrc_(flexfec_ssrc), pt_(flexfec_pt), recoverer_(protected_ssrc) {}
    /// A packet of either stream (told apart by SSRC and payload type).
    void handle_packet(ByteView rtp_packet);
    std::optional<std::vector<uint8_t>> poll_recovered() { return recoverer_.poll_recovered(); }
    FlexfecReceiverStats stats() const {
        auto s = stats_;
        s.recovery = recoverer_.stats();
        return s;
    }

private:
    uint32_t ssrc_;
    uint8_t pt_;
    FecRecoverer recoverer_;
    FlexfecReceiverStats stats_;
};

} // namespace rtcpp::rtp
