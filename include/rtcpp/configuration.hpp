// How a peer connection is set up: ICE servers, transport policy, certificate, and data channel limits.
#pragma once

#include <rtcpp/certificate.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/socket_addr.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp {

/// A STUN or TURN server as in the W3C RTCIceServer dictionary. URLs: "stun:HOST:PORT",
/// "turn:HOST:PORT?transport=udp|tcp", "turns:HOST:PORT". HOST must be an IP literal (rtcpp does no DNS).
struct IceServer {
    std::vector<std::string> urls;
    std::string username;
    std::string credential;
};

enum class IceServerScheme { Stun, Turn, Turns };
enum class IceServerTransport { Udp, Tcp, Tls };

/// One parsed ICE server URL.
struct IceServerUrl {
    IceServerScheme scheme = IceServerScheme::Stun;
    SocketAddr address;
    IceServerTransport transport = IceServerTransport::Udp;
    std::string username;
    std::string credential;
};

/// Parses a URL ("stun:127.0.0.1:3478", "turn:[::1]:3478?transport=tcp", "turns:127.0.0.1:5349"). The port defaults
/// to 3478 (5349 for turns). Credentials come from the IceServer.
Result<IceServerUrl> parse_ice_server_url(std::string_view url, std::string_view username = {},
                                          std::string_view credential = {});

/// W3C RTCIceTransportPolicy.
enum class IceTransportPolicy { All, Relay };

struct Configuration {
    std::vector<IceServer> ice_servers;
    IceTransportPolicy ice_transport_policy = IceTransportPolicy::All;
    /// Our DTLS certificate; the process-wide default (ECDSA P-256) when empty.
    std::optional<Certificate> certificate;
    /// Gather host candidates on loopback addresses too (tests, same-machine peers).
    bool include_loopback = false;
    /// Seed for the session's random source (ICE credentials, tie-breakers, SSRCs): fixed in tests for reproducible
    /// runs; from the operating system when empty.
    std::optional<uint64_t> random_seed;
    /// Also deliver every received RTP and RTCP packet (decrypted) as events, besides depacketized frames.
    bool raw_rtp_events = false;
    /// Send ULPFEC (in RED) with video when the peer negotiated both, or FlexFEC (flexfec-03, on its own SSRC) when
    /// that is the only video FEC negotiated, at a level chosen from the loss and RTT its receiver reports show
    /// (hybrid with NACK: none at short RTTs or without loss). Audio RED (red/48000/2 over Opus) is sent whenever
    /// it is negotiated; leave "red" out of TransceiverInit::codecs to not offer it.
    bool video_fec = true;
    /// Offer RFC 8888 congestion control feedback (`a=rtcp-fb:* ack ccfb`) beside transport-cc; the peer's choice
    /// decides (Chromium with the WebRTC-RFC8888CongestionControlFeedback field trial takes it). An offer with it
    /// is accepted either way.
    bool offer_rfc8888_feedback = false;
    /// The max-message-size we advertise and accept on data channels (RFC 8841).
    uint64_t max_message_size = 1024 * 1024;
    /// Runtime only (PeerConnection): the local address to bind to (all interfaces when empty) and the UDP port
    /// range (any port when both are 0).
    std::optional<IpAddr> bind_address;
    uint16_t port_range_begin = 0;
    uint16_t port_range_end = 0;
    /// Runtime only (PeerConnection): ICE-TCP (RFC 6544). Listens on a TCP port (any free one) on every address a UDP
    /// socket is bound to, and gathers a passive candidate there and an active one (port 9): connections where UDP
    /// is blocked. Off by default, unlike browsers (Chromium gathers TCP candidates; UDP wins on priority when both
    /// work), since it opens listening ports an embedder should choose to have. A Session's owner calls
    /// Session::add_local_tcp_listener instead.
    bool ice_tcp = false;
};

} // namespace rtcpp
