#include "rfc5769_vectors.hpp"
#include "stun/message.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace rtcpp;
using namespace rtcpp::stun;
using namespace rtcpp::stun::test;

namespace {

template <size_t N>
ByteView view(const uint8_t (&a)[N]) {
    return ByteView(a, N);
}

std::vector<uint8_t> copy(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

TransactionId tid(uint8_t fill) {
    TransactionId id{};
    id.fill(fill);
    return id;
}

} // namespace

TEST_CASE("RFC 5769 2.1 sample request parses and verifies with the short-term key") {
    REQUIRE(is_stun(view(kSampleRequest)));
    auto m = Message::parse(view(kSampleRequest));
    REQUIRE(m.ok());
    CHECK(m->cls() == Class::Request);
    CHECK(m->method() == Method::Binding);
    const TransactionId expected_id{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
    CHECK(m->transaction_id() == expected_id);
    CHECK(m->get_string(attr::Software) == std::string_view("STUN test client"));
    CHECK(m->username() == std::string_view("evtj:h6vY"));
    CHECK(m->priority() == 0x6e0001ffu);
    CHECK(m->get_u64(attr::IceControlled) == 0x932ff9b151263b36ull);
    CHECK(m->has_integrity());
    CHECK(m->has_fingerprint());
    CHECK(m->fingerprint_ok());
    CHECK(m->unknown_comprehension_required().empty());
    CHECK(m->verify_integrity(short_term_key(kShortTermPassword)) == IntegrityCheck::Ok);
    CHECK(m->verify_integrity(short_term_key("VOkJxbRl1RmTxUk/WvJxBu")) == IntegrityCheck::Bad);
}

TEST_CASE("RFC 5769 2.2 sample IPv4 response") {
    auto m = Message::parse(view(kSampleIpv4Response));
    REQUIRE(m.ok());
    CHECK(m->cls() == Class::SuccessResponse);
    CHECK(m->method() == Method::Binding);
    CHECK(m->get_string(attr::Software) == std::string_view("test vector"));
    REQUIRE(m->xor_mapped_address());
    CHECK(*m->xor_mapped_address() == SocketAddr(IpAddr::v4(192, 0, 2, 1), 32853));
    CHECK(m->fingerprint_ok());
    CHECK(m->verify_integrity(short_term_key(kShortTermPassword)) == IntegrityCheck::Ok);

    // Our encoding of the same XOR-MAPPED-ADDRESS is byte-identical to the vector's.
    Message ours(Class::SuccessResponse, Method::Binding, m->transaction_id());
    ours.add_xor_address(attr::XorMappedAddress, *m->xor_mapped_address());
    CHECK(ours.find(attr::XorMappedAddress)->value == m->find(attr::XorMappedAddress)->value);
}

TEST_CASE("RFC 5769 2.3 sample IPv6 response") {
    auto m = Message::parse(view(kSampleIpv6Response));
    REQUIRE(m.ok());
    auto expected = SocketAddr::parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    REQUIRE(expected.ok());
    REQUIRE(m->xor_mapped_address());
    CHECK(*m->xor_mapped_address() == *expected);
    CHECK(m->fingerprint_ok());
    CHECK(m->verify_integrity(short_term_key(kShortTermPassword)) == IntegrityCheck::Ok);
    Message ours(Class::SuccessResponse, Method::Binding, m->transaction_id());
    ours.add_xor_address(attr::XorMappedAddress, *expected);
    CHECK(ours.find(attr::XorMappedAddress)->value == m->find(attr::XorMappedAddress)->value);
}

TEST_CASE("RFC 5769 2.4 long-term request verifies and re-encodes byte for byte") {
    auto m = Message::parse(view(kSampleLongTermRequest));
    REQUIRE(m.ok());
    CHECK(m->username() == std::string_view(kLongTermUsername));
    CHECK(m->get_string(attr::Nonce) == std::string_view("f//499k954d6OL34oL9FSTvy64sA"));
    CHECK(m->get_string(attr::Realm) == std::string_view("example.org"));
    CHECK_FALSE(m->has_fingerprint());
    const auto key = long_term_key(kLongTermUsername, "example.org", "TheMatrIX");
    CHECK(key.size() == 16);
    CHECK(m->verify_integrity(key) == IntegrityCheck::Ok);
    CHECK(m->verify_integrity(long_term_key(kLongTermUsername, "example.org", "TheMatrix")) == IntegrityCheck::Bad);

    Message again(Class::Request, Method::Binding, m->transaction_id());
    again.add_string(attr::Username, kLongTermUsername);
    again.add_string(attr::Nonce, "f//499k954d6OL34oL9FSTvy64sA");
    again.add_string(attr::Realm, "example.org");
    CHECK(again.encode(key, IntegrityAlgorithm::Sha1, false) == copy(view(kSampleLongTermRequest)));
}

TEST_CASE("RFC 5769 2.1 re-encoded with zero padding verifies and carries the same values") {
    auto m = Message::parse(view(kSampleRequest));
    REQUIRE(m.ok());
    auto bytes = m->encode(short_term_key(kShortTermPassword), IntegrityAlgorithm::Sha1, true);
    CHECK(bytes.size() == sizeof(kSampleRequest));
    // Up to the USERNAME padding the encodings agree.
    CHECK(std::memcmp(bytes.data(), kSampleRequest, 73) == 0);
    auto back = Message::parse(bytes);
    REQUIRE(back.ok());
    CHECK(back->fingerprint_ok());
    CHECK(back->verify_integrity(short_term_key(kShortTermPassword)) == IntegrityCheck::Ok);
    CHECK(back->attributes() == m->attributes());
}

TEST_CASE("class and method encoding round-trips for every TURN method and class") {
    for (auto method : {Method::Binding, Method::Allocate, Method::Refresh, Method::Send, Method::Data,
                        Method::CreatePermission, Method::ChannelBind}) {
        for (auto cls : {Class::Request, Class::Indication, Class::SuccessResponse, Class::ErrorResponse}) {
            Message m(cls, method, tid(7));
            auto bytes = m.encode();
            REQUIRE(bytes.size() == kHeaderSize);
            auto back = Message::parse(bytes);
            REQUIRE(back.ok());
            CHECK(back->cls() == cls);
            CHECK(back->method() == method);
        }
    }
    // Wire types from RFC 8489/8656: Binding success 0x0101, error 0x0111, Allocate request 0x0003,
    // Data indication 0x0017, ChannelBind success 0x0109.
    CHECK(Message(Class::SuccessResponse, Method::Binding, tid(0)).encode()[1] == 0x01);
    CHECK(Message(Class::SuccessResponse, Method::Binding, tid(0)).encode()[0] == 0x01);
    CHECK(Message(Class::ErrorResponse, Method::Binding, tid(0)).encode()[1] == 0x11);
    CHECK(Message(Class::Indication, Method::Data, tid(0)).encode()[1] == 0x17);
    CHECK(Message(Class::SuccessResponse, Method::ChannelBind, tid(0)).encode()[1] == 0x09);
}

TEST_CASE("every typed attribute round-trips") {
    Message m(Class::Request, Method::Allocate, tid(3));
    const SocketAddr v4(IpAddr::v4(10, 1, 2, 3), 4567);
    const SocketAddr v6 = *SocketAddr::parse("[2001:db8::1]:9");
    m.add_xor_address(attr::XorMappedAddress, v4);
    m.add_xor_address(attr::XorPeerAddress, v6);
    m.add_xor_address(attr::XorRelayedAddress, v4);
    m.add_address(attr::MappedAddress, v6);
    m.add_address(attr::AlternateServer, v4);
    m.add_string(attr::Username, "user");
    m.add_string(attr::Realm, "realm");
    m.add_string(attr::Nonce, "nonce-value");
    m.add_string(attr::Software, "rtcpp");
    m.add_u32(attr::Priority, 123456);
    m.add_u32(attr::Lifetime, 600);
    m.add_flag(attr::UseCandidate);
    m.add_flag(attr::DontFragment);
    m.add_u64(attr::IceControlling, 0x0102030405060708ull);
    m.add_u64(attr::ReservationToken, 42);
    m.add_error_code(438, "Stale Nonce");
    m.add_unknown_attributes({0x0031, 0x0077});
    m.add_channel_number(0x4001);
    m.add_requested_transport(17);
    m.add_requested_address_family(IpFamily::V6);
    m.add_even_port(true);
    const uint8_t data[] = {1, 2, 3, 4, 5};
    m.add_raw(attr::Data, ByteView(data, 5));

    auto back = Message::parse(m.encode());
    REQUIRE(back.ok());
    CHECK(back->get_xor_address(attr::XorMappedAddress) == v4);
    CHECK(back->get_xor_address(attr::XorPeerAddress) == v6);
    CHECK(back->get_xor_address(attr::XorRelayedAddress) == v4);
    CHECK(back->get_address(attr::MappedAddress) == v6);
    CHECK(back->get_address(attr::AlternateServer) == v4);
    CHECK(back->username() == std::string_view("user"));
    CHECK(back->get_string(attr::Realm) == std::string_view("realm"));
    CHECK(back->get_string(attr::Nonce) == std::string_view("nonce-value"));
    CHECK(back->get_string(attr::Software) == std::string_view("rtcpp"));
    CHECK(back->priority() == 123456u);
    CHECK(back->get_u32(attr::Lifetime) == 600u);
    CHECK(back->has(attr::UseCandidate));
    CHECK(back->has(attr::DontFragment));
    CHECK(back->get_u64(attr::IceControlling) == 0x0102030405060708ull);
    CHECK(back->get_u64(attr::ReservationToken) == 42u);
    REQUIRE(back->error_code());
    CHECK(back->error_code()->code == 438);
    CHECK(back->error_code()->reason == "Stale Nonce");
    CHECK(back->unknown_attributes() == std::vector<uint16_t>{0x0031, 0x0077});
    CHECK(back->channel_number() == uint16_t{0x4001});
    CHECK(back->requested_transport() == uint8_t{17});
    CHECK(back->requested_address_family() == IpFamily::V6);
    CHECK(back->even_port() == true);
    auto d = back->get_bytes(attr::Data);
    REQUIRE(d);
    CHECK(std::vector<uint8_t>(d->begin(), d->end()) == std::vector<uint8_t>{1, 2, 3, 4, 5});
    CHECK(back->attributes() == m.attributes());
    CHECK(back->unknown_comprehension_required().empty());
}

TEST_CASE("MESSAGE-INTEGRITY-SHA256 and both integrities") {
    const auto key = long_term_key_sha256("u", "r", "p");
    CHECK(key.size() == 32);
    Message m(Class::Request, Method::Refresh, tid(9));
    m.add_string(attr::Username, "u");
    auto bytes = m.encode(key, IntegrityAlgorithm::Sha256, true);
    auto back = Message::parse(bytes);
    REQUIRE(back.ok());
    CHECK(back->has_integrity_sha256());
    CHECK_FALSE(back->has_integrity());
    CHECK(back->verify_integrity(key) == IntegrityCheck::Ok);
    auto wrong = key;
    wrong[0] ^= 1;
    CHECK(back->verify_integrity(wrong) == IntegrityCheck::Bad);
    // A message without integrity reports Absent, not Ok.
    auto plain = Message::parse(m.encode());
    REQUIRE(plain.ok());
    CHECK(plain->verify_integrity(key) == IntegrityCheck::Absent);
}

TEST_CASE("integrity covers every byte before it and rejects any change") {
    const auto key = short_term_key("secret");
    Message m(Class::Request, Method::Binding, tid(1));
    m.add_string(attr::Username, "a:b");
    m.add_u32(attr::Priority, 1);
    const auto bytes = m.encode(key, IntegrityAlgorithm::Sha1, false);
    // Flip each byte of the header and attributes before MESSAGE-INTEGRITY (the length bytes aside: they must
    // keep the message parseable) and check the verification fails.
    const size_t mi = bytes.size() - 24;
    for (size_t i = 0; i < mi + 24; ++i) {
        if (i == 2 || i == 3) continue;
        auto bad = bytes;
        bad[i] ^= 0x40;
        auto p = Message::parse(bad);
        if (!p.ok()) continue; // some flips break the structure: dropped either way
        CHECK_MESSAGE(p->verify_integrity(key) != IntegrityCheck::Ok, "byte " << i);
    }
}

TEST_CASE("attributes after MESSAGE-INTEGRITY are ignored, after FINGERPRINT rejected") {
    const auto key = short_term_key("pw");
    Message m(Class::Request, Method::Binding, tid(2));
    m.add_string(attr::Username, "x");
    auto bytes = m.encode(key, IntegrityAlgorithm::Sha1, false);
    // Append PRIORITY after MI and fix the length: parse ignores it, integrity still verifies.
    const uint8_t extra[] = {0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1};
    bytes.insert(bytes.end(), extra, extra + 8);
    bytes[3] = static_cast<uint8_t>(bytes.size() - kHeaderSize);
    auto p = Message::parse(bytes);
    REQUIRE(p.ok());
    CHECK_FALSE(p->has(attr::Priority));
    CHECK(p->verify_integrity(key) == IntegrityCheck::Ok);

    auto fp = m.encode({}, IntegrityAlgorithm::None, true);
    fp.insert(fp.end(), extra, extra + 8);
    fp[3] = static_cast<uint8_t>(fp.size() - kHeaderSize);
    CHECK_FALSE(Message::parse(fp).ok());
}

TEST_CASE("bad fingerprint is reported") {
    Message m(Class::Request, Method::Binding, tid(4));
    auto bytes = m.encode({}, IntegrityAlgorithm::None, true);
    auto ok = Message::parse(bytes);
    REQUIRE(ok.ok());
    CHECK(ok->fingerprint_ok());
    bytes.back() ^= 1;
    auto bad = Message::parse(bytes);
    REQUIRE(bad.ok());
    CHECK(bad->has_fingerprint());
    CHECK_FALSE(bad->fingerprint_ok());
}

TEST_CASE("unknown comprehension-required attributes are reported, optional ones are not") {
    Message m(Class::Request, Method::Binding, tid(5));
    const uint8_t v[] = {1, 2, 3};
    m.add_raw(0x0031, ByteView(v, 3));
    m.add_raw(0x0031, ByteView(v, 1));
    m.add_raw(0xC001, ByteView(v, 2));
    auto p = Message::parse(m.encode());
    REQUIRE(p.ok());
    CHECK(p->unknown_comprehension_required() == std::vector<uint16_t>{0x0031});
    CHECK(p->attributes().size() == 3);
    CHECK(p->find(0xC001)->value.size() == 2);
}

TEST_CASE("malformed inputs are rejected without crashing") {
    auto good = Message::parse(view(kSampleRequest));
    REQUIRE(good.ok());
    const auto base = copy(view(kSampleRequest));

    SUBCASE("every truncation") {
        for (size_t n = 0; n < base.size(); ++n) {
            CHECK_FALSE(is_stun(ByteView(base.data(), n)));
            CHECK_FALSE(Message::parse(ByteView(base.data(), n)).ok());
        }
    }
    SUBCASE("first bits set") {
        auto b = base;
        b[0] |= 0x80;
        CHECK_FALSE(is_stun(b));
        CHECK_FALSE(Message::parse(b).ok());
    }
    SUBCASE("bad cookie") {
        auto b = base;
        b[4] ^= 1;
        CHECK_FALSE(is_stun(b));
        CHECK_FALSE(Message::parse(b).ok());
    }
    SUBCASE("length not matching or not multiple of 4") {
        auto b = base;
        b[3] = static_cast<uint8_t>(b[3] + 4);
        CHECK_FALSE(Message::parse(b).ok());
        b[3] = static_cast<uint8_t>(b[3] - 6);
        CHECK_FALSE(Message::parse(b).ok());
    }
    SUBCASE("attribute length overrunning the message") {
        auto b = base;
        b[22] = 0x01; // SOFTWARE length 0x0110
        CHECK_FALSE(Message::parse(b).ok());
    }
    SUBCASE("missing padding at the end") {
        Message m(Class::Request, Method::Binding, tid(0));
        auto bytes = m.encode();
        const uint8_t a[] = {0x80, 0x22, 0x00, 0x03, 'a', 'b', 'c', 0};
        bytes.insert(bytes.end(), a, a + 8);
        bytes[3] = 8;
        CHECK(Message::parse(bytes).ok());
        // declare the total length without the pad byte: no longer a multiple of 4
        bytes.pop_back();
        bytes[3] = 7;
        CHECK_FALSE(Message::parse(bytes).ok());
    }
    SUBCASE("fixed-size attributes with a wrong size") {
        for (uint16_t type : {attr::Priority, attr::IceControlled, attr::IceControlling, attr::UseCandidate,
                              attr::Fingerprint, attr::MessageIntegrity, attr::XorMappedAddress, attr::Lifetime,
                              attr::MappedAddress, attr::ErrorCode, attr::ChannelNumber,
                              attr::MessageIntegritySha256, attr::EvenPort}) {
            Message m(Class::Request, Method::Binding, tid(0));
            const uint8_t v[3] = {0, 9, 0};
            m.add_raw(type, ByteView(v, 3));
            CHECK_MESSAGE(!Message::parse(m.encode()).ok(), "type " << type);
        }
    }
    SUBCASE("address with an unknown family") {
        Message m(Class::Request, Method::Binding, tid(0));
        const uint8_t v[8] = {0, 3, 0, 1, 1, 2, 3, 4};
        m.add_raw(attr::XorMappedAddress, ByteView(v, 8));
        CHECK_FALSE(Message::parse(m.encode()).ok());
    }
    SUBCASE("error code class out of range") {
        Message m(Class::ErrorResponse, Method::Binding, tid(0));
        const uint8_t v[4] = {0, 0, 7, 1};
        m.add_raw(attr::ErrorCode, ByteView(v, 4));
        CHECK_FALSE(Message::parse(m.encode()).ok());
    }
    SUBCASE("over-long username") {
        Message m(Class::Request, Method::Binding, tid(0));
        m.add_string(attr::Username, std::string(600, 'a'));
        CHECK_FALSE(Message::parse(m.encode()).ok());
    }
}

TEST_CASE("is_stun separates STUN from DTLS, RTP and ChannelData") {
    CHECK(is_stun(view(kSampleRequest)));
    std::vector<uint8_t> dtls(40, 0);
    dtls[0] = 22;
    CHECK_FALSE(is_stun(dtls));
    std::vector<uint8_t> rtp(40, 0);
    rtp[0] = 0x80;
    CHECK_FALSE(is_stun(rtp));
    std::vector<uint8_t> chan = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    CHECK_FALSE(is_stun(chan));
    auto id = peek_transaction_id(view(kSampleRequest));
    REQUIRE(id);
    CHECK((*id)[0] == 0xb7);
}

TEST_CASE("crc32 and keys") {
    const char* s = "123456789";
    CHECK(crc32(ByteView(reinterpret_cast<const uint8_t*>(s), 9)) == 0xCBF43926u);
    CHECK(short_term_key("abc") == std::vector<uint8_t>{'a', 'b', 'c'});
    // MD5("user:realm:pass") = 8493fbc53ba582fb4c044c456bdc40eb
    const std::vector<uint8_t> md5 = {0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb,
                                      0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb};
    CHECK(long_term_key("user", "realm", "pass") == md5);
}

TEST_CASE("random transaction ids come from the injected Random") {
    Random a(1), b(1), c(2);
    CHECK(random_transaction_id(a) == random_transaction_id(b));
    CHECK(random_transaction_id(a) != random_transaction_id(c));
}
