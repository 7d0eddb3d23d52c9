// rtcpp::StatsReport: W3C getStats() (https://www.w3.org/TR/webrtc-stats/) as typed C++ values.
//
// A report is a list of stats objects. Each is a struct of one W3C RTCStatsType ("inbound-rtp", "candidate-pair",
// ...) whose members are the W3C members in snake_case (packetsReceived is packets_received). Times, durations and
// rates use rtcpp's unit types (Timestamp, TimeDelta, DataRate); to_json() writes them in W3C units (milliseconds for
// timestamps, seconds for durations and jitter, bits per second for rates). A member rtcpp does not know yet is an
// empty std::optional and is left out of the JSON, as browsers leave out members they do not know.
//
// Ids are stable for the life of the session, so two reports can be compared object by object:
//   "T01" transport, "P" peer-connection, "IL<hex>"/"IR<hex>" local/remote candidates, "CP<local>_<remote>" pairs,
//   "CT01_<pt>" codecs, "IT01<A|V><ssrc>" inbound-rtp, "OT01<A|V><ssrc>" outbound-rtp, "RI<A|V><ssrc>"
//   remote-inbound-rtp, "RO<A|V><ssrc>" remote-outbound-rtp, "D<n>" data-channel.
//
// Timestamps are core time: the time given to Session::get_stats(now), or for PeerConnection the runtime's monotonic
// clock. They compare with each other, not with Date.now().
#pragma once

#include <rtcpp/units.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rtcpp {

/// W3C RTCStats: what every stats object has.
struct StatsBase {
    std::string id;
    Timestamp timestamp;
};

/// W3C RTCCodecStats: a codec that an RTP stream of this report uses.
struct CodecStats : StatsBase {
    static constexpr std::string_view kType = "codec";
    uint32_t payload_type = 0;
    std::string transport_id;
    std::string mime_type; ///< "audio/opus", "video/VP8", ...
    uint32_t clock_rate = 0;
    std::optional<uint32_t> channels;
    std::string sdp_fmtp_line; ///< left out of the JSON when empty
};

/// W3C RTCRtpStreamStats.
struct RtpStreamStats : StatsBase {
    uint32_t ssrc = 0;
    std::string kind; ///< "audio" or "video"
    std::string transport_id;
    std::string codec_id; ///< empty until a codec is known
};

/// W3C RTCInboundRtpStreamStats: one SSRC we receive (RTX streams are folded into their media stream).
struct InboundRtpStats : RtpStreamStats {
    static constexpr std::string_view kType = "inbound-rtp";
    std::string mid;
    std::string rid;       ///< not W3C: the simulcast layer received (left out when empty)
    std::string remote_id; ///< the remote-outbound-rtp, once the sender's SR arrived
    uint64_t packets_received = 0; ///< retransmissions included (RFC 3550 counting)
    int64_t packets_lost = 0;      ///< expected minus received, RFC 3550: negative with duplicates
    TimeDelta jitter = TimeDelta::zero();
    uint64_t bytes_received = 0;        ///< payload bytes
    uint64_t header_bytes_received = 0; ///< RTP header and extensions
    std::optional<Timestamp> last_packet_received_timestamp;
    uint64_t retransmitted_packets_received = 0; ///< by RTX (packets rebuilt from FEC: RtpStats::fec_packets_recovered)
    uint64_t retransmitted_bytes_received = 0;
    std::optional<uint32_t> rtx_ssrc;
    /// Video: whole frames depacketized and handed to the application (framesDecoded is the application's business).
    std::optional<uint32_t> frames_received;
    /// Keyframe requests and NACKs we sent for this stream.
    uint32_t nack_count = 0;
    std::optional<uint32_t> pli_count; ///< video
    std::optional<uint32_t> fir_count; ///< video
};

/// W3C RTCOutboundRtpStreamStats: one SSRC we send.
struct OutboundRtpStats : RtpStreamStats {
    static constexpr std::string_view kType = "outbound-rtp";
    std::string mid;
    std::string rid;       ///< left out when empty
    std::string remote_id; ///< the remote-inbound-rtp, once a report block about it arrived
    uint64_t packets_sent = 0; ///< retransmissions included
    uint64_t bytes_sent = 0;   ///< payload bytes, retransmissions included
    uint64_t header_bytes_sent = 0;
    uint64_t retransmitted_packets_sent = 0;
    uint64_t retransmitted_bytes_sent = 0;
    std::optional<uint32_t> rtx_ssrc;
    std::optional<uint32_t> frames_sent; ///< video: frames given to send_frame()
    /// Feedback the receiver sent about this stream.
    uint32_t nack_count = 0;
    std::optional<uint32_t> pli_count; ///< video
    std::optional<uint32_t> fir_count; ///< video
    /// What the encoder should aim at. The congestion controller's target is for all media together, so this is set
    /// only when this is the one stream that sends.
    std::optional<DataRate> target_bitrate;
    bool active = true;
};

/// W3C RTCRemoteInboundRtpStreamStats: what the receiver of one of our SSRCs said about it (RTCP report blocks).
struct RemoteInboundRtpStats : RtpStreamStats {
    static constexpr std::string_view kType = "remote-inbound-rtp";
    std::string local_id; ///< the outbound-rtp
    int64_t packets_lost = 0;
    TimeDelta jitter = TimeDelta::zero();
    double fraction_lost = 0; ///< 0..1, of the last report interval
    std::optional<TimeDelta> round_trip_time;
    TimeDelta total_round_trip_time = TimeDelta::zero();
    uint64_t round_trip_time_measurements = 0;
};

/// W3C RTCRemoteOutboundRtpStreamStats: what the sender of one SSRC we receive said about it (RTCP SR).
struct RemoteOutboundRtpStats : RtpStreamStats {
    static constexpr std::string_view kType = "remote-outbound-rtp";
    std::string local_id; ///< the inbound-rtp
    uint64_t packets_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t reports_sent = 0; ///< SRs received
};

/// W3C RTCIceCandidateStats.
struct IceCandidateStats : StatsBase {
    std::string transport_id;
    std::string address;
    uint16_t port = 0;
    std::string protocol;       ///< "udp" or "tcp"
    std::string candidate_type; ///< "host", "srflx", "prflx", "relay"
    uint32_t priority = 0;
    std::string foundation;
    std::optional<std::string> related_address;
    std::optional<uint16_t> related_port;
    std::optional<std::string> username_fragment;
    std::optional<std::string> tcp_type; ///< "active", "passive", "so"
};
struct LocalCandidateStats : IceCandidateStats {
    static constexpr std::string_view kType = "local-candidate";
};
struct RemoteCandidateStats : IceCandidateStats {
    static constexpr std::string_view kType = "remote-candidate";
};

/// W3C RTCIceCandidatePairStats.
struct CandidatePairStats : StatsBase {
    static constexpr std::string_view kType = "candidate-pair";
    std::string transport_id;
    std::string local_candidate_id;
    std::string remote_candidate_id;
    std::string state; ///< "frozen", "waiting", "in-progress", "succeeded", "failed"
    bool nominated = false;
    uint64_t packets_sent = 0;
    uint64_t packets_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    TimeDelta total_round_trip_time = TimeDelta::zero();
    std::optional<TimeDelta> current_round_trip_time;
    /// The congestion controller's target, on the selected pair once media flows.
    std::optional<DataRate> available_outgoing_bitrate;
    uint64_t requests_received = 0;
    uint64_t requests_sent = 0;
    uint64_t responses_received = 0;
    uint64_t responses_sent = 0;
    uint64_t consent_requests_sent = 0;
};

/// W3C RTCTransportStats: the one (BUNDLE) transport: ICE and DTLS.
struct TransportStats : StatsBase {
    static constexpr std::string_view kType = "transport";
    /// Every datagram (ICE checks, DTLS, SRTP) and its bytes as sent and received.
    uint64_t packets_sent = 0;
    uint64_t packets_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    std::optional<std::string> ice_role; ///< "controlling", "controlled"
    std::optional<std::string> ice_local_username_fragment;
    std::string dtls_state = "new"; ///< "new", "connecting", "connected", "closed", "failed"
    std::string ice_state = "new";  ///< RTCIceTransportState
    std::optional<std::string> selected_candidate_pair_id;
    std::optional<std::string> tls_version; ///< "FEFD": DTLS 1.2
    std::optional<std::string> dtls_cipher; ///< IANA name, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    std::optional<std::string> dtls_role;   ///< "client", "server"
    std::optional<std::string> srtp_cipher; ///< IANA name: "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"
    uint32_t selected_candidate_pair_changes = 0;
};

/// W3C RTCDataChannelStats.
struct DataChannelStats : StatsBase {
    static constexpr std::string_view kType = "data-channel";
    std::string label;
    std::string protocol;
    std::optional<uint16_t> data_channel_identifier;
    std::string state; ///< "connecting", "open", "closing", "closed"
    uint32_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    uint32_t messages_received = 0;
    uint64_t bytes_received = 0;
};

/// W3C RTCPeerConnectionStats.
struct PeerConnectionStats : StatsBase {
    static constexpr std::string_view kType = "peer-connection";
    uint32_t data_channels_opened = 0;
    uint32_t data_channels_closed = 0;
};

using StatsObject = std::variant<CodecStats, InboundRtpStats, OutboundRtpStats, RemoteInboundRtpStats,
                                 RemoteOutboundRtpStats, LocalCandidateStats, RemoteCandidateStats, CandidatePairStats,
                                 TransportStats, DataChannelStats, PeerConnectionStats>;

/// The W3C type string ("inbound-rtp", ...).
std::string_view stats_type(const StatsObject& s);
const StatsBase& stats_base(const StatsObject& s);

struct StatsReport {
    Timestamp timestamp;
    std::vector<StatsObject> objects;

    const StatsObject* find(std::string_view id) const;
    /// The object with this id if it is of type T.
    template <class T>
    const T* get(std::string_view id) const {
        const StatsObject* o = find(id);
        return o ? std::get_if<T>(o) : nullptr;
    }
    /// Every object of type T, in report order.
    template <class T>
    std::vector<const T*> all() const {
        std::vector<const T*> out;
        for (const auto& o : objects)
            if (const T* t = std::get_if<T>(&o)) out.push_back(t);
        return out;
    }
    /// One JSON object keyed by id, each value an object with "id", "type", "timestamp" and the W3C members: the
    /// shape of JSON.stringify(Object.fromEntries(await pc.getStats())) in a browser.
    std::string to_json() const;
};

} // namespace rtcpp
