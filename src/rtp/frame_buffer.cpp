#include "rtp/frame_buffer.hpp"

#include "rtp/h264_payload.hpp"
#include "rtp/vp8_payload.hpp"
#include "rtp/vp9_payload.hpp"

#include <algorithm>

namespace rtcpp::rtp {

namespace {
// Released ids remembered for reference checks; references further back than this are to frames long gone.
constexpr size_t kMaxDecodedIds = 512;
// Weight of one frame in the transit average (~2 s at 30 fps).
constexpr double kTransitAlpha = 1.0 / 64;

// Recycled nodes kept per buffer: enough for a large keyframe's packets, bounded so an overflow does not pin memory.
constexpr size_t kMaxSparePackets = 64;
constexpr size_t kMaxSpareFrames = 8;
constexpr size_t kMaxSpareIds = 8;

// Inserts v into a set, reusing a spare node if there is one (a duplicate hands its node back).
template <class Set>
void insert_id(Set& set, std::vector<typename Set::node_type>& spare, int64_t v) {
    if (spare.empty()) {
        set.insert(v);
        return;
    }
    auto node = std::move(spare.back());
    spare.pop_back();
    node.value() = v;
    auto r = set.insert(std::move(node));
    if (!r.inserted) spare.push_back(std::move(r.node));
}

template <class Set>
void erase_first_id(Set& set, std::vector<typename Set::node_type>& spare) {
    if (spare.size() < kMaxSpareIds) spare.push_back(set.extract(set.begin()));
    else set.erase(set.begin());
}

TimeDelta ts_time(int64_t ts, uint32_t clock_rate) {
    // Split to keep ts * 1e6 away from overflow for any 64-bit unwrapped timestamp.
    const int64_t whole = ts / clock_rate;
    const int64_t rest = ts % clock_rate;
    return TimeDelta::seconds(whole) + TimeDelta::micros(rest * 1000000 / clock_rate);
}
} // namespace

struct FrameBuffer::Packet {
    std::vector<uint8_t> payload;
    Timestamp arrival;
    int64_t ts = 0;  // unwrapped
    uint32_t rtp_ts = 0;
    uint16_t seq = 0;
    bool marker = false;
    bool start = false;
    bool retransmitted = false;
    std::optional<uint16_t> picture_id;
    bool picture_id_15bit = true;
    std::array<uint8_t, 3> p_diffs{};
    uint8_t num_p_diffs = 0;
};

struct FrameBuffer::Frame {
    ReleasedFrame out;
    std::array<int64_t, 3> refs{};
    uint8_t num_refs = 0;
    int64_t ts = 0;
    int64_t first_seq = 0;
    int64_t last_seq = 0;
};

FrameBuffer::FrameBuffer(FrameBufferConfig config) : config_(config), rtt_(config.default_rtt) {
    if (config_.clock_rate == 0) config_.clock_rate = 90000;
    if (config_.max_packets == 0) config_.max_packets = 1;
    if (config_.max_frames == 0) config_.max_frames = 1;
    spare_packets_.reserve(kMaxSparePackets);
    spare_frames_.reserve(kMaxSpareFrames);
    spare_ids_.reserve(kMaxSpareIds);
    switch (config_.codec) {
    case VideoCodec::Vp8: depacketizer_ = std::make_unique<Vp8Depacketizer>(); break;
    case VideoCodec::Vp9: depacketizer_ = std::make_unique<Vp9Depacketizer>(); break;
    case VideoCodec::H264: depacketizer_ = std::make_unique<H264Depacketizer>(); break;
    }
}

FrameBuffer::~FrameBuffer() = default;

void FrameBuffer::set_rtt(TimeDelta rtt) {
    if (rtt > TimeDelta::zero() && rtt.is_finite()) rtt_ = rtt;
}

bool FrameBuffer::parse_packet(const RtpPacketView& view, Packet& p) {
    const ByteView payload = view.payload();
    if (payload.empty()) return false;
    ByteReader r(payload);
    switch (config_.codec) {
    case VideoCodec::Vp8: {
        const auto d = Vp8PayloadDescriptor::read(r);
        if (!d || r.empty()) return false;
        p.start = d->start_of_partition && d->partition_id == 0;
        p.picture_id = d->picture_id;
        p.picture_id_15bit = d->picture_id_15bit;
        break;
    }
    case VideoCodec::Vp9: {
        const auto d = Vp9PayloadDescriptor::read(r);
        if (!d) return false;
        p.start = d->beginning_of_frame && (!d->has_layer_indices || d->spatial_id == 0);
        p.picture_id = d->picture_id;
        p.picture_id_15bit = d->picture_id_15bit;
        if (d->flexible && d->inter_picture_predicted) {
            p.num_p_diffs = std::min<uint8_t>(d->num_p_diffs, 3);
            p.p_diffs = d->p_diffs;
        }
        break;
    }
    case VideoCodec::H264:
        // RTP H264 has no frame-start flag: a frame starts after a packet of another timestamp.
        p.start = false;
        break;
    }
    p.payload.assign(payload.begin(), payload.end());
    p.marker = view.marker();
    p.seq = view.sequence_number();
    p.rtp_ts = view.timestamp();
    return true;
}

void FrameBuffer::handle_packet(Timestamp now, const RtpPacketView& view, bool retransmitted) {
    now_ = std::max(now_, now);
    ++stats_.packets;
    if (retransmitted) last_retransmission_ = now_;
    const int64_t s = seq_unwrapper_.unwrap(view.sequence_number());
    if (released_seq_ && s <= *released_seq_) {
        ++stats_.old_packets;
        return;
    }
    if (packets_.count(s)) {
        ++stats_.duplicate_packets;
        return;
    }
    std::map<int64_t, Packet>::node_type node;
    if (!spare_packets_.empty()) {
        node = std::move(spare_packets_.back());
        spare_packets_.pop_back();
        Packet fresh;
        fresh.payload = std::move(node.mapped().payload); // keeps its capacity
        node.mapped() = std::move(fresh);
        node.key() = s;
    }
    Packet scratch;
    Packet& p = node ? node.mapped() : scratch;
    if (!parse_packet(view, p)) {
        ++stats_.malformed_packets;
        if (node) spare_packets_.push_back(std::move(node));
        return;
    }
    if (!first_seq_seen_ || s < *first_seq_seen_) first_seq_seen_ = s;
    p.arrival = now_;
    p.retransmitted = retransmitted;
    p.ts = ts_unwrapper_.unwrap(p.rtp_ts);
    if (node) packets_.insert(std::move(node));
    else packets_.emplace(s, std::move(scratch));
    while (packets_.size() > config_.max_packets) {
        drop_packet(packets_.begin());
        ++stats_.overflow_packets;
        request_keyframe();
    }
    if (packets_.count(s)) try_assemble(s);
}

void FrameBuffer::try_assemble(int64_t s) {
    const int64_t ts = packets_.at(s).ts;
    // Forward to the packet with the marker bit, through consecutive packets of this timestamp.
    int64_t end = s;
    for (;;) {
        const Packet& p = packets_.at(end);
        if (p.ts != ts) return;
        if (p.marker) break;
        if (!packets_.count(end + 1)) return;
        ++end;
    }
    // Back to the frame's first packet.
    int64_t begin = s;
    for (;;) {
        const Packet& p = packets_.at(begin);
        if (p.ts != ts) return;
        if (p.start) break;
        const auto prev = packets_.find(begin - 1);
        if (config_.codec == VideoCodec::H264) {
            if (prev != packets_.end()) {
                if (prev->second.ts != ts) break;
            } else if (frame_ends_.count(begin - 1) || (released_seq_ && *released_seq_ == begin - 1) ||
                       (!released_seq_ && first_seq_seen_ && *first_seq_seen_ == begin)) {
                // The previous frame ended right before, or this is the very first packet of the stream.
                break;
            } else {
                return;
            }
        } else if (prev == packets_.end()) {
            return;
        }
        --begin;
    }

    const Packet& first = packets_.at(begin);
    Frame f;
    f.ts = ts;
    f.first_seq = begin;
    f.last_seq = end;
    f.out.first_packet_received = first.arrival;
    f.out.completed = first.arrival;
    for (int64_t i = begin; i <= end; ++i) {
        const Packet& p = packets_.at(i);
        f.out.first_packet_received = std::min(f.out.first_packet_received, p.arrival);
        f.out.completed = std::max(f.out.completed, p.arrival);
        f.out.retransmitted = f.out.retransmitted || p.retransmitted;
        depacketizer_->handle_payload(p.payload, p.seq, p.rtp_ts, p.marker);
    }
    auto encoded = depacketizer_->poll_frame();
    while (depacketizer_->poll_frame()) {
    }
    const std::optional<uint16_t> picture_id = first.picture_id;
    const bool pid15 = first.picture_id_15bit;
    const auto p_diffs = first.p_diffs;
    const uint8_t num_p_diffs = first.num_p_diffs;
    for (auto it = packets_.find(begin); it != packets_.end() && it->first <= end;) drop_packet(it++);
    insert_id(frame_ends_, spare_ids_, end);
    while (frame_ends_.size() > config_.max_frames) erase_first_id(frame_ends_, spare_ids_);
    if (!encoded || encoded->rtp_timestamp != static_cast<uint32_t>(ts)) {
        ++stats_.frames_undecodable_bytes;
        return;
    }
    ++stats_.frames_complete;
    f.out.frame = std::move(*encoded);
    if (!assembled_any_) {
        assembled_any_ = true;
        // What this delta frame builds on was lost before the first packet we saw: no NACK can bring it back.
        if (!f.out.frame.keyframe) request_keyframe();
    }
    if (picture_id) {
        f.out.id = unwrap_picture_id(*picture_id, pid15);
        if (!f.out.frame.keyframe) {
            if (num_p_diffs > 0) {
                for (uint8_t i = 0; i < num_p_diffs; ++i) f.refs[f.num_refs++] = f.out.id - p_diffs[i];
            } else {
                f.refs[f.num_refs++] = f.out.id - 1;
            }
        }
    } else {
        f.out.id = end;
        if (!f.out.frame.keyframe) f.refs[f.num_refs++] = begin - 1;
    }
    insert_frame(std::move(f));
}

int64_t FrameBuffer::unwrap_picture_id(uint16_t pid, bool fifteen_bit) {
    const int64_t range = fifteen_bit ? 0x8000 : 0x80;
    const int64_t v = pid & (range - 1);
    if (!last_picture_id_) {
        last_picture_id_ = v;
        return v;
    }
    int64_t d = (v - *last_picture_id_) % range;
    if (d < 0) d += range;
    if (d >= range / 2) d -= range;
    *last_picture_id_ += d;
    return *last_picture_id_;
}

void FrameBuffer::reset_stream() {
    stats_.frames_dropped += frames_.size();
    frames_.clear();
    decoded_.clear();
    last_released_id_.reset();
}

void FrameBuffer::insert_frame(Frame&& f) {
    if (last_released_id_ && f.out.id <= *last_released_id_) {
        if (!f.out.frame.keyframe) {
            ++stats_.frames_dropped;
            return;
        }
        // A keyframe with an id we already passed: the sender restarted its picture ids.
        reset_stream();
    }
    if (frames_.count(f.out.id)) {
        ++stats_.frames_dropped;
        return;
    }
    update_timing(f);
    if (!spare_frames_.empty()) {
        auto node = std::move(spare_frames_.back());
        spare_frames_.pop_back();
        node.key() = f.out.id;
        node.mapped() = std::move(f);
        frames_.insert(std::move(node));
    } else {
        const int64_t id = f.out.id;
        frames_.emplace(id, std::move(f));
    }
    while (frames_.size() > config_.max_frames) {
        drop_frame(frames_.begin());
        ++stats_.frames_dropped;
        request_keyframe();
    }
}

void FrameBuffer::update_timing(const Frame& f) {
    if (f.out.retransmitted) return;  // its delay says how long recovery took, not how the network jitters
    const TimeDelta transit = (f.out.completed - Timestamp::zero()) - ts_time(f.ts, config_.clock_rate);
    const double t = transit.ms_f();
    if (!transit_avg_ms_) {
        transit_avg_ms_ = t;
    } else {
        *transit_avg_ms_ += kTransitAlpha * (t - *transit_avg_ms_);
    }
    if (prev_jitter_ts_ && f.ts > *prev_jitter_ts_) {
        const TimeDelta arrival_delta = f.out.completed - prev_jitter_arrival_;
        const TimeDelta send_delta = ts_time(f.ts - *prev_jitter_ts_, config_.clock_rate);
        jitter_.update(arrival_delta - send_delta, DataSize::bytes(static_cast<int64_t>(f.out.frame.data.size())));
    }
    if (!prev_jitter_ts_ || f.ts > *prev_jitter_ts_) {
        prev_jitter_ts_ = f.ts;
        prev_jitter_arrival_ = f.out.completed;
    }
}

TimeDelta FrameBuffer::target_delay() const {
    TimeDelta t = jitter_.estimate();
    if (config_.nack_enabled && last_retransmission_ && now_ - *last_retransmission_ < config_.nack_in_use_window)
        t = t + rtt_ + config_.nack_margin;
    return std::clamp(t, config_.min_playout_delay, config_.max_playout_delay);
}

Timestamp FrameBuffer::render_time(const Frame& f) const {
    TimeDelta offset = transit_avg_ms_ ? TimeDelta::micros(static_cast<int64_t>(*transit_avg_ms_ * 1000))
                                       : TimeDelta::plus_infinity();
    if (!offset.is_finite()) {
        // Only retransmitted frames so far: their own transit is the best guess there is.
        offset = (f.out.completed - Timestamp::zero()) - ts_time(f.ts, config_.clock_rate);
    }
    const Timestamp t = Timestamp::zero() + ts_time(f.ts, config_.clock_rate) + offset + target_delay();
    // A wrong base (clock jump, new path) must not hold a frame back indefinitely.
    return std::min(t, f.out.first_packet_received + config_.max_playout_delay);
}

bool FrameBuffer::decodable(const Frame& f) const {
    if (f.out.frame.keyframe) return true;
    for (uint8_t i = 0; i < f.num_refs; ++i)
        if (!decoded_.count(f.refs[i])) return false;
    return true;
}

const FrameBuffer::Frame* FrameBuffer::candidate() const {
    for (const auto& [id, f] : frames_)
        if (decodable(f)) return &f;
    return nullptr;
}

Timestamp FrameBuffer::stall_deadline() const {
    if (candidate()) return Timestamp::plus_infinity();
    Timestamp oldest = Timestamp::plus_infinity();
    if (!frames_.empty()) oldest = frames_.begin()->second.out.first_packet_received;
    for (const auto& [seq, p] : packets_) oldest = std::min(oldest, p.arrival);
    if (oldest.is_plus_infinity()) return oldest;
    const TimeDelta window = std::max(config_.min_stall, rtt_ * config_.stall_rtts);
    Timestamp t = oldest + target_delay() + window;
    if (last_keyframe_request_)
        t = std::max(t, *last_keyframe_request_ + std::max(config_.min_keyframe_request_interval, rtt_ * 2));
    return t;
}

void FrameBuffer::request_keyframe() {
    if (last_keyframe_request_ && now_ - *last_keyframe_request_ <
                                      std::max(config_.min_keyframe_request_interval, rtt_ * 2))
        return;
    last_keyframe_request_ = now_;
    keyframe_request_ = true;
    ++stats_.keyframe_requests;
}

void FrameBuffer::handle_timeout(Timestamp now) {
    now_ = std::max(now_, now);
    if (now_ >= stall_deadline()) request_keyframe();
}

Timestamp FrameBuffer::poll_timeout() const {
    if (const Frame* c = candidate()) return release_time(*c);
    return stall_deadline();
}

Timestamp FrameBuffer::release_time(const Frame& f) const {
    const Timestamp due = render_time(f);
    // A keyframe that would skip frames still missing packets waits a few RTTs for them: usually they are one
    // retransmission away, and skipping would throw away every frame in between.
    const bool skips = (released_seq_ && f.first_seq - 1 > *released_seq_) ||
                       (!frames_.empty() && frames_.begin()->first < f.out.id);
    if (skips) return due + rtt_ * config_.stall_rtts;
    return due;
}

std::optional<ReleasedFrame> FrameBuffer::poll_frame() {
    const Frame* c = candidate();
    if (!c) return std::nullopt;
    const Timestamp due = render_time(*c);
    if (now_ < release_time(*c)) return std::nullopt;
    const int64_t id = c->out.id;
    auto it = frames_.find(id);
    Frame f = std::move(it->second);
    const size_t skipped = static_cast<size_t>(std::distance(frames_.begin(), it));
    const auto stop = std::next(it); // before `it` is extracted
    for (auto i = frames_.begin(); i != stop;) drop_frame(i++);
    stats_.frames_dropped += skipped;
    const bool gap = released_seq_ && f.first_seq - 1 > *released_seq_;
    if (f.out.frame.keyframe && (skipped > 0 || gap)) {
        ++stats_.drops_to_keyframe;
        skipped_to_ = static_cast<uint16_t>(f.first_seq);
    }
    f.out.render_time = due;
    if (f.out.completed > due) ++stats_.late_frames;
    last_released_id_ = id;
    insert_id(decoded_, spare_ids_, id);
    while (decoded_.size() > kMaxDecodedIds) erase_first_id(decoded_, spare_ids_);
    released_seq_ = std::max(released_seq_.value_or(f.last_seq), f.last_seq);
    while (!packets_.empty() && packets_.begin()->first <= *released_seq_) drop_packet(packets_.begin());
    while (!frame_ends_.empty() && *frame_ends_.begin() < *released_seq_) erase_first_id(frame_ends_, spare_ids_);
    ++stats_.frames_released;
    return std::move(f.out);
}

void FrameBuffer::drop_packet(std::map<int64_t, Packet>::iterator it) {
    if (spare_packets_.size() < kMaxSparePackets) spare_packets_.push_back(packets_.extract(it));
    else packets_.erase(it);
}

void FrameBuffer::drop_frame(std::map<int64_t, Frame>::iterator it) {
    if (spare_frames_.size() < kMaxSpareFrames) {
        auto node = frames_.extract(it);
        node.mapped().out.frame.data = {}; // a dropped frame's bytes are not kept alive
        spare_frames_.push_back(std::move(node));
    } else {
        frames_.erase(it);
    }
}

bool FrameBuffer::poll_keyframe_request() {
    const bool r = keyframe_request_;
    keyframe_request_ = false;
    return r;
}

std::optional<uint16_t> FrameBuffer::poll_skipped_to() {
    auto s = skipped_to_;
    skipped_to_.reset();
    return s;
}

} // namespace rtcpp::rtp
