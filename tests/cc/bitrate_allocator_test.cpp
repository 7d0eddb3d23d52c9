// The allocator alone: audio first, simulcast layers lowest first with min/target/max, hysteresis, several streams.
#include "cc/bitrate_allocator.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::cc;

namespace {

AllocationStream simulcast3() {
    AllocationStream s;
    for (size_t i = 0; i < 3; ++i) s.layers.push_back(default_simulcast_layer(i, 3));
    return s;
}

AllocationStream audio() { return AllocationStream{true, {default_audio_layer()}}; }

int64_t kbps(DataRate r) { return r.kbps(); }

} // namespace

TEST_CASE("bitrate allocator: libwebrtc's defaults for three layers") {
    CHECK(default_simulcast_layer(0, 3).min == DataRate::kbps(30));
    CHECK(default_simulcast_layer(0, 3).max == DataRate::kbps(200));
    CHECK(default_simulcast_layer(1, 3).min == DataRate::kbps(150));
    CHECK(default_simulcast_layer(1, 3).max == DataRate::kbps(700));
    CHECK(default_simulcast_layer(2, 3).min == DataRate::kbps(600));
    CHECK(default_simulcast_layer(2, 3).max == DataRate::kbps(2500));
    // Two layers: the top two of the three.
    CHECK(default_simulcast_layer(0, 2).max == DataRate::kbps(700));
    CHECK(default_simulcast_layer(1, 2).max == DataRate::kbps(2500));
}

TEST_CASE("bitrate allocator: audio first, then the layers lowest first, each on once its minimum fits") {
    BitrateAllocator a;
    const std::vector<AllocationStream> streams{audio(), simulcast3()};

    // 100 kbps: audio 64, the lowest layer the rest (36: above its 30 kbps minimum).
    auto r = a.allocate(DataRate::kbps(100), streams);
    REQUIRE(r.size() == 2);
    CHECK(kbps(r[0][0]) == 64);
    CHECK(kbps(r[1][0]) == 36);
    CHECK(r[1][1].is_zero());
    CHECK(r[1][2].is_zero());

    // 64 + 150 (layer 0 target) + 150 * 1.15 (layer 1's minimum with hysteresis) = 386.5: below, layer 1 is off and
    // layer 0 stops at its max.
    r = a.allocate(DataRate::kbps(380), streams);
    CHECK(kbps(r[1][0]) == 200);
    CHECK(r[1][1].is_zero());
    r = a.allocate(DataRate::kbps(400), streams);
    CHECK(kbps(r[1][0]) == 150);
    CHECK(kbps(r[1][1]) == 186);
    CHECK(r[1][2].is_zero());

    // Up to 64 + 150 + 500 + 600 * 1.15 = 1404 the top layer stays off; layer 1 stops at its max (700).
    r = a.allocate(DataRate::kbps(1400), streams);
    CHECK(kbps(r[1][1]) == 700);
    CHECK(r[1][2].is_zero());
    r = a.allocate(DataRate::kbps(1500), streams);
    CHECK(kbps(r[1][0]) == 150);
    CHECK(kbps(r[1][1]) == 500);
    CHECK(kbps(r[1][2]) == 786);

    // Plenty: every layer at its cap, audio at its cap; nothing is given beyond the maxima.
    r = a.allocate(DataRate::kbps(10000), streams);
    CHECK(kbps(r[0][0]) == 64);
    CHECK(kbps(r[1][0]) == 150);
    CHECK(kbps(r[1][1]) == 500);
    CHECK(kbps(r[1][2]) == 2500);
}

TEST_CASE("bitrate allocator: a layer that is on stays on down to its minimum; off, it needs the hysteresis") {
    BitrateAllocator a;
    const std::vector<AllocationStream> streams{simulcast3()};
    CHECK(a.allocate(DataRate::kbps(1400), streams)[0][2] == DataRate::kbps(750)); // 150 + 500 + 750
    // Down to 150 + 500 + 600 = 1250 the top layer keeps its minimum.
    CHECK(a.allocate(DataRate::kbps(1260), streams)[0][2] == DataRate::kbps(610));
    CHECK(a.allocate(DataRate::kbps(1240), streams)[0][2].is_zero());
    // Off now: 1300 (>= 1250, < 1340) does not bring it back; 1350 does.
    CHECK(a.allocate(DataRate::kbps(1300), streams)[0][2].is_zero());
    CHECK(a.allocate(DataRate::kbps(1350), streams)[0][2] == DataRate::kbps(700));
}

TEST_CASE("bitrate allocator: the lowest layer and audio keep their minimum whatever the target") {
    BitrateAllocator a;
    auto r = a.allocate(DataRate::kbps(10), {audio(), simulcast3()});
    CHECK(kbps(r[0][0]) == 10); // audio between its min (6) and what there is
    CHECK(kbps(r[1][0]) == 30); // the lowest layer's minimum, even with nothing left
    CHECK(r[1][1].is_zero());
    r = a.allocate(DataRate::zero(), {audio()});
    CHECK(kbps(r[0][0]) == 6);
}

TEST_CASE("bitrate allocator: inactive encodings get nothing and do not block the ones above") {
    BitrateAllocator a;
    AllocationStream s = simulcast3();
    s.layers[0].active = false;
    auto r = a.allocate(DataRate::kbps(1000), {s});
    CHECK(r[0][0].is_zero());
    // 500 + 600 * 1.15 = 1190 > 1000: the top layer is off, so layer 1 is the highest on and takes up to its max.
    CHECK(kbps(r[0][1]) == 700);
    CHECK(r[0][2].is_zero());
    r = a.allocate(DataRate::kbps(1200), {s});
    CHECK(kbps(r[0][1]) == 500);
    CHECK(kbps(r[0][2]) == 700);
}

TEST_CASE("bitrate allocator: settable bounds per encoding") {
    BitrateAllocator a;
    AllocationStream s = simulcast3();
    s.layers[2].min = DataRate::kbps(300);
    s.layers[2].max = DataRate::kbps(900);
    auto r = a.allocate(DataRate::kbps(1100), {s});
    CHECK(kbps(r[0][2]) == 450);
    r = a.allocate(DataRate::kbps(5000), {s});
    CHECK(kbps(r[0][2]) == 900);
}

TEST_CASE("bitrate allocator: two video streams share what audio leaves; unused share passes on") {
    BitrateAllocator a;
    AllocationStream capped{false, {default_video_layer()}};
    capped.layers[0].max = DataRate::kbps(300);
    AllocationStream open{false, {default_video_layer()}};
    auto r = a.allocate(DataRate::kbps(2064), {audio(), capped, open});
    CHECK(kbps(r[0][0]) == 64);
    CHECK(kbps(r[1][0]) == 300);  // half of 2000 would be 1000; it stops at 300
    CHECK(kbps(r[2][0]) == 1700); // and the rest goes to the other
    r = a.allocate(DataRate::kbps(264), {audio(), open, open});
    CHECK(kbps(r[1][0]) == 100);
    CHECK(kbps(r[2][0]) == 100);
}
