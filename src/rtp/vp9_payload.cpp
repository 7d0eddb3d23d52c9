#include "rtp/vp9_payload.hpp"

namespace rtcpp::rtp {

namespace {
std::optional<Vp9ScalabilityStructure> read_ss(ByteReader& r) {
    Vp9ScalabilityStructure ss;
    const auto b = r.read_u8();
    if (!b) return std::nullopt;
    ss.spatial_layers = static_cast<uint8_t>((*b >> 5) + 1);
    if (*b & 0x10) {
        for (size_t i = 0; i < ss.spatial_layers; ++i) {
            const auto w = r.read_u16();
            const auto h = r.read_u16();
            if (!r.ok()) return std::nullopt;
            ss.resolutions.push_back({*w, *h});
        }
    }
    if (*b & 0x08) {
        const auto n = r.read_u8();
        if (!n) return std::nullopt;
        std::vector<Vp9ScalabilityStructure::PictureGroupEntry> group;
        for (size_t i = 0; i < *n; ++i) {
            const auto e = r.read_u8();
            if (!e) return std::nullopt;
            Vp9ScalabilityStructure::PictureGroupEntry entry;
            entry.temporal_id = static_cast<uint8_t>(*e >> 5);
            entry.switching_up = (*e & 0x10) != 0;
            const size_t refs = (*e >> 2) & 3;
            for (size_t k = 0; k < refs; ++k) {
                const auto d = r.read_u8();
                if (!d) return std::nullopt;
                entry.p_diffs.push_back(*d);
            }
            group.push_back(std::move(entry));
        }
        ss.picture_group = std::move(group);
    }
    return ss;
}

void write_ss(ByteWriter& w, const Vp9ScalabilityStructure& ss) {
    const uint8_t ns = static_cast<uint8_t>((ss.spatial_layers == 0 ? 0 : ss.spatial_layers - 1) & 7);
    const bool y = !ss.resolutions.empty();
    w.write_u8(static_cast<uint8_t>((ns << 5) | (y ? 0x10 : 0) | (ss.picture_group ? 0x08 : 0)));
    if (y) {
        for (size_t i = 0; i <= ns; ++i) {
            const auto r = i < ss.resolutions.size() ? ss.resolutions[i] : Vp9ScalabilityStructure::Resolution{};
            w.write_u16(r.width);
            w.write_u16(r.height);
        }
    }
    if (ss.picture_group) {
        const size_t n = ss.picture_group->size() > 255 ? 255 : ss.picture_group->size();
        w.write_u8(static_cast<uint8_t>(n));
        for (size_t i = 0; i < n; ++i) {
            const auto& e = (*ss.picture_group)[i];
            const size_t refs = e.p_diffs.size() > 3 ? 3 : e.p_diffs.size();
            w.write_u8(static_cast<uint8_t>(((e.temporal_id & 7) << 5) | (e.switching_up ? 0x10 : 0) | (refs << 2)));
            for (size_t k = 0; k < refs; ++k) w.write_u8(e.p_diffs[k]);
        }
    }
}
} // namespace

std::optional<Vp9PayloadDescriptor> Vp9PayloadDescriptor::read(ByteReader& r) {
    Vp9PayloadDescriptor d;
    const auto b0 = r.read_u8();
    if (!b0) return std::nullopt;
    const bool i = *b0 & 0x80;
    d.inter_picture_predicted = *b0 & 0x40;
    d.has_layer_indices = *b0 & 0x20;
    d.flexible = *b0 & 0x10;
    d.beginning_of_frame = *b0 & 0x08;
    d.end_of_frame = *b0 & 0x04;
    const bool v = *b0 & 0x02;
    d.not_upper_reference = *b0 & 0x01;
    if (i) {
        const auto p0 = r.read_u8();
        if (!p0) return std::nullopt;
        if (*p0 & 0x80) {
            const auto p1 = r.read_u8();
            if (!p1) return std::nullopt;
            d.picture_id = static_cast<uint16_t>(((*p0 & 0x7F) << 8) | *p1);
            d.picture_id_15bit = true;
        } else {
            d.picture_id = *p0 & 0x7F;
            d.picture_id_15bit = false;
        }
    }
    if (d.has_layer_indices) {
        const auto l = r.read_u8();
        if (!l) return std::nullopt;
        d.temporal_id = static_cast<uint8_t>(*l >> 5);
        d.switching_up = (*l & 0x10) != 0;
        d.spatial_id = static_cast<uint8_t>((*l >> 1) & 7);
        d.inter_layer_predicted = (*l & 0x01) != 0;
        if (!d.flexible) {
            const auto t = r.read_u8();
            if (!t) return std::nullopt;
            d.tl0_pic_idx = *t;
        }
    }
    if (d.flexible && d.inter_picture_predicted) {
        // P_DIFF | N: N says another follows; at most 3.
        for (;;) {
            const auto p = r.read_u8();
            if (!p) return std::nullopt;
            if (d.num_p_diffs == 3) return std::nullopt;
            d.p_diffs[d.num_p_diffs++] = static_cast<uint8_t>(*p >> 1);
            if (!(*p & 0x01)) break;
        }
    }
    if (v) {
        auto ss = read_ss(r);
        if (!ss) return std::nullopt;
        d.ss = std::move(ss);
    }
    return d;
}

void Vp9PayloadDescriptor::write(ByteWriter& w) const {
    w.write_u8(static_cast<uint8_t>((picture_id ? 0x80 : 0) | (inter_picture_predicted ? 0x40 : 0) |
                                    (has_layer_indices ? 0x20 : 0) | (flexible ? 0x10 : 0) |
                                    (beginning_of_frame ? 0x08 : 0) | (end_of_frame ? 0x04 : 0) | (ss ? 0x02 : 0) |
                                    (not_upper_reference ? 0x01 : 0)));
    if (picture_id) {
        if (picture_id_15bit) w.write_u16(static_cast<uint16_t>(0x8000 | (*picture_id & 0x7FFF)));
        else w.write_u8(static_cast<uint8_t>(*picture_id & 0x7F));
    }
    if (has_layer_indices) {
        w.write_u8(static_cast<uint8_t>(((temporal_id & 7) << 5) | (switching_up ? 0x10 : 0) | ((spatial_id & 7) << 1) |
                                        (inter_layer_predicted ? 1 : 0)));
        if (!flexible) w.write_u8(tl0_pic_idx.value_or(0));
    }
    if (flexible && inter_picture_predicted) {
        const size_t n = num_p_diffs == 0 ? 1 : (num_p_diffs > 3 ? 3 : num_p_diffs);
        for (size_t k = 0; k < n; ++k) {
            w.write_u8(static_cast<uint8_t>(((p_diffs[k] & 0x7F) << 1) | (k + 1 < n ? 1 : 0)));
        }
    }
    if (ss) write_ss(w, *ss);
}

Result<std::vector<RtpPayload>> Vp9Packetizer::packetize(ByteView frame, size_t max_payload_size) {
    if (frame.empty()) return make_error(ErrorCategory::DataError, "rtp", "empty VP9 frame");
    Vp9PayloadDescriptor first = template_;
    first.beginning_of_frame = true;
    Vp9PayloadDescriptor rest = template_;
    rest.ss.reset();
    std::vector<uint8_t> h1, h2;
    ByteWriter w1(h1), w2(h2);
    first.write(w1);
    rest.write(w2);
    const size_t header = h1.size() > h2.size() ? h1.size() : h2.size();
    if (max_payload_size <= header) return make_error(ErrorCategory::RangeError, "rtp", "payload size too small for VP9");
    const auto parts = balanced_split(frame.size(), max_payload_size - header);
    std::vector<RtpPayload> out;
    size_t offset = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
        Vp9PayloadDescriptor d = i == 0 ? first : rest;
        d.beginning_of_frame = i == 0;
        d.end_of_frame = i + 1 == parts.size();
        RtpPayload p;
        ByteWriter w(p.data);
        d.write(w);
        w.write_bytes(frame.subspan(offset, parts[i]));
        offset += parts[i];
        out.push_back(std::move(p));
    }
    out.back().marker = true;
    if (auto_picture_id_ && template_.picture_id) {
        template_.picture_id =
            static_cast<uint16_t>((*template_.picture_id + 1) & (template_.picture_id_15bit ? 0x7FFF : 0x7F));
    }
    return out;
}

bool Vp9Depacketizer::depacketize(ByteView payload, bool first, std::vector<uint8_t>& frame, PayloadInfo& info) {
    ByteReader r(payload);
    auto d = Vp9PayloadDescriptor::read(r);
    if (!d) return false;
    const ByteView data = r.read_rest();
    if (data.empty()) return false;
    if (d->ss) ss_ = d->ss;
    last_ = d;
    if (first) {
        info.frame_start = d->beginning_of_frame;
        if (!info.frame_start) return true;  // the base class drops it
    }
    if (d->beginning_of_frame) {
        if (in_layer_) return false;  // a new layer frame before the previous one ended
        if (layer_starts_.size() == 8) return false;
        layer_starts_.push_back(frame.size());
        in_layer_ = true;
        info.keyframe = !d->inter_picture_predicted && (!d->has_layer_indices || d->spatial_id == 0);
    } else if (!in_layer_) {
        return false;  // continuation of a layer frame whose start was lost
    }
    frame.insert(frame.end(), data.begin(), data.end());
    if (d->end_of_frame) in_layer_ = false;
    return true;
}

bool Vp9Depacketizer::finish_frame(std::vector<uint8_t>& frame, bool&) {
    if (in_layer_) return false;  // marker without E: the layer frame is incomplete
    if (layer_starts_.size() <= 1) return true;
    // Superframe index: marker, sizes little endian in `mag` bytes each, marker again.
    std::vector<size_t> sizes;
    for (size_t i = 0; i < layer_starts_.size(); ++i) {
        const size_t end = i + 1 < layer_starts_.size() ? layer_starts_[i + 1] : frame.size();
        sizes.push_back(end - layer_starts_[i]);
    }
    size_t max = 0;
    for (size_t s : sizes) max = s > max ? s : max;
    const size_t mag = max <= 0xFF ? 1 : max <= 0xFFFF ? 2 : max <= 0xFFFFFF ? 3 : 4;
    const uint8_t marker = static_cast<uint8_t>(0xC0 | ((mag - 1) << 3) | (sizes.size() - 1));
    frame.push_back(marker);
    for (size_t s : sizes) {
        for (size_t k = 0; k < mag; ++k) frame.push_back(static_cast<uint8_t>(s >> (8 * k)));
    }
    frame.push_back(marker);
    return true;
}

void Vp9Depacketizer::reset_frame() {
    layer_starts_.clear();
    in_layer_ = false;
}

} // namespace rtcpp::rtp
