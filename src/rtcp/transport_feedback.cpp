#include "rtcp/transport_feedback.hpp"

#include <cmath>

namespace rtcpp::rtcp {

namespace {
constexpr uint8_t kNotReceived = 0;
constexpr uint8_t kSmallDelta = 1;
constexpr uint8_t kLargeDelta = 2;
constexpr size_t kMaxRun = 0x1FFF;

int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}
} // namespace

size_t TransportFeedback::received_count() const {
    size_t n = 0;
    for (const auto& p : packets) n += p.arrival.has_value();
    return n;
}

std::optional<TransportFeedback> TransportFeedback::create(uint32_t sender_ssrc, uint32_t media_ssrc,
                                                           uint8_t feedback_count, std::span<const Packet> in) {
    if (in.empty()) return std::nullopt;
    TransportFeedback fb;
    fb.sender_ssrc = sender_ssrc;
    fb.media_ssrc = media_ssrc;
    fb.feedback_count = feedback_count;
    fb.base_sequence_number = in.front().sequence_number;

    std::optional<int64_t> ref_full;
    for (const auto& p : in) {
        if (p.arrival) {
            ref_full = floor_div(p.arrival->us(), kReferenceTickUs);
            break;
        }
    }
    const int64_t ref = ref_full.value_or(0);
    fb.reference_time = static_cast<uint32_t>(ref & 0xFFFFFF);
    const int64_t base_us = int64_t{fb.reference_time} * kReferenceTickUs;

    fb.packets.reserve(in.size());
    int64_t prev_ticks = 0;
    uint16_t next_seq = fb.base_sequence_number;
    for (const auto& p : in) {
        uint16_t gap = static_cast<uint16_t>(p.sequence_number - next_seq);
        if (!fb.packets.empty() && gap >= 0x8000) {
            // Only a repeat of the previous number is allowed (anything else is out of order): a reception
            // replaces a loss, otherwise the repeat is ignored.
            if (static_cast<uint16_t>(p.sequence_number + 1) != next_seq) return std::nullopt;
            if (fb.packets.back().arrival || !p.arrival) continue;
            fb.packets.pop_back();
            gap = 0;
        }
        if (fb.packets.size() + gap + 1 > 0xFFFF) return std::nullopt;
        for (uint16_t i = 0; i < gap; ++i) {
            fb.packets.push_back(Packet{static_cast<uint16_t>(next_seq + i), std::nullopt});
        }
        Packet out{p.sequence_number, std::nullopt};
        if (p.arrival) {
            const double rel = static_cast<double>(p.arrival->us() - ref * kReferenceTickUs);
            const int64_t ticks = std::llround(rel / kDeltaTickUs);
            const int64_t delta = ticks - prev_ticks;
            if (delta < INT16_MIN || delta > INT16_MAX) return std::nullopt;
            prev_ticks = ticks;
            out.arrival = Timestamp::micros(base_us + ticks * kDeltaTickUs);
        }
        fb.packets.push_back(out);
        next_seq = static_cast<uint16_t>(p.sequence_number + 1);
    }
    return fb;
}

std::vector<int32_t> TransportFeedback::deltas() const {
    std::vector<int32_t> out;
    out.reserve(packets.size());
    const int64_t base_us = int64_t{reference_time} * kReferenceTickUs;
    int64_t prev = 0;
    for (const auto& p : packets) {
        if (!p.arrival) continue;
        const int64_t ticks = floor_div(p.arrival->us() - base_us, kDeltaTickUs);
        out.push_back(static_cast<int32_t>(ticks - prev));
        prev = ticks;
    }
    return out;
}

void TransportFeedback::write(ByteWriter& w) const {
    const auto d = deltas();
    std::vector<uint8_t> symbols;
    symbols.reserve(packets.size());
    size_t di = 0;
    for (const auto& p : packets) {
        if (!p.arrival) {
            symbols.push_back(kNotReceived);
        } else {
            const int32_t v = d[di++];
            symbols.push_back(v >= 0 && v <= 255 ? kSmallDelta : kLargeDelta);
        }
    }

    const size_t start = begin_packet(w, kFmtTransportCc, kRtpFeedback);
    w.write_u32(sender_ssrc);
    w.write_u32(media_ssrc);
    w.write_u16(base_sequence_number);
    w.write_u16(static_cast<uint16_t>(packets.size()));
    w.write_u32((reference_time << 8) | feedback_count);

    const size_t n = symbols.size();
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < kMaxRun && symbols[i + run] == symbols[i]) ++run;
        if (run >= 14 || (run >= 7 && symbols[i] == kLargeDelta) || i + run == n) {
            w.write_u16(static_cast<uint16_t>((symbols[i] << 13) | run));
            i += run;
            continue;
        }
        bool one_bit = true;
        for (size_t k = i; k < n && k < i + 14; ++k) one_bit = one_bit && symbols[k] != kLargeDelta;
        if (one_bit) {
            uint16_t chunk = 0x8000;
            for (size_t k = 0; k < 14 && i + k < n; ++k) chunk = static_cast<uint16_t>(chunk | (symbols[i + k] << (13 - k)));
            w.write_u16(chunk);
            i += 14;
        } else {
            uint16_t chunk = 0xC000;
            for (size_t k = 0; k < 7 && i + k < n; ++k) chunk = static_cast<uint16_t>(chunk | (symbols[i + k] << (12 - 2 * k)));
            w.write_u16(chunk);
            i += 7;
        }
    }
    di = 0;
    for (uint8_t s : symbols) {
        if (s == kSmallDelta) w.write_u8(static_cast<uint8_t>(d[di++]));
        else if (s == kLargeDelta) w.write_u16(static_cast<uint16_t>(static_cast<int16_t>(d[di++])));
    }
    finish_packet(w, start);
}

size_t TransportFeedback::size() const {
    std::vector<uint8_t> tmp;
    ByteWriter w(tmp);
    write(w);
    return tmp.size();
}

std::optional<TransportFeedback> TransportFeedback::parse(const RtcpHeader& h) {
    if (h.packet_type != kRtpFeedback || h.count != kFmtTransportCc) return std::nullopt;
    ByteReader r(h.body);
    TransportFeedback fb;
    const auto s = r.read_u32();
    const auto m = r.read_u32();
    const auto base = r.read_u16();
    const auto count = r.read_u16();
    const auto ref = r.read_u32();
    if (!r.ok() || *count == 0) return std::nullopt;
    fb.sender_ssrc = *s;
    fb.media_ssrc = *m;
    fb.base_sequence_number = *base;
    fb.reference_time = *ref >> 8;
    fb.feedback_count = static_cast<uint8_t>(*ref & 0xFF);

    // One chunk covers at most 8191 symbols: a count the body cannot hold is a lie, caught before allocating.
    if (r.remaining() < (size_t{*count} + kMaxRun - 1) / kMaxRun * 2) return std::nullopt;
    std::vector<uint8_t> symbols;
    symbols.reserve(*count);
    while (symbols.size() < *count) {
        const auto chunk = r.read_u16();
        if (!chunk) return std::nullopt;
        const size_t left = *count - symbols.size();
        if ((*chunk & 0x8000) == 0) {
            const uint8_t sym = static_cast<uint8_t>((*chunk >> 13) & 3);
            const size_t run = *chunk & 0x1FFF;
            if (sym == 3) return std::nullopt;
            symbols.insert(symbols.end(), run < left ? run : left, sym);
        } else if ((*chunk & 0x4000) == 0) {
            for (size_t k = 0; k < 14 && k < left; ++k) symbols.push_back(static_cast<uint8_t>((*chunk >> (13 - k)) & 1));
        } else {
            for (size_t k = 0; k < 7 && k < left; ++k) {
                const uint8_t sym = static_cast<uint8_t>((*chunk >> (12 - 2 * k)) & 3);
                if (sym == 3) return std::nullopt;
                symbols.push_back(sym);
            }
        }
    }

    const int64_t base_us = int64_t{fb.reference_time} * kReferenceTickUs;
    int64_t ticks = 0;
    fb.packets.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
        Packet p{static_cast<uint16_t>(fb.base_sequence_number + i), std::nullopt};
        if (symbols[i] == kSmallDelta) {
            const auto v = r.read_u8();
            if (!v) return std::nullopt;
            ticks += *v;
            p.arrival = Timestamp::micros(base_us + ticks * kDeltaTickUs);
        } else if (symbols[i] == kLargeDelta) {
            const auto v = r.read_u16();
            if (!v) return std::nullopt;
            ticks += static_cast<int16_t>(*v);
            p.arrival = Timestamp::micros(base_us + ticks * kDeltaTickUs);
        }
        fb.packets.push_back(p);
    }
    if (r.remaining() >= 4) return std::nullopt;  // only padding may follow the deltas
    return fb;
}

} // namespace rtcpp::rtcp
