#include "dtls/certificate_impl.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <memory>

namespace rtcpp {

namespace {

const EVP_MD* digest_for(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha1: return EVP_sha1();
    case HashAlgorithm::Sha256: return EVP_sha256();
    case HashAlgorithm::Sha384: return EVP_sha384();
    case HashAlgorithm::Sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
struct NameFree {
    void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};

Error cert_error(std::string what) {
    return make_error(ErrorCategory::OperationError, "dtls", dtls::drain_openssl_errors(what));
}

std::string bio_to_string(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == nullptr) return {};
    return std::string(data, static_cast<size_t>(len));
}

} // namespace

Certificate::Impl::~Impl() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
    X509_free(x509);
    EVP_PKEY_free(key);
}

Result<Certificate> Certificate::generate(std::string_view common_name) {
    ERR_clear_error();
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
    if (!key) return cert_error("cannot generate an ECDSA P-256 key");

    std::unique_ptr<X509, X509Free> x509(X509_new());
    if (!x509) return cert_error("X509_new failed");
    if (X509_set_version(x509.get(), 2) != 1) return cert_error("cannot set the certificate version");

    // A random positive 63-bit serial: browsers reject duplicates from one issuer in some code paths.
    uint8_t serial_bytes[8];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return cert_error("RAND_bytes failed");
    serial_bytes[0] &= 0x7f;
    std::unique_ptr<BIGNUM, BnFree> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x509.get())) == nullptr)
        return cert_error("cannot set the certificate serial number");

    // Backdated a day against clock skew between the peers; 30 days like the browsers' own certificates.
    if (X509_gmtime_adj(X509_getm_notBefore(x509.get()), -24L * 3600) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(x509.get()), 30L * 24 * 3600) == nullptr)
        return cert_error("cannot set the certificate validity");

    std::unique_ptr<X509_NAME, NameFree> name(X509_NAME_new());
    std::string cn(common_name.empty() ? std::string_view("rtcpp") : common_name);
    if (!name ||
        X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                   -1, -1, 0) != 1 ||
        X509_set_subject_name(x509.get(), name.get()) != 1 || X509_set_issuer_name(x509.get(), name.get()) != 1)
        return cert_error("cannot set the certificate name");
    if (X509_set_pubkey(x509.get(), key.get()) != 1) return cert_error("cannot set the certificate key");
    if (X509_sign(x509.get(), key.get(), EVP_sha256()) <= 0) return cert_error("cannot sign the certificate");

    auto impl = std::make_shared<Impl>();
    impl->x509 = x509.release();
    impl->key = key.release();
    return Certificate(std::move(impl));
}

Result<Certificate> Certificate::process_default() {
    static std::mutex mutex;
    // Deliberately never destroyed: a static destructor could run after OpenSSL's own exit-time cleanup.
    static const Certificate* shared = nullptr;
    std::lock_guard lock(mutex);
    if (shared != nullptr) return *shared;
    auto cert = generate("rtcpp");
    if (!cert) return cert.error(); // not cached: a later call may succeed
    shared = new Certificate(*cert);
    return *shared;
}

Result<Certificate> Certificate::from_pem(std::string_view certificate_pem, std::string_view private_key_pem) {
    ERR_clear_error();
    std::unique_ptr<BIO, BioFree> cbio(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
    std::unique_ptr<BIO, BioFree> kbio(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
    if (!cbio || !kbio) return cert_error("out of memory");
    std::unique_ptr<X509, X509Free> x509(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
    if (!x509)
        return make_error(ErrorCategory::InvalidAccessError, "dtls",
                          dtls::drain_openssl_errors("the certificate PEM does not parse"));
    std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
    if (!key)
        return make_error(ErrorCategory::InvalidAccessError, "dtls",
                          dtls::drain_openssl_errors("the private key PEM does not parse"));
    if (X509_check_private_key(x509.get(), key.get()) != 1)
        return make_error(ErrorCategory::InvalidAccessError, "dtls",
                          dtls::drain_openssl_errors("the private key does not match the certificate"));
    auto impl = std::make_shared<Impl>();
    impl->x509 = x509.release();
    impl->key = key.release();
    return Certificate(std::move(impl));
}

Fingerprint Certificate::fingerprint(HashAlgorithm algorithm) const {
    return dtls::fingerprint_of(impl_->x509, algorithm);
}

std::string Certificate::certificate_pem() const {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), impl_->x509) != 1) return {};
    return bio_to_string(bio.get());
}

std::string Certificate::private_key_pem() const {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
    return bio_to_string(bio.get());
}

namespace dtls {

Fingerprint fingerprint_of(X509* certificate, HashAlgorithm algorithm) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (certificate == nullptr || X509_digest(certificate, digest_for(algorithm), md, &len) != 1) return Fingerprint{};
    return Fingerprint::from_digest(algorithm, std::span<const uint8_t>(md, len)).value_or(Fingerprint{});
}

std::string drain_openssl_errors(std::string_view fallback) {
    std::string text;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    if (text.empty()) return std::string(fallback);
    return std::string(fallback) + " (" + text + ")";
}

} // namespace dtls
} // namespace rtcpp
