#include "rtp/av1_payload.hpp"
#include "rtp/h264_payload.hpp"
#include "rtp/opus_payload.hpp"
#include "rtp/vp8_payload.hpp"
#include "rtp/vp9_payload.hpp"

#include <doctest/doctest.h>

#include <rtcpp/random.hpp>

#include <vector>

using namespace rtcpp;
using namespace rtcpp::rtp;

namespace {
using Bytes = std::vector<uint8_t>;

Bytes random_bytes(Random& rng, size_t n) {
    Bytes b(n);
    rng.fill(b);
    return b;
}

// Feeds payloads with consecutive sequence numbers and one timestamp.
void feed(Depacketizer& d, const std::vector<RtpPayload>& payloads, uint16_t& seq, uint32_t ts) {
    for (const auto& p : payloads) d.handle_payload(p.data, seq++, ts, p.marker);
}

Bytes view_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
} // namespace

TEST_CASE("balanced_split spreads bytes evenly") {
    CHECK(balanced_split(10, 4) == std::vector<size_t>{4, 3, 3});
    CHECK(balanced_split(8, 4) == std::vector<size_t>{4, 4});
    CHECK(balanced_split(3, 4) == std::vector<size_t>{3});
    CHECK(balanced_split(5, 0).empty());
}

// --- Opus -----------------------------------------------------------------------------------------------------

TEST_CASE("Opus: one payload per frame, every payload a frame") {
    OpusPacketizer p;
    const Bytes frame = {0xfc, 0xff, 0xfe};
    auto out = p.packetize(frame, 1200);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 1);
    CHECK((*out)[0].data == frame);
    CHECK(!p.packetize(frame, 2).ok());
    CHECK(!p.packetize({}, 1200).ok());

    OpusDepacketizer d;
    d.handle_payload(frame, 1, 960, false);
    d.handle_payload(frame, 3, 2880, false);  // a lost packet costs nothing but itself
    d.handle_payload({}, 4, 3840, false);
    auto f1 = d.poll_frame();
    REQUIRE(f1);
    CHECK(f1->data == frame);
    CHECK(f1->rtp_timestamp == 960);
    auto f2 = d.poll_frame();
    REQUIRE(f2);
    CHECK(f2->rtp_timestamp == 2880);
    CHECK(!d.poll_frame());
    CHECK(d.stats().frames == 2);
    CHECK(d.stats().malformed_packets == 1);
}

// --- VP8 ------------------------------------------------------------------------------------------------------

TEST_CASE("VP8 descriptor: RFC 7741 layouts read and written") {
    // X=1 S=1 PID=0; I L T K; M=1 picture id 0x1234; TL0PICIDX 5; TID 2 Y KEYIDX 3.
    const Bytes b = {0x90, 0xf0, 0x92, 0x34, 0x05, 0xa3, 0x9d};
    ByteReader r(b);
    auto d = Vp8PayloadDescriptor::read(r);
    REQUIRE(d);
    CHECK(d->start_of_partition);
    CHECK(d->partition_id == 0);
    CHECK(d->picture_id == 0x1234);
    CHECK(d->picture_id_15bit);
    CHECK(d->tl0_pic_idx == 5);
    CHECK(d->temporal_id == 2);
    CHECK(d->layer_sync);
    CHECK(d->key_idx == 3);
    CHECK(r.remaining() == 1);
    Bytes out;
    ByteWriter w(out);
    d->write(w);
    CHECK(out == Bytes(b.begin(), b.end() - 1));
    CHECK(d->size() == 6);
    // 7-bit picture id, only K.
    const Bytes b7 = {0x80, 0x90, 0x11, 0x07};
    ByteReader r7(b7);
    auto d7 = Vp8PayloadDescriptor::read(r7);
    REQUIRE(d7);
    CHECK(d7->picture_id == 0x11);
    CHECK(!d7->picture_id_15bit);
    CHECK(!d7->temporal_id);
    CHECK(d7->key_idx == 7);
    // Truncated at every position.
    for (size_t n = 0; n < 6; ++n) {
        ByteReader t(ByteView(b).first(n));
        CHECK(!Vp8PayloadDescriptor::read(t));
    }
}

TEST_CASE("VP8 keyframe detection from the frame tag") {
    CHECK(vp8_is_keyframe(Bytes{0x10, 0x50, 0x2a, 0x00}));   // S, PID 0, P bit 0
    CHECK(!vp8_is_keyframe(Bytes{0x10, 0x51, 0x2a, 0x00}));  // P bit 1: interframe
    CHECK(!vp8_is_keyframe(Bytes{0x00, 0x50}));              // not a partition start
    CHECK(!vp8_is_keyframe(Bytes{0x11, 0x50}));              // PID 1
    CHECK(!vp8_is_keyframe(Bytes{0x10}));
}

TEST_CASE("VP8 packetize/depacketize round trip with picture ids and MTU limits") {
    Random rng(1);
    Vp8PayloadDescriptor tmpl;
    tmpl.picture_id = 0x7ffe;
    Vp8Packetizer p(tmpl);
    Vp8Depacketizer d;
    uint16_t seq = 65530;
    std::vector<Bytes> frames;
    for (int i = 0; i < 5; ++i) {
        Bytes f = random_bytes(rng, 100 + 1500 * static_cast<size_t>(i));
        f[0] = i == 0 ? 0x50 : 0x51;  // keyframe first
        auto out = p.packetize(f, 500);
        REQUIRE(out.ok());
        for (size_t k = 0; k < out->size(); ++k) {
            CHECK((*out)[k].data.size() <= 500);
            CHECK((*out)[k].marker == (k + 1 == out->size()));
        }
        CHECK(vp8_is_keyframe((*out)[0].data) == (i == 0));
        feed(d, *out, seq, 3000u * static_cast<uint32_t>(i));
        REQUIRE(d.last_descriptor());
        CHECK(d.last_descriptor()->picture_id == ((0x7ffe + i) & 0x7fff));
        frames.push_back(f);
    }
    for (int i = 0; i < 5; ++i) {
        auto f = d.poll_frame();
        REQUIRE(f);
        CHECK(f->data == frames[static_cast<size_t>(i)]);
        CHECK(f->keyframe == (i == 0));
        CHECK(f->rtp_timestamp == 3000u * static_cast<uint32_t>(i));
    }
    CHECK(d.stats().dropped_frames == 0);
    CHECK(!p.packetize(frames[0], 3).ok());
}

TEST_CASE("VP8 depacketizer drops frames with lost packets and counts them") {
    Random rng(2);
    Vp8Packetizer p;
    Vp8Depacketizer d;
    Bytes f1 = random_bytes(rng, 3000), f2 = random_bytes(rng, 3000), f3 = random_bytes(rng, 3000);
    auto o1 = *p.packetize(f1, 1000);
    auto o2 = *p.packetize(f2, 1000);
    auto o3 = *p.packetize(f3, 1000);
    REQUIRE(o1.size() == 4);
    uint16_t seq = 0;
    // Frame 1 loses its middle packet; frame 2 loses its first; frame 3 arrives whole.
    d.handle_payload(o1[0].data, seq++, 100, false);
    seq++;
    for (size_t k = 2; k < o1.size(); ++k) d.handle_payload(o1[k].data, seq++, 100, o1[k].marker);
    seq++;
    for (size_t k = 1; k < o2.size(); ++k) d.handle_payload(o2[k].data, seq++, 200, o2[k].marker);
    feed(d, o3, seq, 300);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->data == f3);
    CHECK(!d.poll_frame());
    CHECK(d.stats().dropped_frames == 2);
    CHECK(d.stats().frames == 1);
    // Frame 1: 1 accepted + 2 after the gap; frame 2: 3 packets.
    CHECK(d.stats().dropped_packets == 6);
    // Malformed: a descriptor with nothing after it.
    d.handle_payload(Bytes{0x10}, seq++, 400, true);
    CHECK(d.stats().malformed_packets == 1);
    // A frame whose marker was lost, followed by a new frame: the first is dropped when the timestamp changes.
    auto o4 = *p.packetize(f1, 1000);
    for (size_t k = 0; k + 1 < o4.size(); ++k) d.handle_payload(o4[k].data, seq++, 500, false);
    feed(d, o3, seq, 600);
    auto g = d.poll_frame();
    REQUIRE(g);
    CHECK(g->rtp_timestamp == 600);
}

// --- VP9 ------------------------------------------------------------------------------------------------------

TEST_CASE("VP9 descriptor: non-flexible mode with layer indices and scalability structure") {
    // I=1 P=0 L=1 F=0 B=1 E=0 V=1 Z=0; picture id 15-bit 0x0102; TID 1 U SID 2 D; TL0PICIDX 9;
    // SS: N_S=2 (3 layers) Y=1 G=1; resolutions; N_G=2: (T=0 U=0 R=1 diff 4) (T=1 U=1 R=0).
    const Bytes b = {0xaa, 0x81, 0x02, 0x35, 0x09,
                     0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0,
                     0x02, 0x04, 0x04, 0x30};
    ByteReader r(b);
    auto d = Vp9PayloadDescriptor::read(r);
    REQUIRE(d);
    CHECK(r.empty());
    CHECK(d->picture_id == 0x0102);
    CHECK(!d->inter_picture_predicted);
    CHECK(d->has_layer_indices);
    CHECK(d->temporal_id == 1);
    CHECK(d->switching_up);
    CHECK(d->spatial_id == 2);
    CHECK(d->inter_layer_predicted);
    CHECK(d->tl0_pic_idx == 9);
    CHECK(d->beginning_of_frame);
    CHECK(!d->end_of_frame);
    REQUIRE(d->ss);
    CHECK(d->ss->spatial_layers == 3);
    REQUIRE(d->ss->resolutions.size() == 3);
    CHECK(d->ss->resolutions[0] == Vp9ScalabilityStructure::Resolution{320, 180});
    CHECK(d->ss->resolutions[2] == Vp9ScalabilityStructure::Resolution{1280, 720});
    REQUIRE(d->ss->picture_group);
    REQUIRE(d->ss->picture_group->size() == 2);
    CHECK((*d->ss->picture_group)[0].p_diffs == std::vector<uint8_t>{4});
    CHECK((*d->ss->picture_group)[1].temporal_id == 1);
    CHECK((*d->ss->picture_group)[1].switching_up);
    Bytes out;
    ByteWriter w(out);
    d->write(w);
    CHECK(out == b);
    for (size_t n = 0; n < b.size(); ++n) {
        ByteReader t(ByteView(b).first(n));
        CHECK(!Vp9PayloadDescriptor::read(t));
    }
}

TEST_CASE("VP9 descriptor: flexible mode reference indices") {
    // I=1 P=1 L=1 F=1 B=1 E=1; 7-bit picture id 5; TID 0 SID 0; P_DIFFs 1 (N=1), 2 (N=1), 3 (N=0).
    const Bytes b = {0xfc, 0x05, 0x00, 0x03, 0x05, 0x06};
    ByteReader r(b);
    auto d = Vp9PayloadDescriptor::read(r);
    REQUIRE(d);
    CHECK(d->flexible);
    CHECK(!d->tl0_pic_idx);
    CHECK(d->num_p_diffs == 3);
    CHECK(d->p_diffs == std::array<uint8_t, 3>{1, 2, 3});
    Bytes out;
    ByteWriter w(out);
    d->write(w);
    CHECK(out == b);
    // Four P_DIFFs is one too many.
    const Bytes four = {0xd0, 0x03, 0x05, 0x07, 0x09, 0x08};
    ByteReader r4(four);
    CHECK(!Vp9PayloadDescriptor::read(r4));
}

TEST_CASE("VP9 packetize/depacketize: single layer and a two-layer picture with a superframe index") {
    Random rng(3);
    Vp9PayloadDescriptor tmpl;
    tmpl.picture_id = 100;
    tmpl.ss = Vp9ScalabilityStructure{1, {{640, 360}}, std::nullopt};
    Vp9Packetizer p(tmpl);
    Vp9Depacketizer d;
    uint16_t seq = 1;
    const Bytes key = random_bytes(rng, 2500);
    auto o = p.packetize(key, 1000);
    REQUIRE(o.ok());
    REQUIRE(o->size() == 3);
    feed(d, *o, seq, 90000);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->data == key);
    CHECK(f->keyframe);
    REQUIRE(d.scalability_structure());
    CHECK(d.scalability_structure()->resolutions[0].width == 640);

    // Two spatial layers of one picture: each layer frame packetized separately, marker only on the last.
    Vp9PayloadDescriptor l0;
    l0.picture_id = 7;
    l0.has_layer_indices = true;
    l0.inter_picture_predicted = true;
    l0.flexible = true;
    l0.p_diffs = {1, 0, 0};
    l0.num_p_diffs = 1;
    Vp9PayloadDescriptor l1 = l0;
    l1.spatial_id = 1;
    Vp9Packetizer p0(l0, false), p1(l1, false);
    const Bytes a = random_bytes(rng, 300), b = random_bytes(rng, 1800);
    auto oa = *p0.packetize(a, 1000);
    auto ob = *p1.packetize(b, 1000);
    oa.back().marker = false;
    feed(d, oa, seq, 93000);
    feed(d, ob, seq, 93000);
    auto g = d.poll_frame();
    REQUIRE(g);
    CHECK(!g->keyframe);
    REQUIRE(g->data.size() == a.size() + b.size() + 2 + 2 * 2);
    CHECK(Bytes(g->data.begin(), g->data.begin() + 300) == a);
    // Index: marker 110 mag-1=1 frames-1=1, sizes LE (300, 1800), marker.
    const Bytes index(g->data.end() - 6, g->data.end());
    CHECK(index == Bytes{0xc9, 0x2c, 0x01, 0x08, 0x07, 0xc9});
}

TEST_CASE("VP9 depacketizer rejects broken layer framing") {
    Vp9Depacketizer d;
    // B without E, then marker: incomplete layer frame.
    d.handle_payload(Bytes{0x08, 0xaa}, 1, 10, true);
    CHECK(d.stats().dropped_frames == 1);
    // Middle packet (no B) first: start lost.
    d.handle_payload(Bytes{0x04, 0xaa}, 2, 20, true);
    CHECK(d.stats().dropped_frames == 2);
    // Two B packets with no E in between.
    d.handle_payload(Bytes{0x08, 0xaa}, 3, 30, false);
    d.handle_payload(Bytes{0x08, 0xbb}, 4, 30, false);
    CHECK(d.stats().malformed_packets == 1);
    d.handle_payload(Bytes{0x04, 0xcc}, 5, 30, true);  // rest of the broken frame
    CHECK(d.stats().dropped_frames == 3);
    CHECK(!d.poll_frame());
    // Payload with descriptor only.
    d.handle_payload(Bytes{0x0c}, 6, 40, true);
    CHECK(d.stats().malformed_packets == 2);
    d.handle_payload(Bytes{0x0c, 0x01}, 7, 50, true);
    CHECK(d.poll_frame());
}

// --- H.264 ----------------------------------------------------------------------------------------------------

TEST_CASE("Annex B splitting handles 3- and 4-byte start codes") {
    const Bytes s = {0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0};
    auto n = split_annex_b(s);
    REQUIRE(n.size() == 3);
    CHECK(view_bytes(n[0]) == Bytes{0x67, 1, 2});
    CHECK(view_bytes(n[1]) == Bytes{0x68, 3});
    CHECK(view_bytes(n[2]) == Bytes{0x65, 4, 5, 0});
    CHECK(h264_is_keyframe(n));
    CHECK(split_annex_b(Bytes{1, 2, 3}).empty());
}

TEST_CASE("H.264 mode 1: STAP-A for parameter sets, FU-A for a large IDR, single NAL otherwise") {
    Random rng(4);
    Bytes idr = random_bytes(rng, 3000);
    idr[0] = 0x65;
    Bytes frame = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1};
    frame.insert(frame.end(), idr.begin(), idr.end());
    H264Packetizer p(1);
    auto out = p.packetize(frame, 1200);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 4);  // STAP-A + 3 FU-A
    // STAP-A: header with the highest NRI, then (size, NAL) pairs.
    CHECK((*out)[0].data == Bytes{0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80});
    CHECK((*out)[1].data[0] == 0x7c);  // FU indicator: NRI 3, type 28
    CHECK((*out)[1].data[1] == 0x85);  // S, type 5
    CHECK((*out)[2].data[1] == 0x05);
    CHECK((*out)[3].data[1] == 0x45);  // E, type 5
    for (const auto& pl : *out) CHECK(pl.data.size() <= 1200);
    CHECK((*out)[3].marker);

    H264Depacketizer d;
    uint16_t seq = 10;
    feed(d, *out, seq, 1000);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->data == frame);  // Annex B with 4-byte start codes, as the input
    CHECK(f->keyframe);

    // A P slice that fits goes as a single NAL unit.
    const Bytes pslice = {0, 0, 0, 1, 0x41, 0x9a, 0x02};
    auto o2 = p.packetize(pslice, 1200);
    REQUIRE(o2.ok());
    REQUIRE(o2->size() == 1);
    CHECK((*o2)[0].data == Bytes{0x41, 0x9a, 0x02});
    feed(d, *o2, seq, 4000);
    auto g = d.poll_frame();
    REQUIRE(g);
    CHECK(!g->keyframe);
    CHECK(g->data == pslice);
}

TEST_CASE("H.264 mode 0 sends one NAL per packet and refuses oversize NALs") {
    H264Packetizer p(0);
    const Bytes frame = {0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 3, 4};
    auto out = p.packetize(frame, 1200);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 3);
    CHECK((*out)[0].data == Bytes{0x67, 1});
    CHECK(!(*out)[1].marker);
    CHECK((*out)[2].marker);
    CHECK(!p.packetize(frame, 2).ok());
    CHECK(!p.packetize(Bytes{1, 2, 3}, 1200).ok());
}

TEST_CASE("H.264 depacketizer rejects broken FU-A and STAP-A") {
    H264Depacketizer d;
    uint16_t seq = 0;
    // FU-A end without start (not first in frame: after a single NAL of the same frame).
    d.handle_payload(Bytes{0x41, 0x01}, seq++, 1, false);
    d.handle_payload(Bytes{0x7c, 0x45, 0x01}, seq++, 1, true);
    CHECK(d.stats().malformed_packets == 1);
    CHECK(d.stats().dropped_frames == 1);
    // FU-A start, then a single NAL before its end.
    d.handle_payload(Bytes{0x7c, 0x85, 0x01}, seq++, 2, false);
    d.handle_payload(Bytes{0x41, 0x01}, seq++, 2, true);
    CHECK(d.stats().malformed_packets == 2);
    // FU-A start, marker on a middle fragment: incomplete NAL.
    d.handle_payload(Bytes{0x7c, 0x85, 0x01}, seq++, 3, false);
    d.handle_payload(Bytes{0x7c, 0x05, 0x01}, seq++, 3, true);
    CHECK(d.stats().dropped_frames == 3);
    // FU-A with S and E both set; type changes between fragments.
    d.handle_payload(Bytes{0x7c, 0xc5, 0x01}, seq++, 4, true);
    d.handle_payload(Bytes{0x7c, 0x85, 0x01}, seq++, 5, false);
    d.handle_payload(Bytes{0x7c, 0x41, 0x01}, seq++, 5, true);
    CHECK(d.stats().malformed_packets == 4);
    // STAP-A: size past the end; size zero; header only.
    d.handle_payload(Bytes{0x78, 0x00, 0x09, 0x67}, seq++, 6, true);
    d.handle_payload(Bytes{0x78, 0x00, 0x00}, seq++, 7, true);
    d.handle_payload(Bytes{0x78}, seq++, 8, true);
    // Forbidden bit, unsupported types, empty.
    d.handle_payload(Bytes{0xe5, 0x01}, seq++, 9, true);
    d.handle_payload(Bytes{0x19, 0x01}, seq++, 10, true);
    d.handle_payload(Bytes{0x1d, 0x01}, seq++, 11, true);
    d.handle_payload(Bytes{}, seq++, 12, true);
    CHECK(d.stats().malformed_packets == 11);
    CHECK(!d.poll_frame());
    // FU-A continuation as the first packet of a frame: its start was lost (dropped, not malformed).
    d.handle_payload(Bytes{0x7c, 0x05, 0x01}, seq++, 13, false);
    d.handle_payload(Bytes{0x7c, 0x45, 0x01}, seq++, 13, true);
    CHECK(d.stats().malformed_packets == 11);
    // And the depacketizer still works afterwards.
    d.handle_payload(Bytes{0x65, 0x88}, seq++, 14, true);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->keyframe);
    CHECK(f->data == Bytes{0, 0, 0, 1, 0x65, 0x88});
}

// --- AV1 ------------------------------------------------------------------------------------------------------

namespace {
// OBU with size field: header (type), leb128 size, payload.
void add_obu(Bytes& tu, uint8_t type, const Bytes& payload, bool ext = false) {
    tu.push_back(static_cast<uint8_t>((type << 3) | 0x02 | (ext ? 0x04 : 0)));
    if (ext) tu.push_back(0x28);
    Bytes len;
    ByteWriter w(len);
    write_leb128(w, payload.size());
    tu.insert(tu.end(), len.begin(), len.end());
    tu.insert(tu.end(), payload.begin(), payload.end());
}
} // namespace

TEST_CASE("AV1: temporal unit round trip, temporal delimiter dropped, fragments across packets") {
    Random rng(5);
    Bytes tu;
    add_obu(tu, kAv1TemporalDelimiter, {});
    const Bytes seqhdr = random_bytes(rng, 12);
    const Bytes frame = random_bytes(rng, 2600);
    add_obu(tu, kAv1SequenceHeader, seqhdr);
    add_obu(tu, kAv1Frame, frame, true);
    Av1Packetizer p;
    auto out = p.packetize(tu, 1000);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 3);
    CHECK(((*out)[0].data[0] & 0x08) != 0);  // N: new coded video sequence
    CHECK(((*out)[0].data[0] & 0x80) == 0);  // Z
    CHECK(((*out)[0].data[0] & 0x40) != 0);  // Y: the frame OBU continues
    CHECK(((*out)[1].data[0] & 0xc0) == 0xc0);
    CHECK(((*out)[2].data[0] & 0xc0) == 0x80);
    for (const auto& pl : *out) CHECK(pl.data.size() <= 1000);

    Av1Depacketizer d;
    uint16_t seq = 0;
    feed(d, *out, seq, 0);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->keyframe);
    Bytes expect;
    add_obu(expect, kAv1SequenceHeader, seqhdr);
    add_obu(expect, kAv1Frame, frame, true);
    CHECK(f->data == expect);
    auto obus = split_av1_obus(f->data);
    REQUIRE(obus);
    REQUIRE(obus->size() == 2);
    CHECK((*obus)[1].header.size() == 2);
}

TEST_CASE("AV1 depacketizer: W-counted elements without sizes, and an OBU with no size field") {
    // W=2: first element with length, last without. OBUs without size fields (as RTP senders send them).
    const Bytes pkt = {0x20, 0x02, 0x30, 0xaa, 0x20, 0xbb, 0xcc};
    Av1Depacketizer d;
    d.handle_payload(pkt, 1, 1, true);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->data == Bytes{0x32, 0x01, 0xaa, 0x22, 0x02, 0xbb, 0xcc});
    CHECK(!f->keyframe);
}

TEST_CASE("AV1 depacketizer rejects broken aggregation") {
    Av1Depacketizer d;
    uint16_t seq = 0;
    d.handle_payload(Bytes{0x00, 0x05, 0x32, 0x01}, seq++, 1, true);   // element length past the end
    d.handle_payload(Bytes{0x00, 0x00, 0x32}, seq++, 2, true);         // zero-length element
    d.handle_payload(Bytes{0x00}, seq++, 3, true);                     // aggregation header only
    d.handle_payload(Bytes{0x30, 0x01, 0x30, 0x01, 0x30}, seq++, 4, true);  // W=3 but 2 elements
    d.handle_payload(Bytes{0x10, 0xb2, 0x01}, seq++, 5, true);         // forbidden bit in the OBU header
    d.handle_payload(Bytes{0x10, 0x32, 0x05, 0x01}, seq++, 6, true);   // OBU size field larger than the OBU
    CHECK(d.stats().malformed_packets == 6);
    // Y on the last packet (marker): the OBU never completes.
    d.handle_payload(Bytes{0x50, 0x32, 0x01}, seq++, 7, true);
    CHECK(d.stats().dropped_frames == 7);
    // Z without a fragment in progress (not first in frame).
    d.handle_payload(Bytes{0x10, 0x30}, seq++, 8, false);
    d.handle_payload(Bytes{0x90, 0x01}, seq++, 8, true);
    CHECK(d.stats().malformed_packets == 7);
    // A fragment left dangling: next packet without Z.
    d.handle_payload(Bytes{0x50, 0x32, 0x01}, seq++, 9, false);
    d.handle_payload(Bytes{0x10, 0x30}, seq++, 9, true);
    CHECK(d.stats().malformed_packets == 8);
    // Z on the first packet of a frame: its start was lost.
    d.handle_payload(Bytes{0x90, 0x01}, seq++, 10, true);
    CHECK(d.stats().malformed_packets == 8);
    CHECK(!d.poll_frame());
    d.handle_payload(Bytes{0x10, 0x30}, seq++, 11, true);
    CHECK(d.poll_frame());
}

TEST_CASE("AV1 packetizer refuses malformed temporal units") {
    Av1Packetizer p;
    CHECK(!p.packetize(Bytes{0x32, 0x05, 0x01}, 1000).ok());  // size past the end
    Bytes td;
    add_obu(td, kAv1TemporalDelimiter, {});
    CHECK(!p.packetize(td, 1000).ok());                        // nothing left to send
    CHECK(!p.packetize(Bytes{0x32, 0x00}, 2).ok());
}

TEST_CASE("A depacketizer nobody polls keeps only the newest frames") {
    OpusDepacketizer d;
    const Bytes frame = {0xfc, 0x01};
    for (uint16_t i = 0; i < Depacketizer::kMaxQueuedFrames + 10; ++i) d.handle_payload(frame, i, 960u * i, false);
    CHECK(d.stats().frames == Depacketizer::kMaxQueuedFrames + 10);
    CHECK(d.stats().dropped_frames == 10);
    auto f = d.poll_frame();
    REQUIRE(f);
    CHECK(f->rtp_timestamp == 960u * 10);
    size_t n = 1;
    while (d.poll_frame()) ++n;
    CHECK(n == Depacketizer::kMaxQueuedFrames);
}

TEST_CASE("A frame that never ends is dropped once it outgrows the size limit") {
    Vp8Depacketizer d;
    Bytes first(1201, 0xaa);
    first[0] = 0x10;  // S, PID 0
    Bytes more(1201, 0xbb);
    more[0] = 0x00;
    d.handle_payload(first, 0, 1, false);
    uint16_t seq = 1;
    const size_t needed = Depacketizer::kMaxFrameSize / 1200 + 1;
    for (size_t i = 0; i < needed; ++i) d.handle_payload(more, seq++, 1, false);
    CHECK(d.stats().dropped_frames == 1);
    CHECK(d.stats().malformed_packets == 1);
    // Its remaining packets are discarded until a new frame starts.
    d.handle_payload(more, seq++, 1, true);
    d.handle_payload(Bytes{0x10, 0x00}, seq++, 2, true);
    CHECK(d.poll_frame());
}
