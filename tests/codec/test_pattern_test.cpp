#include "codec/test_pattern.hpp"

#include <doctest/doctest.h>

using namespace rtcpp::codec;

TEST_CASE("test pattern: the counter reads back from the exact picture at several sizes") {
    for (auto [w, h] : {std::pair{640, 360}, std::pair{320, 240}, std::pair{176, 144}, std::pair{1280, 720}}) {
        TestPattern p(w, h);
        for (uint64_t n : {0ull, 7ull, 123456ull, 999999ull, 1000001ull}) {
            const auto img = p.render(n);
            CHECK(img.width == w);
            CHECK(img.data.size() == static_cast<size_t>(w * h + 2 * ((w + 1) / 2) * ((h + 1) / 2)));
            const auto read = read_frame_counter(img);
            REQUIRE(read.has_value());
            CHECK(*read == n % 1000000);
        }
    }
}

TEST_CASE("test pattern: the picture moves and next() counts up") {
    TestPattern p(320, 180);
    const auto a = p.next();
    const auto b = p.next();
    CHECK(read_frame_counter(a) == 0u);
    CHECK(read_frame_counter(b) == 1u);
    // Outside the counter box the gradient shifts between frames.
    size_t differing = 0;
    for (size_t i = a.y_size() / 2; i < a.y_size(); ++i) differing += a.y()[i] != b.y()[i];
    CHECK(differing > a.y_size() / 4);
    CHECK(psnr_y(a, a) == 99.0);
    CHECK(psnr_y(a, b) < 40.0);
}

TEST_CASE("test pattern: a picture without the counter is not read as one") {
    I420Image flat(320, 180);
    std::fill(flat.data.begin(), flat.data.end(), uint8_t{128});
    CHECK_FALSE(read_frame_counter(flat).has_value());
    I420Image black(320, 180);
    CHECK_FALSE(read_frame_counter(black).has_value());
    CHECK_FALSE(read_frame_counter(I420Image{}).has_value());
}

TEST_CASE("tone generator: 440 Hz sine, continuous across calls, same value in each channel") {
    ToneGenerator g(440.0, 48000, 2, 0.5);
    auto a = g.next(480);
    auto b = g.next(480);
    REQUIRE(a.size() == 960);
    a.insert(a.end(), b.begin(), b.end());
    int crossings = 0;
    int16_t peak = 0;
    for (size_t i = 0; i < a.size(); i += 2) {
        CHECK(a[i] == a[i + 1]);
        peak = std::max<int16_t>(peak, a[i]);
        if (i >= 2 && (a[i - 2] < 0) != (a[i] < 0)) ++crossings;
    }
    // 960 samples = 20 ms of 440 Hz = 8.8 periods, about 17-18 sign changes.
    CHECK(crossings >= 17);
    CHECK(crossings <= 18);
    CHECK(peak > 16000);
    CHECK(peak <= 16384);
}
