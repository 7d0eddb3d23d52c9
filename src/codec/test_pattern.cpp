#include "codec/test_pattern.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numbers>

namespace rtcpp::codec {

namespace {

constexpr int kGlyphW = 5;
constexpr int kGlyphH = 7;
// A 5x7 bitmap font for the ten digits, one row per byte, bit 4 = leftmost column.
constexpr std::array<std::array<uint8_t, kGlyphH>, 10> kFont = {{
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, // 0
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, // 1
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, // 2
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, // 3
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, // 4
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, // 5
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, // 6
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, // 7
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, // 8
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, // 9
}};

// Where the counter goes: a black box in the top-left corner holding the digits, each font pixel a
// scale x scale block, one blank column between digits and a one-block border.
struct CounterLayout {
    int scale = 0;
    int x0 = 0;
    int y0 = 0;
    int box_w = 0;
    int box_h = 0;
    int digit_x(int i) const { return x0 + scale + i * (kGlyphW + 1) * scale; }
    int digit_y() const { return y0 + scale; }
};

CounterLayout layout_for(int width, int height) {
    constexpr int cols = TestPattern::kCounterDigits * (kGlyphW + 1) + 1;
    constexpr int rows = kGlyphH + 2;
    CounterLayout l;
    // Up to a third of the height; small pictures still get one pixel per font pixel.
    l.scale = std::max(1, std::min(height / (3 * rows), (width - 2) / (cols + 1)));
    l.x0 = l.scale;
    l.y0 = l.scale;
    l.box_w = cols * l.scale;
    l.box_h = rows * l.scale;
    return l;
}

// A triangle wave over 0..255 with period 512, so the gradient moves without a hard edge.
uint8_t triangle(int64_t v) {
    const int64_t m = ((v % 512) + 512) % 512;
    return static_cast<uint8_t>(m < 256 ? m : 511 - m);
}

uint32_t counter_modulus() {
    uint32_t m = 1;
    for (int i = 0; i < TestPattern::kCounterDigits; ++i) m *= 10;
    return m;
}

} // namespace

TestPattern::TestPattern(int width, int height) : width_(width), height_(height) {}

I420Image TestPattern::render(uint64_t index) const {
    I420Image img(width_, height_);
    const auto t = static_cast<int64_t>(index % 100000);
    auto y = img.y();
    for (int row = 0; row < height_; ++row)
        for (int col = 0; col < width_; ++col)
            y[static_cast<size_t>(row) * static_cast<size_t>(width_) + static_cast<size_t>(col)] =
                static_cast<uint8_t>(16 + triangle(2 * col + row + 6 * t) * 219 / 255);
    auto u = img.u();
    auto v = img.v();
    const int cw = img.chroma_width();
    for (int row = 0; row < img.chroma_height(); ++row)
        for (int col = 0; col < cw; ++col) {
            const size_t i = static_cast<size_t>(row) * static_cast<size_t>(cw) + static_cast<size_t>(col);
            u[i] = static_cast<uint8_t>(64 + triangle(3 * row + 2 * t) / 2);
            v[i] = static_cast<uint8_t>(64 + triangle(3 * col - 3 * t) / 2);
        }

    const CounterLayout l = layout_for(width_, height_);
    auto fill = [&](int x, int yy, int w, int h, uint8_t luma) {
        for (int r = std::max(0, yy); r < std::min(height_, yy + h); ++r)
            for (int c = std::max(0, x); c < std::min(width_, x + w); ++c)
                y[static_cast<size_t>(r) * static_cast<size_t>(width_) + static_cast<size_t>(c)] = luma;
        for (int r = std::max(0, yy / 2); r < std::min(img.chroma_height(), (yy + h + 1) / 2); ++r)
            for (int c = std::max(0, x / 2); c < std::min(cw, (x + w + 1) / 2); ++c) {
                const size_t i = static_cast<size_t>(r) * static_cast<size_t>(cw) + static_cast<size_t>(c);
                u[i] = 128;
                v[i] = 128;
            }
    };
    fill(l.x0, l.y0, l.box_w, l.box_h, 16);
    uint32_t value = static_cast<uint32_t>(index % counter_modulus());
    for (int d = kCounterDigits - 1; d >= 0; --d) {
        const auto& glyph = kFont[value % 10];
        value /= 10;
        for (int gr = 0; gr < kGlyphH; ++gr)
            for (int gc = 0; gc < kGlyphW; ++gc)
                if (glyph[static_cast<size_t>(gr)] & (0x10 >> gc))
                    fill(l.digit_x(d) + gc * l.scale, l.digit_y() + gr * l.scale, l.scale, l.scale, 235);
    }
    return img;
}

std::optional<uint32_t> read_frame_counter(const I420Image& image) {
    if (image.width <= 0 || image.height <= 0 || image.data.size() < image.y_size()) return std::nullopt;
    const CounterLayout l = layout_for(image.width, image.height);
    if (l.x0 + l.box_w > image.width || l.y0 + l.box_h > image.height) return std::nullopt;
    const auto y = image.y();
    // The mean luma of the middle of a font pixel's block: its edges are where the codec smears.
    auto block_on = [&](int bx, int by) {
        const int inset = l.scale / 4;
        const int n = std::max(1, l.scale - 2 * inset);
        int sum = 0;
        for (int r = by + inset; r < by + inset + n; ++r)
            for (int c = bx + inset; c < bx + inset + n; ++c)
                sum += y[static_cast<size_t>(r) * static_cast<size_t>(image.width) + static_cast<size_t>(c)];
        return sum / (n * n) > 125;
    };
    uint32_t value = 0;
    for (int d = 0; d < TestPattern::kCounterDigits; ++d) {
        std::array<uint8_t, kGlyphH> seen{};
        for (int gr = 0; gr < kGlyphH; ++gr)
            for (int gc = 0; gc < kGlyphW; ++gc)
                if (block_on(l.digit_x(d) + gc * l.scale, l.digit_y() + gr * l.scale))
                    seen[static_cast<size_t>(gr)] = static_cast<uint8_t>(seen[static_cast<size_t>(gr)] | (0x10 >> gc));
        int best = -1;
        int best_distance = kGlyphW * kGlyphH + 1;
        for (int g = 0; g < 10; ++g) {
            int distance = 0;
            for (int gr = 0; gr < kGlyphH; ++gr)
                distance += std::popcount(static_cast<unsigned>(seen[static_cast<size_t>(gr)] ^
                                                                kFont[static_cast<size_t>(g)][static_cast<size_t>(gr)]));
            if (distance < best_distance) {
                best_distance = distance;
                best = g;
            }
        }
        // The closest two glyphs (0 and 8) differ in 6 pixels, so up to 2 smeared pixels still decode unambiguously.
        if (best_distance > 2) return std::nullopt;
        value = value * 10 + static_cast<uint32_t>(best);
    }
    return value;
}

ToneGenerator::ToneGenerator(double frequency_hz, int sample_rate, int channels, double amplitude)
    : frequency_(frequency_hz), sample_rate_(sample_rate), channels_(std::max(1, channels)),
      amplitude_(std::clamp(amplitude, 0.0, 1.0)) {}

std::vector<int16_t> ToneGenerator::next(int samples_per_channel) {
    std::vector<int16_t> out(static_cast<size_t>(std::max(0, samples_per_channel)) * static_cast<size_t>(channels_));
    for (int i = 0; i < samples_per_channel; ++i) {
        // From the absolute sample index, so long runs do not accumulate phase error.
        const double phase = 2.0 * std::numbers::pi * frequency_ * static_cast<double>(position_++) /
                             static_cast<double>(sample_rate_);
        const auto s = static_cast<int16_t>(std::lround(amplitude_ * 32767.0 * std::sin(phase)));
        for (int c = 0; c < channels_; ++c) out[static_cast<size_t>(i * channels_ + c)] = s;
    }
    return out;
}

} // namespace rtcpp::codec
