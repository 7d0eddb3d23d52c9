// RTP packets (RFC 3550) with RFC 8285 header extensions.
//
// RtpPacketView is a zero-copy view over received bytes: parse() checks every length (CSRCs, the extension block,
// each extension element, padding) once, so the accessors afterwards cannot fail. RtpHeader is the owned,
// editable form used to build packets; it keeps its extensions in a fixed inline buffer so that building a packet
// does not allocate.
#pragma once

#include "core/byte_reader.hpp"
#include "core/byte_writer.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace rtcpp::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr size_t kMaxCsrcs = 15;
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
/// RFC 8285 two-byte form: 0x100 followed by 4 "appbits".
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;

enum class RtpParseError : uint8_t {
    None,
    TooShort,          ///< fewer than 12 bytes
    BadVersion,        ///< version != 2
    TruncatedCsrcs,    ///< CSRC count larger than the packet
    TruncatedExtension,///< extension block header or length past the end
    BadExtension,      ///< an element inside the one-/two-byte block overruns it, or uses a reserved id
    BadPadding,        ///< padding count 0 or larger than what follows the header
};
std::string_view to_string(RtpParseError e);

/// Which RFC 8285 form a header extension block uses.
enum class ExtensionForm : uint8_t { None, OneByte, TwoByte, Other };

struct RtpExtensionElement {
    uint8_t id = 0;
    ByteView data;
};

class RtpPacketView {
public:
    /// Parses and validates the whole packet. nullopt (and *error set) if any length lies.
    static std::optional<RtpPacketView> parse(ByteView packet, RtpParseError* error = nullptr);

    uint8_t version() const { return 2; }
    bool has_padding() const { return padding_size_ > 0; }
    bool has_extension() const { return ext_form_ != ExtensionForm::None; }
    bool marker() const { return marker_; }
    uint8_t payload_type() const { return payload_type_; }
    uint16_t sequence_number() const { return sequence_number_; }
    uint32_t timestamp() const { return timestamp_; }
    uint32_t ssrc() const { return ssrc_; }
    size_t csrc_count() const { return csrc_count_; }
    /// i < csrc_count().
    uint32_t csrc(size_t i) const;

    ExtensionForm extension_form() const { return ext_form_; }
    /// The "defined by profile" field of the extension block (0xBEDE, 0x100x, or anything for Other).
    uint16_t extension_profile() const { return ext_profile_; }
    /// The extension block's data (after its 4-byte header).
    ByteView extension_data() const { return ext_data_; }
    /// The data of extension `id`, if present (one-byte or two-byte form). An empty view is a valid
    /// two-byte extension of length 0.
    std::optional<ByteView> find_extension(uint8_t id) const;
    /// Calls f(RtpExtensionElement) for every element, in order.
    template <class F>
    void for_each_extension(F&& f) const;

    ByteView header() const { return bytes_.first(header_size_); }
    size_t header_size() const { return header_size_; }
    ByteView payload() const { return payload_; }
    size_t padding_size() const { return padding_size_; }
    ByteView bytes() const { return bytes_; }

private:
    ByteView bytes_;
    ByteView ext_data_;
    ByteView payload_;
    uint32_t timestamp_ = 0;
    uint32_t ssrc_ = 0;
    uint16_t sequence_number_ = 0;
    uint16_t ext_profile_ = 0;
    uint32_t header_size_ = 0;  // an extension block alone may be 256 KiB
    uint8_t payload_type_ = 0;
    uint8_t csrc_count_ = 0;
    uint8_t padding_size_ = 0;
    ExtensionForm ext_form_ = ExtensionForm::None;
    bool marker_ = false;
};

namespace detail {
/// Walks an RFC 8285 extension block. Returns false if an element is malformed. f returns false to stop early.
template <class F>
bool walk_extensions(ExtensionForm form, ByteView block, F&& f) {
    ByteReader r(block);
    while (!r.empty()) {
        uint8_t id = 0;
        size_t len = 0;
        if (form == ExtensionForm::OneByte) {
            const uint8_t b = *r.read_u8();
            id = b >> 4;
            if (id == 0) continue;  // padding byte (its length nibble is ignored, as libwebrtc does)
            len = (b & 0x0F) + 1u;
            if (id == 15) return true;  // reserved: stop processing the block (RFC 8285 §4.2)
        } else {
            id = *r.read_u8();
            if (id == 0) continue;  // padding byte
            const auto l = r.read_u8();
            if (!l) return false;
            len = *l;
        }
        const auto data = r.read_bytes(len);
        if (!data) return false;
        if (!f(RtpExtensionElement{id, *data})) return true;
    }
    return true;
}
} // namespace detail

template <class F>
void RtpPacketView::for_each_extension(F&& f) const {
    if (ext_form_ != ExtensionForm::OneByte && ext_form_ != ExtensionForm::TwoByte) return;
    detail::walk_extensions(ext_form_, ext_data_, [&](const RtpExtensionElement& e) {
        f(e);
        return true;
    });
}

/// A fixed-capacity list of header extensions for building packets (no allocation).
class RtpExtensionList {
public:
    static constexpr size_t kMaxElements = 16;
    static constexpr size_t kMaxBytes = 512;

    /// Adds (or replaces) extension `id` (1..255) with `data` (0..255 bytes). False when full or invalid.
    bool set(uint8_t id, ByteView data);
    /// Adds extension `id` with `size` bytes, returning a writable span for them (nullopt when full or invalid).
    std::optional<std::span<uint8_t>> allocate(uint8_t id, size_t size);
    bool remove(uint8_t id);
    std::optional<ByteView> get(uint8_t id) const;
    size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    void clear() { count_ = 0; used_ = 0; }
    RtpExtensionElement at(size_t i) const { return {elems_[i].id, ByteView(data_.data() + elems_[i].offset, elems_[i].len)}; }

    /// The form write() will use: one-byte if every id is 1..14 and every length 1..16, else two-byte.
    ExtensionForm form() const;
    /// Bytes of the extension block including its 4-byte header and padding, 0 if empty.
    size_t block_size(ExtensionForm form) const;

private:
    struct Elem {
        uint16_t offset;
        uint8_t len;
        uint8_t id;
    };
    std::array<Elem, kMaxElements> elems_{};
    std::array<uint8_t, kMaxBytes> data_{};
    size_t count_ = 0;
    size_t used_ = 0;
};

/// The editable form of an RTP header.
struct RtpHeader {
    bool marker = false;
    uint8_t payload_type = 0;
    uint16_t sequence_number = 0;
    uint32_t timestamp = 0;
    uint32_t ssrc = 0;
    std::array<uint32_t, kMaxCsrcs> csrcs{};
    uint8_t csrc_count = 0;
    RtpExtensionList extensions;
    /// Force the two-byte form even when one-byte would fit.
    bool force_two_byte_extensions = false;

    /// Copies the header of a parsed packet (one-/two-byte extensions are copied element by element).
    static RtpHeader from_view(const RtpPacketView& view);
    bool add_csrc(uint32_t csrc);
    /// Size of the serialized header (fixed part, CSRCs, extension block).
    size_t size() const;
};

/// Serializes header + payload + `padding` bytes of padding (0, or 1..255; the last byte holds the count).
/// Returns false if the buffer is too small or the arguments are invalid; the writer is then failed.
bool write_rtp_packet(SpanWriter& w, const RtpHeader& header, ByteView payload, uint8_t padding = 0);
void write_rtp_packet(ByteWriter& w, const RtpHeader& header, ByteView payload, uint8_t padding = 0);
std::vector<uint8_t> build_rtp_packet(const RtpHeader& header, ByteView payload, uint8_t padding = 0);

/// RTP and RTCP share a port under rtcp-mux (RFC 5761): payload types 64..95 with the marker bit are RTCP.
bool looks_like_rtcp(ByteView packet);

} // namespace rtcpp::rtp
