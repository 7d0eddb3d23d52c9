// SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764, RFC 7714) and the keys exported for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace rtcpp::dtls {

/// The values are the DTLS-SRTP protection profile identifiers from the IANA registry.
enum class SrtpProfile : uint16_t {
    Aes128CmSha1_80 = 0x0001, // SRTP_AES128_CM_SHA1_80
    AeadAes128Gcm = 0x0007,   // SRTP_AEAD_AES_128_GCM
};

/// OpenSSL's name for the profile ("SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM").
std::string_view to_string(SrtpProfile profile);
std::optional<SrtpProfile> srtp_profile_from_id(uint16_t id);

inline constexpr size_t srtp_master_key_size(SrtpProfile) { return 16; }
inline constexpr size_t srtp_master_salt_size(SrtpProfile p) { return p == SrtpProfile::AeadAes128Gcm ? 12 : 14; }

/// Keying material exported from a DTLS association (RFC 5764 §4.2): each side protects what it sends with its own
/// key and salt, so the DTLS client sends with the client key and receives with the server key.
struct SrtpKeys {
    SrtpProfile profile = SrtpProfile::AeadAes128Gcm;
    std::vector<uint8_t> client_key, client_salt;
    std::vector<uint8_t> server_key, server_salt;

    bool operator==(const SrtpKeys&) const = default;
};

} // namespace rtcpp::dtls
