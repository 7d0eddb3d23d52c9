// STUN messages (RFC 8489) and the TURN attributes (RFC 8656): model, parser, serializer, integrity and fingerprint.
//
// Model: a Message is a class, a method, a 96-bit transaction id and an ordered list of raw attributes
// (type + value bytes, padding stripped). Typed getters decode an attribute on demand and return nullopt when it is
// absent or malformed; typed adders encode and append one. MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
// FINGERPRINT are never stored as ordinary attributes: encode() computes them from a key, and parse() records where
// they were so verify_integrity() hashes exactly the bytes the sender hashed (header length adjusted, RFC 8489 14.5).
//
// Typical use:
//   Message req(Class::Request, Method::Binding, random_transaction_id(rng));
//   req.add_string(attr::Username, "rfrag:lfrag");
//   req.add_u32(attr::Priority, prio);
//   auto bytes = req.encode(short_term_key(pwd), IntegrityAlgorithm::Sha1, /*fingerprint=*/true);
//
//   if (is_stun(datagram)) {
//       auto msg = Message::parse(datagram);          // structure checked, nothing trusted yet
//       if (msg && msg->fingerprint_ok() && msg->verify_integrity(key) == IntegrityCheck::Ok) ...
//       msg->unknown_comprehension_required()        // non-empty: answer 420 with UNKNOWN-ATTRIBUTES
//   }
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcpp::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr uint32_t kFingerprintXor = 0x5354554e;

enum class Class : uint8_t { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 };

enum class Method : uint16_t {
    Binding = 0x001,
    Allocate = 0x003,
    Refresh = 0x004,
    Send = 0x006,
    Data = 0x007,
    CreatePermission = 0x008,
    ChannelBind = 0x009,
};

using TransactionId = std::array<uint8_t, 12>;
TransactionId random_transaction_id(Random& random);

/// Attribute type codes. Codes below 0x8000 are comprehension-required.
namespace attr {
inline constexpr uint16_t MappedAddress = 0x0001;
inline constexpr uint16_t Username = 0x0006;
inline constexpr uint16_t MessageIntegrity = 0x0008;
inline constexpr uint16_t ErrorCode = 0x0009;
inline constexpr uint16_t UnknownAttributes = 0x000A;
inline constexpr uint16_t ChannelNumber = 0x000C;
inline constexpr uint16_t Lifetime = 0x000D;
inline constexpr uint16_t XorPeerAddress = 0x0012;
inline constexpr uint16_t Data = 0x0013;
inline constexpr uint16_t Realm = 0x0014;
inline constexpr uint16_t Nonce = 0x0015;
inline constexpr uint16_t XorRelayedAddress = 0x0016;
inline constexpr uint16_t RequestedAddressFamily = 0x0017;
inline constexpr uint16_t EvenPort = 0x0018;
inline constexpr uint16_t RequestedTransport = 0x0019;
inline constexpr uint16_t DontFragment = 0x001A;
inline constexpr uint16_t MessageIntegritySha256 = 0x001C;
inline constexpr uint16_t PasswordAlgorithm = 0x001D;
inline constexpr uint16_t Userhash = 0x001E;
inline constexpr uint16_t XorMappedAddress = 0x0020;
inline constexpr uint16_t ReservationToken = 0x0022;
inline constexpr uint16_t Priority = 0x0024;
inline constexpr uint16_t UseCandidate = 0x0025;
inline constexpr uint16_t PasswordAlgorithms = 0x8002;
inline constexpr uint16_t AlternateDomain = 0x8003;
inline constexpr uint16_t Software = 0x8022;
inline constexpr uint16_t AlternateServer = 0x8023;
inline constexpr uint16_t Fingerprint = 0x8028;
inline constexpr uint16_t IceControlled = 0x8029;
inline constexpr uint16_t IceControlling = 0x802A;
} // namespace attr

/// Whether this implementation understands the attribute type (used to report comprehension-required unknowns).
bool is_known_attribute(uint16_t type);
inline bool is_comprehension_required(uint16_t type) { return type < 0x8000; }

/// Fast demultiplexing check (RFC 7983 first byte 0..3, magic cookie, sane length). Does not parse attributes.
bool is_stun(ByteView datagram);

/// The transaction id of a datagram that passed is_stun(), without parsing it.
std::optional<TransactionId> peek_transaction_id(ByteView datagram);

enum class IntegrityAlgorithm : uint8_t { None, Sha1, Sha256 };
enum class IntegrityCheck : uint8_t { Absent, Ok, Bad };

/// Short-term credential key (ICE): the password bytes as they are.
std::vector<uint8_t> short_term_key(std::string_view password);
/// Long-term credential key: MD5(username ":" realm ":" password). Assumes ASCII (no SASLprep).
std::vector<uint8_t> long_term_key(std::string_view username, std::string_view realm, std::string_view password);
/// Long-term key with PASSWORD-ALGORITHM SHA-256: SHA-256(username ":" realm ":" password).
std::vector<uint8_t> long_term_key_sha256(std::string_view username, std::string_view realm,
                                          std::string_view password);

/// CRC-32 (ISO-HDLC, as zlib) of `data`.
uint32_t crc32(ByteView data);

struct Attribute {
    uint16_t type = 0;
    std::vector<uint8_t> value; ///< without padding
    bool operator==(const Attribute&) const = default;
};

struct ErrorCodeValue {
    uint16_t code = 0; ///< 300..699
    std::string reason;
    bool operator==(const ErrorCodeValue&) const = default;
};

/// Common error codes.
namespace error {
inline constexpr uint16_t TryAlternate = 300;
inline constexpr uint16_t BadRequest = 400;
inline constexpr uint16_t Unauthorized = 401;
inline constexpr uint16_t Forbidden = 403;
inline constexpr uint16_t UnknownAttribute = 420;
inline constexpr uint16_t AllocationMismatch = 437;
inline constexpr uint16_t StaleNonce = 438;
inline constexpr uint16_t AddressFamilyNotSupported = 440;
inline constexpr uint16_t WrongCredentials = 441;
inline constexpr uint16_t UnsupportedTransportProtocol = 442;
inline constexpr uint16_t PeerAddressFamilyMismatch = 443;
inline constexpr uint16_t AllocationQuotaReached = 486;
inline constexpr uint16_t RoleConflict = 487;
inline constexpr uint16_t ServerError = 500;
inline constexpr uint16_t InsufficientCapacity = 508;
} // namespace error

class Message {
public:
    Message() = default;
    Message(Class cls, Method method, const TransactionId& id) : class_(cls), method_(method), id_(id) {}

    /// Parses one STUN message occupying the whole datagram. Checks the header, every attribute length and
    /// padding, the position rules of MESSAGE-INTEGRITY(-SHA256)/FINGERPRINT and the format of the attributes with
    /// a fixed layout. Integrity is not verified here (it needs a key): call verify_integrity().
    static Result<Message> parse(ByteView datagram);

    Class cls() const { return class_; }
    Method method() const { return method_; }
    /// The 12-bit method as on the wire (may be a method not listed in Method).
    uint16_t method_code() const { return static_cast<uint16_t>(method_); }
    const TransactionId& transaction_id() const { return id_; }
    void set_class(Class c) { class_ = c; }
    void set_method(Method m) { method_ = m; }
    void set_transaction_id(const TransactionId& id) { id_ = id; }

    const std::vector<Attribute>& attributes() const { return attrs_; }
    const Attribute* find(uint16_t type) const;
    bool has(uint16_t type) const { return find(type) != nullptr; }

    // ---- typed getters (nullopt: absent or malformed) ----
    std::optional<SocketAddr> get_address(uint16_t type) const;     ///< MAPPED-ADDRESS, ALTERNATE-SERVER
    std::optional<SocketAddr> get_xor_address(uint16_t type) const; ///< XOR-MAPPED/-PEER/-RELAYED-ADDRESS
    std::optional<std::string_view> get_string(uint16_t type) const; ///< USERNAME, REALM, NONCE, SOFTWARE
    std::optional<uint32_t> get_u32(uint16_t type) const;           ///< PRIORITY, LIFETIME
    std::optional<uint64_t> get_u64(uint16_t type) const;           ///< ICE-CONTROLL(ED|ING), RESERVATION-TOKEN
    std::optional<ByteView> get_bytes(uint16_t type) const;         ///< DATA or any raw value
    std::optional<ErrorCodeValue> error_code() const;
    std::optional<std::vector<uint16_t>> unknown_attributes() const;
    std::optional<uint16_t> channel_number() const;
    std::optional<uint8_t> requested_transport() const;  ///< protocol number (17 = UDP)
    std::optional<IpFamily> requested_address_family() const;
    std::optional<bool> even_port() const;               ///< the R bit

    std::optional<SocketAddr> xor_mapped_address() const { return get_xor_address(attr::XorMappedAddress); }
    std::optional<std::string_view> username() const { return get_string(attr::Username); }
    std::optional<uint32_t> priority() const { return get_u32(attr::Priority); }

    // ---- typed adders (append in call order) ----
    void add_raw(uint16_t type, ByteView value);
    void add_flag(uint16_t type) { add_raw(type, {}); } ///< USE-CANDIDATE, DONT-FRAGMENT
    void add_address(uint16_t type, const SocketAddr& addr);
    void add_xor_address(uint16_t type, const SocketAddr& addr);
    void add_string(uint16_t type, std::string_view value);
    void add_u32(uint16_t type, uint32_t value);
    void add_u64(uint16_t type, uint64_t value);
    void add_error_code(uint16_t code, std::string_view reason);
    void add_unknown_attributes(const std::vector<uint16_t>& types);
    void add_channel_number(uint16_t channel);
    void add_requested_transport(uint8_t protocol);
    void add_requested_address_family(IpFamily family);
    void add_even_port(bool reserve_next);
    /// Removes every attribute of this type.
    void remove(uint16_t type);

    // ---- serialization ----
    /// Header and attributes only: no integrity, no fingerprint.
    std::vector<uint8_t> encode() const { return encode({}, IntegrityAlgorithm::None, false); }
    /// Appends MESSAGE-INTEGRITY (Sha1) or MESSAGE-INTEGRITY-SHA256 computed with `key` unless alg is None, then
    /// FINGERPRINT if asked.
    std::vector<uint8_t> encode(ByteView key, IntegrityAlgorithm alg, bool fingerprint) const;
    void encode_into(std::vector<uint8_t>& out, ByteView key, IntegrityAlgorithm alg, bool fingerprint) const;

    // ---- facts recorded by parse() ----
    /// Comprehension-required attribute types this implementation does not know (answer requests with 420).
    const std::vector<uint16_t>& unknown_comprehension_required() const { return unknown_required_; }
    bool has_integrity() const { return mi_offset_ != 0; }
    bool has_integrity_sha256() const { return mi256_offset_ != 0; }
    bool has_fingerprint() const { return fp_offset_ != 0; }
    /// True when FINGERPRINT is absent or matches.
    bool fingerprint_ok() const { return fingerprint_ok_; }
    /// Verifies MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY. Absent if neither (or not parsed).
    IntegrityCheck verify_integrity(ByteView key) const;
    IntegrityCheck verify_integrity(const std::vector<uint8_t>& key) const {
        return verify_integrity(ByteView(key.data(), key.size()));
    }

    /// Builds a response skeleton with the same method and transaction id.
    Message make_response(Class cls) const { return Message(cls, method_, id_); }

private:
    Class class_ = Class::Request;
    Method method_ = Method::Binding;
    TransactionId id_{};
    std::vector<Attribute> attrs_;

    // Only set by parse().
    std::vector<uint8_t> raw_;
    std::vector<uint16_t> unknown_required_;
    size_t mi_offset_ = 0;    // offset of the MESSAGE-INTEGRITY attribute header in raw_
    size_t mi256_offset_ = 0; // offset of MESSAGE-INTEGRITY-SHA256
    size_t mi256_len_ = 0;
    size_t fp_offset_ = 0;
    bool fingerprint_ok_ = true;
};

std::string_view to_string(Method m);
std::string_view to_string(Class c);

} // namespace rtcpp::stun
