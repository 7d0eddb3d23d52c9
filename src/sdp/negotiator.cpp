#include "sdp/negotiator.hpp"

#include "sdp/text.hpp"

#include <algorithm>

namespace rtcpp::sdp {

std::string_view to_string(MediaKind k) { return k == MediaKind::Audio ? "audio" : "video"; }

const NegotiatedMedia* Negotiated::find(std::string_view mid) const {
    for (const auto& m : media)
        if (m.mid == mid) return &m;
    return nullptr;
}

std::optional<uint32_t> fec_fr_ssrc(const std::vector<SsrcGroup>& groups, uint32_t media_ssrc) {
    for (const auto& g : groups)
        if (g.semantics == "FEC-FR" && g.ssrcs.size() == 2 && g.ssrcs[0] == media_ssrc && g.ssrcs[1] != media_ssrc)
            return g.ssrcs[1];
    return std::nullopt;
}

NegotiatorConfig default_config() {
    NegotiatorConfig c;
    const std::vector<RtcpFb> video_fb = {{"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}};
    c.audio_codecs = {
        {"opus", 48000, 2, "minptime=10;useinbandfec=1", {{"transport-cc", ""}}, 111},
        {"red", 48000, 2, "111/111", {}, 63},
    };
    auto video = [&](std::string name, std::string fmtp, uint8_t pt) {
        c.video_codecs.push_back({std::move(name), 90000, std::nullopt, std::move(fmtp), video_fb, pt});
        c.video_codecs.push_back({"rtx", 90000, std::nullopt, "apt=" + std::to_string(pt), {}, static_cast<uint8_t>(pt + 1)});
    };
    video("VP8", "", 96);
    video("VP9", "profile-id=0", 98);
    video("VP9", "profile-id=2", 100);
    video("H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 102);
    video("H264", "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f", 104);
    video("H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 106);
    video("H264", "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f", 108);
    video("H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", 112); // rtx 113: 110/111 would put its rtx on opus's 111
    video("AV1", "level-idx=5;profile=0;tier=0", 45);
    video("red", "", 118);
    c.video_codecs.push_back({"ulpfec", 90000, std::nullopt, "", {}, 120});
    // FlexFEC as Chromium advertises it with WebRTC-FlexFEC-03-Advertised: in the lower dynamic range, with the
    // repair window it always writes (10 s in microseconds; nobody acts on it) and only goog-remb/transport-cc.
    c.video_codecs.push_back({"flexfec-03", 90000, std::nullopt, "repair-window=10000000",
                              {{"goog-remb", ""}, {"transport-cc", ""}}, 35});
    c.audio_extensions = {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "urn:ietf:params:rtp-hdrext:sdes:mid",
    };
    c.video_extensions = {
        "urn:ietf:params:rtp-hdrext:toffset",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "urn:3gpp:video-orientation",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "urn:ietf:params:rtp-hdrext:sdes:mid",
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    };
    return c;
}

namespace {

Error state_error(std::string m) { return make_error(ErrorCategory::InvalidStateError, "sdp", std::move(m)); }
Error access_error(std::string m) { return make_error(ErrorCategory::InvalidAccessError, "sdp", std::move(m)); }

constexpr std::string_view kTransportWideCcUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// RFC 8888 section 6: `a=rtcp-fb:* ack ccfb`, or the same for a payload type.
bool offers_ccfb(const MediaSection& m) {
    auto is_ccfb = [](const RtcpFb& fb) { return text::iequals(fb.type, "ack") && text::iequals(fb.subtype, "ccfb"); };
    if (std::any_of(m.wildcard_feedback.begin(), m.wildcard_feedback.end(), is_ccfb)) return true;
    return std::any_of(m.codecs.begin(), m.codecs.end(), [&](const Codec& c) {
        return std::any_of(c.feedback.begin(), c.feedback.end(), is_ccfb);
    });
}

std::string make_uuid(Random& r) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
        s += hex[r.uniform(16)];
    }
    return s;
}

uint32_t nonzero_u32(Random& r) {
    uint32_t v = 0;
    while (v == 0) v = r.next_u32();
    return v;
}

std::optional<uint8_t> apt_of(const std::optional<std::string>& fmtp) {
    if (!fmtp) return std::nullopt;
    auto v = fmtp_value(parse_fmtp(*fmtp), "apt");
    if (!v) return std::nullopt;
    auto n = text::parse_uint<uint8_t>(*v);
    if (!n || *n > 127) return std::nullopt;
    return n;
}

// "111/111" -> {111, 111}; nothing if any piece is not a payload type.
std::optional<std::vector<uint8_t>> red_pts(std::string_view fmtp) {
    std::vector<uint8_t> out;
    for (auto p : text::split_all(text::trim(fmtp), '/')) {
        auto n = text::parse_uint<uint8_t>(p);
        if (!n || *n > 127) return std::nullopt;
        out.push_back(*n);
    }
    if (out.empty()) return std::nullopt;
    return out;
}

bool is_audio_red(const Codec& c) { return is_red(c.name) && c.fmtp && !c.fmtp->empty(); }
bool is_audio_red(const CodecCapability& c) { return is_red(c.name) && !c.fmtp.empty(); }

bool in_formats(const MediaSection& m, uint8_t pt) {
    auto s = std::to_string(pt);
    return std::find(m.formats.begin(), m.formats.end(), s) != m.formats.end();
}

std::vector<RtcpFb> intersect_feedback(const std::vector<RtcpFb>& a, const std::vector<RtcpFb>& b) {
    std::vector<RtcpFb> out;
    for (const auto& fb : a)
        if (std::find(b.begin(), b.end(), fb) != b.end() && std::find(out.begin(), out.end(), fb) == out.end())
            out.push_back(fb);
    return out;
}

// Folds rtx entries into their primary codec (rtx_pt) and drops them from the list.
std::vector<NegotiatedCodec> fold_codecs(const std::vector<Codec>& codecs) {
    std::vector<NegotiatedCodec> out;
    for (const auto& c : codecs) {
        if (is_rtx(c.name)) continue;
        out.push_back({c.pt, c.name, c.clock_rate, c.channels, c.fmtp.value_or(""), c.feedback, std::nullopt});
    }
    for (const auto& c : codecs) {
        if (!is_rtx(c.name)) continue;
        auto apt = apt_of(c.fmtp);
        for (auto& p : out)
            if (apt && p.pt == *apt) p.rtx_pt = c.pt;
    }
    return out;
}

std::vector<std::string> first_rids(const std::vector<std::vector<SimulcastStream>>& streams) {
    std::vector<std::string> out;
    for (const auto& s : streams)
        if (!s.empty()) out.push_back(s.front().rid);
    return out;
}

std::optional<Direction> offered_direction(const MediaSection& m, const Description& d) {
    if (m.direction) return m.direction;
    if (d.direction) return d.direction;
    return std::nullopt;
}

} // namespace

Negotiator::Negotiator(Random& random, LocalTransport transport, NegotiatorConfig config)
    : random_(random), transport_(std::move(transport)), config_(std::move(config)) {
    // Session ids stay below 2^62 so every peer reads them as a positive 64-bit number.
    session_id_ = std::to_string(random_.next_u64() >> 2);
    cname_ = random_.ice_chars(16);
}

size_t Negotiator::add_transceiver(TransceiverInit init) {
    Transceiver t;
    if (init.stream_id.empty()) init.stream_id = make_uuid(random_);
    if (init.track_id.empty()) init.track_id = make_uuid(random_);
    t.init = std::move(init);
    t.ssrc = nonzero_u32(random_);
    do {
        t.rtx_ssrc = nonzero_u32(random_);
    } while (t.rtx_ssrc == t.ssrc);
    transceivers_.push_back(std::move(t));
    return transceivers_.size() - 1;
}

Result<void> Negotiator::stop_transceiver(size_t index) {
    if (index >= transceivers_.size()) return access_error("no transceiver " + std::to_string(index));
    transceivers_[index].stopped = true;
    return {};
}

Result<void> Negotiator::set_direction(size_t index, Direction d) {
    if (index >= transceivers_.size()) return access_error("no transceiver " + std::to_string(index));
    if (transceivers_[index].stopped) return state_error("transceiver is stopped");
    transceivers_[index].init.direction = d;
    return {};
}

Result<void> Negotiator::set_stream_id(size_t index, std::string stream_id) {
    if (index >= transceivers_.size()) return access_error("no transceiver " + std::to_string(index));
    if (stream_id.empty() || stream_id.find_first_of(" \t\r\n") != std::string::npos)
        return make_error(ErrorCategory::SyntaxError, "sdp", "an msid stream id is one non-empty token");
    transceivers_[index].init.stream_id = std::move(stream_id);
    return {};
}

std::string Negotiator::next_mid() {
    // Mids are never reused within a session: a recycled m-line gets a fresh one.
    auto used = [&](const std::string& m) {
        for (const auto* list : {&slots_, &pending_slots_})
            for (const auto& s : *list)
                if (s.mid == m) return true;
        return false;
    };
    size_t n = 0;
    while (used(std::to_string(n))) ++n;
    return std::to_string(n);
}

uint16_t Negotiator::extension_id(const std::string& uri) {
    for (const auto& [u, id] : extension_ids_)
        if (u == uri) return id;
    for (uint16_t id = 1; id <= 255; ++id) {
        if (id == 15) continue;
        bool taken = std::any_of(extension_ids_.begin(), extension_ids_.end(), [&](const auto& p) { return p.second == id; });
        if (!taken) {
            extension_ids_.emplace_back(uri, id);
            return id;
        }
    }
    return 0;
}

const std::vector<CodecCapability>& Negotiator::codecs_for(const Transceiver& t) const {
    if (!t.init.codecs.empty()) return t.init.codecs;
    return t.init.kind == MediaKind::Audio ? config_.audio_codecs : config_.video_codecs;
}

std::vector<std::string> Negotiator::extensions_for(const Transceiver& t) const {
    if (!t.init.header_extensions.empty()) return t.init.header_extensions;
    return t.init.kind == MediaKind::Audio ? config_.audio_extensions : config_.video_extensions;
}

void Negotiator::add_transport(MediaSection& m, Setup setup) const {
    m.port = 9;
    m.connection = Connection{"IN", "IP4", "0.0.0.0"};
    m.transport.ice_ufrag = transport_.ice_ufrag;
    m.transport.ice_pwd = transport_.ice_pwd;
    m.transport.ice_options = transport_.ice_options;
    m.transport.fingerprints = transport_.fingerprints;
    m.transport.setup = setup;
    m.transport.candidates = transport_.candidates;
    m.transport.end_of_candidates = transport_.end_of_candidates;
}

Description Negotiator::session_skeleton() {
    Description d;
    d.origin = Origin{"-", session_id_, session_version_++, "IN", "IP4", "127.0.0.1"};
    d.session_name = "-";
    d.msid_semantic = "WMS";
    d.ice_lite = transport_.ice_lite;
    return d;
}

namespace {

void add_local_media_identity(MediaSection& m, Transceiver& t, const std::string& cname, bool simulcast) {
    m.msids.push_back({t.init.stream_id, t.init.track_id});
    if (simulcast) return;  // rid-based streams are signaled by rid, not ssrc
    bool rtx = false, flexfec = false;
    for (const auto& c : m.codecs) {
        rtx = rtx || is_rtx(c.name);
        flexfec = flexfec || text::iequals(c.name, "flexfec-03");
    }
    std::vector<uint32_t> ssrcs{t.ssrc};
    if (rtx) {
        m.ssrc_groups.push_back({"FID", {t.ssrc, t.rtx_ssrc}});
        ssrcs.push_back(t.rtx_ssrc);
    }
    if (flexfec) {
        // The FlexFEC stream (RFC 5956 FEC-FR: protected SSRC first). Mixed from the two random SSRCs rather than
        // drawn: a draw here would shift every later draw of the session (report timing, sequence numbers) for
        // every peer that merely offers flexfec-03, which is every rtcpp peer.
        uint64_t x = (uint64_t{t.ssrc} << 32 | t.rtx_ssrc) + 0x9E3779B97F4A7C15ull;
        while (t.fec_ssrc == 0 || t.fec_ssrc == t.ssrc || t.fec_ssrc == t.rtx_ssrc) {
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
            x ^= x >> 31;
            t.fec_ssrc = static_cast<uint32_t>(x);
        }
        m.ssrc_groups.push_back({"FEC-FR", {t.ssrc, t.fec_ssrc}});
        ssrcs.push_back(t.fec_ssrc);
    }
    for (uint32_t s : ssrcs) {
        m.ssrcs.push_back({s, "cname", cname});
        m.ssrcs.push_back({s, "msid", t.init.stream_id + " " + t.init.track_id});
    }
}

} // namespace

MediaSection Negotiator::offer_media(const Slot& s) {
    MediaSection m;
    m.kind = s.kind;
    m.mid = s.mid;
    if (s.transceiver && !transceivers_[*s.transceiver].stopped) {
        auto& t = transceivers_[*s.transceiver];
        m.protocol = "UDP/TLS/RTP/SAVPF";
        add_transport(m, Setup::Actpass);
        for (const auto& uri : extensions_for(t)) m.extmaps.push_back({extension_id(uri), std::nullopt, uri, ""});
        m.direction = t.init.direction;
        m.rtcp_mux = true;
        m.rtcp_rsize = true;
        if (config_.offer_ccfb) m.wildcard_feedback.push_back(RtcpFb{"ack", "ccfb"});

        // Payload types: those agreed earlier stay; new codecs take their preferred type or a free one.
        std::vector<Codec> codecs = t.negotiated_codecs;
        std::vector<bool> used(128, false);
        for (const auto& c : codecs) used[c.pt] = true;
        auto take_pt = [&](uint8_t preferred) -> std::optional<uint8_t> {
            if (preferred < 128 && !used[preferred]) return preferred;
            for (int pt = 96; pt <= 127; ++pt)
                if (!used[pt]) return static_cast<uint8_t>(pt);
            for (int pt = 35; pt <= 63; ++pt)
                if (!used[pt]) return static_cast<uint8_t>(pt);
            return std::nullopt;
        };
        std::vector<std::pair<uint8_t, uint8_t>> mapped;  // preferred -> offered
        auto map_pt = [&](uint8_t preferred) -> std::optional<uint8_t> {
            for (auto [p, o] : mapped)
                if (p == preferred) return o;
            return std::nullopt;
        };
        const auto& caps = codecs_for(t);
        for (const auto& cap : caps) {
            if (is_rtx(cap.name) || is_audio_red(cap)) continue;
            auto existing = std::find_if(t.negotiated_codecs.begin(), t.negotiated_codecs.end(),
                                         [&](const Codec& c) { return !is_rtx(c.name) && codecs_match(c, cap); });
            if (existing != t.negotiated_codecs.end()) {
                mapped.emplace_back(cap.preferred_pt, existing->pt);
                continue;
            }
            auto pt = take_pt(cap.preferred_pt);
            if (!pt) continue;
            used[*pt] = true;
            mapped.emplace_back(cap.preferred_pt, *pt);
            Codec c{*pt, cap.name, cap.clock_rate, cap.channels, std::nullopt, cap.feedback};
            if (!cap.fmtp.empty()) c.fmtp = cap.fmtp;
            codecs.push_back(std::move(c));
        }
        for (const auto& cap : caps) {
            std::optional<std::string> fmtp;
            if (is_rtx(cap.name)) {
                auto apt = apt_of(cap.fmtp);
                auto primary = apt ? map_pt(*apt) : std::nullopt;
                if (!primary) continue;
                bool have = std::any_of(codecs.begin(), codecs.end(),
                                        [&](const Codec& c) { return is_rtx(c.name) && apt_of(c.fmtp) == primary; });
                if (have) continue;
                fmtp = "apt=" + std::to_string(*primary);
            } else if (is_audio_red(cap)) {
                auto pts = red_pts(cap.fmtp);
                if (!pts) continue;
                std::string f;
                bool ok = true;
                for (auto p : *pts) {
                    auto o = map_pt(p);
                    if (!o) ok = false;
                    f += (f.empty() ? "" : "/") + std::to_string(o.value_or(0));
                }
                bool have = std::any_of(codecs.begin(), codecs.end(), [&](const Codec& c) { return is_audio_red(c); });
                if (!ok || have) continue;
                fmtp = f;
            } else {
                continue;
            }
            auto pt = take_pt(cap.preferred_pt);
            if (!pt) continue;
            used[*pt] = true;
            codecs.push_back({*pt, cap.name, cap.clock_rate, cap.channels, fmtp, cap.feedback});
        }
        m.codecs = std::move(codecs);
        for (const auto& c : m.codecs) m.formats.push_back(std::to_string(c.pt));

        std::vector<SendEncoding> encodings;
        for (const auto& e : t.init.send_encodings)
            if (!e.rid.empty()) encodings.push_back(e);
        bool simulcast = encodings.size() >= 2 && has_send(t.init.direction);
        if (has_send(t.init.direction)) add_local_media_identity(m, t, cname_, simulcast);
        if (simulcast) {
            Simulcast sc;
            for (const auto& e : encodings) {
                m.rids.push_back({e.rid, RidDirection::Send, ""});
                sc.send.push_back({{e.rid, !e.active}});
            }
            m.simulcast = std::move(sc);
        }
        return m;
    }
    if (s.datachannel && want_data_) {
        m.protocol = "UDP/DTLS/SCTP";
        m.formats = {"webrtc-datachannel"};
        add_transport(m, Setup::Actpass);
        m.sctp_port = config_.sctp_port;
        m.max_message_size = config_.max_message_size;
        return m;
    }
    // Rejected or stopped: keep the m-line in place with port 0 (RFC 8829 section 5.2.2).
    m.port = 0;
    m.protocol = s.protocol;
    m.formats = s.formats;
    if (m.formats.empty()) m.formats = {m.kind == "application" ? "webrtc-datachannel" : "0"};
    return m;
}

Result<Description> Negotiator::create_offer() {
    std::vector<Slot> slots = slots_;
    pending_slots_ = slots;
    auto recyclable = [&](const Slot& s) {
        if (!s.rejected) return false;
        if (s.datachannel) return !want_data_;
        return !s.transceiver || transceivers_[*s.transceiver].stopped;
    };
    auto has_slot = [&](size_t ti) {
        return std::any_of(slots.begin(), slots.end(), [&](const Slot& s) { return s.transceiver == ti; });
    };
    auto place = [&](Slot fresh) {
        pending_slots_ = slots;  // next_mid() sees the slots taken so far
        fresh.mid = next_mid();
        for (auto& s : slots) {
            if (recyclable(s)) {
                s = std::move(fresh);
                return;
            }
        }
        slots.push_back(std::move(fresh));
    };
    for (size_t i = 0; i < transceivers_.size(); ++i) {
        const auto& t = transceivers_[i];
        if (t.stopped || has_slot(i)) continue;
        Slot s;
        s.kind = std::string(to_string(t.init.kind));
        s.protocol = "UDP/TLS/RTP/SAVPF";
        s.transceiver = i;
        place(std::move(s));
    }
    if (want_data_ && std::none_of(slots.begin(), slots.end(), [](const Slot& s) { return s.datachannel; })) {
        Slot s;
        s.kind = "application";
        s.protocol = "UDP/DTLS/SCTP";
        s.formats = {"webrtc-datachannel"};
        s.datachannel = true;
        place(std::move(s));
    }
    if (slots.size() > kMaxMediaSections) return state_error("more than " + std::to_string(kMaxMediaSections) + " m-lines");

    Description d = session_skeleton();
    d.extmap_allow_mixed = true;
    Group bundle{"BUNDLE", {}};
    for (const auto& s : slots) {
        d.media.push_back(offer_media(s));
        if (d.media.back().port != 0) bundle.mids.push_back(s.mid);
    }
    if (!bundle.mids.empty()) d.groups.push_back(std::move(bundle));
    pending_slots_ = std::move(slots);
    pending_offer_ = d;
    return d;
}

void Negotiator::fill_remote(const MediaSection& r, const Description& whole, NegotiatedMedia& nm) const {
    nm.remote_ice_ufrag = r.transport.ice_ufrag.value_or(whole.transport.ice_ufrag.value_or(""));
    nm.remote_ice_pwd = r.transport.ice_pwd.value_or(whole.transport.ice_pwd.value_or(""));
    nm.remote_candidates = whole.transport.candidates;
    nm.remote_candidates.insert(nm.remote_candidates.end(), r.transport.candidates.begin(), r.transport.candidates.end());
    nm.remote_end_of_candidates = r.transport.end_of_candidates || whole.transport.end_of_candidates;
    nm.remote_fingerprints = r.transport.fingerprints.empty() ? whole.transport.fingerprints : r.transport.fingerprints;
    nm.remote_ssrcs = r.ssrc_list();
    nm.remote_ssrc_groups = r.ssrc_groups;
    nm.remote_msids = r.msids;
    if (nm.datachannel) {
        nm.legacy_sctp = r.is_legacy_sctp();
        if (r.sctp_port)
            nm.remote_sctp_port = *r.sctp_port;
        else if (r.sctpmap)
            nm.remote_sctp_port = r.sctpmap->number;
        else if (!r.formats.empty())
            nm.remote_sctp_port = text::parse_uint<uint16_t>(r.formats[0]).value_or(5000);
        else
            nm.remote_sctp_port = 5000;
        nm.remote_max_message_size = r.max_message_size.value_or(65536);
    }
}

void Negotiator::finish(Negotiated& n, const Description& remote) {
    const NegotiatedMedia* tag = n.bundle_tag ? n.find(*n.bundle_tag) : nullptr;
    if (!tag) {
        for (const auto& m : n.media) {
            if (!m.rejected) {
                tag = &m;
                break;
            }
        }
    }
    if (tag) {
        n.remote_ice_ufrag = tag->remote_ice_ufrag;
        n.remote_ice_pwd = tag->remote_ice_pwd;
        n.remote_fingerprints = tag->remote_fingerprints;
    }
    for (const auto& m : n.media) {
        if (m.rejected) continue;
        for (const auto& c : m.remote_candidates)
            if (std::find(n.remote_candidates.begin(), n.remote_candidates.end(), c) == n.remote_candidates.end())
                n.remote_candidates.push_back(c);
    }
    n.remote_ice_lite = remote.ice_lite;
    n.ice_restart = !last_remote_ufrag_.empty() &&
                    (n.remote_ice_ufrag != last_remote_ufrag_ || n.remote_ice_pwd != last_remote_pwd_);
    last_remote_ufrag_ = n.remote_ice_ufrag;
    last_remote_pwd_ = n.remote_ice_pwd;
    dtls_role_ = n.dtls_role;
}

Result<void> Negotiator::answer_rtp(const MediaSection& om, const std::vector<Extmap>& session_extmaps, Transceiver& t,
                                    MediaSection& out, NegotiatedMedia& nm) {
    const auto& caps = codecs_for(t);
    struct Pick {
        const Codec* offered;
        size_t rank;  // local preference
        const CodecCapability* cap;
    };
    std::vector<Pick> picks;
    auto picked = [&](uint8_t pt) -> const Pick* {
        for (const auto& p : picks)
            if (p.offered->pt == pt) return &p;
        return nullptr;
    };
    for (const auto& oc : om.codecs) {
        if (!in_formats(om, oc.pt) || oc.name.empty() || is_rtx(oc.name) || is_audio_red(oc)) continue;
        for (size_t i = 0; i < caps.size(); ++i) {
            if (is_rtx(caps[i].name) || is_audio_red(caps[i]) || !codecs_match(oc, caps[i])) continue;
            picks.push_back({&oc, 2 * i, &caps[i]});
            break;
        }
    }
    bool any_primary = std::any_of(picks.begin(), picks.end(), [](const Pick& p) {
        return !is_red(p.offered->name) && !is_fec(p.offered->name);
    });
    if (!any_primary) return make_error(ErrorCategory::NotSupportedError, "sdp", "no codec in common");
    const auto rtx_cap = std::find_if(caps.begin(), caps.end(), [](const CodecCapability& c) { return is_rtx(c.name); });
    const auto red_cap = std::find_if(caps.begin(), caps.end(), [](const CodecCapability& c) { return is_audio_red(c); });
    size_t primaries = picks.size();
    for (const auto& oc : om.codecs) {
        if (!in_formats(om, oc.pt)) continue;
        if (is_rtx(oc.name) && rtx_cap != caps.end()) {
            auto apt = apt_of(oc.fmtp);
            const Pick* primary = nullptr;
            for (size_t i = 0; i < primaries; ++i)
                if (apt && picks[i].offered->pt == *apt) primary = &picks[i];
            if (primary) picks.push_back({&oc, primary->rank + 1, &*rtx_cap});
        } else if (is_audio_red(oc) && red_cap != caps.end() && oc.clock_rate == red_cap->clock_rate) {
            auto pts = red_pts(*oc.fmtp);
            bool ok = pts.has_value();
            if (pts)
                for (auto p : *pts) ok = ok && picked(p) != nullptr;
            if (ok) picks.push_back({&oc, 2 * static_cast<size_t>(red_cap - caps.begin()), &*red_cap});
        }
    }
    std::stable_sort(picks.begin(), picks.end(), [](const Pick& a, const Pick& b) { return a.rank < b.rank; });
    // RFC 8888 feedback replaces transport-cc when offered: one feedback scheme per transport.
    nm.ccfb = offers_ccfb(om);
    if (nm.ccfb) out.wildcard_feedback.push_back(RtcpFb{"ack", "ccfb"});
    for (const auto& p : picks) {
        const Codec& oc = *p.offered;
        Codec c{oc.pt, oc.name, oc.clock_rate, oc.channels, std::nullopt, intersect_feedback(oc.feedback, p.cap->feedback)};
        if (nm.ccfb)
            std::erase_if(c.feedback, [](const RtcpFb& fb) { return text::iequals(fb.type, "transport-cc"); });
        if (is_rtx(oc.name) || is_audio_red(oc))
            c.fmtp = oc.fmtp;
        else if (text::iequals(oc.name, "H264"))
            c.fmtp = h264_answer_fmtp(oc, *p.cap);
        else if (!p.cap->fmtp.empty())
            c.fmtp = p.cap->fmtp;  // what we receive is described by our own parameters, not the offerer's
        out.codecs.push_back(std::move(c));
        out.formats.push_back(std::to_string(oc.pt));
    }

    // Header extensions: those we know, under the offerer's ids; session-level ones apply to every m-line.
    auto local_exts = extensions_for(t);
    std::vector<Extmap> offered = om.extmaps;
    for (const auto& e : session_extmaps)
        if (std::none_of(offered.begin(), offered.end(), [&](const Extmap& o) { return o.id == e.id; })) offered.push_back(e);
    for (const auto& e : offered) {
        if (std::find(local_exts.begin(), local_exts.end(), e.uri) == local_exts.end()) continue;
        if (nm.ccfb && e.uri == kTransportWideCcUri) continue;
        // One id means one extension across a BUNDLE group (RFC 8843): an offer that gives an id already bound to
        // another URI has that extension declined here, or our next offer would bind one id twice.
        if (std::any_of(extension_ids_.begin(), extension_ids_.end(),
                        [&](const auto& p) { return p.second == e.id && p.first != e.uri; }))
            continue;
        Extmap a{e.id, std::nullopt, e.uri, ""};
        if (e.direction) a.direction = reverse(*e.direction);
        out.extmaps.push_back(a);
        nm.extensions.push_back({e.id, e.uri});
        if (std::none_of(extension_ids_.begin(), extension_ids_.end(), [&](const auto& p) { return p.first == e.uri; }))
            extension_ids_.emplace_back(e.uri, e.id);
    }

    Direction od = *out.direction;
    out.rtcp_mux = true;
    out.rtcp_rsize = om.rtcp_rsize;
    nm.rtcp_rsize = om.rtcp_rsize;

    // Simulcast the offerer sends: receive every rid it declared (first alternative of each stream).
    if (om.simulcast && !om.simulcast->send.empty() && has_recv(od)) {
        Simulcast sc;
        for (const auto& stream : om.simulcast->send) {
            std::vector<SimulcastStream> alts;
            for (const auto& alt : stream) {
                bool declared = std::any_of(om.rids.begin(), om.rids.end(), [&](const Rid& r) {
                    return r.id == alt.rid && r.direction == RidDirection::Send;
                });
                if (declared || om.rids.empty()) alts.push_back(alt);
            }
            if (alts.empty()) continue;
            out.rids.push_back({alts.front().rid, RidDirection::Recv, ""});
            nm.recv_rids.push_back(alts.front().rid);
            sc.recv.push_back({alts.front()});
        }
        if (!sc.recv.empty()) out.simulcast = std::move(sc);
    }
    // Simulcast the offerer wants to receive: send the rids we have among those it listed.
    bool sending_simulcast = false;
    if (om.simulcast && !om.simulcast->recv.empty() && has_send(od)) {
        Simulcast sc = out.simulcast.value_or(Simulcast{});
        for (const auto& rid : first_rids(om.simulcast->recv)) {
            auto e = std::find_if(t.init.send_encodings.begin(), t.init.send_encodings.end(),
                                  [&](const SendEncoding& s) { return s.rid == rid; });
            if (e == t.init.send_encodings.end()) continue;
            out.rids.push_back({rid, RidDirection::Send, ""});
            nm.send_rids.push_back(rid);
            sc.send.push_back({{rid, !e->active}});
        }
        sending_simulcast = !sc.send.empty();
        if (!sc.send.empty() || !sc.recv.empty()) out.simulcast = std::move(sc);
    }
    if (has_send(od)) {
        add_local_media_identity(out, t, cname_, sending_simulcast);
        if (!sending_simulcast) nm.local_ssrcs = out.ssrc_list();
    }
    nm.codecs = fold_codecs(out.codecs);
    nm.direction = od;
    t.negotiated_codecs = out.codecs;
    t.current_direction = od;
    return {};
}

Result<Answer> Negotiator::answer(const Description& offer) {
    if (pending_offer_) return state_error("a local offer is pending (have-local-offer): roll it back first");
    if (offer.media.size() < slots_.size())
        return access_error("the offer has " + std::to_string(offer.media.size()) + " m-lines, fewer than the " +
                            std::to_string(slots_.size()) + " already negotiated");
    for (size_t i = 0; i < offer.media.size(); ++i)
        if (!offer.media[i].mid) return access_error("m-line " + std::to_string(i) + " has no a=mid");

    std::vector<Slot> slots = slots_;
    const Group* offer_bundle = offer.find_group("BUNDLE");

    // DTLS role: actpass -> active (or the role we already have), active -> passive, passive -> active.
    const MediaSection* tag_media = nullptr;
    if (offer_bundle && !offer_bundle->mids.empty()) tag_media = offer.find_media(offer_bundle->mids.front());
    if (!tag_media && !offer.media.empty()) tag_media = &offer.media.front();
    std::optional<Setup> offered_setup = offer.transport.setup;
    if (tag_media && tag_media->transport.setup) offered_setup = tag_media->transport.setup;
    Setup answer_setup = Setup::Active;
    if (!offered_setup || *offered_setup == Setup::Active)
        answer_setup = Setup::Passive;  // RFC 4145: no a=setup means the offerer is active
    else if (*offered_setup == Setup::Passive)
        answer_setup = Setup::Active;
    else if (*offered_setup == Setup::Actpass && dtls_role_)
        answer_setup = *dtls_role_ == DtlsRole::Client ? Setup::Active : Setup::Passive;
    else if (*offered_setup == Setup::Holdconn)
        return access_error("a=setup:holdconn is not supported");

    Description ans = session_skeleton();
    ans.extmap_allow_mixed = offer.extmap_allow_mixed;
    Negotiated n;
    n.dtls_role = answer_setup == Setup::Active ? DtlsRole::Client : DtlsRole::Server;
    bool have_data = false, accepted_any = false;
    std::vector<std::string> accepted_mids;

    for (size_t i = 0; i < offer.media.size(); ++i) {
        const MediaSection& om = offer.media[i];
        if (i >= slots.size()) slots.push_back(Slot{});
        Slot& slot = slots[i];
        if (slot.mid != *om.mid) {
            // The offerer recycled this m-line: whatever sat here is gone.
            if (slot.transceiver) transceivers_[*slot.transceiver].stopped = true;
            slot = Slot{};
            slot.mid = *om.mid;
        }
        slot.kind = om.kind;
        slot.protocol = om.protocol;
        slot.formats = om.formats;

        NegotiatedMedia nm;
        nm.mline_index = i;
        nm.mid = *om.mid;
        nm.kind = om.kind;
        MediaSection am;
        am.kind = om.kind;
        am.protocol = om.protocol;
        am.mid = om.mid;

        bool in_bundle = offer_bundle ? std::find(offer_bundle->mids.begin(), offer_bundle->mids.end(), *om.mid) !=
                                            offer_bundle->mids.end()
                                      : !accepted_any;
        bool accept = !om.rejected() && in_bundle;
        bool rtp_kind = om.kind == "audio" || om.kind == "video";
        // A transceiver we stopped keeps its m-line rejected until the m-line is recycled (with a new mid).
        if (slot.transceiver && transceivers_[*slot.transceiver].stopped) accept = false;
        if (accept && rtp_kind) {
            bool secure = om.is_rtp() && om.protocol.find("SAVP") != std::string::npos;
            accept = secure && om.rtcp_mux;
            if (accept) {
                MediaKind kind = om.kind == "audio" ? MediaKind::Audio : MediaKind::Video;
                std::optional<size_t> ti;
                if (slot.transceiver && !transceivers_[*slot.transceiver].stopped &&
                    transceivers_[*slot.transceiver].init.kind == kind)
                    ti = slot.transceiver;
                for (size_t k = 0; !ti && k < transceivers_.size(); ++k) {
                    const auto& t = transceivers_[k];
                    bool free = !t.stopped && t.init.kind == kind &&
                                std::none_of(slots.begin(), slots.end(), [&](const Slot& s) { return s.transceiver == k; });
                    if (free) ti = k;
                }
                if (!ti) {
                    TransceiverInit init;
                    init.kind = kind;
                    init.direction = Direction::RecvOnly;
                    ti = add_transceiver(std::move(init));
                    transceivers_[*ti].created_by_remote = true;
                }
                slot.transceiver = ti;
                slot.datachannel = false;
                nm.transceiver = ti;
                auto& t = transceivers_[*ti];
                Direction offered_dir = offered_direction(om, offer).value_or(Direction::SendRecv);
                am.direction = make_direction(has_send(t.init.direction) && has_recv(offered_dir),
                                              has_recv(t.init.direction) && has_send(offered_dir));
                accept = answer_rtp(om, offer.extmaps, t, am, nm).ok();
                if (!accept) {
                    am = MediaSection{};
                    am.kind = om.kind;
                    am.protocol = om.protocol;
                    am.mid = om.mid;
                    nm = NegotiatedMedia{};
                    nm.mline_index = i;
                    nm.mid = *om.mid;
                    nm.kind = om.kind;
                    nm.transceiver = ti;
                }
            }
        } else if (accept && om.is_datachannel()) {
            accept = config_.accept_data_channels && !have_data;
            if (accept) {
                have_data = true;
                want_data_ = true;  // once negotiated, our own offers keep the data channel m-line
                slot.datachannel = true;
                slot.transceiver.reset();
                nm.datachannel = true;
                nm.local_sctp_port = config_.sctp_port;
                am.formats = om.formats;
                if (om.is_legacy_sctp()) {
                    // Legacy form answered in kind: the port is the format and a=sctpmap, as Chromium does.
                    am.formats = {std::to_string(config_.sctp_port)};
                    am.sctpmap = Sctpmap{config_.sctp_port, "webrtc-datachannel", 65535};
                } else {
                    am.sctp_port = config_.sctp_port;
                    am.max_message_size = config_.max_message_size;
                }
            }
        } else {
            accept = false;
        }

        if (accept) {
            add_transport(am, answer_setup);
            fill_remote(om, offer, nm);
            slot.rejected = false;
            accepted_any = true;
            accepted_mids.push_back(*om.mid);
        } else {
            am.port = 0;
            am.formats = om.formats;
            if (am.formats.empty()) am.formats = {"0"};
            nm.rejected = true;
            slot.rejected = true;
            if (om.rejected() && slot.transceiver) {
                transceivers_[*slot.transceiver].stopped = true;
                transceivers_[*slot.transceiver].current_direction = Direction::Inactive;
            }
        }
        ans.media.push_back(std::move(am));
        n.media.push_back(std::move(nm));
    }

    if (!accepted_mids.empty()) {
        Group g{"BUNDLE", {}};
        // The answer's group lists the accepted mids in the offer's group order; its first mid is the BUNDLE tag.
        if (offer_bundle) {
            for (const auto& mid : offer_bundle->mids)
                if (std::find(accepted_mids.begin(), accepted_mids.end(), mid) != accepted_mids.end()) g.mids.push_back(mid);
        } else {
            g.mids = accepted_mids;
        }
        n.bundle_tag = g.mids.front();
        ans.groups.push_back(std::move(g));
    }
    finish(n, offer);
    slots_ = std::move(slots);
    pending_slots_.clear();
    for (const auto& s : slots_)
        if (s.transceiver) transceivers_[*s.transceiver].mid = s.mid;
    current_ = n;
    return Answer{std::move(ans), std::move(n)};
}

Result<Negotiated> Negotiator::apply_answer(const Description& ans) {
    if (!pending_offer_) return state_error("no local offer to answer (stable)");
    const Description& offer = *pending_offer_;
    if (ans.media.size() != offer.media.size())
        return access_error("the answer has " + std::to_string(ans.media.size()) + " m-lines, the offer " +
                            std::to_string(offer.media.size()));
    for (size_t i = 0; i < ans.media.size(); ++i)
        if (ans.media[i].mid != offer.media[i].mid)
            return access_error("m-line " + std::to_string(i) + " of the answer has mid '" +
                                ans.media[i].mid.value_or("") + "', the offer '" + offer.media[i].mid.value_or("") + "'");

    const Group* bundle = ans.find_group("BUNDLE");
    const MediaSection* tag_media = nullptr;
    if (bundle && !bundle->mids.empty()) tag_media = ans.find_media(bundle->mids.front());
    for (size_t i = 0; !tag_media && i < ans.media.size(); ++i)
        if (!ans.media[i].rejected()) tag_media = &ans.media[i];
    std::optional<Setup> setup = ans.transport.setup;
    if (tag_media && tag_media->transport.setup) setup = tag_media->transport.setup;
    if (setup == Setup::Actpass || setup == Setup::Holdconn)
        return access_error("the answer's a=setup must be active or passive");

    Negotiated n;
    // RFC 4145: a missing a=setup means active, so we are the DTLS server then too.
    n.dtls_role = setup == Setup::Passive ? DtlsRole::Client : DtlsRole::Server;
    std::vector<Slot> slots = pending_slots_;
    for (size_t i = 0; i < ans.media.size(); ++i) {
        const MediaSection& om = offer.media[i];
        const MediaSection& am = ans.media[i];
        Slot& slot = slots[i];
        NegotiatedMedia nm;
        nm.mline_index = i;
        nm.mid = slot.mid;
        nm.kind = slot.kind;
        nm.transceiver = slot.transceiver;
        if (om.port == 0 || am.rejected()) {
            nm.rejected = true;
            slot.rejected = true;
            if (slot.transceiver) {
                auto& t = transceivers_[*slot.transceiver];
                t.stopped = true;  // rejected by the answer or stopped by us: either way it is over
                t.current_direction = Direction::Inactive;
            }
            n.media.push_back(std::move(nm));
            continue;
        }
        slot.rejected = false;
        if (slot.datachannel) {
            nm.datachannel = true;
            nm.local_sctp_port = config_.sctp_port;
        } else if (slot.transceiver) {
            auto& t = transceivers_[*slot.transceiver];
            std::vector<Codec> agreed;
            for (const auto& ac : am.codecs) {
                if (!in_formats(am, ac.pt)) continue;
                const Codec* mine = om.find_codec(ac.pt);
                if (!mine || !text::iequals(mine->name, ac.name)) continue;  // not something we offered
                Codec c = ac;
                c.feedback = intersect_feedback(ac.feedback, mine->feedback);
                agreed.push_back(std::move(c));
            }
            if (std::none_of(agreed.begin(), agreed.end(), [](const Codec& c) { return !is_rtx(c.name); }))
                return access_error("m-line " + std::to_string(i) + ": the answer has no codec that was offered");
            t.negotiated_codecs = agreed;
            nm.codecs = fold_codecs(agreed);
            for (const auto& e : am.extmaps) {
                bool offered = std::any_of(om.extmaps.begin(), om.extmaps.end(),
                                           [&](const Extmap& o) { return o.uri == e.uri && o.id == e.id; });
                if (offered) nm.extensions.push_back({e.id, e.uri});
            }
            Direction remote = offered_direction(am, ans).value_or(Direction::SendRecv);
            Direction mine = om.direction.value_or(Direction::SendRecv);
            nm.direction = make_direction(has_send(mine) && has_recv(remote), has_recv(mine) && has_send(remote));
            t.current_direction = nm.direction;
            nm.rtcp_rsize = am.rtcp_rsize && om.rtcp_rsize;
            nm.ccfb = offers_ccfb(om) && offers_ccfb(am);
            if (om.simulcast && am.simulcast && !am.simulcast->recv.empty() && has_send(nm.direction))
                nm.send_rids = first_rids(am.simulcast->recv);
            if (has_send(nm.direction) && nm.send_rids.empty()) nm.local_ssrcs = om.ssrc_list();
        }
        fill_remote(am, ans, nm);
        n.media.push_back(std::move(nm));
    }
    if (bundle && !bundle->mids.empty()) n.bundle_tag = bundle->mids.front();
    finish(n, ans);
    slots_ = std::move(slots);
    pending_slots_.clear();
    for (const auto& s : slots_)
        if (s.transceiver) transceivers_[*s.transceiver].mid = s.mid;
    pending_offer_.reset();
    current_ = n;
    return n;
}

} // namespace rtcpp::sdp
