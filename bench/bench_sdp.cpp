// sdp-parse: parse and serialize time of the Chromium audio+video+data offer (177 lines), plus the time to answer it.
#include "bench.hpp"

#include "sdp/description.hpp"
#include "sdp/negotiator.hpp"

#include <rtcpp/random.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

// CPU time of this thread: the machine is shared, and wall time would count the time others hold the cores.
double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Runs fn in batches until at least `budget_us` of CPU time has passed; returns CPU microseconds per call.
template <class F>
double time_per_op(F&& fn, double budget_us = 300000) {
    size_t n = 0;
    double start = thread_cpu_us(), elapsed = 0;
    while (elapsed < budget_us) {
        for (int i = 0; i < 100; ++i) fn();
        n += 100;
        elapsed = thread_cpu_us() - start;
    }
    return elapsed / static_cast<double>(n);
}

std::string default_offer_path() {
    // The repository's copy of the capture, found relative to this source file.
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "sdp" / "data" /
            "chromium_offer_audio_video_datachannel.sdp")
        .string();
}

int run_sdp_parse(rtcpp::bench::Reporter& r, const std::vector<std::string>& args) {
    std::string path = args.empty() ? default_offer_path() : args[0];
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        r.note("cannot read " + path);
        return 1;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = rtcpp::sdp::parse(text);
    if (!parsed.ok()) {
        r.note(path + ": " + parsed.error().message);
        return 1;
    }
    r.note("offer: " + path + " (" + std::to_string(text.size()) + " bytes)");
    size_t sink = 0;
    double parse_us = time_per_op([&] { sink += rtcpp::sdp::parse(text)->media.size(); });
    double serialize_us = time_per_op([&] { sink += rtcpp::sdp::serialize(*parsed).size(); });
    rtcpp::sdp::LocalTransport t;
    t.ice_ufrag = "bench";
    t.ice_pwd = "benchbenchbenchbenchbench";
    t.fingerprints = {rtcpp::sdp::Fingerprint{rtcpp::sdp::HashAlgorithm::Sha256, std::vector<uint8_t>(32, 1)}};
    double answer_us = time_per_op([&] {
        rtcpp::Random rng(1);
        rtcpp::sdp::Negotiator n(rng, t);
        sink += n.answer(*parsed)->description.media.size();
    });
    r.figure("sdp_parse_time", parse_us, "us/op");
    r.figure("sdp_serialize_time", serialize_us, "us/op");
    r.figure("sdp_answer_time", answer_us, "us/op");
    r.figure("sdp_parse_throughput", static_cast<double>(text.size()) / parse_us, "MB/s");
    return sink == 0 ? 1 : 0;
}

} // namespace

RTCPP_BENCHMARK("sdp-parse", "parse/serialize/answer time of the Chromium audio+video+data offer [FILE]",
                run_sdp_parse);
