#include "cc/inter_arrival.hpp"
#include "cc/overuse_detector.hpp"
#include "cc/trendline_estimator.hpp"

#include <rtcpp/random.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace rtcpp;
using namespace rtcpp::cc;

TEST_CASE("linear fit slope is exact on a line and undefined without spread") {
    std::deque<std::pair<double, double>> pts;
    for (int i = 0; i < 10; ++i) pts.emplace_back(i * 5.0, 3.0 + 0.25 * i * 5.0);
    CHECK(TrendlineEstimator::linear_fit_slope(pts).value() == doctest::Approx(0.25));
    std::deque<std::pair<double, double>> same_x{{1, 1}, {1, 2}};
    CHECK_FALSE(TrendlineEstimator::linear_fit_slope(same_x).has_value());
}

namespace {
// Feeds groups spaced 10 ms apart at the sender whose arrival spacing is 10 ms + extra.
double run_trendline(double extra_ms_per_group, int groups, Random* noise = nullptr) {
    TrendlineEstimator t;
    Timestamp arrival = Timestamp::millis(1000);
    TrendlineEstimator::Sample s;
    for (int i = 0; i < groups; ++i) {
        double e = extra_ms_per_group + (noise ? noise->gaussian(0, 0.5) : 0.0);
        const TimeDelta recv = TimeDelta::micros(static_cast<int64_t>((10.0 + e) * 1000));
        arrival += recv;
        s = t.update(recv, TimeDelta::millis(10), arrival);
    }
    return s.trend;
}
} // namespace

TEST_CASE("trendline slope follows a synthetic growing, flat and shrinking delay") {
    // Delay grows 1 ms per 11 ms of arrival time: the (smoothed) slope approaches 1/11.
    CHECK(run_trendline(1.0, 200) == doctest::Approx(1.0 / 11.0).epsilon(0.02));
    CHECK(std::fabs(run_trendline(0.0, 200)) < 1e-9);
    CHECK(run_trendline(-1.0, 200) == doctest::Approx(-1.0 / 9.0).epsilon(0.02));
    // Zero-mean noise gives a small slope; a steady 0.5 ms/group growth stands out of it.
    Random r(7);
    CHECK(std::fabs(run_trendline(0.0, 300, &r)) < 0.02);
    Random r2(7);
    CHECK(run_trendline(0.5, 300, &r2) > 0.03);
}

TEST_CASE("trendline reports the previous trend until the window is full") {
    TrendlineEstimator t;
    Timestamp arrival = Timestamp::millis(0);
    for (int i = 0; i < 19; ++i) {
        arrival += TimeDelta::millis(12);
        CHECK(t.update(TimeDelta::millis(12), TimeDelta::millis(10), arrival).trend == 0.0);
    }
    arrival += TimeDelta::millis(12);
    CHECK(t.update(TimeDelta::millis(12), TimeDelta::millis(10), arrival).trend > 0.0);
}

TEST_CASE("modified trend is scaled by sample count (capped at 60) and gain 4") {
    TrendlineEstimator t;
    Timestamp arrival = Timestamp::millis(0);
    TrendlineEstimator::Sample s;
    for (int i = 0; i < 100; ++i) {
        arrival += TimeDelta::millis(11);
        s = t.update(TimeDelta::millis(11), TimeDelta::millis(10), arrival);
    }
    CHECK(s.num_deltas == 100);
    CHECK(s.modified_trend == doctest::Approx(60 * 4 * s.trend));
}

TEST_CASE("overuse detector: needs sustained overuse of more than 10 ms and a non-falling trend") {
    OveruseDetector d;
    Timestamp now = Timestamp::millis(1000);
    const TimeDelta dt = TimeDelta::millis(5);
    // One sample above the threshold: only 2.5 ms counted, and a single sample is never enough.
    CHECK(d.detect(20, 0.1, 100, dt, now) == BandwidthUsage::Normal);
    now += dt;
    CHECK(d.detect(20, 0.1, 100, dt, now) == BandwidthUsage::Normal);  // 7.5 ms
    now += dt;
    CHECK(d.detect(20, 0.1, 100, dt, now) == BandwidthUsage::Overusing);  // 12.5 ms, 3 samples
    // Below -threshold: underusing; in between: normal.
    now += dt;
    CHECK(d.detect(-20, -0.1, 100, dt, now) == BandwidthUsage::Underusing);
    now += dt;
    CHECK(d.detect(0, 0, 100, dt, now) == BandwidthUsage::Normal);
}

TEST_CASE("overuse detector: a falling trend does not trigger overuse") {
    OveruseDetector d;
    Timestamp now = Timestamp::millis(1000);
    double trend = 0.5;
    for (int i = 0; i < 10; ++i) {
        trend -= 0.01;
        CHECK(d.detect(30, trend, 100, TimeDelta::millis(5), now) != BandwidthUsage::Overusing);
        now += TimeDelta::millis(5);
    }
}

TEST_CASE("overuse detector: fewer than two deltas is always normal") {
    OveruseDetector d;
    CHECK(d.detect(1000, 1, 1, TimeDelta::millis(50), Timestamp::millis(1)) == BandwidthUsage::Normal);
}

TEST_CASE("adaptive threshold rises slowly with k_up, falls fast with k_down, and stays within [6, 600]") {
    OveruseDetector d;
    Timestamp now = Timestamp::millis(0);
    d.detect(0, 0, 100, TimeDelta::millis(5), now);  // first call only stamps the time
    const double t0 = d.threshold();
    CHECK(t0 == doctest::Approx(12.5).epsilon(0.01));
    now += TimeDelta::millis(10);
    d.detect(20, 0.01, 100, TimeDelta::millis(10), now);  // within +15 of the threshold: adapts up
    CHECK(d.threshold() == doctest::Approx(t0 + 0.0087 * (20 - t0) * 10));
    const double t1 = d.threshold();
    now += TimeDelta::millis(10);
    d.detect(2, 0.01, 100, TimeDelta::millis(10), now);
    CHECK(d.threshold() == doctest::Approx(std::max(6.0, t1 + 0.039 * (2 - t1) * 10)));
    // A spike far above the threshold is ignored.
    const double t2 = d.threshold();
    now += TimeDelta::millis(10);
    d.detect(500, 0.01, 100, TimeDelta::millis(10), now);
    CHECK(d.threshold() == t2);
    for (int i = 0; i < 1000; ++i) {
        now += TimeDelta::millis(100);
        d.detect(0, 0, 100, TimeDelta::millis(10), now);
    }
    CHECK(d.threshold() == 6.0);
}

TEST_CASE("inter-arrival: 5 ms send groups and burst merging") {
    InterArrival ia;
    const Timestamp t0 = Timestamp::millis(1000);
    auto feed = [&](int send_ms, int arrival_ms) {
        return ia.compute_deltas(t0 + TimeDelta::millis(send_ms), t0 + TimeDelta::millis(100 + arrival_ms),
                                 t0 + TimeDelta::millis(100 + arrival_ms), 1000);
    };
    // Group 1: sent at 0,2,4 ms. Group 2: 10, 12. Group 3 starts at 20.
    CHECK_FALSE(feed(0, 0));
    CHECK_FALSE(feed(2, 2));
    CHECK_FALSE(feed(4, 4));
    CHECK_FALSE(feed(10, 12));  // first group complete, but no previous group to compare with
    CHECK_FALSE(feed(12, 15));
    auto d = feed(20, 22);
    REQUIRE(d);
    CHECK(d->send_delta == TimeDelta::millis(8));      // 12 - 4
    CHECK(d->arrival_delta == TimeDelta::millis(11));  // 15 - 4
    CHECK(d->size_delta == -1000);
    // A packet sent 10 ms later that arrives 1 ms after the previous one was queued behind it: same group.
    CHECK_FALSE(feed(30, 23));
    auto d2 = feed(40, 45);
    REQUIRE(d2);
    CHECK(d2->send_delta == TimeDelta::millis(18));  // group 3 ends with the burst packet sent at 30
    CHECK(d2->arrival_delta == TimeDelta::millis(8));
}

TEST_CASE("inter-arrival ignores packets sent before the current group") {
    InterArrival ia;
    const Timestamp t0 = Timestamp::millis(0);
    CHECK_FALSE(ia.compute_deltas(t0 + TimeDelta::millis(10), t0 + TimeDelta::millis(50), t0, 100));
    CHECK_FALSE(ia.compute_deltas(t0 + TimeDelta::millis(0), t0 + TimeDelta::millis(51), t0, 100));
}
