// Video frame buffer (receive side): reorders RTP packets, assembles frames with the codec's depacketizer, decides
// which frames are decodable, and releases them in decode order at a target playout delay.
//
// Frames and references. A frame's id is its unwrapped picture id when the payload descriptor carries one (VP8,
// VP9), otherwise the unwrapped sequence number of its last packet (H264, or VP8/VP9 without picture ids). A
// keyframe references nothing; a VP9 frame in flexible mode references id - p_diff; any other delta frame references
// the frame before it (the previous picture id, or the frame ending at first_sequence_number - 1). VP8 temporal
// layers are thus treated conservatively: a delta frame waits for every earlier frame. A frame is decodable when
// every frame it references has been released; it is released no earlier than its render time, and once it is,
// every older frame still waiting is dropped (a decoder cannot go back). A keyframe that would skip frames still
// missing packets is held stall_rtts RTTs past its render time first, as they are usually one retransmission away.
//
// Timing. render time = capture time on the sender's RTP clock + the mean transit of recent frames (the one-way
// delay, with the clock offset; a slow average, so one late frame barely moves it) + the target delay. The target delay is the jitter estimate (JitterEstimator,
// fed only by frames that needed no retransmission), plus one RTT and a margin while retransmissions are in use.
// Late frames are released as soon as they are decodable.
//
// Getting stuck. When frames wait but none is decodable for longer than max(min_stall, stall_rtts * RTT) past the
// render time of the oldest waiting one, the buffer asks for a keyframe (rate limited) and, as soon as a complete
// keyframe is in, drops everything before it. Packets and frames are both bounded; overflow drops the oldest and
// asks for a keyframe. A stream whose first whole frame is a delta frame (its start lost before there was anything
// to NACK against, or joined midway) asks for a keyframe at once, as libwebrtc does, rather than after a stall.
#pragma once

#include "rtp/jitter_estimator.hpp"
#include "rtp/packetizer.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/sequence_unwrapper.hpp"

#include <rtcpp/units.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace rtcpp::rtp {

enum class VideoCodec : uint8_t { Vp8, Vp9, H264 };

struct FrameBufferConfig {
    VideoCodec codec = VideoCodec::Vp8;
    uint32_t clock_rate = 90000;
    size_t max_packets = 2048;  ///< packets held (not yet part of a complete frame)
    size_t max_frames = 300;    ///< complete frames waiting to be released
    TimeDelta min_playout_delay = TimeDelta::zero();
    TimeDelta max_playout_delay = TimeDelta::seconds(2);
    /// Retransmissions take a round trip: add rtt + nack_margin to the target while they are in use.
    bool nack_enabled = true;
    TimeDelta nack_margin = TimeDelta::millis(10);
    /// How long retransmissions stay "in use" after the last retransmitted packet.
    TimeDelta nack_in_use_window = TimeDelta::seconds(10);
    TimeDelta min_stall = TimeDelta::seconds(1);
    double stall_rtts = 3;
    /// Keyframe requests are not repeated faster than max(this, 2 RTT).
    TimeDelta min_keyframe_request_interval = TimeDelta::millis(300);
    TimeDelta default_rtt = TimeDelta::millis(100);
};

struct ReleasedFrame {
    EncodedFrame frame;
    int64_t id = 0;
    Timestamp first_packet_received;
    Timestamp completed;       ///< when its last missing packet arrived
    Timestamp render_time;     ///< when it was due
    bool retransmitted = false;///< at least one packet came by retransmission
};

struct FrameBufferStats {
    uint64_t packets = 0;
    uint64_t duplicate_packets = 0;
    uint64_t old_packets = 0;        ///< belonged to frames already released or dropped
    uint64_t malformed_packets = 0;  ///< payload descriptor did not parse
    uint64_t overflow_packets = 0;   ///< dropped because max_packets was reached
    uint64_t frames_complete = 0;
    uint64_t frames_released = 0;
    uint64_t frames_dropped = 0;     ///< complete frames never released (undecodable, overflow, skipped)
    uint64_t frames_undecodable_bytes = 0; ///< complete frames the depacketizer refused
    uint64_t late_frames = 0;        ///< released after their render time
    uint64_t keyframe_requests = 0;
    uint64_t drops_to_keyframe = 0;  ///< releases of a keyframe that skipped waiting frames
};

class FrameBuffer {
public:
    explicit FrameBuffer(FrameBufferConfig config = {});
    ~FrameBuffer();
    FrameBuffer(const FrameBuffer&) = delete;
    FrameBuffer& operator=(const FrameBuffer&) = delete;

    /// One media packet of the stream (original, or recovered from RTX/FEC with `retransmitted` set).
    void handle_packet(Timestamp now, const RtpPacketView& packet, bool retransmitted = false);
    void set_rtt(TimeDelta rtt);
    void handle_timeout(Timestamp now);
    /// When handle_timeout should run next (a frame becomes due, or a stall must be acted on).
    Timestamp poll_timeout() const;
    /// The next frame to decode, if one is due at the time of the last handle_*.
    std::optional<ReleasedFrame> poll_frame();
    /// True once per keyframe request raised since the last call.
    bool poll_keyframe_request();
    /// After frames were dropped to reach a keyframe: the keyframe's first sequence number (packets before it
    /// are no longer wanted, e.g. by the NACK generator). Once per drop.
    std::optional<uint16_t> poll_skipped_to();

    /// The current target delay (jitter estimate, plus RTT while retransmissions are in use).
    TimeDelta target_delay() const;
    const JitterEstimator& jitter_estimator() const { return jitter_; }
    const FrameBufferStats& stats() const { return stats_; }
    size_t buffered_packets() const { return packets_.size(); }
    size_t buffered_frames() const { return frames_.size(); }

private:
    struct Packet;
    struct Frame;

    bool parse_packet(const RtpPacketView& view, Packet& p);
    void try_assemble(int64_t seq);
    void insert_frame(Frame&& f);
    const Frame* candidate() const;
    bool decodable(const Frame& f) const;
    Timestamp render_time(const Frame& f) const;
    Timestamp release_time(const Frame& f) const;
    Timestamp stall_deadline() const;
    void request_keyframe();
    void update_timing(const Frame& f);
    int64_t unwrap_picture_id(uint16_t pid, bool fifteen_bit);
    void release_up_to(int64_t id);
    void reset_stream();
    // Erased packets, frames and ids keep their tree nodes (and a packet its payload buffer) for the next insert:
    // in steady state a packet costs no allocation.
    void drop_packet(std::map<int64_t, Packet>::iterator it);
    void drop_frame(std::map<int64_t, Frame>::iterator it);

    FrameBufferConfig config_;
    std::unique_ptr<Depacketizer> depacketizer_;
    Timestamp now_ = Timestamp::minus_infinity();
    TimeDelta rtt_;
    SequenceNumberUnwrapper seq_unwrapper_;
    RtpTimestampUnwrapper ts_unwrapper_;
    std::optional<int64_t> last_picture_id_;
    std::map<int64_t, Packet> packets_;   ///< by unwrapped sequence number
    std::map<int64_t, Frame> frames_;     ///< complete, waiting, by frame id
    std::set<int64_t> frame_ends_;        ///< last sequence numbers of assembled frames (start detection for H264)
    std::set<int64_t> decoded_;           ///< ids released recently
    std::vector<std::map<int64_t, Packet>::node_type> spare_packets_;
    std::vector<std::map<int64_t, Frame>::node_type> spare_frames_;
    std::vector<std::set<int64_t>::node_type> spare_ids_; ///< for frame_ends_ and decoded_
    std::optional<int64_t> last_released_id_;
    std::optional<int64_t> released_seq_;
    std::optional<int64_t> first_seq_seen_;  ///< last sequence number of the newest released or dropped frame
    // Timing.
    std::optional<int64_t> prev_jitter_ts_;
    Timestamp prev_jitter_arrival_;
    std::optional<double> transit_avg_ms_;
    std::optional<Timestamp> last_retransmission_;
    JitterEstimator jitter_;
    // Stall handling.
    std::optional<Timestamp> last_keyframe_request_;
    bool keyframe_request_ = false;
    bool assembled_any_ = false;  ///< a whole frame was assembled (the first one decides on an early keyframe request)
    std::optional<uint16_t> skipped_to_;
    FrameBufferStats stats_;
};

} // namespace rtcpp::rtp
