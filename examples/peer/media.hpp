// rtcpp-peer's media side: a test source (440 Hz tone as Opus, a moving pattern as VP8/VP9) and a receiver that
// decodes what arrives with libvpx/libopus and optionally records it (IVF per video stream, WAV per audio stream).
// Independent of the PeerConnection: main.cpp feeds it frames and sends what it encodes.
#pragma once

#include "codec/media_writers.hpp"
#include "codec/opus_codec.hpp"
#include "codec/test_pattern.hpp"
#include "codec/vpx_decoder.hpp"
#include "codec/vpx_encoder.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace peer {

/// Decodes received frames; thread-safe (the PeerConnection calls back on its own thread, main reads the summary).
class MediaReceiver {
public:
    /// `record_dir` empty: decode only.
    explicit MediaReceiver(std::string record_dir) : record_dir_(std::move(record_dir)) {}
    ~MediaReceiver() { close(); }

    /// One received frame. Returns true when the stream needs a keyframe (none yet, or a decode error).
    bool on_frame(const std::string& mid, const std::string& rid, const std::string& codec, uint32_t rtp_timestamp,
                  bool keyframe, std::span<const uint8_t> data);
    /// Finishes the recordings.
    void close();

    struct Totals {
        uint64_t video_received = 0, video_decoded = 0, video_errors = 0;
        uint64_t audio_received = 0, audio_decoded = 0, audio_errors = 0;
    };
    Totals totals() const;
    /// One line per simulcast layer received (`media: rid q video frames received N decoded N errors N`).
    std::vector<std::string> rid_lines() const;
    /// One line per video stream whose pictures carry rtcpp's test pattern: how many had a readable, increasing
    /// frame counter (`media: video 1 test pattern frames N of M decoded, last counter K`).
    std::vector<std::string> pattern_lines() const;
    /// One line per video stream: how many pictures were decoded at each size (an SFU switching simulcast layers
    /// shows several): `media: video 1 decoded sizes 160x90:120 640x360:300`.
    std::vector<std::string> size_lines() const;

private:
    struct VideoStream {
        std::optional<rtcpp::codec::VideoCodec> codec;
        std::unique_ptr<rtcpp::codec::VpxDecoder> decoder;
        std::unique_ptr<rtcpp::codec::IvfWriter> ivf;
        bool waiting_for_keyframe = true;
        std::optional<uint32_t> first_timestamp;
        uint64_t received = 0, decoded = 0, errors = 0;
        /// Decoded pictures showing rtcpp's test pattern with a counter above the previous one.
        uint64_t pattern_frames = 0;
        std::optional<uint32_t> last_counter;
        int width = 0, height = 0;
        std::map<std::pair<int, int>, uint64_t> sizes;
    };
    struct AudioStream {
        std::unique_ptr<rtcpp::codec::OpusAudioDecoder> decoder;
        std::unique_ptr<rtcpp::codec::WavWriter> wav;
        uint64_t received = 0, decoded = 0, errors = 0;
    };
    bool on_video(VideoStream& s, const std::string& name, const std::string& codec, uint32_t ts, bool keyframe,
                  std::span<const uint8_t> data);
    void on_audio(AudioStream& s, const std::string& name, std::span<const uint8_t> data);

    mutable std::mutex m_;
    std::string record_dir_;
    std::map<std::string, VideoStream> video_; // by mid, or mid-rid for simulcast layers
    std::map<std::string, std::string> video_rid_; // stream name -> rid
    std::map<std::string, AudioStream> audio_;
};

/// The 440 Hz tone as 20 ms Opus packets (mono). Not thread-safe: one sender thread uses it.
class AudioSource {
public:
    static std::unique_ptr<AudioSource> create();
    std::vector<uint8_t> next();
    static constexpr uint32_t kTimestampStep = rtcpp::codec::kOpusFrameSamples; // 48 kHz clock

private:
    std::unique_ptr<rtcpp::codec::OpusAudioEncoder> opus_;
    rtcpp::codec::ToneGenerator tone_{440.0, rtcpp::codec::kOpusSampleRate, 1};
};

/// The test pattern as VP8 or VP9. Not thread-safe: one sender thread uses it.
class VideoSource {
public:
    static std::unique_ptr<VideoSource> create(rtcpp::codec::VideoCodec codec, int width, int height, int fps);
    /// The next frame (empty if the encoder produced none).
    std::vector<uint8_t> next(bool force_keyframe, bool* keyframe = nullptr);
    rtcpp::codec::VideoCodec codec() const { return vpx_->config().codec; }
    /// Follows the congestion controller's target (the connection's on_target_bitrate).
    void set_bitrate(rtcpp::DataRate rate) { (void)vpx_->set_bitrate(rate); }

private:
    std::unique_ptr<rtcpp::codec::VpxEncoder> vpx_;
    std::unique_ptr<rtcpp::codec::TestPattern> pattern_;
};

} // namespace peer
