#include "stun/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace rtcpp::stun {

struct TlsClientStream::Impl {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr; // network -> SSL (owned by ssl)
    BIO* wbio = nullptr; // SSL -> network (owned by ssl)
    ~Impl() {
        if (ssl) SSL_free(ssl);
        if (ctx) SSL_CTX_free(ctx);
    }
};

namespace {
std::string openssl_error(const char* what) {
    std::string out = what;
    unsigned long e = ERR_get_error();
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += ": ";
        out += buf;
    }
    ERR_clear_error();
    return out;
}
} // namespace

TlsClientStream::TlsClientStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientStream::~TlsClientStream() = default;

Result<std::unique_ptr<TlsClientStream>> TlsClientStream::create(const TlsClientConfig& config) {
    auto impl = std::make_unique<Impl>();
    impl->ctx = SSL_CTX_new(TLS_client_method());
    if (!impl->ctx) return make_error(ErrorCategory::OperationError, "turn", openssl_error("SSL_CTX_new failed"));
    SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);
    if (config.verify_peer) {
        SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER, nullptr);
        const int loaded = config.ca_file.empty()
                               ? SSL_CTX_set_default_verify_paths(impl->ctx)
                               : SSL_CTX_load_verify_locations(impl->ctx, config.ca_file.c_str(), nullptr);
        if (loaded != 1)
            return make_error(ErrorCategory::OperationError, "turn", openssl_error("cannot load trust anchors"));
    } else {
        SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_NONE, nullptr);
    }
    impl->ssl = SSL_new(impl->ctx);
    if (!impl->ssl) return make_error(ErrorCategory::OperationError, "turn", openssl_error("SSL_new failed"));
    impl->rbio = BIO_new(BIO_s_mem());
    impl->wbio = BIO_new(BIO_s_mem());
    if (!impl->rbio || !impl->wbio) {
        BIO_free(impl->rbio);
        BIO_free(impl->wbio);
        return make_error(ErrorCategory::OperationError, "turn", "BIO_new failed");
    }
    // An empty read BIO means "no data yet", not end of stream.
    BIO_set_mem_eof_return(impl->rbio, -1);
    SSL_set_bio(impl->ssl, impl->rbio, impl->wbio);
    if (!config.server_name.empty()) {
        SSL_set_tlsext_host_name(impl->ssl, config.server_name.c_str());
        if (config.verify_peer) SSL_set1_host(impl->ssl, config.server_name.c_str());
    }
    SSL_set_connect_state(impl->ssl);
    return std::unique_ptr<TlsClientStream>(new TlsClientStream(std::move(impl)));
}

void TlsClientStream::start() {
    (void)pump();
}

Result<void> TlsClientStream::pump() {
    if (failed_) return make_error(ErrorCategory::NetworkError, "turn", "TLS session failed");
    SSL* ssl = impl_->ssl;
    if (!handshake_done_) {
        const int rc = SSL_do_handshake(ssl);
        if (rc == 1) {
            handshake_done_ = true;
        } else {
            const int err = SSL_get_error(ssl, rc);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                failed_ = true;
                std::string why = openssl_error("TLS handshake with the TURN server failed");
                const long verify = SSL_get_verify_result(ssl);
                if (verify != X509_V_OK) {
                    why += " (certificate: ";
                    why += X509_verify_cert_error_string(verify);
                    why += ")";
                }
                return make_error(ErrorCategory::NetworkError, "turn", why);
            }
            return {};
        }
    }
    if (!pending_plain_out_.empty()) {
        const int rc = SSL_write(ssl, pending_plain_out_.data(), static_cast<int>(pending_plain_out_.size()));
        if (rc > 0) {
            pending_plain_out_.erase(pending_plain_out_.begin(), pending_plain_out_.begin() + rc);
        } else {
            const int err = SSL_get_error(ssl, rc);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                failed_ = true;
                return make_error(ErrorCategory::NetworkError, "turn", openssl_error("TLS write failed"));
            }
        }
    }
    uint8_t buf[16384];
    for (;;) {
        const int rc = SSL_read(ssl, buf, sizeof buf);
        if (rc > 0) {
            plain_in_.insert(plain_in_.end(), buf, buf + rc);
            continue;
        }
        const int err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        if (err == SSL_ERROR_ZERO_RETURN) break; // close_notify from the server: nothing more will come
        failed_ = true;
        return make_error(ErrorCategory::NetworkError, "turn", openssl_error("TLS read failed"));
    }
    return {};
}

Result<void> TlsClientStream::handle_ciphertext(ByteView bytes) {
    if (failed_) return make_error(ErrorCategory::NetworkError, "turn", "TLS session failed");
    if (!bytes.empty()) BIO_write(impl_->rbio, bytes.data(), static_cast<int>(bytes.size()));
    return pump();
}

void TlsClientStream::write(ByteView plaintext) {
    pending_plain_out_.insert(pending_plain_out_.end(), plaintext.begin(), plaintext.end());
    if (handshake_done_) (void)pump();
}

void TlsClientStream::shutdown() {
    if (handshake_done_ && !failed_) SSL_shutdown(impl_->ssl);
}

std::vector<uint8_t> TlsClientStream::take_ciphertext() {
    std::vector<uint8_t> out;
    const size_t pending = BIO_ctrl_pending(impl_->wbio);
    if (pending == 0) return out;
    out.resize(pending);
    const int n = BIO_read(impl_->wbio, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
}

std::vector<uint8_t> TlsClientStream::take_plaintext() {
    std::vector<uint8_t> out;
    out.swap(plain_in_);
    return out;
}

} // namespace rtcpp::stun
