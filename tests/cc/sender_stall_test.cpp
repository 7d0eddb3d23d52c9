// A sender that pauses (an encoder or a loaded machine stalling a few hundred ms, then a burst of the frames it missed) is
// not a capacity drop: the target may dip, but not collapse to what the pause delivered.
#include "sim/cc_endpoints.hpp"
#include "sim/network.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace rtcpp;
using namespace rtcpp::sim;

namespace {

struct StallRun {
    DataRate before = DataRate::zero();      ///< target just before the stall
    DataRate lowest_after = DataRate::zero(); ///< lowest target in the 4 s after it
    DataRate at_end = DataRate::zero();
};

StallRun run(TimeDelta stall) {
    Network net(7);
    LinkConfig fwd;
    fwd.delay = TimeDelta::millis(25);
    fwd.rate = DataRate::kbps(1000);
    fwd.queue = DataSize::bytes(25000);  // ~200 ms at 1 Mbps
    LinkConfig rev;
    rev.delay = TimeDelta::millis(25);
    const LinkId f = net.add_link(fwd), r = net.add_link(rev);
    const SocketAddr a(IpAddr::v4(10, 0, 0, 1), 5000), b(IpAddr::v4(10, 0, 1, 1), 5000);
    MediaSenderConfig c;
    c.local = a;
    c.remote = b;
    c.max_rate = DataRate::kbps(2000);
    c.stall_start = Timestamp::seconds(15);
    c.stall_duration = stall;
    MediaSender sender(c);
    MediaReceiver receiver(b);
    net.add_host(sender, {a.ip()}, {.uplink = f});
    net.add_host(receiver, {b.ip()}, {.uplink = r});
    net.run_until(Timestamp::seconds(25));

    StallRun out;
    out.lowest_after = DataRate::kbps(1000000);
    for (const auto& s : sender.rate_log()) {
        if (s.at < c.stall_start) out.before = s.target;
        else if (s.at < c.stall_start + TimeDelta::seconds(4)) out.lowest_after = std::min(out.lowest_after, s.target);
        out.at_end = s.target;
    }
    return out;
}

} // namespace

TEST_CASE("GCC: a sender stall (300 or 600 ms) and the burst after it do not collapse the target") {
    const StallRun steady = run(TimeDelta::zero());
    for (int ms : {300, 600}) {
        CAPTURE(ms);
        const StallRun stalled = run(TimeDelta::millis(ms));
        MESSAGE(ms << " ms stall: target before " << stalled.before.kbps() << " kbps, lowest after "
                   << stalled.lowest_after.kbps() << " kbps, at the end " << stalled.at_end.kbps()
                   << " kbps (no stall: " << steady.lowest_after.kbps() << " lowest, " << steady.at_end.kbps()
                   << " at the end)");
        REQUIRE(stalled.before > DataRate::kbps(600));  // the flow had found the path before the stall
        CHECK(stalled.lowest_after.bps() * 2 >= stalled.before.bps());
        CHECK(stalled.at_end.bps() * 10 >= steady.at_end.bps() * 7);
    }
}
