#include "rtp/audio_jitter_buffer.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::rtp {

namespace {
constexpr size_t kMaxPayload = 1500;
constexpr uint64_t kMinSamples = 10;
// Loss average (per frame, ~200-frame memory) above which loss_headroom is added.
constexpr double kLossAverageAlpha = 0.005;
constexpr double kLossHeadroomThreshold = 0.01;
// A timestamp this far from the playout point is a new stream (restart, SSRC reuse), not jitter.
constexpr TimeDelta kResetDistance = TimeDelta::seconds(10);
} // namespace

AudioJitterBuffer::AudioJitterBuffer(const AudioJitterConfig& config)
    : cfg_(config),
      frame_ticks_(std::max<int64_t>(1, config.frame_duration.us() * config.clock_rate / 1000000)),
      target_(config.initial_delay),
      jitter_target_(config.initial_delay) {
    cfg_.clock_rate = std::max<uint32_t>(1, cfg_.clock_rate);
    cfg_.forget = std::clamp(cfg_.forget, 0.5, 1.0);
    concealed_.fill(-1);
}

int64_t AudioJitterBuffer::ts_us(int64_t ts) const {
    // Split to keep ts * 1e6 from overflowing for very long streams.
    const int64_t rate = cfg_.clock_rate;
    return ts / rate * 1000000 + ts % rate * 1000000 / rate;
}

void AudioJitterBuffer::reset() {
    packets_.clear();
    base_window_.clear();
    unwrapper_.reset();
    playing_ = false;
    concealed_.fill(-1);
    ++stats_.resets;
}

void AudioJitterBuffer::handle_packet(Timestamp now, uint32_t rtp_timestamp, ByteView payload, bool redundant) {
    if (payload.empty() || payload.size() > kMaxPayload) {
        ++stats_.overflow;
        return;
    }
    int64_t t = unwrapper_.unwrap(rtp_timestamp);
    const int64_t far = kResetDistance.us() * cfg_.clock_rate / 1000000;
    if (playing_ && (t > next_ts_ + far || t < next_ts_ - far)) {
        if (redundant) return;  // never restart on a copy
        reset();
        t = unwrapper_.unwrap(rtp_timestamp);
    }
    if (!redundant) observe_transit(now, now.us() - ts_us(t));
    if (playing_ && t < next_ts_) {
        if (!redundant) {
            ++stats_.arrived_late;
            if (was_concealed(t)) ++stats_.late;
            ++stats_.packets_received;
        }
        return;
    }
    auto it = packets_.find(t);
    if (it != packets_.end()) {
        if (!redundant && it->second.redundant) {
            it->second.data.assign(payload.begin(), payload.end());
            it->second.redundant = false;
            ++stats_.packets_received;
        } else if (!redundant) {
            ++stats_.duplicates;
        }
        return;
    }
    if (!redundant) ++stats_.packets_received;
    packets_.emplace(t, Stored{std::vector<uint8_t>(payload.begin(), payload.end()), redundant});
    while (packets_.size() > cfg_.max_packets) {
        // The buffer is far ahead of playout: keep the newest, they are what playout will reach.
        packets_.erase(packets_.begin());
        ++stats_.overflow;
    }
}

void AudioJitterBuffer::observe_transit(Timestamp now, int64_t transit) {
    while (!base_window_.empty() && base_window_.front().first < now - cfg_.base_window) base_window_.pop_front();
    while (!base_window_.empty() && base_window_.back().second >= transit) base_window_.pop_back();
    base_window_.emplace_back(now, transit);
    last_base_us_ = base_window_.front().second;
    const int64_t rel_ms = (transit - last_base_us_) / 1000;
    const size_t bin = static_cast<size_t>(std::clamp<int64_t>(rel_ms, 0, kBins - 1));
    weight_ /= cfg_.forget;
    hist_[bin] += weight_;
    hist_total_ += weight_;
    if (weight_ > 1e100) {
        for (double& h : hist_) h /= weight_;
        hist_total_ /= weight_;
        weight_ = 1;
    }
    ++samples_;
    update_target();
}

void AudioJitterBuffer::update_target() {
    const TimeDelta headroom = loss_avg_ > kLossHeadroomThreshold ? cfg_.loss_headroom : TimeDelta::zero();
    if (samples_ < kMinSamples) {
        target_ = cfg_.initial_delay + headroom;
        return;
    }
    const double want = cfg_.quantile * hist_total_;
    double acc = 0;
    size_t bin = 0;
    for (; bin < kBins; ++bin) {
        acc += hist_[bin];
        if (acc >= want) break;
    }
    jitter_target_ = TimeDelta::millis(static_cast<int64_t>(bin) + 1) + cfg_.margin;
    target_ = std::clamp(jitter_target_ + headroom, cfg_.min_delay, cfg_.max_delay);
}

bool AudioJitterBuffer::was_concealed(int64_t ts) const {
    return std::find(concealed_.begin(), concealed_.end(), ts) != concealed_.end();
}

std::optional<PlayoutFrame> AudioJitterBuffer::poll_frame(Timestamp now) {
    if (!playing_) {
        if (packets_.empty()) return std::nullopt;
        playing_ = true;
        next_ts_ = packets_.begin()->first;
    }
    const int64_t frame_us = cfg_.frame_duration.us();
    auto delay_of = [&](int64_t ts) { return TimeDelta::micros(now.us() - (base_us() + ts_us(ts))); };
    PlayoutFrame f;
    f.timestamp = next_ts_;
    TimeDelta delay = delay_of(next_ts_);
    if (packets_.empty()) {
        // Nothing at or after the frame due: it is late, or the stream paused. Waiting (a concealment frame that
        // consumes nothing) keeps it playable, as a fixed schedule would not; the delay grows by a frame and the
        // drop rule below takes it back once the jitter allows.
        f.kind = PlayoutKind::Conceal;
        f.stretch = true;
        ++stats_.frames_stretched;
        ++stats_.underruns;
        underrun_ = true;
        last_delay_ = delay;
        return f;
    }
    if (underrun_) {
        underrun_ = false;
        const int64_t first = packets_.begin()->first;
        if (first >= next_ts_ + 2 * frame_ticks_) {
            // The stream came back after the frames waited for (a pause, or they were lost): go on from the first
            // packet here. The skipped frames are lost to playout if they still turn up.
            // The frame just before it can still come from its in-band FEC.
            const int64_t resume = first - frame_ticks_;
            for (int64_t t = next_ts_; t < resume && t < next_ts_ + 64 * frame_ticks_; t += frame_ticks_)
                concealed_[concealed_pos_++ % concealed_.size()] = t;
            next_ts_ = resume;
            f.timestamp = next_ts_;
            delay = delay_of(next_ts_);
        }
    }
    if (delay.us() < target_.us() - frame_us / 2) {
        // Playing this frame now would be ahead of the target: give the network one more frame of time.
        f.kind = PlayoutKind::Conceal;
        f.stretch = true;
        ++stats_.frames_stretched;
        last_delay_ = delay;
        return f;
    }
    if (delay.us() > target_.us() + frame_us) {
        // Too much buffered: drop one frame (hysteresis of a frame so the delay does not oscillate).
        if (auto it = packets_.lower_bound(next_ts_); it != packets_.end() && it->first < next_ts_ + frame_ticks_)
            packets_.erase(it);
        next_ts_ += frame_ticks_;
        ++stats_.frames_dropped;
        f.timestamp = next_ts_;
        delay = delay_of(next_ts_);
    }
    auto it = packets_.lower_bound(next_ts_);
    if (it != packets_.end() && it->first < next_ts_ + frame_ticks_) {
        next_ts_ = it->first;
        f.timestamp = next_ts_;
        delay = delay_of(next_ts_);
        scratch_ = std::move(it->second);
        packets_.erase(it);
        f.kind = PlayoutKind::Normal;
        f.payload = scratch_.data;
        f.from_redundancy = scratch_.redundant;
        if (scratch_.redundant) ++stats_.redundant_used;
        ++stats_.frames_normal;
    } else if (auto nx = packets_.lower_bound(next_ts_ + frame_ticks_);
               nx != packets_.end() && nx->first < next_ts_ + 2 * frame_ticks_ && !nx->second.redundant) {
        scratch_.data = nx->second.data;
        scratch_.redundant = false;
        f.kind = PlayoutKind::InbandFec;
        f.payload = scratch_.data;
        ++stats_.frames_fec;
    } else {
        f.kind = PlayoutKind::Conceal;
        ++stats_.frames_concealed;
        concealed_[concealed_pos_++ % concealed_.size()] = next_ts_;
    }
    last_delay_ = delay;
    const bool had_headroom = loss_avg_ > kLossHeadroomThreshold;
    // A frame is lost when something newer is already here; an empty buffer may just be silence (DTX) or the end.
    const bool lost = (f.kind != PlayoutKind::Normal || f.from_redundancy) && !packets_.empty();
    loss_avg_ += kLossAverageAlpha * ((lost ? 1.0 : 0.0) - loss_avg_);
    if (had_headroom != (loss_avg_ > kLossHeadroomThreshold)) update_target();
    if (f.kind != PlayoutKind::Conceal) {
        const int64_t ms = std::clamp<int64_t>(delay.ms(), 0, static_cast<int64_t>(delay_hist_.size()) - 1);
        ++delay_hist_[static_cast<size_t>(ms)];
        ++delay_count_;
        delay_sum_ms_ += static_cast<double>(delay.us()) / 1000.0;
    }
    next_ts_ += frame_ticks_;
    while (!packets_.empty() && packets_.begin()->first < next_ts_) packets_.erase(packets_.begin());
    return f;
}

TimeDelta AudioJitterBuffer::mean_delay() const {
    if (delay_count_ == 0) return TimeDelta::zero();
    return TimeDelta::micros(static_cast<int64_t>(delay_sum_ms_ / static_cast<double>(delay_count_) * 1000.0));
}

TimeDelta AudioJitterBuffer::delay_percentile(double q) const {
    if (delay_count_ == 0) return TimeDelta::zero();
    const double want = q * static_cast<double>(delay_count_);
    uint64_t acc = 0;
    for (size_t i = 0; i < delay_hist_.size(); ++i) {
        acc += delay_hist_[i];
        if (static_cast<double>(acc) >= want) return TimeDelta::millis(static_cast<int64_t>(i));
    }
    return TimeDelta::millis(static_cast<int64_t>(delay_hist_.size()));
}

} // namespace rtcpp::rtp
