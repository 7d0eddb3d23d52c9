#include "rtp/h264_payload.hpp"

#include "core/byte_writer.hpp"

namespace rtcpp::rtp {

namespace {
constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
}

std::vector<ByteView> split_annex_b(ByteView stream) {
    // Find each 00 00 01; a NAL runs to the next start code (a zero before 00 00 01 belongs to the 4-byte form).
    std::vector<size_t> starts;  // index just past each start code
    std::vector<size_t> code_begin;
    const size_t n = stream.size();
    for (size_t i = 0; i + 2 < n;) {
        if (stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1) {
            code_begin.push_back(i > 0 && stream[i - 1] == 0 ? i - 1 : i);
            starts.push_back(i + 3);
            i += 3;
        } else {
            ++i;
        }
    }
    std::vector<ByteView> out;
    for (size_t k = 0; k < starts.size(); ++k) {
        const size_t end = k + 1 < starts.size() ? code_begin[k + 1] : n;
        if (end > starts[k]) out.push_back(stream.subspan(starts[k], end - starts[k]));
    }
    return out;
}

bool h264_is_keyframe(const std::vector<ByteView>& nalus) {
    bool sps = false, pps = false;
    for (const auto& nal : nalus) {
        if (nal.empty()) continue;
        const uint8_t type = nal[0] & 0x1F;
        if (type == kH264Idr) return true;
        sps = sps || type == kH264Sps;
        pps = pps || type == kH264Pps;
    }
    return sps && pps;
}

Result<std::vector<RtpPayload>> H264Packetizer::packetize(ByteView frame, size_t max_payload_size) {
    const auto nalus = split_annex_b(frame);
    if (nalus.empty()) return make_error(ErrorCategory::DataError, "rtp", "no NAL units in H.264 frame");
    std::vector<RtpPayload> out;
    size_t i = 0;
    while (i < nalus.size()) {
        const ByteView nal = nalus[i];
        if (nal.size() <= max_payload_size) {
            // Aggregate as many following NALs as fit (mode 1 only): STAP-A header + (size + NAL) each.
            size_t j = i;
            size_t total = 1;
            if (mode_ == 1) {
                while (j < nalus.size() && total + 2 + nalus[j].size() <= max_payload_size) {
                    total += 2 + nalus[j].size();
                    ++j;
                }
            }
            if (j - i >= 2) {
                RtpPayload p;
                ByteWriter w(p.data);
                uint8_t nri = 0;
                for (size_t k = i; k < j; ++k) nri = static_cast<uint8_t>(nri > (nalus[k][0] & 0x60) ? nri : (nalus[k][0] & 0x60));
                w.write_u8(static_cast<uint8_t>(nri | kH264StapA));
                for (size_t k = i; k < j; ++k) {
                    w.write_u16(static_cast<uint16_t>(nalus[k].size()));
                    w.write_bytes(nalus[k]);
                }
                out.push_back(std::move(p));
                i = j;
            } else {
                out.push_back(RtpPayload{std::vector<uint8_t>(nal.begin(), nal.end()), false});
                ++i;
            }
            continue;
        }
        if (mode_ == 0) {
            return make_error(ErrorCategory::RangeError, "rtp", "H.264 NAL unit larger than the payload size in packetization-mode 0");
        }
        if (max_payload_size <= 2) return make_error(ErrorCategory::RangeError, "rtp", "payload size too small for FU-A");
        // FU-A: the NAL header is folded into the FU indicator and header.
        const uint8_t hdr = nal[0];
        const ByteView body = nal.subspan(1);
        const auto parts = balanced_split(body.size(), max_payload_size - 2);
        size_t offset = 0;
        for (size_t k = 0; k < parts.size(); ++k) {
            RtpPayload p;
            ByteWriter w(p.data);
            w.write_u8(static_cast<uint8_t>((hdr & 0xE0) | kH264FuA));
            w.write_u8(static_cast<uint8_t>((k == 0 ? 0x80 : 0) | (k + 1 == parts.size() ? 0x40 : 0) | (hdr & 0x1F)));
            w.write_bytes(body.subspan(offset, parts[k]));
            offset += parts[k];
            out.push_back(std::move(p));
        }
        ++i;
    }
    out.back().marker = true;
    return out;
}

bool H264Depacketizer::append_nal(ByteView nal, std::vector<uint8_t>& frame) {
    if (nal.empty()) return false;
    const uint8_t b = *ByteReader(nal).peek_u8();
    if (b & 0x80) return false;  // forbidden_zero_bit
    const uint8_t type = b & 0x1F;
    seen_idr_ = seen_idr_ || type == kH264Idr;
    seen_sps_ = seen_sps_ || type == kH264Sps;
    seen_pps_ = seen_pps_ || type == kH264Pps;
    frame.insert(frame.end(), std::begin(kStartCode), std::end(kStartCode));
    frame.insert(frame.end(), nal.begin(), nal.end());
    return true;
}

bool H264Depacketizer::depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) {
    ByteReader r(payload);
    const auto b0 = r.peek_u8();
    if (!b0 || (*b0 & 0x80)) return false;
    const uint8_t type = *b0 & 0x1F;
    if (type == kH264FuA) {
        r.skip(1);
        const auto fu = r.read_u8();
        if (!fu) return false;
        const bool start = *fu & 0x80;
        const bool end = *fu & 0x40;
        const uint8_t nal_type = *fu & 0x1F;
        const ByteView data = r.read_rest();
        if (start && end) return false;  // RFC 6184 §5.8: S and E must not both be set
        if (start) {
            if (in_fu_) return false;
            if (nal_type == 0 || nal_type >= kH264StapA) return false;
            const uint8_t hdr = static_cast<uint8_t>((*b0 & 0xE0) | nal_type);
            const uint8_t one[] = {hdr};
            if (!append_nal(ByteView(one), frame)) return false;
            frame.insert(frame.end(), data.begin(), data.end());
            in_fu_ = true;
            fu_type_ = nal_type;
            info.frame_start = true;
        } else {
            // A middle or end fragment needs its start, with the same NAL type. As the first payload of a frame
            // it is a frame whose start was lost (frame_start stays false: the base class drops it).
            if (!in_fu_ && first) return true;
            if (!in_fu_ || nal_type != fu_type_ || data.empty()) return false;
            frame.insert(frame.end(), data.begin(), data.end());
            if (end) in_fu_ = false;
        }
    } else {
        if (in_fu_) return false;  // a new NAL while a fragmented one is unfinished
        info.frame_start = true;
        if (type == kH264StapA) {
            r.skip(1);
            if (r.empty()) return false;
            while (!r.empty()) {
                const auto size = r.read_u16();
                if (!size || *size == 0) return false;
                const auto nal = r.read_bytes(*size);
                if (!nal || !append_nal(*nal, frame)) return false;
            }
        } else if (type >= 1 && type <= 23) {
            if (!append_nal(payload, frame)) return false;
        } else {
            return false;  // STAP-B, MTAP, FU-B and reserved types: not in modes 0 and 1
        }
    }
    info.keyframe = seen_idr_ || (seen_sps_ && seen_pps_);
    return true;
}

bool H264Depacketizer::finish_frame(std::vector<uint8_t>&, bool& keyframe) {
    if (in_fu_) return false;  // the marker came before the FU-A end fragment
    keyframe = seen_idr_ || (seen_sps_ && seen_pps_);
    return true;
}

void H264Depacketizer::reset_frame() {
    in_fu_ = false;
    fu_type_ = 0;
    seen_sps_ = seen_pps_ = seen_idr_ = false;
}

} // namespace rtcpp::rtp
