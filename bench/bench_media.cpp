// Media path benchmarks, in packets/s per core (process CPU time) and heap allocations per packet in steady state,
// each beside raw libsrtp doing the same crypto on the same packets in the same run.
//
//   media-send    [--packets N] [--profile gcm|cm]
//       MediaEngine::send_frame (VP8 packetizer, RTP header with mid + transport-cc, NACK history, congestion
//       control bookkeeping) -> poll_packet -> SRTP protect, as the Session's pump_media does.
//   media-receive [--packets N] [--profile gcm|cm]
//       an SRTP-protected VP8 stream (30 fps, ~10 kB frames, a 40 kB keyframe every 3 s: ~1,150-byte packets)
//       -> SRTP unprotect -> MediaEngine::handle_rtp (RTP parse, demux, receive statistics, transport-cc, NACK,
//       frame buffer + VP8 depacketizer) -> MediaFrame events, as the Session's on_srtp does.
//   sfu-forward   [--packets N] [--profile gcm|cm]
//       receive -> unprotect -> parse -> per receiver (N = 1, 4, 16): copy, rewrite SSRC and sequence number,
//       protect with that receiver's key -> send (handed to a sink). Figures per incoming packet.
//       sfu-forward.engine: the same through the Session's API for SFU users (raw RTP event, then send_rtp on one
//       MediaEngine per receiver, poll_packet, protect).
//
// Allocations are operator new calls (bench/bench_alloc_counter.cpp); libsrtp's own mallocs are not seen (it does
// not allocate per packet).
#include "alloc_counter.hpp"
#include "bench.hpp"

#include <srtp2/srtp.h>

#include <time.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <rtcpp/random.hpp>

#include "dtls/srtp_session.hpp"
#include "pc/media_engine.hpp"
#include "pc/media_fixture.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/negotiator.hpp"

using namespace rtcpp;

namespace {

constexpr size_t kBatch = 2048; // packets generated (untimed) and then pushed through the measured path

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long arg_value(const std::vector<std::string>& args, const std::string& name, long fallback) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) return std::stol(args[i + 1]);
    return fallback;
}

dtls::SrtpProfile profile_arg(const std::vector<std::string>& args) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--profile" && args[i + 1] == "cm") return dtls::SrtpProfile::Aes128CmSha1_80;
    return dtls::SrtpProfile::AeadAes128Gcm;
}

// Accumulated CPU time, packets and allocations of one measured path.
struct Meter {
    double seconds = 0;
    uint64_t packets = 0;
    uint64_t allocations = 0; // operator new
    uint64_t mallocs = 0;     // malloc/calloc/realloc from anywhere, operator new's included
    double start_s = 0;
    uint64_t start_a = 0, start_m = 0;
    bool traced = false; // RTCPP_BENCH_ALLOC_TRACE=1: stacks of this meter's allocations to stderr
    void begin() {
        bench::trace_allocations(traced);
        start_a = bench::allocation_count();
        start_m = bench::malloc_count();
        start_s = cpu_seconds();
    }
    void end(uint64_t n) {
        bench::trace_allocations(false);
        seconds += cpu_seconds() - start_s;
        allocations += bench::allocation_count() - start_a;
        mallocs += bench::malloc_count() - start_m;
        packets += n;
    }
    // Allocations made inside begin()..end() that are not part of what is measured.
    void exclude(uint64_t allocs, uint64_t mallocs_) {
        start_a += allocs;
        start_m += mallocs_;
    }
    void add(const Meter& m) {
        seconds += m.seconds;
        packets += m.packets;
        allocations += m.allocations;
        mallocs += m.mallocs;
    }
    double mallocs_per_packet() const {
        return packets ? static_cast<double>(mallocs) / static_cast<double>(packets) : 0;
    }
    double pps() const { return seconds > 0 ? static_cast<double>(packets) / seconds : 0; }
    double per_packet() const { return packets ? static_cast<double>(allocations) / static_cast<double>(packets) : 0; }
};

struct Key {
    std::vector<uint8_t> key, salt;
};

Key random_key(dtls::SrtpProfile profile, Random& rng) {
    Key k;
    k.key.resize(dtls::srtp_master_key_size(profile));
    k.salt.resize(dtls::srtp_master_salt_size(profile));
    rng.fill(k.key);
    rng.fill(k.salt);
    return k;
}

// One direction of SRTP through rtcpp's wrapper: `send` protects with k, `receive` unprotects with k.
dtls::SrtpSession wrapper(dtls::SrtpProfile profile, const Key& send, const Key& receive) {
    auto s = dtls::SrtpSession::create(profile, send.key, send.salt, receive.key, receive.salt);
    if (!s) std::abort();
    return std::move(*s);
}

// The yardstick: libsrtp called directly (needs srtp_init, which any live SrtpSession holds).
struct RawSrtp {
    srtp_t session = nullptr;
    RawSrtp(dtls::SrtpProfile profile, const Key& k, bool outbound) {
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof policy);
        if (profile == dtls::SrtpProfile::AeadAes128Gcm) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        } else {
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        }
        std::vector<uint8_t> ks(k.key);
        ks.insert(ks.end(), k.salt.begin(), k.salt.end());
        policy.key = ks.data();
        policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
        policy.window_size = 1024;
        policy.allow_repeat_tx = outbound ? 1 : 0;
        if (srtp_create(&session, &policy) != srtp_err_status_ok) std::abort();
    }
    RawSrtp(const RawSrtp&) = delete;
    RawSrtp& operator=(const RawSrtp&) = delete;
    ~RawSrtp() { srtp_dealloc(session); }
};

// A VP8 sender and its receiver, negotiated as two Sessions would (src/pc/media_fixture.hpp).
struct MediaPair : pc::Vp8EnginePair {
    explicit MediaPair(bool raw_rx_events = false) : pc::Vp8EnginePair({.raw_rx_events = raw_rx_events}) {
        if (!ok) std::abort();
    }
};

// Encoded VP8 frames as an encoder at 2.5 Mbit/s and 30 fps emits them: ~10 kB, a 40 kB keyframe every 90 frames.
struct FrameSource {
    Random random{3};
    std::vector<uint8_t> frame;
    uint64_t index = 0;
    ByteView next() {
        const bool key = index % 90 == 0;
        frame.resize(key ? 40000 : 9000 + random.uniform(2400));
        random.fill(frame);
        // VP8 frame tag: bit 0 clear on keyframes (RFC 6386 9.1), then the keyframe start code.
        frame[0] = static_cast<uint8_t>(key ? (frame[0] & 0xFE) : (frame[0] | 0x01));
        if (key) {
            frame[3] = 0x9d;
            frame[4] = 0x01;
            frame[5] = 0x2a;
        }
        ++index;
        return frame;
    }
    uint32_t rtp_timestamp() const { return static_cast<uint32_t>(index * 3000); }
    Timestamp capture_time() const { return Timestamp::millis(static_cast<int64_t>(index) * 33); }
};

// A batch of protected packets with their arrival times at the receiver.
struct Batch {
    std::vector<std::vector<uint8_t>> packets; // SRTP, each with its own capacity kept across batches
    std::vector<Timestamp> arrivals;
    size_t count = 0;
    size_t bytes = 0;
};

// Sends whole frames on pair.tx until `batch` holds at least kBatch packets, protecting each with `protect` (the sender's key).
// RTCP the receiver produced in the meantime goes back to the sender first (reports, transport-cc feedback).
void fill_batch(MediaPair& pair, FrameSource& source, dtls::SrtpSession& protect, Batch& batch,
                std::vector<pc::OutgoingPacket>& rtcp_back, Timestamp& clock) {
    for (auto& p : rtcp_back) pair.tx->handle_rtcp(clock, p.bytes);
    rtcp_back.clear();
    if (batch.packets.size() < kBatch) {
        batch.packets.resize(kBatch);
        batch.arrivals.resize(kBatch);
    }
    batch.count = 0;
    while (batch.count < kBatch) {
        const ByteView frame = source.next();
        const Timestamp sent = std::max(clock, source.capture_time());
        clock = sent;
        if (!pair.tx->send_frame(sent, 0, frame, source.rtp_timestamp())) std::abort();
        if (sent >= pair.tx->poll_timeout()) pair.tx->handle_timeout(sent);
        int spacing = 0;
        while (auto p = pair.tx->poll_packet()) {
            if (p->rtcp) continue; // the sender's reports are not what is measured
            if (batch.count == batch.packets.size()) batch.packets.emplace_back(), batch.arrivals.emplace_back();
            auto& slot = batch.packets[batch.count];
            slot.assign(p->bytes.begin(), p->bytes.end());
            const size_t len = slot.size();
            slot.resize(len + dtls::kSrtpMaxTrailer);
            const auto r = protect.protect_rtp(slot, len);
            if (!r.ok()) std::abort();
            slot.resize(r.size);
            batch.bytes += r.size;
            // 20 ms of network delay, packets of a frame 0.2 ms apart (paced).
            batch.arrivals[batch.count] = sent + TimeDelta::millis(20) + TimeDelta::micros(200 * spacing++);
            ++batch.count;
        }
    }
    while (pair.tx->poll_packet()) {
    }
}

// malloc calls per packet of rtcpp's path and of raw libsrtp's: what the C libraries allocate shows here only.
void malloc_figures(bench::Reporter& r, const std::string& name, const Meter& rtcpp_path, const Meter& raw) {
    if (!bench::malloc_counted()) return;
    r.figure(name + ".mallocs_per_packet", rtcpp_path.mallocs_per_packet(), "mallocs/packet");
    r.figure(name + ".mallocs_per_packet", raw.mallocs_per_packet(), "mallocs/packet", "libsrtp-raw");
}

void drain_events(std::deque<SessionEvent>& events, uint64_t& frames, uint64_t& frame_bytes) {
    while (!events.empty()) {
        if (auto* f = std::get_if<event::MediaFrame>(&events.front())) {
            ++frames;
            frame_bytes += f->data.size();
        }
        events.pop_front();
    }
}

// ---------------------------------------------------------------------------------------------------------------

int run_media_receive(bench::Reporter& r, const std::vector<std::string>& args) {
    const long total = arg_value(args, "--packets", 200000);
    const auto profile = profile_arg(args);
    Random rng(5);
    const Key key = random_key(profile, rng), unused = random_key(profile, rng);
    auto sender = wrapper(profile, key, unused);
    auto receiver = wrapper(profile, unused, key);       // the engine path
    auto receiver_only = wrapper(profile, unused, key);  // unprotect alone, through the wrapper
    RawSrtp raw(profile, key, false);                    // unprotect alone, straight libsrtp

    MediaPair pair;
    FrameSource source;
    Batch batch;
    std::vector<pc::OutgoingPacket> rtcp_back;
    rtcp_back.reserve(256);
    Timestamp clock = Timestamp::zero();
    std::vector<uint8_t> media_buffer, work;
    media_buffer.reserve(4096);
    work.reserve(4096);
    Meter engine, wrapped, libsrtp;
    uint64_t frames = 0, frame_bytes = 0, dropped_before = 0;
    int warmup = 4; // batches run but not counted: receivers, frame buffer, NACK lists and deques find their sizes
    while (static_cast<long>(engine.packets) < total) {
        fill_batch(pair, source, sender, batch, rtcp_back, clock);
        const bool counted = warmup-- <= 0;
        Meter e, w, l;
        e.traced = counted;
        // The Session's on_srtp: copy into its buffer, unprotect in place, hand the plaintext to the media engine.
        uint64_t f = 0, fb = 0;
        e.begin();
        for (size_t i = 0; i < batch.count; ++i) {
            const Timestamp now = batch.arrivals[i];
            if (now >= pair.rx->poll_timeout()) pair.rx->handle_timeout(now);
            const auto& in = batch.packets[i];
            media_buffer.assign(in.begin(), in.end());
            const auto u = receiver.unprotect_rtp(media_buffer, media_buffer.size());
            if (!u.ok()) std::abort();
            pair.rx->handle_rtp(now, ByteView(media_buffer.data(), u.size));
            drain_events(pair.rx_events, f, fb);
            while (auto out = pair.rx->poll_packet())
                if (rtcp_back.size() < rtcp_back.capacity()) rtcp_back.push_back(std::move(*out));
        }
        e.end(batch.count);
        // The same packets, unprotect only: through SrtpSession, then straight libsrtp.
        w.begin();
        for (size_t i = 0; i < batch.count; ++i) {
            const auto& in = batch.packets[i];
            work.assign(in.begin(), in.end());
            if (!receiver_only.unprotect_rtp(work, work.size()).ok()) std::abort();
        }
        w.end(batch.count);
        l.begin();
        for (size_t i = 0; i < batch.count; ++i) {
            const auto& in = batch.packets[i];
            work.assign(in.begin(), in.end());
            int len = static_cast<int>(work.size());
            if (srtp_unprotect(raw.session, work.data(), &len) != srtp_err_status_ok) std::abort();
        }
        l.end(batch.count);
        if (!counted) {
            dropped_before = pair.rx->dropped();
            batch.bytes = 0;
            continue;
        }
        frames += f;
        frame_bytes += fb;
        engine.add(e);
        wrapped.add(w);
        libsrtp.add(l);
    }
    const double mean_size = static_cast<double>(batch.bytes) / static_cast<double>(engine.packets);
    r.note("VP8 stream: " + std::to_string(engine.packets) + " packets (mean " + std::to_string(mean_size).substr(0, 6) +
           " bytes SRTP), " + std::to_string(frames) + " frames out (" + std::to_string(frame_bytes / std::max<uint64_t>(frames, 1)) +
           " bytes mean), engine drops " + std::to_string(pair.rx->dropped() - dropped_before) + ", " +
           std::string(dtls::to_string(profile)));
    r.figure("media-receive.pps", engine.pps(), "packets/s/core");
    r.figure("media-receive.allocs_per_packet", engine.per_packet(), "allocs/packet");
    r.figure("media-receive.allocs_per_frame",
             frames ? static_cast<double>(engine.allocations) / static_cast<double>(frames) : 0, "allocs/frame");
    r.figure("media-receive.unprotect.pps", wrapped.pps(), "packets/s/core");
    r.figure("media-receive.unprotect.allocs_per_packet", wrapped.per_packet(), "allocs/packet");
    r.figure("media-receive.unprotect.pps", libsrtp.pps(), "packets/s/core", "libsrtp-raw");
    malloc_figures(r, "media-receive", engine, libsrtp);
    return frames > 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------------

int run_media_send(bench::Reporter& r, const std::vector<std::string>& args) {
    const long total = arg_value(args, "--packets", 200000);
    const auto profile = profile_arg(args);
    Random rng(6);
    const Key key = random_key(profile, rng), unused = random_key(profile, rng);
    auto sender = wrapper(profile, key, unused);
    RawSrtp raw(profile, key, true);
    MediaPair pair;
    FrameSource source;
    Meter engine, libsrtp;
    std::vector<uint8_t> work;
    work.reserve(4096);
    uint64_t frames = 0, bytes = 0;
    std::vector<std::vector<uint8_t>> plain(kBatch);
    int warmup = 150; // frames: the NACK history fills its 1,024 slots, deques reach their size
    while (static_cast<long>(engine.packets) < total) {
        const ByteView frame = source.next();
        const Timestamp now = source.capture_time();
        const bool counted = warmup-- <= 0;
        Meter e;
        e.traced = counted;
        size_t n = 0;
        e.begin();
        if (now >= pair.tx->poll_timeout()) pair.tx->handle_timeout(now);
        if (!pair.tx->send_frame(now, 0, frame, source.rtp_timestamp())) std::abort();
        // The Session's pump_media: make room for the tag, protect in place, send.
        while (auto p = pair.tx->poll_packet()) {
            const size_t length = p->bytes.size();
            if (!p->rtcp && n < plain.size()) {
                // The plaintext, kept (outside the count) for the raw libsrtp run below.
                const uint64_t a = bench::allocation_count(), m = bench::malloc_count();
                plain[n].assign(p->bytes.begin(), p->bytes.end());
                e.exclude(bench::allocation_count() - a, bench::malloc_count() - m);
                ++n;
            }
            p->bytes.resize(length + dtls::kSrtpMaxTrailer);
            const auto res = p->rtcp ? sender.protect_rtcp(p->bytes, length) : sender.protect_rtp(p->bytes, length);
            if (!res.ok()) std::abort();
            p->bytes.resize(res.size);
            if (counted) bytes += res.size;
            pair.tx->recycle(std::move(p->bytes)); // after the send, as pump_media does
        }
        e.end(n);
        // The same packets through raw libsrtp: copy in, protect.
        Meter l;
        l.begin();
        for (size_t i = 0; i < n; ++i) {
            work.assign(plain[i].begin(), plain[i].end());
            work.resize(work.size() + dtls::kSrtpMaxTrailer);
            int len = static_cast<int>(plain[i].size());
            if (srtp_protect(raw.session, work.data(), &len) != srtp_err_status_ok) std::abort();
        }
        l.end(n);
        if (!counted) continue;
        ++frames;
        engine.add(e);
        libsrtp.add(l);
    }
    r.note("VP8 frames: " + std::to_string(frames) + ", " + std::to_string(engine.packets) + " packets, mean " +
           std::to_string(bytes / std::max<uint64_t>(engine.packets, 1)) + " bytes SRTP, " +
           std::string(dtls::to_string(profile)));
    r.figure("media-send.pps", engine.pps(), "packets/s/core");
    r.figure("media-send.allocs_per_packet", engine.per_packet(), "allocs/packet");
    r.figure("media-send.protect.pps", libsrtp.pps(), "packets/s/core", "libsrtp-raw");
    malloc_figures(r, "media-send", engine, libsrtp);
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------

// What an SFU keeps per receiver: its own SRTP key, SSRC and sequence numbering.
struct Downstream {
    dtls::SrtpSession srtp;
    std::unique_ptr<RawSrtp> raw;
    uint32_t ssrc;
    uint16_t seq_offset;
    std::vector<uint8_t> buffer;
    uint64_t sent_bytes = 0;
};

// Rewrites SSRC and sequence number of a parsed plaintext packet copied into `out` (same layout as the view).
void rewrite(std::vector<uint8_t>& out, uint16_t seq, uint32_t ssrc) {
    out[2] = static_cast<uint8_t>(seq >> 8);
    out[3] = static_cast<uint8_t>(seq);
    out[8] = static_cast<uint8_t>(ssrc >> 24);
    out[9] = static_cast<uint8_t>(ssrc >> 16);
    out[10] = static_cast<uint8_t>(ssrc >> 8);
    out[11] = static_cast<uint8_t>(ssrc);
}

int run_sfu_forward(bench::Reporter& r, const std::vector<std::string>& args) {
    const long total = arg_value(args, "--packets", 40000);
    const auto profile = profile_arg(args);
    for (const size_t receivers : {size_t{1}, size_t{4}, size_t{16}}) {
        Random rng(9);
        const Key key = random_key(profile, rng), unused = random_key(profile, rng);
        auto sender = wrapper(profile, key, unused);
        auto ingress = wrapper(profile, unused, key);
        auto ingress2 = wrapper(profile, unused, key); // the engine variant's own replay window
        RawSrtp raw_ingress(profile, key, false);
        std::vector<Downstream> down;
        for (size_t i = 0; i < receivers; ++i) {
            const Key k = random_key(profile, rng);
            Downstream d{wrapper(profile, k, unused), std::make_unique<RawSrtp>(profile, k, true), rng.next_u32() | 1,
                         static_cast<uint16_t>(rng.next_u32()), {}, 0};
            d.buffer.reserve(4096);
            down.push_back(std::move(d));
        }
        // The engine variant: one sending MediaEngine per receiver (each its own negotiation), the ingress engine
        // with raw RTP events on.
        MediaPair ingress_pair(true);
        std::vector<std::unique_ptr<MediaPair>> egress;
        std::vector<dtls::SrtpSession> egress_srtp;
        for (size_t i = 0; i < receivers; ++i) {
            egress.push_back(std::make_unique<MediaPair>());
            const Key k = random_key(profile, rng);
            egress_srtp.push_back(wrapper(profile, k, unused));
        }

        MediaPair source_pair;
        FrameSource source;
        Batch batch;
        std::vector<pc::OutgoingPacket> rtcp_back;
        rtcp_back.reserve(256);
        Timestamp clock = Timestamp::zero();
        std::vector<uint8_t> in_buffer, raw_buffer;
        in_buffer.reserve(4096);
        raw_buffer.reserve(4096);
        Meter direct, engine, libsrtp;
        uint64_t ingress_frames = 0, ingress_frame_bytes = 0;
        int warmup = 2;
        while (static_cast<long>(direct.packets) < total) {
            fill_batch(source_pair, source, sender, batch, rtcp_back, clock);
            rtcp_back.clear();
            const bool counted = warmup-- <= 0;
            // rtcpp's pieces, as an SFU would combine them.
            Meter d;
            d.begin();
            for (size_t i = 0; i < batch.count; ++i) {
                const auto& in = batch.packets[i];
                in_buffer.assign(in.begin(), in.end());
                const auto u = ingress.unprotect_rtp(in_buffer, in_buffer.size());
                if (!u.ok()) std::abort();
                const auto view = rtp::RtpPacketView::parse(ByteView(in_buffer.data(), u.size));
                if (!view) std::abort();
                for (auto& ds : down) {
                    ds.buffer.assign(view->bytes().begin(), view->bytes().end());
                    rewrite(ds.buffer, static_cast<uint16_t>(view->sequence_number() + ds.seq_offset), ds.ssrc);
                    const size_t len = ds.buffer.size();
                    ds.buffer.resize(len + dtls::kSrtpMaxTrailer);
                    const auto p = ds.srtp.protect_rtp(ds.buffer, len);
                    if (!p.ok()) std::abort();
                    ds.sent_bytes += p.size; // send: handed to the socket layer
                }
            }
            d.end(batch.count);
            // Through the Session's SFU API: the raw RtpPacket event (the ingress engine also assembles frames, as
            // a Session does), send_rtp on each receiver's engine, then pump_media's protect.
            Meter e;
            e.traced = counted;
            e.begin();
            for (size_t i = 0; i < batch.count; ++i) {
                const Timestamp now = batch.arrivals[i];
                if (now >= ingress_pair.rx->poll_timeout()) ingress_pair.rx->handle_timeout(now);
                const auto& in = batch.packets[i];
                in_buffer.assign(in.begin(), in.end());
                const auto u = ingress2.unprotect_rtp(in_buffer, in_buffer.size());
                if (!u.ok()) std::abort();
                ingress_pair.rx->handle_rtp(now, ByteView(in_buffer.data(), u.size));
                while (auto out = ingress_pair.rx->poll_packet()) {
                }
                auto& events = ingress_pair.rx_events;
                while (!events.empty()) {
                    if (auto* rtp = std::get_if<event::RtpPacket>(&events.front())) {
                        for (size_t k = 0; k < receivers; ++k) {
                            auto& tx = *egress[k]->tx;
                            if (now >= tx.poll_timeout()) tx.handle_timeout(now);
                            if (!tx.send_rtp(now, 0, rtp->packet)) std::abort();
                            while (auto p = tx.poll_packet()) {
                                const size_t length = p->bytes.size();
                                p->bytes.resize(length + dtls::kSrtpMaxTrailer);
                                auto& srtp = egress_srtp[k];
                                const auto res = p->rtcp ? srtp.protect_rtcp(p->bytes, length)
                                                         : srtp.protect_rtp(p->bytes, length);
                                if (!res.ok()) std::abort();
                                p->bytes.resize(res.size);
                                down[k].sent_bytes += res.size;
                                tx.recycle(std::move(p->bytes));
                            }
                        }
                    } else if (auto* f = std::get_if<event::MediaFrame>(&events.front())) {
                        if (counted) {
                            ++ingress_frames;
                            ingress_frame_bytes += f->data.size();
                        }
                    }
                    events.pop_front();
                }
            }
            e.end(batch.count);
            // Raw libsrtp: unprotect, rewrite, protect per receiver (no parse).
            Meter l;
            l.begin();
            for (size_t i = 0; i < batch.count; ++i) {
                const auto& in = batch.packets[i];
                in_buffer.assign(in.begin(), in.end());
                int len = static_cast<int>(in_buffer.size());
                if (srtp_unprotect(raw_ingress.session, in_buffer.data(), &len) != srtp_err_status_ok) std::abort();
                for (auto& ds : down) {
                    raw_buffer.assign(in_buffer.begin(), in_buffer.begin() + len);
                    rewrite(raw_buffer, static_cast<uint16_t>(((raw_buffer[2] << 8) | raw_buffer[3]) + ds.seq_offset),
                            ds.ssrc);
                    raw_buffer.resize(static_cast<size_t>(len) + dtls::kSrtpMaxTrailer);
                    int out_len = len;
                    if (srtp_protect(ds.raw->session, raw_buffer.data(), &out_len) != srtp_err_status_ok) std::abort();
                }
            }
            l.end(batch.count);
            if (!counted) continue;
            direct.add(d);
            engine.add(e);
            libsrtp.add(l);
        }
        const std::string n = std::to_string(receivers);
        r.note("N = " + n + ": " + std::to_string(direct.packets) + " packets in, " + std::to_string(direct.packets * receivers) +
               " out; the engine variant's ingress also assembled " + std::to_string(ingress_frames) + " frames (" +
               std::to_string(ingress_frame_bytes / std::max<uint64_t>(ingress_frames, 1)) + " bytes mean)");
        r.figure("sfu-forward.n" + n + ".pps", direct.pps(), "packets/s/core");
        r.figure("sfu-forward.n" + n + ".allocs_per_packet", direct.per_packet(), "allocs/packet");
        r.figure("sfu-forward.n" + n + ".pps", libsrtp.pps(), "packets/s/core", "libsrtp-raw");
        r.figure("sfu-forward.engine.n" + n + ".pps", engine.pps(), "packets/s/core");
        r.figure("sfu-forward.engine.n" + n + ".allocs_per_packet", engine.per_packet(), "allocs/packet");
        malloc_figures(r, "sfu-forward.n" + n, direct, libsrtp);
    }
    return 0;
}

} // namespace

RTCPP_BENCHMARK("media-send", "send_frame -> RTP -> SRTP protect, packets/s per core and allocs/packet, beside raw "
                              "libsrtp (--packets N, --profile gcm|cm)",
                run_media_send);
RTCPP_BENCHMARK("media-receive", "SRTP VP8 stream -> unprotect -> MediaEngine (parse, frame buffer, depacketize) -> "
                                 "frames, packets/s per core and allocs/packet, beside raw libsrtp (--packets N)",
                run_media_receive);
RTCPP_BENCHMARK("sfu-forward", "receive -> unprotect -> rewrite SSRC/seq -> protect for N = 1, 4, 16 receivers, "
                               "packets/s per core, beside raw libsrtp (--packets N)",
                run_sfu_forward);
