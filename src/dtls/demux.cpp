#include "dtls/demux.hpp"

namespace rtcpp::dtls {

namespace {
constexpr size_t kMinRtpHeader = 12;
constexpr size_t kMinRtcpHeader = 8;
constexpr size_t kDtlsRecordHeader = 13;
// Ciphertext may exceed the plaintext limit by the record expansion (RFC 6347 §4.1: 2^14 + 2048).
constexpr uint16_t kMaxRecordLength = 16384 + 2048;
} // namespace

std::string_view to_string(PacketKind kind) {
    switch (kind) {
    case PacketKind::Stun: return "stun";
    case PacketKind::Zrtp: return "zrtp";
    case PacketKind::Dtls: return "dtls";
    case PacketKind::TurnChannel: return "turn-channel";
    case PacketKind::Rtp: return "rtp";
    case PacketKind::Rtcp: return "rtcp";
    case PacketKind::Unknown: return "unknown";
    }
    return "unknown";
}

bool is_rtcp(ByteView rtp_or_rtcp) {
    ByteReader r(rtp_or_rtcp);
    auto second = r.peek_u8(1);
    if (!second) return false;
    const uint8_t pt = *second & 0x7f;
    return pt >= 64 && pt <= 95;
}

PacketKind classify_packet(ByteView datagram) {
    ByteReader r(datagram);
    auto first = r.peek_u8();
    if (!first) return PacketKind::Unknown;
    const uint8_t b = *first;
    if (b <= 3) return PacketKind::Stun;
    if (b >= 16 && b <= 19) return PacketKind::Zrtp;
    if (b >= 20 && b <= 63) return PacketKind::Dtls;
    if (b >= 64 && b <= 79) return PacketKind::TurnChannel;
    if (b >= 128 && b <= 191) {
        if (is_rtcp(datagram)) return datagram.size() >= kMinRtcpHeader ? PacketKind::Rtcp : PacketKind::Unknown;
        return datagram.size() >= kMinRtpHeader ? PacketKind::Rtp : PacketKind::Unknown;
    }
    return PacketKind::Unknown;
}

DtlsRecordScan scan_dtls_records(ByteView datagram) {
    DtlsRecordScan scan;
    ByteReader r(datagram);
    while (!r.empty()) {
        if (r.remaining() < kDtlsRecordHeader) return DtlsRecordScan{};
        auto type = r.read_u8();
        auto version = r.read_u16();
        auto epoch = r.read_u16();
        auto seq = r.read_u48();
        auto length = r.read_u16();
        if (!type || !version || !epoch || !seq || !length) return DtlsRecordScan{};
        // change_cipher_spec, alert, handshake, application_data; DTLS 1.0 (ClientHello records) or 1.2.
        if (*type < 20 || *type > 23) return DtlsRecordScan{};
        if (*version != 0xfeff && *version != 0xfefd) return DtlsRecordScan{};
        if (*length > kMaxRecordLength || !r.skip(*length)) return DtlsRecordScan{};
        ++scan.records;
        if (*type == 20 || *type == 22) scan.has_handshake = true;
    }
    scan.well_formed = scan.records > 0;
    return scan;
}

} // namespace rtcpp::dtls
