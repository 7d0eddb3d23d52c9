// Audio over the simulator: a 20 ms Opus-sized packet stream (optionally in RED) through a lossy, jittery link into
// the adaptive audio jitter buffer, played out by a 20 ms audio clock. Issue 7's audio evaluation; shared by
// tests/e2e and bench/bench_loss ("rtcpp-bench loss-sweep").
#pragma once

#include "rtp/audio_jitter_buffer.hpp"

#include <rtcpp/units.hpp>

#include <cstdint>

namespace rtcpp::sim {

struct AudioScenarioConfig {
    TimeDelta one_way = TimeDelta::millis(40);
    TimeDelta jitter = TimeDelta::zero();  ///< standard deviation of the one-way delay (packets may reorder)
    double loss = 0;
    bool bursty = false;      ///< Gilbert-Elliott loss with that average
    double mean_burst = 3;
    bool red = false;         ///< each packet also carries the previous frame (RFC 2198, distance 1)
    size_t frames = 9000;     ///< 20 ms each
    uint64_t seed = 1;
    rtp::AudioJitterConfig jitter_buffer;
};

struct AudioScenarioResult {
    double late_loss = 0;        ///< packets that arrived after their playout time (the buffer's late-loss rate)
    double p95_jitter_ms = 0;    ///< one-way transit above the fastest packet, 95th percentile (ground truth)
    double mean_delay_ms = 0;    ///< playout time - send time above the fastest transit, frames played from media
    double p95_delay_ms = 0;
    double concealed_share = 0;  ///< frames played as concealment (loss or lateness)
    double underrun_share = 0;   ///< the buffer waited a frame for a late packet
    uint64_t holes = 0;          ///< frames rebuilt from in-band FEC or concealed
    uint64_t frames_fec = 0, frames_stretched = 0, frames_dropped = 0, underruns = 0;
};

AudioScenarioResult run_audio_scenario(const AudioScenarioConfig& config);

} // namespace rtcpp::sim
