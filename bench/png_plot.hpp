// A tiny PNG writer (stored deflate blocks, own CRC-32 and Adler-32: no zlib needed) and a line-plot raster, for
// the benchmark's figures. Deliberately minimal: no text rendering; axes carry tick marks and the ranges are
// printed by the caller.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace rtcpp::bench {

struct Rgb {
    uint8_t r, g, b;
};

class Raster {
public:
    Raster(int width, int height, Rgb background = {255, 255, 255})
        : width_(width), height_(height), pixels_(static_cast<size_t>(width * height), background) {}

    int width() const { return width_; }
    int height() const { return height_; }

    void set(int x, int y, Rgb c) {
        if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
        pixels_[static_cast<size_t>(y * width_ + x)] = c;
    }

    /// Bresenham, `thickness` pixels wide (square pen).
    void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1) {
        const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
        const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
        int err = dx + dy;
        for (;;) {
            for (int i = 0; i < thickness; ++i)
                for (int j = 0; j < thickness; ++j) set(x0 + i - thickness / 2, y0 + j - thickness / 2, c);
            if (x0 == x1 && y0 == y1) break;
            const int e2 = 2 * err;
            if (e2 >= dy) {
                err += dy;
                x0 += sx;
            }
            if (e2 <= dx) {
                err += dx;
                y0 += sy;
            }
        }
    }

    bool write_png(const std::string& path) const {
        std::vector<uint8_t> raw;
        raw.reserve(static_cast<size_t>(height_ * (width_ * 3 + 1)));
        for (int y = 0; y < height_; ++y) {
            raw.push_back(0);  // filter: none
            for (int x = 0; x < width_; ++x) {
                const Rgb p = pixels_[static_cast<size_t>(y * width_ + x)];
                raw.push_back(p.r);
                raw.push_back(p.g);
                raw.push_back(p.b);
            }
        }
        std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        std::vector<uint8_t> ihdr;
        put32(ihdr, static_cast<uint32_t>(width_));
        put32(ihdr, static_cast<uint32_t>(height_));
        ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no filter method, no interlace
        chunk(png, "IHDR", ihdr);
        chunk(png, "IDAT", zlib_stored(raw));
        chunk(png, "IEND", {});
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
        return static_cast<bool>(f);
    }

    static uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0) {
        static const std::array<uint32_t, 256> table = [] {
            std::array<uint32_t, 256> t{};
            for (uint32_t i = 0; i < 256; ++i) {
                uint32_t c = i;
                for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }();
        crc = ~crc;
        for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
        return ~crc;
    }

    static uint32_t adler32(const std::vector<uint8_t>& data) {
        uint32_t a = 1, b = 0;
        for (uint8_t v : data) {
            a = (a + v) % 65521;
            b = (b + a) % 65521;
        }
        return (b << 16) | a;
    }

private:
    static void put32(std::vector<uint8_t>& out, uint32_t v) {
        out.push_back(static_cast<uint8_t>(v >> 24));
        out.push_back(static_cast<uint8_t>(v >> 16));
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    }

    static void chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
        put32(png, static_cast<uint32_t>(data.size()));
        const size_t start = png.size();
        png.insert(png.end(), type, type + 4);
        png.insert(png.end(), data.begin(), data.end());
        put32(png, crc32(png.data() + start, png.size() - start));
    }

    /// A zlib stream made of uncompressed ("stored") deflate blocks of at most 65535 bytes.
    static std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
        std::vector<uint8_t> z = {0x78, 0x01};
        size_t pos = 0;
        do {
            const size_t len = std::min<size_t>(65535, raw.size() - pos);
            const bool final = pos + len == raw.size();
            z.push_back(final ? 1 : 0);
            z.push_back(static_cast<uint8_t>(len & 0xff));
            z.push_back(static_cast<uint8_t>(len >> 8));
            z.push_back(static_cast<uint8_t>(~len & 0xff));
            z.push_back(static_cast<uint8_t>((~len >> 8) & 0xff));
            z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
                     raw.begin() + static_cast<std::ptrdiff_t>(pos + len));
            pos += len;
        } while (pos < raw.size());
        put32(z, adler32(raw));
        return z;
    }

    int width_, height_;
    std::vector<Rgb> pixels_;
};

struct Line {
    std::vector<std::pair<double, double>> points;
    Rgb color;
    int thickness = 1;
};

/// Draws lines into a plot area with a frame, grid lines at "nice" steps, and returns the raster.
inline Raster plot(const std::vector<Line>& lines, double x_max, double y_max, int width = 1000, int height = 420) {
    Raster r(width, height);
    const int left = 40, right = width - 10, top = 10, bottom = height - 30;
    auto px = [&](double x) { return left + static_cast<int>(std::lround(x / x_max * (right - left))); };
    auto py = [&](double y) { return bottom - static_cast<int>(std::lround(std::min(y, y_max) / y_max * (bottom - top))); };
    const Rgb grid{225, 225, 225}, axis{0, 0, 0};
    auto nice = [](double range) {
        const double raw = range / 8;
        const double p = std::pow(10, std::floor(std::log10(raw)));
        for (double m : {1.0, 2.0, 5.0, 10.0})
            if (raw <= m * p) return m * p;
        return 10 * p;
    };
    const double xs = nice(x_max), ys = nice(y_max);
    for (double x = 0; x <= x_max + 1e-9; x += xs) {
        r.line(px(x), top, px(x), bottom, grid);
        r.line(px(x), bottom, px(x), bottom + 5, axis);
    }
    for (double y = 0; y <= y_max + 1e-9; y += ys) {
        r.line(left, py(y), right, py(y), grid);
        r.line(left - 5, py(y), left, py(y), axis);
    }
    r.line(left, top, left, bottom, axis);
    r.line(left, bottom, right, bottom, axis);
    for (const auto& l : lines)
        for (size_t i = 1; i < l.points.size(); ++i)
            r.line(px(l.points[i - 1].first), py(l.points[i - 1].second), px(l.points[i].first),
                   py(l.points[i].second), l.color, l.thickness);
    return r;
}

} // namespace rtcpp::bench
