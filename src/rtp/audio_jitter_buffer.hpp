// Adaptive audio jitter buffer (sans-IO): packets in with their arrival time, one frame out every time the audio
// device asks for one.
//
// Delay model: transit = arrival - (RTP timestamp / clock rate), up to an unknown constant. The smallest transit
// over a sliding window is the base (the fastest path); every packet's transit above the base goes into a
// histogram that forgets old samples exponentially, and the target playout delay is a high quantile of it. So the
// delay follows the jitter both ways: up as soon as late packets show up, down as they age out.
// No time stretching: the buffer moves towards its target one frame at a time, by inserting a concealment frame
// (delay grows) or dropping a frame (delay shrinks). When the frame due has not arrived and nothing newer has
// either, the buffer waits for it (an underrun: one concealment frame, nothing declared lost), as NetEq's expand
// does; a frame is given up only when a newer packet shows it was lost or overtaken.
//
// Missing frames are handed to the decoder as "decode the next packet's in-band FEC" (Opus LBRR, useinbandfec=1)
// when the next packet is already here, else as packet loss concealment. Audio RED copies (red.hpp) are fed in as
// redundant packets: they fill holes but do not count as arrivals for the delay estimate.
#pragma once

#include "core/byte_reader.hpp"
#include "rtp/sequence_unwrapper.hpp"

#include <rtcpp/units.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct AudioJitterConfig {
    uint32_t clock_rate = 48000;
    TimeDelta frame_duration = TimeDelta::millis(20);
    /// Share of packets that should arrive before their playout time. Packets later than that cause an underrun
    /// (the buffer waits a frame) rather than a loss; 0.95 measured best at 50 ms simulated jitter (docs/ in
    /// tests/e2e/audio_jitter_sim_test.cpp): higher values trade delay for fewer underruns.
    double quantile = 0.95;
    TimeDelta margin = TimeDelta::zero();
    TimeDelta initial_delay = TimeDelta::millis(60);
    TimeDelta min_delay = TimeDelta::zero();
    TimeDelta max_delay = TimeDelta::millis(1000);
    /// Histogram memory: each new sample weighs 1/forget times the previous one (0.996: ~250 packets, 5 s at 20 ms).
    double forget = 0.996;
    /// The base (fastest transit) is the minimum over this much recent arrival time.
    TimeDelta base_window = TimeDelta::seconds(10);
    size_t max_packets = 100;
    /// Extra delay while frames are being lost (more than ~1% recently): a missing frame can only be rebuilt from
    /// the next packet's in-band FEC if that packet is already here. Zero disables it.
    TimeDelta loss_headroom = TimeDelta::millis(30);
};

enum class PlayoutKind : uint8_t {
    Normal,     ///< decode `payload`
    InbandFec,  ///< the frame is missing: decode the in-band FEC of `payload` (the next packet), decode_fec=1
    Conceal,    ///< nothing to decode: packet loss concealment
};

struct PlayoutFrame {
    PlayoutKind kind = PlayoutKind::Conceal;
    int64_t timestamp = 0;    ///< unwrapped RTP timestamp of the frame played (or concealed)
    ByteView payload;         ///< valid until the next call into the buffer
    bool from_redundancy = false; ///< Normal, from a RED copy
    bool stretch = false;     ///< a frame inserted to raise the delay (no media consumed)
};

struct AudioJitterStats {
    uint64_t packets_received = 0;  ///< unique primary packets
    uint64_t redundant_used = 0;    ///< RED copies that filled a hole
    uint64_t duplicates = 0;
    uint64_t arrived_late = 0;      ///< arrived after their frame's playout time
    uint64_t late = 0;              ///< ... and that frame had been concealed (not saved by RED or in-band FEC)
    uint64_t overflow = 0;          ///< dropped because the buffer was full, or far ahead of playout
    uint64_t frames_normal = 0;
    uint64_t frames_fec = 0;
    uint64_t frames_concealed = 0;
    uint64_t frames_stretched = 0;  ///< inserted to grow the delay (underruns included)
    uint64_t underruns = 0;         ///< frames waited for because nothing newer had arrived either
    uint64_t frames_dropped = 0;    ///< dropped to shrink the delay
    uint64_t resets = 0;
    /// Late packets per unique packet received: audio that arrived but too late to be played.
    double late_loss_rate() const {
        return packets_received ? static_cast<double>(late) / static_cast<double>(packets_received) : 0.0;
    }
};

class AudioJitterBuffer {
public:
    explicit AudioJitterBuffer(const AudioJitterConfig& config = {});

    /// A received audio frame (one Opus packet). `redundant`: a copy from a RED block, not an arrival.
    void handle_packet(Timestamp now, uint32_t rtp_timestamp, ByteView payload, bool redundant = false);
    /// The audio device wants the next frame now (every frame_duration). nullopt before the first packet.
    std::optional<PlayoutFrame> poll_frame(Timestamp now);

    TimeDelta target_delay() const { return target_; }
    /// Delay of the last frame played (now minus the base arrival time of its timestamp).
    TimeDelta current_delay() const { return last_delay_; }
    size_t buffered_packets() const { return packets_.size(); }
    const AudioJitterStats& stats() const { return stats_; }
    /// Mean and 95th percentile of the playout delay (as current_delay()) over every frame played from media.
    TimeDelta mean_delay() const;
    TimeDelta delay_percentile(double q) const;

private:
    static constexpr size_t kBins = 1000;  // 1 ms bins
    struct Stored {
        std::vector<uint8_t> data;
        bool redundant = false;
    };
    int64_t ts_us(int64_t ts) const;
    void observe_transit(Timestamp now, int64_t transit_us);
    void update_target();
    void reset();
    bool was_concealed(int64_t ts) const;
    int64_t base_us() const { return base_window_.empty() ? last_base_us_ : base_window_.front().second; }

    AudioJitterConfig cfg_;
    int64_t frame_ticks_;
    RtpTimestampUnwrapper unwrapper_;
    std::map<int64_t, Stored> packets_;
    std::deque<std::pair<Timestamp, int64_t>> base_window_;  // monotonic: increasing transit
    std::array<double, kBins> hist_{};
    double weight_ = 1;
    double hist_total_ = 0;
    uint64_t samples_ = 0;
    int64_t last_base_us_ = 0;
    TimeDelta target_;
    TimeDelta jitter_target_;
    double loss_avg_ = 0;
    TimeDelta last_delay_ = TimeDelta::zero();
    bool playing_ = false;
    bool underrun_ = false;
    int64_t next_ts_ = 0;
    std::array<int64_t, 64> concealed_{};
    size_t concealed_pos_ = 0;
    Stored scratch_;  // keeps the payload of the frame just handed out alive
    std::array<uint64_t, 5000> delay_hist_{};  // 1 ms bins of played-frame delay
    uint64_t delay_count_ = 0;
    double delay_sum_ms_ = 0;
    AudioJitterStats stats_;
};

} // namespace rtcpp::rtp
