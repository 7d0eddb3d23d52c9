#include "rtp/red.hpp"

#include <algorithm>
#include <charconv>

namespace rtcpp::rtp {

std::optional<RedPayload> parse_red(ByteView payload) {
    RedPayload out;
    ByteReader r(payload);
    // Headers first: 4 bytes each with F=1, then one byte for the primary.
    std::array<size_t, kRedMaxBlocks> lengths{};
    for (;;) {
        const auto b = r.read_u8();
        if (!b) return std::nullopt;
        if (out.count == kRedMaxBlocks) return std::nullopt;
        RedBlock& blk = out.blocks[out.count];
        blk.payload_type = *b & 0x7F;
        if ((*b & 0x80) == 0) {
            ++out.count;
            break;
        }
        const auto rest = r.read_u24();
        if (!rest) return std::nullopt;
        blk.timestamp_offset = *rest >> 10;
        lengths[out.count] = *rest & 0x3FF;
        ++out.count;
    }
    for (size_t i = 0; i + 1 < out.count; ++i) {
        const auto d = r.read_bytes(lengths[i]);
        if (!d) return std::nullopt;
        out.blocks[i].data = *d;
    }
    out.blocks[out.count - 1].data = r.read_rest();
    return out;
}

bool write_red(ByteWriter& w, std::span<const RedBlock> redundant, uint8_t primary_pt, ByteView primary) {
    for (const auto& b : redundant)
        if (b.timestamp_offset > kRedMaxTimestampOffset || b.data.size() > kRedMaxBlockLength || b.payload_type > 127)
            return false;
    for (const auto& b : redundant) {
        w.write_u8(static_cast<uint8_t>(0x80 | b.payload_type));
        w.write_u24(static_cast<uint32_t>(b.timestamp_offset << 10 | b.data.size()));
    }
    w.write_u8(static_cast<uint8_t>(primary_pt & 0x7F));
    for (const auto& b : redundant) w.write_bytes(b.data);
    w.write_bytes(primary);
    return true;
}

std::vector<uint8_t> wrap_red(const RtpPacketView& media, uint8_t red_pt) {
    RtpHeader h = RtpHeader::from_view(media);
    h.payload_type = red_pt;
    std::vector<uint8_t> payload;
    payload.reserve(media.payload().size() + 1);
    payload.push_back(media.payload_type() & 0x7F);
    payload.insert(payload.end(), media.payload().begin(), media.payload().end());
    std::vector<uint8_t> out = build_rtp_packet(h, payload, static_cast<uint8_t>(media.padding_size()));
    // Keep the padding bytes themselves, not only their count.
    const ByteView pad = media.bytes().subspan(media.bytes().size() - media.padding_size());
    std::copy(pad.begin(), pad.end(), out.end() - static_cast<std::ptrdiff_t>(pad.size()));
    return out;
}

std::optional<std::vector<uint8_t>> unwrap_red_primary(const RtpPacketView& red, uint8_t ulpfec_pt) {
    const auto p = parse_red(red.payload());
    if (!p || p->primary().payload_type == ulpfec_pt) return std::nullopt;
    // The original header bytes are kept as they are (extensions included), only the payload type changes; padding
    // stays with the packet, so the result is byte for byte what wrap_red() was given (FEC parity covers it).
    std::vector<uint8_t> out(red.header().begin(), red.header().end());
    out[1] = static_cast<uint8_t>((out[1] & 0x80) | p->primary().payload_type);
    out.insert(out.end(), p->primary().data.begin(), p->primary().data.end());
    const ByteView padding = red.bytes().subspan(red.bytes().size() - red.padding_size());
    out.insert(out.end(), padding.begin(), padding.end());
    return out;
}

std::optional<uint8_t> parse_red_fmtp(std::string_view fmtp, size_t* distance) {
    std::optional<uint8_t> pt;
    size_t n = 0;
    while (!fmtp.empty()) {
        const size_t slash = fmtp.find('/');
        const std::string_view tok = fmtp.substr(0, slash);
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        if (ec != std::errc{} || end != tok.data() + tok.size() || v > 127) return std::nullopt;
        if (pt && *pt != v) return std::nullopt;
        pt = static_cast<uint8_t>(v);
        ++n;
        if (slash == std::string_view::npos) break;
        fmtp.remove_prefix(slash + 1);
        if (fmtp.empty()) return std::nullopt;
    }
    if (!pt || n > kRedMaxBlocks) return std::nullopt;
    if (distance) *distance = n - 1;
    return pt;
}

std::vector<uint8_t> AudioRedEncoder::encode(uint32_t timestamp, ByteView frame) {
    std::vector<uint8_t> out;
    encode_into(timestamp, frame, out);
    return out;
}

void AudioRedEncoder::encode_into(uint32_t timestamp, ByteView frame, std::vector<uint8_t>& out) {
    std::array<RedBlock, kRedMaxBlocks> blocks{};
    size_t n = 0;
    size_t budget = frame.size() + 1;
    // Newest past frames are worth most: take them from the back, then lay them out oldest first.
    for (size_t k = past_.size(); k-- > 0 && n < distance_ && n + 1 < kRedMaxBlocks;) {
        const Past* it = &past_[k];
        const uint32_t offset = timestamp - it->timestamp;
        if (offset == 0 || offset > kRedMaxTimestampOffset || it->data.size() > kRedMaxBlockLength) break;
        if (budget + it->data.size() + 4 > max_payload_) break;
        budget += it->data.size() + 4;
        blocks[n++] = RedBlock{pt_, offset, it->data};
    }
    std::reverse(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(n));
    out.clear();
    out.reserve(budget);
    ByteWriter w(out);
    write_red(w, std::span<const RedBlock>(blocks.data(), n), pt_, frame);
    if (distance_ > 0) {
        // The oldest frame's buffer (written out above) holds the new one.
        std::vector<uint8_t> keep;
        if (past_.size() >= distance_) {
            keep = std::move(past_.front().data);
            past_.pop_front();
        }
        keep.assign(frame.begin(), frame.end());
        past_.push_back(Past{timestamp, std::move(keep)});
        while (past_.size() > distance_) past_.pop_front();
    }
}

size_t split_red_audio(ByteView payload, uint32_t timestamp, std::array<RedAudioFrame, kRedMaxBlocks>& out) {
    const auto p = parse_red(payload);
    if (!p) return 0;
    size_t n = 0;
    for (size_t i = 0; i < p->count; ++i) {
        const RedBlock& b = p->blocks[i];
        const bool primary = i + 1 == p->count;
        if (b.data.empty()) continue;
        out[n++] = RedAudioFrame{timestamp - b.timestamp_offset, b.payload_type, !primary, b.data};
    }
    return n;
}

} // namespace rtcpp::rtp
