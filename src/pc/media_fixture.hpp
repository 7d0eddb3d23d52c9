// A MediaEngine configured as the receiving side of a real offer/answer (Opus + VP8 with NACK and RTX), for tests
// and the media fuzz target: the same negotiation code paths as a Session, without transports.
#pragma once

#include "pc/media_engine.hpp"
#include "sdp/negotiator.hpp"

#include <deque>
#include <memory>
#include <string>

namespace rtcpp::pc {

/// The ICE credentials and fingerprint of a test side (never checked: no transport runs).
inline sdp::LocalTransport fixture_transport(const std::string& ufrag, uint8_t fill) {
    sdp::LocalTransport t;
    t.ice_ufrag = ufrag;
    t.ice_pwd = "pwd-" + ufrag + "-0123456789abcdef";
    t.fingerprints = {sdp::Fingerprint{sdp::HashAlgorithm::Sha256, std::vector<uint8_t>(32, fill)}};
    return t;
}

/// A VP8 sender engine (transceiver 0) and its receiver, negotiated by two Negotiators as two Sessions would
/// (sendonly offer, default codecs and extensions: NACK, RTX, RED/ULPFEC, transport-cc, goog-remb;
/// `transport_cc` false leaves that extension out, as peers that only do REMB do; `with_audio` adds an Opus
/// transceiver 1). `ok` is false if the negotiation failed.
struct Vp8EnginePair {
    Random random{11};
    std::deque<SessionEvent> tx_events, rx_events;
    std::unique_ptr<MediaEngine> tx, rx;
    bool ok = false;

    explicit Vp8EnginePair(bool raw_rx_events = false, bool transport_cc = true, bool with_audio = false) {
        sdp::Negotiator offerer(random, fixture_transport("offr", 0xAA));
        sdp::Negotiator answerer(random, fixture_transport("answ", 0xBB));
        sdp::TransceiverInit video;
        video.kind = sdp::MediaKind::Video;
        video.direction = sdp::Direction::SendOnly;
        if (!transport_cc) {
            for (const auto& uri : sdp::default_config().video_extensions)
                if (uri.find("transport-wide-cc") == std::string::npos) video.header_extensions.push_back(uri);
        }
        offerer.add_transceiver(video);
        if (with_audio) {
            sdp::TransceiverInit audio;
            audio.kind = sdp::MediaKind::Audio;
            audio.direction = sdp::Direction::SendOnly;
            offerer.add_transceiver(audio);
        }
        auto offer = offerer.create_offer();
        if (!offer) return;
        auto answer = answerer.answer(*offer);
        if (!answer) return;
        auto applied = offerer.apply_answer(answer->description);
        if (!applied) return;
        tx = std::make_unique<MediaEngine>(random, tx_events, false);
        tx->configure(Timestamp::zero(), *applied, offerer.transceivers(), "sender");
        rx = std::make_unique<MediaEngine>(random, rx_events, raw_rx_events);
        rx->configure(Timestamp::zero(), answer->negotiated, answerer.transceivers(), "receiver");
        ok = tx->send_info(0).has_value();
    }
};

struct MediaFixture {
    Random random{7};
    std::deque<SessionEvent> events;
    std::unique_ptr<MediaEngine> engine;
    uint8_t opus_pt = 0, vp8_pt = 0, vp8_rtx_pt = 0, video_red_pt = 0, video_ulpfec_pt = 0;

    explicit MediaFixture(bool raw_events = false) {
        sdp::Negotiator offerer(random, fixture_transport("offr", 0xAA));
        sdp::Negotiator answerer(random, fixture_transport("answ", 0xBB));
        sdp::TransceiverInit audio;
        audio.kind = sdp::MediaKind::Audio;
        audio.direction = sdp::Direction::SendOnly;
        offerer.add_transceiver(audio);
        sdp::TransceiverInit video;
        video.kind = sdp::MediaKind::Video;
        video.direction = sdp::Direction::SendOnly;
        offerer.add_transceiver(video);
        auto offer = offerer.create_offer();
        auto answer = answerer.answer(*offer);
        engine = std::make_unique<MediaEngine>(random, events, raw_events);
        engine->configure(Timestamp::zero(), answer->negotiated, answerer.transceivers(), "fixture");
        for (const auto& m : answer->negotiated.media)
            for (const auto& c : m.codecs) {
                if (c.name == "opus" && !opus_pt) opus_pt = c.pt;
                if (c.name == "red" && m.kind == "video") video_red_pt = c.pt;
                if (c.name == "ulpfec" && m.kind == "video") video_ulpfec_pt = c.pt;
                if (c.name == "VP8" && !vp8_pt) {
                    vp8_pt = c.pt;
                    vp8_rtx_pt = c.rtx_pt.value_or(0);
                }
            }
    }
};

} // namespace rtcpp::pc
