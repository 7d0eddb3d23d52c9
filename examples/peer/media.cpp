#include "media.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

using namespace rtcpp::codec;

namespace peer {

namespace {
std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
} // namespace

namespace {
rtcpp::Timestamp steady_now() {
    return rtcpp::Timestamp::micros(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}
constexpr auto kAudioFrame = rtcpp::TimeDelta::millis(20);
} // namespace

MediaReceiver::MediaReceiver(std::string record_dir) : record_dir_(std::move(record_dir)) {
    // The "sound card": asks every stream for its due frames. A 5 ms tick plays a frame at most 5 ms after its slot.
    playout_ = std::thread([this] {
        std::unique_lock l(playout_m_);
        while (!playout_cv_.wait_for(l, std::chrono::milliseconds(5), [&] { return playout_stop_; })) {
            l.unlock();
            play_audio(steady_now());
            l.lock();
        }
    });
}

bool MediaReceiver::on_frame(const std::string& mid, const std::string& rid, const std::string& codec,
                             uint32_t rtp_timestamp, bool keyframe, std::span<const uint8_t> data) {
    std::lock_guard l(m_);
    if (lower(codec) == "opus") {
        on_audio(audio_[mid], mid, rtp_timestamp, data);
        return false;
    }
    const std::string name = rid.empty() ? mid : mid + "-" + rid;
    if (!rid.empty()) video_rid_[name] = rid;
    return on_video(video_[name], name, codec, rtp_timestamp, keyframe, data);
}

bool MediaReceiver::on_video(VideoStream& s, const std::string& name, const std::string& codec_name, uint32_t ts,
                             bool keyframe, std::span<const uint8_t> data) {
    ++s.received;
    const auto codec = video_codec_from_name(codec_name);
    if (!codec) return false; // AV1: counted as received, not decoded here
    if ((!s.decoder && !s.h264) || s.codec != codec) {
        s.decoder.reset();
        s.h264.reset();
        if (*codec == VideoCodec::H264) {
            auto d = H264Decoder::create();
            if (d) s.h264 = std::move(*d);
            else std::fprintf(stderr, "video %s: %s\n", name.c_str(), d.error().to_string().c_str());
        } else {
            auto d = VpxDecoder::create(*codec);
            if (d) s.decoder = std::move(*d);
            else std::fprintf(stderr, "video %s: %s\n", name.c_str(), d.error().to_string().c_str());
        }
        if (!s.decoder && !s.h264) {
            ++s.errors;
            return false;
        }
        s.codec = codec;
        s.waiting_for_keyframe = true;
    }
    // A decoder can only start from a keyframe; frames before it are not errors, just not decodable yet.
    if (s.waiting_for_keyframe && !keyframe) return true;
    auto pic = s.h264 ? s.h264->decode(data) : s.decoder->decode(data);
    if (!pic) {
        ++s.errors;
        std::fprintf(stderr, "video %s: %s\n", name.c_str(), pic.error().to_string().c_str());
        s.waiting_for_keyframe = true;
        return true;
    }
    s.waiting_for_keyframe = false;
    if (pic->has_value()) {
        ++s.decoded;
        s.width = (*pic)->width;
        s.height = (*pic)->height;
        ++s.sizes[{s.width, s.height}];
        // Checks the content end to end when the sender is an rtcpp-peer --media testsrc.
        if (auto n = read_frame_counter(**pic); n && (!s.last_counter || *n > *s.last_counter)) {
            ++s.pattern_frames;
            s.last_counter = n;
        }
    }
    if (!record_dir_.empty() && *codec == VideoCodec::H264) {
        if (!s.annex_b) {
            const auto path = (std::filesystem::path(record_dir_) / ("video-" + name + ".h264")).string();
            auto w = AnnexBWriter::open(path);
            if (w) s.annex_b = std::move(*w);
            else std::fprintf(stderr, "%s\n", w.error().to_string().c_str());
        }
        if (s.annex_b) (void)s.annex_b->write(data);
    } else if (!record_dir_.empty()) {
        if (!s.ivf) {
            const auto path = (std::filesystem::path(record_dir_) / ("video-" + name + ".ivf")).string();
            auto w = IvfWriter::open(path, *codec, s.width, s.height);
            if (w) s.ivf = std::move(*w);
            else std::fprintf(stderr, "%s\n", w.error().to_string().c_str());
            s.first_timestamp = ts;
        }
        if (s.ivf && *s.codec == *codec) {
            s.ivf->set_size(s.width, s.height);
            (void)s.ivf->write(data, static_cast<uint32_t>(ts - *s.first_timestamp));
        }
    }
    return false;
}

void MediaReceiver::on_audio(AudioStream& s, const std::string& mid, uint32_t rtp_timestamp,
                             std::span<const uint8_t> data) {
    ++s.received;
    if (!data.empty() && (data[0] & 0x04) != 0) ++s.stereo_packets; // RFC 6716 3.1: the TOC byte's s bit
    if (!s.jitter) {
        // The negotiated channel count (set_audio_channels); libopus up- or downmixes a packet that differs.
        auto d = rtcpp::rtp::AudioJitterDecoder::create(kOpusSampleRate, s.channels, kAudioFrame);
        if (!d) {
            ++s.errors;
            std::fprintf(stderr, "audio %s: %s\n", mid.c_str(), d.error().to_string().c_str());
            return;
        }
        s.decoder = std::move(*d);
        s.jitter = std::make_unique<rtcpp::rtp::AudioJitterBuffer>();
    }
    s.jitter->handle_packet(steady_now(), rtp_timestamp, data);
}

void MediaReceiver::play_audio(rtcpp::Timestamp now) {
    std::lock_guard l(m_);
    for (auto& [mid, s] : audio_) play(s, mid, now);
}

void MediaReceiver::play(AudioStream& s, const std::string& mid, rtcpp::Timestamp now) {
    if (!s.jitter) return;
    if (!s.next_playout) s.next_playout = now;
    // Slots missed by more than a second (the process stalled) are skipped, not played in a burst.
    if (now - *s.next_playout > rtcpp::TimeDelta::seconds(1)) s.next_playout = now;
    while (*s.next_playout <= now) {
        *s.next_playout += kAudioFrame;
        auto frame = s.jitter->poll_frame(now);
        if (!frame) continue;
        const auto pcm = s.decoder->decode(*frame);
        if (record_dir_.empty()) continue;
        if (!s.wav) {
            const auto path = (std::filesystem::path(record_dir_) / ("audio-" + mid + ".wav")).string();
            auto w = WavWriter::open(path, kOpusSampleRate, s.channels);
            if (!w) {
                std::fprintf(stderr, "%s\n", w.error().to_string().c_str());
                record_dir_.clear();
                continue;
            }
            s.wav = std::move(*w);
        }
        (void)s.wav->write(pcm);
    }
}

void MediaReceiver::set_audio_channels(const std::string& mid, int channels) {
    std::lock_guard l(m_);
    auto& s = audio_[mid];
    if (!s.jitter) s.channels = channels == 2 ? 2 : 1;
}

std::vector<std::string> MediaReceiver::audio_lines() const {
    std::lock_guard l(m_);
    std::vector<std::string> out;
    for (const auto& [mid, s] : audio_) {
        if (s.received == 0) continue;
        out.push_back("media: audio " + mid + " channels " + std::to_string(s.channels) + " decoded " +
                      std::to_string(s.decoded()) + " stereo packets " + std::to_string(s.stereo_packets));
        if (!s.jitter) continue;
        const auto& j = s.jitter->stats();
        const auto& d = s.decoder->stats();
        char line[400];
        std::snprintf(line, sizeof line,
                      "media: audio %s jitter buffer late-loss %.2f %% (%llu late of %llu packets) playout delay mean "
                      "%lld ms p95 %lld ms target %lld ms; frames normal %llu fec %llu concealed %llu underruns %llu "
                      "dropped %llu",
                      mid.c_str(), 100.0 * j.late_loss_rate(), static_cast<unsigned long long>(j.late),
                      static_cast<unsigned long long>(j.packets_received),
                      static_cast<long long>(s.jitter->mean_delay().ms()),
                      static_cast<long long>(s.jitter->delay_percentile(0.95).ms()),
                      static_cast<long long>(s.jitter->target_delay().ms()), static_cast<unsigned long long>(d.decoded),
                      static_cast<unsigned long long>(d.fec_decoded), static_cast<unsigned long long>(d.concealed),
                      static_cast<unsigned long long>(j.underruns), static_cast<unsigned long long>(j.frames_dropped));
        out.emplace_back(line);
    }
    return out;
}

namespace {

// The m-sections of an SDP, each as its lines.
std::vector<std::vector<std::string>> media_sections(const std::string& sdp) {
    std::vector<std::vector<std::string>> out;
    size_t pos = 0;
    while (pos < sdp.size()) {
        size_t end = sdp.find('\n', pos);
        if (end == std::string::npos) end = sdp.size();
        std::string line = sdp.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos = end + 1;
        if (line.rfind("m=", 0) == 0) out.emplace_back();
        if (!out.empty()) out.back().push_back(std::move(line));
    }
    return out;
}

} // namespace

std::map<std::string, int> opus_channels_by_mid(const std::string& local_sdp, const std::string& remote_sdp) {
    std::map<std::string, int> out;
    for (const auto* sdp : {&local_sdp, &remote_sdp}) {
        for (const auto& sec : media_sections(*sdp)) {
            if (sec.front().rfind("m=audio ", 0) != 0) continue;
            std::string mid, opus_pt;
            for (const auto& l : sec) {
                if (l.rfind("a=mid:", 0) == 0) mid = l.substr(6);
                if (l.rfind("a=rtpmap:", 0) == 0) {
                    const auto sp = l.find(' ');
                    if (sp != std::string::npos && lower(l.substr(sp + 1, 5)) == "opus/") opus_pt = l.substr(9, sp - 9);
                }
            }
            if (mid.empty() || opus_pt.empty()) continue;
            int channels = 1;
            const std::string fmtp = "a=fmtp:" + opus_pt + " ";
            for (const auto& l : sec)
                if (l.rfind(fmtp, 0) == 0) channels = opus_channels_from_fmtp(std::string_view(l).substr(fmtp.size()));
            out[mid] = std::max(out[mid], channels);
        }
    }
    return out;
}

void MediaReceiver::close() {
    {
        std::lock_guard pl(playout_m_);
        playout_stop_ = true;
    }
    playout_cv_.notify_all();
    if (playout_.joinable()) playout_.join();
    std::lock_guard l(m_);
    // Like a sound card at the end of a stream: what the jitter buffer still holds (its playout delay's worth) is
    // played before the files close, not dropped.
    for (auto& [mid, s] : audio_)
        if (s.jitter) play(s, mid, steady_now() + s.jitter->target_delay() + rtcpp::TimeDelta::millis(60));
    for (auto& [name, s] : video_)
        if (s.ivf) (void)s.ivf->close();
    for (auto& [name, s] : video_)
        if (s.annex_b) (void)s.annex_b->close();
    for (auto& [name, s] : audio_)
        if (s.wav) (void)s.wav->close();
}

MediaReceiver::Totals MediaReceiver::totals() const {
    std::lock_guard l(m_);
    Totals t;
    for (const auto& [name, s] : video_) {
        t.video_received += s.received;
        t.video_decoded += s.decoded;
        t.video_errors += s.errors;
    }
    for (const auto& [name, s] : audio_) {
        t.audio_received += s.received;
        t.audio_decoded += s.decoded();
        // Corrupt packets the decoder had to conceal, and streams it could not be made for.
        t.audio_errors += s.errors + (s.decoder ? s.decoder->stats().errors : 0);
    }
    return t;
}

std::vector<std::string> MediaReceiver::rid_lines() const {
    std::lock_guard l(m_);
    std::vector<std::string> out;
    for (const auto& [name, rid] : video_rid_) {
        const auto& s = video_.at(name);
        out.push_back("media: rid " + rid + " video frames received " + std::to_string(s.received) + " decoded " +
                      std::to_string(s.decoded) + " errors " + std::to_string(s.errors) + " (" +
                      std::to_string(s.width) + "x" + std::to_string(s.height) + ")");
    }
    return out;
}

std::vector<std::string> MediaReceiver::pattern_lines() const {
    std::lock_guard l(m_);
    std::vector<std::string> out;
    for (const auto& [name, s] : video_)
        if (s.pattern_frames > 0)
            out.push_back("media: video " + name + " test pattern frames " + std::to_string(s.pattern_frames) + " of " +
                          std::to_string(s.decoded) + " decoded, last counter " + std::to_string(*s.last_counter));
    return out;
}

std::vector<std::string> MediaReceiver::size_lines() const {
    std::lock_guard l(m_);
    std::vector<std::string> out;
    for (const auto& [name, s] : video_) {
        if (s.sizes.empty()) continue;
        std::string line = "media: video " + name + " decoded sizes";
        for (const auto& [wh, n] : s.sizes)
            line += " " + std::to_string(wh.first) + "x" + std::to_string(wh.second) + ":" + std::to_string(n);
        out.push_back(std::move(line));
    }
    return out;
}

std::unique_ptr<AudioSource> AudioSource::create() {
    auto opus = OpusAudioEncoder::create({});
    if (!opus) {
        std::fprintf(stderr, "audio source: %s\n", opus.error().to_string().c_str());
        return nullptr;
    }
    auto s = std::make_unique<AudioSource>();
    s->opus_ = std::move(*opus);
    return s;
}

std::vector<uint8_t> AudioSource::next() {
    auto p = opus_->encode(tone_.next(kOpusFrameSamples));
    return p ? std::move(*p) : std::vector<uint8_t>{};
}

std::unique_ptr<VideoSource> VideoSource::create(VideoCodec codec, int width, int height, int fps, size_t max_nal_size) {
    auto s = std::make_unique<VideoSource>();
    s->codec_ = codec;
    if (codec == VideoCodec::H264) {
        H264EncoderConfig cfg;
        cfg.width = width;
        cfg.height = height;
        cfg.fps = fps;
        cfg.bitrate = rtcpp::DataRate::kbps(800);
        cfg.max_nal_size = max_nal_size;
        auto enc = H264Encoder::create(cfg);
        if (!enc) {
            std::fprintf(stderr, "video source: %s\n", enc.error().to_string().c_str());
            return nullptr;
        }
        s->h264_ = std::move(*enc);
    } else {
        VpxEncoderConfig cfg;
        cfg.codec = codec;
        cfg.width = width;
        cfg.height = height;
        cfg.fps = fps;
        cfg.bitrate = rtcpp::DataRate::kbps(800);
        auto vpx = VpxEncoder::create(cfg);
        if (!vpx) {
            std::fprintf(stderr, "video source: %s\n", vpx.error().to_string().c_str());
            return nullptr;
        }
        s->vpx_ = std::move(*vpx);
    }
    s->pattern_ = std::make_unique<TestPattern>(width, height);
    return s;
}

std::vector<uint8_t> VideoSource::next(bool force_keyframe, bool* keyframe) {
    const auto picture = pattern_->next();
    auto frames = h264_ ? h264_->encode(picture, force_keyframe) : vpx_->encode(picture, force_keyframe);
    if (!frames || frames->empty()) return {};
    // One frame per picture: realtime libvpx has no lookahead (and no VP9 superframe without spatial layers);
    // openh264 gives one access unit.
    if (keyframe) *keyframe = frames->front().keyframe;
    return std::move(frames->front().data);
}

} // namespace peer
