#include "codec/h264_decoder.hpp"

#include <wels/codec_api.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

namespace rtcpp::codec {

namespace {

struct DecoderDeleter {
    void operator()(ISVCDecoder* d) const {
        d->Uninitialize();
        WelsDestroyDecoder(d);
    }
};

} // namespace

struct H264Decoder::Impl {
    std::unique_ptr<ISVCDecoder, DecoderDeleter> dec;
};

H264Decoder::H264Decoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
H264Decoder::~H264Decoder() = default;

Result<std::unique_ptr<H264Decoder>> H264Decoder::create() {
    ISVCDecoder* raw = nullptr;
    if (long rc = WelsCreateDecoder(&raw); rc != 0 || !raw)
        return make_error(ErrorCategory::OperationError, "codec", "WelsCreateDecoder failed (" + std::to_string(rc) + ")");
    auto impl = std::make_unique<Impl>();
    impl->dec.reset(raw);
    int quiet = WELS_LOG_QUIET;
    raw->SetOption(DECODER_OPTION_TRACE_LEVEL, &quiet);
    SDecodingParam p{};
    p.sVideoProperty.size = sizeof(p.sVideoProperty);
    p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
    p.eEcActiveIdc = ERROR_CON_DISABLE;
    if (long rc = raw->Initialize(&p); rc != 0)
        return make_error(ErrorCategory::OperationError, "codec", "openh264 decoder Initialize failed (" + std::to_string(rc) + ")");
    return std::unique_ptr<H264Decoder>(new H264Decoder(std::move(impl)));
}

Result<std::optional<I420Image>> H264Decoder::decode(std::span<const uint8_t> access_unit) {
    if (access_unit.empty()) {
        ++errors_;
        return make_error(ErrorCategory::DataError, "codec", "empty H.264 access unit");
    }
    if (access_unit.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
        ++errors_;
        return make_error(ErrorCategory::DataError, "codec", "H.264 access unit too large");
    }
    unsigned char* planes[3] = {nullptr, nullptr, nullptr};
    SBufferInfo info{};
    const DECODING_STATE st = impl_->dec->DecodeFrameNoDelay(access_unit.data(), static_cast<int>(access_unit.size()),
                                                              planes, &info);
    if (st != dsErrorFree) {
        ++errors_;
        char state[16];
        std::snprintf(state, sizeof state, "0x%x", static_cast<unsigned>(st));
        return make_error(ErrorCategory::DataError, "codec", std::string("openh264 decode error, state ") + state);
    }
    if (info.iBufferStatus != 1) return std::optional<I420Image>{};
    const auto& sys = info.UsrData.sSystemBuffer;
    if (sys.iFormat != videoFormatI420 || sys.iWidth <= 0 || sys.iHeight <= 0 || !planes[0] || !planes[1] ||
        !planes[2]) {
        ++errors_;
        return make_error(ErrorCategory::NotSupportedError, "codec", "decoded H.264 picture is not 8-bit 4:2:0");
    }
    I420Image out(sys.iWidth, sys.iHeight);
    auto copy_plane = [](std::span<uint8_t> dst, int dw, int dh, const unsigned char* src, int stride) {
        for (int row = 0; row < dh; ++row)
            std::memcpy(dst.data() + static_cast<size_t>(row) * static_cast<size_t>(dw),
                        src + static_cast<ptrdiff_t>(row) * stride, static_cast<size_t>(dw));
    };
    copy_plane(out.y(), out.width, out.height, planes[0], sys.iStride[0]);
    copy_plane(out.u(), out.chroma_width(), out.chroma_height(), planes[1], sys.iStride[1]);
    copy_plane(out.v(), out.chroma_width(), out.chroma_height(), planes[2], sys.iStride[1]);
    ++frames_decoded_;
    return std::optional<I420Image>{std::move(out)};
}

} // namespace rtcpp::codec
