// The DTLS certificate a peer connection authenticates itself with, and certificate fingerprints as they appear in
// SDP (`a=fingerprint:sha-256 AB:CD:...`).
//
// WebRTC certificates are self-signed: the remote peer trusts ours because the fingerprint travels in the signalled
// SDP. By default every connection of a process shares one ECDSA P-256 certificate generated on first use
// (`Certificate::process_default()`); a user may generate one per connection or load their own from PEM.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <rtcpp/result.hpp>

namespace rtcpp {

/// Hash functions usable for certificate fingerprints (the SDP names: "sha-1", "sha-256", "sha-384", "sha-512").
enum class HashAlgorithm { Sha1, Sha256, Sha384, Sha512 };

std::string_view to_string(HashAlgorithm algorithm);
/// Digest size in bytes.
size_t digest_size(HashAlgorithm algorithm);

/// A certificate fingerprint: the hash algorithm and the digest of the DER-encoded certificate.
class Fingerprint {
public:
    Fingerprint() = default;
    /// nullopt if `digest` does not have the algorithm's size.
    static std::optional<Fingerprint> from_digest(HashAlgorithm algorithm, std::span<const uint8_t> digest);
    /// Parses the value of an SDP fingerprint attribute: "sha-256 AB:CD:...". The algorithm name and the hex digits
    /// are case-insensitive; the digest must have the algorithm's size.
    static std::optional<Fingerprint> parse(std::string_view text);

    HashAlgorithm algorithm() const { return algorithm_; }
    std::span<const uint8_t> digest() const { return {digest_.data(), size_}; }
    /// "sha-256 AB:CD:..." (upper-case hex, as browsers write it).
    std::string to_string() const;
    /// "AB:CD:..." only.
    std::string hex() const;

    bool operator==(const Fingerprint& other) const;

private:
    HashAlgorithm algorithm_ = HashAlgorithm::Sha256;
    std::array<uint8_t, 64> digest_{};
    uint8_t size_ = 0;
};

/// A certificate and its private key. Cheap to copy (shared, immutable).
class Certificate {
public:
    /// A fresh ECDSA P-256 key and a self-signed certificate for it (valid from a day ago for 30 days).
    static Result<Certificate> generate(std::string_view common_name = "rtcpp");
    /// The certificate shared by every connection of this process that does not bring its own: generated on the
    /// first call, the same one afterwards. Thread-safe.
    static Result<Certificate> process_default();
    /// Loads a user-supplied certificate and private key (PEM). Fails if either does not parse or they do not match.
    static Result<Certificate> from_pem(std::string_view certificate_pem, std::string_view private_key_pem);

    /// The fingerprint to put into SDP.
    Fingerprint fingerprint(HashAlgorithm algorithm = HashAlgorithm::Sha256) const;
    std::string certificate_pem() const;
    std::string private_key_pem() const;

    struct Impl;
    /// Internal: the OpenSSL objects (src/dtls/certificate_impl.hpp).
    const Impl& impl() const { return *impl_; }

private:
    explicit Certificate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

} // namespace rtcpp
