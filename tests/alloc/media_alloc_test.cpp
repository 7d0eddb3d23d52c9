// Steady-state allocations on the media hot paths, counted by replacing the global operator new in this test
// executable only (tests/alloc is its own process). Simulated time and fixed seeds: the counts are deterministic,
// nothing depends on how fast the machine is. The bounds are per packet: a single allocation per packet coming
// back anywhere on a path adds 1.0 per packet and fails its check; what remains is per frame (the frame's bytes
// handed to the application) or per feedback interval (transport-cc, reports).
#include "dtls/srtp_session.hpp"
#include "pc/media_engine.hpp"
#include "pc/media_fixture.hpp"
#include "rtp/frame_buffer.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/vp8_payload.hpp"
#include "sdp/negotiator.hpp"

#include "../e2e/session_send_loop.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <new>

// The replaced global operator new below is malloc and its operator delete is free, a matching pair; g++ 12 at -O3
// sees a `new` expression inlined into this file end in free() and cannot tell it is the replaced operator.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<uint64_t> g_news{0};
uint64_t news() { return g_news.load(std::memory_order_relaxed); }
} // namespace

void* operator new(std::size_t size) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
// Every other form too, so no allocation is paired with a deallocation from another allocator (ASan checks that).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    g_news.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    g_news.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size, std::align_val_t align) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    const std::size_t a = static_cast<std::size_t>(align);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a == 0 ? a : (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace rtcpp;

namespace {

// A VP8 sender and its receiver, negotiated as two Sessions would (src/pc/media_fixture.hpp).
struct Pair : pc::Vp8EnginePair {
    Pair() { REQUIRE(ok); }
};

// ~10 kB VP8 frames (10 packets each), a 40 kB keyframe every 90.
struct Frames {
    Random random{3};
    std::vector<uint8_t> frame;
    uint64_t index = 0;
    ByteView next() {
        const bool key = index % 90 == 0;
        frame.resize(key ? 40000 : 9000 + random.uniform(2400));
        random.fill(frame);
        frame[0] = static_cast<uint8_t>(key ? (frame[0] & 0xFE) : (frame[0] | 0x01));
        ++index;
        return frame;
    }
    uint32_t rtp_timestamp() const { return static_cast<uint32_t>(index * 3000); }
    Timestamp time() const { return Timestamp::millis(static_cast<int64_t>(index) * 33); }
};

dtls::SrtpSession srtp_pair_session(uint8_t send_fill, uint8_t receive_fill) {
    const std::vector<uint8_t> ks(16, send_fill), ss(12, send_fill), kr(16, receive_fill), sr(12, receive_fill);
    auto s = dtls::SrtpSession::create(dtls::SrtpProfile::AeadAes128Gcm, ks, ss, kr, sr);
    REQUIRE(s);
    return std::move(*s);
}

struct Wire {
    std::vector<uint8_t> bytes;
    Timestamp arrival;
};

// Sends `frames` frames, protecting each RTP packet (as pump_media does, recycling the buffer afterwards) and
// returning the SRTP packets with arrival times. `counted` gets the allocations of the send path itself.
std::vector<Wire> send(Pair& pair, Frames& source, dtls::SrtpSession& srtp, int frames, uint64_t* counted,
                       size_t* packets) {
    std::vector<Wire> wire;
    wire.reserve(static_cast<size_t>(frames) * 40);
    uint64_t outside = 0;
    const uint64_t before = news();
    for (int f = 0; f < frames; ++f) {
        const ByteView frame = source.next();
        const Timestamp now = source.time();
        if (now >= pair.tx->poll_timeout()) pair.tx->handle_timeout(now);
        REQUIRE(pair.tx->send_frame(now, 0, frame, source.rtp_timestamp()));
        int spacing = 0;
        while (auto p = pair.tx->poll_packet()) {
            const size_t length = p->bytes.size();
            p->bytes.resize(length + dtls::kSrtpMaxTrailer);
            const auto r = p->rtcp ? srtp.protect_rtcp(p->bytes, length) : srtp.protect_rtp(p->bytes, length);
            REQUIRE(r.ok());
            p->bytes.resize(r.size);
            if (!p->rtcp) {
                const uint64_t a = news();
                wire.push_back({std::vector<uint8_t>(p->bytes.begin(), p->bytes.end()),
                                now + TimeDelta::millis(20) + TimeDelta::micros(200 * spacing++)});
                outside += news() - a; // the test's own copy
                if (packets) ++*packets;
            }
            pair.tx->recycle(std::move(p->bytes));
        }
    }
    if (counted) *counted = news() - before - outside;
    return wire;
}

} // namespace

TEST_CASE("steady state: SRTP protect/unprotect and RTP parse allocate nothing per packet") {
    auto a = srtp_pair_session(1, 2);
    auto b = srtp_pair_session(2, 1);
    std::vector<uint8_t> payload(1100, 0x5A);
    rtp::RtpHeader h;
    h.payload_type = 96;
    h.ssrc = 0x1234;
    std::vector<uint8_t> buf;
    buf.reserve(2048);
    auto one = [&](uint16_t seq) {
        h.sequence_number = seq;
        h.timestamp = seq * 3000u;
        buf.clear();
        ByteWriter w(buf);
        rtp::write_rtp_packet(w, h, payload);
        const size_t len = buf.size();
        buf.resize(len + dtls::kSrtpMaxTrailer);
        const auto p = a.protect_rtp(buf, len);
        REQUIRE(p.ok());
        const auto u = b.unprotect_rtp(buf, p.size);
        REQUIRE(u.ok());
        const auto view = rtp::RtpPacketView::parse(ByteView(buf.data(), u.size));
        REQUIRE(view);
        CHECK(view->sequence_number() == seq);
    };
    for (uint16_t s = 0; s < 100; ++s) one(s); // warm-up: buffers reach their size
    const uint64_t before = news();
    for (uint16_t s = 100; s < 1100; ++s) one(s);
    CHECK(news() - before == 0);
}

TEST_CASE("steady state: the VP8 frame buffer allocates per frame (its bytes), not per packet") {
    rtp::FrameBuffer fb;
    rtp::Vp8PayloadDescriptor d;
    d.picture_id = 100;
    rtp::Vp8Packetizer packetizer(d);
    std::vector<rtp::RtpPayload> payloads;
    Frames source;
    uint16_t seq = 0;
    std::vector<uint8_t> buf;
    buf.reserve(2048);
    size_t packets = 0, frames = 0;
    auto run = [&](int count) {
        for (int f = 0; f < count; ++f) {
            const ByteView frame = source.next();
            const Timestamp now = source.time();
            auto n = packetizer.packetize_into(frame, 1100, payloads);
            REQUIRE(n);
            for (size_t i = 0; i < *n; ++i) {
                rtp::RtpHeader h;
                h.payload_type = 96;
                h.ssrc = 5;
                h.sequence_number = seq++;
                h.timestamp = source.rtp_timestamp();
                h.marker = payloads[i].marker;
                buf.clear();
                ByteWriter w(buf);
                rtp::write_rtp_packet(w, h, payloads[i].data);
                const auto view = rtp::RtpPacketView::parse(buf);
                REQUIRE(view);
                fb.handle_packet(now, *view);
                ++packets;
            }
            fb.handle_timeout(now + TimeDelta::millis(30));
            while (auto out = fb.poll_frame()) ++frames;
        }
    };
    // Warm-up: the released-id set fills to its bound (512 frames) before it recycles its nodes.
    run(600);
    REQUIRE(frames > 0);
    packets = frames = 0;
    const uint64_t before = news();
    run(100); // ~1,000 packets
    const uint64_t allocations = news() - before;
    MESSAGE(packets << " packets, " << frames << " frames: " << allocations << " allocations");
    CHECK(packets >= 1000);
    CHECK(frames >= 95);
    // One per frame for its bytes (the depacketizer's next buffer), and the ready queue's blocks.
    CHECK(allocations <= frames * 2 + 4);
}

TEST_CASE("steady state: the media engine's send and receive paths stay well under one allocation per packet") {
    Pair pair;
    Frames source;
    auto sender = srtp_pair_session(7, 8);
    auto receiver = srtp_pair_session(8, 7);
    std::vector<uint8_t> media_buffer;
    media_buffer.reserve(4096);
    size_t frames_out = 0;
    std::vector<std::vector<uint8_t>> rtcp;
    rtcp.reserve(256);
    auto receive = [&](std::vector<Wire>& wire) {
        for (auto& w : wire) {
            if (w.arrival >= pair.rx->poll_timeout()) pair.rx->handle_timeout(w.arrival);
            // The Session's on_srtp: copy into its buffer, unprotect in place, hand over the plaintext.
            media_buffer.assign(w.bytes.begin(), w.bytes.end());
            const auto u = receiver.unprotect_rtp(media_buffer, media_buffer.size());
            REQUIRE(u.ok());
            pair.rx->handle_rtp(w.arrival, ByteView(media_buffer.data(), u.size));
            while (!pair.rx_events.empty()) {
                if (std::holds_alternative<event::MediaFrame>(pair.rx_events.front())) ++frames_out;
                pair.rx_events.pop_front();
            }
            // Reports and transport-cc feedback go back to the sender afterwards (outside the count).
            while (auto out = pair.rx->poll_packet())
                if (rtcp.size() < rtcp.capacity()) rtcp.push_back(std::move(out->bytes));
        }
    };
    auto feed_back = [&] {
        for (const auto& r : rtcp) pair.tx->handle_rtcp(source.time(), r);
        rtcp.clear();
    };
    // Warm-up: 20 s of video, so every buffer, history (1,024 packets on the send side, 512 released frame ids on
    // the receive side) and queue has found its size.
    for (int round = 0; round < 20; ++round) {
        auto wire = send(pair, source, sender, 30, nullptr, nullptr);
        receive(wire);
        feed_back();
    }
    REQUIRE(frames_out > 0);

    size_t packets = 0;
    uint64_t send_allocations = 0;
    auto wire = send(pair, source, sender, 100, &send_allocations, &packets);
    frames_out = 0;
    const uint64_t before = news();
    receive(wire);
    const uint64_t receive_allocations = news() - before;
    MESSAGE("send: " << send_allocations << " allocations for " << packets << " packets; receive: "
                     << receive_allocations << " allocations, " << frames_out << " frames out");
    CHECK(packets >= 1000);
    CHECK(frames_out >= 95);
    // Measured: ~0.3 per packet on either side (per frame and per feedback interval, see above).
    CHECK(static_cast<double>(send_allocations) < 0.5 * static_cast<double>(packets));
    CHECK(static_cast<double>(receive_allocations) < 0.5 * static_cast<double>(packets));
}

TEST_CASE("steady state: a Session sending Opus and VP8 allocates nothing per packet, send_frame to poll_transmit") {
    // The whole send path a user sees (tests/e2e/session_send_loop.hpp): send_frame -> packetizer -> RTP -> pacer ->
    // SRTP protect -> ICE agent -> poll_transmit, with every sent buffer handed back through Session::recycle.
    test::SessionSendLoop loop(&news);
    REQUIRE(loop.connect());
    // Warm-up: the congestion controller ramps up to the stream's rate, the NACK histories fill (1,024 slots each:
    // 20 s of audio), buffer pools and rings reach their sizes.
    loop.run(TimeDelta::seconds(25), nullptr);
    const uint64_t received_before = loop.frames_received();
    test::SendLoopCounts c;
    loop.run(TimeDelta::seconds(5), &c);
    MESSAGE(c.rtp_packets << " RTP packets (" << c.video_frames << " video, " << c.audio_frames
                          << " audio frames): " << c.packet_allocations << " allocations in " << c.packet_sections
                          << " send_frame/pacer sections; " << c.interval_allocations << " in " << c.interval_sections
                          << " sections that also sent RTCP/STUN or raised an event (at most " << c.max_interval_allocations
                          << "); " << c.input_allocations << " handling " << c.input_sections
                          << " datagrams from the peer; " << c.rtcp_packets << " RTCP sent");
    CHECK(c.rtp_packets >= 1000);
    CHECK(c.video_frames >= 149);
    CHECK(c.audio_frames >= 249);
    // The peer got them: the path is the real one.
    CHECK(loop.frames_received() - received_before >= 380);
    // Transport-wide sequence numbers are stamped where the feedback finds them: the estimate follows the stream.
    const auto rate = loop.pair().a.session->stats().available_outgoing_bitrate;
    REQUIRE(rate);
    CHECK(rate->bps() > 2'000'000);
    // The target: nothing per packet.
    CHECK(c.packet_allocations == 0);
    // Sections that sent RTCP or STUN are per interval (a sender report about every second, consent every ~5 s):
    // few, so nothing per packet hides in them.
    CHECK(c.interval_sections * 50 < c.rtp_packets);
    // What they allocate (measured: at most 17): a sender report compound (SR and SDES as RtcpPacket variants in a
    // vector, serialized into a new buffer) or a consent check (a STUN message, its transaction).
    CHECK(c.max_interval_allocations <= 32);

    // The counter sees a per-packet allocation when there is one: the same loop with the buffers dropped instead
    // of recycled builds every packet in a new buffer (once the engine's pool of spare buffers has run dry).
    test::SendLoopCounts d;
    loop.run(TimeDelta::seconds(2), &d, false);
    MESSAGE("without recycle: " << d.packet_allocations << " allocations for " << d.rtp_packets << " packets");
    CHECK(d.packet_allocations * 2 >= d.rtp_packets);
}
