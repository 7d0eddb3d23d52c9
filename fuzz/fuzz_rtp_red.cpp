// RED (RFC 2198) payloads: parse, rewrite what parsed and parse again (must give the same blocks), split as audio,
// and unwrap as video.
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
bool same(ByteView a, ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    if (const auto p = parse_red(in)) {
        check(p->count >= 1 && p->count <= kRedMaxBlocks);
        std::vector<uint8_t> out;
        ByteWriter w(out);
        check(write_red(w, std::span<const RedBlock>(p->blocks.data(), p->count - 1), p->primary().payload_type,
                        p->primary().data));
        const auto again = parse_red(out);
        check(again.has_value() && again->count == p->count);
        for (size_t i = 0; i < p->count; ++i) {
            check(again->blocks[i].payload_type == p->blocks[i].payload_type);
            check(again->blocks[i].timestamp_offset == p->blocks[i].timestamp_offset);
            check(same(again->blocks[i].data, p->blocks[i].data));
        }
        check(out.size() == size);
    }
    std::array<RedAudioFrame, kRedMaxBlocks> frames{};
    const size_t n = split_red_audio(in, 123456, frames);
    check(n <= kRedMaxBlocks);
    if (const auto v = RtpPacketView::parse(in)) {
        if (auto media = unwrap_red_primary(*v, 117)) {
            const auto m = RtpPacketView::parse(*media);
            check(m.has_value());
            check(m->ssrc() == v->ssrc() && m->sequence_number() == v->sequence_number());
        }
    }
    // An audio RED encoder fed the input as frames never produces something its own parser rejects.
    AudioRedEncoder enc(111, 2, 1200);
    uint32_t ts = 0;
    for (size_t off = 0; off + 1 < size; off += 1 + data[off]) {
        const size_t len = std::min<size_t>(data[off], size - off - 1);
        ts += 960u * (1 + (data[off] & 3));
        const auto payload = enc.encode(ts, in.subspan(off + 1, len));
        check(parse_red(payload).has_value());
    }
    return 0;
}
