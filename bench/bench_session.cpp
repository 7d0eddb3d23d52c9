// The media send path as a Session's user sees it (tests/e2e/session_send_loop.hpp):
//   session-send [--seconds N]
//       two Sessions connected over the simulator, then driven directly: Opus every 20 ms and VP8 at 30 fps
//       (~10 kB frames, a 40 kB keyframe every 90) through send_frame -> packetizer -> RTP -> pacer -> SRTP ->
//       ICE agent -> poll_transmit, each sent buffer handed back with Session::recycle. Counted: the sender's
//       sections only (send_frame, handle_timeout, handling what the peer sends back, draining the output), after
//       65 s of warm-up (the audio NACK history's 1,024 slots fill in 20 s, the transport-wide send history's
//       60 s window in 60 s); N seconds of simulated time measured (30 by default).
// Rates are packets per second of process CPU time (single thread): packets/s per core.
#include "alloc_counter.hpp"
#include "bench.hpp"

#include "../tests/e2e/session_send_loop.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace rtcpp;

namespace {

long seconds_arg(const std::vector<std::string>& args, long fallback) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--seconds") return std::stol(args[i + 1]);
    return fallback;
}

double per(uint64_t n, uint64_t d) { return d ? static_cast<double>(n) / static_cast<double>(d) : 0; }

int run_session_send(bench::Reporter& r, const std::vector<std::string>& args) {
    const long seconds = seconds_arg(args, 30);
    test::SessionSendLoop loop(&bench::allocation_count);
    if (bench::malloc_counted()) loop.count_mallocs = &bench::malloc_count;
    loop.on_section = &bench::trace_allocations; // RTCPP_BENCH_ALLOC_TRACE=1: stacks of the counted sections
    if (!loop.connect()) {
        r.note("the sessions did not connect");
        return 1;
    }
    loop.run(TimeDelta::seconds(65), nullptr);
    test::SendLoopCounts c;
    loop.run(TimeDelta::seconds(seconds), &c);
    r.note("Opus + VP8 over one Session: " + std::to_string(c.video_frames) + " video and " +
           std::to_string(c.audio_frames) + " audio frames, " + std::to_string(c.rtp_packets) + " RTP packets, " +
           std::to_string(c.rtcp_packets) + " RTCP and " + std::to_string(c.other_datagrams) + " other datagrams sent; " +
           std::to_string(c.packet_sections) + " send_frame/pacer sections, " + std::to_string(c.interval_sections) +
           " with RTCP/STUN, " + std::to_string(c.input_sections) + " datagrams handled from the peer");
    r.figure("session-send.pps", static_cast<double>(c.rtp_packets) / c.cpu_seconds, "packets/s/core");
    r.figure("session-send.packet_path.pps", static_cast<double>(c.rtp_packets) / c.packet_cpu_seconds, "packets/s/core");
    r.figure("session-send.allocs_per_packet", per(c.packet_allocations, c.rtp_packets), "allocs/packet");
    r.figure("session-send.interval.allocs_per_section", per(c.interval_allocations, c.interval_sections),
             "allocs/interval");
    r.figure("session-send.interval.allocs_per_second", per(c.interval_allocations, static_cast<uint64_t>(seconds)),
             "allocs/s");
    r.figure("session-send.input.allocs_per_datagram", per(c.input_allocations, c.input_sections), "allocs/datagram");
    r.figure("session-send.all.allocs_per_packet",
             per(c.packet_allocations + c.interval_allocations + c.input_allocations, c.rtp_packets), "allocs/packet");
    if (bench::malloc_counted()) {
        r.figure("session-send.mallocs_per_packet", per(c.packet_mallocs, c.rtp_packets), "mallocs/packet");
        r.figure("session-send.all.mallocs_per_packet", per(c.mallocs, c.rtp_packets), "mallocs/packet");
    }
    return c.rtp_packets > 0 && loop.frames_received() > 0 ? 0 : 1;
}

} // namespace

RTCPP_BENCHMARK("session-send",
                "Opus + VP8 through rtcpp::Session: send_frame -> pacer -> SRTP -> ICE -> poll_transmit, allocations "
                "per packet and packets/s per core [--seconds N]",
                run_session_send);
