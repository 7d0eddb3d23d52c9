#include "codec/vpx_encoder.hpp"

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace rtcpp::codec {

std::string_view to_string(VideoCodec c) {
    switch (c) {
    case VideoCodec::VP8: return "VP8";
    case VideoCodec::VP9: return "VP9";
    case VideoCodec::H264: return "H264";
    }
    return "?";
}

std::optional<VideoCodec> video_codec_from_name(std::string_view name) {
    std::string n(name);
    for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (n == "VP8") return VideoCodec::VP8;
    if (n == "VP9") return VideoCodec::VP9;
    if (n == "H264") return VideoCodec::H264;
    return std::nullopt;
}

struct VpxEncoder::Impl {
    vpx_codec_ctx_t ctx{};
    vpx_codec_enc_cfg_t cfg{};
    bool initialized = false;
    ~Impl() {
        if (initialized) vpx_codec_destroy(&ctx);
    }
};

namespace {

Error vpx_error(const char* what, vpx_codec_ctx_t* ctx, vpx_codec_err_t err) {
    std::string msg = std::string(what) + ": " + vpx_codec_err_to_string(err);
    if (ctx) {
        if (const char* detail = vpx_codec_error_detail(ctx)) msg += std::string(" (") + detail + ")";
    }
    return make_error(ErrorCategory::OperationError, "codec", msg);
}

unsigned int to_kbps(DataRate r) { return static_cast<unsigned int>(std::max<int64_t>(r.kbps(), 10)); }

} // namespace

VpxEncoder::VpxEncoder(std::unique_ptr<Impl> impl, const VpxEncoderConfig& config)
    : impl_(std::move(impl)), config_(config) {}

VpxEncoder::~VpxEncoder() = default;

Result<std::unique_ptr<VpxEncoder>> VpxEncoder::create(const VpxEncoderConfig& config) {
    if (config.width <= 0 || config.height <= 0 || config.width > 16384 || config.height > 16384 || config.fps <= 0)
        return make_error(ErrorCategory::RangeError, "codec", "bad VPX encoder size or frame rate");
    if (config.codec != VideoCodec::VP8 && config.codec != VideoCodec::VP9)
        return make_error(ErrorCategory::NotSupportedError, "codec", "libvpx encodes VP8 and VP9 only");
    vpx_codec_iface_t* iface = config.codec == VideoCodec::VP8 ? vpx_codec_vp8_cx() : vpx_codec_vp9_cx();
    auto impl = std::make_unique<Impl>();
    if (auto err = vpx_codec_enc_config_default(iface, &impl->cfg, 0); err != VPX_CODEC_OK)
        return vpx_error("vpx_codec_enc_config_default", nullptr, err);
    auto& cfg = impl->cfg;
    cfg.g_w = static_cast<unsigned int>(config.width);
    cfg.g_h = static_cast<unsigned int>(config.height);
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = config.fps;
    cfg.g_threads = 1;
    cfg.g_pass = VPX_RC_ONE_PASS;
    // Real time: no lookahead (every input gives its output at once), constant bitrate, quick rate recovery.
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = to_kbps(config.bitrate);
    cfg.rc_min_quantizer = 2;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    // A receiver counts frames; dropping them to meet the rate would look like loss.
    cfg.rc_dropframe_thresh = 0;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = static_cast<unsigned int>(std::max(1, config.keyframe_interval));
    if (auto err = vpx_codec_enc_init(&impl->ctx, iface, &cfg, 0); err != VPX_CODEC_OK)
        return vpx_error("vpx_codec_enc_init", nullptr, err);
    impl->initialized = true;
    if (config.codec == VideoCodec::VP8) {
        vpx_codec_control(&impl->ctx, VP8E_SET_CPUUSED, -6);
        vpx_codec_control(&impl->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
        vpx_codec_control(&impl->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
        vpx_codec_control(&impl->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
    } else {
        vpx_codec_control(&impl->ctx, VP8E_SET_CPUUSED, 7);
        vpx_codec_control(&impl->ctx, VP9E_SET_AQ_MODE, 3);
        vpx_codec_control(&impl->ctx, VP9E_SET_TILE_COLUMNS, 0);
        vpx_codec_control(&impl->ctx, VP9E_SET_FRAME_PARALLEL_DECODING, 0);
        vpx_codec_control(&impl->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
    }
    return std::unique_ptr<VpxEncoder>(new VpxEncoder(std::move(impl), config));
}

Result<std::vector<EncodedFrame>> VpxEncoder::encode(const I420Image& image, bool force_keyframe) {
    if (image.width != config_.width || image.height != config_.height ||
        image.data.size() < image.y_size() + 2 * image.chroma_size())
        return make_error(ErrorCategory::RangeError, "codec", "picture size differs from the encoder's");
    vpx_image_t img;
    // libvpx only reads the planes; the const_cast is the C API's.
    if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, static_cast<unsigned int>(image.width),
                      static_cast<unsigned int>(image.height), 1, const_cast<uint8_t*>(image.data.data())))
        return make_error(ErrorCategory::OperationError, "codec", "vpx_img_wrap failed");
    // vpx_img_wrap assumes chroma stride = (stride_y + 1) / 2 with planes back to back, which is I420Image's layout.
    const vpx_enc_frame_flags_t flags = force_keyframe ? VPX_EFLAG_FORCE_KF : 0;
    const vpx_codec_pts_t pts = next_pts_++;
    if (auto err = vpx_codec_encode(&impl_->ctx, &img, pts, 1, flags, VPX_DL_REALTIME); err != VPX_CODEC_OK)
        return vpx_error("vpx_codec_encode", &impl_->ctx, err);
    std::vector<EncodedFrame> out;
    vpx_codec_iter_t iter = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&impl_->ctx, &iter)) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        EncodedFrame f;
        const auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
        f.data.assign(p, p + pkt->data.frame.sz);
        f.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
        f.pts = pkt->data.frame.pts;
        ++frames_encoded_;
        if (f.keyframe) ++keyframes_encoded_;
        out.push_back(std::move(f));
    }
    return out;
}

Result<void> VpxEncoder::set_bitrate(DataRate bitrate) {
    impl_->cfg.rc_target_bitrate = to_kbps(bitrate);
    if (auto err = vpx_codec_enc_config_set(&impl_->ctx, &impl_->cfg); err != VPX_CODEC_OK)
        return vpx_error("vpx_codec_enc_config_set", &impl_->ctx, err);
    config_.bitrate = bitrate;
    return {};
}

} // namespace rtcpp::codec
