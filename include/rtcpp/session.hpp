// rtcpp::Session, the sans-IO core of one peer connection: ICE, DTLS, SCTP data channels and the JSEP offer/answer
// state, with no sockets, threads or clocks inside.
//
// The owner (rtcpp::PeerConnection's runtime, or your own event loop) does three things:
//   1. tells the session which local UDP addresses it has bound (add_local_address), before the first offer/answer,
//      and for ICE-TCP (RFC 6544) the TCP sockets it listens on (add_local_tcp_listener);
//   2. feeds it every datagram those sockets receive, with the current time: handle_datagram(now, local, remote, ...),
//      and calls handle_timeout(now) when the time poll_timeout() named has come;
//   3. after every handle_* call and every command, drains the output: poll_transmit() until empty (send each datagram
//      from the local address it names), poll_stream() until empty (TCP connections: turn:...?transport=tcp or
//      turns: servers, and ICE-TCP once a listener was added), poll_event() until empty, then asks poll_timeout().
//      Or call poll(), which returns transmits, then events, then finally the timeout, once per drain (and
//      poll_stream() separately). Giving each sent Transmit's bytes back with recycle() lets the session reuse
//      the buffer: the media send path then allocates nothing per packet.
// Commands (create_offer, send, ...) never read a clock: the session uses the time of the last handle_* call, and
// work they create is done at the next handle_timeout (poll_timeout() then names that time).
//
// Errors are values: commands return Result. Malformed datagrams from the network are dropped and counted in
// stats(), never an exception. A fatal transport failure moves the connection to PeerConnectionState::Failed with an
// event that says why.
#pragma once

#include <rtcpp/configuration.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/session_description.hpp>
#include <rtcpp/socket_addr.hpp>
#include <rtcpp/stats.hpp>
#include <rtcpp/units.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rtcpp {

/// W3C RTCSignalingState.
enum class SignalingState { Stable, HaveLocalOffer, HaveRemoteOffer, HaveLocalPranswer, HaveRemotePranswer, Closed };
/// W3C RTCIceGatheringState.
enum class IceGatheringState { New, Gathering, Complete };
/// W3C RTCIceConnectionState.
enum class IceConnectionState { New, Checking, Connected, Completed, Disconnected, Failed, Closed };
/// W3C RTCPeerConnectionState.
enum class PeerConnectionState { New, Connecting, Connected, Disconnected, Failed, Closed };
/// W3C RTCDataChannelState.
enum class DataChannelState { Connecting, Open, Closing, Closed };

std::string_view to_string(SignalingState s);
std::string_view to_string(IceGatheringState s);
std::string_view to_string(IceConnectionState s);
std::string_view to_string(PeerConnectionState s);
std::string_view to_string(DataChannelState s);

/// A data channel, named by a handle the session assigns when the channel is created (locally or by the peer).
/// The SCTP stream id (W3C `id`) is known once the DTLS role is; see Session::channel_info.
using ChannelId = uint32_t;

/// W3C RTCDataChannelInit.
struct DataChannelInit {
    bool ordered = true;
    std::optional<uint32_t> max_packet_life_time_ms;
    std::optional<uint32_t> max_retransmits;
    std::string protocol;
    /// Pre-negotiated: no in-band open, both sides create the channel with the same `id`.
    bool negotiated = false;
    std::optional<uint16_t> id;
};

struct ChannelInfo {
    ChannelId channel = 0;
    std::string label;
    DataChannelInit init;
    std::optional<uint16_t> stream_id;
    DataChannelState state = DataChannelState::Connecting;
    bool created_by_remote = false;
};

// ---- media ----
enum class MediaKind { Audio, Video };
/// W3C RTCRtpTransceiverDirection.
enum class RtpDirection { SendRecv, SendOnly, RecvOnly, Inactive };
std::string_view to_string(MediaKind k);
std::string_view to_string(RtpDirection d);

/// A transceiver, named by a handle the session assigns (locally with add_transceiver, or for a remote m-line).
using TransceiverId = uint32_t;

/// One send encoding's bounds for the bitrate allocator that splits the congestion target (TargetBitrate::allocation):
/// a simulcast layer (by rid) or, with an empty rid, the transceiver's single stream. Unset bounds keep rtcpp's
/// defaults: libwebrtc's per layer (lowest of three 30-200 kbps, middle 150-700, top 600-2500), 6-64 kbps for audio,
/// 30 kbps and up for a single video stream.
struct SendEncodingParameters {
    std::string rid = {};
    std::optional<DataRate> min_bitrate = {};
    std::optional<DataRate> max_bitrate = {};
    bool active = true; ///< W3C `active`: an inactive encoding is allocated nothing
};

/// W3C RTCRtpTransceiverInit, plus codec preferences.
struct TransceiverInit {
    RtpDirection direction = RtpDirection::SendRecv;
    /// Codec names in preference order ("opus"; "VP8", "VP9", "H264", "AV1"); empty: rtcpp's defaults for the kind.
    std::vector<std::string> codecs = {};
    /// Simulcast: two or more rids to send, lowest layer first (the allocator fills them in this order). Each
    /// negotiated rid gets its own SSRC, RTX SSRC, sequence numbers and statistics; send each layer's frames with
    /// Session::send_frame(id, rid, ...). The SDP lists them highest first (a=simulcast:send f;h;q), the order of
    /// preference RFC 8853 gives it and SFUs (Janus) number substreams by.
    std::vector<std::string> send_rids = {};
    /// Bitrate bounds per encoding (by rid; see SendEncodingParameters); encodings not listed keep the defaults.
    std::vector<SendEncodingParameters> send_encodings = {};
    /// msid stream id; generated when empty.
    std::string stream_id = {};
};

struct TransceiverInfo {
    TransceiverId id = 0;
    MediaKind kind = MediaKind::Audio;
    std::optional<std::string> mid;
    RtpDirection direction = RtpDirection::SendRecv;
    /// After a completed negotiation.
    std::optional<RtpDirection> current_direction;
    bool created_by_remote = false;
    /// Our sending SSRC (without simulcast; each layer's is in its outbound-rtp stats).
    uint32_t ssrc = 0;
    /// What send_frame() packetizes with, once negotiated: codec name, payload type and RTP clock rate.
    std::string send_codec;
    uint8_t send_payload_type = 0;
    uint32_t clock_rate = 0;
    /// The negotiated format parameters of send_codec (a=fmtp), e.g. H.264's packetization-mode.
    std::string send_fmtp;
    /// The largest RTP payload send_frame makes. With H.264 packetization-mode=0 (no fragmentation) every NAL unit
    /// of a frame must fit it: the encoder limits its slices to this size.
    size_t max_payload_size = 0;
    /// The remote's msid stream ids for what we receive.
    std::vector<std::string> remote_stream_ids;
    /// Simulcast layers we send, as negotiated (lowest first); empty: one stream on `ssrc`.
    std::vector<std::string> send_rids = {};
    /// The track attached with add_track / replace_track, if any. A transceiver made by add_transceiver has an
    /// unnamed source (send_frame works) until replace_track(id, std::nullopt) detaches it.
    std::optional<std::string> track_id;
    bool has_source = true;
};

/// W3C MediaStreamTrack as the wire sees it: the application encodes, so a track is a kind and an id.
struct MediaTrack {
    MediaKind kind = MediaKind::Audio;
    std::string id;
};

/// One send encoding's share of the congestion controller's target (see event::TargetBitrate).
struct EncodingBitrate {
    TransceiverId transceiver = 0;
    std::string rid;  ///< the simulcast layer; empty for a transceiver's single stream
    DataRate bitrate; ///< zero: the allocator switched this layer off; stop encoding it until it comes back
};

/// Per transceiver (W3C outbound-rtp / inbound-rtp, condensed).
struct RtpStats {
    TransceiverId transceiver = 0;
    uint64_t packets_sent = 0;
    uint64_t bytes_sent = 0;  ///< RTP payload bytes
    uint64_t frames_sent = 0;
    uint64_t retransmitted_packets_sent = 0;
    uint64_t nacks_received = 0;
    uint64_t keyframe_requests_received = 0; ///< PLI and FIR
    uint64_t packets_received = 0;
    uint64_t bytes_received = 0;
    uint64_t frames_received = 0;
    uint64_t packets_lost = 0;     ///< cumulative, as RTCP receiver reports count it
    uint64_t nacks_sent = 0;
    uint64_t keyframe_requests_sent = 0;
    double jitter_seconds = 0;     ///< interarrival jitter of what we receive
    std::optional<TimeDelta> rtt;  ///< from the peer's receiver reports (DLSR)
    uint64_t fec_packets_sent = 0;       ///< ULPFEC (in RED) or FlexFEC packets protecting what we send
    double fec_protection = 0;           ///< FEC packets per media packet chosen now (loss and RTT from reports)
    /// Media packets we rebuilt from the peer's ULPFEC or FlexFEC, and audio frames filled from its RED redundancy.
    uint64_t fec_packets_recovered = 0;
    /// Padding-only packets (on the RTX stream) the pacer sent for bandwidth probes, and their padding bytes.
    uint64_t padding_packets_sent = 0;
    uint64_t padding_bytes_sent = 0;
};

namespace event {
/// A local ICE candidate to trickle to the peer.
struct LocalCandidate {
    IceCandidate candidate;
};
struct IceGatheringStateChange {
    IceGatheringState state;
};
struct SignalingStateChange {
    SignalingState state;
};
struct IceConnectionStateChange {
    IceConnectionState state;
};
/// `error` says why when the state is Failed.
struct ConnectionStateChange {
    PeerConnectionState state;
    std::optional<Error> error;
};
/// The peer opened a channel (W3C ondatachannel); it is open already.
struct DataChannel {
    ChannelInfo info;
};
/// A channel we created is open.
struct ChannelOpen {
    ChannelId channel;
};
struct ChannelMessage {
    ChannelId channel;
    bool binary;
    std::vector<uint8_t> data;
};
struct ChannelClosed {
    ChannelId channel;
    std::string reason;
};
struct BufferedAmountLow {
    ChannelId channel;
};
/// Something changed that needs a new offer/answer exchange (W3C onnegotiationneeded).
struct NegotiationNeeded {};
/// The peer will send media on this transceiver (W3C ontrack), after a negotiation.
struct Track {
    TransceiverInfo transceiver;
};
/// A whole encoded frame received (depacketized, in order; for video only frames whose packets all arrived).
struct MediaFrame {
    TransceiverId transceiver = 0;
    std::string rid;   ///< simulcast layer, if the sender used rids
    std::string codec; ///< "opus", "VP8", ...
    uint8_t payload_type = 0;
    uint32_t rtp_timestamp = 0;
    bool keyframe = false;
    std::vector<uint8_t> data;
};
/// With Configuration::raw_rtp_events: every RTP packet received, decrypted (SFU-style access).
struct RtpPacket {
    TransceiverId transceiver = 0;
    std::vector<uint8_t> packet;
};
/// With Configuration::raw_rtp_events: every RTCP compound packet received, decrypted.
struct RtcpPacket {
    std::vector<uint8_t> packet;
};
/// The peer asked for a keyframe (PLI or FIR) on what we send with this transceiver.
struct KeyframeRequest {
    TransceiverId transceiver = 0;
    std::string rid = {}; ///< the simulcast layer asked for (only that layer's encoder needs a keyframe)
};
/// What the congestion controller (GCC over transport-wide feedback) lets all our media send in total: feed it to
/// the encoders. Emitted when it changes by 5 % or more, and whenever a simulcast layer is switched on or off.
struct TargetBitrate {
    DataRate target;
    DataRate stable_target; ///< the delay-based estimate: less jumpy, for layer decisions
    TimeDelta rtt;
    /// The target split over every sending transceiver: audio first, then video, simulcast layers lowest first, each
    /// layer on only once its minimum fits (SendEncodingParameters). One entry per encoding; set each encoder to its
    /// rate and stop the layers at zero.
    std::vector<EncodingBitrate> allocation = {};
};
} // namespace event

using SessionEvent =
    std::variant<event::LocalCandidate, event::IceGatheringStateChange, event::SignalingStateChange,
                 event::IceConnectionStateChange, event::ConnectionStateChange, event::DataChannel,
                 event::ChannelOpen, event::ChannelMessage, event::ChannelClosed, event::BufferedAmountLow,
                 event::NegotiationNeeded, event::Track, event::MediaFrame, event::RtpPacket, event::RtcpPacket,
                 event::KeyframeRequest, event::TargetBitrate>;

/// A datagram to send from the local address `local` (one the owner bound) to `remote`.
struct Transmit {
    SocketAddr local;
    SocketAddr remote;
    std::vector<uint8_t> bytes;
};

/// poll()'s last output in a drain: call handle_timeout at this time (plus_infinity: nothing pending).
struct Timeout {
    Timestamp at;
};

using Output = std::variant<Transmit, SessionEvent, Timeout>;

/// A TCP connection the session asks its owner to keep for it (TURN over TCP or TLS: the TLS is inside the session,
/// the owner moves plain TCP bytes; ICE-TCP from an active candidate: the session frames). The owner connects
/// (StreamConnect), writes StreamSend bytes in order, closes on StreamClose, and reports handle_stream_connected /
/// handle_stream_data / handle_stream_closed. Connections the owner accepts on an ICE-TCP listener are announced with
/// handle_stream_accepted, which names them; from then on they are streams like the others.
using StreamId = uint32_t;
struct StreamConnect {
    StreamId stream = 0;
    SocketAddr remote;
    std::optional<IpAddr> local_ip; ///< bind to this address if set
};
struct StreamSend {
    StreamId stream = 0;
    std::vector<uint8_t> bytes;
};
struct StreamClose {
    StreamId stream = 0;
};
using StreamCommand = std::variant<StreamConnect, StreamSend, StreamClose>;

struct SessionStats {
    uint64_t datagrams_received = 0;
    uint64_t datagrams_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;
    /// Neither STUN, DTLS nor (negotiated) media: dropped.
    uint64_t datagrams_unknown = 0;
    /// DTLS before the session had a remote description, or from an address ICE did not select: dropped.
    uint64_t dtls_dropped = 0;
    /// RTP/RTCP arriving before media is supported or negotiated: dropped.
    uint64_t media_dropped = 0;
    uint64_t stun_dropped = 0;
    /// Of those, by the ICE agent's reason: unauthenticated requests from unknown sources over the response rate
    /// limit, and messages whose MESSAGE-INTEGRITY did not verify.
    uint64_t stun_rate_limited = 0;
    uint64_t stun_bad_integrity = 0;
    /// Remote candidates refused over the cap (AgentConfig::max_remote_candidates) or unusable.
    uint64_t remote_candidates_dropped = 0;
    std::optional<SocketAddr> selected_local;
    std::optional<SocketAddr> selected_remote;
    /// Candidate types of the selected pair: "host", "srflx", "prflx" or "relay" (empty until one is selected).
    std::string selected_local_type;
    std::string selected_remote_type;
    /// Transport of the selected pair: "udp" or "tcp" (ICE-TCP), as W3C RTCIceCandidateStats.protocol.
    std::string selected_protocol;
    /// ICE-TCP connections the session refused or closed: over the cap, or whose first message was not an
    /// authenticated STUN check (garbage).
    uint64_t tcp_streams_refused = 0;
    std::optional<TimeDelta> rtt;
    /// W3C candidate-pair availableOutgoingBitrate: the congestion controller's target, once media flows.
    std::optional<DataRate> available_outgoing_bitrate;
    uint64_t sctp_messages_sent = 0;
    uint64_t sctp_messages_received = 0;
};

class Session {
public:
    /// Fails if the certificate cannot be made.
    static Result<std::unique_ptr<Session>> create(const Configuration& config);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// A local UDP address the owner has bound; datagrams to send from it come out of poll_transmit.
    void add_local_address(const SocketAddr& local);
    /// ICE-TCP (RFC 6544): a TCP socket the owner listens on. The session gathers a passive candidate there and an
    /// active one (port 9) on its IP; connections the owner accepts there go to handle_stream_accepted, and for
    /// active candidates the session asks for connections with StreamConnect. ICE messages and DTLS records travel
    /// in RFC 4571 frames (2-byte length) that the session writes and reads: the owner moves plain bytes.
    void add_local_tcp_listener(const SocketAddr& listen);

    // ---- JSEP ----
    Result<SessionDescription> create_offer();
    Result<SessionDescription> create_answer();
    Result<void> set_local_description(const SessionDescription& description);
    Result<void> set_remote_description(const SessionDescription& description);
    /// A trickled remote candidate; an empty `candidate` string means end of candidates.
    Result<void> add_ice_candidate(const IceCandidate& candidate);
    /// The current local description with every candidate gathered so far (for peers that do not trickle).
    std::optional<SessionDescription> local_description() const;
    std::optional<SessionDescription> remote_description() const;
    /// Restart ICE with the next offer (W3C restartIce).
    void restart_ice();

    // ---- data channels ----
    Result<ChannelId> create_data_channel(std::string_view label, const DataChannelInit& init = {});
    Result<void> send(ChannelId channel, std::span<const uint8_t> data);
    Result<void> send_text(ChannelId channel, std::string_view text);
    Result<void> close_channel(ChannelId channel);
    std::optional<ChannelInfo> channel_info(ChannelId channel) const;
    size_t buffered_amount(ChannelId channel) const;
    void set_buffered_amount_low_threshold(ChannelId channel, size_t bytes);
    /// The peer's a=max-message-size (what send() accepts), once negotiated.
    uint64_t max_message_size() const;

    // ---- media ----
    /// W3C addTransceiver: needs a new offer/answer (NegotiationNeeded follows).
    Result<TransceiverId> add_transceiver(MediaKind kind, const TransceiverInit& init = {});
    std::vector<TransceiverInfo> transceivers() const;
    std::optional<TransceiverInfo> transceiver_info(TransceiverId id) const;
    /// W3C direction setter (e.g. to send on a transceiver the remote's offer created): renegotiate after it.
    Result<void> set_transceiver_direction(TransceiverId id, RtpDirection direction);
    /// W3C addTrack: reuses a transceiver of the track's kind that the remote's offer created and that has never
    /// sent and has no track (recvonly becomes sendrecv, inactive becomes sendonly), else adds a sendrecv one.
    /// `stream_id` goes into a=msid (generated when empty). NegotiationNeeded follows.
    Result<TransceiverId> add_track(const MediaTrack& track, const std::string& stream_id = {});
    /// W3C replaceTrack, without renegotiation: std::nullopt detaches the source (nothing is sent, send_frame fails
    /// with InvalidStateError, RTCP goes on); a new track asks the application for a keyframe (KeyframeRequest)
    /// so the receiver can decode the new source at once. The kind must match.
    Result<void> replace_track(TransceiverId id, const std::optional<MediaTrack>& track);
    /// Packetizes one encoded frame (an Opus packet, a VP8/VP9/AV1 frame, an H.264 access unit in Annex B) with the
    /// negotiated codec and sends it over SRTP. `rtp_timestamp` is in the codec's clock (48 kHz Opus, 90 kHz video).
    /// Fails before the connection is up or if the transceiver does not send.
    Result<void> send_frame(TransceiverId id, std::span<const uint8_t> frame, uint32_t rtp_timestamp);
    /// Simulcast: one encoded frame of the layer `rid` (one of TransceiverInfo::send_rids), sent on that layer's SSRC
    /// with the mid and rid header extensions. Each layer has its own encoder (and its own keyframes).
    Result<void> send_frame(TransceiverId id, std::string_view rid, std::span<const uint8_t> frame,
                            uint32_t rtp_timestamp);
    /// Changes an encoding's bitrate bounds or `active` flag (takes effect at the next allocation, no renegotiation).
    Result<void> set_send_encoding(TransceiverId id, const SendEncodingParameters& params);
    /// Raw access (SFU forwarding): sends an unencrypted RTP packet as given, except that its SSRC becomes the
    /// transceiver's and its sequence number continues the transceiver's sequence.
    Result<void> send_rtp(TransceiverId id, std::span<const uint8_t> packet);
    /// Raw access: sends an unencrypted RTCP compound packet.
    Result<void> send_rtcp(std::span<const uint8_t> packet);
    /// Asks the sender of what this transceiver receives for a keyframe (PLI).
    Result<void> request_keyframe(TransceiverId id);
    /// The same for one simulcast layer received (by its rid).
    Result<void> request_keyframe(TransceiverId id, std::string_view rid);
    std::vector<RtpStats> rtp_stats() const;

    /// Closes everything: DTLS close_notify and SCTP abort are sent, state becomes Closed.
    void close();

    // ---- sans-IO plumbing ----
    void handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, std::span<const uint8_t> bytes);
    void handle_timeout(Timestamp now);
    std::optional<Transmit> poll_transmit();
    /// Optional: hands a polled Transmit's buffer back once it is sent. Media packets (and DTLS records) are then
    /// built in returned buffers, so steady media sending allocates nothing; without it each datagram is a new
    /// buffer that the owner frees.
    void recycle(std::vector<uint8_t>&& bytes);
    std::optional<SessionEvent> poll_event();
    void handle_stream_connected(Timestamp now, StreamId stream);
    /// The owner accepted a TCP connection on the ICE-TCP listener `local` from `remote`. Returns the stream id the
    /// session gave it, or nothing if refused (not a listener of ours, closed, too many unauthenticated
    /// connections): then the owner closes the socket.
    std::optional<StreamId> handle_stream_accepted(Timestamp now, const SocketAddr& local, const SocketAddr& remote);
    void handle_stream_data(Timestamp now, StreamId stream, std::span<const uint8_t> bytes);
    /// Connect failure, reset or end of stream.
    void handle_stream_closed(Timestamp now, StreamId stream);
    std::optional<StreamCommand> poll_stream();
    Timestamp poll_timeout() const;
    /// Transmits, then events, then one Timeout.
    Output poll();

    // ---- state ----
    SignalingState signaling_state() const;
    IceGatheringState ice_gathering_state() const;
    IceConnectionState ice_connection_state() const;
    PeerConnectionState connection_state() const;
    SessionStats stats() const;
    /// W3C getStats() (see rtcpp/stats.hpp): peer-connection, transport, candidate pairs and candidates, codecs, RTP
    /// streams (inbound, outbound, remote-inbound, remote-outbound) and data channels. `now` stamps the objects (the
    /// session's clock, as given to handle_*). Copies counters only: cheap enough to call every second.
    StatsReport get_stats(Timestamp now) const;

    struct Impl;

private:
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace rtcpp
