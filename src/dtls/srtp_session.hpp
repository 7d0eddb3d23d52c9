// SRTP/SRTCP protection with libsrtp 2, keyed from DTLS-SRTP.
//
// One SrtpSession holds two libsrtp sessions: one for what we send (our key) and one for what we receive (the
// peer's key), created from the keys DtlsTransport exports. Packets are protected and unprotected in place:
//
//   std::vector<uint8_t> buf(len + kSrtpMaxTrailer);  // room for the auth tag (and MKI)
//   auto r = session.protect_rtp(buf, len);            // r.size: the SRTP length
//
// Nothing throws; failures come back as a status and are counted (auth failures and replays separately), which is
// what the caller needs to drop the packet and report stats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <rtcpp/result.hpp>

#include "core/byte_reader.hpp"
#include "dtls/dtls_transport.hpp"
#include "dtls/srtp_keys.hpp"

namespace rtcpp::dtls {

/// libsrtp's SRTP_MAX_TRAILER_LEN: leave this much room after every packet given to protect_*.
inline constexpr size_t kSrtpMaxTrailer = 16 + 128; // SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN

enum class SrtpStatus {
    Ok,
    AuthFailed,     // tag mismatch: tampered, or the wrong key
    Replayed,       // already seen, or too old for the replay window
    Malformed,      // too short or an invalid header
    BufferTooSmall, // no room for the trailer
    Error,          // any other libsrtp failure
};

std::string_view to_string(SrtpStatus status);

struct SrtpResult {
    SrtpStatus status = SrtpStatus::Error;
    size_t size = 0; // the packet's new length when ok
    bool ok() const { return status == SrtpStatus::Ok; }
};

struct SrtpStats {
    uint64_t rtp_protected = 0, rtcp_protected = 0;
    uint64_t rtp_unprotected = 0, rtcp_unprotected = 0;
    uint64_t auth_failures = 0;
    uint64_t replays = 0;
    uint64_t malformed = 0;
    uint64_t other_errors = 0;
};

class SrtpSession {
public:
    /// `send_*` protect what we send, `receive_*` unprotect what the peer sends. Sizes must fit the profile.
    static Result<SrtpSession> create(SrtpProfile profile, ByteView send_key, ByteView send_salt, ByteView receive_key,
                                      ByteView receive_salt, size_t replay_window = 1024);
    /// From the exported DTLS-SRTP keys: the DTLS client sends with the client key, the server with the server key.
    static Result<SrtpSession> create(const SrtpKeys& keys, Role local_role, size_t replay_window = 1024);

    SrtpSession(SrtpSession&&) noexcept;
    SrtpSession& operator=(SrtpSession&&) noexcept;
    ~SrtpSession();

    SrtpProfile profile() const;
    const SrtpStats& stats() const;

    /// `buffer` holds an RTP/RTCP packet of `length` bytes and at least kSrtpMaxTrailer more bytes of room.
    SrtpResult protect_rtp(std::span<uint8_t> buffer, size_t length);
    SrtpResult protect_rtcp(std::span<uint8_t> buffer, size_t length);
    /// Unprotect in place; the result is shorter than `length`.
    SrtpResult unprotect_rtp(std::span<uint8_t> buffer, size_t length);
    SrtpResult unprotect_rtcp(std::span<uint8_t> buffer, size_t length);

    struct Impl;

private:
    explicit SrtpSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace rtcpp::dtls
