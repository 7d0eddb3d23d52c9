// The media send path as a user of rtcpp::Session sees it, in steady state: two Sessions connected over the
// simulator (SessionPair), then driven directly: `a` sends Opus (20 ms) and VP8 (30 fps, ~10 kB frames, a 40 kB
// keyframe every 90) with send_frame, its pacer releases packets in handle_timeout, and every datagram it queues is
// drained with poll_transmit and carried to `b` after a fixed one-way delay (10 ms each way), whose reports,
// transport-wide feedback and consent answers come back to `a` the same way. Each sent buffer is handed back with
// Session::recycle once `b` has read it, as an owner does after its socket's send.
//
// What `a` does is counted (allocations through the caller's counter, process CPU time) in three kinds of
// sections:
//   packet:   send_frame, and handle_timeout calls that sent only RTP (the pacer releasing media);
//   interval: handle_timeout calls that also sent RTCP or STUN (sender reports, consent checks) or raised an
//             event (TargetBitrate), per interval;
//   input:    handle_datagram with what `b` sent (receiver reports, feedback, consent answers), per interval.
// Each section includes draining `a`'s output. `b`'s work and the simulated wire are not counted.
// Used by tests/alloc (zero allocations per packet) and bench/bench_session.cpp (rate and allocations).
#pragma once

#include "session_peer.hpp"

#include "core/ring_queue.hpp"
#include "rtp/rtp_packet.hpp"

#include <time.h>

#include <algorithm>
#include <stdexcept>

namespace rtcpp::test {

/// Session::recycle where the Session has it (the benchmark builds against older sessions too, for comparison).
template <class S>
void give_back(S& session, std::vector<uint8_t>&& bytes) {
    if constexpr (requires { session.recycle(std::move(bytes)); }) session.recycle(std::move(bytes));
}

struct SendLoopCounts {
    uint64_t rtp_packets = 0; ///< SRTP RTP datagrams `a` sent (media, padding, retransmissions, FEC)
    uint64_t rtcp_packets = 0, other_datagrams = 0; ///< SRTCP; STUN and DTLS
    uint64_t video_frames = 0, audio_frames = 0;
    uint64_t packet_allocations = 0, packet_sections = 0;
    uint64_t interval_allocations = 0, interval_sections = 0;
    uint64_t input_allocations = 0, input_sections = 0;
    uint64_t max_interval_allocations = 0; ///< the most in one interval section
    double packet_cpu_seconds = 0;         ///< CPU time of the packet sections
    uint64_t mallocs = 0, packet_mallocs = 0; ///< with a malloc counter: every section's, the packet sections'
    double cpu_seconds = 0;                ///< of all of a's sections
};

class SessionSendLoop {
public:
    using Counter = uint64_t (*)();

    explicit SessionSendLoop(Counter count, uint64_t seed = 1)
        : count_(count), pair_(sim::LinkConfig{}, media_config(seed), media_config(seed + 1), seed + 10) {
        in_flight_.reserve(8192);
    }

    /// Negotiates Opus and VP8 from a (send-only) and connects over the simulator.
    bool connect() {
        auto& a = *pair_.a.session;
        const auto audio = a.add_transceiver(MediaKind::Audio, {.direction = RtpDirection::SendOnly});
        const auto video = a.add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly, .codecs = {"VP8"}});
        if (!audio || !video) return false;
        audio_ = *audio;
        video_ = *video;
        if (!pair_.connect()) return false;
        now_ = pair_.net.now();
        next_video_ = next_audio_ = now_;
        return true;
    }

    /// Runs for `duration` of simulated time; with `counts`, what a does is counted into it. Without `recycle`, the
    /// sent buffers are dropped instead of handed back (every packet is then a new buffer).
    void run(TimeDelta duration, SendLoopCounts* counts, bool recycle = true) {
        recycle_ = recycle;
        counts_ = counts;
        rtcp_at_start_ = sent_rtcp_;
        other_at_start_ = sent_other_;
        audio_frame_[0] = 0x78; // TOC: CELT, 20 ms
        Session& a = *pair_.a.session;
        Session& b = *pair_.b.session;
        const Timestamp end = now_ + duration;
        while (now_ < end) {
            Timestamp next = std::min({next_video_, next_audio_, a.poll_timeout(), b.poll_timeout(), end});
            if (!in_flight_.empty()) next = std::min(next, in_flight_.front().arrival);
            now_ = std::max(now_, next);
            // The wire: datagrams that have arrived.
            while (!in_flight_.empty() && in_flight_.front().arrival <= now_) {
                Datagram d = std::move(in_flight_.front());
                in_flight_.pop_front();
                if (d.to_b) {
                    b.handle_datagram(now_, d.t.remote, d.t.local, d.t.bytes);
                    if (recycle_) give_back(a, std::move(d.t.bytes)); // b has read it: a's socket send is done
                    drain_b();
                } else {
                    const Section s = begin();
                    a.handle_datagram(now_, d.t.remote, d.t.local, d.t.bytes);
                    drain_a();
                    end_section(s, Kind::Input);
                    give_back(b, std::move(d.t.bytes));
                }
            }
            if (b.poll_timeout() <= now_) {
                b.handle_timeout(now_);
                drain_b();
            }
            if (a.poll_timeout() <= now_) {
                const Section s = begin();
                a.handle_timeout(now_);
                const uint64_t rtcp = sent_rtcp_, other = sent_other_, events = events_;
                drain_a();
                const bool quiet = sent_rtcp_ == rtcp && sent_other_ == other && events_ == events;
                end_section(s, quiet ? Kind::Packet : Kind::Interval);
            }
            if (now_ >= next_video_) {
                const ByteView frame = next_video_frame();
                const Section s = begin();
                auto r = a.send_frame(video_, frame, static_cast<uint32_t>(video_index_ * 3000));
                drain_a();
                end_section(s, Kind::Packet);
                if (!r) throw std::runtime_error("send_frame (video): " + r.error().to_string());
                if (counts_) ++counts_->video_frames;
                next_video_ = next_video_ + TimeDelta::micros(33333);
            }
            if (now_ >= next_audio_) {
                audio_frame_[1] = static_cast<uint8_t>(audio_index_);
                const Section s = begin();
                auto r = a.send_frame(audio_, audio_frame_, static_cast<uint32_t>(audio_index_ * 960));
                drain_a();
                end_section(s, Kind::Packet);
                if (!r) throw std::runtime_error("send_frame (audio): " + r.error().to_string());
                ++audio_index_;
                if (counts_) ++counts_->audio_frames;
                next_audio_ = next_audio_ + TimeDelta::millis(20);
            }
            while (auto e = b.poll_event())
                if (std::holds_alternative<event::MediaFrame>(*e)) ++frames_received_;
        }
        counts_ = nullptr;
    }

    /// Optional: a second counter (malloc calls, C libraries included), and a hook told when a counted section
    /// begins and ends (the benchmark's allocation trace).
    Counter count_mallocs = nullptr;
    void (*on_section)(bool begin) = nullptr;

    SessionPair& pair() { return pair_; }
    /// MediaFrame events b has delivered (video and audio).
    uint64_t frames_received() const { return frames_received_; }

private:
    enum class Kind { Packet, Interval, Input };
    struct Section {
        uint64_t allocations = 0;
        uint64_t mallocs = 0;
        double cpu = 0;
    };
    struct Datagram {
        Timestamp arrival;
        Transmit t;
        bool to_b = false;
    };

    static double cpu_now() {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }
    Section begin() const {
        if (counts_ && on_section) on_section(true);
        return Section{count_(), count_mallocs ? count_mallocs() : 0, counts_ ? cpu_now() : 0};
    }
    void end_section(const Section& s, Kind kind) {
        if (!counts_) return;
        const double cpu = cpu_now() - s.cpu;
        const uint64_t n = count_() - s.allocations;
        const uint64_t m = count_mallocs ? count_mallocs() - s.mallocs : 0;
        if (on_section) on_section(false);
        counts_->cpu_seconds += cpu;
        counts_->mallocs += m;
        switch (kind) {
        case Kind::Packet:
            counts_->packet_allocations += n;
            ++counts_->packet_sections;
            counts_->packet_cpu_seconds += cpu;
            counts_->packet_mallocs += m;
            break;
        case Kind::Interval:
            counts_->interval_allocations += n;
            ++counts_->interval_sections;
            counts_->max_interval_allocations = std::max(counts_->max_interval_allocations, n);
            break;
        case Kind::Input:
            counts_->input_allocations += n;
            ++counts_->input_sections;
            break;
        }
    }

    // Inside a's sections: the in-flight ring was reserved, so carrying a datagram allocates nothing.
    void drain_a() {
        Session& a = *pair_.a.session;
        while (a.poll_event()) ++events_; // TargetBitrate, per feedback interval
        while (auto t = a.poll_transmit()) {
            const ByteView bytes = t->bytes;
            if (!bytes.empty() && bytes[0] >= 128 && bytes[0] <= 191) {
                if (rtp::looks_like_rtcp(bytes)) ++sent_rtcp_;
                else if (counts_) ++counts_->rtp_packets;
            } else {
                ++sent_other_;
            }
            in_flight_.push_back(Datagram{now_ + kDelay, std::move(*t), true});
        }
        if (counts_) {
            counts_->rtcp_packets = sent_rtcp_ - rtcp_at_start_;
            counts_->other_datagrams = sent_other_ - other_at_start_;
        }
    }
    void drain_b() {
        Session& b = *pair_.b.session;
        while (auto t = b.poll_transmit()) in_flight_.push_back(Datagram{now_ + kDelay, std::move(*t), false});
    }

    ByteView next_video_frame() {
        const bool key = video_index_ % 90 == 0;
        ++video_index_;
        video_frame_.resize(key ? 40000 : 9000 + random_.uniform(2400));
        random_.fill(video_frame_);
        // VP8 frame tag: bit 0 clear on keyframes (RFC 6386 9.1), then the keyframe start code.
        video_frame_[0] = static_cast<uint8_t>(key ? (video_frame_[0] & 0xFE) : (video_frame_[0] | 0x01));
        if (key) {
            video_frame_[3] = 0x9d;
            video_frame_[4] = 0x01;
            video_frame_[5] = 0x2a;
        }
        return video_frame_;
    }

    static constexpr TimeDelta kDelay = TimeDelta::millis(10);
    Counter count_;
    SessionPair pair_;
    TransceiverId audio_ = 0, video_ = 0;
    Timestamp now_, next_video_, next_audio_;
    RingQueue<Datagram> in_flight_;
    Random random_{3};
    std::vector<uint8_t> video_frame_ = std::vector<uint8_t>(40000);
    std::vector<uint8_t> audio_frame_ = std::vector<uint8_t>(120, 0x5A); // a CELT 20 ms frame's size, TOC below
    uint64_t video_index_ = 0, audio_index_ = 0;
    uint64_t events_ = 0;
    uint64_t sent_rtcp_ = 0, sent_other_ = 0, rtcp_at_start_ = 0, other_at_start_ = 0;
    uint64_t frames_received_ = 0;
    SendLoopCounts* counts_ = nullptr;
    bool recycle_ = true;
};

} // namespace rtcpp::test
