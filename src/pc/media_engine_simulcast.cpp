// Simulcast sending and the allocation of the congestion target (the MediaEngine's, beside media_engine.cpp).
//
// A transceiver negotiated with send rids (a=simulcast:send) gets one layer per rid: a send-only Transceiver of its
// own with the parent's codecs and header extension ids, its rid, and its own sender (SSRC and RTX SSRC of our
// choosing, sequence numbers, packet history for NACK, SR, counters). Every path that works on a sending
// transceiver (packetization, FEC, NACK/RTX, PLI/FIR, reports, stats) then works on a layer unchanged;
// for_each_send_stream visits them all. The application sends each layer's frames by rid.
#include "pc/media_engine.hpp"

#include "rtp/rtp_packet.hpp"

#include <algorithm>

namespace rtcpp::pc {

namespace {

bool is_media_codec_name(const std::string& name) {
    for (std::string_view n : {"red", "ulpfec", "flexfec-03", "rtx", "CN", "telephone-event"})
        if (name.size() == n.size() && std::equal(name.begin(), name.end(), n.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return false;
    return true;
}

void apply_params(cc::AllocationLayer& b, const std::vector<SendEncodingParameters>& params, const std::string& rid) {
    for (const auto& p : params) {
        if (p.rid != rid) continue;
        if (p.min_bitrate) b.min = *p.min_bitrate;
        if (p.max_bitrate) b.max = *p.max_bitrate;
        b.target = std::min(b.target, b.max);
        b.min = std::min(b.min, b.max);
        b.target = std::max(b.target, b.min);
        b.active = p.active;
    }
}

} // namespace

void MediaEngine::configure_layers(Transceiver& t, const std::vector<std::string>& rids) {
    if (rids.empty()) {
        if (!t.layers.empty()) allocation_dirty_ = true;
        t.layers.clear();
        return;
    }
    const Codec* codec = nullptr;
    for (const auto& c : t.codecs)
        if (is_media_codec_name(c.name)) {
            codec = &c;
            break;
        }
    if (!codec) {
        t.layers.clear();
        return;
    }
    t.sender.reset(); // the layers send; the transceiver itself has no stream
    std::vector<Transceiver> layers;
    for (const auto& rid : rids) {
        Transceiver l;
        auto old = std::find_if(t.layers.begin(), t.layers.end(), [&](const Transceiver& x) { return x.rid == rid; });
        if (old != t.layers.end()) l = std::move(*old); // a renegotiation keeps a layer's stream going
        l.id = t.id;
        l.index = t.index;
        l.kind = t.kind;
        l.mid = t.mid;
        l.rid = rid;
        l.sending = true;
        l.receiving = false;
        l.codecs = t.codecs;
        l.mid_ext = t.mid_ext;
        l.rid_ext = t.rid_ext;
        l.rrid_ext = t.rrid_ext;
        l.twcc_ext = t.twcc_ext;
        l.abs_send_time_ext = t.abs_send_time_ext;
        l.ccfb = t.ccfb;
        if (!l.sender || l.sender->codec.pt != codec->pt) l.sender = make_layer_sender(l, *codec);
        layers.push_back(std::move(l));
    }
    t.layers = std::move(layers);
    allocation_dirty_ = true;
}

std::vector<std::string> MediaEngine::layer_order(const std::vector<std::string>& negotiated, const sdp::Transceiver& st) {
    std::vector<std::string> out;
    for (auto e = st.init.send_encodings.rbegin(); e != st.init.send_encodings.rend(); ++e)
        if (std::find(negotiated.begin(), negotiated.end(), e->rid) != negotiated.end()) out.push_back(e->rid);
    // Rids the encodings do not name (none today: the negotiator accepts only those) keep the SDP's order, reversed.
    for (auto r = negotiated.rbegin(); r != negotiated.rend(); ++r)
        if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
    return out;
}

uint32_t MediaEngine::unused_ssrc() {
    for (;;) {
        const uint32_t ssrc = random_.next_u32();
        if (ssrc == 0 || ssrc == fallback_ssrc_ || receivers_.count(ssrc)) continue;
        bool taken = false;
        for (const auto& t : transceivers_) {
            if (t.sender) taken |= t.sender->ssrc == ssrc || t.sender->rtx_ssrc == ssrc;
            for (const auto& l : t.layers)
                if (l.sender) taken |= l.sender->ssrc == ssrc || l.sender->rtx_ssrc == ssrc;
        }
        if (!taken) return ssrc;
    }
}

Result<void> MediaEngine::send_frame(Timestamp now, size_t transceiver, std::string_view rid, ByteView frame,
                                     uint32_t rtp_timestamp) {
    if (transceiver >= transceivers_.size())
        return make_error(ErrorCategory::InvalidStateError, "media", "the transceiver does not send (yet)");
    Transceiver& t = transceivers_[transceiver];
    if (!t.sending) return make_error(ErrorCategory::InvalidStateError, "media", "the transceiver does not send (yet)");
    for (auto& l : t.layers)
        if (l.rid == rid) return send_frame_on(now, l, frame, rtp_timestamp);
    return make_error(ErrorCategory::InvalidAccessError, "media",
                      "no simulcast layer '" + std::string(rid) + "' was negotiated for sending");
}

Result<void> MediaEngine::request_keyframe(size_t transceiver, std::string_view rid) {
    for (auto& [ssrc, r] : receivers_)
        if (r->transceiver == transceiver && !r->rtx && r->rid == rid) {
            send_keyframe_request(*r);
            return {};
        }
    return make_error(ErrorCategory::InvalidStateError, "media",
                      "nothing received on this transceiver with rid '" + std::string(rid) + "' yet");
}

void MediaEngine::set_send_encoding(size_t transceiver, const SendEncodingParameters& params) {
    if (transceivers_.size() <= transceiver) {
        transceivers_.resize(transceiver + 1);
        for (size_t i = 0; i < transceivers_.size(); ++i) {
            transceivers_[i].id = static_cast<TransceiverId>(i + 1);
            transceivers_[i].index = i;
        }
    }
    auto& ps = transceivers_[transceiver].encoding_params;
    auto it = std::find_if(ps.begin(), ps.end(), [&](const SendEncodingParameters& p) { return p.rid == params.rid; });
    if (it != ps.end()) *it = params;
    else ps.push_back(params);
    allocation_dirty_ = true;
    reallocate();
}

void MediaEngine::report_max_allocation(Timestamp now) {
    if (!cc_) return;
    DataRate total = DataRate::zero();
    bool simulcast = false;
    for (const auto& t : transceivers_) {
        if (!t.sending) continue;
        if (!t.layers.empty()) {
            simulcast = true;
            for (size_t i = 0; i < t.layers.size(); ++i) {
                cc::AllocationLayer b = cc::default_simulcast_layer(i, t.layers.size());
                apply_params(b, t.encoding_params, t.layers[i].rid);
                if (b.active) total += b.max;
            }
        } else if (t.sender) {
            cc::AllocationLayer b = t.kind == MediaKind::Audio ? cc::default_audio_layer() : cc::default_video_layer();
            apply_params(b, t.encoding_params, "");
            if (!b.max.is_finite()) return; // a stream without a cap: no total to report
            if (b.active) total += b.max;
        }
    }
    if (!simulcast || total == max_allocation_reported_) return;
    max_allocation_reported_ = total;
    handle_cc_update(cc_->on_max_total_allocated_bitrate(now, total));
}

void MediaEngine::reallocate() {
    if (!last_target_event_ || !last_target_) return;
    allocate(*last_target_);
    if (!commit_allocation()) return;
    last_target_event_->allocation = allocation();
    events_.push_back(*last_target_event_);
}

bool MediaEngine::commit_allocation() {
    bool changed = false;
    for (auto& [x, rate] : pending_allocation_) {
        changed |= x->allocated != rate;
        x->allocated = rate;
    }
    pending_allocation_.clear();
    return changed;
}

std::vector<std::string> MediaEngine::send_rids(size_t transceiver) const {
    std::vector<std::string> out;
    if (transceiver < transceivers_.size())
        for (const auto& l : transceivers_[transceiver].layers) out.push_back(l.rid);
    return out;
}

bool MediaEngine::allocate(DataRate target) {
    if (!allocation_dirty_ && allocated_for_ == target) return false;
    pending_allocation_.clear();
    allocation_dirty_ = false;
    allocated_for_ = target;
    std::vector<cc::AllocationStream> streams;
    std::vector<std::vector<Transceiver*>> owners;
    for (auto& t : transceivers_) {
        if (!t.sending) continue;
        cc::AllocationStream st;
        std::vector<Transceiver*> who;
        st.audio = t.kind == MediaKind::Audio;
        if (!t.layers.empty()) {
            for (size_t i = 0; i < t.layers.size(); ++i) {
                cc::AllocationLayer b = cc::default_simulcast_layer(i, t.layers.size());
                apply_params(b, t.encoding_params, t.layers[i].rid);
                st.layers.push_back(b);
                who.push_back(&t.layers[i]);
            }
        } else if (t.sender) {
            cc::AllocationLayer b = st.audio ? cc::default_audio_layer() : cc::default_video_layer();
            apply_params(b, t.encoding_params, "");
            if (t.sender->audio_red) {
                // Audio RED sends each frame 1 + distance times: reserve that on the path, hand the encoder its share.
                const double f = 1.0 + static_cast<double>(t.sender->audio_red->distance());
                b.min = b.min * f;
                b.target = b.target * f;
                b.max = b.max * f;
            }
            st.layers.push_back(b);
            who.push_back(&t);
        } else {
            continue;
        }
        streams.push_back(std::move(st));
        owners.push_back(std::move(who));
    }
    const auto rates = allocator_.allocate(target, streams);
    bool switched = false;
    for (size_t s = 0; s < owners.size(); ++s)
        for (size_t l = 0; l < owners[s].size(); ++l) {
            Transceiver& x = *owners[s][l];
            DataRate rate = rates[s][l];
            if (x.sender && x.sender->audio_red)
                rate = rate * (1.0 / (1.0 + static_cast<double>(x.sender->audio_red->distance())));
            switched |= x.allocated.is_zero() != rate.is_zero();
            pending_allocation_.push_back({&x, rate});
        }
    return switched;
}

std::vector<EncodingBitrate> MediaEngine::allocation() const {
    std::vector<EncodingBitrate> out;
    for (const auto& t : transceivers_) {
        if (!t.sending) continue;
        if (t.sender) out.push_back(EncodingBitrate{t.id, {}, t.allocated});
        for (const auto& l : t.layers) out.push_back(EncodingBitrate{t.id, l.rid, l.allocated});
    }
    return out;
}

void MediaEngine::mark_repaired_rid(const Transceiver& layer, std::vector<uint8_t>& packet) {
    // RFC 8852 3.2 / Chromium: an RTX packet names its layer with repaired-rtp-stream-id; rtp-stream-id would claim
    // the RTX SSRC is a layer of its own.
    if (!layer.rrid_ext || !layer.sender || !layer.sender->rtx_ssrc) return;
    const auto view = rtp::RtpPacketView::parse(packet);
    if (!view || view->ssrc() != layer.sender->rtx_ssrc) return;
    rtp::RtpHeader h = rtp::RtpHeader::from_view(*view);
    if (layer.rid_ext) h.extensions.remove(layer.rid_ext);
    h.extensions.set(layer.rrid_ext, ByteView(reinterpret_cast<const uint8_t*>(layer.rid.data()), layer.rid.size()));
    auto rebuilt = build_packet(h, view->payload());
    recycle(std::move(packet));
    packet = std::move(rebuilt);
}

} // namespace rtcpp::pc
