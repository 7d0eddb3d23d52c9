// SDP text -> Description. Reads line by line through string_view slices; a bad line is reported with its 1-based
// number and skipped, so every error in the text is found in one pass (up to kMaxErrors).
#include "sdp/description.hpp"
#include "sdp/text.hpp"

#include <algorithm>

namespace rtcpp::sdp {

namespace {

using text::parse_uint;
using text::split;
using text::trim;

bool early_line(const OtherLine& l);

class Parser {
public:
    ParseOutcome run(std::string_view input);

private:
    void fail(std::string reason) {
        if (out_.errors.size() < kMaxErrors) out_.errors.push_back({line_no_, std::move(reason)});
    }
    bool line(char type, std::string_view value);
    bool session_attribute(std::string_view name, std::optional<std::string_view> value);
    bool media_attribute(MediaSection& m, std::string_view name, std::optional<std::string_view> value);
    // Attributes valid at both levels; returns true if the name was one of them.
    bool common_attribute(TransportAttributes& t, std::vector<Extmap>& extmaps, std::optional<Direction>& dir,
                          bool& allow_mixed, std::string_view name, std::optional<std::string_view> value, bool& ok);
    Codec& codec(MediaSection& m, uint8_t pt);
    void finish_media(MediaSection& m);

    ParseOutcome out_;
    size_t line_no_ = 0;
    MediaSection* media_ = nullptr;
    bool seen_origin_ = false, seen_name_ = false, seen_time_ = false;
    std::vector<size_t> group_lines_;
};

std::optional<Connection> parse_connection(std::string_view v) {
    auto f = split(v);
    if (f.size() != 3 || !text::is_visible(f[0]) || !text::is_visible(f[1]) || !text::is_visible(f[2]))
        return std::nullopt;
    return Connection{std::string(f[0]), std::string(f[1]), std::string(f[2])};
}

std::optional<Setup> parse_setup(std::string_view v) {
    if (v == "actpass") return Setup::Actpass;
    if (v == "active") return Setup::Active;
    if (v == "passive") return Setup::Passive;
    if (v == "holdconn") return Setup::Holdconn;
    return std::nullopt;
}

std::optional<uint8_t> parse_pt(std::string_view s) {
    auto pt = parse_uint<uint8_t>(s);
    if (!pt || *pt > 127) return std::nullopt;
    return pt;
}

ParseOutcome Parser::run(std::string_view input) {
    if (input.size() > kMaxSdpSize) {
        out_.errors.push_back({0, "description is " + std::to_string(input.size()) + " bytes, more than the limit of " +
                                      std::to_string(kMaxSdpSize)});
        return std::move(out_);
    }
    size_t pos = 0;
    bool first = true;
    while (pos < input.size()) {
        size_t nl = input.find('\n', pos);
        std::string_view l = input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? input.size() : nl + 1;
        ++line_no_;
        if (line_no_ > kMaxLines) {
            fail("more than " + std::to_string(kMaxLines) + " lines");
            break;
        }
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (l.empty()) continue;  // tolerated: blank lines carry nothing
        if (l.size() > kMaxLineLength) {
            fail("line is " + std::to_string(l.size()) + " bytes, more than the limit of " +
                 std::to_string(kMaxLineLength));
            continue;
        }
        if (l.size() < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z') {
            fail("expected '<type>=<value>'");
            continue;
        }
        char type = l[0];
        std::string_view value = l.substr(2);
        if (first) {
            first = false;
            if (type != 'v' || value != "0") {
                fail("first line must be 'v=0'");
                if (type != 'v') line(type, value);
            }
            continue;
        }
        if (type == 'v') {
            fail("duplicate v= line");
            continue;
        }
        if (!line(type, value) && out_.errors.size() >= kMaxErrors) break;
    }
    if (first) {
        line_no_ = 0;
        fail("empty description");
    }
    if (!first) {
        line_no_ = 0;
        if (!seen_origin_) fail("missing o= line");
        if (!seen_name_) fail("missing s= line");
        if (!seen_time_) fail("missing t= line");
    }
    if (media_) finish_media(*media_);
    auto& d = out_.description;
    std::stable_partition(d.other_lines.begin(), d.other_lines.end(), early_line);
    // Cross-line checks.
    std::vector<std::string_view> mids;
    for (const auto& m : d.media) {
        if (!m.mid) continue;
        if (std::find(mids.begin(), mids.end(), *m.mid) != mids.end()) {
            line_no_ = 0;
            fail("mid '" + *m.mid + "' used by two m-lines");
        }
        mids.push_back(*m.mid);
    }
    for (size_t g = 0; g < d.groups.size() && g < group_lines_.size(); ++g) {
        for (const auto& mid : d.groups[g].mids) {
            if (std::find(mids.begin(), mids.end(), mid) == mids.end()) {
                line_no_ = group_lines_[g];
                fail("group:" + d.groups[g].semantics + " names mid '" + mid + "' that no m-line has");
            }
        }
    }
    return std::move(out_);
}

bool Parser::line(char type, std::string_view value) {
    auto& d = out_.description;
    switch (type) {
    case 'o': {
        if (media_ || seen_origin_) {
            fail("o= must appear once, before the first m= line");
            return false;
        }
        seen_origin_ = true;
        auto f = split(value);
        if (f.size() != 6) {
            fail("o= needs 6 fields, got " + std::to_string(f.size()));
            return false;
        }
        auto ver = parse_uint<uint64_t>(f[2]);
        if (!ver || !text::is_visible(f[1])) {
            fail("o= session id/version must be numbers");
            return false;
        }
        d.origin = Origin{std::string(f[0]), std::string(f[1]), *ver, std::string(f[3]), std::string(f[4]),
                          std::string(f[5])};
        return true;
    }
    case 's':
        if (media_ || seen_name_) {
            fail("s= must appear once, before the first m= line");
            return false;
        }
        seen_name_ = true;
        d.session_name = std::string(value);
        return true;
    case 't': {
        if (media_) {
            fail("t= after an m= line");
            return false;
        }
        if (seen_time_) {
            d.other_lines.push_back({type, std::string(value)});
            return true;
        }
        seen_time_ = true;
        auto f = split(value);
        std::optional<uint64_t> a, b;
        if (f.size() == 2) a = parse_uint<uint64_t>(f[0]), b = parse_uint<uint64_t>(f[1]);
        if (!a || !b) {
            fail("t= needs two numbers");
            return false;
        }
        d.time_start = *a;
        d.time_stop = *b;
        return true;
    }
    case 'c': {
        auto c = parse_connection(value);
        if (!c) {
            fail("c= needs '<nettype> <addrtype> <address>'");
            return false;
        }
        auto& slot = media_ ? media_->connection : d.connection;
        if (slot) {
            fail("duplicate c= line");
            return false;
        }
        slot = *c;
        return true;
    }
    case 'b': {
        auto colon = value.find(':');
        std::optional<uint64_t> v;
        if (colon != std::string_view::npos) v = parse_uint<uint64_t>(value.substr(colon + 1));
        if (!v || colon == 0 || !text::is_token(value.substr(0, colon))) {
            fail("b= needs '<type>:<number>'");
            return false;
        }
        (media_ ? media_->bandwidths : d.bandwidths).push_back({std::string(value.substr(0, colon)), *v});
        return true;
    }
    case 'm': {
        if (d.media.size() >= kMaxMediaSections) {
            fail("more than " + std::to_string(kMaxMediaSections) + " m= lines");
            return false;
        }
        auto f = split(value);
        if (f.size() < 3) {
            fail("m= needs '<media> <port> <proto> <fmt> ...'");
            return false;
        }
        if (f.size() - 3 > kMaxFormatsPerMedia) {
            fail("more than " + std::to_string(kMaxFormatsPerMedia) + " formats");
            return false;
        }
        MediaSection m;
        if (!text::is_token(f[0])) {
            fail("m= media type '" + std::string(f[0]) + "'");
            return false;
        }
        m.kind = std::string(f[0]);
        auto slash = f[1].find('/');
        auto port = parse_uint<uint16_t>(f[1].substr(0, slash));
        if (!port) {
            fail("m= port '" + std::string(f[1]) + "'");
            return false;
        }
        m.port = *port;
        if (slash != std::string_view::npos) {
            auto count = parse_uint<uint16_t>(f[1].substr(slash + 1));
            if (!count) {
                fail("m= port count '" + std::string(f[1]) + "'");
                return false;
            }
            m.port_count = *count;
        }
        if (!text::is_visible(f[2])) {
            fail("m= protocol");
            return false;
        }
        m.protocol = std::string(f[2]);
        for (size_t i = 3; i < f.size(); ++i) m.formats.emplace_back(f[i]);
        if (m.is_rtp()) {
            for (const auto& fmt : m.formats) {
                if (!parse_pt(fmt)) {
                    fail("m= RTP payload type '" + fmt + "' is not a number 0-127");
                    return false;
                }
            }
        }
        if (media_) finish_media(*media_);
        d.media.push_back(std::move(m));
        media_ = &d.media.back();
        return true;
    }
    case 'a': {
        auto colon = value.find(':');
        std::string_view name = value.substr(0, colon);
        std::optional<std::string_view> v;
        if (colon != std::string_view::npos) v = value.substr(colon + 1);
        if (name.empty() || !text::is_token(name)) {
            fail("attribute name '" + std::string(name) + "'");
            return false;
        }
        return media_ ? media_attribute(*media_, name, v) : session_attribute(name, v);
    }
    default:
        (media_ ? media_->other_lines : d.other_lines).push_back({type, std::string(value)});
        return true;
    }
}

bool Parser::common_attribute(TransportAttributes& t, std::vector<Extmap>& extmaps, std::optional<Direction>& dir,
                              bool& allow_mixed, std::string_view name, std::optional<std::string_view> value,
                              bool& ok) {
    auto need_value = [&]() -> bool {
        if (value && !value->empty()) return true;
        fail("a=" + std::string(name) + " needs a value");
        return false;
    };
    auto no_dup = [&](bool present) -> bool {
        if (!present) return true;
        fail("duplicate a=" + std::string(name));
        return false;
    };
    ok = false;
    if (auto d = direction_from_string(name)) {
        if (!no_dup(dir.has_value())) return true;
        dir = *d;
        ok = true;
    } else if (name == "ice-ufrag" || name == "ice-pwd") {
        auto& slot = name == "ice-ufrag" ? t.ice_ufrag : t.ice_pwd;
        if (!need_value() || !no_dup(slot.has_value())) return true;
        if (value->size() > 256 || !text::is_visible(*value)) {
            fail("a=" + std::string(name) + " value is not 1-256 visible characters");
            return true;
        }
        slot = std::string(*value);
        ok = true;
    } else if (name == "ice-options") {
        if (!need_value()) return true;
        for (auto o : split(*value)) t.ice_options.emplace_back(o);
        ok = true;
    } else if (name == "candidate") {
        if (!need_value()) return true;
        if (t.candidates.size() >= kMaxCandidatesPerMedia) {
            fail("more than " + std::to_string(kMaxCandidatesPerMedia) + " candidates in one section");
            return true;
        }
        auto c = parse_candidate(*value);
        if (!c) {
            fail(c.error().message);
            return true;
        }
        t.candidates.push_back(std::move(*c));
        ok = true;
    } else if (name == "end-of-candidates") {
        t.end_of_candidates = true;
        ok = true;
    } else if (name == "fingerprint") {
        if (!need_value()) return true;
        auto f = parse_fingerprint(*value);
        if (!f) {
            fail(f.error().message);
            return true;
        }
        t.fingerprints.push_back(std::move(*f));
        ok = true;
    } else if (name == "setup") {
        if (!need_value() || !no_dup(t.setup.has_value())) return true;
        auto s = parse_setup(*value);
        if (!s) {
            fail("a=setup value '" + std::string(*value) + "'");
            return true;
        }
        t.setup = *s;
        ok = true;
    } else if (name == "extmap") {
        if (!need_value()) return true;
        auto f = split(*value);
        if (f.size() < 2) {
            fail("a=extmap needs '<id>[/<direction>] <uri>'");
            return true;
        }
        Extmap e;
        auto slash = f[0].find('/');
        auto id = parse_uint<uint16_t>(f[0].substr(0, slash));
        if (!id || *id == 0 || *id > 255 || *id == 15) {
            fail("a=extmap id '" + std::string(f[0]) + "' (1-14 or 16-255)");
            return true;
        }
        e.id = *id;
        if (slash != std::string_view::npos) {
            e.direction = direction_from_string(f[0].substr(slash + 1));
            if (!e.direction) {
                fail("a=extmap direction '" + std::string(f[0].substr(slash + 1)) + "'");
                return true;
            }
        }
        e.uri = std::string(f[1]);
        // Attributes after the URI are kept verbatim, normalized to single spaces.
        for (size_t i = 2; i < f.size(); ++i) {
            if (!e.attributes.empty()) e.attributes += ' ';
            e.attributes += f[i];
        }
        for (const auto& other : extmaps) {
            if (other.id == e.id) {
                fail("a=extmap id " + std::to_string(e.id) + " used twice");
                return true;
            }
        }
        extmaps.push_back(std::move(e));
        ok = true;
    } else if (name == "extmap-allow-mixed") {
        allow_mixed = true;
        ok = true;
    } else {
        return false;
    }
    return true;
}

bool Parser::session_attribute(std::string_view name, std::optional<std::string_view> value) {
    auto& d = out_.description;
    bool ok = false;
    if (common_attribute(d.transport, d.extmaps, d.direction, d.extmap_allow_mixed, name, value, ok)) return ok;
    if (name == "group") {
        auto f = value ? split(*value) : std::vector<std::string_view>{};
        if (f.empty() || !text::is_token(f[0])) {
            fail("a=group needs '<semantics> <mid> ...'");
            return false;
        }
        Group g{std::string(f[0]), {}};
        for (size_t i = 1; i < f.size(); ++i) g.mids.emplace_back(f[i]);
        d.groups.push_back(std::move(g));
        group_lines_.push_back(line_no_);
        return true;
    }
    if (name == "ice-lite") {
        d.ice_lite = true;
        return true;
    }
    if (name == "msid-semantic") {
        if (d.msid_semantic) {
            fail("duplicate a=msid-semantic");
            return false;
        }
        d.msid_semantic = std::string(trim(value.value_or("")));
        return true;
    }
    d.attributes.push_back({std::string(name), value ? std::optional<std::string>(std::string(*value)) : std::nullopt});
    return true;
}

Codec& Parser::codec(MediaSection& m, uint8_t pt) {
    for (auto& c : m.codecs)
        if (c.pt == pt) return c;
    m.codecs.push_back(Codec{});
    m.codecs.back().pt = pt;
    return m.codecs.back();
}

bool Parser::media_attribute(MediaSection& m, std::string_view name, std::optional<std::string_view> value) {
    bool ok = false;
    if (common_attribute(m.transport, m.extmaps, m.direction, m.extmap_allow_mixed, name, value, ok)) return ok;
    auto bad = [&](std::string reason) {
        fail("a=" + std::string(name) + ": " + std::move(reason));
        return false;
    };
    std::string_view v = value.value_or("");
    if (name == "mid") {
        if (m.mid) return bad("duplicate");
        if (v.empty() || v.size() > 64 || !text::is_token(v)) return bad("'" + std::string(v) + "' is not a token of 1-64 characters");
        m.mid = std::string(v);
    } else if (name == "msid") {
        auto f = split(v);
        if (f.empty() || f.size() > 2) return bad("needs '<stream id> [<track id>]'");
        m.msids.push_back({std::string(f[0]), f.size() > 1 ? std::string(f[1]) : std::string()});
    } else if (name == "rtcp") {
        if (m.rtcp) return bad("duplicate");
        auto sp = v.find(' ');
        auto port = parse_uint<uint16_t>(v.substr(0, sp));
        if (!port) return bad("port '" + std::string(v.substr(0, sp)) + "'");
        RtcpAttribute r{*port, std::nullopt};
        if (sp != std::string_view::npos) {
            r.connection = parse_connection(v.substr(sp + 1));
            if (!r.connection) return bad("address must be '<nettype> <addrtype> <address>'");
        }
        m.rtcp = r;
    } else if (name == "rtcp-mux") {
        m.rtcp_mux = true;
    } else if (name == "rtcp-mux-only") {
        m.rtcp_mux_only = true;
    } else if (name == "rtcp-rsize") {
        m.rtcp_rsize = true;
    } else if (name == "rtpmap") {
        auto f = split(v);
        if (f.size() != 2) return bad("needs '<pt> <name>/<clock rate>[/<channels>]'");
        auto pt = parse_pt(f[0]);
        if (!pt) return bad("payload type '" + std::string(f[0]) + "'");
        auto parts = text::split_all(f[1], '/');
        if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) return bad("encoding '" + std::string(f[1]) + "'");
        auto clock = parse_uint<uint32_t>(parts[1]);
        if (!clock || *clock == 0) return bad("clock rate '" + std::string(parts[1]) + "'");
        std::optional<uint16_t> channels;
        if (parts.size() == 3) {
            channels = parse_uint<uint16_t>(parts[2]);
            if (!channels || *channels == 0) return bad("channels '" + std::string(parts[2]) + "'");
        }
        if (m.codecs.size() >= kMaxFormatsPerMedia && !m.find_codec(*pt)) return bad("too many payload types");
        auto& c = codec(m, *pt);
        if (!c.name.empty()) return bad("duplicate for payload type " + std::to_string(*pt));
        c.name = std::string(parts[0]);
        c.clock_rate = *clock;
        c.channels = channels;
    } else if (name == "fmtp") {
        auto sp = v.find(' ');
        if (sp == std::string_view::npos) return bad("needs '<format> <parameters>'");
        auto params = trim(v.substr(sp + 1));
        if (!m.is_rtp()) {
            m.attributes.push_back({std::string(name), std::string(v)});
            return true;
        }
        auto pt = parse_pt(v.substr(0, sp));
        if (!pt) return bad("payload type '" + std::string(v.substr(0, sp)) + "'");
        if (params.empty()) return bad("empty parameters");
        if (m.codecs.size() >= kMaxFormatsPerMedia && !m.find_codec(*pt)) return bad("too many payload types");
        auto& c = codec(m, *pt);
        if (c.fmtp) return bad("duplicate for payload type " + std::to_string(*pt));
        c.fmtp = std::string(params);
    } else if (name == "rtcp-fb") {
        auto f = split(v);
        if (f.size() < 2) return bad("needs '<pt> <type> [<subtype>]'");
        RtcpFb fb{std::string(f[1]), {}};
        for (size_t i = 2; i < f.size(); ++i) {
            if (!fb.subtype.empty()) fb.subtype += ' ';
            fb.subtype += f[i];
        }
        if (f[0] == "*") {
            if (m.wildcard_feedback.size() >= 64) return bad("too many");
            m.wildcard_feedback.push_back(std::move(fb));
            return true;
        }
        auto pt = parse_pt(f[0]);
        if (!pt) return bad("payload type '" + std::string(f[0]) + "'");
        if (m.codecs.size() >= kMaxFormatsPerMedia && !m.find_codec(*pt)) return bad("too many payload types");
        auto& c = codec(m, *pt);
        if (c.feedback.size() >= 64) return bad("too many for one payload type");
        c.feedback.push_back(std::move(fb));
    } else if (name == "ssrc") {
        auto sp = v.find(' ');
        auto ssrc = parse_uint<uint32_t>(v.substr(0, sp));
        if (!ssrc) return bad("ssrc '" + std::string(v.substr(0, sp)) + "'");
        if (sp == std::string_view::npos) return bad("needs '<ssrc> <attribute>[:<value>]'");
        auto rest = trim(v.substr(sp + 1));
        auto colon = rest.find(':');
        SsrcAttribute a{*ssrc, std::string(rest.substr(0, colon)), std::nullopt};
        if (!text::is_token(a.attribute)) return bad("attribute name '" + a.attribute + "'");
        if (colon != std::string_view::npos) a.value = std::string(rest.substr(colon + 1));
        if (m.ssrcs.size() >= 1024) return bad("more than 1024 a=ssrc lines");
        m.ssrcs.push_back(std::move(a));
    } else if (name == "ssrc-group") {
        auto f = split(v);
        if (f.size() < 2 || !text::is_token(f[0])) return bad("needs '<semantics> <ssrc> ...'");
        SsrcGroup g{std::string(f[0]), {}};
        for (size_t i = 1; i < f.size(); ++i) {
            auto s = parse_uint<uint32_t>(f[i]);
            if (!s) return bad("ssrc '" + std::string(f[i]) + "'");
            g.ssrcs.push_back(*s);
        }
        if (m.ssrc_groups.size() >= 256) return bad("too many");
        m.ssrc_groups.push_back(std::move(g));
    } else if (name == "rid") {
        auto f = split(v);
        if (f.size() < 2 || f.size() > 3) return bad("needs '<id> send|recv [<restrictions>]'");
        if (!text::is_token(f[0]) || f[0].size() > 255) return bad("id '" + std::string(f[0]) + "'");
        Rid r{std::string(f[0]), RidDirection::Send, f.size() == 3 ? std::string(f[2]) : std::string()};
        if (f[1] == "send")
            r.direction = RidDirection::Send;
        else if (f[1] == "recv")
            r.direction = RidDirection::Recv;
        else
            return bad("direction '" + std::string(f[1]) + "'");
        for (const auto& o : m.rids)
            if (o.id == r.id && o.direction == r.direction) return bad("duplicate rid '" + r.id + "'");
        if (m.rids.size() >= 32) return bad("more than 32 rids");
        m.rids.push_back(std::move(r));
    } else if (name == "simulcast") {
        if (m.simulcast) return bad("duplicate");
        auto f = split(v);
        if (f.empty() || f.size() % 2 != 0 || f.size() > 4) return bad("needs 'send|recv <streams> [recv|send <streams>]'");
        Simulcast s;
        bool seen_send = false, seen_recv = false;
        for (size_t i = 0; i + 1 < f.size(); i += 2) {
            bool send = f[i] == "send";
            if (!send && f[i] != "recv") return bad("direction '" + std::string(f[i]) + "'");
            if (send ? seen_send : seen_recv) return bad("direction given twice");
            (send ? seen_send : seen_recv) = true;
            auto list = f[i + 1];
            if (list.substr(0, 4) == "rid=") list.remove_prefix(4);  // draft-era syntax (old Firefox)
            auto& dst = send ? s.send : s.recv;
            for (auto stream : text::split_all(list, ';')) {
                std::vector<SimulcastStream> alts;
                for (auto alt : text::split_all(stream, ',')) {
                    SimulcastStream st;
                    if (!alt.empty() && alt.front() == '~') {
                        st.paused = true;
                        alt.remove_prefix(1);
                    }
                    if (!text::is_token(alt)) return bad("rid '" + std::string(alt) + "'");
                    st.rid = std::string(alt);
                    alts.push_back(std::move(st));
                }
                if (dst.size() >= 32) return bad("more than 32 streams");
                dst.push_back(std::move(alts));
            }
        }
        m.simulcast = std::move(s);
    } else if (name == "sctp-port") {
        if (m.sctp_port) return bad("duplicate");
        auto p = parse_uint<uint16_t>(v);
        if (!p) return bad("port '" + std::string(v) + "'");
        m.sctp_port = *p;
    } else if (name == "max-message-size") {
        if (m.max_message_size) return bad("duplicate");
        auto p = parse_uint<uint64_t>(v);
        if (!p) return bad("size '" + std::string(v) + "'");
        m.max_message_size = *p;
    } else if (name == "sctpmap") {
        if (m.sctpmap) return bad("duplicate");
        auto f = split(v);
        if (f.size() < 2 || f.size() > 3) return bad("needs '<number> <app> [<streams>]'");
        auto num = parse_uint<uint16_t>(f[0]);
        if (!num) return bad("number '" + std::string(f[0]) + "'");
        if (!text::is_token(f[1])) return bad("app '" + std::string(f[1]) + "'");
        Sctpmap s{*num, std::string(f[1]), std::nullopt};
        if (f.size() == 3) {
            s.streams = parse_uint<uint32_t>(f[2]);
            if (!s.streams) return bad("streams '" + std::string(f[2]) + "'");
        }
        m.sctpmap = s;
    } else {
        if (m.attributes.size() >= 1024) return bad("more than 1024 unknown attributes");
        m.attributes.push_back({std::string(name), value ? std::optional<std::string>(std::string(*value)) : std::nullopt});
    }
    return true;
}

bool early_line(const OtherLine& l) { return l.type == 'i' || l.type == 'u' || l.type == 'e' || l.type == 'p'; }

void Parser::finish_media(MediaSection& m) {
    // The serializer writes i=/u=/e=/p= before c= and the rest after; mirror that so a round trip is exact.
    std::stable_partition(m.other_lines.begin(), m.other_lines.end(), early_line);
    // Codecs follow the order of the m-line's formats, so the serializer's output parses back to the same model.
    auto rank = [&](const Codec& c) {
        auto s = std::to_string(c.pt);
        auto it = std::find(m.formats.begin(), m.formats.end(), s);
        return static_cast<size_t>(it - m.formats.begin());
    };
    std::stable_sort(m.codecs.begin(), m.codecs.end(), [&](const Codec& a, const Codec& b) { return rank(a) < rank(b); });
}

} // namespace

ParseOutcome parse_detailed(std::string_view text) {
    Parser p;
    return p.run(text);
}

Result<Description> parse(std::string_view text) {
    auto out = parse_detailed(text);
    if (!out.errors.empty()) {
        const auto& e = out.errors.front();
        std::string msg = e.line ? "line " + std::to_string(e.line) + ": " + e.reason : e.reason;
        return make_error(ErrorCategory::SyntaxError, "sdp", std::move(msg));
    }
    return std::move(out.description);
}

} // namespace rtcpp::sdp
