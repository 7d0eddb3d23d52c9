// Audio RED (RFC 2198) in the MediaEngine, as Chromium negotiates it with Opus (`red/48000/2`, fmtp `111/111`):
// every packet carries the previous Opus frame (two while the measured loss is high) besides its own, so a single
// lost packet costs nothing and no retransmission is needed (audio is not NACKed).
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

/// a is after b in RTP timestamp order (serial arithmetic).
bool newer(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) > 0; }

// The RED payload stays within the packetizer's budget (see kMaxPayload in media_engine.cpp).
constexpr size_t kMaxRedPayload = 1100;
// Loss (fraction, before repair) from which a second redundant frame is sent, and below which it stops.
constexpr double kTwoFramesFrom = 0.05, kOneFrameBelow = 0.03;
// Half a second at Opus's 48 kHz.
constexpr int32_t kResyncTicks = 24000;

} // namespace

void MediaEngine::configure_audio_red(size_t index) {
    Transceiver& t = transceivers_[index];
    if (!t.sender) return;
    Sender& s = *t.sender;
    std::optional<uint8_t> red;
    if (t.kind == MediaKind::Audio && named(s.codec.name, "opus"))
        for (const auto& c : t.codecs)
            if (named(c.name, "red") && rtp::parse_red_fmtp(c.fmtp) == s.codec.pt) red = c.pt;
    if (red == s.audio_red_pt && (s.audio_red || !red)) return;
    s.audio_red_pt = red;
    s.audio_red.reset();
    if (red) s.audio_red = std::make_unique<rtp::AudioRedEncoder>(s.codec.pt, 1, kMaxRedPayload);
}

void MediaEngine::send_audio_red(Timestamp now, Transceiver& t, const rtp::RtpPayload& p, uint32_t rtp_timestamp) {
    Sender& s = *t.sender;
    // Path loss from transport-wide feedback when there is any, else the receiver's reports on this stream.
    const double loss = path_loss_.value_or(s.loss);
    if (loss >= kTwoFramesFrom) s.audio_red->set_distance(2);
    else if (loss < kOneFrameBelow) s.audio_red->set_distance(1);
    std::vector<uint8_t>& payload = red_payload_; // scratch, reused: nothing allocated per packet
    s.audio_red->encode_into(rtp_timestamp, p.data, payload);
    const rtp::RtpHeader h = next_header(now, t, *s.audio_red_pt, rtp_timestamp, p.marker);
    auto bytes = build_packet(h, payload);
    // Payload bytes are the primary frame's, as for video in RED and as the receiver (which unwraps RED) counts
    // them; the RED headers and redundant frames are neither payload nor RTP header bytes there, nor here.
    send_rtp_packet(now, t, std::move(bytes), p.data.size(), rtp_timestamp);
    t.send_counters.header_bytes -= payload.size() - p.data.size();
}

bool MediaEngine::recover_audio_red(Timestamp now, Receiver& r, const rtp::RtpPacketView& red) {
    std::array<rtp::RedAudioFrame, rtp::kRedMaxBlocks> frames;
    const size_t n = rtp::split_red_audio(red.payload(), red.timestamp(), frames);
    if (n == 0) return true;  // malformed or empty: the primary path drops and counts it
    const uint32_t primary_ts = red.timestamp();
    // A timestamp far behind the newest is a new start (the sender restarted its clock, or the newest was bogus),
    // not a late packet: without this one stray timestamp would silence the stream until time caught up with it.
    if (r.red_newest && static_cast<int32_t>(*r.red_newest - primary_ts) > kResyncTicks) {
        r.red_newest.reset();
        r.red_filled.fill(std::nullopt);
    }
    const bool primary_filled = std::any_of(r.red_filled.begin(), r.red_filled.end(),
                                            [&](const std::optional<uint32_t>& f) { return f == primary_ts; });
    // The depacketizer exists once the first packet of the stream went through (it knows the codec then); and
    // only frames after one already handed over were lost (at the start, or after a resync, they were not).
    if (r.depacketizer && r.pt && r.red_newest) {
        size_t redundant = 0;
        for (size_t i = 0; i < n; ++i) redundant += frames[i].redundant;
        size_t k = 0;
        bool filled = false;
        for (size_t i = 0; i < n; ++i) {
            const rtp::RedAudioFrame& f = frames[i];
            if (!f.redundant) continue;
            ++k;
            // Only frames newer than anything given to the depacketizer were lost (or are still on their way:
            // then the original is not delivered again, below), and only blocks older than the primary are real
            // redundancy; blocks of another payload type are not for this decoder.
            if (f.payload_type != *r.pt || !newer(primary_ts, f.timestamp)) continue;
            if (!newer(f.timestamp, *r.red_newest)) continue;
            // Each earlier packet carried one frame: the k-th oldest of `redundant` sat `redundant - k + 1` back.
            const auto seq = static_cast<uint16_t>(red.sequence_number() - (redundant - k + 1));
            r.depacketizer->handle_payload(f.data, seq, f.timestamp, true);
            r.red_newest = f.timestamp;
            r.red_filled[r.red_filled_next] = f.timestamp;
            r.red_filled_next = (r.red_filled_next + 1) % r.red_filled.size();
            ++transceivers_[r.transceiver].stats.fec_packets_recovered;
            filled = true;
        }
        if (filled) drain_receiver(now, r);
    }
    // Frames go to the application as they come: an original older than what was handed over already is a
    // duplicate, or a frame filled in from redundancy, or too late to play in order.
    if (primary_filled || (r.red_newest && !newer(primary_ts, *r.red_newest))) return false;
    r.red_newest = primary_ts;
    return true;
}

} // namespace rtcpp::pc
