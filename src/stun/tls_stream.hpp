// A sans-IO TLS client over OpenSSL memory BIOs, for TURN over TLS (RFC 8656 section 3.1, "turns:").
//
// The runtime owns the TCP socket: every chunk read from it goes to handle_ciphertext(), and whatever
// take_ciphertext() returns is written to it. Plaintext written before the handshake finishes is held and sent once
// it does. TLS keeps no timers of its own over TCP, so there is no timeout to report.
//
// Certificate verification is configurable and OFF by default, because test servers (coturn in tests/interop, a
// TURN server on a LAN) use self-signed certificates. A deployment talking to a public TURN server should set
// verify_peer and server_name (the name is also sent as SNI and checked against the certificate).
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/result.hpp>

#include <memory>
#include <string>
#include <vector>

namespace rtcpp::stun {

struct TlsClientConfig {
    bool verify_peer = false;  ///< off by default (self-signed test servers); turn on for real deployments
    std::string server_name;   ///< SNI, and the host name checked against the certificate when verify_peer
    std::string ca_file;       ///< PEM trust anchors; empty: OpenSSL's default paths
};

class TlsClientStream {
public:
    static Result<std::unique_ptr<TlsClientStream>> create(const TlsClientConfig& config);
    ~TlsClientStream();
    TlsClientStream(const TlsClientStream&) = delete;
    TlsClientStream& operator=(const TlsClientStream&) = delete;

    /// Starts the handshake (the ClientHello becomes available from take_ciphertext()).
    void start();
    /// Bytes read from the TCP connection. An error means the TLS session failed for good.
    Result<void> handle_ciphertext(ByteView bytes);
    /// Application bytes to send (held until the handshake is done).
    void write(ByteView plaintext);
    /// Sends close_notify.
    void shutdown();

    /// Bytes to write to the TCP connection (empty if none).
    std::vector<uint8_t> take_ciphertext();
    /// Decrypted application bytes received so far (empty if none).
    std::vector<uint8_t> take_plaintext();

    bool handshake_done() const { return handshake_done_; }
    bool failed() const { return failed_; }

private:
    struct Impl;
    explicit TlsClientStream(std::unique_ptr<Impl> impl);
    Result<void> pump();

    std::unique_ptr<Impl> impl_;
    std::vector<uint8_t> pending_plain_out_;
    std::vector<uint8_t> plain_in_;
    bool handshake_done_ = false;
    bool failed_ = false;
};

} // namespace rtcpp::stun
