#include "sim/traffic.hpp"

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"

namespace rtcpp::sim {

PacketSource::PacketSource(SocketAddr local, SocketAddr remote, DataRate rate, size_t size, uint64_t count,
                           Timestamp start)
    : local_(local), remote_(remote), interval_(DataSize::bytes(static_cast<int64_t>(size)) / rate),
      size_(std::max<size_t>(size, 16)), count_(count), next_send_(start) {}

void PacketSource::handle_datagram(Timestamp, const Datagram& d) {
    ++received_;
    replies_.push_back(d);
}

void PacketSource::handle_timeout(Timestamp now) {
    while (sent_ < count_ && next_send_ <= now) {
        Datagram d{local_, remote_, {}};
        d.bytes.reserve(size_);
        ByteWriter w(d.bytes);
        w.write_u64(sent_);
        w.write_u64(static_cast<uint64_t>(next_send_.us()));
        w.write_zeros(size_ - 16);
        out_.push_back(std::move(d));
        ++sent_;
        next_send_ += interval_;
    }
}

std::optional<Datagram> PacketSource::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

Timestamp PacketSource::poll_timeout() { return sent_ < count_ ? next_send_ : Timestamp::plus_infinity(); }

void PacketSink::handle_datagram(Timestamp now, const Datagram& d) {
    ByteReader r(d.bytes);
    auto seq = r.read_u64();
    auto sent = r.read_u64();
    if (!seq || !sent) return;
    arrivals_.push_back({*seq, Timestamp::micros(static_cast<int64_t>(*sent)), now, d.from});
    if (*seq < (1u << 24)) {
        if (seen_.size() <= *seq) seen_.resize(*seq + 1);
        if (seen_[*seq]) ++duplicates_;
        seen_[*seq] = true;
    }
    if (any_ && *seq < highest_) ++reordered_;
    if (!any_ || *seq > highest_) highest_ = *seq;
    any_ = true;
    if (echo_) out_.push_back(Datagram{d.to, d.from, d.bytes});
}

std::optional<Datagram> PacketSink::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    Datagram d = std::move(out_.front());
    out_.pop_front();
    return d;
}

} // namespace rtcpp::sim
