// Demultiplexing of STUN, ZRTP, DTLS, TURN channel data and SRTP/SRTCP arriving on one 5-tuple (RFC 7983 §7,
// RFC 5764 §5.1.2), and the RTP/RTCP distinction of RFC 5761 §4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/byte_reader.hpp"

namespace rtcpp::dtls {

enum class PacketKind {
    Stun,        // first byte 0..3
    Zrtp,        // 16..19
    Dtls,        // 20..63
    TurnChannel, // 64..79
    Rtp,         // 128..191 and the payload type is not an RTCP one
    Rtcp,        // 128..191 with a payload type of 64..95 (RTCP packet types 192..223)
    Unknown,     // empty, any other first byte, or too short for its kind
};

std::string_view to_string(PacketKind kind);

/// Classifies a datagram by its first byte (and, for RTP/RTCP, its second). Never reads past the end.
PacketKind classify_packet(ByteView datagram);

/// RFC 5761 §4: with RTP and RTCP multiplexed, an RTCP packet's second byte masked with 0x7f falls in 64..95
/// (packet types 192..223), a range RTP payload types must avoid. Needs at least two bytes; false otherwise.
bool is_rtcp(ByteView rtp_or_rtcp);

/// What a datagram of DTLS records looks like from the record headers alone.
struct DtlsRecordScan {
    bool well_formed = false; // at least one record; every header and length consistent; nothing left over
    size_t records = 0;
    bool has_handshake = false; // a handshake (22) or change_cipher_spec (20) record
};

/// Walks the DTLS 1.0/1.2 record headers of a datagram (type, version, epoch, sequence number, length).
DtlsRecordScan scan_dtls_records(ByteView datagram);

} // namespace rtcpp::dtls
