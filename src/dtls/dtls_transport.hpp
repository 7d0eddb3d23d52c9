// A DTLS 1.2 endpoint (OpenSSL 3.0) as a sans-IO state machine.
//
//   auto t = DtlsTransport::create(config);          // role, certificate, expected remote fingerprint(s)
//   t->start(now);                                    // the client sends its ClientHello
//   t->handle_datagram(now, bytes);                   // every DTLS datagram from the selected ICE pair
//   t->handle_timeout(now);                           // when poll_timeout() has passed
//   while (auto d = t->poll_transmit()) send(*d);     // one UDP datagram each
//   while (auto e = t->poll_event()) ...;             // Connected{srtp keys} | ApplicationData | Closed | Failed
//   t->send(bytes);                                   // application data (SCTP) once connected
//
// After every handle_* call, drain poll_transmit() and poll_event(), then ask poll_timeout() again.
//
// The peer is authenticated by its certificate fingerprint from SDP: a mismatch, or no fingerprint known when the
// certificate arrives, fails the handshake with a SecurityError (and a bad_certificate alert to the peer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include <rtcpp/certificate.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/units.hpp>

#include "core/byte_reader.hpp"
#include "dtls/srtp_keys.hpp"

namespace rtcpp::dtls {

enum class Role { Client, Server };

/// The DTLS role for our side from the negotiated `a=setup` value of our own description: "active" is the client,
/// "passive" the server ("actpass" is only an offer and does not decide).
std::optional<Role> role_from_setup(std::string_view local_setup);

struct DtlsConfig {
    Role role = Role::Client;
    Certificate certificate;
    /// The fingerprints the remote SDP announced (any may match). May also be given later with
    /// set_remote_fingerprints(), but before the remote certificate arrives.
    std::vector<Fingerprint> remote_fingerprints;
    /// Largest datagram we send (DTLS record layer included).
    size_t mtu = 1200;
    /// The whole handshake must finish within this much core time after start().
    TimeDelta handshake_timeout = TimeDelta::seconds(30);
    /// First retransmission timeout of a flight; doubles on every retransmission up to max_retransmit_timeout.
    TimeDelta initial_retransmit_timeout = TimeDelta::seconds(1);
    TimeDelta max_retransmit_timeout = TimeDelta::seconds(60);
    /// Offered/accepted in this order of preference; empty disables use_srtp (data channels only).
    std::vector<SrtpProfile> srtp_profiles = {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80};

    explicit DtlsConfig(Certificate cert) : certificate(std::move(cert)) {}
};

enum class DtlsState { New, Connecting, Connected, Closed, Failed };
std::string_view to_string(DtlsState state);

struct DtlsConnected {
    /// Set when use_srtp was negotiated.
    std::optional<SrtpKeys> srtp;
    /// sha-256 fingerprint of the certificate the peer presented.
    Fingerprint remote_fingerprint;
    /// OpenSSL's name of the negotiated cipher suite.
    std::string cipher;
};
/// One decrypted application data record. The view stays valid until the next poll_event() call.
struct DtlsApplicationData {
    ByteView data;
};
/// The peer sent close_notify.
struct DtlsClosed {};
struct DtlsFailed {
    Error error;
};
using DtlsEvent = std::variant<DtlsConnected, DtlsApplicationData, DtlsClosed, DtlsFailed>;

struct DtlsStats {
    uint64_t datagrams_received = 0;
    /// Not DTLS, not well-formed records, or arriving after the transport closed or failed.
    uint64_t datagrams_dropped = 0;
    uint64_t datagrams_sent = 0;
    uint64_t bytes_sent = 0;
    /// Flights resent by OpenSSL's own timer (new record sequence numbers).
    uint64_t retransmits = 0;
    /// Flights resent byte for byte by us because core time ran ahead of the wall clock OpenSSL reads.
    uint64_t replayed_flights = 0;
    uint64_t application_records_received = 0;
    uint64_t application_records_sent = 0;
};

class DtlsTransport {
public:
    static Result<DtlsTransport> create(DtlsConfig config);
    DtlsTransport(DtlsTransport&&) noexcept;
    DtlsTransport& operator=(DtlsTransport&&) noexcept;
    ~DtlsTransport();

    Role role() const;
    DtlsState state() const;
    const DtlsStats& stats() const;

    void set_remote_fingerprints(std::vector<Fingerprint> fingerprints);

    /// Starts the handshake (the client sends its first flight) and the handshake timer. A server that gets a
    /// datagram before start() starts then.
    void start(Timestamp now);
    void handle_datagram(Timestamp now, ByteView datagram);
    void handle_timeout(Timestamp now);

    /// The next datagram to send; the view stays valid until the next poll_transmit() call.
    std::optional<ByteView> poll_transmit();
    std::optional<DtlsEvent> poll_event();
    /// When handle_timeout() wants to be called; plus_infinity() if nothing is pending.
    Timestamp poll_timeout() const;

    /// Sends one application data record. InvalidStateError unless connected; RangeError above 16384 bytes.
    Result<void> send(ByteView data);
    /// Sends close_notify and moves to Closed.
    void close();

    struct Impl;

private:
    explicit DtlsTransport(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace rtcpp::dtls
