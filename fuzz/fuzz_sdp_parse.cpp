// SDP parser, candidate parser and answerer on arbitrary text: no crash, no sanitizer report, and whatever we answer
// to an offer that parsed must itself parse.
#include "sdp/candidate.hpp"
#include "sdp/description.hpp"
#include "sdp/negotiator.hpp"

#include <rtcpp/random.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)rtcpp::sdp::parse_candidate(text);
    auto out = rtcpp::sdp::parse_detailed(text);
    if (out.errors.size() > rtcpp::sdp::kMaxErrors) std::abort();
    for (const auto& e : out.errors)
        if (e.reason.empty()) std::abort();
    if (!out.ok()) return 0;

    rtcpp::Random rng(1);
    rtcpp::sdp::LocalTransport t;
    t.ice_ufrag = "fuzz";
    t.ice_pwd = "fuzzfuzzfuzzfuzzfuzzfuzz";
    t.fingerprints = {rtcpp::sdp::Fingerprint{rtcpp::sdp::HashAlgorithm::Sha256, std::vector<uint8_t>(32, 1)}};
    rtcpp::sdp::Negotiator n(rng, t);
    n.add_transceiver({rtcpp::sdp::MediaKind::Audio, rtcpp::sdp::Direction::SendRecv, {}, {}, {}, "", ""});
    n.add_transceiver({rtcpp::sdp::MediaKind::Video, rtcpp::sdp::Direction::SendRecv, {}, {}, {{"a", true}, {"b", true}}, "", ""});
    auto answer = n.answer(out.description);
    if (!answer.ok()) return 0;
    if (answer->description.media.size() != out.description.media.size()) std::abort();
    auto reparsed = rtcpp::sdp::parse(rtcpp::sdp::serialize(answer->description));
    if (!reparsed.ok() || !(*reparsed == answer->description)) std::abort();
    // A follow-up offer from the same state must be well formed too.
    auto offer = n.create_offer();
    if (offer.ok() && !rtcpp::sdp::parse(rtcpp::sdp::serialize(*offer)).ok()) std::abort();
    return 0;
}
