#include "rtcp/rtcp_packets.hpp"

namespace rtcpp::rtcp {

std::optional<RtcpHeader> read_rtcp_header(ByteReader& r) {
    const auto start = r.rest();
    const auto b0 = r.read_u8();
    const auto pt = r.read_u8();
    const auto words = r.read_u16();
    if (!r.ok() || (*b0 >> 6) != 2) return std::nullopt;
    auto body = r.read_bytes(size_t{*words} * 4);
    if (!body) return std::nullopt;
    RtcpHeader h;
    h.count = *b0 & 0x1F;
    h.packet_type = *pt;
    h.padding = (*b0 & 0x20) != 0;
    h.packet = start.first(4 + body->size());
    if (h.padding) {
        if (body->empty()) return std::nullopt;
        const uint8_t pad = *ByteReader(*body).peek_u8(body->size() - 1);
        if (pad == 0 || pad > body->size()) return std::nullopt;
        h.body = body->first(body->size() - pad);
    } else {
        h.body = *body;
    }
    return h;
}

size_t begin_packet(ByteWriter& w, uint8_t count, uint8_t packet_type) {
    const size_t start = w.position();
    w.write_u8(static_cast<uint8_t>(0x80 | (count & 0x1F)));
    w.write_u8(packet_type);
    w.write_u16(0);
    return start;
}

void finish_packet(ByteWriter& w, size_t start) {
    w.pad_to(4);
    const size_t words = (w.position() - start) / 4 - 1;
    w.patch_u16(start + 2, static_cast<uint16_t>(words));
}

uint32_t to_compact_ntp(TimeDelta d) {
    if (d < TimeDelta::zero()) return 0;
    const uint64_t v = (static_cast<uint64_t>(d.us()) * 65536 + 500000) / 1000000;
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(v);
}

TimeDelta from_compact_ntp(uint32_t v) {
    return TimeDelta::micros(static_cast<int64_t>((uint64_t{v} * 1000000 + 32768) >> 16));
}

// --- report blocks ------------------------------------------------------------------------------------------

std::optional<ReportBlock> ReportBlock::read(ByteReader& r) {
    ReportBlock b;
    const auto ssrc = r.read_u32();
    const auto lost = r.read_u32();
    const auto ehs = r.read_u32();
    const auto jitter = r.read_u32();
    const auto lsr = r.read_u32();
    const auto dlsr = r.read_u32();
    if (!r.ok()) return std::nullopt;
    b.source_ssrc = *ssrc;
    b.fraction_lost = static_cast<uint8_t>(*lost >> 24);
    // Sign-extend the 24-bit cumulative count.
    const uint32_t c = *lost & 0xFFFFFF;
    b.cumulative_lost = (c & 0x800000) ? static_cast<int32_t>(c) - 0x1000000 : static_cast<int32_t>(c);
    b.extended_highest_sequence = *ehs;
    b.jitter = *jitter;
    b.last_sr = *lsr;
    b.delay_since_last_sr = *dlsr;
    return b;
}

void ReportBlock::write(ByteWriter& w) const {
    w.write_u32(source_ssrc);
    const int32_t clamped = cumulative_lost > 0x7FFFFF ? 0x7FFFFF : (cumulative_lost < -0x800000 ? -0x800000 : cumulative_lost);
    w.write_u32((uint32_t{fraction_lost} << 24) | (static_cast<uint32_t>(clamped) & 0xFFFFFF));
    w.write_u32(extended_highest_sequence);
    w.write_u32(jitter);
    w.write_u32(last_sr);
    w.write_u32(delay_since_last_sr);
}

namespace {
bool read_blocks(ByteReader& r, size_t n, std::vector<ReportBlock>& out) {
    if (r.remaining() < n * ReportBlock::kSize) return false;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(*ReportBlock::read(r));
    return true;
}
} // namespace

std::optional<SenderReport> SenderReport::parse(const RtcpHeader& h) {
    if (h.packet_type != kSenderReport) return std::nullopt;
    ByteReader r(h.body);
    SenderReport sr;
    const auto ssrc = r.read_u32();
    const auto ntp = r.read_u64();
    const auto ts = r.read_u32();
    const auto pc = r.read_u32();
    const auto oc = r.read_u32();
    if (!r.ok()) return std::nullopt;
    sr.sender_ssrc = *ssrc;
    sr.ntp = NtpTime{*ntp};
    sr.rtp_timestamp = *ts;
    sr.packet_count = *pc;
    sr.octet_count = *oc;
    if (!read_blocks(r, h.count, sr.report_blocks)) return std::nullopt;
    // Anything after the blocks is a profile-specific extension: ignored.
    return sr;
}

void SenderReport::write(ByteWriter& w) const {
    const size_t n = report_blocks.size() > 31 ? 31 : report_blocks.size();
    const size_t start = begin_packet(w, static_cast<uint8_t>(n), kSenderReport);
    w.write_u32(sender_ssrc);
    w.write_u64(ntp.value);
    w.write_u32(rtp_timestamp);
    w.write_u32(packet_count);
    w.write_u32(octet_count);
    for (size_t i = 0; i < n; ++i) report_blocks[i].write(w);
    finish_packet(w, start);
}

std::optional<ReceiverReport> ReceiverReport::parse(const RtcpHeader& h) {
    if (h.packet_type != kReceiverReport) return std::nullopt;
    ByteReader r(h.body);
    ReceiverReport rr;
    const auto ssrc = r.read_u32();
    if (!ssrc) return std::nullopt;
    rr.sender_ssrc = *ssrc;
    if (!read_blocks(r, h.count, rr.report_blocks)) return std::nullopt;
    return rr;
}

void ReceiverReport::write(ByteWriter& w) const {
    const size_t n = report_blocks.size() > 31 ? 31 : report_blocks.size();
    const size_t start = begin_packet(w, static_cast<uint8_t>(n), kReceiverReport);
    w.write_u32(sender_ssrc);
    for (size_t i = 0; i < n; ++i) report_blocks[i].write(w);
    finish_packet(w, start);
}

// --- SDES ---------------------------------------------------------------------------------------------------

std::optional<std::string> Sdes::Chunk::cname() const {
    for (const auto& i : items) {
        if (i.type == kSdesCname) return i.value;
    }
    return std::nullopt;
}

std::optional<Sdes> Sdes::parse(const RtcpHeader& h) {
    if (h.packet_type != kSdes) return std::nullopt;
    ByteReader r(h.body);
    Sdes s;
    s.chunks.reserve(h.count);
    for (size_t c = 0; c < h.count; ++c) {
        Chunk chunk;
        const auto ssrc = r.read_u32();
        if (!ssrc) return std::nullopt;
        chunk.ssrc = *ssrc;
        for (;;) {
            const auto type = r.read_u8();
            if (!type) return std::nullopt;
            if (*type == kSdesEnd) break;
            const auto len = r.read_u8();
            if (!len) return std::nullopt;
            const auto text = r.read_string(*len);
            if (!text) return std::nullopt;
            chunk.items.push_back(Item{*type, std::string(*text)});
        }
        // The null item is followed by zeros up to the next 32-bit boundary.
        const size_t pad = (4 - r.position() % 4) % 4;
        if (!r.skip(pad)) return std::nullopt;
        s.chunks.push_back(std::move(chunk));
    }
    if (!r.empty()) return std::nullopt;
    return s;
}

void Sdes::write(ByteWriter& w) const {
    const size_t n = chunks.size() > 31 ? 31 : chunks.size();
    const size_t start = begin_packet(w, static_cast<uint8_t>(n), kSdes);
    for (size_t c = 0; c < n; ++c) {
        const auto& chunk = chunks[c];
        w.write_u32(chunk.ssrc);
        size_t written = 0;
        for (const auto& item : chunk.items) {
            if (item.type == kSdesEnd) continue;
            const size_t len = item.value.size() > 255 ? 255 : item.value.size();
            w.write_u8(item.type);
            w.write_u8(static_cast<uint8_t>(len));
            w.write_string(std::string_view(item.value).substr(0, len));
            written += 2 + len;
        }
        // At least one zero (the end item), then up to the boundary.
        w.write_zeros(4 - written % 4);
    }
    finish_packet(w, start);
}

// --- BYE, APP -----------------------------------------------------------------------------------------------

std::optional<Bye> Bye::parse(const RtcpHeader& h) {
    if (h.packet_type != kBye) return std::nullopt;
    ByteReader r(h.body);
    Bye b;
    for (size_t i = 0; i < h.count; ++i) {
        const auto ssrc = r.read_u32();
        if (!ssrc) return std::nullopt;
        b.ssrcs.push_back(*ssrc);
    }
    if (!r.empty()) {
        const auto len = r.read_u8();
        const auto text = r.read_string(*len);
        if (!text) return std::nullopt;
        b.reason = std::string(*text);
        if (r.remaining() >= 4) return std::nullopt;  // only padding may follow the reason
    }
    return b;
}

void Bye::write(ByteWriter& w) const {
    const size_t n = ssrcs.size() > 31 ? 31 : ssrcs.size();
    const size_t start = begin_packet(w, static_cast<uint8_t>(n), kBye);
    for (size_t i = 0; i < n; ++i) w.write_u32(ssrcs[i]);
    if (!reason.empty()) {
        const size_t len = reason.size() > 255 ? 255 : reason.size();
        w.write_u8(static_cast<uint8_t>(len));
        w.write_string(std::string_view(reason).substr(0, len));
    }
    finish_packet(w, start);
}

std::optional<App> App::parse(const RtcpHeader& h) {
    if (h.packet_type != kApp) return std::nullopt;
    ByteReader r(h.body);
    App a;
    a.subtype = h.count;
    const auto ssrc = r.read_u32();
    const auto name = r.read_bytes(4);
    if (!r.ok()) return std::nullopt;
    a.ssrc = *ssrc;
    for (size_t i = 0; i < 4; ++i) a.name[i] = static_cast<char>((*name)[i]);
    const auto rest = r.read_rest();
    a.data.assign(rest.begin(), rest.end());
    return a;
}

void App::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, subtype, kApp);
    w.write_u32(ssrc);
    for (char c : name) w.write_u8(static_cast<uint8_t>(c));
    w.write_bytes(data);
    finish_packet(w, start);
}

// --- transport and payload-specific feedback -----------------------------------------------------------------

std::optional<Nack> Nack::parse(const RtcpHeader& h) {
    if (h.packet_type != kRtpFeedback || h.count != kFmtNack) return std::nullopt;
    ByteReader r(h.body);
    Nack n;
    const auto s = r.read_u32();
    const auto m = r.read_u32();
    if (!r.ok() || r.remaining() % 4 != 0 || r.empty()) return std::nullopt;
    n.sender_ssrc = *s;
    n.media_ssrc = *m;
    while (!r.empty()) {
        const uint16_t pid = *r.read_u16();
        const uint16_t blp = *r.read_u16();
        n.sequence_numbers.push_back(pid);
        for (unsigned i = 0; i < 16; ++i) {
            if (blp & (1u << i)) n.sequence_numbers.push_back(static_cast<uint16_t>(pid + i + 1));
        }
    }
    return n;
}

namespace {
template <class F>
void for_each_nack_item(const std::vector<uint16_t>& seqs, F&& f) {
    bool open = false;
    uint16_t pid = 0, blp = 0;
    for (uint16_t s : seqs) {
        const uint16_t d = static_cast<uint16_t>(s - pid);
        if (open && d == 0) continue;
        if (open && d >= 1 && d <= 16) {
            blp = static_cast<uint16_t>(blp | (1u << (d - 1)));
            continue;
        }
        if (open) f(pid, blp);
        open = true;
        pid = s;
        blp = 0;
    }
    if (open) f(pid, blp);
}
} // namespace

size_t Nack::item_count() const {
    size_t n = 0;
    for_each_nack_item(sequence_numbers, [&](uint16_t, uint16_t) { ++n; });
    return n;
}

void Nack::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, kFmtNack, kRtpFeedback);
    w.write_u32(sender_ssrc);
    w.write_u32(media_ssrc);
    for_each_nack_item(sequence_numbers, [&](uint16_t pid, uint16_t blp) {
        w.write_u16(pid);
        w.write_u16(blp);
    });
    finish_packet(w, start);
}

std::optional<Pli> Pli::parse(const RtcpHeader& h) {
    if (h.packet_type != kPayloadFeedback || h.count != kFmtPli) return std::nullopt;
    ByteReader r(h.body);
    const auto s = r.read_u32();
    const auto m = r.read_u32();
    if (!r.ok()) return std::nullopt;
    return Pli{*s, *m};
}

void Pli::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, kFmtPli, kPayloadFeedback);
    w.write_u32(sender_ssrc);
    w.write_u32(media_ssrc);
    finish_packet(w, start);
}

std::optional<Fir> Fir::parse(const RtcpHeader& h) {
    if (h.packet_type != kPayloadFeedback || h.count != kFmtFir) return std::nullopt;
    ByteReader r(h.body);
    Fir f;
    const auto s = r.read_u32();
    const auto m = r.read_u32();  // unused, SHALL be 0
    if (!r.ok() || r.empty() || r.remaining() % 8 != 0) return std::nullopt;
    (void)m;
    f.sender_ssrc = *s;
    while (!r.empty()) {
        const uint32_t ssrc = *r.read_u32();
        const uint32_t word = *r.read_u32();
        f.entries.push_back(Entry{ssrc, static_cast<uint8_t>(word >> 24)});
    }
    return f;
}

void Fir::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, kFmtFir, kPayloadFeedback);
    w.write_u32(sender_ssrc);
    w.write_u32(0);
    for (const auto& e : entries) {
        w.write_u32(e.ssrc);
        w.write_u32(uint32_t{e.sequence_number} << 24);
    }
    finish_packet(w, start);
}

std::optional<Remb> Remb::parse(const RtcpHeader& h) {
    if (h.packet_type != kPayloadFeedback || h.count != kFmtAfb) return std::nullopt;
    ByteReader r(h.body);
    Remb remb;
    const auto s = r.read_u32();
    const auto m = r.read_u32();
    const auto id = r.read_u32();
    const auto num = r.read_u8();
    const auto br = r.read_u24();
    if (!r.ok() || *id != 0x52454D42u /* "REMB" */) return std::nullopt;
    (void)m;
    remb.sender_ssrc = *s;
    const unsigned exp = *br >> 18;
    const uint64_t mantissa = *br & 0x3FFFF;
    // 18 + exp bits must fit an int64 rate.
    if (mantissa != 0 && exp > 63 - 18) return std::nullopt;
    remb.bitrate = DataRate::bps(static_cast<int64_t>(mantissa << exp));
    if (r.remaining() != size_t{*num} * 4) return std::nullopt;
    for (size_t i = 0; i < *num; ++i) remb.ssrcs.push_back(*r.read_u32());
    return remb;
}

void Remb::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, kFmtAfb, kPayloadFeedback);
    w.write_u32(sender_ssrc);
    w.write_u32(0);
    w.write_u32(0x52454D42u);
    const size_t n = ssrcs.size() > 255 ? 255 : ssrcs.size();
    w.write_u8(static_cast<uint8_t>(n));
    const uint64_t bps = bitrate.bps() > 0 ? static_cast<uint64_t>(bitrate.bps()) : 0;
    unsigned exp = 0;
    while ((bps >> exp) > 0x3FFFF) ++exp;
    w.write_u24(static_cast<uint32_t>((exp << 18) | (bps >> exp)));
    for (size_t i = 0; i < n; ++i) w.write_u32(ssrcs[i]);
    finish_packet(w, start);
}

// --- XR -------------------------------------------------------------------------------------------------------

std::optional<ExtendedReports> ExtendedReports::parse(const RtcpHeader& h) {
    if (h.packet_type != kExtendedReport) return std::nullopt;
    ByteReader r(h.body);
    ExtendedReports xr;
    const auto s = r.read_u32();
    if (!s) return std::nullopt;
    xr.sender_ssrc = *s;
    while (!r.empty()) {
        const auto bt = r.read_u8();
        r.skip(1);
        const auto words = r.read_u16();
        if (!r.ok()) return std::nullopt;
        auto block = r.read_sub(size_t{*words} * 4);
        if (!block) return std::nullopt;
        if (*bt == 4) {
            if (*words != 2) return std::nullopt;
            xr.rrtr = NtpTime{*block->read_u64()};
        } else if (*bt == 5) {
            if (*words % 3 != 0) return std::nullopt;
            while (!block->empty()) {
                Dlrr d;
                d.ssrc = *block->read_u32();
                d.last_rr = *block->read_u32();
                d.delay_since_last_rr = *block->read_u32();
                xr.dlrr.push_back(d);
            }
        } else {
            ++xr.unknown_blocks;
        }
    }
    return xr;
}

void ExtendedReports::write(ByteWriter& w) const {
    const size_t start = begin_packet(w, 0, kExtendedReport);
    w.write_u32(sender_ssrc);
    if (rrtr) {
        w.write_u8(4);
        w.write_u8(0);
        w.write_u16(2);
        w.write_u64(rrtr->value);
    }
    if (!dlrr.empty()) {
        w.write_u8(5);
        w.write_u8(0);
        w.write_u16(static_cast<uint16_t>(dlrr.size() * 3));
        for (const auto& d : dlrr) {
            w.write_u32(d.ssrc);
            w.write_u32(d.last_rr);
            w.write_u32(d.delay_since_last_rr);
        }
    }
    finish_packet(w, start);
}

} // namespace rtcpp::rtcp
