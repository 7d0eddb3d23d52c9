#include "sdp/description.hpp"

#include "sdp/text.hpp"

#include <algorithm>

namespace rtcpp::sdp {

std::string_view to_string(Direction d) {
    switch (d) {
    case Direction::SendRecv: return "sendrecv";
    case Direction::SendOnly: return "sendonly";
    case Direction::RecvOnly: return "recvonly";
    case Direction::Inactive: return "inactive";
    }
    return "sendrecv";
}

std::optional<Direction> direction_from_string(std::string_view s) {
    if (s == "sendrecv") return Direction::SendRecv;
    if (s == "sendonly") return Direction::SendOnly;
    if (s == "recvonly") return Direction::RecvOnly;
    if (s == "inactive") return Direction::Inactive;
    return std::nullopt;
}

std::string_view to_string(Setup s) {
    switch (s) {
    case Setup::Actpass: return "actpass";
    case Setup::Active: return "active";
    case Setup::Passive: return "passive";
    case Setup::Holdconn: return "holdconn";
    }
    return "actpass";
}

std::string_view to_string(HashAlgorithm h) {
    switch (h) {
    case HashAlgorithm::Sha1: return "sha-1";
    case HashAlgorithm::Sha224: return "sha-224";
    case HashAlgorithm::Sha256: return "sha-256";
    case HashAlgorithm::Sha384: return "sha-384";
    case HashAlgorithm::Sha512: return "sha-512";
    }
    return "sha-256";
}

size_t digest_size(HashAlgorithm h) {
    switch (h) {
    case HashAlgorithm::Sha1: return 20;
    case HashAlgorithm::Sha224: return 28;
    case HashAlgorithm::Sha256: return 32;
    case HashAlgorithm::Sha384: return 48;
    case HashAlgorithm::Sha512: return 64;
    }
    return 32;
}

std::string Fingerprint::to_string() const {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string s(sdp::to_string(algorithm));
    s += ' ';
    for (size_t i = 0; i < digest.size(); ++i) {
        if (i) s += ':';
        s += hex[digest[i] >> 4];
        s += hex[digest[i] & 15];
    }
    return s;
}

Result<Fingerprint> parse_fingerprint(std::string_view value) {
    auto bad = [](std::string m) { return make_error(ErrorCategory::SyntaxError, "sdp", "bad fingerprint: " + m); };
    auto f = text::split(value);
    if (f.size() != 2) return bad("needs '<hash> <hex:hex:...>'");
    Fingerprint fp;
    static constexpr HashAlgorithm all[] = {HashAlgorithm::Sha1, HashAlgorithm::Sha224, HashAlgorithm::Sha256,
                                            HashAlgorithm::Sha384, HashAlgorithm::Sha512};
    bool found = false;
    for (auto h : all) {
        if (text::iequals(f[0], to_string(h))) {
            fp.algorithm = h;
            found = true;
        }
    }
    if (!found) return bad("unsupported hash '" + std::string(f[0]) + "'");
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    auto bytes = text::split_all(f[1], ':');
    if (bytes.size() != digest_size(fp.algorithm))
        return bad(std::string(f[0]) + " needs " + std::to_string(digest_size(fp.algorithm)) + " bytes, got " +
                   std::to_string(bytes.size()));
    for (auto b : bytes) {
        if (b.size() != 2 || nibble(b[0]) < 0 || nibble(b[1]) < 0) return bad("'" + std::string(b) + "' is not a hex byte");
        fp.digest.push_back(static_cast<uint8_t>(nibble(b[0]) * 16 + nibble(b[1])));
    }
    return fp;
}

bool MediaSection::is_rtp() const { return protocol.find("RTP/") != std::string::npos; }

bool MediaSection::is_datachannel() const {
    if (kind != "application") return false;
    return protocol == "UDP/DTLS/SCTP" || protocol == "TCP/DTLS/SCTP" || protocol == "DTLS/SCTP";
}

bool MediaSection::is_legacy_sctp() const { return kind == "application" && protocol == "DTLS/SCTP"; }

bool MediaSection::has_attribute(std::string_view name) const {
    return std::any_of(attributes.begin(), attributes.end(), [&](const Attribute& a) { return a.name == name; });
}

const Codec* MediaSection::find_codec(uint8_t pt) const {
    for (const auto& c : codecs)
        if (c.pt == pt) return &c;
    return nullptr;
}

std::vector<uint32_t> MediaSection::ssrc_list() const {
    std::vector<uint32_t> out;
    for (const auto& s : ssrcs)
        if (std::find(out.begin(), out.end(), s.ssrc) == out.end()) out.push_back(s.ssrc);
    return out;
}

const Group* Description::find_group(std::string_view semantics) const {
    for (const auto& g : groups)
        if (g.semantics == semantics) return &g;
    return nullptr;
}

const MediaSection* Description::find_media(std::string_view mid) const {
    for (const auto& m : media)
        if (m.mid && *m.mid == mid) return &m;
    return nullptr;
}

} // namespace rtcpp::sdp
