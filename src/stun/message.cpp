#include "stun/message.hpp"

#include "core/byte_writer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>

namespace rtcpp::stun {

namespace {

constexpr size_t kMaxStringAttr = 763; // RFC 8489: REALM, NONCE, SOFTWARE, ERROR-CODE reason < 128 chars (<= 763 bytes)
constexpr size_t kMaxUsername = 513;

uint16_t encode_type(Class c, uint16_t m) {
    const auto cc = static_cast<uint16_t>(c);
    return static_cast<uint16_t>(((m & 0x0F80) << 2) | ((m & 0x0070) << 1) | (m & 0x000F) | ((cc & 2) << 7) |
                                 ((cc & 1) << 4));
}

void decode_type(uint16_t t, Class& c, uint16_t& m) {
    m = static_cast<uint16_t>((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
    c = static_cast<Class>(((t >> 7) & 2) | ((t >> 4) & 1));
}

std::vector<uint8_t> digest(const EVP_MD* md, std::string_view u, std::string_view r, std::string_view p) {
    std::string input;
    input.reserve(u.size() + r.size() + p.size() + 2);
    input.append(u).append(":").append(r).append(":").append(p);
    std::vector<uint8_t> out(static_cast<size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}

// HMAC over `data` with the two length bytes of the STUN header replaced by `length_field`.
size_t hmac_patched(const EVP_MD* md, ByteView key, ByteView data, uint16_t length_field, uint8_t* out) {
    static const uint8_t kEmpty = 0;
    std::vector<uint8_t> tmp(data.begin(), data.end());
    tmp[2] = static_cast<uint8_t>(length_field >> 8);
    tmp[3] = static_cast<uint8_t>(length_field & 0xFF);
    unsigned int len = 0;
    HMAC(md, key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()), tmp.data(), tmp.size(), out, &len);
    return len;
}

std::optional<SocketAddr> decode_address(ByteView v, bool xored, const TransactionId& id) {
    ByteReader r(v);
    auto zero = r.read_u8();
    auto family = r.read_u8();
    auto port = r.read_u16();
    if (!zero || !family || !port) return std::nullopt;
    uint16_t p = *port;
    if (xored) p ^= static_cast<uint16_t>(kMagicCookie >> 16);
    if (*family == 0x01) {
        auto a = r.read_u32();
        if (!a || !r.empty()) return std::nullopt;
        uint32_t ip = *a;
        if (xored) ip ^= kMagicCookie;
        return SocketAddr(IpAddr::v4(ip), p);
    }
    if (*family == 0x02) {
        auto b = r.read_bytes(16);
        if (!b || !r.empty()) return std::nullopt;
        std::array<uint8_t, 16> ip{};
        std::copy(b->begin(), b->end(), ip.begin());
        if (xored) {
            const uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
            for (size_t i = 0; i < 4; ++i) ip[i] ^= cookie[i];
            for (size_t i = 0; i < 12; ++i) ip[4 + i] ^= id[i];
        }
        return SocketAddr(IpAddr::v6(ip), p);
    }
    return std::nullopt;
}

void encode_address(std::vector<uint8_t>& out, const SocketAddr& a, bool xored, const TransactionId& id) {
    ByteWriter w(out);
    w.write_u8(0);
    w.write_u8(a.ip().is_v4() ? 0x01 : 0x02);
    uint16_t p = a.port();
    if (xored) p ^= static_cast<uint16_t>(kMagicCookie >> 16);
    w.write_u16(p);
    if (a.ip().is_v4()) {
        uint32_t ip = a.ip().v4_host_order();
        if (xored) ip ^= kMagicCookie;
        w.write_u32(ip);
    } else {
        uint8_t ip[16];
        std::memcpy(ip, a.ip().data(), 16);
        if (xored) {
            const uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
            for (size_t i = 0; i < 4; ++i) ip[i] ^= cookie[i];
            for (size_t i = 0; i < 12; ++i) ip[4 + i] ^= id[i];
        }
        w.write_bytes(ByteView(ip, 16));
    }
}

// Format checks for attributes with a fixed layout, so a message that parses has well-formed known attributes.
bool attribute_format_ok(uint16_t t, ByteView v, const TransactionId& id) {
    switch (t) {
    case attr::MappedAddress:
    case attr::AlternateServer:
        return decode_address(v, false, id).has_value();
    case attr::XorMappedAddress:
    case attr::XorPeerAddress:
    case attr::XorRelayedAddress:
        return decode_address(v, true, id).has_value();
    case attr::Priority:
    case attr::Lifetime:
    case attr::ChannelNumber:
    case attr::RequestedTransport:
    case attr::RequestedAddressFamily:
        return v.size() == 4;
    case attr::IceControlled:
    case attr::IceControlling:
    case attr::ReservationToken:
        return v.size() == 8;
    case attr::UseCandidate:
    case attr::DontFragment:
        return v.empty();
    case attr::EvenPort:
        return v.size() == 1;
    case attr::Username:
        return v.size() <= kMaxUsername;
    case attr::Realm:
    case attr::Nonce:
    case attr::Software:
        return v.size() <= kMaxStringAttr;
    case attr::ErrorCode: {
        if (v.size() < 4 || v.size() > 4 + kMaxStringAttr) return false;
        const unsigned cls = v[2] & 0x07;
        return cls >= 3 && cls <= 6 && v[3] < 100;
    }
    case attr::UnknownAttributes:
        return v.size() % 2 == 0;
    default:
        return true;
    }
}

} // namespace

TransactionId random_transaction_id(Random& random) {
    TransactionId id{};
    random.fill(id);
    return id;
}

bool is_known_attribute(uint16_t t) {
    switch (t) {
    case attr::MappedAddress: case attr::Username: case attr::MessageIntegrity: case attr::ErrorCode:
    case attr::UnknownAttributes: case attr::ChannelNumber: case attr::Lifetime: case attr::XorPeerAddress:
    case attr::Data: case attr::Realm: case attr::Nonce: case attr::XorRelayedAddress:
    case attr::RequestedAddressFamily: case attr::EvenPort: case attr::RequestedTransport:
    case attr::DontFragment: case attr::MessageIntegritySha256: case attr::XorMappedAddress:
    case attr::ReservationToken: case attr::Priority: case attr::UseCandidate: case attr::Software:
    case attr::AlternateServer: case attr::Fingerprint: case attr::IceControlled: case attr::IceControlling:
        return true;
    default:
        return false;
    }
}

bool is_stun(ByteView d) {
    if (d.size() < kHeaderSize || d.size() % 4 != 0) return false;
    ByteReader r(d);
    const auto type = r.read_u16();
    const auto len = r.read_u16();
    const auto cookie = r.read_u32();
    return type && (*type & 0xC000) == 0 && len && static_cast<size_t>(*len) + kHeaderSize == d.size() && cookie &&
           *cookie == kMagicCookie;
}

std::optional<TransactionId> peek_transaction_id(ByteView d) {
    ByteReader r(d);
    if (!r.skip(8)) return std::nullopt;
    auto b = r.read_bytes(12);
    if (!b) return std::nullopt;
    TransactionId id{};
    std::copy(b->begin(), b->end(), id.begin());
    return id;
}

std::vector<uint8_t> short_term_key(std::string_view password) {
    return std::vector<uint8_t>(password.begin(), password.end());
}

std::vector<uint8_t> long_term_key(std::string_view u, std::string_view r, std::string_view p) {
    return digest(EVP_md5(), u, r, p);
}

std::vector<uint8_t> long_term_key_sha256(std::string_view u, std::string_view r, std::string_view p) {
    return digest(EVP_sha256(), u, r, p);
}

uint32_t crc32(ByteView data) {
    static const auto table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xFFFFFFFFu;
    for (uint8_t b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

Result<Message> Message::parse(ByteView d) {
    auto fail = [](const char* why) { return make_error(ErrorCategory::DataError, "stun", why); };
    ByteReader r(d);
    const auto type = r.read_u16();
    const auto len = r.read_u16();
    const auto cookie = r.read_u32();
    const auto tid = r.read_bytes(12);
    if (!type || !len || !cookie || !tid) return fail("shorter than a STUN header");
    if ((*type & 0xC000) != 0) return fail("first two bits not zero");
    if (*cookie != kMagicCookie) return fail("bad magic cookie");
    if (*len % 4 != 0) return fail("length not a multiple of 4");
    if (static_cast<size_t>(*len) != r.remaining()) return fail("length does not match the datagram");

    Message m;
    uint16_t method = 0;
    decode_type(*type, m.class_, method);
    m.method_ = static_cast<Method>(method);
    std::copy(tid->begin(), tid->end(), m.id_.begin());

    bool after_mi = false, after_mi256 = false, after_fp = false;
    while (!r.empty()) {
        const size_t off = r.position();
        const auto at = r.read_u16();
        const auto al = r.read_u16();
        if (!at || !al) return fail("truncated attribute header");
        const auto value = r.read_bytes(*al);
        if (!value) return fail("attribute longer than the message");
        const size_t pad = (4 - *al % 4) % 4;
        if (!r.skip(pad)) return fail("missing attribute padding");
        if (after_fp) return fail("attribute after FINGERPRINT");
        if (*at == attr::Fingerprint) {
            if (*al != 4) return fail("bad FINGERPRINT length");
            m.fp_offset_ = off;
            ByteReader fr(*value);
            const uint32_t expected = crc32(d.first(off)) ^ kFingerprintXor;
            m.fingerprint_ok_ = fr.read_u32() == expected;
            after_fp = true;
            continue;
        }
        if (after_mi256) continue; // RFC 8489 14.6: only FINGERPRINT may follow; anything else is ignored
        if (*at == attr::MessageIntegritySha256) {
            if (*al < 16 || *al > 32 || *al % 4 != 0) return fail("bad MESSAGE-INTEGRITY-SHA256 length");
            m.mi256_offset_ = off;
            m.mi256_len_ = *al;
            after_mi256 = true;
            continue;
        }
        if (after_mi) continue;
        if (*at == attr::MessageIntegrity) {
            if (*al != 20) return fail("bad MESSAGE-INTEGRITY length");
            m.mi_offset_ = off;
            after_mi = true;
            continue;
        }
        if (!attribute_format_ok(*at, *value, m.id_)) return fail("malformed attribute");
        if (is_comprehension_required(*at) && !is_known_attribute(*at)) {
            if (std::find(m.unknown_required_.begin(), m.unknown_required_.end(), *at) == m.unknown_required_.end())
                m.unknown_required_.push_back(*at);
        }
        m.attrs_.push_back(Attribute{*at, std::vector<uint8_t>(value->begin(), value->end())});
    }
    if (m.mi_offset_ || m.mi256_offset_) m.raw_.assign(d.begin(), d.end());
    return m;
}

IntegrityCheck Message::verify_integrity(ByteView key) const {
    const EVP_MD* md = nullptr;
    size_t off = 0, vlen = 0;
    if (mi256_offset_) {
        md = EVP_sha256();
        off = mi256_offset_;
        vlen = mi256_len_;
    } else if (mi_offset_) {
        md = EVP_sha1();
        off = mi_offset_;
        vlen = 20;
    } else {
        return IntegrityCheck::Absent;
    }
    if (raw_.size() < off + 4 + vlen) return IntegrityCheck::Bad;
    uint8_t mac[EVP_MAX_MD_SIZE];
    const auto length_field = static_cast<uint16_t>(off + 4 + vlen - kHeaderSize);
    const size_t n = hmac_patched(md, key, ByteView(raw_.data(), off), length_field, mac);
    if (n < vlen) return IntegrityCheck::Bad;
    return CRYPTO_memcmp(mac, raw_.data() + off + 4, vlen) == 0 ? IntegrityCheck::Ok : IntegrityCheck::Bad;
}

void Message::encode_into(std::vector<uint8_t>& out, ByteView key, IntegrityAlgorithm alg, bool fingerprint) const {
    const size_t base = out.size();
    ByteWriter w(out);
    w.write_u16(encode_type(class_, static_cast<uint16_t>(method_) & 0x0FFF));
    w.write_u16(0);
    w.write_u32(kMagicCookie);
    w.write_bytes(id_);
    for (const auto& a : attrs_) {
        w.write_u16(a.type);
        w.write_u16(static_cast<uint16_t>(a.value.size()));
        w.write_bytes(a.value);
        w.write_zeros((4 - a.value.size() % 4) % 4);
    }
    if (alg != IntegrityAlgorithm::None) {
        const EVP_MD* md = alg == IntegrityAlgorithm::Sha1 ? EVP_sha1() : EVP_sha256();
        const size_t mlen = alg == IntegrityAlgorithm::Sha1 ? 20 : 32;
        const auto length_field = static_cast<uint16_t>(out.size() - base - kHeaderSize + 4 + mlen);
        uint8_t mac[EVP_MAX_MD_SIZE];
        hmac_patched(md, key, ByteView(out.data() + base, out.size() - base), length_field, mac);
        w.write_u16(alg == IntegrityAlgorithm::Sha1 ? attr::MessageIntegrity : attr::MessageIntegritySha256);
        w.write_u16(static_cast<uint16_t>(mlen));
        w.write_bytes(ByteView(mac, mlen));
    }
    if (fingerprint) {
        w.patch_u16(base + 2, static_cast<uint16_t>(out.size() - base - kHeaderSize + 8));
        const uint32_t crc = crc32(ByteView(out.data() + base, out.size() - base)) ^ kFingerprintXor;
        w.write_u16(attr::Fingerprint);
        w.write_u16(4);
        w.write_u32(crc);
    }
    w.patch_u16(base + 2, static_cast<uint16_t>(out.size() - base - kHeaderSize));
}

std::vector<uint8_t> Message::encode(ByteView key, IntegrityAlgorithm alg, bool fingerprint) const {
    std::vector<uint8_t> out;
    out.reserve(kHeaderSize + 64);
    encode_into(out, key, alg, fingerprint);
    return out;
}

const Attribute* Message::find(uint16_t type) const {
    for (const auto& a : attrs_)
        if (a.type == type) return &a;
    return nullptr;
}

std::optional<SocketAddr> Message::get_address(uint16_t type) const {
    const auto* a = find(type);
    if (!a) return std::nullopt;
    return decode_address(a->value, false, id_);
}

std::optional<SocketAddr> Message::get_xor_address(uint16_t type) const {
    const auto* a = find(type);
    if (!a) return std::nullopt;
    return decode_address(a->value, true, id_);
}

std::optional<std::string_view> Message::get_string(uint16_t type) const {
    const auto* a = find(type);
    if (!a) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(a->value.data()), a->value.size());
}

std::optional<uint32_t> Message::get_u32(uint16_t type) const {
    const auto* a = find(type);
    if (!a || a->value.size() != 4) return std::nullopt;
    ByteReader r(a->value);
    return r.read_u32();
}

std::optional<uint64_t> Message::get_u64(uint16_t type) const {
    const auto* a = find(type);
    if (!a || a->value.size() != 8) return std::nullopt;
    ByteReader r(a->value);
    return r.read_u64();
}

std::optional<ByteView> Message::get_bytes(uint16_t type) const {
    const auto* a = find(type);
    if (!a) return std::nullopt;
    return ByteView(a->value);
}

std::optional<ErrorCodeValue> Message::error_code() const {
    const auto* a = find(attr::ErrorCode);
    if (!a || !attribute_format_ok(attr::ErrorCode, a->value, id_)) return std::nullopt;
    ByteReader r(a->value);
    r.skip(2);
    const auto cls = r.read_u8().value_or(0) & 0x07;
    const auto num = r.read_u8().value_or(0);
    const auto reason = r.read_rest();
    return ErrorCodeValue{static_cast<uint16_t>(cls * 100 + num),
                          std::string(reinterpret_cast<const char*>(reason.data()), reason.size())};
}

std::optional<std::vector<uint16_t>> Message::unknown_attributes() const {
    const auto* a = find(attr::UnknownAttributes);
    if (!a || a->value.size() % 2 != 0) return std::nullopt;
    std::vector<uint16_t> out;
    ByteReader r(a->value);
    while (auto t = r.read_u16()) out.push_back(*t);
    return out;
}

std::optional<uint16_t> Message::channel_number() const {
    auto v = get_u32(attr::ChannelNumber);
    if (!v) return std::nullopt;
    return static_cast<uint16_t>(*v >> 16);
}

std::optional<uint8_t> Message::requested_transport() const {
    auto v = get_u32(attr::RequestedTransport);
    if (!v) return std::nullopt;
    return static_cast<uint8_t>(*v >> 24);
}

std::optional<IpFamily> Message::requested_address_family() const {
    auto v = get_u32(attr::RequestedAddressFamily);
    if (!v) return std::nullopt;
    switch (*v >> 24) {
    case 0x01: return IpFamily::V4;
    case 0x02: return IpFamily::V6;
    default: return std::nullopt;
    }
}

std::optional<bool> Message::even_port() const {
    const auto* a = find(attr::EvenPort);
    if (!a || a->value.size() != 1) return std::nullopt;
    return (a->value[0] & 0x80) != 0;
}

void Message::add_raw(uint16_t type, ByteView value) {
    attrs_.push_back(Attribute{type, std::vector<uint8_t>(value.begin(), value.end())});
}

void Message::add_address(uint16_t type, const SocketAddr& addr) {
    Attribute a{type, {}};
    encode_address(a.value, addr, false, id_);
    attrs_.push_back(std::move(a));
}

void Message::add_xor_address(uint16_t type, const SocketAddr& addr) {
    Attribute a{type, {}};
    encode_address(a.value, addr, true, id_);
    attrs_.push_back(std::move(a));
}

void Message::add_string(uint16_t type, std::string_view value) {
    attrs_.push_back(Attribute{type, std::vector<uint8_t>(value.begin(), value.end())});
}

void Message::add_u32(uint16_t type, uint32_t value) {
    Attribute a{type, {}};
    ByteWriter(a.value).write_u32(value);
    attrs_.push_back(std::move(a));
}

void Message::add_u64(uint16_t type, uint64_t value) {
    Attribute a{type, {}};
    ByteWriter(a.value).write_u64(value);
    attrs_.push_back(std::move(a));
}

void Message::add_error_code(uint16_t code, std::string_view reason) {
    Attribute a{attr::ErrorCode, {}};
    ByteWriter w(a.value);
    w.write_u16(0);
    w.write_u8(static_cast<uint8_t>(code / 100));
    w.write_u8(static_cast<uint8_t>(code % 100));
    w.write_string(reason.substr(0, kMaxStringAttr));
    attrs_.push_back(std::move(a));
}

void Message::add_unknown_attributes(const std::vector<uint16_t>& types) {
    Attribute a{attr::UnknownAttributes, {}};
    ByteWriter w(a.value);
    for (auto t : types) w.write_u16(t);
    attrs_.push_back(std::move(a));
}

void Message::add_channel_number(uint16_t channel) { add_u32(attr::ChannelNumber, uint32_t{channel} << 16); }
void Message::add_requested_transport(uint8_t protocol) {
    add_u32(attr::RequestedTransport, uint32_t{protocol} << 24);
}
void Message::add_requested_address_family(IpFamily f) {
    add_u32(attr::RequestedAddressFamily, (f == IpFamily::V4 ? 0x01u : 0x02u) << 24);
}
void Message::add_even_port(bool reserve_next) {
    const uint8_t v = reserve_next ? 0x80 : 0x00;
    add_raw(attr::EvenPort, ByteView(&v, 1));
}

void Message::remove(uint16_t type) {
    std::erase_if(attrs_, [type](const Attribute& a) { return a.type == type; });
}

std::string_view to_string(Method m) {
    switch (m) {
    case Method::Binding: return "Binding";
    case Method::Allocate: return "Allocate";
    case Method::Refresh: return "Refresh";
    case Method::Send: return "Send";
    case Method::Data: return "Data";
    case Method::CreatePermission: return "CreatePermission";
    case Method::ChannelBind: return "ChannelBind";
    }
    return "Unknown";
}

std::string_view to_string(Class c) {
    switch (c) {
    case Class::Request: return "Request";
    case Class::Indication: return "Indication";
    case Class::SuccessResponse: return "SuccessResponse";
    case Class::ErrorResponse: return "ErrorResponse";
    }
    return "Unknown";
}

} // namespace rtcpp::stun
