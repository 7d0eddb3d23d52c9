// The typed SDP model (RFC 8866 with the WebRTC attributes of RFC 8829/8839/8841/8843/8851/8853/8858/5576/8285).
//
// Known attributes are typed fields; everything else is kept verbatim, in order, so that a description survives a
// parse -> serialize -> parse round trip unchanged (operator== on the model). The serializer writes attributes in a
// fixed order, so the text it produces ("normalized SDP") may differ in attribute order from the input.
#pragma once

#include "sdp/candidate.hpp"

#include <rtcpp/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcpp::sdp {

// Documented limits. Input beyond them is refused with an error that names the limit.
inline constexpr size_t kMaxSdpSize = 256 * 1024;       ///< bytes of SDP text
inline constexpr size_t kMaxLineLength = 4096;          ///< bytes per line, without the line ending
inline constexpr size_t kMaxLines = 8192;               ///< lines per description
inline constexpr size_t kMaxMediaSections = 256;        ///< m-lines per description
inline constexpr size_t kMaxCandidatesPerMedia = 128;   ///< a=candidate lines per m-line (or session)
inline constexpr size_t kMaxFormatsPerMedia = 128;      ///< formats on one m-line
inline constexpr size_t kMaxErrors = 64;                ///< errors collected before the parser gives up

enum class Direction { SendRecv, SendOnly, RecvOnly, Inactive };
enum class Setup { Actpass, Active, Passive, Holdconn };
enum class HashAlgorithm { Sha1, Sha224, Sha256, Sha384, Sha512 };

std::string_view to_string(Direction d);
std::string_view to_string(Setup s);
std::string_view to_string(HashAlgorithm h);
std::optional<Direction> direction_from_string(std::string_view s);
/// Digest length in bytes for the algorithm.
size_t digest_size(HashAlgorithm h);

constexpr bool has_send(Direction d) { return d == Direction::SendRecv || d == Direction::SendOnly; }
constexpr bool has_recv(Direction d) { return d == Direction::SendRecv || d == Direction::RecvOnly; }
constexpr Direction make_direction(bool send, bool recv) {
    return send ? (recv ? Direction::SendRecv : Direction::SendOnly) : (recv ? Direction::RecvOnly : Direction::Inactive);
}
/// The direction as the other side sees it (sendonly <-> recvonly).
constexpr Direction reverse(Direction d) { return make_direction(has_recv(d), has_send(d)); }

struct Origin {
    std::string username = "-";
    std::string session_id = "0";  ///< kept as text: peers send numbers beyond 64 bits
    uint64_t session_version = 0;
    std::string net_type = "IN";
    std::string addr_type = "IP4";
    std::string address = "127.0.0.1";
    bool operator==(const Origin&) const = default;
};

struct Connection {
    std::string net_type = "IN";
    std::string addr_type = "IP4";
    std::string address = "0.0.0.0";  ///< may carry "/ttl" for multicast; kept verbatim
    bool operator==(const Connection&) const = default;
};

struct Bandwidth {
    std::string type;  ///< AS, CT, TIAS, ...
    uint64_t value = 0;
    bool operator==(const Bandwidth&) const = default;
};

struct Fingerprint {
    HashAlgorithm algorithm = HashAlgorithm::Sha256;
    std::vector<uint8_t> digest;
    /// "sha-256 AB:CD:..."
    std::string to_string() const;
    bool operator==(const Fingerprint&) const = default;
};
Result<Fingerprint> parse_fingerprint(std::string_view value);

struct Group {
    std::string semantics;  ///< BUNDLE, LS, ...
    std::vector<std::string> mids;
    bool operator==(const Group&) const = default;
};

struct Extmap {
    uint16_t id = 0;
    std::optional<Direction> direction;
    std::string uri;
    std::string attributes;  ///< extension attributes after the URI, verbatim (usually empty)
    bool operator==(const Extmap&) const = default;
};

struct RtcpFb {
    std::string type;     ///< nack, ccm, goog-remb, transport-cc, ...
    std::string subtype;  ///< pli, fir, ... (may be empty)
    bool operator==(const RtcpFb&) const = default;
};

/// One payload type of an RTP m-line with its rtpmap, fmtp and rtcp-fb lines.
struct Codec {
    uint8_t pt = 0;
    std::string name;  ///< empty when the payload type has no a=rtpmap (static payload types)
    uint32_t clock_rate = 0;
    std::optional<uint16_t> channels;
    std::optional<std::string> fmtp;
    std::vector<RtcpFb> feedback;
    bool operator==(const Codec&) const = default;
};

struct Msid {
    std::string stream_id;
    std::string track_id;  ///< may be empty
    bool operator==(const Msid&) const = default;
};

/// One a=ssrc line: "a=ssrc:<ssrc> <attribute>[:<value>]".
struct SsrcAttribute {
    uint32_t ssrc = 0;
    std::string attribute;
    std::optional<std::string> value;
    bool operator==(const SsrcAttribute&) const = default;
};

struct SsrcGroup {
    std::string semantics;  ///< FID, FEC-FR, SIM, ...
    std::vector<uint32_t> ssrcs;
    bool operator==(const SsrcGroup&) const = default;
};

enum class RidDirection { Send, Recv };

struct Rid {
    std::string id;
    RidDirection direction = RidDirection::Send;
    std::string restrictions;  ///< "pt=96;max-width=1280" verbatim (may be empty)
    bool operator==(const Rid&) const = default;
};

struct SimulcastStream {
    std::string rid;
    bool paused = false;
    bool operator==(const SimulcastStream&) const = default;
};

/// a=simulcast (RFC 8853): each direction is a list of streams, each stream a list of alternative rids.
struct Simulcast {
    std::vector<std::vector<SimulcastStream>> send;
    std::vector<std::vector<SimulcastStream>> recv;
    bool operator==(const Simulcast&) const = default;
};

struct Sctpmap {
    uint16_t number = 5000;
    std::string app = "webrtc-datachannel";
    std::optional<uint32_t> streams;
    bool operator==(const Sctpmap&) const = default;
};

struct RtcpAttribute {
    uint16_t port = 9;
    std::optional<Connection> connection;
    bool operator==(const RtcpAttribute&) const = default;
};

/// An attribute this model does not type, kept verbatim: "a=<name>[:<value>]".
struct Attribute {
    std::string name;
    std::optional<std::string> value;
    bool operator==(const Attribute&) const = default;
};

/// Lines other than a=, c=, b=, m= that a section may carry (i=, u=, e=, p=, k=, r=, z=), kept verbatim.
struct OtherLine {
    char type = 'i';
    std::string value;
    bool operator==(const OtherLine&) const = default;
};

/// Transport attributes valid at session and media level.
struct TransportAttributes {
    std::optional<std::string> ice_ufrag;
    std::optional<std::string> ice_pwd;
    std::vector<std::string> ice_options;  ///< trickle, ice2, renomination, ...
    std::vector<Candidate> candidates;
    bool end_of_candidates = false;
    std::vector<Fingerprint> fingerprints;
    std::optional<Setup> setup;
    bool operator==(const TransportAttributes&) const = default;
};

struct MediaSection {
    std::string kind;  ///< audio, video, application, or anything else (kept)
    uint16_t port = 9;
    std::optional<uint16_t> port_count;
    std::string protocol;  ///< UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP, DTLS/SCTP, ...
    std::vector<std::string> formats;

    std::vector<OtherLine> other_lines;
    std::optional<Connection> connection;
    std::vector<Bandwidth> bandwidths;

    std::optional<std::string> mid;
    std::optional<Direction> direction;
    std::vector<Msid> msids;
    std::optional<RtcpAttribute> rtcp;
    bool rtcp_mux = false;
    bool rtcp_mux_only = false;
    bool rtcp_rsize = false;
    bool extmap_allow_mixed = false;
    TransportAttributes transport;
    std::vector<Extmap> extmaps;
    std::vector<Codec> codecs;            ///< ordered as the formats on the m-line, then any others
    std::vector<RtcpFb> wildcard_feedback;  ///< a=rtcp-fb:* lines
    std::vector<SsrcGroup> ssrc_groups;
    std::vector<SsrcAttribute> ssrcs;
    std::vector<Rid> rids;
    std::optional<Simulcast> simulcast;
    std::optional<uint16_t> sctp_port;
    std::optional<uint64_t> max_message_size;
    std::optional<Sctpmap> sctpmap;
    std::vector<Attribute> attributes;  ///< unknown attributes, in input order

    bool is_rtp() const;
    bool is_datachannel() const;  ///< modern or legacy SCTP data channel m-line
    bool is_legacy_sctp() const;  ///< "DTLS/SCTP 5000" + a=sctpmap
    bool rejected() const { return port == 0 && !has_attribute("bundle-only"); }
    bool has_attribute(std::string_view name) const;
    const Codec* find_codec(uint8_t pt) const;
    /// Every distinct SSRC named by a=ssrc lines, in order of first appearance.
    std::vector<uint32_t> ssrc_list() const;
    bool operator==(const MediaSection&) const = default;
};

struct Description {
    Origin origin;
    std::string session_name = "-";
    uint64_t time_start = 0;
    uint64_t time_stop = 0;
    std::vector<OtherLine> other_lines;
    std::optional<Connection> connection;
    std::vector<Bandwidth> bandwidths;

    std::vector<Group> groups;
    bool extmap_allow_mixed = false;
    bool ice_lite = false;
    std::optional<std::string> msid_semantic;  ///< "WMS" or "WMS id1 id2", verbatim after the colon, trimmed
    std::optional<Direction> direction;
    TransportAttributes transport;
    std::vector<Extmap> extmaps;
    std::vector<Attribute> attributes;

    std::vector<MediaSection> media;

    const Group* find_group(std::string_view semantics) const;
    const MediaSection* find_media(std::string_view mid) const;
    bool operator==(const Description&) const = default;
};

struct ParseError {
    size_t line = 0;  ///< 1-based; 0 for errors about the whole text (size)
    std::string reason;
    bool operator==(const ParseError&) const = default;
};

/// Everything the parser found: the description (as far as it could be read) and every error. Lines with errors
/// are skipped, so one bad line does not hide the errors that follow.
struct ParseOutcome {
    Description description;
    std::vector<ParseError> errors;
    bool ok() const { return errors.empty(); }
};

ParseOutcome parse_detailed(std::string_view text);
/// The description, or the first error as "line N: reason" (category SyntaxError, layer "sdp").
Result<Description> parse(std::string_view text);
/// SDP text with CRLF line endings, attributes in a fixed order.
std::string serialize(const Description& d);

} // namespace rtcpp::sdp
