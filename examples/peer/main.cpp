// rtcpp-peer: a command-line WebRTC data-channel peer with WHIP-style HTTP signalling.
//
//   rtcpp-peer --listen 127.0.0.1:8080 [--echo] [--receive-file PATH]
//       accepts POST /offer (Content-Type application/sdp, candidates inside) and answers 201 with the answer
//       (candidates inside); serves a small browser page at /.
//   rtcpp-peer --connect http://127.0.0.1:8080/offer [--send-file PATH] [--echo]
//       POSTs our offer and applies the answer; without --send-file or --echo it sends one greeting on channel
//       "chat" once open and prints each message that comes back as "channel message: TEXT".
//   --ice-server URL (repeatable): stun:HOST:PORT, turn:USER:PASS@HOST:PORT?transport=udp|tcp, turns:USER:PASS@HOST:PORT
//   --relay-only: ICE transport policy "relay".
//   --ice-tcp: also gather ICE-TCP candidates (a TCP listener per local address; Configuration::ice_tcp).
//   --bind IP: the local address to use (default: every interface, loopback included).
//   --timeout SECONDS: give up after this long (default 120).
//   --media testsrc: also send a 440 Hz tone (Opus) and a test pattern (640x360, 30 fps, VP8 or --video-codec VP9 or
//       H264) on sendrecv transceivers (answering: on what the offer has), and decode what arrives.
//   --simulcast: with --media testsrc when offering, send the video as three VP8 simulcast layers (rids q, h, f: three
//       encoders at 1/4, 1/2 and full size), each at the bitrate the congestion target's allocation gives it (a layer
//       at zero pauses until it is allocated again, then starts with a keyframe). The summary adds one line per layer:
//       simulcast: rid R sent N frames, allocated K kbps now, paused P times
//   --media recv: receive only (recvonly transceivers when offering; answering: whatever the offer sends).
//   --record DIR: write what arrives to DIR/video-<mid>.ivf (VP8/VP9) or DIR/video-<mid>.h264 (H.264, Annex B) and
//       DIR/audio-<mid>.wav (decoded PCM; stereo when the opus fmtp of either SDP has stereo=1 or sprop-stereo=1).
//   --cc-trace: with --media, print a line to stderr every 500 ms once connected:
//       cc: T s target K kbps sent B bytes received R bytes   (T since start; B, R: RTP payload bytes so far)
//   --duration SECONDS: stop after this long, exit 0. With --media, one summary line goes to stderr at exit:
//       media: video frames received N decoded N errors N; audio frames received M decoded M errors M; sent video F audio A
//       Received audio is played out through an adaptive jitter buffer (rtp::AudioJitterBuffer, a 20 ms "sound card"
//       tick): "decoded" counts the frames played from media (directly or from in-band FEC), "errors" the corrupt
//       packets concealed. Per audio stream it also prints `media: audio MID channels C decoded N stereo packets S`
//       and `media: audio MID jitter buffer late-loss X % (L late of P packets) playout delay mean M ms p95 Q ms
//       target T ms; frames normal N fec F concealed C underruns U dropped D`.
//   --stats FILE: at exit, write getStats() as JSON to FILE (PeerConnection::get_stats().to_json(); an array of them
//       when --listen served several connections), to compare with a browser's getStats().
// Exit status: 0 done, 1 usage, 2 signalling failed, 3 connection failed, 4 file error, 5 timeout.
#include <rtcpp/log.hpp>
#include <rtcpp/peer_connection.hpp>
#include <rtcpp/version.hpp>

#include "media.hpp"

#include <httplib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace rtcpp;
using namespace std::chrono_literals;

namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kHighWater = 4 * 1024 * 1024;
constexpr size_t kLowWater = 1024 * 1024;

struct Options {
    std::string listen;
    std::string connect;
    std::vector<IceServer> ice_servers;
    bool relay_only = false;
    bool ice_tcp = false;
    bool echo = false;
    std::string send_file;
    std::string receive_file;
    std::optional<IpAddr> bind;
    int timeout_s = 120;
    bool quiet = false;
    std::string media; ///< "", "testsrc" or "recv"
    codec::VideoCodec video_codec = codec::VideoCodec::VP8;
    std::string record_dir;
    double duration_s = 0;
    bool cc_trace = false;
    std::string stats_file;
    bool simulcast = false;
};

/// Done/failed signal shared by the callbacks and main.
struct Outcome {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    int code = 0;
    std::string message;
    void finish(int c, std::string msg) {
        std::lock_guard l(m);
        if (done) return;
        done = true;
        code = c;
        message = std::move(msg);
        cv.notify_all();
    }
};

std::chrono::steady_clock::time_point g_start = std::chrono::steady_clock::now();
double elapsed_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g_start).count();
}

Result<IceServer> parse_server_arg(const std::string& arg) {
    // turn:USER:PASS@HOST:PORT?transport=tcp -> urls {turn:HOST:PORT?transport=tcp}, username, credential
    IceServer s;
    const auto colon = arg.find(':');
    const auto at = arg.find('@');
    if (colon == std::string::npos) return make_error(ErrorCategory::SyntaxError, "peer", "bad ICE server " + arg);
    if (at != std::string::npos) {
        const std::string scheme = arg.substr(0, colon);
        const std::string creds = arg.substr(colon + 1, at - colon - 1);
        const auto sep = creds.find(':');
        if (sep == std::string::npos) return make_error(ErrorCategory::SyntaxError, "peer", "bad credentials in " + arg);
        s.username = creds.substr(0, sep);
        s.credential = creds.substr(sep + 1);
        s.urls.push_back(scheme + ":" + arg.substr(at + 1));
    } else {
        s.urls.push_back(arg);
    }
    auto check = parse_ice_server_url(s.urls[0], s.username, s.credential);
    if (!check) return check.error();
    return s;
}

/// Waits for ICE gathering to complete (bounded) so the description carries every candidate.
void wait_gathering(PeerConnection& pc, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (pc.ice_gathering_state() != IceGatheringState::Complete && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(5ms);
}

class FileSender {
public:
    FileSender(std::shared_ptr<DataChannel> ch, std::string path, Outcome& outcome, bool quiet)
        : ch_(std::move(ch)), path_(std::move(path)), outcome_(outcome), quiet_(quiet) {}

    bool open() {
        in_.open(path_, std::ios::binary);
        if (!in_) return false;
        in_.seekg(0, std::ios::end);
        size_ = static_cast<uint64_t>(in_.tellg());
        in_.seekg(0);
        return true;
    }
    uint64_t size() const { return size_; }

    // Called on the loop thread (open and buffered-amount-low callbacks).
    void start() {
        started_ = std::chrono::steady_clock::now();
        const std::string name = path_.substr(path_.find_last_of('/') + 1);
        (void)ch_->send("FILE " + std::to_string(size_) + " " + name);
        pump();
    }
    void pump() {
        std::vector<uint8_t> buf(kChunk);
        while (sent_ < size_ && ch_->buffered_amount() < kHighWater) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size_ - sent_));
            in_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
            if (static_cast<size_t>(in_.gcount()) != n) {
                outcome_.finish(4, "reading " + path_ + " failed");
                return;
            }
            auto r = ch_->send(std::span<const uint8_t>(buf.data(), n));
            if (!r) {
                outcome_.finish(3, "send failed: " + r.error().to_string());
                return;
            }
            sent_ += n;
            progress(false);
        }
        if (sent_ == size_ && !eof_sent_) {
            eof_sent_ = true;
            (void)ch_->send("EOF");
        }
    }
    void on_message(std::string_view text) {
        if (text.rfind("OK ", 0) == 0) {
            progress(true);
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
            std::printf("\nsent %llu bytes in %.2f s: %.1f MB/s, the peer has it all\n",
                        static_cast<unsigned long long>(size_), secs, static_cast<double>(size_) / 1e6 / secs);
            outcome_.finish(0, "file delivered");
        } else if (text.rfind("ERR", 0) == 0) {
            outcome_.finish(4, "the peer reported: " + std::string(text));
        }
    }

private:
    void progress(bool final) {
        if (quiet_) return;
        const int pct = size_ ? static_cast<int>(sent_ * 100 / size_) : 100;
        if (!final && pct == last_pct_) return;
        last_pct_ = pct;
        const int bar = pct / 4;
        std::fprintf(stderr, "\r[%-25.*s] %3d%% %8.1f MB", bar, "#########################", pct,
                     static_cast<double>(sent_) / 1e6);
    }

    std::shared_ptr<DataChannel> ch_;
    std::string path_;
    Outcome& outcome_;
    bool quiet_;
    std::ifstream in_;
    uint64_t size_ = 0;
    uint64_t sent_ = 0;
    bool eof_sent_ = false;
    int last_pct_ = -1;
    std::chrono::steady_clock::time_point started_;
};

class FileReceiver {
public:
    FileReceiver(std::string path, Outcome& outcome) : path_(std::move(path)), outcome_(outcome) {}
    void on_message(const std::shared_ptr<DataChannel>& ch, std::span<const uint8_t> data, bool binary) {
        if (!binary) {
            std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
            if (text.rfind("FILE ", 0) == 0) {
                expected_ = std::strtoull(std::string(text.substr(5)).c_str(), nullptr, 10);
                out_.open(path_, std::ios::binary | std::ios::trunc);
                if (!out_) {
                    (void)ch->send("ERR cannot write");
                    outcome_.finish(4, "cannot write " + path_);
                }
                started_ = std::chrono::steady_clock::now();
            } else if (text == "EOF") {
                out_.close();
                if (received_ != expected_) {
                    (void)ch->send("ERR size");
                    outcome_.finish(4, "received " + std::to_string(received_) + " of " + std::to_string(expected_) +
                                           " bytes");
                    return;
                }
                (void)ch->send("OK " + std::to_string(received_));
                const double secs =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
                std::printf("received %llu bytes into %s in %.2f s (%.1f MB/s)\n",
                            static_cast<unsigned long long>(received_), path_.c_str(), secs,
                            static_cast<double>(received_) / 1e6 / std::max(secs, 1e-9));
                // Give the OK a moment to leave before the process ends.
                std::thread([this] {
                    std::this_thread::sleep_for(300ms);
                    outcome_.finish(0, "file received");
                }).detach();
            }
            return;
        }
        out_.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
        received_ += data.size();
    }

private:
    std::string path_;
    Outcome& outcome_;
    std::ofstream out_;
    uint64_t expected_ = 0;
    uint64_t received_ = 0;
    std::chrono::steady_clock::time_point started_;
};


/// Media counters and the decoders, shared by every connection (the summary line sums them).
struct MediaShared {
    explicit MediaShared(const std::string& record_dir) : receiver(record_dir) {}
    peer::MediaReceiver receiver;
    std::atomic<uint64_t> sent_video{0};
    std::atomic<uint64_t> sent_audio{0};
    /// The congestion controller's target (bps) and how often it moved: the encoder follows it.
    std::atomic<int64_t> target_bps{0};
    std::atomic<uint64_t> target_changes{0};
    /// Set at the end: frames arriving during teardown are no longer counted.
    std::atomic<bool> stopped{false};
    /// Simulcast layers sent: frames, the allocation's current rate, and how often the allocation paused the layer.
    struct Layer {
        uint64_t frames = 0;
        int64_t allocated_bps = 0;
        uint64_t pauses = 0;
    };
    std::mutex layers_m;
    std::map<std::string, Layer> layers;
};

constexpr int kVideoWidth = 640;
constexpr int kVideoHeight = 360;
constexpr int kVideoFps = 30;

// H.264 without packetization-mode=1 (RFC 6184: absent means 0) sends every NAL unit whole, so the encoder must
// cut its pictures into slices that fit one packet's payload.
size_t h264_nal_limit(const rtcpp::TransceiverInfo& t) {
    if (t.send_codec != "H264" && t.send_codec != "h264") return 0;
    std::string_view f = t.send_fmtp;
    while (!f.empty()) {
        const auto end = f.find(';');
        auto param = f.substr(0, end);
        while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
        if (param == "packetization-mode=1") return 0;
        f = end == std::string_view::npos ? std::string_view{} : f.substr(end + 1);
    }
    return t.max_payload_size;
}
// What a packet costs GCC beyond its payload: RTP header with the mid and transport-wide sequence extensions (20
// bytes) + the 44 the media engine adds for SRTP/UDP/IP; the media engine's largest payload; and the audio as GCC
// sees it (32 kbps Opus in 20 ms packets: 80 bytes + overhead, 50 a second).
constexpr int64_t kPacketOverheadBytes = 20 + 44;
constexpr int64_t kMaxPayloadBytes = 1100;
constexpr int64_t kAudioWireBps = 50 * (80 + kPacketOverheadBytes) * 8;

/// One connection's media: the mids of its transceivers, keyframe requests both ways, and the sender thread that
/// paces the test source (20 ms audio, 1/30 s video) once the connection is up.
class MediaLink {
public:
    MediaLink(PeerConnection& pc, const Options& o, MediaShared& shared) : pc_(pc), o_(o), shared_(shared) {}
    ~MediaLink() { stop(); }

    void wire() {
        pc_.on_track([this](const TransceiverInfo& t) {
            std::fprintf(stderr, "[%8.1f ms] track: %s mid %s\n", elapsed_ms(), std::string(to_string(t.kind)).c_str(),
                         t.mid.value_or("?").c_str());
            std::lock_guard l(m_);
            if (t.mid) mids_[t.id] = *t.mid;
        });
        pc_.on_frame([this](const event::MediaFrame& f) {
            if (shared_.stopped) return;
            std::string mid;
            {
                std::lock_guard l(m_);
                auto it = mids_.find(f.transceiver);
                mid = it != mids_.end() ? it->second : "t" + std::to_string(f.transceiver);
            }
            if (shared_.receiver.on_frame(mid, f.rid, f.codec, f.rtp_timestamp, f.keyframe, f.data)) {
                // Asked for from the sender thread: calling into the PeerConnection from its own callback is avoided.
                std::lock_guard l(m_);
                want_keyframe_from_peer_.insert(f.transceiver);
            }
        });
        pc_.on_layer_keyframe_request([this](TransceiverId id, const std::string& rid) {
            std::lock_guard l(m_);
            if (rid.empty()) {
                peer_wants_keyframe_.insert(id);
                return;
            }
            // Only the layer asked for: an SFU switching layers (Janus) asks the one it switches to.
            layer_wants_keyframe_.insert({id, rid});
        });
        pc_.on_bitrate_allocation([this](const event::TargetBitrate& t) {
            std::lock_guard l(m_);
            for (const auto& a : t.allocation)
                if (!a.rid.empty()) layer_bps_[{a.transceiver, a.rid}] = a.bitrate.bps();
        });
        pc_.on_target_bitrate([this](DataRate rate) {
            target_bps_.store(rate.bps());
            shared_.target_bps.store(rate.bps());
            ++shared_.target_changes;
        });
    }

    /// After a description is applied (never from a callback): learn the mids.
    void negotiated() {
        for (const auto& t : pc_.transceivers()) {
            std::lock_guard l(m_);
            if (t.mid) mids_[t.id] = *t.mid;
        }
    }

    void start() {
        if (thread_.joinable()) return;
        thread_ = std::thread([this] { run(); });
    }
    void stop() {
        {
            std::lock_guard l(m_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }
    void connected() {
        {
            std::lock_guard l(m_);
            connected_ = true;
        }
        cv_.notify_all();
    }

private:
    struct Sender {
        TransceiverId id = 0;
        std::unique_ptr<peer::AudioSource> audio;
        std::unique_ptr<peer::VideoSource> video;
        uint32_t timestamp = 0;
        std::chrono::steady_clock::time_point next;
        std::chrono::microseconds period{};
        int64_t video_bps = 0;
        std::string rid; ///< a simulcast layer
        bool paused = true;
        bool lowest = false; ///< the first layer: sent before any allocation arrives
    };

    void run() {
        {
            std::unique_lock l(m_);
            cv_.wait(l, [&] { return stop_ || connected_; });
            if (stop_) return;
        }
        std::vector<Sender> senders;
        const auto now = std::chrono::steady_clock::now();
        if (o_.media == "testsrc") {
            for (const auto& t : pc_.transceivers()) {
                const bool sends = t.current_direction && (*t.current_direction == RtpDirection::SendRecv ||
                                                           *t.current_direction == RtpDirection::SendOnly);
                if (!sends || t.send_codec.empty()) {
                    std::fprintf(stderr, "[%8.1f ms] not sending on mid %s (direction %s, negotiated %s, codec '%s')\n",
                                 elapsed_ms(), t.mid.value_or("?").c_str(), std::string(to_string(t.direction)).c_str(),
                                 t.current_direction ? std::string(to_string(*t.current_direction)).c_str() : "none",
                                 t.send_codec.c_str());
                    continue;
                }
                Sender s;
                s.id = t.id;
                s.next = now;
                if (t.kind == MediaKind::Audio && (t.send_codec == "opus" || t.send_codec == "OPUS")) {
                    s.audio = peer::AudioSource::create();
                    s.period = std::chrono::microseconds(20000);
                } else if (auto c = codec::video_codec_from_name(t.send_codec);
                           t.kind == MediaKind::Video && c && !t.send_rids.empty()) {
                    // Simulcast: an encoder per layer, lowest first, each half the size of the next.
                    for (size_t i = 0; i < t.send_rids.size(); ++i) {
                        const int scale = 1 << (t.send_rids.size() - 1 - i);
                        Sender layer;
                        layer.id = t.id;
                        layer.next = now;
                        layer.rid = t.send_rids[i];
                        layer.lowest = i == 0;
                        layer.video = peer::VideoSource::create(*c, kVideoWidth / scale, kVideoHeight / scale, kVideoFps,
                                                              h264_nal_limit(t));
                        layer.period = std::chrono::microseconds(1000000 / kVideoFps);
                        std::fprintf(stderr, "[%8.1f ms] sending %s layer %s (%dx%d) on mid %s\n", elapsed_ms(),
                                     t.send_codec.c_str(), layer.rid.c_str(), kVideoWidth / scale, kVideoHeight / scale,
                                     t.mid.value_or("?").c_str());
                        senders.push_back(std::move(layer));
                    }
                    continue;
                } else if (auto c = codec::video_codec_from_name(t.send_codec); t.kind == MediaKind::Video && c) {
                    s.video = peer::VideoSource::create(*c, kVideoWidth, kVideoHeight, kVideoFps, h264_nal_limit(t));
                    s.period = std::chrono::microseconds(1000000 / kVideoFps);
                }
                if (!s.audio && !s.video) {
                    std::fprintf(stderr, "not sending on mid %s: codec %s\n", t.mid.value_or("?").c_str(),
                                 t.send_codec.c_str());
                    continue;
                }
                std::fprintf(stderr, "[%8.1f ms] sending %s on mid %s\n", elapsed_ms(), t.send_codec.c_str(),
                             t.mid.value_or("?").c_str());
                senders.push_back(std::move(s));
            }
        }
        // One thread per stream, so a slow video encode never delays the 20 ms audio packets.
        std::vector<std::thread> threads;
        for (auto& s : senders) threads.emplace_back([this, &s] { send_loop(s); });
        auto last_pli = std::chrono::steady_clock::now() - 1s;
        auto next_trace = std::chrono::steady_clock::now();
        for (;;) {
            std::set<TransceiverId> ask_keyframe;
            {
                std::unique_lock l(m_);
                cv_.wait_for(l, 100ms, [&] { return stop_; });
                if (stop_) break;
                // At most a couple of PLIs a second, however many undecodable frames arrive.
                if (std::chrono::steady_clock::now() - last_pli > 500ms) ask_keyframe.swap(want_keyframe_from_peer_);
            }
            if (!ask_keyframe.empty()) last_pli = std::chrono::steady_clock::now();
            for (auto id : ask_keyframe) (void)pc_.request_keyframe(id);
            if (o_.cc_trace && std::chrono::steady_clock::now() >= next_trace) {
                // The estimate over time (shaped-path interop tests take its median), and what actually left.
                next_trace += 500ms;
                uint64_t sent = 0, received = 0;
                for (const auto& st : pc_.rtp_stats()) {
                    sent += st.bytes_sent;
                    received += st.bytes_received;
                }
                std::fprintf(stderr, "cc: %.3f s target %lld kbps sent %llu bytes received %llu bytes\n",
                             elapsed_ms() / 1000, static_cast<long long>(target_bps_.load() / 1000),
                             static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received));
            }
        }
        for (auto& t : threads) t.join();
    }

    /// A simulcast layer: encodes at the rate the allocation gives it, nothing while that is zero.
    void send_layer_loop(Sender& s) {
        for (;;) {
            bool keyframe = false;
            int64_t bps = -1;
            {
                std::unique_lock l(m_);
                cv_.wait_until(l, s.next, [&] { return stop_; });
                if (stop_) return;
                keyframe = layer_wants_keyframe_.erase({s.id, s.rid}) > 0;
                if (auto it = layer_bps_.find({s.id, s.rid}); it != layer_bps_.end()) bps = it->second;
            }
            if (bps < 0) bps = s.lowest ? 100000 : 0; // no allocation yet: the lowest layer only
            {
                std::lock_guard l(shared_.layers_m);
                auto& layer = shared_.layers[s.rid];
                layer.allocated_bps = bps;
                if (bps == 0 && !s.paused) ++layer.pauses;
            }
            if (bps == 0) {
                s.paused = true;
            } else {
                // Back from a pause (or the first frame): the receiver needs a keyframe to start decoding this layer.
                keyframe = keyframe || s.paused;
                s.paused = false;
                // The allocation counts packets as they leave; the encoder counts payload: leave the overhead out.
                const int64_t frame_bytes = bps / 8 / kVideoFps;
                const int64_t packets_per_second = kVideoFps * ((frame_bytes + kMaxPayloadBytes - 1) / kMaxPayloadBytes);
                const int64_t want = std::clamp<int64_t>(bps - packets_per_second * kPacketOverheadBytes * 8, 30000, 2500000);
                if (want != s.video_bps) {
                    s.video->set_bitrate(DataRate::bps(want));
                    s.video_bps = want;
                }
                const auto frame = s.video->next(keyframe);
                if (!frame.empty() && pc_.send_frame(s.id, s.rid, frame, s.timestamp)) {
                    ++shared_.sent_video;
                    std::lock_guard l(shared_.layers_m);
                    ++shared_.layers[s.rid].frames;
                }
            }
            const auto t = std::chrono::steady_clock::now();
            do {
                s.next += s.period;
                s.timestamp += 90000 / kVideoFps;
            } while (s.next + s.period < t);
        }
    }

    void send_loop(Sender& s) {
        if (!s.rid.empty()) return send_layer_loop(s);
        for (;;) {
            bool keyframe = false;
            {
                std::unique_lock l(m_);
                cv_.wait_until(l, s.next, [&] { return stop_; });
                if (stop_) return;
                keyframe = peer_wants_keyframe_.erase(s.id) > 0;
            }
            if (s.video) {
                // The video encoder follows GCC's target, within what the pattern needs. The target counts whole
                // packets as they leave (the media engine reports RTP + 44 bytes of SRTP/UDP/IP to GCC), libvpx
                // counts payload only: give it what is left after the audio and the video's own per-packet
                // overhead. Reserving less (40 kbps used to be taken off) makes us send ~10 % above the target, so
                // GCC sees its own queue and settles that much under the path's rate (chromium_shaped: p50 85 %).
                const int64_t target = target_bps_.load();
                const int64_t video = target - kAudioWireBps;
                const int64_t frame_bytes = std::max<int64_t>(video, 0) / 8 / kVideoFps;
                const int64_t packets_per_second = kVideoFps * ((frame_bytes + kMaxPayloadBytes - 1) / kMaxPayloadBytes);
                const int64_t want =
                    std::clamp<int64_t>(video - packets_per_second * kPacketOverheadBytes * 8, 100000, 2500000);
                if (target > 0 && want != s.video_bps) {
                    s.video->set_bitrate(DataRate::bps(want));
                    s.video_bps = want;
                }
            }
            const auto frame = s.audio ? s.audio->next() : s.video->next(keyframe);
            if (!frame.empty() && pc_.send_frame(s.id, frame, s.timestamp)) {
                if (s.audio) ++shared_.sent_audio;
                else ++shared_.sent_video;
            }
            // Behind by more than a frame (a slow encode): skip the missed slots rather than burst; the RTP clock
            // still advances by them, so the receiver sees a gap in time, not a slowdown.
            const uint32_t step = s.audio ? peer::AudioSource::kTimestampStep : 90000 / kVideoFps;
            const auto t = std::chrono::steady_clock::now();
            do {
                s.next += s.period;
                s.timestamp += step;
            } while (s.next + s.period < t);
        }
    }

    PeerConnection& pc_;
    const Options& o_;
    MediaShared& shared_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool connected_ = false;
    std::map<TransceiverId, std::string> mids_;
    std::set<TransceiverId> peer_wants_keyframe_;
    std::set<std::pair<TransceiverId, std::string>> layer_wants_keyframe_;
    std::map<std::pair<TransceiverId, std::string>, int64_t> layer_bps_; ///< the allocation, per simulcast layer
    std::set<TransceiverId> want_keyframe_from_peer_;
    std::atomic<int64_t> target_bps_{0}; // the congestion controller's target for all our media (0: none yet)
    std::thread thread_;
};

const char* kPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>rtcpp-peer</title></head>
<body>
<h1>rtcpp-peer</h1>
<p>Opens a data channel to this rtcpp-peer (run it with --echo to get your messages back).</p>
<button id="connect">connect</button>
<input id="msg" value="hello rtcpp"><button id="send" disabled>send</button>
<pre id="log"></pre>
<script>
const log = (t) => { document.getElementById('log').textContent += t + '\n'; };
document.getElementById('connect').onclick = async () => {
  document.getElementById('connect').disabled = true;
  const pc = new RTCPeerConnection();
  const ch = pc.createDataChannel('chat');
  ch.onopen = () => { log('channel open'); document.getElementById('send').disabled = false; };
  ch.onmessage = (e) => log('< ' + e.data);
  pc.onconnectionstatechange = () => log('connection: ' + pc.connectionState);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 2000); });
  const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  document.getElementById('send').onclick = () => { const v = document.getElementById('msg').value; ch.send(v); log('> ' + v); };
};
</script></body></html>
)HTML";

/// Everything one connection needs, kept alive by the program.
struct Connection {
    // Declared before pc so the PeerConnection (whose callbacks use it) goes first; its thread is stopped before.
    std::unique_ptr<MediaLink> media;
    std::unique_ptr<PeerConnection> pc;
    std::vector<std::shared_ptr<DataChannel>> channels;
    std::unique_ptr<FileSender> sender;
    std::unique_ptr<FileReceiver> receiver;
};

void wire(Connection& c, const Options& o, Outcome& outcome) {
    PeerConnection& pc = *c.pc;
    MediaLink* media = c.media.get();
    pc.on_connection_state_change([&outcome, &pc, media](PeerConnectionState s, const std::optional<Error>& e) {
        std::fprintf(stderr, "[%8.1f ms] connection %s\n", elapsed_ms(), std::string(to_string(s)).c_str());
        if (s == PeerConnectionState::Connected) {
            if (media) media->connected();
            const auto st = pc.stats();
            if (st.selected_remote)
                std::fprintf(stderr, "             selected pair %s %s -> %s %s over %s\n",
                             st.selected_local_type.c_str(),
                             st.selected_local ? st.selected_local->to_string().c_str() : "?",
                             st.selected_remote_type.c_str(), st.selected_remote->to_string().c_str(),
                             st.selected_protocol.c_str());
        }
        if (s == PeerConnectionState::Failed)
            outcome.finish(3, "connection failed: " + (e ? e->to_string() : std::string("unknown reason")));
    });
    pc.on_data_channel([&c, &o, &outcome](std::shared_ptr<DataChannel> ch) {
        std::fprintf(stderr, "[%8.1f ms] remote opened channel '%s'\n", elapsed_ms(), ch->label().c_str());
        c.channels.push_back(ch);
        std::weak_ptr<DataChannel> weak = ch;
        if (o.echo) {
            ch->on_message([weak](std::span<const uint8_t> data, bool binary) {
                auto self = weak.lock();
                if (!self) return;
                if (binary) (void)self->send(data);
                else (void)self->send(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
            });
        } else if (c.receiver) {
            FileReceiver* r = c.receiver.get();
            ch->on_message([weak, r](std::span<const uint8_t> data, bool binary) {
                if (auto self = weak.lock()) r->on_message(self, data, binary);
            });
        }
        (void)outcome;
    });
    if (media) media->wire();
}

/// Stereo Opus where the SDPs ask for it (stereo=1 / sprop-stereo=1 on the opus fmtp): decoded and recorded as such.
void set_audio_channels(MediaShared& media, const std::string& local_sdp, const std::string& remote_sdp) {
    for (const auto& [mid, channels] : peer::opus_channels_by_mid(local_sdp, remote_sdp)) {
        media.receiver.set_audio_channels(mid, channels);
        if (channels == 2) std::fprintf(stderr, "[%8.1f ms] audio mid %s: stereo Opus\n", elapsed_ms(), mid.c_str());
    }
}

/// The video codecs we encode and decode, `preferred` first (the answerer's first common one is what gets sent).
std::vector<std::string> video_codecs(codec::VideoCodec preferred) {
    std::vector<std::string> out{std::string(codec::to_string(preferred))};
    for (auto c : {codec::VideoCodec::VP8, codec::VideoCodec::VP9, codec::VideoCodec::H264})
        if (c != preferred) out.emplace_back(codec::to_string(c));
    return out;
}

/// Answering with --media testsrc: a sendrecv transceiver for each audio/video m-line of the offer, added before
/// the answer is created so the answer takes them for those m-lines (as addTrack would in a browser). The answer's
/// direction then follows the offer's (sendonly where the offer only receives).
void add_answer_media(PeerConnection& pc, const Options& o, const std::string& offer) {
    if (o.media != "testsrc") return;
    size_t pos = 0;
    while ((pos = offer.find("m=", pos)) != std::string::npos) {
        const bool line_start = pos == 0 || offer[pos - 1] == '\n';
        const std::string_view rest(offer.data() + pos + 2, std::min<size_t>(6, offer.size() - pos - 2));
        pos += 2;
        if (!line_start) continue;
        std::optional<MediaKind> kind;
        if (rest.rfind("audio ", 0) == 0) kind = MediaKind::Audio;
        else if (rest.rfind("video ", 0) == 0) kind = MediaKind::Video;
        if (!kind) continue;
        TransceiverInit init;
        if (*kind == MediaKind::Video) {
            // --video-codec first; the others keep an m-line we could not encode for still receivable.
            init.codecs = video_codecs(o.video_codec);
            init.codecs.push_back("AV1");
            // Video FEC too, when the offer has it: ULPFEC in RED, or FlexFEC where that is the only one.
            for (const char* fec : {"red", "ulpfec", "flexfec-03"}) init.codecs.push_back(fec);
        }
        if (auto r = pc.add_transceiver(*kind, init); !r)
            std::fprintf(stderr, "cannot add a %s transceiver: %s\n", std::string(to_string(*kind)).c_str(),
                         r.error().to_string().c_str());
    }
}

/// Offering with --media: one audio and one video transceiver.
Result<void> add_media(PeerConnection& pc, const Options& o) {
    if (o.media.empty()) return {};
    TransceiverInit audio;
    TransceiverInit video;
    if (o.media == "recv") {
        audio.direction = RtpDirection::RecvOnly;
        video.direction = RtpDirection::RecvOnly;
    } else {
        audio.codecs = {"opus"};
        video.codecs = video_codecs(o.video_codec);
        if (o.simulcast) video.send_rids = {"q", "h", "f"};
    }
    if (auto r = pc.add_transceiver(MediaKind::Audio, audio); !r) return r.error();
    if (auto r = pc.add_transceiver(MediaKind::Video, video); !r) return r.error();
    return {};
}

int run(const Options& o) {
    Configuration cfg;
    cfg.ice_servers = o.ice_servers;
    cfg.ice_transport_policy = o.relay_only ? IceTransportPolicy::Relay : IceTransportPolicy::All;
    cfg.include_loopback = true;
    cfg.bind_address = o.bind;
    cfg.ice_tcp = o.ice_tcp;
    Outcome outcome;
    std::unique_ptr<MediaShared> media;
    if (!o.media.empty()) media = std::make_unique<MediaShared>(o.record_dir);
    std::mutex conns_mutex;
    std::vector<std::unique_ptr<Connection>> conns;

    auto make_connection = [&]() -> Result<Connection*> {
        auto pc = PeerConnection::create(cfg);
        if (!pc) return pc.error();
        auto c = std::make_unique<Connection>();
        c->pc = std::move(pc.value());
        if (media) c->media = std::make_unique<MediaLink>(*c->pc, o, *media);
        if (!o.receive_file.empty()) c->receiver = std::make_unique<FileReceiver>(o.receive_file, outcome);
        wire(*c, o, outcome);
        std::lock_guard l(conns_mutex);
        conns.push_back(std::move(c));
        return conns.back().get();
    };

    std::unique_ptr<httplib::Server> server;
    std::thread server_thread;
    if (!o.listen.empty()) {
        auto addr = SocketAddr::parse(o.listen);
        if (!addr) {
            std::fprintf(stderr, "--listen: %s\n", addr.error().to_string().c_str());
            return 1;
        }
        server = std::make_unique<httplib::Server>();
        server->set_payload_max_length(256 * 1024);
        server->Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kPage, "text/html"); });
        server->Post("/offer", [&](const httplib::Request& req, httplib::Response& res) {
            auto c = make_connection();
            if (!c) {
                res.status = 500;
                res.set_content(c.error().to_string(), "text/plain");
                return;
            }
            PeerConnection& pc = *(*c)->pc;
            auto r = pc.set_remote_description({SdpType::Offer, req.body});
            if (!r) {
                res.status = 400;
                res.set_content(r.error().to_string() + "\n", "text/plain");
                return;
            }
            add_answer_media(pc, o, req.body);
            auto answer = pc.create_answer();
            if (!answer || !pc.set_local_description(*answer)) {
                res.status = 500;
                res.set_content(answer ? "setting the answer failed\n" : answer.error().to_string() + "\n", "text/plain");
                return;
            }
            if (media) set_audio_channels(*media, pc.local_description()->sdp, req.body);
            if ((*c)->media) {
                (*c)->media->negotiated();
                (*c)->media->start();
            }
            wait_gathering(pc);
            res.status = 201;
            res.set_header("Location", "/session/" + std::to_string(conns.size()));
            res.set_content(pc.local_description()->sdp, "application/sdp");
            std::fprintf(stderr, "[%8.1f ms] answered an offer\n", elapsed_ms());
        });
        if (!server->bind_to_port(addr->ip().to_string(), addr->port())) {
            std::fprintf(stderr, "cannot listen on %s\n", o.listen.c_str());
            return 2;
        }
        server_thread = std::thread([&] { server->listen_after_bind(); });
        std::fprintf(stderr, "rtcpp-peer %s listening on http://%s/ (POST /offer)\n", version(), o.listen.c_str());
    }

    if (!o.connect.empty()) {
        auto c = make_connection();
        if (!c) {
            std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
            return 3;
        }
        Connection& conn = **c;
        PeerConnection& pc = *conn.pc;
        const auto t0 = std::chrono::steady_clock::now();
        auto ch = pc.create_data_channel(o.send_file.empty() ? "chat" : "file");
        if (!ch) {
            std::fprintf(stderr, "%s\n", ch.error().to_string().c_str());
            return 3;
        }
        conn.channels.push_back(*ch);
        std::shared_ptr<DataChannel> channel = *ch;
        if (!o.send_file.empty()) {
            conn.sender = std::make_unique<FileSender>(channel, o.send_file, outcome, o.quiet);
            if (!conn.sender->open()) {
                std::fprintf(stderr, "cannot read %s\n", o.send_file.c_str());
                return 4;
            }
            FileSender* s = conn.sender.get();
            channel->set_buffered_amount_low_threshold(kLowWater);
            channel->on_buffered_amount_low([s] { s->pump(); });
            channel->on_message([s](std::span<const uint8_t> d, bool binary) {
                if (!binary) s->on_message(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
            });
        }
        if (o.echo) {
            std::weak_ptr<DataChannel> weak = channel;
            channel->on_message([weak](std::span<const uint8_t> data, bool binary) {
                auto self = weak.lock();
                if (!self) return;
                if (binary) (void)self->send(data);
                else (void)self->send(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
            });
        } else if (!conn.sender) {
            // What comes back for the greeting (e.g. from an echoing server), one line per message.
            channel->on_message([](std::span<const uint8_t> data, bool binary) {
                if (binary) std::printf("channel message: %zu bytes (binary)\n", data.size());
                else
                    std::printf("channel message: %.*s\n", static_cast<int>(data.size()),
                                reinterpret_cast<const char*>(data.data()));
                std::fflush(stdout);
            });
        }
        std::weak_ptr<DataChannel> weak_channel = channel; // the channel keeps its callbacks: no cycle through them
        channel->on_open([&, t0, weak_channel] {
            auto channel = weak_channel.lock();
            if (!channel) return;
            const double setup = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            const auto st = pc.stats();
            std::printf("channel open: setup %.1f ms (offer to open), ICE RTT %.3f ms\n", setup,
                        st.rtt ? st.rtt->ms_f() : -1.0);
            std::fflush(stdout);
            if (conn.sender) conn.sender->start();
            else if (!o.echo) (void)channel->send("hello from rtcpp-peer");
        });
        if (auto m = add_media(pc, o); !m) {
            std::fprintf(stderr, "adding media: %s\n", m.error().to_string().c_str());
            return 3;
        }
        auto offer = pc.create_offer();
        if (!offer || !pc.set_local_description(*offer)) {
            std::fprintf(stderr, "creating the offer failed\n");
            return 2;
        }
        wait_gathering(pc);
        std::string url = o.connect;
        const auto scheme_end = url.find("://");
        const auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
        const std::string host = url.substr(0, path_start);
        const std::string path = path_start == std::string::npos ? "/offer" : url.substr(path_start);
        httplib::Client client(host);
        client.set_connection_timeout(5);
        client.set_read_timeout(10);
        auto res = client.Post(path.c_str(), pc.local_description()->sdp, "application/sdp");
        if (!res) {
            std::fprintf(stderr, "POST %s failed: %s\n", o.connect.c_str(), httplib::to_string(res.error()).c_str());
            return 2;
        }
        if (res->status != 201 && res->status != 200) {
            std::fprintf(stderr, "POST %s: HTTP %d: %s\n", o.connect.c_str(), res->status, res->body.c_str());
            return 2;
        }
        auto r = pc.set_remote_description({SdpType::Answer, res->body});
        if (!r) {
            std::fprintf(stderr, "the answer was refused: %s\n", r.error().to_string().c_str());
            return 2;
        }
        if (media) set_audio_channels(*media, pc.local_description()->sdp, res->body);
        if (conn.media) {
            conn.media->negotiated();
            conn.media->start();
        }
    }

    int code = 0;
    {
        std::unique_lock l(outcome.m);
        const bool finishes = !o.send_file.empty() || !o.receive_file.empty();
        const auto timeout_at = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
        // --duration counts from the start of the program.
        const auto duration_at =
            o.duration_s > 0
                ? g_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(o.duration_s))
                : timeout_at;
        const bool duration_first = o.duration_s > 0 && duration_at < timeout_at;
        if (!outcome.cv.wait_until(l, std::min(timeout_at, duration_at), [&] { return outcome.done; })) {
            outcome.done = true;
            if (duration_first) {
                outcome.code = 0;
            } else if (finishes) {
                outcome.code = 5;
                outcome.message = "timed out after " + std::to_string(o.timeout_s) + " s";
            }
            // Otherwise: served (or kept the connection) until the timeout.
        }
        code = outcome.code;
        if (!outcome.message.empty()) std::fprintf(stderr, "%s\n", outcome.message.c_str());
    }
    if (media) {
        media->stopped = true;
        {
            std::lock_guard lk(conns_mutex);
            for (auto& c : conns)
                if (c->media) c->media->stop();
        }
        media->receiver.close();
        {
            // The transport's view per transceiver, to tell "nothing arrived" from "arrived but no whole frame".
            std::lock_guard lk(conns_mutex);
            for (auto& c : conns) {
                std::map<TransceiverId, std::string> mids;
                for (const auto& t : c->pc->transceivers())
                    mids[t.id] = std::string(to_string(t.kind)) + " mid " + t.mid.value_or("?") + " " + t.send_codec;
                for (const auto& st : c->pc->rtp_stats())
                    std::fprintf(stderr,
                                 "rtp: %s: sent packets %llu frames %llu (nacks in %llu, retransmitted %llu, keyframe "
                                 "requests in %llu); received packets %llu frames %llu lost %llu (nacks out %llu, "
                                 "keyframe requests out %llu)\n",
                                 mids[st.transceiver].c_str(), static_cast<unsigned long long>(st.packets_sent),
                                 static_cast<unsigned long long>(st.frames_sent),
                                 static_cast<unsigned long long>(st.nacks_received),
                                 static_cast<unsigned long long>(st.retransmitted_packets_sent),
                                 static_cast<unsigned long long>(st.keyframe_requests_received),
                                 static_cast<unsigned long long>(st.packets_received),
                                 static_cast<unsigned long long>(st.frames_received),
                                 static_cast<unsigned long long>(st.packets_lost),
                                 static_cast<unsigned long long>(st.nacks_sent),
                                 static_cast<unsigned long long>(st.keyframe_requests_sent));
                for (const auto& st : c->pc->rtp_stats())
                    if (st.fec_packets_sent || st.fec_packets_recovered)
                        std::fprintf(stderr, "fec: %s: sent %llu (protection %.2f), recovered %llu\n",
                                     mids[st.transceiver].c_str(), static_cast<unsigned long long>(st.fec_packets_sent),
                                     st.fec_protection, static_cast<unsigned long long>(st.fec_packets_recovered));
            }
        }
        for (const auto& line : media->receiver.rid_lines()) std::fprintf(stderr, "%s\n", line.c_str());
        for (const auto& line : media->receiver.audio_lines()) std::fprintf(stderr, "%s\n", line.c_str());
        {
            std::lock_guard l(media->layers_m);
            for (const auto& [rid, layer] : media->layers)
                std::fprintf(stderr, "simulcast: rid %s sent %llu frames, allocated %lld kbps now, paused %llu times\n",
                             rid.c_str(), static_cast<unsigned long long>(layer.frames),
                             static_cast<long long>(layer.allocated_bps / 1000),
                             static_cast<unsigned long long>(layer.pauses));
        }
        for (const auto& line : media->receiver.pattern_lines()) std::fprintf(stderr, "%s\n", line.c_str());
        for (const auto& line : media->receiver.size_lines()) std::fprintf(stderr, "%s\n", line.c_str());
        if (media->target_changes.load() > 0)
            std::fprintf(stderr, "cc: target bitrate %lld kbps after %llu changes (transport-cc feedback from the peer)\n",
                         static_cast<long long>(media->target_bps.load() / 1000),
                         static_cast<unsigned long long>(media->target_changes.load()));
        const auto t = media->receiver.totals();
        std::fprintf(stderr,
                     "media: video frames received %llu decoded %llu errors %llu; audio frames received %llu decoded "
                     "%llu errors %llu; sent video %llu audio %llu\n",
                     static_cast<unsigned long long>(t.video_received), static_cast<unsigned long long>(t.video_decoded),
                     static_cast<unsigned long long>(t.video_errors), static_cast<unsigned long long>(t.audio_received),
                     static_cast<unsigned long long>(t.audio_decoded), static_cast<unsigned long long>(t.audio_errors),
                     static_cast<unsigned long long>(media->sent_video.load()),
                     static_cast<unsigned long long>(media->sent_audio.load()));
        std::fflush(stderr);
    }
    if (!o.stats_file.empty()) {
        std::lock_guard lk(conns_mutex);
        std::string json = conns.size() == 1 ? std::string() : "[";
        for (size_t i = 0; i < conns.size(); ++i) json += (i ? "," : "") + conns[i]->pc->get_stats().to_json();
        if (conns.size() != 1) json += "]";
        std::ofstream f(o.stats_file, std::ios::binary);
        f << json << "\n";
        if (!f) std::fprintf(stderr, "--stats: cannot write %s\n", o.stats_file.c_str());
    }
    if (server) {
        server->stop();
        server_thread.join();
    }
    std::lock_guard lk(conns_mutex);
    conns.clear();
    return code;
}

int usage() {
    std::fprintf(stderr,
                 "usage: rtcpp-peer (--listen HOST:PORT | --connect URL) [--echo] [--send-file PATH] "
                 "[--receive-file PATH]\n                  [--ice-server URL]... [--relay-only] [--ice-tcp] [--bind IP] "
                 "[--timeout SECONDS] [--quiet] [--verbose]\n"
                 "                  [--media testsrc|recv] [--video-codec VP8|VP9|H264] [--record DIR] [--duration SECONDS] [--cc-trace] [--simulcast]\n"
                 "                  [--stats FILE]\n");
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
        if (a == "--listen") o.listen = next();
        else if (a == "--connect") o.connect = next();
        else if (a == "--echo") o.echo = true;
        else if (a == "--send-file") o.send_file = next();
        else if (a == "--receive-file") o.receive_file = next();
        else if (a == "--relay-only") o.relay_only = true;
        else if (a == "--ice-tcp") o.ice_tcp = true;
        else if (a == "--quiet") o.quiet = true;
        else if (a == "--verbose") {
            set_log_handler(LogLevel::Trace, [](LogLevel l, std::string_view c, std::string_view m) {
                std::fprintf(stderr, "[%8.1f ms] %s %.*s: %.*s\n", elapsed_ms(), std::string(to_string(l)).c_str(),
                             static_cast<int>(c.size()), c.data(), static_cast<int>(m.size()), m.data());
            });
        }
        else if (a == "--timeout") o.timeout_s = std::atoi(next().c_str());
        else if (a == "--media") {
            o.media = next();
            if (o.media != "testsrc" && o.media != "recv") return usage();
        } else if (a == "--video-codec") {
            auto c = codec::video_codec_from_name(next());
            if (!c) return usage();
            o.video_codec = *c;
        } else if (a == "--record") o.record_dir = next();
        else if (a == "--duration") o.duration_s = std::atof(next().c_str());
        else if (a == "--cc-trace") o.cc_trace = true;
        else if (a == "--simulcast") o.simulcast = true;
        else if (a == "--stats") o.stats_file = next();
        else if (a == "--bind") {
            auto ip = IpAddr::parse(next());
            if (!ip) return usage();
            o.bind = *ip;
        } else if (a == "--ice-server") {
            auto s = parse_server_arg(next());
            if (!s) {
                std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
                return 1;
            }
            o.ice_servers.push_back(*s);
        } else return usage();
    }
    if (o.listen.empty() == o.connect.empty()) return usage();
    if (!o.send_file.empty() && o.connect.empty()) {
        std::fprintf(stderr, "--send-file goes with --connect\n");
        return 1;
    }
    if (!o.record_dir.empty()) {
        if (o.media.empty()) o.media = "recv";
        std::error_code ec;
        std::filesystem::create_directories(o.record_dir, ec);
        if (ec) {
            std::fprintf(stderr, "--record %s: %s\n", o.record_dir.c_str(), ec.message().c_str());
            return 4;
        }
    }
    return run(o);
}
