#include "codec/media_writers.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <array>

namespace rtcpp::codec {

namespace {

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_tag(std::vector<uint8_t>& out, const char (&tag)[5]) { out.insert(out.end(), tag, tag + 4); }

Result<void> write_bytes(std::ofstream& out, std::span<const uint8_t> bytes, const char* what) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) return make_error(ErrorCategory::OperationError, "codec", std::string("write failed: ") + what);
    return {};
}

Result<void> rewrite_header(std::ofstream& out, const std::vector<uint8_t>& header, const char* what) {
    const auto end = out.tellp();
    out.seekp(0);
    auto r = write_bytes(out, header, what);
    out.seekp(end);
    return r;
}

Result<void> open_file(std::ofstream& out, const std::string& path) {
    out.open(path, std::ios::binary | std::ios::trunc);
    if (!out) return make_error(ErrorCategory::OperationError, "codec", "cannot open " + path);
    return {};
}

// Pre-skip libopus's decoder needs at 48 kHz (RFC 7845 5.1 recommends the encoder's lookahead; 3.75 ms is libopus's).
constexpr uint16_t kOpusPreSkip = 312;

} // namespace

std::vector<uint8_t> ivf_file_header(VideoCodec codec, int width, int height, uint32_t timebase_den,
                                     uint32_t frame_count) {
    std::vector<uint8_t> h;
    h.reserve(32);
    put_tag(h, "DKIF");
    put_le(h, 0, 2);  // version
    put_le(h, 32, 2); // header size
    put_tag(h, codec == VideoCodec::VP8 ? "VP80" : codec == VideoCodec::VP9 ? "VP90" : "H264");
    put_le(h, static_cast<uint16_t>(width), 2);
    put_le(h, static_cast<uint16_t>(height), 2);
    put_le(h, timebase_den, 4); // rate
    put_le(h, 1, 4);            // scale
    put_le(h, frame_count, 4);
    put_le(h, 0, 4);
    return h;
}

std::vector<uint8_t> ivf_frame_header(uint32_t frame_size, uint64_t pts) {
    std::vector<uint8_t> h;
    h.reserve(12);
    put_le(h, frame_size, 4);
    put_le(h, pts, 8);
    return h;
}

std::vector<uint8_t> wav_header(int sample_rate, int channels, uint32_t data_bytes) {
    std::vector<uint8_t> h;
    h.reserve(44);
    const auto rate = static_cast<uint32_t>(sample_rate);
    const auto ch = static_cast<uint16_t>(channels);
    put_tag(h, "RIFF");
    put_le(h, 36 + static_cast<uint64_t>(data_bytes), 4);
    put_tag(h, "WAVE");
    put_tag(h, "fmt ");
    put_le(h, 16, 4);
    put_le(h, 1, 2); // PCM
    put_le(h, ch, 2);
    put_le(h, rate, 4);
    put_le(h, static_cast<uint64_t>(rate) * ch * 2, 4); // byte rate
    put_le(h, static_cast<uint64_t>(ch) * 2, 2);        // block align
    put_le(h, 16, 2);                                   // bits per sample
    put_tag(h, "data");
    put_le(h, data_bytes, 4);
    return h;
}

// ---- IVF ----

Result<std::unique_ptr<IvfWriter>> IvfWriter::open(const std::string& path, VideoCodec codec, int width, int height,
                                                   uint32_t timebase_den) {
    std::unique_ptr<IvfWriter> w(new IvfWriter());
    if (auto r = open_file(w->out_, path); !r.ok()) return r.error();
    w->codec_ = codec;
    w->width_ = width;
    w->height_ = height;
    w->timebase_den_ = timebase_den;
    if (auto r = write_bytes(w->out_, ivf_file_header(codec, width, height, timebase_den, 0), "IVF header"); !r.ok())
        return r.error();
    return w;
}

IvfWriter::~IvfWriter() { (void)close(); }

void IvfWriter::set_size(int width, int height) {
    width_ = width;
    height_ = height;
}

Result<void> IvfWriter::write(std::span<const uint8_t> frame, uint64_t pts) {
    if (!out_.is_open()) return make_error(ErrorCategory::InvalidStateError, "codec", "IVF writer closed");
    if (auto r = write_bytes(out_, ivf_frame_header(static_cast<uint32_t>(frame.size()), pts), "IVF frame"); !r.ok())
        return r;
    if (auto r = write_bytes(out_, frame, "IVF frame"); !r.ok()) return r;
    ++frames_;
    return {};
}

Result<void> IvfWriter::close() {
    if (!out_.is_open()) return {};
    auto r = rewrite_header(out_, ivf_file_header(codec_, width_, height_, timebase_den_, frames_), "IVF header");
    out_.close();
    return r;
}

// ---- Annex B ----

Result<std::unique_ptr<AnnexBWriter>> AnnexBWriter::open(const std::string& path) {
    std::unique_ptr<AnnexBWriter> w(new AnnexBWriter());
    if (auto r = open_file(w->out_, path); !r.ok()) return r.error();
    return w;
}

AnnexBWriter::~AnnexBWriter() { (void)close(); }

Result<void> AnnexBWriter::write(std::span<const uint8_t> au) {
    if (!out_.is_open()) return make_error(ErrorCategory::InvalidStateError, "codec", "Annex B writer closed");
    // Without a leading start code the unit would merge into the previous one's last NAL in the file.
    const bool start3 = au.size() >= 3 && au[0] == 0 && au[1] == 0 && au[2] == 1;
    const bool start4 = au.size() >= 4 && au[0] == 0 && au[1] == 0 && au[2] == 0 && au[3] == 1;
    if (!start3 && !start4)
        return make_error(ErrorCategory::DataError, "codec", "H.264 access unit without an Annex B start code");
    if (auto r = write_bytes(out_, au, "H.264 access unit"); !r.ok()) return r;
    ++access_units_;
    return {};
}

Result<void> AnnexBWriter::close() {
    if (!out_.is_open()) return {};
    out_.flush();
    const bool ok = static_cast<bool>(out_);
    out_.close();
    if (!ok) return make_error(ErrorCategory::OperationError, "codec", "Annex B file write failed");
    return {};
}

// ---- WAV ----

Result<std::unique_ptr<WavWriter>> WavWriter::open(const std::string& path, int sample_rate, int channels) {
    if (channels < 1 || channels > 8 || sample_rate <= 0)
        return make_error(ErrorCategory::RangeError, "codec", "bad WAV format");
    std::unique_ptr<WavWriter> w(new WavWriter());
    if (auto r = open_file(w->out_, path); !r.ok()) return r.error();
    w->sample_rate_ = sample_rate;
    w->channels_ = channels;
    if (auto r = write_bytes(w->out_, wav_header(sample_rate, channels, 0), "WAV header"); !r.ok()) return r.error();
    return w;
}

WavWriter::~WavWriter() { (void)close(); }

Result<void> WavWriter::write(std::span<const int16_t> pcm) {
    if (!out_.is_open()) return make_error(ErrorCategory::InvalidStateError, "codec", "WAV writer closed");
    std::vector<uint8_t> bytes;
    bytes.reserve(pcm.size() * 2);
    for (int16_t s : pcm) put_le(bytes, static_cast<uint16_t>(s), 2);
    if (auto r = write_bytes(out_, bytes, "WAV data"); !r.ok()) return r;
    data_bytes_ += bytes.size();
    return {};
}

Result<void> WavWriter::close() {
    if (!out_.is_open()) return {};
    // A RIFF size is 32 bits: a longer recording keeps its samples but saturates the header.
    const auto data = static_cast<uint32_t>(std::min<uint64_t>(data_bytes_, 0xffffffffu - 36));
    auto r = rewrite_header(out_, wav_header(sample_rate_, channels_, data), "WAV header");
    out_.close();
    return r;
}

// ---- Ogg/Opus ----

uint32_t ogg_crc(std::span<const uint8_t> data) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t r = i << 24;
            for (int k = 0; k < 8; ++k) r = (r & 0x80000000u) ? (r << 1) ^ 0x04c11db7u : (r << 1);
            t[i] = r;
        }
        return t;
    }();
    uint32_t crc = 0;
    for (uint8_t b : data) crc = (crc << 8) ^ table[((crc >> 24) ^ b) & 0xff];
    return crc;
}

Result<std::unique_ptr<OggOpusWriter>> OggOpusWriter::open(const std::string& path, int channels, uint32_t serial) {
    if (channels != 1 && channels != 2) return make_error(ErrorCategory::RangeError, "codec", "Ogg/Opus: 1 or 2 channels");
    std::unique_ptr<OggOpusWriter> w(new OggOpusWriter());
    if (auto r = open_file(w->out_, path); !r.ok()) return r.error();
    w->serial_ = serial;
    std::vector<uint8_t> head;
    head.insert(head.end(), {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd'});
    head.push_back(1); // version
    head.push_back(static_cast<uint8_t>(channels));
    put_le(head, kOpusPreSkip, 2);
    put_le(head, 48000, 4);
    put_le(head, 0, 2); // output gain
    head.push_back(0);  // channel mapping family: mono/stereo
    if (auto r = w->write_page(head, 0x02, 0); !r.ok()) return r.error();
    std::vector<uint8_t> tags;
    tags.insert(tags.end(), {'O', 'p', 'u', 's', 'T', 'a', 'g', 's'});
    const std::string vendor = "rtcpp";
    put_le(tags, vendor.size(), 4);
    tags.insert(tags.end(), vendor.begin(), vendor.end());
    put_le(tags, 0, 4); // no user comments
    if (auto r = w->write_page(tags, 0, 0); !r.ok()) return r.error();
    w->granule_ = kOpusPreSkip;
    return w;
}

OggOpusWriter::~OggOpusWriter() { (void)close(); }

Result<void> OggOpusWriter::write_page(std::span<const uint8_t> packet, uint8_t flags, uint64_t granule) {
    if (packet.size() >= 255 * 255) return make_error(ErrorCategory::RangeError, "codec", "Ogg packet too long");
    std::vector<uint8_t> page;
    page.reserve(27 + 255 + packet.size());
    page.insert(page.end(), {'O', 'g', 'g', 'S'});
    page.push_back(0); // version
    page.push_back(flags);
    put_le(page, granule, 8);
    put_le(page, serial_, 4);
    put_le(page, page_sequence_++, 4);
    put_le(page, 0, 4); // CRC, filled below
    // Lacing: 255s then the remainder; a multiple of 255 ends with a 0 so the packet ends on this page.
    const size_t full = packet.size() / 255;
    page.push_back(static_cast<uint8_t>(full + 1));
    for (size_t i = 0; i < full; ++i) page.push_back(255);
    page.push_back(static_cast<uint8_t>(packet.size() % 255));
    page.insert(page.end(), packet.begin(), packet.end());
    const uint32_t crc = ogg_crc(page);
    for (int i = 0; i < 4; ++i) page[22 + static_cast<size_t>(i)] = static_cast<uint8_t>(crc >> (8 * i));
    return write_bytes(out_, page, "Ogg page");
}

Result<void> OggOpusWriter::flush_pending(bool last) {
    if (!has_pending_) return {};
    has_pending_ = false;
    return write_page(pending_, last ? 0x04 : 0x00, granule_);
}

Result<void> OggOpusWriter::write(std::span<const uint8_t> packet) {
    if (closed_) return make_error(ErrorCategory::InvalidStateError, "codec", "Ogg/Opus writer closed");
    if (packet.empty() || packet.size() > 0x7fffffff)
        return make_error(ErrorCategory::DataError, "codec", "empty Opus packet");
    const int samples = opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()), 48000);
    if (samples <= 0) return make_error(ErrorCategory::DataError, "codec", "unparsable Opus packet");
    // The page before this one is not the last: write it now, and hold this one for the end-of-stream flag.
    if (auto r = flush_pending(false); !r.ok()) return r;
    granule_ += static_cast<uint64_t>(samples);
    pending_.assign(packet.begin(), packet.end());
    has_pending_ = true;
    ++packets_;
    return {};
}

Result<void> OggOpusWriter::close() {
    if (closed_ || !out_.is_open()) return {};
    closed_ = true;
    auto r = flush_pending(true);
    out_.close();
    return r;
}

} // namespace rtcpp::codec
