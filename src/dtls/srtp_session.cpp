#include "dtls/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <vector>

#include <openssl/crypto.h>

namespace rtcpp::dtls {

static_assert(kSrtpMaxTrailer == SRTP_MAX_TRAILER_LEN);

namespace {

constexpr size_t kMinRtp = 12;
constexpr size_t kMinRtcp = 8;

// libsrtp has process-wide state (the crypto kernel): srtp_init once, srtp_shutdown after the last user.
std::mutex g_library_mutex;
size_t g_library_users = 0;

Result<void> library_acquire() {
    std::lock_guard lock(g_library_mutex);
    if (g_library_users == 0) {
        const srtp_err_status_t st = srtp_init();
        if (st != srtp_err_status_ok)
            return make_error(ErrorCategory::OperationError, "srtp",
                              "srtp_init failed (libsrtp error " + std::to_string(static_cast<int>(st)) + ")");
    }
    ++g_library_users;
    return {};
}

void library_release() {
    std::lock_guard lock(g_library_mutex);
    if (g_library_users > 0 && --g_library_users == 0) (void)srtp_shutdown();
}

} // namespace

std::string_view to_string(SrtpStatus status) {
    switch (status) {
    case SrtpStatus::Ok: return "ok";
    case SrtpStatus::AuthFailed: return "authentication failed";
    case SrtpStatus::Replayed: return "replayed";
    case SrtpStatus::Malformed: return "malformed";
    case SrtpStatus::BufferTooSmall: return "buffer too small";
    case SrtpStatus::Error: return "error";
    }
    return "error";
}

struct SrtpSession::Impl {
    SrtpProfile profile = SrtpProfile::AeadAes128Gcm;
    srtp_t send = nullptr;
    srtp_t receive = nullptr;
    bool library_held = false;
    SrtpStats stats;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (send != nullptr) srtp_dealloc(send);
        if (receive != nullptr) srtp_dealloc(receive);
        if (library_held) library_release();
    }

    SrtpStatus status_of(srtp_err_status_t st) {
        switch (st) {
        case srtp_err_status_ok: return SrtpStatus::Ok;
        case srtp_err_status_auth_fail: ++stats.auth_failures; return SrtpStatus::AuthFailed;
        case srtp_err_status_replay_fail:
        case srtp_err_status_replay_old: ++stats.replays; return SrtpStatus::Replayed;
        case srtp_err_status_bad_param:
        case srtp_err_status_parse_err: ++stats.malformed; return SrtpStatus::Malformed;
        default: ++stats.other_errors; return SrtpStatus::Error;
        }
    }

    enum class Op { ProtectRtp, ProtectRtcp, UnprotectRtp, UnprotectRtcp };

    SrtpResult run(Op op, std::span<uint8_t> buffer, size_t length) {
        const bool protect = op == Op::ProtectRtp || op == Op::ProtectRtcp;
        const bool rtp = op == Op::ProtectRtp || op == Op::UnprotectRtp;
        if (length > buffer.size() || length < (rtp ? kMinRtp : kMinRtcp) || length > INT_MAX / 2) {
            ++stats.malformed;
            return {SrtpStatus::Malformed, 0};
        }
        if (protect && buffer.size() - length < kSrtpMaxTrailer) {
            ++stats.other_errors;
            return {SrtpStatus::BufferTooSmall, 0};
        }
        int len = static_cast<int>(length);
        srtp_err_status_t st = srtp_err_status_fail;
        switch (op) {
        case Op::ProtectRtp: st = srtp_protect(send, buffer.data(), &len); break;
        case Op::ProtectRtcp: st = srtp_protect_rtcp(send, buffer.data(), &len); break;
        case Op::UnprotectRtp: st = srtp_unprotect(receive, buffer.data(), &len); break;
        case Op::UnprotectRtcp: st = srtp_unprotect_rtcp(receive, buffer.data(), &len); break;
        }
        const SrtpStatus status = status_of(st);
        if (status != SrtpStatus::Ok || len < 0 || static_cast<size_t>(len) > buffer.size()) {
            if (status == SrtpStatus::Ok) ++stats.other_errors;
            return {status == SrtpStatus::Ok ? SrtpStatus::Error : status, 0};
        }
        switch (op) {
        case Op::ProtectRtp: ++stats.rtp_protected; break;
        case Op::ProtectRtcp: ++stats.rtcp_protected; break;
        case Op::UnprotectRtp: ++stats.rtp_unprotected; break;
        case Op::UnprotectRtcp: ++stats.rtcp_unprotected; break;
        }
        return {SrtpStatus::Ok, static_cast<size_t>(len)};
    }
};

namespace {

Result<srtp_t> make_session(SrtpProfile profile, ByteView key, ByteView salt, bool outbound, size_t window) {
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    if (profile == SrtpProfile::AeadAes128Gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    // libsrtp takes the master key followed by the master salt.
    std::vector<uint8_t> key_salt(key.begin(), key.end());
    key_salt.insert(key_salt.end(), salt.begin(), salt.end());
    policy.key = key_salt.data();
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.window_size = window;
    // Packets resent unchanged (NACK without RTX) must not fail on the sending side.
    policy.allow_repeat_tx = outbound ? 1 : 0;
    policy.next = nullptr;
    srtp_t session = nullptr;
    const srtp_err_status_t st = srtp_create(&session, &policy);
    OPENSSL_cleanse(key_salt.data(), key_salt.size());
    if (st != srtp_err_status_ok) {
        std::string why = "srtp_create failed (libsrtp error " + std::to_string(static_cast<int>(st)) + ")";
        if (st == srtp_err_status_bad_param && profile == SrtpProfile::AeadAes128Gcm)
            why += "; is libsrtp built with AES-GCM (OpenSSL) support?";
        return make_error(ErrorCategory::OperationError, "srtp", why);
    }
    return session;
}

} // namespace

Result<SrtpSession> SrtpSession::create(SrtpProfile profile, ByteView send_key, ByteView send_salt,
                                        ByteView receive_key, ByteView receive_salt, size_t replay_window) {
    const size_t kl = srtp_master_key_size(profile), sl = srtp_master_salt_size(profile);
    if (send_key.size() != kl || receive_key.size() != kl || send_salt.size() != sl || receive_salt.size() != sl)
        return make_error(ErrorCategory::InvalidAccessError, "srtp",
                          std::string("SRTP key or salt size does not fit ") + std::string(to_string(profile)));
    if (replay_window < 64 || replay_window >= 0x8000)
        return make_error(ErrorCategory::RangeError, "srtp", "the SRTP replay window must be within 64..32767");
    auto lib = library_acquire();
    if (!lib) return lib.error();
    auto impl = std::make_unique<Impl>();
    impl->library_held = true;
    impl->profile = profile;
    auto send = make_session(profile, send_key, send_salt, true, replay_window);
    if (!send) return send.error();
    impl->send = *send;
    auto receive = make_session(profile, receive_key, receive_salt, false, replay_window);
    if (!receive) return receive.error();
    impl->receive = *receive;
    return SrtpSession(std::move(impl));
}

Result<SrtpSession> SrtpSession::create(const SrtpKeys& keys, Role local_role, size_t replay_window) {
    const bool client = local_role == Role::Client;
    return create(keys.profile, client ? keys.client_key : keys.server_key,
                  client ? keys.client_salt : keys.server_salt, client ? keys.server_key : keys.client_key,
                  client ? keys.server_salt : keys.client_salt, replay_window);
}

SrtpSession::SrtpSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SrtpSession::SrtpSession(SrtpSession&&) noexcept = default;
SrtpSession& SrtpSession::operator=(SrtpSession&&) noexcept = default;
SrtpSession::~SrtpSession() = default;

SrtpProfile SrtpSession::profile() const { return impl_->profile; }
const SrtpStats& SrtpSession::stats() const { return impl_->stats; }

SrtpResult SrtpSession::protect_rtp(std::span<uint8_t> buffer, size_t length) {
    return impl_->run(Impl::Op::ProtectRtp, buffer, length);
}
SrtpResult SrtpSession::protect_rtcp(std::span<uint8_t> buffer, size_t length) {
    return impl_->run(Impl::Op::ProtectRtcp, buffer, length);
}
SrtpResult SrtpSession::unprotect_rtp(std::span<uint8_t> buffer, size_t length) {
    return impl_->run(Impl::Op::UnprotectRtp, buffer, length);
}
SrtpResult SrtpSession::unprotect_rtcp(std::span<uint8_t> buffer, size_t length) {
    return impl_->run(Impl::Op::UnprotectRtcp, buffer, length);
}

} // namespace rtcpp::dtls
