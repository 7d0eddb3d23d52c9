#include "codec/media_writers.hpp"
#include "codec/opus_codec.hpp"
#include "codec/test_pattern.hpp"
#include "codec/vpx_decoder.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace rtcpp::codec;

namespace {

std::vector<uint8_t> slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
uint64_t le(const std::vector<uint8_t>& b, size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b.at(at + static_cast<size_t>(i));
    return v;
}
std::string tag(const std::vector<uint8_t>& b, size_t at, size_t n = 4) {
    return std::string(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + n));
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("rtcpp_codec_test_" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

} // namespace

TEST_CASE("IVF: header fields, frame records, and the frames decode back from the file") {
    TempDir dir;
    const auto file = dir.path / "v.ivf";
    VpxEncoderConfig cfg;
    cfg.codec = VideoCodec::VP9;
    cfg.width = 176;
    cfg.height = 144;
    auto enc = VpxEncoder::create(cfg);
    REQUIRE(enc.ok());
    auto w = IvfWriter::open(file.string(), VideoCodec::VP9, 0, 0);
    REQUIRE(w.ok());
    (*w)->set_size(176, 144);
    TestPattern pattern(176, 144);
    std::vector<size_t> sizes;
    for (int i = 0; i < 10; ++i) {
        auto out = (*enc)->encode(pattern.next());
        REQUIRE(out.ok());
        for (const auto& f : *out) {
            REQUIRE((*w)->write(f.data, static_cast<uint64_t>(i) * 3000).ok());
            sizes.push_back(f.data.size());
        }
    }
    REQUIRE((*w)->close().ok());
    const auto b = slurp(file);
    REQUIRE(b.size() >= 32);
    CHECK(tag(b, 0) == "DKIF");
    CHECK(le(b, 4, 2) == 0);
    CHECK(le(b, 6, 2) == 32);
    CHECK(tag(b, 8) == "VP90");
    CHECK(le(b, 12, 2) == 176);
    CHECK(le(b, 14, 2) == 144);
    CHECK(le(b, 16, 4) == 90000);
    CHECK(le(b, 20, 4) == 1);
    CHECK(le(b, 24, 4) == sizes.size());
    auto dec = VpxDecoder::create(VideoCodec::VP9);
    REQUIRE(dec.ok());
    size_t at = 32;
    for (size_t i = 0; i < sizes.size(); ++i) {
        REQUIRE(at + 12 <= b.size());
        CHECK(le(b, at, 4) == sizes[i]);
        CHECK(le(b, at + 4, 8) == i * 3000);
        std::span<const uint8_t> frame(b.data() + at + 12, sizes[i]);
        auto pic = (*dec)->decode(frame);
        REQUIRE(pic.ok());
        REQUIRE(pic->has_value());
        CHECK(read_frame_counter(**pic) == static_cast<uint32_t>(i));
        at += 12 + sizes[i];
    }
    CHECK(at == b.size());
    CHECK(ivf_file_header(VideoCodec::VP8, 1, 2, 30, 5)[8] == 'V');
    CHECK(tag(ivf_file_header(VideoCodec::VP8, 1, 2, 30, 5), 8) == "VP80");
}

TEST_CASE("WAV: canonical header and the samples little-endian") {
    TempDir dir;
    const auto file = dir.path / "a.wav";
    auto w = WavWriter::open(file.string(), 48000, 2);
    REQUIRE(w.ok());
    const std::vector<int16_t> pcm{1, -1, 0x1234, -32768, 32767, 0};
    REQUIRE((*w)->write(pcm).ok());
    REQUIRE((*w)->write(pcm).ok());
    CHECK((*w)->samples_per_channel() == 6);
    REQUIRE((*w)->close().ok());
    const auto b = slurp(file);
    REQUIRE(b.size() == 44 + 24);
    CHECK(tag(b, 0) == "RIFF");
    CHECK(le(b, 4, 4) == 36 + 24);
    CHECK(tag(b, 8) == "WAVE");
    CHECK(tag(b, 12) == "fmt ");
    CHECK(le(b, 16, 4) == 16);
    CHECK(le(b, 20, 2) == 1);
    CHECK(le(b, 22, 2) == 2);
    CHECK(le(b, 24, 4) == 48000);
    CHECK(le(b, 28, 4) == 48000 * 4);
    CHECK(le(b, 32, 2) == 4);
    CHECK(le(b, 34, 2) == 16);
    CHECK(tag(b, 36) == "data");
    CHECK(le(b, 40, 4) == 24);
    CHECK(le(b, 44, 2) == 1);
    CHECK(le(b, 46, 2) == 0xffff);
    CHECK(le(b, 48, 2) == 0x1234);
    CHECK(le(b, 50, 2) == 0x8000);
}

TEST_CASE("Ogg/Opus: pages with valid CRCs, OpusHead/OpusTags, granule positions, EOS on the last page") {
    // The CRC check value of the Ogg polynomial over "123456789" (CRC-32/MPEG-2 without inversion).
    const std::string check = "123456789";
    CHECK(ogg_crc(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(check.data()), check.size())) ==
          0x89a1897fu);
    TempDir dir;
    const auto file = dir.path / "a.opus";
    auto w = OggOpusWriter::open(file.string(), 1, 0x1234);
    REQUIRE(w.ok());
    auto enc = OpusAudioEncoder::create({});
    REQUIRE(enc.ok());
    ToneGenerator tone;
    for (int i = 0; i < 5; ++i) {
        auto p = (*enc)->encode(tone.next(kOpusFrameSamples));
        REQUIRE(p.ok());
        REQUIRE((*w)->write(*p).ok());
    }
    const std::vector<uint8_t> bad{0x03, 0x00};
    CHECK_FALSE((*w)->write(bad).ok());
    REQUIRE((*w)->close().ok());
    const auto b = slurp(file);
    size_t at = 0;
    int page = 0;
    while (at < b.size()) {
        CAPTURE(page);
        REQUIRE(at + 27 <= b.size());
        CHECK(tag(b, at) == "OggS");
        const uint8_t flags = b[at + 5];
        const uint64_t granule = le(b, at + 6, 8);
        CHECK(le(b, at + 14, 4) == 0x1234);
        CHECK(le(b, at + 18, 4) == static_cast<uint64_t>(page));
        const uint32_t crc = static_cast<uint32_t>(le(b, at + 22, 4));
        const size_t nseg = b[at + 26];
        size_t body = 0;
        for (size_t i = 0; i < nseg; ++i) body += b.at(at + 27 + i);
        const size_t len = 27 + nseg + body;
        REQUIRE(at + len <= b.size());
        std::vector<uint8_t> copy(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + len));
        for (int i = 0; i < 4; ++i) copy[22 + static_cast<size_t>(i)] = 0;
        CHECK(ogg_crc(copy) == crc);
        const size_t payload = at + 27 + nseg;
        if (page == 0) {
            CHECK(flags == 0x02);
            CHECK(tag(b, payload, 8) == "OpusHead");
            CHECK(b[payload + 9] == 1);
            CHECK(le(b, payload + 12, 4) == 48000);
        } else if (page == 1) {
            CHECK(tag(b, payload, 8) == "OpusTags");
            CHECK(granule == 0);
        } else {
            CHECK(granule == 312 + static_cast<uint64_t>(page - 1) * 960);
            CHECK(flags == (page == 6 ? 0x04 : 0x00));
        }
        at += len;
        ++page;
    }
    CHECK(page == 7);
}
