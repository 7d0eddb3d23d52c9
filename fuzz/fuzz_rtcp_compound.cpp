// Compound RTCP with every packet type, transport-cc and CCFB included: parse, write, and check that what was
// written parses back to the same bytes. Transport-cc lists must also survive TransportFeedback::create.
#include "rtcp/rtcp_compound.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtcp;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

void check_twcc(const TransportFeedback& fb) {
    for (const auto& p : fb.packets) {
        if (p.arrival && (p.arrival->us() < 0 || p.arrival->us() >= TransportFeedback::kTimeWrapUs)) return;
    }
    const auto built = TransportFeedback::create(fb.sender_ssrc, fb.media_ssrc, fb.feedback_count, fb.packets);
    if (!built) {
        // Only an all-lost list with a far first delta... cannot happen: the deltas came from 16-bit fields.
        check(false);
    }
    // Trailing losses are kept; the arrival times come back exactly (they are multiples of 250 µs).
    check(built->packets.size() == fb.packets.size());
    for (size_t i = 0; i < fb.packets.size(); ++i) check(built->packets[i] == fb.packets[i]);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    for (bool reduced : {true, false}) {
        RtcpCompoundError err{};
        const auto c = parse_rtcp_compound(in, RtcpParseOptions{reduced}, &err);
        if (!c) {
            check(err != RtcpCompoundError::None);
            continue;
        }
        check(err == RtcpCompoundError::None);
        size_t unknown = 0;
        for (const auto& p : c->packets) {
            unknown += std::holds_alternative<UnknownRtcpPacket>(p);
            if (const auto* fb = std::get_if<TransportFeedback>(&p)) check_twcc(*fb);
        }
        check(unknown == c->unknown);
        const auto bytes1 = build_rtcp_compound(c->packets);
        check(bytes1.size() % 4 == 0);
        if (c->packets.empty()) {
            // Everything in it was malformed: nothing to write back.
            check(bytes1.empty() && c->malformed > 0);
            continue;
        }
        const auto again = parse_rtcp_compound(bytes1);
        check(again.has_value());
        check(again->malformed == 0);
        check(again->packets.size() == c->packets.size());
        const auto bytes2 = build_rtcp_compound(again->packets);
        check(bytes1 == bytes2);
    }
    return 0;
}
