#include "stun/turn_framing.hpp"

#include "core/byte_writer.hpp"

namespace rtcpp::stun {

bool is_channel_data(ByteView bytes) {
    ByteReader r(bytes);
    const auto channel = r.peek_u16();
    return channel && bytes.size() >= kChannelDataHeaderSize && (*channel & 0xC000) == 0x4000;
}

std::optional<ChannelDataView> parse_channel_data(ByteView bytes) {
    ByteReader r(bytes);
    const auto channel = r.read_u16();
    const auto len = r.read_u16();
    if (!channel || !len || !is_valid_channel(*channel)) return std::nullopt;
    const auto data = r.read_bytes(*len);
    if (!data) return std::nullopt;
    return ChannelDataView{*channel, *data};
}

void encode_channel_data(std::vector<uint8_t>& out, uint16_t channel, ByteView data, bool pad) {
    ByteWriter w(out);
    w.write_u16(channel);
    w.write_u16(static_cast<uint16_t>(data.size()));
    w.write_bytes(data);
    if (pad) w.write_zeros((4 - data.size() % 4) % 4);
}

void StreamFramer::feed(ByteView chunk) {
    if (broken_ || chunk.empty()) return;
    // Compact before growing, so the buffer holds at most one partial message plus the new chunk.
    if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ > 4096 && start_ * 2 > buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
}

std::optional<std::vector<uint8_t>> StreamFramer::next() {
    if (broken_) return std::nullopt;
    ByteReader r(ByteView(buffer_).subspan(start_));
    const auto first = r.peek_u16(0);
    const auto len = r.peek_u16(2);
    if (!first || !len) return std::nullopt;
    size_t total = 0;
    size_t keep = 0;
    switch (*first >> 14) {
    case 0: // STUN: the length field counts the attributes and is a multiple of 4
        total = 20 + *len;
        keep = total;
        break;
    case 1: // ChannelData, padded to 4 on a stream
        keep = kChannelDataHeaderSize + *len;
        total = (keep + 3) & ~size_t{3};
        break;
    default:
        broken_ = true;
        buffer_.clear();
        start_ = 0;
        return std::nullopt;
    }
    if (r.remaining() < total) return std::nullopt;
    const auto bytes = r.read_bytes(keep);
    if (!bytes) return std::nullopt;
    std::vector<uint8_t> msg(bytes->begin(), bytes->end());
    start_ += total;
    return msg;
}

void StreamFramer::reset() {
    buffer_.clear();
    start_ = 0;
    broken_ = false;
}

} // namespace rtcpp::stun
