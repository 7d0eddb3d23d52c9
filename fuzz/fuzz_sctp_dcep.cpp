// DCEP (RFC 8832) parser: whatever parses must serialise and parse back to the same message.
#include "sctp/dcep.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto parsed = rtcpp::sctp::parse_dcep(rtcpp::ByteView(data, size));
    if (!parsed.ok()) return 0;
    auto bytes = rtcpp::sctp::serialize_dcep(*parsed);
    if (!bytes.ok()) std::abort();  // a parsed label/protocol always fits its 16-bit length
    auto again = rtcpp::sctp::parse_dcep(*bytes);
    if (!again.ok() || !(*again == *parsed)) std::abort();
    // Serialised form is canonical: a second round gives the same bytes.
    auto bytes2 = rtcpp::sctp::serialize_dcep(*again);
    if (!bytes2.ok() || *bytes2 != *bytes) std::abort();
    if (auto* open = std::get_if<rtcpp::sctp::DcepOpen>(&*parsed)) {
        // Channel type and reliability agree both ways.
        if (rtcpp::sctp::channel_type_for(open->reliability()) != open->channel_type) std::abort();
    }
    return 0;
}
