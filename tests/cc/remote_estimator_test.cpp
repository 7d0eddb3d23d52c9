// The receive-side estimate (REMB) from abs-send-time: it follows a flow that fits the path and falls below the
// capacity, with a REMB at once, when the sender overruns a bottleneck.
#include "cc/remote_estimator.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::cc;

namespace {

/// Sends `rate` in 1,200-byte packets through a `capacity` bottleneck (FIFO, 40 ms base delay) from `start` for
/// `duration`; hands each arrival to the estimator and collects the REMBs it asks for.
struct Flow {
    RemoteEstimator estimator;
    Timestamp send_clock = Timestamp::seconds(5);  // the sender's clock: its own origin
    Timestamp last_arrival = Timestamp::zero();
    std::vector<std::pair<Timestamp, DataRate>> rembs;

    void run(Timestamp start, TimeDelta duration, DataRate rate, DataRate capacity) {
        const size_t bytes = 1200;
        const TimeDelta gap = TimeDelta::micros(static_cast<int64_t>(bytes) * 8 * 1000000 / rate.bps());
        const TimeDelta service = TimeDelta::micros(static_cast<int64_t>(bytes) * 8 * 1000000 / capacity.bps());
        for (Timestamp t = start; t < start + duration; t = t + gap) {
            const Timestamp arrival = std::max(t + TimeDelta::millis(40), last_arrival + service);
            last_arrival = arrival;
            const Timestamp sent = send_clock + (t - Timestamp::zero());
            const auto ast = static_cast<uint32_t>(((sent - Timestamp::zero()).us() * (1 << 18) / 1000000) & 0xFFFFFF);
            drain(arrival);
            estimator.on_packet(arrival, ast, bytes);
        }
        drain(start + duration + TimeDelta::millis(200));
    }
    void drain(Timestamp until) {
        while (estimator.poll_timeout() <= until) {
            const Timestamp at = estimator.poll_timeout();
            estimator.handle_timeout(at);
            while (auto r = estimator.poll_remb()) rembs.emplace_back(at, *r);
        }
    }
};

} // namespace

TEST_CASE("remote estimate: a flow that fits the path is followed up, with a REMB about every second") {
    Flow f;
    f.run(Timestamp::zero(), TimeDelta::seconds(20), DataRate::kbps(1000), DataRate::kbps(5000));
    REQUIRE(f.rembs.size() >= 15);
    CHECK(f.rembs.size() <= 25);
    const DataRate last = f.rembs.back().second;
    MESSAGE("REMBs " << f.rembs.size() << ", last " << last.kbps() << " kbps");
    CHECK(last >= DataRate::kbps(1000));  // never below what arrives without queuing
    CHECK(last <= DataRate::kbps(1600));  // bounded by the incoming rate (AIMD's 1.5x)
}

TEST_CASE("remote estimate: overrunning a bottleneck brings the REMB under the capacity at once") {
    Flow f;
    f.run(Timestamp::zero(), TimeDelta::seconds(10), DataRate::kbps(800), DataRate::kbps(1000));
    const size_t before = f.rembs.size();
    REQUIRE(before > 0);
    // The sender now pushes 1.6 Mbps into the 1 Mbps bottleneck: the queue grows, the trend turns.
    f.run(Timestamp::seconds(10), TimeDelta::seconds(3), DataRate::kbps(1600), DataRate::kbps(1000));
    std::optional<std::pair<Timestamp, DataRate>> first_low;
    for (size_t i = before; i < f.rembs.size(); ++i)
        if (f.rembs[i].second < DataRate::kbps(1000)) {
            first_low = f.rembs[i];
            break;
        }
    REQUIRE(first_low);
    MESSAGE("REMB under the 1 Mbps capacity after " << (first_low->first - Timestamp::seconds(10)).ms() << " ms: "
                                                    << first_low->second.kbps() << " kbps");
    CHECK(first_low->first - Timestamp::seconds(10) < TimeDelta::millis(1500));
    CHECK(first_low->second > DataRate::kbps(500));  // a cut, not a collapse
}
