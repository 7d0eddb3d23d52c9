// Helpers shared by the SDP tests: locating and reading the captured descriptions.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rtcpp::sdp::testing {

/// tests/sdp/data (the repository's own copy) when present, else the shared sample folder.
inline std::filesystem::path data_dir() {
    std::filesystem::path own = std::filesystem::path(RTCPP_SOURCE_DIR) / "tests" / "sdp" / "data";
    if (std::filesystem::exists(own)) return own;
    return std::filesystem::path(RTCPP_SHARED_DIR) / "sdp-samples";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string sample(const std::string& name) { return read_file(data_dir() / name); }

/// Every *.sdp file in the data folder, sorted by name.
inline std::vector<std::filesystem::path> all_samples() {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(data_dir()))
        if (e.path().extension() == ".sdp") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace rtcpp::sdp::testing
