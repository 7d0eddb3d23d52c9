// Deciding whether a remote codec description and a local codec capability are "the same codec" for offer/answer
// (RFC 8829 section 5.3.1 and the codec payload format RFCs): name, clock rate, channels and the fmtp parameters
// that change the bitstream (H.264 profile and packetization-mode, VP9 profile-id, AV1 profile).
#pragma once

#include "sdp/description.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtcpp::sdp {

/// fmtp "a=1;b=2" as ordered key/value pairs (keys lower-cased, values verbatim; a bare value has an empty key).
using FmtpParams = std::vector<std::pair<std::string, std::string>>;
FmtpParams parse_fmtp(std::string_view fmtp);
std::string format_fmtp(const FmtpParams& params);
std::optional<std::string> fmtp_value(const FmtpParams& params, std::string_view key);

enum class H264Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    ConstrainedHigh,
    High,
    PredictiveHigh444,
};

struct H264ProfileLevel {
    H264Profile profile = H264Profile::ConstrainedBaseline;
    uint8_t level = 31;  ///< level_idc (e.g. 31 = level 3.1); level 1b is reported as 9
};

/// Classifies a 6-hex-digit profile-level-id (profile_idc, profile_iop, level_idc) as in RFC 6184 section 8.1.
std::optional<H264ProfileLevel> parse_h264_profile_level_id(std::string_view hex);
std::string format_h264_profile_level_id(const H264ProfileLevel& pl);

/// The local side of one codec: what we can send and receive, with the payload type we prefer when offering.
struct CodecCapability {
    std::string name;
    uint32_t clock_rate = 90000;
    std::optional<uint16_t> channels;
    std::string fmtp;  ///< for rtx "apt=<preferred pt of the primary>", for audio red "<pt>/<pt>"
    std::vector<RtcpFb> feedback;
    uint8_t preferred_pt = 96;
    bool operator==(const CodecCapability&) const = default;
};

bool is_rtx(std::string_view codec_name);
bool is_red(std::string_view codec_name);
bool is_fec(std::string_view codec_name);  ///< ulpfec, flexfec-03

/// True when `remote` (from an SDP) and `local` describe the same primary codec. Not for rtx and red, whose match
/// depends on the codecs they refer to.
bool codecs_match(const Codec& remote, const CodecCapability& local);

/// The fmtp an answerer puts on a matched H.264 codec: its own parameters, with profile-level-id at a level both
/// sides accept (the local level when both allow level asymmetry, else the lower of the two).
std::string h264_answer_fmtp(const Codec& offered, const CodecCapability& local);

} // namespace rtcpp::sdp
