// rtcpp-peer's media side: a test source (440 Hz tone as Opus, a moving pattern as VP8/VP9/H.264) and a receiver that
// decodes what arrives with libvpx/libopenh264/libopus and optionally records it (IVF per VP8/VP9 stream, Annex B
// .h264 per H.264 stream, WAV per audio stream).
// Independent of the PeerConnection: main.cpp feeds it frames and sends what it encodes.
#pragma once

#include "codec/h264_decoder.hpp"
#include "codec/h264_encoder.hpp"
#include "codec/media_writers.hpp"
#include "codec/opus_codec.hpp"
#include "codec/test_pattern.hpp"
#include "codec/vpx_decoder.hpp"
#include "codec/vpx_encoder.hpp"
#include "rtp/audio_jitter_buffer.hpp"
#include "rtp/audio_jitter_decoder.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace peer {

/// Decodes received frames; thread-safe (the PeerConnection calls back on its own thread, main reads the summary).
/// Audio goes through an adaptive jitter buffer (rtp::AudioJitterBuffer) that a playout thread drains every 20 ms,
/// like a sound card: what is decoded, counted and recorded is what would have been played, with Opus in-band FEC
/// for a lost packet whose successor is there and concealment (PLC) for the rest.
class MediaReceiver {
public:
    /// `record_dir` empty: decode only.
    explicit MediaReceiver(std::string record_dir);
    ~MediaReceiver() { close(); }

    /// One received frame. Returns true when the stream needs a keyframe (none yet, or a decode error).
    bool on_frame(const std::string& mid, const std::string& rid, const std::string& codec, uint32_t rtp_timestamp,
                  bool keyframe, std::span<const uint8_t> data);
    /// Stops the audio playout and finishes the recordings.
    void close();
    /// Decode (and record) the audio of `mid` with this many channels (1 or 2); before its first packet.
    void set_audio_channels(const std::string& mid, int channels);

    struct Totals {
        uint64_t video_received = 0, video_decoded = 0, video_errors = 0;
        uint64_t audio_received = 0, audio_decoded = 0, audio_errors = 0;
    };
    Totals totals() const;
    /// One line per audio stream: `media: audio <mid> channels C decoded N stereo packets S` (C channels as decoded
    /// and recorded; S packets the sender encoded as stereo).
    std::vector<std::string> audio_lines() const;
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
        std::unique_ptr<rtcpp::codec::VpxDecoder> decoder; ///< VP8, VP9
        std::unique_ptr<rtcpp::codec::H264Decoder> h264;   ///< H.264
        std::unique_ptr<rtcpp::codec::IvfWriter> ivf;
        std::unique_ptr<rtcpp::codec::AnnexBWriter> annex_b;
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
        int channels = 1;
        uint64_t stereo_packets = 0; ///< packets whose TOC byte says stereo (what the sender really encoded)
        std::unique_ptr<rtcpp::rtp::AudioJitterBuffer> jitter;
        std::unique_ptr<rtcpp::rtp::AudioJitterDecoder> decoder;
        std::optional<rtcpp::Timestamp> next_playout;
        std::unique_ptr<rtcpp::codec::WavWriter> wav;
        uint64_t received = 0;
        uint64_t errors = 0; ///< the decoder could not be made
        /// Frames played from media (normal or from the next packet's in-band FEC), and concealed ones.
        uint64_t decoded() const { return decoder ? decoder->stats().decoded + decoder->stats().fec_decoded : 0; }
    };
    bool on_video(VideoStream& s, const std::string& name, const std::string& codec, uint32_t ts, bool keyframe,
                  std::span<const uint8_t> data);
    void on_audio(AudioStream& s, const std::string& name, uint32_t rtp_timestamp, std::span<const uint8_t> data);
    /// Plays every audio frame due by `now` (the playout thread, every few ms).
    void play_audio(rtcpp::Timestamp now);
    void play(AudioStream& s, const std::string& mid, rtcpp::Timestamp now);

    mutable std::mutex m_;
    std::mutex playout_m_;
    std::condition_variable playout_cv_;
    bool playout_stop_ = false;
    std::thread playout_;
    std::string record_dir_;
    std::map<std::string, VideoStream> video_; // by mid, or mid-rid for simulcast layers
    std::map<std::string, std::string> video_rid_; // stream name -> rid
    std::map<std::string, AudioStream> audio_;
};

/// The Opus channel count to decode each audio m-section (by mid) with: 2 where the opus fmtp of `local_sdp` or
/// `remote_sdp` asks for stereo (opus_channels_from_fmtp), else 1.
std::map<std::string, int> opus_channels_by_mid(const std::string& local_sdp, const std::string& remote_sdp);

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

/// The test pattern as VP8, VP9 or H.264. Not thread-safe: one sender thread uses it.
class VideoSource {
public:
    /// max_nal_size: 0, or H.264 slices of at most this many bytes (packetization-mode 0).
    static std::unique_ptr<VideoSource> create(rtcpp::codec::VideoCodec codec, int width, int height, int fps,
                                               size_t max_nal_size = 0);
    /// The next frame (empty if the encoder produced none); H.264 as an Annex B access unit.
    std::vector<uint8_t> next(bool force_keyframe, bool* keyframe = nullptr);
    rtcpp::codec::VideoCodec codec() const { return codec_; }
    /// Follows the congestion controller's target (the connection's on_target_bitrate).
    void set_bitrate(rtcpp::DataRate rate) {
        if (vpx_) (void)vpx_->set_bitrate(rate);
        if (h264_) (void)h264_->set_bitrate(rate);
    }

private:
    rtcpp::codec::VideoCodec codec_ = rtcpp::codec::VideoCodec::VP8;
    std::unique_ptr<rtcpp::codec::VpxEncoder> vpx_;
    std::unique_ptr<rtcpp::codec::H264Encoder> h264_;
    std::unique_ptr<rtcpp::codec::TestPattern> pattern_;
};

} // namespace peer
