// rtp-parse: RTP packets parsed and their header extensions read (mid, transport-wide-cc, abs-send-time,
// audio level), packets/s on one core. rtcp-twcc: a transport-cc feedback for 100 packets (5% lost, a few
// reordered) built, written, then parsed back from its bytes, feedbacks/s.
#include "bench.hpp"

#include "rtcp/rtcp_compound.hpp"
#include "rtcp/transport_feedback.hpp"
#include "rtp/header_extensions.hpp"
#include "rtp/rtp_packet.hpp"

#include <rtcpp/random.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Runs fn in batches until at least `budget` has passed; returns calls per second.
template <class F>
double rate(F&& fn, std::chrono::milliseconds budget) {
    size_t n = 0;
    const auto start = Clock::now();
    auto elapsed = Clock::duration::zero();
    while (elapsed < budget) {
        for (int i = 0; i < 256; ++i) fn();
        n += 256;
        elapsed = Clock::now() - start;
    }
    return static_cast<double>(n) / std::chrono::duration<double>(elapsed).count();
}

std::chrono::milliseconds budget_from(const std::vector<std::string>& args) {
    if (!args.empty()) return std::chrono::milliseconds(std::stol(args[0]));
    return std::chrono::milliseconds(1000);
}

int run_rtp_parse(rtcpp::bench::Reporter& r, const std::vector<std::string>& args) {
    using namespace rtcpp::rtp;
    ExtensionMap map;
    map.register_extension(1, RtpExtensionType::AudioLevel);
    map.register_extension(3, RtpExtensionType::AbsSendTime);
    map.register_extension(4, RtpExtensionType::Mid);
    map.register_extension(5, RtpExtensionType::TransportSequenceNumber);
    // 64 packets that differ in sequence numbers and extension values, 1,100 bytes of payload each.
    rtcpp::Random rng(1);
    std::vector<std::vector<uint8_t>> packets;
    std::vector<uint8_t> payload(1100);
    rng.fill(payload);
    for (uint16_t i = 0; i < 64; ++i) {
        RtpHeader h;
        h.payload_type = 96;
        h.sequence_number = static_cast<uint16_t>(1000 + i);
        h.timestamp = 90000u + 3000u * i;
        h.ssrc = 0x12345678;
        h.marker = i % 4 == 3;
        set_extension<MidExtension>(h, map, "0");
        set_extension<AbsSendTimeExtension>(h, map, 0x123456u + i);
        set_extension<TransportSequenceNumberExtension>(h, map, static_cast<uint16_t>(i * 7));
        set_extension<AudioLevelExtension>(h, map, AudioLevel{true, 30});
        packets.push_back(build_rtp_packet(h, payload));
    }
    size_t i = 0;
    uint64_t sink = 0;
    const double pps = rate(
        [&] {
            const auto& b = packets[i++ & 63];
            const auto p = RtpPacketView::parse(b);
            if (!p) return;
            sink += p->sequence_number() + p->payload().size();
            sink += get_extension<TransportSequenceNumberExtension>(*p, map).value_or(0);
            sink += get_extension<AbsSendTimeExtension>(*p, map).value_or(0);
            sink += get_extension<MidExtension>(*p, map).value_or("").size();
            sink += get_extension<AudioLevelExtension>(*p, map).value_or(AudioLevel{}).level;
        },
        budget_from(args));
    r.note("packet: " + std::to_string(packets[0].size()) + " bytes, 4 one-byte extensions; checksum " +
           std::to_string(sink % 1000));
    r.figure("rtp-parse", pps, "packets/s");
    return 0;
}

int run_rtcp_twcc(rtcpp::bench::Reporter& r, const std::vector<std::string>& args) {
    using namespace rtcpp::rtcp;
    rtcpp::Random rng(2);
    std::vector<TransportFeedback::Packet> packets;
    int64_t t = 5'000'000;
    for (uint16_t s = 0; s < 100; ++s) {
        t += 250 * static_cast<int64_t>(rng.uniform(40));
        if (rng.bernoulli(0.05)) continue;
        // A few late packets: negative deltas (two-byte) in the mix.
        const int64_t at = rng.bernoulli(0.03) ? t - 2000 : t;
        packets.push_back({static_cast<uint16_t>(65500 + s), rtcpp::Timestamp::micros(at)});
    }
    uint8_t count = 0;
    size_t bytes = 0;
    uint64_t sink = 0;
    std::vector<uint8_t> out;
    out.reserve(512);
    const double fps = rate(
        [&] {
            auto fb = TransportFeedback::create(1, 2, count++, packets);
            if (!fb) return;
            out.clear();
            rtcpp::ByteWriter w(out);
            fb->write(w);
            bytes = out.size();
            rtcpp::ByteReader reader(out);
            const auto h = read_rtcp_header(reader);
            if (!h) return;
            const auto back = TransportFeedback::parse(*h);
            if (back) sink += back->received_count();
        },
        budget_from(args));
    r.note("feedback: " + std::to_string(packets.size()) + " received of 100, " + std::to_string(bytes) +
           " bytes; checksum " + std::to_string(sink % 1000));
    r.figure("rtcp-twcc", fps, "feedbacks/s");
    return 0;
}

} // namespace

RTCPP_BENCHMARK("rtp-parse", "RTP parse + read of 4 header extensions, packets/s (arg: milliseconds)", run_rtp_parse);
RTCPP_BENCHMARK("rtcp-twcc", "transport-cc feedback for 100 packets: build + write + parse, per second (arg: ms)",
                run_rtcp_twcc);
