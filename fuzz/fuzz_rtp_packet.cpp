// RTP packets with every header extension: parse, read every typed extension, rebuild, RTX round trip.
#include "rtp/header_extensions.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

// A typed value must survive write + parse unchanged.
template <class Ext>
void typed(const RtpPacketView& p, const ExtensionMap& map) {
    const auto v = get_extension<Ext>(p, map);
    if (!v) return;
    std::vector<uint8_t> buf(Ext::size(*v));
    check(Ext::write(buf, *v));
    const auto again = Ext::parse(buf);
    check(again && *again == *v);
}

const ExtensionMap& map_for(uint8_t base) {
    static std::map<uint8_t, ExtensionMap> maps;
    auto it = maps.find(base);
    if (it != maps.end()) return it->second;
    ExtensionMap m;
    for (uint8_t t = 1; t < kRtpExtensionTypeCount; ++t) {
        m.register_extension(static_cast<uint8_t>(base + t - 1), static_cast<RtpExtensionType>(t));
    }
    return maps.emplace(base, m).first->second;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    RtpParseError err{};
    const auto p = RtpPacketView::parse(in, &err);
    if (!p) {
        check(err != RtpParseError::None);
        return 0;
    }
    check(p->header_size() + p->payload().size() + p->padding_size() == size);
    for (size_t i = 0; i < p->csrc_count(); ++i) (void)p->csrc(i);

    // Two maps: ids 1..9 (one-byte range) and 200..208 (two-byte only).
    for (uint8_t base : {uint8_t{1}, uint8_t{200}}) {
        const auto& map = map_for(base);
        typed<MidExtension>(*p, map);
        typed<RidExtension>(*p, map);
        typed<RepairedRidExtension>(*p, map);
        typed<AbsSendTimeExtension>(*p, map);
        typed<TransportSequenceNumberExtension>(*p, map);
        typed<AudioLevelExtension>(*p, map);
        typed<VideoOrientationExtension>(*p, map);
        typed<PlayoutDelayExtension>(*p, map);
        typed<AbsCaptureTimeExtension>(*p, map);
    }

    // The last occurrence of each id is what an RtpHeader keeps.
    std::map<uint8_t, ByteView> last;
    size_t bytes = 0;
    p->for_each_extension([&](const RtpExtensionElement& e) {
        last[e.id] = e.data;
        bytes += e.data.size();
    });
    const bool copyable = p->extension_form() != ExtensionForm::Other && last.size() <= RtpExtensionList::kMaxElements &&
                          bytes <= RtpExtensionList::kMaxBytes;
    const RtpHeader h = RtpHeader::from_view(*p);
    const auto rebuilt = build_rtp_packet(h, p->payload());
    const auto q = RtpPacketView::parse(rebuilt);
    check(q.has_value());
    check(q->marker() == p->marker() && q->payload_type() == p->payload_type() &&
          q->sequence_number() == p->sequence_number() && q->timestamp() == p->timestamp() &&
          q->ssrc() == p->ssrc() && q->csrc_count() == p->csrc_count());
    for (size_t i = 0; i < p->csrc_count(); ++i) check(q->csrc(i) == p->csrc(i));
    check(std::vector<uint8_t>(q->payload().begin(), q->payload().end()) ==
          std::vector<uint8_t>(p->payload().begin(), p->payload().end()));
    if (copyable) {
        size_t n = 0;
        q->for_each_extension([&](const RtpExtensionElement& e) {
            ++n;
            const auto it = last.find(e.id);
            check(it != last.end());
            check(std::vector<uint8_t>(e.data.begin(), e.data.end()) ==
                  std::vector<uint8_t>(it->second.begin(), it->second.end()));
        });
        check(n == last.size());
    }
    // The same through a caller buffer.
    std::vector<uint8_t> buf(h.size() + p->payload().size());
    SpanWriter w(buf);
    check(write_rtp_packet(w, h, p->payload()));
    check(buf == rebuilt);

    // RTX: unwrap(wrap(p)) is p without padding.
    const auto rtx = wrap_rtx(*p, RtxParams{97, 0x1234, 7});
    const auto rv = RtpPacketView::parse(rtx);
    check(rv.has_value());
    const auto back = unwrap_rtx(*rv, p->payload_type(), p->ssrc());
    check(back.has_value() && *back == rebuilt);
    return 0;
}
