// Description -> SDP text, CRLF line endings, attributes in a fixed order (the "normalized" form). Everything the
// parser reads is written back, so parse(serialize(d)) == d.
#include "sdp/description.hpp"

namespace rtcpp::sdp {

namespace {

class Writer {
public:
    void line(char type, std::string_view value) {
        out_ += type;
        out_ += '=';
        out_ += value;
        out_ += "\r\n";
    }
    void attr(std::string_view name) { line('a', name); }
    void attr(std::string_view name, std::string_view value) {
        out_ += "a=";
        out_ += name;
        out_ += ':';
        out_ += value;
        out_ += "\r\n";
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string connection_text(const Connection& c) { return c.net_type + " " + c.addr_type + " " + c.address; }

void write_bandwidths(Writer& w, const std::vector<Bandwidth>& bs) {
    for (const auto& b : bs) w.line('b', b.type + ":" + std::to_string(b.value));
}

void write_extmaps(Writer& w, const std::vector<Extmap>& es) {
    for (const auto& e : es) {
        std::string v = std::to_string(e.id);
        if (e.direction) {
            v += '/';
            v += to_string(*e.direction);
        }
        v += ' ';
        v += e.uri;
        if (!e.attributes.empty()) v += " " + e.attributes;
        w.attr("extmap", v);
    }
}

void write_transport(Writer& w, const TransportAttributes& t) {
    if (t.ice_ufrag) w.attr("ice-ufrag", *t.ice_ufrag);
    if (t.ice_pwd) w.attr("ice-pwd", *t.ice_pwd);
    if (!t.ice_options.empty()) {
        std::string v;
        for (const auto& o : t.ice_options) v += (v.empty() ? "" : " ") + o;
        w.attr("ice-options", v);
    }
    for (const auto& f : t.fingerprints) w.attr("fingerprint", f.to_string());
    if (t.setup) w.attr("setup", to_string(*t.setup));
}

void write_candidates(Writer& w, const TransportAttributes& t) {
    for (const auto& c : t.candidates) w.line('a', c.to_string());
    if (t.end_of_candidates) w.attr("end-of-candidates");
}

void write_unknown(Writer& w, const std::vector<Attribute>& as) {
    for (const auto& a : as) {
        if (a.value)
            w.attr(a.name, *a.value);
        else
            w.attr(a.name);
    }
}

void write_other(Writer& w, const std::vector<OtherLine>& ls, bool before) {
    // i=, u=, e=, p= belong before c=; the rest (k=, r=, z=, extra t=) after it. Either way the order within each
    // set is kept.
    for (const auto& l : ls) {
        bool early = l.type == 'i' || l.type == 'u' || l.type == 'e' || l.type == 'p';
        if (early == before) w.line(l.type, l.value);
    }
}

std::string simulcast_list(const std::vector<std::vector<SimulcastStream>>& streams) {
    std::string s;
    for (size_t i = 0; i < streams.size(); ++i) {
        if (i) s += ';';
        for (size_t j = 0; j < streams[i].size(); ++j) {
            if (j) s += ',';
            if (streams[i][j].paused) s += '~';
            s += streams[i][j].rid;
        }
    }
    return s;
}

void write_media(Writer& w, const MediaSection& m) {
    std::string mline = m.kind + " " + std::to_string(m.port);
    if (m.port_count) mline += "/" + std::to_string(*m.port_count);
    mline += " " + m.protocol;
    for (const auto& f : m.formats) mline += " " + f;
    w.line('m', mline);
    write_other(w, m.other_lines, true);
    if (m.connection) w.line('c', connection_text(*m.connection));
    write_bandwidths(w, m.bandwidths);
    write_other(w, m.other_lines, false);
    if (m.rtcp) {
        std::string v = std::to_string(m.rtcp->port);
        if (m.rtcp->connection) v += " " + connection_text(*m.rtcp->connection);
        w.attr("rtcp", v);
    }
    write_candidates(w, m.transport);
    write_transport(w, m.transport);
    if (m.mid) w.attr("mid", *m.mid);
    if (m.extmap_allow_mixed) w.attr("extmap-allow-mixed");
    write_extmaps(w, m.extmaps);
    if (m.direction) w.attr(to_string(*m.direction));
    for (const auto& ms : m.msids) w.attr("msid", ms.track_id.empty() ? ms.stream_id : ms.stream_id + " " + ms.track_id);
    if (m.rtcp_mux) w.attr("rtcp-mux");
    if (m.rtcp_mux_only) w.attr("rtcp-mux-only");
    if (m.rtcp_rsize) w.attr("rtcp-rsize");
    for (const auto& c : m.codecs) {
        std::string pt = std::to_string(c.pt);
        if (!c.name.empty()) {
            std::string v = pt + " " + c.name + "/" + std::to_string(c.clock_rate);
            if (c.channels) v += "/" + std::to_string(*c.channels);
            w.attr("rtpmap", v);
        }
        for (const auto& fb : c.feedback) w.attr("rtcp-fb", pt + " " + fb.type + (fb.subtype.empty() ? "" : " " + fb.subtype));
        if (c.fmtp) w.attr("fmtp", pt + " " + *c.fmtp);
    }
    for (const auto& fb : m.wildcard_feedback) w.attr("rtcp-fb", "* " + fb.type + (fb.subtype.empty() ? "" : " " + fb.subtype));
    for (const auto& g : m.ssrc_groups) {
        std::string v = g.semantics;
        for (auto s : g.ssrcs) v += " " + std::to_string(s);
        w.attr("ssrc-group", v);
    }
    for (const auto& s : m.ssrcs) {
        std::string v = std::to_string(s.ssrc) + " " + s.attribute;
        if (s.value) v += ":" + *s.value;
        w.attr("ssrc", v);
    }
    for (const auto& r : m.rids) {
        std::string v = r.id + (r.direction == RidDirection::Send ? " send" : " recv");
        if (!r.restrictions.empty()) v += " " + r.restrictions;
        w.attr("rid", v);
    }
    if (m.simulcast) {
        std::string v;
        if (!m.simulcast->send.empty()) v += "send " + simulcast_list(m.simulcast->send);
        if (!m.simulcast->recv.empty()) v += (v.empty() ? "" : " ") + std::string("recv ") + simulcast_list(m.simulcast->recv);
        w.attr("simulcast", v);
    }
    if (m.sctp_port) w.attr("sctp-port", std::to_string(*m.sctp_port));
    if (m.sctpmap) {
        std::string v = std::to_string(m.sctpmap->number) + " " + m.sctpmap->app;
        if (m.sctpmap->streams) v += " " + std::to_string(*m.sctpmap->streams);
        w.attr("sctpmap", v);
    }
    if (m.max_message_size) w.attr("max-message-size", std::to_string(*m.max_message_size));
    write_unknown(w, m.attributes);
}

} // namespace

std::string serialize(const Description& d) {
    Writer w;
    w.line('v', "0");
    const auto& o = d.origin;
    w.line('o', o.username + " " + o.session_id + " " + std::to_string(o.session_version) + " " + o.net_type + " " +
                    o.addr_type + " " + o.address);
    w.line('s', d.session_name);
    write_other(w, d.other_lines, true);
    if (d.connection) w.line('c', connection_text(*d.connection));
    write_bandwidths(w, d.bandwidths);
    w.line('t', std::to_string(d.time_start) + " " + std::to_string(d.time_stop));
    write_other(w, d.other_lines, false);
    for (const auto& g : d.groups) {
        std::string v = g.semantics;
        for (const auto& mid : g.mids) v += " " + mid;
        w.attr("group", v);
    }
    if (d.extmap_allow_mixed) w.attr("extmap-allow-mixed");
    if (d.msid_semantic) w.attr("msid-semantic", " " + *d.msid_semantic);
    if (d.ice_lite) w.attr("ice-lite");
    write_transport(w, d.transport);
    write_candidates(w, d.transport);
    write_extmaps(w, d.extmaps);
    if (d.direction) w.attr(to_string(*d.direction));
    write_unknown(w, d.attributes);
    for (const auto& m : d.media) write_media(w, m);
    return w.take();
}

} // namespace rtcpp::sdp
