#include "rtp/flexfec_03.hpp"

#include "core/byte_writer.hpp"

#include <algorithm>
#include <cmath>

namespace rtcpp::rtp {

namespace {
// Bits per mask chunk and where each chunk starts in the combined mask.
constexpr size_t kChunk0 = 15, kChunk1 = 31, kChunk2 = 63;
} // namespace

std::optional<FlexfecHeader> parse_flexfec(ByteView payload) {
    ByteReader r(payload);
    const auto b0 = r.read_u8();
    const auto b1 = r.read_u8();
    const auto len = r.read_u16();
    const auto ts = r.read_u32();
    const auto count = r.read_u8();
    const bool reserved_ok = r.skip(3);
    const auto ssrc = r.read_u32();
    const auto base = r.read_u16();
    const auto m0 = r.read_u16();
    if (!b0 || !b1 || !len || !ts || !count || !reserved_ok || !ssrc || !base || !m0) return std::nullopt;
    if (*b0 & 0xC0) return std::nullopt;  // R or F: retransmission or fixed-mask forms are not what -03 peers send
    if (*count != 1) return std::nullopt;
    FlexfecHeader h;
    h.protected_ssrc = *ssrc;
    for (size_t i = 0; i < kChunk0; ++i)
        if (*m0 >> (kChunk0 - 1 - i) & 1) h.eq.mask.set(i);
    if (!(*m0 & 0x8000)) {
        const auto m1 = r.read_u32();
        if (!m1) return std::nullopt;
        for (size_t i = 0; i < kChunk1; ++i)
            if (*m1 >> (kChunk1 - 1 - i) & 1) h.eq.mask.set(kChunk0 + i);
        if (!(*m1 & 0x80000000u)) {
            const auto m2 = r.read_u64();
            if (!m2) return std::nullopt;
            // The last k bit must end the mask; a 0 there would announce a chunk the draft does not define.
            if (!(*m2 & (uint64_t{1} << 63))) return std::nullopt;
            for (size_t i = 0; i < kChunk2; ++i)
                if (*m2 >> (kChunk2 - 1 - i) & 1) h.eq.mask.set(kChunk0 + kChunk1 + i);
        }
    }
    h.eq.seq_base = *base;
    h.eq.byte0 = *b0;
    h.eq.byte1 = *b1;
    h.eq.timestamp = *ts;
    h.eq.length = *len;
    h.eq.payload = r.read_rest();
    return h;
}

std::optional<std::vector<uint8_t>> build_flexfec(std::span<const ByteView> media, const FecMask& mask,
                                                  uint16_t seq_base, uint32_t protected_ssrc) {
    FecParity parity;
    size_t last = 0;
    bool any = false;
    for (const ByteView p : media) {
        if (p.size() < kRtpFixedHeaderSize || p.size() > kMaxFecPacketSize) return std::nullopt;
        const uint16_t seq = static_cast<uint16_t>(p[2] << 8 | p[3]);
        const size_t pos = static_cast<uint16_t>(seq - seq_base);
        if (pos >= kFlexfecMaxMediaPackets) return std::nullopt;
        if (!mask[pos]) continue;
        parity.add(p);
        last = std::max(last, pos);
        any = true;
    }
    if (!any) return std::nullopt;
    std::vector<uint8_t> out;
    out.reserve(32 + parity.payload.size());
    ByteWriter w(out);
    w.write_u8(static_cast<uint8_t>(parity.byte0 & 0x3F));
    w.write_u8(parity.byte1);
    w.write_u16(parity.length);
    w.write_u32(parity.timestamp);
    w.write_u8(1);
    w.write_zeros(3);
    w.write_u32(protected_ssrc);
    w.write_u16(seq_base);
    auto bits = [&](size_t from, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i)
            if (mask[from + i]) v |= uint64_t{1} << (n - 1 - i);
        return v;
    };
    const bool one = last < kChunk0, two = last < kChunk0 + kChunk1;
    w.write_u16(static_cast<uint16_t>((one ? 0x8000 : 0) | bits(0, kChunk0)));
    if (!one) {
        w.write_u32(static_cast<uint32_t>((two ? 0x80000000u : 0) | bits(kChunk0, kChunk1)));
        if (!two) w.write_u64((uint64_t{1} << 63) | bits(kChunk0 + kChunk1, kChunk2));
    }
    w.write_bytes(parity.payload);
    return out;
}

void FlexfecEncoder::add_media_packet(const RtpPacketView& media) {
    if (params_.protection <= 0) {
        group_.clear();
        frames_ = 0;
        return;
    }
    if (media.ssrc() != protected_ssrc_ || media.bytes().size() > kMaxFecPacketSize) return;
    if (!group_.empty()) {
        const uint16_t base = static_cast<uint16_t>(group_.front()[2] << 8 | group_.front()[3]);
        if (static_cast<uint16_t>(media.sequence_number() - base) >= kFlexfecMaxMediaPackets) generate();
    }
    group_.emplace_back(media.bytes().begin(), media.bytes().end());
    last_timestamp_ = media.timestamp();
    if (media.marker() && ++frames_ >= std::max<size_t>(1, params_.max_frames)) generate();
}

void FlexfecEncoder::generate() {
    const size_t n = group_.size();
    if (n == 0) return;
    const size_t k = std::clamp<size_t>(static_cast<size_t>(std::lround(static_cast<double>(n) * params_.protection)),
                                        1, n);
    const uint16_t base = static_cast<uint16_t>(group_.front()[2] << 8 | group_.front()[3]);
    std::vector<ByteView> views(group_.begin(), group_.end());
    for (const FecMask& group_mask : make_fec_masks(n, k, params_.mask_type)) {
        FecMask by_seq;
        for (size_t i = 0; i < n; ++i)
            if (group_mask[i]) by_seq.set(static_cast<uint16_t>((group_[i][2] << 8 | group_[i][3]) - base));
        auto payload = build_flexfec(views, by_seq, base, protected_ssrc_);
        if (!payload) continue;
        RtpHeader h;
        h.payload_type = pt_;
        h.sequence_number = seq_++;
        h.timestamp = last_timestamp_;
        h.ssrc = ssrc_;
        out_.push_back(build_rtp_packet(h, *payload));
        ++fec_packets_;
    }
    group_.clear();
    frames_ = 0;
}

std::optional<std::vector<uint8_t>> FlexfecEncoder::poll_fec_packet() {
    if (out_.empty()) return std::nullopt;
    auto p = std::move(out_.front());
    out_.pop_front();
    return p;
}

void FlexfecReceiver::handle_packet(ByteView bytes) {
    const auto v = RtpPacketView::parse(bytes);
    if (!v) {
        ++stats_.malformed;
        return;
    }
    if (v->ssrc() == ssrc_ && v->payload_type() == pt_) {
        ++stats_.fec_packets;
        const auto h = parse_flexfec(v->payload());
        if (!h) {
            ++stats_.malformed;
            return;
        }
        if (h->protected_ssrc != recoverer_.ssrc()) {
            ++stats_.wrong_ssrc;
            return;
        }
        recoverer_.add_equation(h->eq);
        return;
    }
    if (v->ssrc() != recoverer_.ssrc()) {
        ++stats_.wrong_ssrc;
        return;
    }
    recoverer_.add_media(bytes);
}

} // namespace rtcpp::rtp
