#include "rtp/fec_xor.hpp"

#include "rtp/rtp_packet.hpp"

#include <algorithm>

namespace rtcpp::rtp {

void FecParity::add(ByteView p) {
    byte0 ^= p[0];
    byte1 ^= p[1];
    timestamp ^= static_cast<uint32_t>(p[4]) << 24 | static_cast<uint32_t>(p[5]) << 16 |
                 static_cast<uint32_t>(p[6]) << 8 | p[7];
    const ByteView body = p.subspan(kRtpFixedHeaderSize);
    length ^= static_cast<uint16_t>(body.size());
    if (payload.size() < body.size()) payload.resize(body.size(), 0);
    for (size_t i = 0; i < body.size(); ++i) payload[i] ^= body[i];
}

bool FecRecoverer::add_media(ByteView packet) {
    if (packet.size() < kRtpFixedHeaderSize || packet.size() > kMaxFecPacketSize) return false;
    const uint16_t seq = static_cast<uint16_t>(packet[2] << 8 | packet[3]);
    const int64_t s = unwrapper_.unwrap(seq);
    if (have_media_ && s < newest_ - kWindowBehind) return false;
    if (media_.count(s)) return false;
    if (!have_media_ || s > newest_) newest_ = s;
    have_media_ = true;
    media_.emplace(s, std::vector<uint8_t>(packet.begin(), packet.end()));
    ++stats_.media_stored;
    trim();
    if (!equations_.empty()) run();
    return true;
}

void FecRecoverer::add_equation(const FecEquation& eq) {
    ++stats_.fec_received;
    if (eq.mask.none()) {
        ++stats_.fec_empty;
        return;
    }
    if (eq.payload.size() > kMaxFecPacketSize) {
        ++stats_.fec_inconsistent;
        return;
    }
    Pending p;
    p.base = unwrapper_.peek(eq.seq_base);
    size_t last_bit = 0;
    for (size_t i = 0; i < kMaxFecMaskBits; ++i)
        if (eq.mask[i]) last_bit = i;
    if (have_media_ && (p.base < newest_ - kWindowBehind ||
                        p.base + static_cast<int64_t>(last_bit) > newest_ + kWindowAhead)) {
        ++stats_.fec_out_of_window;
        return;
    }
    p.mask = eq.mask;
    p.byte0 = eq.byte0;
    p.byte1 = eq.byte1;
    p.timestamp = eq.timestamp;
    p.length = eq.length;
    p.payload.assign(eq.payload.begin(), eq.payload.end());
    equations_.push_back(std::move(p));
    while (equations_.size() > kMaxEquations) {
        equations_.pop_front();
        ++stats_.evicted;
    }
    run();
}

std::optional<std::vector<uint8_t>> FecRecoverer::poll_recovered() {
    if (recovered_.empty()) return std::nullopt;
    auto p = std::move(recovered_.front());
    recovered_.pop_front();
    return p;
}

void FecRecoverer::trim() {
    while (media_.size() > kMaxMedia) media_.erase(media_.begin());
    while (!media_.empty() && media_.begin()->first < newest_ - kWindowBehind) media_.erase(media_.begin());
    // Equations that reach behind the window can no longer be reasoned about.
    std::erase_if(equations_, [&](const Pending& p) {
        if (p.base >= newest_ - kWindowBehind) return false;
        ++stats_.evicted;
        return true;
    });
}

void FecRecoverer::run() {
    // Each pass either removes an equation or stops, so this ends after at most (equations + 1) passes.
    bool progress = true;
    while (progress) {
        progress = false;
        for (auto it = equations_.begin(); it != equations_.end();) {
            const Outcome o = try_solve(*it);
            if (o == Outcome::Waiting) {
                ++it;
                continue;
            }
            it = equations_.erase(it);
            if (o == Outcome::Solved) progress = true;
        }
    }
}

FecRecoverer::Outcome FecRecoverer::try_solve(const Pending& p) {
    int missing = 0;
    int64_t missing_seq = 0;
    for (size_t i = 0; i < kMaxFecMaskBits; ++i) {
        if (!p.mask[i]) continue;
        const int64_t s = p.base + static_cast<int64_t>(i);
        if (media_.count(s)) continue;
        if (++missing > 1) return Outcome::Waiting;
        missing_seq = s;
    }
    if (missing == 0) {
        ++stats_.fec_useless;
        return Outcome::Drop;
    }
    FecParity acc;
    acc.byte0 = p.byte0;
    acc.byte1 = p.byte1;
    acc.timestamp = p.timestamp;
    acc.length = p.length;
    acc.payload = p.payload;
    const size_t protection = p.payload.size();
    for (size_t i = 0; i < kMaxFecMaskBits; ++i) {
        if (!p.mask[i]) continue;
        const int64_t s = p.base + static_cast<int64_t>(i);
        if (s == missing_seq) continue;
        const auto& pkt = media_.at(s);
        // A present packet longer than the protection length cannot have been protected by this equation.
        if (pkt.size() - kRtpFixedHeaderSize > protection) {
            ++stats_.fec_inconsistent;
            return Outcome::Drop;
        }
        acc.add(pkt);
    }
    const size_t body = acc.length;
    if (body > protection || body + kRtpFixedHeaderSize > kMaxFecPacketSize) {
        ++stats_.fec_inconsistent;
        return Outcome::Drop;
    }
    std::vector<uint8_t> out(kRtpFixedHeaderSize + body);
    out[0] = static_cast<uint8_t>(0x80 | (acc.byte0 & 0x3F));
    out[1] = acc.byte1;
    const uint16_t seq = static_cast<uint16_t>(missing_seq);
    out[2] = static_cast<uint8_t>(seq >> 8);
    out[3] = static_cast<uint8_t>(seq);
    out[4] = static_cast<uint8_t>(acc.timestamp >> 24);
    out[5] = static_cast<uint8_t>(acc.timestamp >> 16);
    out[6] = static_cast<uint8_t>(acc.timestamp >> 8);
    out[7] = static_cast<uint8_t>(acc.timestamp);
    out[8] = static_cast<uint8_t>(ssrc_ >> 24);
    out[9] = static_cast<uint8_t>(ssrc_ >> 16);
    out[10] = static_cast<uint8_t>(ssrc_ >> 8);
    out[11] = static_cast<uint8_t>(ssrc_);
    std::copy_n(acc.payload.begin(), body, out.begin() + kRtpFixedHeaderSize);
    if (!RtpPacketView::parse(out)) {
        ++stats_.fec_inconsistent;
        return Outcome::Drop;
    }
    ++stats_.recovered;
    media_.emplace(missing_seq, out);
    if (missing_seq > newest_) newest_ = missing_seq;
    recovered_.push_back(std::move(out));
    while (recovered_.size() > kMaxMedia) recovered_.pop_front();
    return Outcome::Solved;
}

} // namespace rtcpp::rtp
