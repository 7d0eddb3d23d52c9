#include "dtls/dtls_transport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <climits>
#include <deque>

#include <rtcpp/log.hpp>

#include "dtls/certificate_impl.hpp"
#include "dtls/demux.hpp"

// Retransmission and time
// -----------------------
// OpenSSL 3.0 times DTLS retransmissions with the wall clock (gettimeofday), and checks that clock on every read,
// not only in DTLSv1_handle_timeout. DTLS_set_timer_cb lets us choose the timeout *durations* (our own initial
// value and backoff), but not the clock: a callback returning tiny durations would make every SSL read retransmit
// (and, at OpenSSL's 12-timeout limit, fail). So the core keeps its own deadline in core time, set from inside the
// timer callback (now + our backoff), and when it passes:
//   - if OpenSSL agrees the flight timed out, DTLSv1_handle_timeout retransmits it properly (new record sequence
//     numbers) - the normal case when core time is the wall clock;
//   - if the wall clock kept up with core time since OpenSSL started its timer and is only a little behind, we
//     wait for it;
//   - otherwise core time runs ahead of the wall clock (a simulation or a test's virtual clock): we resend the
//     datagrams of the flight byte for byte, as we recorded them from the output BIO. The peer drops any record it
//     already has as a replay and takes the ones it lacks, so lost flights are recovered without the wall clock.
// A resent copy of a final flight (the client's Finished) is dropped by the server as a replay, so the server
// would never learn that its own last flight (ChangeCipherSpec, Finished) was lost. Hence the one extra rule: once
// connected, a datagram carrying handshake records from the peer makes us resend our final flight.
// The whole handshake is also capped in core time (DtlsConfig::handshake_timeout).

namespace rtcpp::dtls {

namespace {

constexpr size_t kMaxRecordPlaintext = 16384;
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";
constexpr size_t kMaxFreeBuffers = 64;

// SSL_get_error needs an empty error queue before each call. Clearing an already empty queue still costs a tenth of
// the per-record CPU in OpenSSL 3, so look first.
inline void clear_errors() {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

bool is_certificate_alert(int description) {
    // bad_certificate .. certificate_unknown, unknown_ca, access_denied
    return (description >= 42 && description <= 46) || description == 48 || description == 49;
}

} // namespace

std::optional<Role> role_from_setup(std::string_view local_setup) {
    if (local_setup == "active") return Role::Client;
    if (local_setup == "passive") return Role::Server;
    return std::nullopt;
}

std::string_view to_string(DtlsState state) {
    switch (state) {
    case DtlsState::New: return "new";
    case DtlsState::Connecting: return "connecting";
    case DtlsState::Connected: return "connected";
    case DtlsState::Closed: return "closed";
    case DtlsState::Failed: return "failed";
    }
    return "new";
}

std::string_view to_string(SrtpProfile profile) {
    switch (profile) {
    case SrtpProfile::Aes128CmSha1_80: return "SRTP_AES128_CM_SHA1_80";
    case SrtpProfile::AeadAes128Gcm: return "SRTP_AEAD_AES_128_GCM";
    }
    return "";
}

std::optional<SrtpProfile> srtp_profile_from_id(uint16_t id) {
    if (id == static_cast<uint16_t>(SrtpProfile::Aes128CmSha1_80)) return SrtpProfile::Aes128CmSha1_80;
    if (id == static_cast<uint16_t>(SrtpProfile::AeadAes128Gcm)) return SrtpProfile::AeadAes128Gcm;
    return std::nullopt;
}

struct DtlsTransport::Impl {
    explicit Impl(DtlsConfig c) : config(std::move(c)) {}
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (ssl != nullptr) SSL_free(ssl); // frees both BIOs
    }

    // An application data record waiting in the event queue owns its buffer.
    using QueuedEvent = std::variant<DtlsConnected, std::vector<uint8_t>, DtlsClosed, DtlsFailed>;

    DtlsConfig config;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr;
    DtlsState state = DtlsState::New;
    DtlsStats stats;

    Timestamp now = Timestamp::zero();
    bool have_now = false;
    Timestamp handshake_deadline = Timestamp::plus_infinity();
    Timestamp retransmit_deadline = Timestamp::plus_infinity();
    TimeDelta backoff;
    // When OpenSSL last (re)started its wall-clock timer, in core time, and the duration it was given.
    Timestamp openssl_timer_started = Timestamp::plus_infinity();
    TimeDelta openssl_timer_duration;

    // Datagrams of our current flight, recorded from the output BIO, for resending in core time.
    bool recording_flight = false;
    std::vector<std::vector<uint8_t>> flight;
    // The flight written by the call that completed our handshake (the server's ChangeCipherSpec + Finished).
    std::vector<std::vector<uint8_t>> final_flight;
    std::optional<Timestamp> last_final_flight_resend;
    uint64_t datagrams_written = 0;

    std::optional<Error> pending_error; // set by callbacks (certificate check) for the failure that follows
    int received_alert = -1;
    int sent_alert = -1;

    std::deque<std::vector<uint8_t>> out_queue;
    std::vector<uint8_t> out_current;
    std::deque<QueuedEvent> events;
    std::vector<uint8_t> event_current;
    std::vector<std::vector<uint8_t>> free_buffers;

    std::vector<uint8_t> take_buffer() {
        if (free_buffers.empty()) return {};
        auto b = std::move(free_buffers.back());
        free_buffers.pop_back();
        b.clear();
        return b;
    }
    void recycle(std::vector<uint8_t>&& b) {
        if (b.capacity() != 0 && free_buffers.size() < kMaxFreeBuffers) free_buffers.push_back(std::move(b));
    }
    void queue_datagram(ByteView bytes) {
        auto b = take_buffer();
        b.assign(bytes.begin(), bytes.end());
        out_queue.push_back(std::move(b));
    }

    void advance(Timestamp t) {
        if (!have_now || t > now) now = t; // time going backwards is ignored
        have_now = true;
    }

    // --- OpenSSL callbacks -------------------------------------------------------------------------------------

    void on_written(ByteView datagram) {
        ++datagrams_written;
        queue_datagram(datagram);
        if (recording_flight && state == DtlsState::Connecting) flight.emplace_back(datagram.begin(), datagram.end());
    }

    unsigned int on_timer(unsigned int previous_us) {
        if (previous_us == 0) {
            // A new flight starts: OpenSSL calls this before writing its first message.
            backoff = config.initial_retransmit_timeout;
            flight.clear();
            recording_flight = true;
        } else {
            // OpenSSL is retransmitting the flight itself; what we recorded still stands for it.
            backoff = std::min(backoff * 2, config.max_retransmit_timeout);
            recording_flight = false;
        }
        retransmit_deadline = now + backoff;
        openssl_timer_started = now;
        openssl_timer_duration = backoff;
        return static_cast<unsigned int>(std::clamp<int64_t>(backoff.us(), 1, UINT_MAX));
    }

    int on_verify(X509_STORE_CTX* store) {
        X509* cert = X509_STORE_CTX_get0_cert(store);
        if (cert == nullptr) {
            pending_error = make_error(ErrorCategory::SecurityError, "dtls", "the peer presented no certificate");
            X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
            return 0;
        }
        const auto& expected = config.remote_fingerprints;
        if (expected.empty()) {
            pending_error = make_error(ErrorCategory::SecurityError, "dtls",
                                       "no remote certificate fingerprint is known (the remote description carried "
                                       "no a=fingerprint), so the peer cannot be authenticated; its certificate is " +
                                           fingerprint_of(cert, HashAlgorithm::Sha256).to_string());
            X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
            return 0;
        }
        for (const auto& fp : expected)
            if (fingerprint_of(cert, fp.algorithm()) == fp) return 1;
        pending_error = make_error(ErrorCategory::SecurityError, "dtls",
                                   "the remote certificate fingerprint " +
                                       fingerprint_of(cert, expected.front().algorithm()).to_string() +
                                       " does not match the one in the remote description, " +
                                       expected.front().to_string());
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }

    void on_alert(int where, int value) {
        if (where & SSL_CB_READ)
            received_alert = value;
        else
            sent_alert = value;
    }

    // --- state machine ------------------------------------------------------------------------------------------

    void fail(Error error) {
        if (state == DtlsState::Failed || state == DtlsState::Closed) return;
        RTCPP_LOG(LogLevel::Info, "dtls", "failed: " << error.message);
        state = DtlsState::Failed;
        handshake_deadline = Timestamp::plus_infinity();
        retransmit_deadline = Timestamp::plus_infinity();
        flight.clear();
        final_flight.clear();
        events.emplace_back(DtlsFailed{std::move(error)});
    }

    Error failure_from_openssl(int ssl_error, std::string_view what) {
        if (pending_error) {
            clear_errors();
            return *pending_error;
        }
        auto alert_text = [](int value) {
            return std::string(SSL_alert_desc_string_long(value)) + " (" + std::to_string(value & 0xff) + ")";
        };
        if (received_alert >= 0 && (received_alert >> 8) == SSL3_AL_FATAL) {
            const int desc = received_alert & 0xff;
            return make_error(is_certificate_alert(desc) ? ErrorCategory::SecurityError : ErrorCategory::OperationError,
                              "dtls",
                              drain_openssl_errors(std::string(what) + ": the peer sent a fatal alert: " +
                                                   alert_text(received_alert)));
        }
        if (ssl_error == SSL_ERROR_ZERO_RETURN)
            return make_error(ErrorCategory::OperationError, "dtls",
                              std::string(what) + ": the peer closed the connection (close_notify)");
        std::string text(what);
        if (sent_alert >= 0 && (sent_alert >> 8) == SSL3_AL_FATAL)
            text += ": we sent a fatal alert: " + alert_text(sent_alert);
        return make_error(ErrorCategory::OperationError, "dtls", drain_openssl_errors(text));
    }

    void start(Timestamp t) {
        advance(t);
        if (state != DtlsState::New) return;
        state = DtlsState::Connecting;
        handshake_deadline = now + config.handshake_timeout;
        if (config.role == Role::Client) drive_handshake();
        sync_timer();
    }

    void drive_handshake() {
        const uint64_t written_before = datagrams_written;
        clear_errors();
        const int r = SSL_do_handshake(ssl);
        if (r == 1) {
            on_handshake_done(static_cast<size_t>(datagrams_written - written_before));
            return;
        }
        const int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        fail(failure_from_openssl(err, "DTLS handshake failed"));
    }

    void on_handshake_done(size_t written_by_last_call) {
        state = DtlsState::Connected;
        handshake_deadline = Timestamp::plus_infinity();
        retransmit_deadline = Timestamp::plus_infinity();
        recording_flight = false;
        flight.clear();
        final_flight.clear();
        // Only the side that sends the handshake's last flight (the server in a full handshake, the client in a
        // resumed one) keeps it for the peer. The other side may also have written in its last call - OpenSSL
        // retransmits from inside SSL_do_handshake when its wall-clock timer has run out - but resending that
        // when the peer's last flight shows up again would make each side answer the other's copies, and with
        // flights of several datagrams the copies would multiply without end.
        const bool sends_last_flight = (config.role == Role::Server) != (SSL_session_reused(ssl) == 1);
        const size_t n = sends_last_flight ? std::min(written_by_last_call, out_queue.size()) : 0;
        for (size_t i = out_queue.size() - n; i < out_queue.size(); ++i) final_flight.push_back(out_queue[i]);

        DtlsConnected connected;
        connected.remote_fingerprint = fingerprint_of(SSL_get0_peer_certificate(ssl), HashAlgorithm::Sha256);
        if (const char* cipher = SSL_get_cipher_name(ssl)) connected.cipher = cipher;
        if (!config.srtp_profiles.empty()) {
            if (const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl)) {
                auto profile = srtp_profile_from_id(static_cast<uint16_t>(p->id));
                if (!profile) {
                    fail(make_error(ErrorCategory::OperationError, "dtls",
                                    std::string("the peer selected an SRTP profile we did not offer: ") + p->name));
                    return;
                }
                auto keys = export_srtp_keys(*profile);
                if (!keys) {
                    fail(keys.error());
                    return;
                }
                connected.srtp = std::move(*keys);
            }
        }
        RTCPP_LOG(LogLevel::Debug, "dtls", "connected, cipher " << connected.cipher);
        events.emplace_back(std::move(connected));
        read_application_data();
    }

    Result<SrtpKeys> export_srtp_keys(SrtpProfile profile) {
        // RFC 5764 §4.2: client_write_SRTP_master_key | server_write_SRTP_master_key |
        //                client_write_SRTP_master_salt | server_write_SRTP_master_salt
        const size_t kl = srtp_master_key_size(profile);
        const size_t sl = srtp_master_salt_size(profile);
        std::vector<uint8_t> material(2 * (kl + sl));
        static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
        clear_errors();
        if (SSL_export_keying_material(ssl, material.data(), material.size(), kLabel, sizeof kLabel - 1, nullptr, 0,
                                       0) != 1)
            return make_error(ErrorCategory::OperationError, "dtls",
                              drain_openssl_errors("exporting the SRTP keying material failed"));
        SrtpKeys keys;
        keys.profile = profile;
        auto at = material.begin();
        keys.client_key.assign(at, at + static_cast<ptrdiff_t>(kl));
        at += static_cast<ptrdiff_t>(kl);
        keys.server_key.assign(at, at + static_cast<ptrdiff_t>(kl));
        at += static_cast<ptrdiff_t>(kl);
        keys.client_salt.assign(at, at + static_cast<ptrdiff_t>(sl));
        at += static_cast<ptrdiff_t>(sl);
        keys.server_salt.assign(at, at + static_cast<ptrdiff_t>(sl));
        OPENSSL_cleanse(material.data(), material.size());
        return keys;
    }

    void read_application_data() {
        // Shared by all transports of a thread rather than 16 KiB in each of thousands of connections.
        thread_local std::array<uint8_t, kMaxRecordPlaintext> read_buffer;
        while (state == DtlsState::Connected) {
            clear_errors();
            const int r = SSL_read(ssl, read_buffer.data(), static_cast<int>(read_buffer.size()));
            if (r > 0) {
                ++stats.application_records_received;
                // The peer is past its handshake: our final flight reached it.
                final_flight.clear();
                auto b = take_buffer();
                b.assign(read_buffer.begin(), read_buffer.begin() + r);
                events.emplace_back(std::move(b));
                continue;
            }
            const int err = SSL_get_error(ssl, r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
            if (err == SSL_ERROR_ZERO_RETURN) {
                RTCPP_LOG(LogLevel::Debug, "dtls", "peer sent close_notify");
                state = DtlsState::Closed;
                events.emplace_back(DtlsClosed{});
                clear_errors();
                (void)SSL_shutdown(ssl); // our own close_notify in reply (RFC 5246 §7.2.1)
                return;
            }
            fail(failure_from_openssl(err, "DTLS connection failed"));
            return;
        }
    }

    // Keeps our retransmission deadline in step with whether OpenSSL awaits an answer to a flight.
    void sync_timer() {
        if (state != DtlsState::Connecting) {
            retransmit_deadline = Timestamp::plus_infinity();
            return;
        }
        timeval tv{};
        if (DTLSv1_get_timeout(ssl, &tv) != 1) {
            retransmit_deadline = Timestamp::plus_infinity();
            recording_flight = false;
        } else if (!retransmit_deadline.is_finite()) {
            retransmit_deadline = now + (backoff.is_zero() ? config.initial_retransmit_timeout : backoff);
        }
    }

    void handle_datagram(Timestamp t, ByteView datagram) {
        advance(t);
        ++stats.datagrams_received;
        if (state == DtlsState::Closed || state == DtlsState::Failed) {
            ++stats.datagrams_dropped;
            return;
        }
        const DtlsRecordScan scan = scan_dtls_records(datagram);
        if (!scan.well_formed) {
            ++stats.datagrams_dropped;
            return;
        }
        if (state == DtlsState::New) start(t);
        if (state == DtlsState::Connected && scan.has_handshake && !final_flight.empty() &&
            (!last_final_flight_resend || now - *last_final_flight_resend >= config.initial_retransmit_timeout / 2)) {
            // The peer resends its last flight: ours (below) may have been lost. Once per retransmission of the
            // peer's flight, not once per datagram of it.
            ++stats.replayed_flights;
            last_final_flight_resend = now;
            for (const auto& d : final_flight) queue_datagram(d);
        }
        if (BIO_write(rbio, datagram.data(), static_cast<int>(datagram.size())) != static_cast<int>(datagram.size())) {
            ++stats.datagrams_dropped;
            (void)BIO_reset(rbio);
            return;
        }
        if (state == DtlsState::Connecting)
            drive_handshake();
        else if (state == DtlsState::Connected)
            read_application_data();
        // One BIO_write per datagram: never let a leftover merge with the next datagram.
        if (BIO_ctrl_pending(rbio) > 0) (void)BIO_reset(rbio);
        sync_timer();
    }

    void handle_timeout(Timestamp t) {
        advance(t);
        if (state != DtlsState::Connecting) return;
        if (now >= handshake_deadline) {
            fail(make_error(ErrorCategory::TimeoutError, "dtls",
                            "the DTLS handshake did not complete within " +
                                std::to_string(config.handshake_timeout.ms()) + " ms"));
            return;
        }
        if (now < retransmit_deadline) return;
        timeval tv{};
        if (DTLSv1_get_timeout(ssl, &tv) != 1) {
            retransmit_deadline = Timestamp::plus_infinity();
            return;
        }
        const TimeDelta wall_left = TimeDelta::seconds(tv.tv_sec) + TimeDelta::micros(tv.tv_usec);
        if (wall_left.is_zero()) {
            clear_errors();
            const int r = DTLSv1_handle_timeout(ssl);
            if (r < 0) {
                fail(make_error(ErrorCategory::TimeoutError, "dtls",
                                drain_openssl_errors("the DTLS peer stopped answering (retransmission limit)")));
                return;
            }
            if (r > 0) {
                ++stats.retransmits;
                sync_timer();
                return;
            }
            // 0: OpenSSL saw no expired timer after all; fall through to our own resend.
        } else {
            // Compare how far each clock moved since OpenSSL started its timer. If the wall clock kept up with core
            // time (at least half of it), it is only a little behind: wait for OpenSSL.
            const TimeDelta wall_elapsed = openssl_timer_duration - wall_left;
            const TimeDelta core_elapsed = now - openssl_timer_started;
            if (wall_elapsed * 2 >= core_elapsed) {
                retransmit_deadline = now + wall_left;
                return;
            }
        }
        ++stats.replayed_flights;
        for (const auto& d : flight) queue_datagram(d);
        backoff = std::min(backoff * 2, config.max_retransmit_timeout);
        retransmit_deadline = now + backoff;
    }

    Result<void> send(ByteView data) {
        if (state != DtlsState::Connected)
            return make_error(ErrorCategory::InvalidStateError, "dtls",
                              std::string("cannot send application data while ") + std::string(to_string(state)));
        if (data.size() > kMaxRecordPlaintext)
            return make_error(ErrorCategory::RangeError, "dtls",
                              "application data of " + std::to_string(data.size()) +
                                  " bytes exceeds the DTLS record limit of 16384");
        if (data.empty()) return {};
        clear_errors();
        const int r = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
        if (r > 0) {
            ++stats.application_records_sent;
            return {};
        }
        const int err = SSL_get_error(ssl, r);
        Error e = failure_from_openssl(err, "DTLS write failed");
        fail(e);
        return e;
    }

    void close() {
        if (state == DtlsState::Connecting || state == DtlsState::Connected) {
            clear_errors();
            (void)SSL_shutdown(ssl);
            clear_errors();
        }
        if (state != DtlsState::Failed) state = DtlsState::Closed;
        handshake_deadline = Timestamp::plus_infinity();
        retransmit_deadline = Timestamp::plus_infinity();
        flight.clear();
        final_flight.clear();
    }
};

namespace {

DtlsTransport::Impl* impl_of(const SSL* ssl) { return static_cast<DtlsTransport::Impl*>(SSL_get_app_data(ssl)); }

int bio_write(BIO* bio, const char* data, int len) {
    auto* impl = static_cast<DtlsTransport::Impl*>(BIO_get_data(bio));
    if (impl != nullptr && len > 0)
        impl->on_written(ByteView(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
    return len;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1; // every write already is a datagram
    case BIO_CTRL_DGRAM_QUERY_MTU: return 0;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING: return 0;
    default: return 0;
    }
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    BIO_set_data(bio, nullptr);
    return 1;
}

int bio_destroy(BIO* bio) {
    BIO_set_data(bio, nullptr);
    return 1;
}

BIO_METHOD* datagram_bio_method() {
    // Created once, kept for the life of the process.
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rtcpp datagram out");
        if (m == nullptr) return m;
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
        BIO_meth_set_destroy(m, bio_destroy);
        return m;
    }();
    return method;
}

unsigned int timer_callback(SSL* ssl, unsigned int previous_us) {
    auto* impl = impl_of(ssl);
    if (impl == nullptr) return previous_us == 0 ? 1000000 : previous_us * 2;
    return impl->on_timer(previous_us);
}

int verify_callback(X509_STORE_CTX* store, void*) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* impl = ssl ? impl_of(ssl) : nullptr;
    if (impl == nullptr) return 0;
    return impl->on_verify(store);
}

void info_callback(const SSL* ssl, int where, int value) {
    if (!(where & SSL_CB_ALERT)) return;
    if (auto* impl = impl_of(ssl)) impl->on_alert(where, value);
}

Error setup_error(std::string what) {
    return make_error(ErrorCategory::OperationError, "dtls", drain_openssl_errors(what));
}

} // namespace

Result<SSL_CTX*> ssl_context_for(const Certificate& certificate) {
    const auto& impl = certificate.impl();
    std::lock_guard lock(impl.ctx_mutex);
    if (impl.ctx != nullptr) return impl.ctx;
    clear_errors();
    SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
    if (ctx == nullptr) return setup_error("SSL_CTX_new failed");
    auto bad = [&](const char* what) {
        SSL_CTX_free(ctx);
        return setup_error(what);
    };
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
        return bad("cannot restrict the context to DTLS 1.2");
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (SSL_CTX_set_cipher_list(ctx, kCiphers) != 1) return bad("no usable DTLS cipher suite");
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) return bad("cannot set the key exchange groups");
    if (SSL_CTX_use_certificate(ctx, impl.x509) != 1 || SSL_CTX_use_PrivateKey(ctx, impl.key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return bad("the certificate or key is not usable for DTLS");
    // Self-signed certificates: trust comes from the SDP fingerprint, checked in place of chain verification.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, verify_callback, nullptr);
    impl.ctx = ctx;
    return ctx;
}

Result<DtlsTransport> DtlsTransport::create(DtlsConfig config) {
    if (config.mtu < 256 || config.mtu > 65507)
        return make_error(ErrorCategory::RangeError, "dtls", "DTLS MTU must be within 256..65507 bytes");
    if (config.initial_retransmit_timeout <= TimeDelta::zero() ||
        config.max_retransmit_timeout < config.initial_retransmit_timeout)
        return make_error(ErrorCategory::RangeError, "dtls", "invalid DTLS retransmission timeouts");
    auto ctx = ssl_context_for(config.certificate);
    if (!ctx) return ctx.error();
    BIO_METHOD* method = datagram_bio_method();
    if (method == nullptr) return setup_error("cannot create the datagram BIO method");

    auto impl = std::make_unique<Impl>(std::move(config));
    clear_errors();
    impl->ssl = SSL_new(*ctx);
    if (impl->ssl == nullptr) return setup_error("SSL_new failed");
    SSL_set_app_data(impl->ssl, impl.get());

    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(method);
    if (rbio == nullptr || wbio == nullptr) {
        BIO_free(rbio);
        BIO_free(wbio);
        return setup_error("cannot create the DTLS BIOs");
    }
    BIO_set_mem_eof_return(rbio, -1); // empty means "no datagram yet", not end of stream
    BIO_set_data(wbio, impl.get());
    SSL_set_bio(impl->ssl, rbio, wbio);
    impl->rbio = rbio;

    SSL_set_options(impl->ssl, SSL_OP_NO_QUERY_MTU);
    if (SSL_set_mtu(impl->ssl, static_cast<long>(impl->config.mtu)) <= 0) // returns the MTU set, 0 on failure
        return setup_error("cannot set the DTLS MTU");
    DTLS_set_timer_cb(impl->ssl, timer_callback);
    SSL_set_info_callback(impl->ssl, info_callback);
    if (!impl->config.srtp_profiles.empty()) {
        std::string profiles;
        for (auto p : impl->config.srtp_profiles) {
            if (!profiles.empty()) profiles += ':';
            profiles += to_string(p);
        }
        // Unlike most of OpenSSL, 0 means success here.
        if (SSL_set_tlsext_use_srtp(impl->ssl, profiles.c_str()) != 0)
            return setup_error("cannot offer the SRTP profiles " + profiles);
    }
    if (impl->config.role == Role::Client)
        SSL_set_connect_state(impl->ssl);
    else
        SSL_set_accept_state(impl->ssl);
    return DtlsTransport(std::move(impl));
}

DtlsTransport::DtlsTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DtlsTransport::DtlsTransport(DtlsTransport&&) noexcept = default;
DtlsTransport& DtlsTransport::operator=(DtlsTransport&&) noexcept = default;
DtlsTransport::~DtlsTransport() = default;

Role DtlsTransport::role() const { return impl_->config.role; }
DtlsState DtlsTransport::state() const { return impl_->state; }
const DtlsStats& DtlsTransport::stats() const { return impl_->stats; }

void DtlsTransport::set_remote_fingerprints(std::vector<Fingerprint> fingerprints) {
    impl_->config.remote_fingerprints = std::move(fingerprints);
}

void DtlsTransport::start(Timestamp now) { impl_->start(now); }
void DtlsTransport::handle_datagram(Timestamp now, ByteView datagram) { impl_->handle_datagram(now, datagram); }
void DtlsTransport::handle_timeout(Timestamp now) { impl_->handle_timeout(now); }

std::optional<ByteView> DtlsTransport::poll_transmit() {
    auto& i = *impl_;
    if (i.out_queue.empty()) return std::nullopt;
    i.recycle(std::move(i.out_current));
    i.out_current = std::move(i.out_queue.front());
    i.out_queue.pop_front();
    ++i.stats.datagrams_sent;
    i.stats.bytes_sent += i.out_current.size();
    return ByteView(i.out_current);
}

std::optional<DtlsEvent> DtlsTransport::poll_event() {
    auto& i = *impl_;
    if (i.events.empty()) return std::nullopt;
    Impl::QueuedEvent q = std::move(i.events.front());
    i.events.pop_front();
    if (auto* data = std::get_if<std::vector<uint8_t>>(&q)) {
        i.recycle(std::move(i.event_current));
        i.event_current = std::move(*data);
        return DtlsEvent{DtlsApplicationData{ByteView(i.event_current)}};
    }
    if (auto* c = std::get_if<DtlsConnected>(&q)) return DtlsEvent{std::move(*c)};
    if (auto* c = std::get_if<DtlsClosed>(&q)) return DtlsEvent{*c};
    return DtlsEvent{std::move(std::get<DtlsFailed>(q))};
}

Timestamp DtlsTransport::poll_timeout() const {
    const auto& i = *impl_;
    if (i.state != DtlsState::Connecting) return Timestamp::plus_infinity();
    return std::min(i.handshake_deadline, i.retransmit_deadline);
}

Result<void> DtlsTransport::send(ByteView data) { return impl_->send(data); }
void DtlsTransport::close() { impl_->close(); }

} // namespace rtcpp::dtls
