// Raw media the codec helpers exchange with the examples: I420 pictures and interleaved 16-bit PCM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace rtcpp::codec {

/// A planar 4:2:0 picture with tightly packed planes (Y stride = width, U/V stride = (width + 1) / 2).
struct I420Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> data;

    I420Image() = default;
    I420Image(int w, int h);

    int chroma_width() const { return (width + 1) / 2; }
    int chroma_height() const { return (height + 1) / 2; }
    size_t y_size() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
    size_t chroma_size() const { return static_cast<size_t>(chroma_width()) * static_cast<size_t>(chroma_height()); }

    std::span<uint8_t> y() { return {data.data(), y_size()}; }
    std::span<uint8_t> u() { return {data.data() + y_size(), chroma_size()}; }
    std::span<uint8_t> v() { return {data.data() + y_size() + chroma_size(), chroma_size()}; }
    std::span<const uint8_t> y() const { return {data.data(), y_size()}; }
    std::span<const uint8_t> u() const { return {data.data() + y_size(), chroma_size()}; }
    std::span<const uint8_t> v() const { return {data.data() + y_size() + chroma_size(), chroma_size()}; }
};

/// PSNR of the luma plane in dB (99 for identical planes); negative if the sizes differ.
double psnr_y(const I420Image& a, const I420Image& b);

} // namespace rtcpp::codec
