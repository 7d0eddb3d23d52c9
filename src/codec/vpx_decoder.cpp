#include "codec/vpx_decoder.hpp"

#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include <cstring>
#include <string>

namespace rtcpp::codec {

struct VpxDecoder::Impl {
    vpx_codec_ctx_t ctx{};
    bool initialized = false;
    ~Impl() {
        if (initialized) vpx_codec_destroy(&ctx);
    }
};

VpxDecoder::VpxDecoder(std::unique_ptr<Impl> impl, VideoCodec codec) : impl_(std::move(impl)), codec_(codec) {}
VpxDecoder::~VpxDecoder() = default;

Result<std::unique_ptr<VpxDecoder>> VpxDecoder::create(VideoCodec codec) {
    if (codec != VideoCodec::VP8 && codec != VideoCodec::VP9)
        return make_error(ErrorCategory::NotSupportedError, "codec", "libvpx decodes VP8 and VP9 only");
    vpx_codec_iface_t* iface = codec == VideoCodec::VP8 ? vpx_codec_vp8_dx() : vpx_codec_vp9_dx();
    auto impl = std::make_unique<Impl>();
    vpx_codec_dec_cfg_t cfg{};
    cfg.threads = 1;
    if (auto err = vpx_codec_dec_init(&impl->ctx, iface, &cfg, 0); err != VPX_CODEC_OK)
        return make_error(ErrorCategory::OperationError, "codec",
                          std::string("vpx_codec_dec_init: ") + vpx_codec_err_to_string(err));
    impl->initialized = true;
    return std::unique_ptr<VpxDecoder>(new VpxDecoder(std::move(impl), codec));
}

Result<std::optional<I420Image>> VpxDecoder::decode(std::span<const uint8_t> frame) {
    if (frame.empty()) {
        ++errors_;
        return make_error(ErrorCategory::DataError, "codec", "empty video frame");
    }
    if (auto err = vpx_codec_decode(&impl_->ctx, frame.data(), static_cast<unsigned int>(frame.size()), nullptr, 0);
        err != VPX_CODEC_OK) {
        ++errors_;
        std::string msg = std::string("vpx_codec_decode: ") + vpx_codec_err_to_string(err);
        if (const char* detail = vpx_codec_error_detail(&impl_->ctx)) msg += std::string(" (") + detail + ")";
        return make_error(ErrorCategory::DataError, "codec", msg);
    }
    std::optional<I420Image> shown;
    vpx_codec_iter_t iter = nullptr;
    while (vpx_image_t* img = vpx_codec_get_frame(&impl_->ctx, &iter)) {
        if (img->fmt != VPX_IMG_FMT_I420 && img->fmt != VPX_IMG_FMT_YV12) {
            ++errors_;
            return make_error(ErrorCategory::NotSupportedError, "codec", "decoded picture is not 8-bit 4:2:0");
        }
        const int w = static_cast<int>(img->d_w);
        const int h = static_cast<int>(img->d_h);
        I420Image out(w, h);
        // YV12 stores V before U.
        const int u_plane = img->fmt == VPX_IMG_FMT_YV12 ? VPX_PLANE_V : VPX_PLANE_U;
        const int v_plane = img->fmt == VPX_IMG_FMT_YV12 ? VPX_PLANE_U : VPX_PLANE_V;
        auto copy_plane = [](std::span<uint8_t> dst, int dw, int dh, const unsigned char* src, int stride) {
            for (int row = 0; row < dh; ++row)
                std::memcpy(dst.data() + static_cast<size_t>(row) * static_cast<size_t>(dw),
                            src + static_cast<ptrdiff_t>(row) * stride, static_cast<size_t>(dw));
        };
        copy_plane(out.y(), w, h, img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y]);
        copy_plane(out.u(), out.chroma_width(), out.chroma_height(), img->planes[u_plane], img->stride[u_plane]);
        copy_plane(out.v(), out.chroma_width(), out.chroma_height(), img->planes[v_plane], img->stride[v_plane]);
        ++frames_decoded_;
        shown = std::move(out);
    }
    return shown;
}

} // namespace rtcpp::codec
