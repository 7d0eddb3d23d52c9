// DTLS-SRTP benchmarks.
//   srtp [--packets N]            protect/unprotect rate of 1200-byte RTP packets, through SrtpSession and through
//                                 raw libsrtp calls in the same run, for both DTLS-SRTP profiles
//   dtls-handshake [--count N]    complete DTLS handshakes per second, two transports joined in memory
//   dtls-data [--records N]       application data through a connected pair (1200-byte records, as SCTP sends)
#include "bench.hpp"

#include <srtp2/srtp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <variant>
#include <string>
#include <vector>

#include <rtcpp/random.hpp>

#include "dtls/dtls_transport.hpp"
#include "dtls/srtp_session.hpp"

using namespace rtcpp;
using namespace rtcpp::dtls;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long arg_value(const std::vector<std::string>& args, const std::string& name, long fallback) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) return std::stol(args[i + 1]);
    return fallback;
}

constexpr size_t kPacketSize = 1200;
constexpr size_t kBatch = 2048;

void write_rtp_header(uint8_t* p, uint32_t index, uint32_t ssrc) {
    p[0] = 0x80;
    p[1] = 96;
    p[2] = static_cast<uint8_t>(index >> 8);
    p[3] = static_cast<uint8_t>(index);
    const uint32_t ts = index * 3000;
    p[4] = static_cast<uint8_t>(ts >> 24);
    p[5] = static_cast<uint8_t>(ts >> 16);
    p[6] = static_cast<uint8_t>(ts >> 8);
    p[7] = static_cast<uint8_t>(ts);
    p[8] = static_cast<uint8_t>(ssrc >> 24);
    p[9] = static_cast<uint8_t>(ssrc >> 16);
    p[10] = static_cast<uint8_t>(ssrc >> 8);
    p[11] = static_cast<uint8_t>(ssrc);
}

// The packet operations, implemented once through SrtpSession and once straight on libsrtp.
struct Ops {
    virtual ~Ops() = default;
    virtual bool protect(uint8_t* buf, size_t cap, int& len) = 0;
    virtual bool unprotect(uint8_t* buf, size_t cap, int& len) = 0;
};

struct RtcppOps : Ops {
    SrtpSession tx, rx;
    RtcppOps(SrtpSession a, SrtpSession b) : tx(std::move(a)), rx(std::move(b)) {}
    bool protect(uint8_t* buf, size_t cap, int& len) override {
        auto r = tx.protect_rtp(std::span<uint8_t>(buf, cap), static_cast<size_t>(len));
        len = static_cast<int>(r.size);
        return r.ok();
    }
    bool unprotect(uint8_t* buf, size_t cap, int& len) override {
        auto r = rx.unprotect_rtp(std::span<uint8_t>(buf, cap), static_cast<size_t>(len));
        len = static_cast<int>(r.size);
        return r.ok();
    }
};

struct RawOps : Ops {
    srtp_t tx = nullptr, rx = nullptr;
    RawOps(SrtpProfile profile, const SrtpKeys& k) {
        tx = make(profile, k.client_key, k.client_salt, ssrc_any_outbound);
        rx = make(profile, k.client_key, k.client_salt, ssrc_any_inbound);
    }
    ~RawOps() override {
        if (tx) srtp_dealloc(tx);
        if (rx) srtp_dealloc(rx);
    }
    static srtp_t make(SrtpProfile profile, const std::vector<uint8_t>& key, const std::vector<uint8_t>& salt,
                       srtp_ssrc_type_t type) {
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof policy);
        if (profile == SrtpProfile::AeadAes128Gcm) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        } else {
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        }
        std::vector<uint8_t> ks(key);
        ks.insert(ks.end(), salt.begin(), salt.end());
        policy.key = ks.data();
        policy.ssrc.type = type;
        policy.window_size = 1024;
        policy.allow_repeat_tx = type == ssrc_any_outbound;
        srtp_t s = nullptr;
        if (srtp_create(&s, &policy) != srtp_err_status_ok) return nullptr;
        return s;
    }
    bool protect(uint8_t* buf, size_t, int& len) override { return srtp_protect(tx, buf, &len) == srtp_err_status_ok; }
    bool unprotect(uint8_t* buf, size_t, int& len) override {
        return srtp_unprotect(rx, buf, &len) == srtp_err_status_ok;
    }
};

struct Rates {
    double protect_pps = 0, unprotect_pps = 0;
};

// Protect: every packet is written fresh (header with a new sequence number, payload copied) and protected.
// Unprotect: batches are protected untimed, then unprotected timed.
bool measure(Ops& ops, long packets, Rates& out) {
    std::vector<uint8_t> payload(kPacketSize);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 31);
    const size_t stride = kPacketSize + kSrtpMaxTrailer;
    std::vector<uint8_t> batch(kBatch * stride);
    std::vector<int> lengths(kBatch);
    std::vector<uint8_t> work(stride);

    uint32_t index = 0;
    auto t0 = Clock::now();
    for (long n = 0; n < packets; ++n) {
        std::memcpy(work.data(), payload.data(), kPacketSize);
        write_rtp_header(work.data(), index++, 0x1234);
        int len = static_cast<int>(kPacketSize);
        if (!ops.protect(work.data(), work.size(), len)) return false;
    }
    out.protect_pps = static_cast<double>(packets) / seconds_since(t0);

    double unprotect_seconds = 0;
    long done = 0;
    index = 0;
    // The receive side sees the sequence numbers from 0 again: use a fresh SSRC per measurement instead.
    while (done < packets) {
        const size_t n = static_cast<size_t>(std::min<long>(static_cast<long>(kBatch), packets - done));
        for (size_t i = 0; i < n; ++i) {
            uint8_t* p = batch.data() + i * stride;
            std::memcpy(p, payload.data(), kPacketSize);
            write_rtp_header(p, index++, 0x5678);
            lengths[i] = static_cast<int>(kPacketSize);
            if (!ops.protect(p, stride, lengths[i])) return false;
        }
        auto t1 = Clock::now();
        for (size_t i = 0; i < n; ++i)
            if (!ops.unprotect(batch.data() + i * stride, stride, lengths[i])) return false;
        unprotect_seconds += seconds_since(t1);
        done += static_cast<long>(n);
    }
    out.unprotect_pps = static_cast<double>(packets) / unprotect_seconds;
    return true;
}

SrtpKeys random_keys(SrtpProfile profile, Random& rng) {
    SrtpKeys k;
    k.profile = profile;
    auto fill = [&](std::vector<uint8_t>& v, size_t n) {
        v.resize(n);
        rng.fill(v);
    };
    fill(k.client_key, srtp_master_key_size(profile));
    fill(k.server_key, srtp_master_key_size(profile));
    fill(k.client_salt, srtp_master_salt_size(profile));
    fill(k.server_salt, srtp_master_salt_size(profile));
    return k;
}

int bench_srtp(bench::Reporter& r, const std::vector<std::string>& args) {
    const long packets = arg_value(args, "--packets", 100000);
    Random rng(7);
    for (auto profile : {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80}) {
        const std::string name = profile == SrtpProfile::AeadAes128Gcm ? "aead_aes_128_gcm" : "aes128_cm_sha1_80";
        SrtpKeys keys = random_keys(profile, rng);
        // Client sends with the client key; a "server" session receives with it.
        auto tx = SrtpSession::create(keys, Role::Client);
        auto rx = SrtpSession::create(keys, Role::Server);
        if (!tx || !rx) {
            r.note("cannot create SRTP sessions: " + (tx ? rx.error() : tx.error()).to_string());
            return 1;
        }
        RtcppOps wrapped(std::move(*tx), std::move(*rx));
        RawOps raw(profile, keys); // libsrtp stays initialised: `wrapped` holds a reference
        if (!raw.tx || !raw.rx) {
            r.note("raw srtp_create failed");
            return 1;
        }
        // Alternate the two, best of three each: the machine is shared, so single runs are noisy.
        Rates a, b;
        for (int round = 0; round < 3; ++round) {
            Rates ra, rb;
            if (!measure(raw, packets, rb) || !measure(wrapped, packets, ra)) {
                r.note("a protect/unprotect call failed during " + name);
                return 1;
            }
            a.protect_pps = std::max(a.protect_pps, ra.protect_pps);
            a.unprotect_pps = std::max(a.unprotect_pps, ra.unprotect_pps);
            b.protect_pps = std::max(b.protect_pps, rb.protect_pps);
            b.unprotect_pps = std::max(b.unprotect_pps, rb.unprotect_pps);
        }
        r.figure("srtp." + name + ".protect_1200B", a.protect_pps, "packets/s");
        r.figure("srtp." + name + ".protect_1200B", b.protect_pps, "packets/s", "libsrtp-raw");
        r.figure("srtp." + name + ".unprotect_1200B", a.unprotect_pps, "packets/s");
        r.figure("srtp." + name + ".unprotect_1200B", b.unprotect_pps, "packets/s", "libsrtp-raw");
        r.figure("srtp." + name + ".protect_throughput", a.protect_pps * kPacketSize * 8 / 1e9, "Gbit/s");
    }
    return 0;
}

// One handshake between two fresh transports, datagrams moved in memory. Returns false on failure.
bool handshake_once(const Certificate& a, const Certificate& b, Timestamp& now,
                    std::optional<DtlsTransport>* keep_client = nullptr,
                    std::optional<DtlsTransport>* keep_server = nullptr) {
    DtlsConfig cc(a), sc(b);
    cc.role = Role::Client;
    sc.role = Role::Server;
    cc.remote_fingerprints = {b.fingerprint()};
    sc.remote_fingerprints = {a.fingerprint()};
    auto c = DtlsTransport::create(cc);
    auto s = DtlsTransport::create(sc);
    if (!c || !s) return false;
    s->start(now);
    c->start(now);
    std::vector<uint8_t> buf;
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        while (auto d = c->poll_transmit()) {
            buf.assign(d->begin(), d->end());
            s->handle_datagram(now, buf);
            moved = true;
        }
        while (auto d = s->poll_transmit()) {
            buf.assign(d->begin(), d->end());
            c->handle_datagram(now, buf);
            moved = true;
        }
        while (c->poll_event()) {
        }
        while (s->poll_event()) {
        }
        if (c->state() == DtlsState::Connected && s->state() == DtlsState::Connected) {
            if (keep_client) keep_client->emplace(std::move(*c));
            if (keep_server) keep_server->emplace(std::move(*s));
            return true;
        }
        if (!moved) return false;
    }
    return false;
}

int bench_handshake(bench::Reporter& r, const std::vector<std::string>& args) {
    const long count = arg_value(args, "--count", 300);
    auto a = Certificate::generate("bench-a");
    auto b = Certificate::generate("bench-b");
    if (!a || !b) {
        r.note("certificate generation failed");
        return 1;
    }
    Timestamp now = Timestamp::seconds(1);
    if (!handshake_once(*a, *b, now)) { // warm-up (SSL_CTX creation)
        r.note("handshake failed");
        return 1;
    }
    std::vector<double> times;
    times.reserve(static_cast<size_t>(count));
    auto t0 = Clock::now();
    for (long i = 0; i < count; ++i) {
        auto t1 = Clock::now();
        if (!handshake_once(*a, *b, now)) {
            r.note("handshake failed");
            return 1;
        }
        times.push_back(seconds_since(t1) * 1e3);
    }
    const double total = seconds_since(t0);
    std::sort(times.begin(), times.end());
    r.figure("dtls.handshakes_per_second", static_cast<double>(count) / total, "handshakes/s");
    r.figure("dtls.handshake_cpu_median", times[times.size() / 2], "ms");
    r.figure("dtls.handshake_cpu_p99", times[times.size() * 99 / 100], "ms");
    return 0;
}

int bench_data(bench::Reporter& r, const std::vector<std::string>& args) {
    const long records = arg_value(args, "--records", 200000);
    auto a = Certificate::generate("bench-a");
    auto b = Certificate::generate("bench-b");
    if (!a || !b) return 1;
    Timestamp now = Timestamp::seconds(1);
    std::optional<DtlsTransport> c, s;
    if (!handshake_once(*a, *b, now, &c, &s)) {
        r.note("handshake failed");
        return 1;
    }
    std::vector<uint8_t> payload(1200 - 13 - 8 - 16); // record header, explicit nonce and GCM tag: a 1200 B datagram
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
    long received = 0;
    size_t datagram_size = 0;
    auto t0 = Clock::now();
    for (long i = 0; i < records; ++i) {
        if (!c->send(payload)) return 1;
        while (auto d = c->poll_transmit()) {
            datagram_size = d->size();
            s->handle_datagram(now, *d);
        }
        while (auto e = s->poll_event())
            if (std::holds_alternative<DtlsApplicationData>(*e)) ++received;
    }
    const double secs = seconds_since(t0);
    if (received != records) {
        r.note("lost records");
        return 1;
    }
    r.figure("dtls.data_records_per_second", static_cast<double>(records) / secs, "records/s");
    r.figure("dtls.data_throughput", static_cast<double>(records) * static_cast<double>(payload.size()) / secs / 1e6,
             "MB/s");
    r.figure("dtls.data_datagram_size", static_cast<double>(datagram_size), "bytes");
    return 0;
}

} // namespace

RTCPP_BENCHMARK("srtp", "SRTP protect/unprotect rate, 1200-byte packets, SrtpSession vs raw libsrtp, both profiles",
                bench_srtp);
RTCPP_BENCHMARK("dtls-handshake", "DTLS 1.2 handshakes per second between two in-memory transports",
                bench_handshake);
RTCPP_BENCHMARK("dtls-data", "DTLS application data (one side encrypts, the other decrypts) through SCTP-sized records",
                bench_data);
