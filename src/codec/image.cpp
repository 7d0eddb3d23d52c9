#include "codec/image.hpp"

#include <cmath>

namespace rtcpp::codec {

I420Image::I420Image(int w, int h) : width(w), height(h) {
    data.resize(y_size() + 2 * chroma_size());
}

double psnr_y(const I420Image& a, const I420Image& b) {
    if (a.width != b.width || a.height != b.height || a.y_size() == 0) return -1.0;
    const auto ya = a.y();
    const auto yb = b.y();
    double sse = 0;
    for (size_t i = 0; i < ya.size(); ++i) {
        const double d = static_cast<double>(ya[i]) - static_cast<double>(yb[i]);
        sse += d * d;
    }
    if (sse == 0) return 99.0;
    const double mse = sse / static_cast<double>(ya.size());
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

} // namespace rtcpp::codec
