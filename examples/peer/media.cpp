#include "media.hpp"

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

bool MediaReceiver::on_frame(const std::string& mid, const std::string& rid, const std::string& codec,
                             uint32_t rtp_timestamp, bool keyframe, std::span<const uint8_t> data) {
    std::lock_guard l(m_);
    if (lower(codec) == "opus") {
        on_audio(audio_[mid], mid, data);
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
    if (!codec) return false; // H.264, AV1: counted as received, not decoded here
    if (!s.decoder || s.codec != codec) {
        auto d = VpxDecoder::create(*codec);
        if (!d) {
            ++s.errors;
            return false;
        }
        s.decoder = std::move(*d);
        s.codec = codec;
        s.waiting_for_keyframe = true;
    }
    // A decoder can only start from a keyframe; frames before it are not errors, just not decodable yet.
    if (s.waiting_for_keyframe && !keyframe) return true;
    auto pic = s.decoder->decode(data);
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
    if (!record_dir_.empty()) {
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

void MediaReceiver::on_audio(AudioStream& s, const std::string& mid, std::span<const uint8_t> data) {
    ++s.received;
    if (!s.decoder) {
        // Mono output whatever the sender's channel count: libopus downmixes.
        auto d = OpusAudioDecoder::create(1);
        if (!d) {
            ++s.errors;
            return;
        }
        s.decoder = std::move(*d);
    }
    auto pcm = s.decoder->decode(data);
    if (!pcm) {
        ++s.errors;
        return;
    }
    ++s.decoded;
    if (record_dir_.empty()) return;
    if (!s.wav) {
        const auto path = (std::filesystem::path(record_dir_) / ("audio-" + mid + ".wav")).string();
        auto w = WavWriter::open(path, kOpusSampleRate, 1);
        if (!w) {
            std::fprintf(stderr, "%s\n", w.error().to_string().c_str());
            record_dir_.clear();
            return;
        }
        s.wav = std::move(*w);
    }
    (void)s.wav->write(*pcm);
}

void MediaReceiver::close() {
    std::lock_guard l(m_);
    for (auto& [name, s] : video_)
        if (s.ivf) (void)s.ivf->close();
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
        t.audio_decoded += s.decoded;
        t.audio_errors += s.errors;
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

std::unique_ptr<VideoSource> VideoSource::create(VideoCodec codec, int width, int height, int fps) {
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
    auto s = std::make_unique<VideoSource>();
    s->vpx_ = std::move(*vpx);
    s->pattern_ = std::make_unique<TestPattern>(width, height);
    return s;
}

std::vector<uint8_t> VideoSource::next(bool force_keyframe, bool* keyframe) {
    auto frames = vpx_->encode(pattern_->next(), force_keyframe);
    if (!frames || frames->empty()) return {};
    // Realtime libvpx gives one frame per picture (no lookahead; no VP9 superframe without spatial layers).
    if (keyframe) *keyframe = frames->front().keyframe;
    return std::move(frames->front().data);
}

} // namespace peer
