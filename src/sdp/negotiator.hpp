// JSEP offer/answer (RFC 8829) with BUNDLE (RFC 8843) over one ICE/DTLS transport.
//
// The Negotiator owns the m-line layout of one peer connection: which transceiver (or the data channel) sits on
// which m-line, under which mid, and what was agreed for it. A PeerConnection feeds it plain structs (its
// transceivers, its ICE credentials and candidates, its certificate fingerprint) and gets back SDP models plus a
// Negotiated summary that tells every other layer what to do (codecs and payload types, header extension ids,
// rids, SSRCs, remote ICE credentials and candidates, remote fingerprint, DTLS role, SCTP port, message size).
//
// Policy (documented choices):
// - max-bundle: every accepted m-line is in one BUNDLE group on one transport. An offer's m-lines outside its
//   BUNDLE group are rejected; an offer without a BUNDLE group gets its first usable m-line accepted, the rest
//   rejected.
// - RTP m-lines must use a secure profile (.../SAVP or SAVPF) and rtcp-mux; others are rejected (port 0).
// - One data channel m-line; it is answered in the form it was offered (modern sctp-port or legacy sctpmap).
// - The answerer keeps the offerer's payload types and extension ids; codecs are listed in local preference order.
// - A later offer keeps each m-line where it was; stopped transceivers' m-lines are offered with port 0 and, once
//   rejected on both sides, may be recycled for a new transceiver with a new mid.
#pragma once

#include "sdp/codec_match.hpp"
#include "sdp/description.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp::sdp {

enum class MediaKind { Audio, Video };
std::string_view to_string(MediaKind k);

enum class DtlsRole { Client, Server };

struct SendEncoding {
    std::string rid;
    bool active = true;
    bool operator==(const SendEncoding&) const = default;
};

struct TransceiverInit {
    MediaKind kind = MediaKind::Audio;
    Direction direction = Direction::SendRecv;
    std::vector<CodecCapability> codecs;       ///< empty: the negotiator's defaults for the kind
    std::vector<std::string> header_extensions;  ///< URIs; empty: the defaults for the kind
    std::vector<SendEncoding> send_encodings;  ///< two or more with rids: simulcast
    std::string stream_id;                     ///< msid; generated when empty
    std::string track_id;
};

/// A transceiver as the negotiator tracks it. Index into Negotiator::transceivers() is its id.
struct Transceiver {
    TransceiverInit init;
    std::optional<std::string> mid;
    bool stopped = false;       ///< asked to stop (or stopped by the remote); its m-line is rejected next time
    bool created_by_remote = false;
    uint32_t ssrc = 0;
    uint32_t rtx_ssrc = 0;
    uint32_t fec_ssrc = 0;  ///< FlexFEC stream (a=ssrc-group:FEC-FR), once flexfec-03 was offered or answered
    std::optional<Direction> current_direction;  ///< after a completed negotiation
    std::vector<Codec> negotiated_codecs;        ///< kept so later offers reuse the agreed payload types
};

struct LocalTransport {
    std::string ice_ufrag;
    std::string ice_pwd;
    std::vector<std::string> ice_options{"trickle"};
    bool ice_lite = false;
    std::vector<Fingerprint> fingerprints;
    std::vector<Candidate> candidates;
    bool end_of_candidates = false;
};

struct NegotiatorConfig {
    std::vector<CodecCapability> audio_codecs;
    std::vector<CodecCapability> video_codecs;
    std::vector<std::string> audio_extensions;
    std::vector<std::string> video_extensions;
    bool accept_data_channels = true;  ///< answer an offered data channel m-line
    uint16_t sctp_port = 5000;
    uint64_t max_message_size = 262144;
    /// Offer RFC 8888 congestion control feedback (`a=rtcp-fb:* ack ccfb`) beside transport-cc. An offer that has
    /// it is always accepted; the answer then leaves transport-cc out (as libwebrtc does).
    bool offer_ccfb = false;
};

/// rtcpp's default capabilities: Opus (+RED), VP8, VP9 (profiles 0 and 2), H.264 (several profiles), AV1, each
/// video codec with RTX, plus video RED/ULPFEC and FlexFEC (flexfec-03, as Chromium's field trial advertises it); the usual WebRTC header extensions; data channels.
NegotiatorConfig default_config();

struct NegotiatedCodec {
    uint8_t pt = 0;
    std::string name;
    uint32_t clock_rate = 0;
    std::optional<uint16_t> channels;
    std::string fmtp;
    std::vector<RtcpFb> feedback;
    std::optional<uint8_t> rtx_pt;  ///< the rtx payload type whose apt is this codec
    bool operator==(const NegotiatedCodec&) const = default;
};

struct NegotiatedExtension {
    uint16_t id = 0;
    std::string uri;
    bool operator==(const NegotiatedExtension&) const = default;
};

struct NegotiatedMedia {
    size_t mline_index = 0;
    std::string mid;
    std::string kind;  ///< audio, video, application, or the offered kind of a rejected m-line
    bool rejected = false;
    std::optional<size_t> transceiver;  ///< index into Negotiator::transceivers()
    bool datachannel = false;
    Direction direction = Direction::Inactive;  ///< from the local point of view
    std::vector<NegotiatedCodec> codecs;         ///< primary codecs first (red and fec included), rtx folded in
    std::vector<NegotiatedExtension> extensions;
    bool rtcp_rsize = false;
    bool ccfb = false;  ///< RFC 8888 feedback agreed (`a=rtcp-fb:* ack ccfb`, or per codec)
    std::vector<std::string> send_rids;
    std::vector<std::string> recv_rids;
    std::vector<uint32_t> local_ssrcs;
    std::vector<uint32_t> remote_ssrcs;
    std::vector<SsrcGroup> remote_ssrc_groups;
    std::vector<Msid> remote_msids;
    // Transport, as the remote described it for this m-line (falling back to session level).
    std::string remote_ice_ufrag;
    std::string remote_ice_pwd;
    std::vector<Candidate> remote_candidates;
    bool remote_end_of_candidates = false;
    std::vector<Fingerprint> remote_fingerprints;
    // Data channel.
    bool legacy_sctp = false;
    uint16_t local_sctp_port = 0;
    uint16_t remote_sctp_port = 0;
    uint64_t remote_max_message_size = 0;  ///< 65536 when the remote did not say (RFC 8841)
};

/// The FlexFEC SSRC protecting `media_ssrc` in RFC 5956 FEC-FR groups (`a=ssrc-group:FEC-FR <media> <fec>`).
std::optional<uint32_t> fec_fr_ssrc(const std::vector<SsrcGroup>& groups, uint32_t media_ssrc);

struct Negotiated {
    std::vector<NegotiatedMedia> media;
    std::optional<std::string> bundle_tag;  ///< mid of the m-line whose transport carries everything
    // The one transport.
    std::string remote_ice_ufrag;
    std::string remote_ice_pwd;
    std::vector<Candidate> remote_candidates;  ///< from every bundled m-line, duplicates dropped
    std::vector<Fingerprint> remote_fingerprints;
    bool remote_ice_lite = false;
    DtlsRole dtls_role = DtlsRole::Client;  ///< local role
    bool ice_restart = false;               ///< remote credentials changed since the last negotiation
    const NegotiatedMedia* find(std::string_view mid) const;
};

struct Answer {
    Description description;
    Negotiated negotiated;
};

class Negotiator {
public:
    Negotiator(Random& random, LocalTransport transport, NegotiatorConfig config = default_config());

    size_t add_transceiver(TransceiverInit init);
    Result<void> stop_transceiver(size_t index);
    Result<void> set_direction(size_t index, Direction d);
    /// The msid stream id written for what this transceiver sends (from the next offer or answer on).
    Result<void> set_stream_id(size_t index, std::string stream_id);
    /// Whether offers carry a data channel m-line (once negotiated it stays, as JSEP requires).
    void set_data_channel(bool wanted) { want_data_ = want_data_ || wanted; }
    /// New ICE credentials or candidates; changed credentials make the next offer an ICE restart.
    void set_local_transport(LocalTransport t) { transport_ = std::move(t); }

    /// An offer for the current transceivers. It stays pending until apply_answer() or rollback().
    Result<Description> create_offer();
    Result<Negotiated> apply_answer(const Description& answer);
    void rollback() { pending_offer_.reset(); }
    bool has_pending_offer() const { return pending_offer_.has_value(); }

    /// Answers a remote offer (applying it as the remote description and the answer as the local one).
    Result<Answer> answer(const Description& offer);

    const std::vector<Transceiver>& transceivers() const { return transceivers_; }
    const std::optional<Negotiated>& current() const { return current_; }

private:
    struct Slot {
        std::string mid;
        std::string kind;
        std::string protocol;
        std::vector<std::string> formats;
        std::optional<size_t> transceiver;
        bool datachannel = false;
        bool rejected = false;  ///< rejected in the last completed negotiation (recyclable once free)
    };

    std::string next_mid();
    uint16_t extension_id(const std::string& uri);
    const std::vector<CodecCapability>& codecs_for(const Transceiver& t) const;
    std::vector<std::string> extensions_for(const Transceiver& t) const;
    void add_transport(MediaSection& m, Setup setup) const;
    MediaSection offer_media(const Slot& s);
    Description session_skeleton();
    Result<void> answer_rtp(const MediaSection& offered, const std::vector<Extmap>& session_extmaps, Transceiver& t,
                            MediaSection& out, NegotiatedMedia& nm);
    void fill_remote(const MediaSection& remote, const Description& whole, NegotiatedMedia& nm) const;
    void finish(Negotiated& n, const Description& remote);

    Random& random_;
    LocalTransport transport_;
    NegotiatorConfig config_;
    std::vector<Transceiver> transceivers_;
    std::vector<Slot> slots_;
    bool want_data_ = false;
    std::vector<std::pair<std::string, uint16_t>> extension_ids_;
    std::optional<Description> pending_offer_;
    std::vector<Slot> pending_slots_;
    std::optional<Negotiated> current_;
    std::optional<DtlsRole> dtls_role_;
    std::string last_remote_ufrag_, last_remote_pwd_;
    std::string session_id_;
    uint64_t session_version_ = 1;
    std::string cname_;
};

} // namespace rtcpp::sdp
