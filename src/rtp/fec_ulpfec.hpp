// ULPFEC (RFC 5109), level 0 only, as WebRTC uses it: FEC packets carried in RED (RFC 2198) on the media SSRC and
// sequence space, protecting the media packets as they are before RED wrapping.
//
// FEC header (10 bytes) then the level-0 header (protection length, 16- or 48-bit mask), then the XOR payload.
#pragma once

#include "core/byte_reader.hpp"
#include "rtp/fec_xor.hpp"
#include "rtp/rtp_packet.hpp"

#include <deque>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

inline constexpr size_t kUlpfecHeaderSize = 10;
inline constexpr size_t kUlpfecMaxMediaPackets = 48;

/// How the masks spread media packets over FEC packets.
enum class FecMaskType : uint8_t {
    Random,  ///< each media packet in two equations (its block's and one more): best for independent losses
    Bursty,  ///< interleaved partition: k consecutive losses in a group stay recoverable
};

/// The masks for k FEC packets over n media packets (bit i = the i-th media packet of the group).
std::vector<FecMask> make_fec_masks(size_t n, size_t k, FecMaskType type);

/// A parsed ULPFEC payload (views into it).
struct UlpfecHeader {
    bool long_mask = false;
    FecEquation eq;
};
/// nullopt if E is set (no extension is defined), the headers are truncated, or the payload is shorter than the
/// protection length.
std::optional<UlpfecHeader> parse_ulpfec(ByteView fec_payload);

/// The ULPFEC payload (FEC header, level 0, parity) protecting `media` (RTP packets, in sequence order, spanning
/// fewer than 48 sequence numbers; each 12..kMaxFecPacketSize bytes). nullopt if they do not satisfy that.
std::optional<std::vector<uint8_t>> build_ulpfec(std::span<const ByteView> media, const FecMask& mask,
                                                 uint16_t seq_base);

struct FecParams {
    double protection = 0;          ///< FEC packets per media packet (0..1)
    size_t max_frames = 1;          ///< frames gathered in one group
    FecMaskType mask_type = FecMaskType::Random;
};

/// Groups outgoing media packets (one SSRC) and produces FEC payloads at frame ends.
class UlpfecEncoder {
public:
    void set_params(const FecParams& p) { params_ = p; }
    const FecParams& params() const { return params_; }
    /// A media packet, before RED wrapping. The marker bit ends a frame.
    void add_media_packet(const RtpPacketView& media);
    /// The next FEC payload to send (as a RED block with the ulpfec payload type, on the media SSRC).
    std::optional<std::vector<uint8_t>> poll_fec_payload();

    uint64_t fec_packets() const { return fec_packets_; }

private:
    void generate();
    FecParams params_;
    std::vector<std::vector<uint8_t>> group_;
    size_t frames_ = 0;
    std::deque<std::vector<uint8_t>> out_;
    uint64_t fec_packets_ = 0;
};

struct UlpfecReceiverStats {
    uint64_t red_packets = 0;
    uint64_t malformed = 0;     ///< RED or ULPFEC headers that do not parse
    uint64_t wrong_ssrc = 0;
    FecRecoveryStats recovery;
};

/// Receives RED packets of one media SSRC: unwraps media, feeds ULPFEC equations, recovers lost packets.
/// poll_packet() yields media packets (un-RED'ed, as sent) and recovered ones.
class UlpfecReceiver {
public:
    UlpfecReceiver(uint32_t ssrc, uint8_t red_pt, uint8_t ulpfec_pt)
        : red_pt_(red_pt), ulpfec_pt_(ulpfec_pt), recoverer_(ssrc) {}

    /// Any RTP packet of the stream: RED ones are unwrapped; others pass through untouched (and are protected).
    void handle_packet(ByteView rtp_packet);

    struct Output {
        std::vector<uint8_t> packet;
        bool recovered = false;
    };
    std::optional<Output> poll_packet();

    UlpfecReceiverStats stats() const {
        auto s = stats_;
        s.recovery = recoverer_.stats();
        return s;
    }

private:
    void drain();
    uint8_t red_pt_;
    uint8_t ulpfec_pt_;
    FecRecoverer recoverer_;
    std::deque<Output> out_;
    UlpfecReceiverStats stats_;
};

} // namespace rtcpp::rtp
