// Codec payload formats: the common shape of packetizers and depacketizers.
//
// A packetizer turns one encoded frame into RTP payloads of at most `max_payload_size` bytes (the MTU minus the
// RTP header, extensions and SRTP trailer: the caller knows those), the marker bit on the last. A depacketizer
// takes payloads in sequence-number order (after the jitter buffer) and yields whole frames; a frame whose
// packets are missing, or whose fragmentation is broken, is dropped and counted, never passed on half-built.
#pragma once

#include "core/byte_reader.hpp"

#include <rtcpp/result.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace rtcpp::rtp {

struct RtpPayload {
    std::vector<uint8_t> data;
    bool marker = false;
};

class Packetizer {
public:
    virtual ~Packetizer() = default;
    /// The payloads for one frame, in order; the last has marker set.
    virtual Result<std::vector<RtpPayload>> packetize(ByteView frame, size_t max_payload_size) = 0;
    /// The same payloads written into out[0, n) for the returned n, reusing the elements' buffers: once `out` has
    /// grown to a frame's packet count, packetizing allocates nothing. Elements past n are left as they were.
    /// The default calls packetize(); VP8 and Opus write in place.
    virtual Result<size_t> packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out);
};

struct EncodedFrame {
    std::vector<uint8_t> data;
    uint32_t rtp_timestamp = 0;
    uint16_t first_sequence_number = 0;
    uint16_t last_sequence_number = 0;
    bool keyframe = false;
};

struct DepacketizerStats {
    uint64_t packets = 0;          ///< payloads handled
    uint64_t frames = 0;           ///< complete frames produced (including any later dropped unpolled)
    uint64_t malformed_packets = 0;///< payloads that did not parse, or broke the fragmentation rules
    uint64_t dropped_packets = 0;  ///< payloads thrown away with a broken frame (malformed ones included)
    uint64_t dropped_frames = 0;   ///< frames given up: missing packets, missing start or end, bad fragmentation
};

class Depacketizer {
public:
    /// Frames waiting in poll_frame() beyond this are dropped, oldest first (and counted in dropped_frames).
    static constexpr size_t kMaxQueuedFrames = 64;
    /// A frame growing beyond this (a sender that never sets the marker) is dropped.
    static constexpr size_t kMaxFrameSize = 16 * 1024 * 1024;

    virtual ~Depacketizer() = default;

    void handle_payload(ByteView payload, uint16_t sequence_number, uint32_t rtp_timestamp, bool marker);
    std::optional<EncodedFrame> poll_frame();
    const DepacketizerStats& stats() const { return stats_; }

protected:
    struct PayloadInfo {
        bool frame_start = false;  ///< this payload may begin a frame
        bool frame_end = false;    ///< the format says the frame ends here (besides the marker bit)
        bool keyframe = false;
    };
    /// Appends the media bytes of one payload to `frame`, filling `info`. `first` is true for the first payload
    /// of a frame. Returns false if the payload is malformed or inconsistent with the frame so far.
    virtual bool depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) = 0;
    /// Called when a frame is complete: a last chance to rewrite it (e.g. add a superframe index). False drops it.
    virtual bool finish_frame(std::vector<uint8_t>& /*frame*/, bool& /*keyframe*/) { return true; }
    /// Forget per-frame state (a frame was finished or dropped).
    virtual void reset_frame() {}

private:
    void drop_frame(uint32_t rtp_timestamp);

    std::vector<uint8_t> buffer_;
    std::deque<EncodedFrame> ready_;
    DepacketizerStats stats_;
    bool assembling_ = false;
    bool keyframe_ = false;
    uint32_t timestamp_ = 0;
    uint16_t first_seq_ = 0;
    uint64_t frame_packets_ = 0;
    std::optional<uint32_t> broken_timestamp_;
    std::optional<uint16_t> last_seq_;
};

/// Splits `size` bytes into `count` = ceil(size / max) parts whose sizes differ by at most one (so no tiny last
/// packet). Returns the part sizes; empty if max is 0.
std::vector<size_t> balanced_split(size_t size, size_t max);

} // namespace rtcpp::rtp
