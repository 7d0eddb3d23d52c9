// The XOR parity shared by ULPFEC (RFC 5109) and FlexFEC (draft-ietf-payload-flexible-fec-scheme-03), and the
// receiver-side recovery engine both use.
//
// A FEC packet carries the XOR of a set of media packets: of the first two header bytes (P, X, CC, M, PT), of the
// timestamps, of the lengths after the 12-byte fixed header, and of the bytes after the fixed header (CSRCs,
// extensions, payload, padding), zero-extended to the longest. One equation recovers one missing packet; the
// recoverer keeps solving equations with exactly one unknown until none is left (a recovered packet may complete
// another equation).
#pragma once

#include "core/byte_reader.hpp"
#include "rtp/sequence_unwrapper.hpp"

#include <bitset>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

/// Packets larger than an IP MTU are neither protected nor accepted as FEC (it also bounds the receiver's memory).
inline constexpr size_t kMaxFecPacketSize = 1500;
/// The largest mask of either format (FlexFEC-03's 109 bits; ULPFEC stops at 48).
inline constexpr size_t kMaxFecMaskBits = 109;
using FecMask = std::bitset<kMaxFecMaskBits>;

/// The parity of a set of RTP packets.
struct FecParity {
    uint8_t byte0 = 0;        ///< XOR of first header bytes (the version bits cancel or not: callers mask them)
    uint8_t byte1 = 0;        ///< XOR of M|PT bytes
    uint32_t timestamp = 0;
    uint16_t length = 0;      ///< XOR of (size - 12)
    std::vector<uint8_t> payload;

    /// XORs one packet in. The packet must be 12..kMaxFecPacketSize bytes (callers check).
    void add(ByteView rtp_packet);
};

/// One received FEC equation, in unwrapped-free form: sequence number base and mask relative to it.
struct FecEquation {
    uint16_t seq_base = 0;
    FecMask mask;
    uint8_t byte0 = 0;
    uint8_t byte1 = 0;
    uint32_t timestamp = 0;
    uint16_t length = 0;
    ByteView payload;  ///< the protection-length bytes
};

struct FecRecoveryStats {
    uint64_t media_stored = 0;
    uint64_t fec_received = 0;
    uint64_t recovered = 0;
    uint64_t fec_empty = 0;        ///< protected nothing
    uint64_t fec_out_of_window = 0;///< referenced packets too old (or too far ahead) to reason about
    uint64_t fec_useless = 0;      ///< every protected packet was already there
    uint64_t fec_inconsistent = 0; ///< lengths that cannot be right, or a recovered packet that does not parse
    uint64_t evicted = 0;          ///< equations dropped unsolved to bound memory
};

/// Stores recent media packets of one SSRC and pending equations; recovers what it can. Memory is bounded by
/// kMaxMedia packets and kMaxEquations equations of at most kMaxFecPacketSize bytes each.
class FecRecoverer {
public:
    static constexpr size_t kMaxMedia = 256;
    static constexpr size_t kMaxEquations = 48;
    /// Equations may reference packets at most this far behind the newest media packet or ahead of it.
    static constexpr int64_t kWindowBehind = 192;
    static constexpr int64_t kWindowAhead = 128;

    explicit FecRecoverer(uint32_t ssrc) : ssrc_(ssrc) {}

    uint32_t ssrc() const { return ssrc_; }
    /// A media packet (parsed RTP of this SSRC). False if dropped (too large, duplicate, or too old).
    bool add_media(ByteView rtp_packet);
    /// An equation; runs recovery. Recovered packets are queued for poll_recovered().
    void add_equation(const FecEquation& eq);
    /// A recovered RTP packet, oldest first.
    std::optional<std::vector<uint8_t>> poll_recovered();

    const FecRecoveryStats& stats() const { return stats_; }
    size_t stored_media() const { return media_.size(); }
    size_t pending_equations() const { return equations_.size(); }

private:
    struct Pending {
        int64_t base = 0;  // unwrapped
        FecMask mask;
        uint8_t byte0 = 0, byte1 = 0;
        uint32_t timestamp = 0;
        uint16_t length = 0;
        std::vector<uint8_t> payload;
    };
    enum class Outcome { Waiting, Solved, Drop };
    void run();
    Outcome try_solve(const Pending& p);
    void trim();

    uint32_t ssrc_;
    SequenceNumberUnwrapper unwrapper_;
    int64_t newest_ = 0;
    bool have_media_ = false;
    std::map<int64_t, std::vector<uint8_t>> media_;
    std::deque<Pending> equations_;
    std::deque<std::vector<uint8_t>> recovered_;
    FecRecoveryStats stats_;
};

} // namespace rtcpp::rtp
