// Fingerprint text form (RFC 8122 §5): hash-func SP fingerprint, where fingerprint is 2UHEX *(":" 2UHEX).
#include <rtcpp/certificate.hpp>

#include <algorithm>
#include <cstring>

namespace rtcpp {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

} // namespace

std::string_view to_string(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha1: return "sha-1";
    case HashAlgorithm::Sha256: return "sha-256";
    case HashAlgorithm::Sha384: return "sha-384";
    case HashAlgorithm::Sha512: return "sha-512";
    }
    return "sha-256";
}

size_t digest_size(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha1: return 20;
    case HashAlgorithm::Sha256: return 32;
    case HashAlgorithm::Sha384: return 48;
    case HashAlgorithm::Sha512: return 64;
    }
    return 32;
}

std::optional<Fingerprint> Fingerprint::from_digest(HashAlgorithm algorithm, std::span<const uint8_t> digest) {
    if (digest.size() != digest_size(algorithm)) return std::nullopt;
    Fingerprint f;
    f.algorithm_ = algorithm;
    std::copy(digest.begin(), digest.end(), f.digest_.begin());
    f.size_ = static_cast<uint8_t>(digest.size());
    return f;
}

std::optional<Fingerprint> Fingerprint::parse(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    size_t sp = text.find_first_of(" \t");
    if (sp == std::string_view::npos) return std::nullopt;
    std::string_view name = text.substr(0, sp);
    std::string_view hex = text.substr(sp);
    while (!hex.empty() && is_space(hex.front())) hex.remove_prefix(1);

    std::optional<HashAlgorithm> algorithm;
    for (HashAlgorithm a : {HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512})
        if (iequals(name, rtcpp::to_string(a))) algorithm = a;
    if (!algorithm) return std::nullopt;

    const size_t n = digest_size(*algorithm);
    if (hex.size() != n * 3 - 1) return std::nullopt;
    std::array<uint8_t, 64> digest{};
    for (size_t i = 0; i < n; ++i) {
        int hi = hex_value(hex[i * 3]);
        int lo = hex_value(hex[i * 3 + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i + 1 < n && hex[i * 3 + 2] != ':') return std::nullopt;
        digest[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return from_digest(*algorithm, std::span<const uint8_t>(digest.data(), n));
}

std::string Fingerprint::hex() const {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(size_ * 3);
    for (size_t i = 0; i < size_; ++i) {
        if (i) out += ':';
        out += kDigits[digest_[i] >> 4];
        out += kDigits[digest_[i] & 0xf];
    }
    return out;
}

std::string Fingerprint::to_string() const { return std::string(rtcpp::to_string(algorithm_)) + " " + hex(); }

bool Fingerprint::operator==(const Fingerprint& other) const {
    return algorithm_ == other.algorithm_ && size_ == other.size_ &&
           std::memcmp(digest_.data(), other.digest_.data(), size_) == 0;
}

} // namespace rtcpp
