#include "codec/h264_encoder.hpp"

#include <wels/codec_api.h>

#include <algorithm>
#include <string>

namespace rtcpp::codec {

namespace {

struct EncoderDeleter {
    void operator()(ISVCEncoder* e) const {
        e->Uninitialize();
        WelsDestroySVCEncoder(e);
    }
};

Error wels_error(const char* what, int code) {
    return make_error(ErrorCategory::OperationError, "codec", std::string(what) + " failed (" + std::to_string(code) + ")");
}

// openh264's rate control misbehaves far below what a picture needs; the floor keeps it in its working range.
int to_bps(DataRate r) { return static_cast<int>(std::clamp<int64_t>(r.bps(), 30'000, 50'000'000)); }

} // namespace

struct H264Encoder::Impl {
    std::unique_ptr<ISVCEncoder, EncoderDeleter> enc;
    SFrameBSInfo info{};
};

H264Encoder::H264Encoder(std::unique_ptr<Impl> impl, const H264EncoderConfig& config)
    : impl_(std::move(impl)), config_(config) {}

H264Encoder::~H264Encoder() = default;

Result<std::unique_ptr<H264Encoder>> H264Encoder::create(const H264EncoderConfig& config) {
    // 4:2:0 macroblock coding needs even sizes; openh264 crops to the picture size through the SPS.
    if (config.width <= 0 || config.height <= 0 || config.width % 2 != 0 || config.height % 2 != 0 ||
        config.width > 4096 || config.height > 2304 || config.fps <= 0 || config.fps > 120)
        return make_error(ErrorCategory::RangeError, "codec", "bad H.264 encoder size or frame rate");
    // Below a few hundred bytes a slice cannot hold a macroblock row's worth of an IDR picture.
    if (config.max_nal_size != 0 && config.max_nal_size < 400)
        return make_error(ErrorCategory::RangeError, "codec", "H.264 max_nal_size below 400 bytes");
    ISVCEncoder* raw = nullptr;
    if (int rc = WelsCreateSVCEncoder(&raw); rc != 0 || !raw) return wels_error("WelsCreateSVCEncoder", rc);
    auto impl = std::make_unique<Impl>();
    impl->enc.reset(raw);
    ISVCEncoder* enc = impl->enc.get();

    int quiet = WELS_LOG_QUIET;
    enc->SetOption(ENCODER_OPTION_TRACE_LEVEL, &quiet);

    SEncParamExt p{};
    if (int rc = enc->GetDefaultParams(&p); rc != 0) return wels_error("GetDefaultParams", rc);
    p.iUsageType = CAMERA_VIDEO_REAL_TIME;
    p.iPicWidth = config.width;
    p.iPicHeight = config.height;
    p.iTargetBitrate = to_bps(config.bitrate);
    p.iMaxBitrate = UNSPECIFIED_BIT_RATE;
    p.iRCMode = RC_BITRATE_MODE;
    p.fMaxFrameRate = static_cast<float>(config.fps);
    // A receiver counts frames; skipping them to meet the rate would look like loss.
    p.bEnableFrameSkip = false;
    p.uiIntraPeriod = static_cast<unsigned int>(std::max(1, config.keyframe_interval));
    p.iTemporalLayerNum = 1;
    p.iSpatialLayerNum = 1;
    p.iNumRefFrame = 1;
    p.iMultipleThreadIdc = 1;
    // Baseline allows CAVLC only; with no B frames or FMO the stream is Constrained Baseline (42e0xx).
    p.iEntropyCodingModeFlag = 0;
    // The same SPS/PPS ids in every IDR, so a receiver that joins late needs nothing it missed.
    p.eSpsPpsIdStrategy = CONSTANT_ID;
    p.bEnableDenoise = false;
    p.bEnableSceneChangeDetect = false;
    p.bEnableBackgroundDetection = false;
    p.bEnableAdaptiveQuant = true;
    p.bPrefixNalAddingCtrl = false;
    auto& layer = p.sSpatialLayers[0];
    layer.iVideoWidth = config.width;
    layer.iVideoHeight = config.height;
    layer.fFrameRate = static_cast<float>(config.fps);
    layer.iSpatialBitrate = p.iTargetBitrate;
    layer.iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
    layer.uiProfileIdc = PRO_BASELINE;
    layer.uiLevelIdc = LEVEL_3_1;
    if (config.max_nal_size == 0) {
        // One slice per picture: packetization-mode 1 fragments it with FU-A.
        layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
        layer.sSliceArgument.uiSliceNum = 1;
    } else {
        // Packetization-mode 0 has no fragmentation: openh264 closes a slice before it outgrows the limit (its
        // size-limited mode counts the start code, hence the 4 bytes). libwebrtc does the same for mode 0.
        const auto limit = static_cast<unsigned int>(std::min<size_t>(config.max_nal_size + 4, 65'535));
        layer.sSliceArgument.uiSliceMode = SM_SIZELIMITED_SLICE;
        layer.sSliceArgument.uiSliceSizeConstraint = limit;
        p.uiMaxNalSize = limit;
    }
    if (int rc = enc->InitializeExt(&p); rc != 0) return wels_error("openh264 InitializeExt", rc);
    int format = videoFormatI420;
    if (int rc = enc->SetOption(ENCODER_OPTION_DATAFORMAT, &format); rc != 0)
        return wels_error("ENCODER_OPTION_DATAFORMAT", rc);
    return std::unique_ptr<H264Encoder>(new H264Encoder(std::move(impl), config));
}

Result<std::vector<EncodedFrame>> H264Encoder::encode(const I420Image& image, bool force_keyframe) {
    if (image.width != config_.width || image.height != config_.height ||
        image.data.size() < image.y_size() + 2 * image.chroma_size())
        return make_error(ErrorCategory::RangeError, "codec", "picture size differs from the encoder's");
    ISVCEncoder* enc = impl_->enc.get();
    if (force_keyframe) {
        if (int rc = enc->ForceIntraFrame(true); rc != 0) return wels_error("ForceIntraFrame", rc);
    }
    SSourcePicture pic{};
    pic.iColorFormat = videoFormatI420;
    pic.iPicWidth = image.width;
    pic.iPicHeight = image.height;
    pic.iStride[0] = image.width;
    pic.iStride[1] = pic.iStride[2] = image.chroma_width();
    // openh264 only reads the planes; the const_cast is the C API's.
    auto* base = const_cast<uint8_t*>(image.data.data());
    pic.pData[0] = base;
    pic.pData[1] = base + image.y_size();
    pic.pData[2] = base + image.y_size() + image.chroma_size();
    const int64_t pts = next_pts_++;
    pic.uiTimeStamp = pts * 1000 / config_.fps;
    SFrameBSInfo& info = impl_->info;
    info = SFrameBSInfo{};
    if (int rc = enc->EncodeFrame(&pic, &info); rc != cmResultSuccess) return wels_error("EncodeFrame", rc);
    std::vector<EncodedFrame> out;
    if (info.eFrameType == videoFrameTypeSkip || info.eFrameType == videoFrameTypeInvalid) return out;
    EncodedFrame f;
    f.pts = pts;
    f.keyframe = info.eFrameType == videoFrameTypeIDR;
    for (int l = 0; l < info.iLayerNum; ++l) {
        const SLayerBSInfo& layer = info.sLayerInfo[l];
        size_t bytes = 0;
        for (int n = 0; n < layer.iNalCount; ++n) bytes += static_cast<size_t>(layer.pNalLengthInByte[n]);
        // Each NAL in pBsBuf already starts with a 4-byte start code: the layers back to back are Annex B.
        f.data.insert(f.data.end(), layer.pBsBuf, layer.pBsBuf + bytes);
    }
    if (f.data.empty()) return out;
    ++frames_encoded_;
    if (f.keyframe) ++keyframes_encoded_;
    out.push_back(std::move(f));
    return out;
}

Result<void> H264Encoder::set_bitrate(DataRate bitrate) {
    SBitrateInfo b{};
    b.iLayer = SPATIAL_LAYER_ALL;
    b.iBitrate = to_bps(bitrate);
    if (int rc = impl_->enc->SetOption(ENCODER_OPTION_BITRATE, &b); rc != 0)
        return wels_error("ENCODER_OPTION_BITRATE", rc);
    config_.bitrate = bitrate;
    return {};
}

} // namespace rtcpp::codec
