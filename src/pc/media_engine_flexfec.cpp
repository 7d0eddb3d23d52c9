// FlexFEC (flexfec-03, as Chromium negotiates it) in the MediaEngine: the FEC stream we send beside a video
// sender, and the FEC streams the peer announced with a=ssrc-group:FEC-FR.
#include "pc/media_engine.hpp"

#include <algorithm>
#include <cctype>

namespace rtcpp::pc {

namespace {

bool named(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool protectable_video(const std::string& codec) {
    return named(codec, "VP8") || named(codec, "VP9") || named(codec, "H264");
}

} // namespace

void MediaEngine::configure_flexfec(size_t index, const sdp::NegotiatedMedia& nm, const sdp::Transceiver& st) {
    Transceiver& t = transceivers_[index];
    std::optional<uint8_t> pt;
    for (const auto& c : t.codecs)
        if (named(c.name, "flexfec-03")) pt = c.pt;

    if (t.sender) {
        Sender& s = *t.sender;
        const std::optional<uint8_t> before = s.flexfec_pt;
        s.flexfec_pt.reset();
        if (video_fec_ && t.kind == MediaKind::Video && protectable_video(s.codec.name) && pt && st.fec_ssrc != 0) {
            // ULPFEC in RED wins when both are negotiated. Every WebRTC receiver that negotiates flexfec-03 also
            // decodes ULPFEC (Chromium always does), while FlexFEC is a field-trial feature in Chromium, and
            // libwebrtc now carries an RFC 8627 header reader/writer beside the draft-03 one, so which header a
            // given version expects is a moving target (Chromium 156 with its trials sends and takes draft-03:
            // tests/interop/chromium_lossy.mjs *-flexfec). So FlexFEC goes only to a peer that chose it alone.
            // (libwebrtc itself prefers FlexFEC once its trial configures it.)
            if (!(s.red_pt && s.ulpfec_pt)) s.flexfec_pt = pt;
        }
        if (s.flexfec_pt && s.fec_ssrc != st.fec_ssrc) {
            s.fec_ssrc = st.fec_ssrc;
            s.flexfec_seq = static_cast<uint16_t>(random_.next_u32());
        }
        if (!s.flexfec_pt || s.flexfec_pt != before) s.flexfec.reset();
        if (s.flexfec_pt) update_protection(t);
    }

    // Receive: one FlexFEC receiver per FEC-FR group the peer announced on this m-line.
    for (auto it = flexfec_rx_.begin(); it != flexfec_rx_.end();) {
        if (it->second.transceiver != index) {
            ++it;
            continue;
        }
        const bool keep = t.receiving && pt && it->second.pt == *pt &&
                          sdp::fec_fr_ssrc(nm.remote_ssrc_groups, it->second.media_ssrc) == it->first;
        it = keep ? std::next(it) : flexfec_rx_.erase(it);
    }
    if (!t.receiving || !pt || t.kind != MediaKind::Video) return;
    for (const auto& g : nm.remote_ssrc_groups) {
        if (g.semantics != "FEC-FR" || g.ssrcs.size() != 2 || g.ssrcs[0] == g.ssrcs[1]) continue;
        const uint32_t media = g.ssrcs[0], fec = g.ssrcs[1];
        if (flexfec_rx_.count(fec) || flexfec_rx_.size() >= kMaxFlexfecStreams) continue;
        FlexfecStream f;
        f.transceiver = index;
        f.media_ssrc = media;
        f.pt = *pt;
        f.fec = std::make_unique<rtp::FlexfecReceiver>(fec, *pt, media);
        flexfec_rx_.emplace(fec, std::move(f));
    }
}

void MediaEngine::send_flexfec(Timestamp now, Transceiver& t) {
    Sender& s = *t.sender;
    while (auto fec = s.flexfec->poll_fec_packet()) {
        const auto v = rtp::RtpPacketView::parse(*fec);
        if (!v) continue;
        // Its own SSRC and sequence numbers, the mid (BUNDLE demux) and a transport-wide number like any packet on
        // the path, so congestion control sees the FEC rate too.
        rtp::RtpHeader h;
        h.payload_type = *s.flexfec_pt;
        h.sequence_number = s.flexfec_seq++;
        h.timestamp = v->timestamp();
        h.ssrc = s.fec_ssrc;
        if (t.mid_ext) h.extensions.set(t.mid_ext, ByteView(reinterpret_cast<const uint8_t*>(t.mid.data()), t.mid.size()));
        // Room for the transport-wide number, stamped when the pacer lets the packet go.
        static constexpr uint8_t kPlaceholder[2] = {0, 0};
        if (t.twcc_ext && cc_ && !t.ccfb) h.extensions.set(t.twcc_ext, ByteView(kPlaceholder, 2));
        auto bytes = build_packet(h, v->payload());
        // Not kept for retransmission: a lost FEC packet is not worth a round trip.
        ++s.flexfec_packets;
        emit_rtp(now, t, std::move(bytes), cc::PacketKind::Fec);
    }
}

bool MediaEngine::handle_flexfec(Timestamp now, const rtp::RtpPacketView& view, ByteView packet) {
    auto it = flexfec_rx_.find(view.ssrc());
    if (it == flexfec_rx_.end()) return false;
    FlexfecStream& f = it->second;
    Transceiver& t = transceivers_[f.transceiver];
    if (raw_events_) events_.push_back(event::RtpPacket{t.id, std::vector<uint8_t>(packet.begin(), packet.end())});
    if (t.twcc_ext) {
        // FEC packets count for transport-wide feedback like media: the sender's estimate includes them.
        if (auto ext = view.find_extension(t.twcc_ext); ext && ext->size() == 2) {
            twcc_received_.push_back({static_cast<uint16_t>(((*ext)[0] << 8) | (*ext)[1]), now});
            if (!twcc_media_ssrc_) twcc_media_ssrc_ = view.ssrc();
            if (!next_twcc_feedback_.is_finite()) next_twcc_feedback_ = now + TimeDelta::millis(100);
            if (twcc_received_.size() >= 500) send_transport_feedback(now);
        }
    }
    if (view.payload_type() != f.pt) {
        ++dropped_;
        return true;
    }
    f.last_fec = now;
    const auto before = f.fec->stats();
    f.fec->handle_packet(packet);
    const auto after = f.fec->stats();
    // Malformed FEC, or FEC that claims to protect another SSRC: dropped (counted there and here).
    if (after.malformed != before.malformed || after.wrong_ssrc != before.wrong_ssrc) ++dropped_;
    drain_flexfec(now, f);
    return true;
}

void MediaEngine::protect_received(Timestamp now, const Receiver& r, ByteView packet) {
    for (auto& [ssrc, f] : flexfec_rx_) {
        // Two seconds: the longest a sender leaves between FEC packets while protecting (one group per frame
        // or a few frames); once FEC stops, storing stops with it.
        if (f.media_ssrc != r.ssrc || !f.last_fec || now - *f.last_fec > TimeDelta::seconds(2)) continue;
        f.fec->handle_packet(packet);
        drain_flexfec(now, f);
    }
}

void MediaEngine::drain_flexfec(Timestamp now, FlexfecStream& f) {
    while (auto packet = f.fec->poll_recovered()) {
        const auto inner = rtp::RtpPacketView::parse(*packet);
        if (!inner || inner->ssrc() != f.media_ssrc) {
            ++dropped_;
            continue;
        }
        Receiver* r = nullptr;
        if (auto it = receivers_.find(f.media_ssrc); it != receivers_.end()) r = it->second.get();
        if (!r) r = receiver_for(now, *inner);
        const Codec* c = r ? codec_for(transceivers_[r->transceiver], inner->payload_type()) : nullptr;
        if (!r || r->rtx || r->transceiver != f.transceiver || !c || named(c->name, "red")) {
            ++dropped_;
            continue;
        }
        // Rebuilt from FEC, so lost on the path: the receive statistics keep it lost, as for ULPFEC.
        deliver(now, *r, *inner, *packet, true, false);
    }
}

} // namespace rtcpp::pc
