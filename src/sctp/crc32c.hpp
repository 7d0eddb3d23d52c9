// The SCTP packet checksum (CRC32c, RFC 9260 Appendix B), computed with the CPU's CRC32 instruction when there is
// one. usrsctp's software CRC was about a quarter of the CPU time of a bulk transfer, so the stack tells usrsctp
// that checksums are "offloaded" and SctpAssociation computes (outbound) and verifies (inbound) them here.
#pragma once

#include "core/byte_reader.hpp"

#include <cstdint>

namespace rtcpp::sctp {

/// The checksum of an SCTP packet with its checksum field (bytes 8..11) taken as zero, as the uint32_t usrsctp
/// stores in the header in host byte order (memcpy it to bytes 8..11). Packets shorter than 12 bytes give 0.
uint32_t sctp_checksum(ByteView packet);

/// True if the packet's checksum field matches its contents.
bool sctp_checksum_ok(ByteView packet);

/// Whether the hardware path is in use (for tests and benchmarks).
bool crc32c_hardware();

} // namespace rtcpp::sctp
