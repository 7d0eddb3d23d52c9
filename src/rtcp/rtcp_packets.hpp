// RTCP packet types (RFC 3550, 4585, 5104, 3611, draft-alvestrand-rmcat-remb).
//
// Each type parses from the body of one RTCP packet (the bytes after the 4-byte common header, padding removed)
// through a ByteReader, and writes itself, common header included, through a ByteWriter. Parsers reject bodies
// whose sizes do not match what the header's count field announces.
#pragma once

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"

#include <rtcpp/units.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp::rtcp {

enum RtcpPacketType : uint8_t {
    kSenderReport = 200,
    kReceiverReport = 201,
    kSdes = 202,
    kBye = 203,
    kApp = 204,
    kRtpFeedback = 205,      ///< RTPFB (RFC 4585)
    kPayloadFeedback = 206,  ///< PSFB (RFC 4585)
    kExtendedReport = 207,   ///< XR (RFC 3611)
};

/// FMT values inside RTPFB / PSFB.
inline constexpr uint8_t kFmtNack = 1;
inline constexpr uint8_t kFmtCcfb = 11;
inline constexpr uint8_t kFmtTransportCc = 15;
inline constexpr uint8_t kFmtPli = 1;
inline constexpr uint8_t kFmtFir = 4;
inline constexpr uint8_t kFmtAfb = 15;

/// The 4-byte header every RTCP packet starts with, and where its body is.
struct RtcpHeader {
    uint8_t count = 0;  ///< RC / SC / FMT / subtype, 5 bits
    uint8_t packet_type = 0;
    bool padding = false;
    ByteView body;     ///< after the header, padding removed
    ByteView packet;   ///< the whole packet as it was on the wire
};

/// Reads one RTCP packet header from r and consumes the packet. nullopt if the version is not 2, the length
/// field points past the end, or the padding count is impossible.
std::optional<RtcpHeader> read_rtcp_header(ByteReader& r);

/// Starts a packet (returns its offset); finish_packet pads the body to 32 bits and patches the length.
size_t begin_packet(ByteWriter& w, uint8_t count, uint8_t packet_type);
void finish_packet(ByteWriter& w, size_t start);

/// 64-bit NTP time (32.32 fixed point seconds).
struct NtpTime {
    uint64_t value = 0;
    /// The middle 32 bits, as used by LSR, DLSR, LRR and RFC 8888.
    uint32_t compact() const { return static_cast<uint32_t>(value >> 16); }
    bool operator==(const NtpTime&) const = default;
};
/// A TimeDelta as 16.16 fixed-point seconds (DLSR, DLRR) and back.
uint32_t to_compact_ntp(TimeDelta d);
TimeDelta from_compact_ntp(uint32_t v);

struct ReportBlock {
    uint32_t source_ssrc = 0;
    uint8_t fraction_lost = 0;          ///< fixed point, /256
    int32_t cumulative_lost = 0;        ///< 24-bit signed on the wire
    uint32_t extended_highest_sequence = 0;
    uint32_t jitter = 0;                ///< RTP timestamp units
    uint32_t last_sr = 0;               ///< compact NTP of the last SR received from source_ssrc
    uint32_t delay_since_last_sr = 0;   ///< 1/65536 s
    bool operator==(const ReportBlock&) const = default;

    static constexpr size_t kSize = 24;
    static std::optional<ReportBlock> read(ByteReader& r);
    void write(ByteWriter& w) const;
};

struct SenderReport {
    uint32_t sender_ssrc = 0;
    NtpTime ntp;
    uint32_t rtp_timestamp = 0;
    uint32_t packet_count = 0;
    uint32_t octet_count = 0;
    std::vector<ReportBlock> report_blocks;  ///< at most 31
    bool operator==(const SenderReport&) const = default;

    static std::optional<SenderReport> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

struct ReceiverReport {
    uint32_t sender_ssrc = 0;
    std::vector<ReportBlock> report_blocks;  ///< at most 31
    bool operator==(const ReceiverReport&) const = default;

    static std::optional<ReceiverReport> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

enum SdesItemType : uint8_t {
    kSdesEnd = 0,
    kSdesCname = 1,
    kSdesName = 2,
    kSdesEmail = 3,
    kSdesPhone = 4,
    kSdesLoc = 5,
    kSdesTool = 6,
    kSdesNote = 7,
    kSdesPriv = 8,
};

struct Sdes {
    struct Item {
        uint8_t type = kSdesCname;
        std::string value;  ///< at most 255 bytes
        bool operator==(const Item&) const = default;
    };
    struct Chunk {
        uint32_t ssrc = 0;
        std::vector<Item> items;
        /// The CNAME item's value, nullopt if none.
        std::optional<std::string> cname() const;
        bool operator==(const Chunk&) const = default;
    };
    std::vector<Chunk> chunks;  ///< at most 31
    bool operator==(const Sdes&) const = default;

    static std::optional<Sdes> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

struct Bye {
    std::vector<uint32_t> ssrcs;  ///< at most 31
    std::string reason;           ///< at most 255 bytes, empty if none
    bool operator==(const Bye&) const = default;

    static std::optional<Bye> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

struct App {
    uint8_t subtype = 0;  ///< 5 bits
    uint32_t ssrc = 0;
    std::array<char, 4> name{};
    std::vector<uint8_t> data;  ///< a multiple of 4 bytes
    bool operator==(const App&) const = default;

    static std::optional<App> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

/// Generic NACK (RFC 4585 §6.2.1).
struct Nack {
    uint32_t sender_ssrc = 0;
    uint32_t media_ssrc = 0;
    /// The lost sequence numbers, in the order of the PID+BLP items (ascending within each item).
    std::vector<uint16_t> sequence_numbers;
    bool operator==(const Nack&) const = default;

    static std::optional<Nack> parse(const RtcpHeader& h);
    /// Packs sequence_numbers into PID+BLP items: each item covers PID and the 16 numbers after it.
    void write(ByteWriter& w) const;
    size_t item_count() const;
};

/// Picture Loss Indication (RFC 4585 §6.3.1).
struct Pli {
    uint32_t sender_ssrc = 0;
    uint32_t media_ssrc = 0;
    bool operator==(const Pli&) const = default;

    static std::optional<Pli> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

/// Full Intra Request (RFC 5104 §4.3.1).
struct Fir {
    struct Entry {
        uint32_t ssrc = 0;
        uint8_t sequence_number = 0;
        bool operator==(const Entry&) const = default;
    };
    uint32_t sender_ssrc = 0;
    std::vector<Entry> entries;
    bool operator==(const Fir&) const = default;

    static std::optional<Fir> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

/// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb, "goog-remb").
struct Remb {
    uint32_t sender_ssrc = 0;
    DataRate bitrate;  ///< encoded as an 18-bit mantissa and 6-bit exponent: rounded down when it does not fit
    std::vector<uint32_t> ssrcs;  ///< at most 255
    bool operator==(const Remb&) const = default;

    /// nullopt if the PSFB/AFB body is not a well-formed REMB.
    static std::optional<Remb> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

/// Extended reports (RFC 3611) with the two blocks WebRTC uses for receiver RTT.
struct ExtendedReports {
    struct Dlrr {
        uint32_t ssrc = 0;
        uint32_t last_rr = 0;        ///< compact NTP of the RRTR
        uint32_t delay_since_last_rr = 0;  ///< 1/65536 s
        bool operator==(const Dlrr&) const = default;
    };
    uint32_t sender_ssrc = 0;
    std::optional<NtpTime> rrtr;  ///< Receiver Reference Time block (BT=4)
    std::vector<Dlrr> dlrr;       ///< DLRR block (BT=5) sub-blocks
    size_t unknown_blocks = 0;    ///< other block types, skipped
    bool operator==(const ExtendedReports&) const = default;

    static std::optional<ExtendedReports> parse(const RtcpHeader& h);
    void write(ByteWriter& w) const;
};

} // namespace rtcpp::rtcp
