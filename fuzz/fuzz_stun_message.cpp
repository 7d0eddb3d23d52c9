// STUN codec: parse, typed getters, re-serialize and re-parse (must round-trip), integrity and fingerprint paths.
#include "stun/message.hpp"

#include <cstdlib>

using namespace rtcpp;
using namespace rtcpp::stun;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    const bool looks_stun = is_stun(in);
    (void)peek_transaction_id(in);
    auto m = Message::parse(in);
    if (!m.ok()) return 0;
    if (!looks_stun) std::abort(); // whatever parses must pass the demux check

    // Every typed getter on every attribute type present (they re-validate on their own).
    for (const auto& a : m->attributes()) {
        (void)m->get_address(a.type);
        (void)m->get_xor_address(a.type);
        (void)m->get_string(a.type);
        (void)m->get_u32(a.type);
        (void)m->get_u64(a.type);
        (void)m->get_bytes(a.type);
    }
    (void)m->error_code();
    (void)m->unknown_attributes();
    (void)m->channel_number();
    (void)m->requested_transport();
    (void)m->requested_address_family();
    (void)m->even_port();
    (void)m->fingerprint_ok();
    static const std::vector<uint8_t> key = short_term_key("VOkJxbRl1RmTxUk/WvJxBt");
    const auto verdict = m->verify_integrity(key);
    if ((verdict == IntegrityCheck::Absent) != (!m->has_integrity() && !m->has_integrity_sha256())) std::abort();

    // Re-serialize without integrity: must parse back to the same attributes.
    auto plain = Message::parse(m->encode());
    if (!plain.ok() || plain->attributes() != m->attributes() || plain->cls() != m->cls() ||
        plain->method_code() != m->method_code() || plain->transaction_id() != m->transaction_id() ||
        plain->unknown_comprehension_required() != m->unknown_comprehension_required())
        std::abort();

    // Re-serialize signed: integrity verifies with the key only, the fingerprint matches.
    for (auto alg : {IntegrityAlgorithm::Sha1, IntegrityAlgorithm::Sha256}) {
        auto signed_bytes = m->encode(key, alg, true);
        auto back = Message::parse(signed_bytes);
        if (!back.ok() || !back->fingerprint_ok() || !back->has_fingerprint()) std::abort();
        if (back->verify_integrity(key) != IntegrityCheck::Ok) std::abort();
        if (back->verify_integrity(short_term_key("other")) != IntegrityCheck::Bad) std::abort();
        if (back->attributes() != m->attributes()) std::abort();
    }
    return 0;
}
