#include "rtp/rtp_packet.hpp"

#include <cstring>

namespace rtcpp::rtp {

std::string_view to_string(RtpParseError e) {
    switch (e) {
    case RtpParseError::None: return "none";
    case RtpParseError::TooShort: return "too short";
    case RtpParseError::BadVersion: return "bad version";
    case RtpParseError::TruncatedCsrcs: return "truncated CSRC list";
    case RtpParseError::TruncatedExtension: return "truncated header extension";
    case RtpParseError::BadExtension: return "bad header extension element";
    case RtpParseError::BadPadding: return "bad padding";
    }
    return "?";
}

std::optional<RtpPacketView> RtpPacketView::parse(ByteView packet, RtpParseError* error) {
    auto fail = [&](RtpParseError e) -> std::optional<RtpPacketView> {
        if (error) *error = e;
        return std::nullopt;
    };
    ByteReader r(packet);
    const auto b0 = r.read_u8();
    const auto b1 = r.read_u8();
    const auto seq = r.read_u16();
    const auto ts = r.read_u32();
    const auto ssrc = r.read_u32();
    if (!r.ok()) return fail(RtpParseError::TooShort);
    if ((*b0 >> 6) != 2) return fail(RtpParseError::BadVersion);

    RtpPacketView v;
    v.bytes_ = packet;
    v.marker_ = (*b1 & 0x80) != 0;
    v.payload_type_ = *b1 & 0x7F;
    v.sequence_number_ = *seq;
    v.timestamp_ = *ts;
    v.ssrc_ = *ssrc;
    v.csrc_count_ = *b0 & 0x0F;
    if (!r.skip(size_t{v.csrc_count_} * 4)) return fail(RtpParseError::TruncatedCsrcs);

    if (*b0 & 0x10) {
        const auto profile = r.read_u16();
        const auto words = r.read_u16();
        if (!r.ok()) return fail(RtpParseError::TruncatedExtension);
        const auto data = r.read_bytes(size_t{*words} * 4);
        if (!data) return fail(RtpParseError::TruncatedExtension);
        v.ext_profile_ = *profile;
        v.ext_data_ = *data;
        if (*profile == kOneByteExtensionProfile) {
            v.ext_form_ = ExtensionForm::OneByte;
        } else if ((*profile & 0xFFF0) == kTwoByteExtensionProfile) {
            v.ext_form_ = ExtensionForm::TwoByte;
        } else {
            v.ext_form_ = ExtensionForm::Other;
        }
        if (v.ext_form_ != ExtensionForm::Other &&
            !detail::walk_extensions(v.ext_form_, *data, [](const RtpExtensionElement&) { return true; })) {
            return fail(RtpParseError::BadExtension);
        }
    }
    v.header_size_ = static_cast<uint32_t>(r.position());
    ByteView rest = r.rest();
    if (*b0 & 0x20) {
        // The last byte counts the padding, itself included; it cannot reach into the header.
        if (rest.empty()) return fail(RtpParseError::BadPadding);
        ByteReader pr(rest);
        const uint8_t pad = *pr.peek_u8(rest.size() - 1);
        if (pad == 0 || pad > rest.size()) return fail(RtpParseError::BadPadding);
        v.padding_size_ = pad;
        rest = rest.first(rest.size() - pad);
    }
    v.payload_ = rest;
    if (error) *error = RtpParseError::None;
    return v;
}

uint32_t RtpPacketView::csrc(size_t i) const {
    ByteReader r(bytes_);
    return r.peek_u32(kRtpFixedHeaderSize + 4 * i).value_or(0);
}

std::optional<ByteView> RtpPacketView::find_extension(uint8_t id) const {
    if (ext_form_ != ExtensionForm::OneByte && ext_form_ != ExtensionForm::TwoByte) return std::nullopt;
    std::optional<ByteView> found;
    detail::walk_extensions(ext_form_, ext_data_, [&](const RtpExtensionElement& e) {
        if (e.id != id) return true;
        found = e.data;
        return false;
    });
    return found;
}

// ---------------------------------------------------------------------------------------------------------------

bool RtpExtensionList::set(uint8_t id, ByteView data) {
    auto span = allocate(id, data.size());
    if (!span) return false;
    if (!data.empty()) std::memcpy(span->data(), data.data(), data.size());
    return true;
}

std::optional<std::span<uint8_t>> RtpExtensionList::allocate(uint8_t id, size_t size) {
    if (id == 0 || size > 255) return std::nullopt;
    remove(id);
    if (count_ == kMaxElements || used_ + size > kMaxBytes) return std::nullopt;
    elems_[count_] = Elem{static_cast<uint16_t>(used_), static_cast<uint8_t>(size), id};
    ++count_;
    std::span<uint8_t> out(data_.data() + used_, size);
    used_ += size;
    return out;
}

bool RtpExtensionList::remove(uint8_t id) {
    for (size_t i = 0; i < count_; ++i) {
        if (elems_[i].id != id) continue;
        // Compact the data so the space can be reused.
        const Elem gone = elems_[i];
        std::memmove(data_.data() + gone.offset, data_.data() + gone.offset + gone.len,
                     used_ - gone.offset - gone.len);
        used_ -= gone.len;
        for (size_t j = i + 1; j < count_; ++j) {
            elems_[j - 1] = elems_[j];
            if (elems_[j - 1].offset > gone.offset) elems_[j - 1].offset = static_cast<uint16_t>(elems_[j - 1].offset - gone.len);
        }
        --count_;
        return true;
    }
    return false;
}

std::optional<ByteView> RtpExtensionList::get(uint8_t id) const {
    for (size_t i = 0; i < count_; ++i) {
        if (elems_[i].id == id) return at(i).data;
    }
    return std::nullopt;
}

ExtensionForm RtpExtensionList::form() const {
    if (count_ == 0) return ExtensionForm::None;
    for (size_t i = 0; i < count_; ++i) {
        if (elems_[i].id > 14 || elems_[i].len == 0 || elems_[i].len > 16) return ExtensionForm::TwoByte;
    }
    return ExtensionForm::OneByte;
}

size_t RtpExtensionList::block_size(ExtensionForm form) const {
    if (count_ == 0 || form == ExtensionForm::None) return 0;
    const size_t per = form == ExtensionForm::OneByte ? 1 : 2;
    size_t n = 0;
    for (size_t i = 0; i < count_; ++i) n += per + elems_[i].len;
    return 4 + (n + 3) / 4 * 4;
}

RtpHeader RtpHeader::from_view(const RtpPacketView& view) {
    RtpHeader h;
    h.marker = view.marker();
    h.payload_type = view.payload_type();
    h.sequence_number = view.sequence_number();
    h.timestamp = view.timestamp();
    h.ssrc = view.ssrc();
    h.csrc_count = static_cast<uint8_t>(view.csrc_count());
    for (size_t i = 0; i < view.csrc_count(); ++i) h.csrcs[i] = view.csrc(i);
    h.force_two_byte_extensions = view.extension_form() == ExtensionForm::TwoByte;
    view.for_each_extension([&](const RtpExtensionElement& e) { h.extensions.set(e.id, e.data); });
    return h;
}

bool RtpHeader::add_csrc(uint32_t csrc) {
    if (csrc_count >= kMaxCsrcs) return false;
    csrcs[csrc_count++] = csrc;
    return true;
}

namespace {
ExtensionForm effective_form(const RtpHeader& h) {
    const auto f = h.extensions.form();
    if (f == ExtensionForm::OneByte && h.force_two_byte_extensions) return ExtensionForm::TwoByte;
    return f;
}

// Works for both writers: they share the write_* names.
template <class W>
void write_header(W& w, const RtpHeader& h, bool padding) {
    const auto form = effective_form(h);
    const uint8_t b0 = static_cast<uint8_t>(0x80 | (padding ? 0x20 : 0) | (form != ExtensionForm::None ? 0x10 : 0) |
                                            (h.csrc_count & 0x0F));
    w.write_u8(b0);
    w.write_u8(static_cast<uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F)));
    w.write_u16(h.sequence_number);
    w.write_u32(h.timestamp);
    w.write_u32(h.ssrc);
    for (size_t i = 0; i < h.csrc_count; ++i) w.write_u32(h.csrcs[i]);
    if (form == ExtensionForm::None) return;
    const size_t block = h.extensions.block_size(form);
    w.write_u16(form == ExtensionForm::OneByte ? kOneByteExtensionProfile : kTwoByteExtensionProfile);
    w.write_u16(static_cast<uint16_t>((block - 4) / 4));
    size_t written = 0;
    for (size_t i = 0; i < h.extensions.size(); ++i) {
        const auto e = h.extensions.at(i);
        if (form == ExtensionForm::OneByte) {
            w.write_u8(static_cast<uint8_t>((e.id << 4) | (e.data.size() - 1)));
            written += 1;
        } else {
            w.write_u8(e.id);
            w.write_u8(static_cast<uint8_t>(e.data.size()));
            written += 2;
        }
        w.write_bytes(e.data);
        written += e.data.size();
    }
    w.write_zeros(block - 4 - written);
}
} // namespace

size_t RtpHeader::size() const {
    return kRtpFixedHeaderSize + 4 * size_t{csrc_count} + extensions.block_size(effective_form(*this));
}

bool write_rtp_packet(SpanWriter& w, const RtpHeader& header, ByteView payload, uint8_t padding) {
    if (header.csrc_count > kMaxCsrcs) return false;
    if (w.remaining() < header.size() + payload.size() + padding) {
        w.write_zeros(w.remaining() + 1);  // make the failure sticky, as an overflowing write would
        return false;
    }
    write_header(w, header, padding > 0);
    w.write_bytes(payload);
    if (padding > 0) {
        w.write_zeros(padding - 1u);
        w.write_u8(padding);
    }
    return w.ok();
}

void write_rtp_packet(ByteWriter& w, const RtpHeader& header, ByteView payload, uint8_t padding) {
    write_header(w, header, padding > 0);
    w.write_bytes(payload);
    if (padding > 0) {
        w.write_zeros(padding - 1u);
        w.write_u8(padding);
    }
}

std::vector<uint8_t> build_rtp_packet(const RtpHeader& header, ByteView payload, uint8_t padding) {
    std::vector<uint8_t> out;
    out.reserve(header.size() + payload.size() + padding);
    ByteWriter w(out);
    write_rtp_packet(w, header, payload, padding);
    return out;
}

bool looks_like_rtcp(ByteView packet) {
    const auto b1 = ByteReader(packet).peek_u8(1);
    if (!b1) return false;
    const uint8_t pt = *b1 & 0x7F;
    return pt >= 64 && pt <= 95;
}

} // namespace rtcpp::rtp
