// The OpenSSL side of rtcpp::Certificate, for the DTLS module only.
#pragma once

#include <mutex>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <rtcpp/certificate.hpp>
#include <rtcpp/result.hpp>

namespace rtcpp {

struct Certificate::Impl {
    X509* x509 = nullptr;
    EVP_PKEY* key = nullptr;

    // One SSL_CTX per certificate, built on first use and shared by every DtlsTransport using this certificate:
    // building a context costs far more than an SSL object, and its settings are the same for all of them.
    mutable std::mutex ctx_mutex;
    mutable SSL_CTX* ctx = nullptr;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl();
};

namespace dtls {

/// The DTLS context for this certificate (owned by the certificate; do not free).
Result<SSL_CTX*> ssl_context_for(const Certificate& certificate);

/// Fingerprint of a certificate.
Fingerprint fingerprint_of(X509* certificate, HashAlgorithm algorithm);

/// The text of the errors on OpenSSL's error queue (emptied), "; "-separated; `fallback` if there are none.
std::string drain_openssl_errors(std::string_view fallback);

} // namespace dtls
} // namespace rtcpp
