#include "sdp/codec_match.hpp"

#include "sdp/text.hpp"

#include <algorithm>

namespace rtcpp::sdp {

FmtpParams parse_fmtp(std::string_view fmtp) {
    FmtpParams out;
    for (auto part : text::split_all(fmtp, ';')) {
        part = text::trim(part);
        if (part.empty()) continue;
        auto eq = part.find('=');
        if (eq == std::string_view::npos)
            out.emplace_back(std::string(), std::string(part));
        else
            out.emplace_back(text::to_lower(text::trim(part.substr(0, eq))), std::string(text::trim(part.substr(eq + 1))));
    }
    return out;
}

std::string format_fmtp(const FmtpParams& params) {
    std::string s;
    for (const auto& [k, v] : params) {
        if (!s.empty()) s += ';';
        s += k.empty() ? v : k + "=" + v;
    }
    return s;
}

std::optional<std::string> fmtp_value(const FmtpParams& params, std::string_view key) {
    for (const auto& [k, v] : params)
        if (k == key) return v;
    return std::nullopt;
}

namespace {

struct ProfilePattern {
    uint8_t idc;
    const char* iop;  // MSB first; 'x' = any
    H264Profile profile;
};

// RFC 6184 table 5 (profile_idc and the constraint_set flags in profile-iop).
constexpr ProfilePattern kProfilePatterns[] = {
    {0x42, "x1xx0000", H264Profile::ConstrainedBaseline}, {0x4D, "1xxx0000", H264Profile::ConstrainedBaseline},
    {0x58, "11xx0000", H264Profile::ConstrainedBaseline}, {0x42, "x0xx0000", H264Profile::Baseline},
    {0x58, "10xx0000", H264Profile::Baseline},            {0x4D, "0x0x0000", H264Profile::Main},
    {0x64, "00000000", H264Profile::High},                {0x64, "00001100", H264Profile::ConstrainedHigh},
    {0xF4, "00000000", H264Profile::PredictiveHigh444},
};

bool iop_matches(const char* pattern, uint8_t iop) {
    for (int i = 0; i < 8; ++i) {
        bool bit = (iop >> (7 - i)) & 1;
        if (pattern[i] == 'x') continue;
        if ((pattern[i] == '1') != bit) return false;
    }
    return true;
}

std::optional<uint8_t> hex_byte(std::string_view s) {
    auto n = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        c = text::lower(c);
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (s.size() != 2 || n(s[0]) < 0 || n(s[1]) < 0) return std::nullopt;
    return static_cast<uint8_t>(n(s[0]) * 16 + n(s[1]));
}

// libwebrtc treats a missing profile-level-id as Constrained Baseline 3.1; so do we, so that we agree with it.
constexpr H264ProfileLevel kDefaultH264{H264Profile::ConstrainedBaseline, 31};

H264ProfileLevel h264_of(const std::optional<std::string>& fmtp) {
    if (!fmtp) return kDefaultH264;
    auto p = fmtp_value(parse_fmtp(*fmtp), "profile-level-id");
    if (!p) return kDefaultH264;
    auto pl = parse_h264_profile_level_id(*p);
    return pl ? *pl : kDefaultH264;
}

bool h264_valid(const std::optional<std::string>& fmtp) {
    if (!fmtp) return true;
    auto p = fmtp_value(parse_fmtp(*fmtp), "profile-level-id");
    return !p || parse_h264_profile_level_id(*p).has_value();
}

std::string param_or(const std::optional<std::string>& fmtp, std::string_view key, std::string_view fallback) {
    if (!fmtp) return std::string(fallback);
    auto v = fmtp_value(parse_fmtp(*fmtp), key);
    return v ? *v : std::string(fallback);
}

// Level 1b (9) sorts between 1 (10) and 1.1 (11) numerically already.
uint8_t level_rank(uint8_t level) { return level; }

} // namespace

std::optional<H264ProfileLevel> parse_h264_profile_level_id(std::string_view hex) {
    if (hex.size() != 6) return std::nullopt;
    auto idc = hex_byte(hex.substr(0, 2)), iop = hex_byte(hex.substr(2, 2)), level = hex_byte(hex.substr(4, 2));
    if (!idc || !iop || !level) return std::nullopt;
    uint8_t lv = *level;
    if (lv == 11 && (*iop & 0x10) && (*idc == 0x42 || *idc == 0x4D || *idc == 0x58)) lv = 9;  // level 1b
    static constexpr uint8_t kLevels[] = {9, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52};
    if (std::find(std::begin(kLevels), std::end(kLevels), lv) == std::end(kLevels)) return std::nullopt;
    for (const auto& p : kProfilePatterns) {
        if (p.idc == *idc && iop_matches(p.iop, *iop)) return H264ProfileLevel{p.profile, lv};
    }
    return std::nullopt;
}

std::string format_h264_profile_level_id(const H264ProfileLevel& pl) {
    uint8_t idc = 0x42, iop = 0xe0;
    switch (pl.profile) {
    case H264Profile::ConstrainedBaseline: idc = 0x42, iop = 0xe0; break;
    case H264Profile::Baseline: idc = 0x42, iop = 0x00; break;
    case H264Profile::Main: idc = 0x4d, iop = 0x00; break;
    case H264Profile::ConstrainedHigh: idc = 0x64, iop = 0x0c; break;
    case H264Profile::High: idc = 0x64, iop = 0x00; break;
    case H264Profile::PredictiveHigh444: idc = 0xf4, iop = 0x00; break;
    }
    uint8_t level = pl.level;
    if (level == 9 && (idc == 0x42 || idc == 0x4d)) {
        level = 11;
        iop |= 0x10;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : {idc, iop, level}) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

bool is_rtx(std::string_view n) { return text::iequals(n, "rtx"); }
bool is_red(std::string_view n) { return text::iequals(n, "red"); }
bool is_fec(std::string_view n) { return text::iequals(n, "ulpfec") || text::iequals(n, "flexfec-03"); }

bool codecs_match(const Codec& remote, const CodecCapability& local) {
    if (!text::iequals(remote.name, local.name) || remote.clock_rate != local.clock_rate) return false;
    if (remote.channels.value_or(1) != local.channels.value_or(1)) return false;
    std::optional<std::string> local_fmtp;
    if (!local.fmtp.empty()) local_fmtp = local.fmtp;
    if (text::iequals(local.name, "H264")) {
        if (!h264_valid(remote.fmtp)) return false;
        if (param_or(remote.fmtp, "packetization-mode", "0") != param_or(local_fmtp, "packetization-mode", "0"))
            return false;
        return h264_of(remote.fmtp).profile == h264_of(local_fmtp).profile;
    }
    if (text::iequals(local.name, "VP9"))
        return param_or(remote.fmtp, "profile-id", "0") == param_or(local_fmtp, "profile-id", "0");
    if (text::iequals(local.name, "AV1"))
        return param_or(remote.fmtp, "profile", "0") == param_or(local_fmtp, "profile", "0");
    return true;
}

std::string h264_answer_fmtp(const Codec& offered, const CodecCapability& local) {
    auto params = parse_fmtp(local.fmtp);
    std::optional<std::string> local_fmtp;
    if (!local.fmtp.empty()) local_fmtp = local.fmtp;
    auto remote_pl = h264_of(offered.fmtp), local_pl = h264_of(local_fmtp);
    bool asymmetry = param_or(offered.fmtp, "level-asymmetry-allowed", "0") == "1" &&
                     param_or(local_fmtp, "level-asymmetry-allowed", "0") == "1";
    H264ProfileLevel answer = local_pl;
    if (!asymmetry && level_rank(remote_pl.level) < level_rank(local_pl.level)) answer.level = remote_pl.level;
    auto pli = format_h264_profile_level_id(answer);
    bool replaced = false;
    for (auto& [k, v] : params) {
        if (k == "profile-level-id") {
            v = pli;
            replaced = true;
        }
    }
    if (!replaced) params.emplace_back("profile-level-id", pli);
    return format_fmtp(params);
}

} // namespace rtcpp::sdp
