#include "rtp/packetizer.hpp"

#include <algorithm>

namespace rtcpp::rtp {

void Depacketizer::drop_frame(uint32_t rtp_timestamp) {
    ++stats_.dropped_frames;
    stats_.dropped_packets += frame_packets_;
    frame_packets_ = 0;
    assembling_ = false;
    buffer_.clear();
    broken_timestamp_ = rtp_timestamp;
    reset_frame();
}

void Depacketizer::handle_payload(ByteView payload, uint16_t seq, uint32_t ts, bool marker) {
    ++stats_.packets;
    const bool gap = last_seq_ && static_cast<uint16_t>(*last_seq_ + 1) != seq;
    last_seq_ = seq;
    if (assembling_ && (gap || ts != timestamp_)) {
        // The frame in progress lost its tail: its missing packets are not coming (input is in order).
        const uint32_t old = timestamp_;
        drop_frame(old);
        if (ts != old) broken_timestamp_.reset();
    }
    if (!assembling_ && broken_timestamp_ && *broken_timestamp_ == ts) {
        // The rest of a frame already given up.
        ++stats_.dropped_packets;
        return;
    }
    broken_timestamp_.reset();

    const bool first = !assembling_;
    if (first) {
        buffer_.clear();
        keyframe_ = false;
    }
    PayloadInfo info;
    if (!depacketize(payload, first, buffer_, info) || buffer_.size() > kMaxFrameSize) {
        ++stats_.malformed_packets;
        ++stats_.dropped_packets;
        drop_frame(ts);
        return;
    }
    if (first && !info.frame_start) {
        // The beginning of this frame was lost.
        ++stats_.dropped_packets;
        ++stats_.dropped_frames;
        buffer_.clear();
        broken_timestamp_ = ts;
        reset_frame();
        if (marker || info.frame_end) broken_timestamp_.reset();
        return;
    }
    if (first) {
        assembling_ = true;
        timestamp_ = ts;
        first_seq_ = seq;
    }
    keyframe_ = keyframe_ || info.keyframe;
    ++frame_packets_;
    if (!(marker || info.frame_end)) return;

    bool key = keyframe_;
    if (!finish_frame(buffer_, key) || buffer_.empty()) {
        drop_frame(ts);
        broken_timestamp_.reset();
        return;
    }
    assembling_ = false;
    frame_packets_ = 0;
    EncodedFrame f;
    f.data = std::move(buffer_);
    // The frame's bytes leave with it; the next frame is most likely of a similar size, so one allocation now
    // spares the doubling reallocations of growing from nothing packet by packet.
    buffer_ = {};
    buffer_.reserve(std::min(kMaxFrameSize, f.data.size() + f.data.size() / 4));
    f.rtp_timestamp = ts;
    f.first_sequence_number = first_seq_;
    f.last_sequence_number = seq;
    f.keyframe = key;
    if (ready_.size() == kMaxQueuedFrames) {
        // Nobody is polling: keep the newest frames.
        ready_.pop_front();
        ++stats_.dropped_frames;
    }
    ready_.push_back(std::move(f));
    ++stats_.frames;
    reset_frame();
}

std::optional<EncodedFrame> Depacketizer::poll_frame() {
    if (ready_.empty()) return std::nullopt;
    EncodedFrame f = std::move(ready_.front());
    ready_.pop_front();
    return f;
}

Result<size_t> Packetizer::packetize_into(ByteView frame, size_t max_payload_size, std::vector<RtpPayload>& out) {
    auto payloads = packetize(frame, max_payload_size);
    if (!payloads) return payloads.error();
    const size_t n = payloads->size();
    if (out.size() < n) out.resize(n);
    for (size_t i = 0; i < n; ++i) out[i] = std::move((*payloads)[i]);
    return n;
}

std::vector<size_t> balanced_split(size_t size, size_t max) {
    std::vector<size_t> parts;
    if (max == 0) return parts;
    const size_t count = size == 0 ? 1 : (size + max - 1) / max;
    const size_t base = size / count;
    const size_t extra = size % count;
    for (size_t i = 0; i < count; ++i) parts.push_back(base + (i < extra ? 1 : 0));
    return parts;
}

} // namespace rtcpp::rtp
