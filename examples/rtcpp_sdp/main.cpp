// rtcpp-sdp: look at SDP the way rtcpp does.
//
//   rtcpp-sdp check FILE           print the normalized SDP (exit 0), or every error with its line (exit 1)
//   rtcpp-sdp answer [--seed N] OFFER_FILE
//                                  print the answer rtcpp gives with its default capabilities (Opus, VP8, VP9,
//                                  H264, AV1, data channels), as a peer with one sending track per offered audio
//                                  or video m-line. The tool has no certificate or sockets: the fingerprint and
//                                  ICE credentials are random placeholders and there are no candidates.
#include "sdp/description.hpp"
#include "sdp/negotiator.hpp"

#include <rtcpp/random.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

namespace {

int usage() {
    std::cerr << "usage: rtcpp-sdp check FILE\n"
                 "       rtcpp-sdp answer [--seed N] OFFER_FILE\n";
    return 2;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return s;
}

// Parses, printing every error as "FILE:LINE: reason". Returns the description only when there were none.
std::optional<rtcpp::sdp::Description> load(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        std::cerr << path << ": cannot read\n";
        return std::nullopt;
    }
    auto out = rtcpp::sdp::parse_detailed(*text);
    if (!out.ok()) {
        for (const auto& e : out.errors) {
            if (e.line)
                std::cout << path << ": line " << e.line << ": " << e.reason << "\n";
            else
                std::cout << path << ": " << e.reason << "\n";
        }
        return std::nullopt;
    }
    return std::move(out.description);
}

int check(const std::string& path) {
    auto d = load(path);
    if (!d) return 1;
    std::cout << rtcpp::sdp::serialize(*d);
    return 0;
}

int answer(const std::string& path, std::optional<uint64_t> seed) {
    auto offer = load(path);
    if (!offer) return 1;
    rtcpp::Random rng = seed ? rtcpp::Random(*seed) : rtcpp::Random::from_entropy();
    rtcpp::sdp::LocalTransport t;
    t.ice_ufrag = rng.ice_chars(8);
    t.ice_pwd = rng.ice_chars(24);
    rtcpp::sdp::Fingerprint fp;
    fp.algorithm = rtcpp::sdp::HashAlgorithm::Sha256;
    fp.digest.resize(32);
    rng.fill(fp.digest);
    t.fingerprints = {fp};
    rtcpp::sdp::Negotiator n(rng, t);
    for (const auto& m : offer->media) {
        if (m.kind == "audio" || m.kind == "video") {
            rtcpp::sdp::TransceiverInit init;
            init.kind = m.kind == "audio" ? rtcpp::sdp::MediaKind::Audio : rtcpp::sdp::MediaKind::Video;
            n.add_transceiver(std::move(init));
        }
    }
    auto r = n.answer(*offer);
    if (!r.ok()) {
        std::cout << path << ": cannot answer: " << r.error().message << "\n";
        return 1;
    }
    std::cout << rtcpp::sdp::serialize(r->description);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    std::string cmd = argv[1];
    if (cmd == "check" && argc == 3) return check(argv[2]);
    if (cmd == "answer") {
        std::optional<uint64_t> seed;
        int i = 2;
        if (std::string(argv[i]) == "--seed") {
            if (argc != 5) return usage();
            char* end = nullptr;
            seed = std::strtoull(argv[3], &end, 10);
            if (!end || *end) return usage();
            i = 4;
        }
        if (i != argc - 1) return usage();
        return answer(argv[i], seed);
    }
    return usage();
}
