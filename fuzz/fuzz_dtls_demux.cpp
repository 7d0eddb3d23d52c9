// RFC 7983 demultiplexing, DTLS record scanning, and a DTLS server fed with whatever arrives.
//
// Input: a sequence of datagrams, each a 16-bit big-endian length and that many bytes (the last one may be cut
// short). The seed corpus holds real handshake datagrams captured from tests/dtls (RTCPP_DTLS_CAPTURE_DIR).
#include <cstdint>
#include <cstdlib>

#include "core/byte_reader.hpp"
#include "dtls/demux.hpp"
#include "dtls/dtls_transport.hpp"

using namespace rtcpp;
using namespace rtcpp::dtls;

namespace {

void check_classifier(ByteView d) {
    const PacketKind k = classify_packet(d);
    if (d.empty()) {
        if (k != PacketKind::Unknown) std::abort();
        return;
    }
    const uint8_t b = d[0];
    switch (k) {
    case PacketKind::Stun: if (b > 3) std::abort(); break;
    case PacketKind::Zrtp: if (b < 16 || b > 19) std::abort(); break;
    case PacketKind::Dtls: if (b < 20 || b > 63) std::abort(); break;
    case PacketKind::TurnChannel: if (b < 64 || b > 79) std::abort(); break;
    case PacketKind::Rtp: if (b < 128 || b > 191 || is_rtcp(d) || d.size() < 12) std::abort(); break;
    case PacketKind::Rtcp: if (b < 128 || b > 191 || !is_rtcp(d) || d.size() < 8) std::abort(); break;
    case PacketKind::Unknown: break;
    }
    const DtlsRecordScan scan = scan_dtls_records(d);
    if (scan.well_formed && (scan.records == 0 || scan.records * 13 > d.size() || k != PacketKind::Dtls)) std::abort();
}

const Certificate& certificate() {
    static Certificate cert = [] {
        auto c = Certificate::generate("fuzz");
        if (!c) std::abort();
        return *c;
    }();
    return cert;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteView input(data, size);
    check_classifier(input);

    DtlsConfig config(certificate());
    config.role = Role::Server;
    config.remote_fingerprints = {certificate().fingerprint()};
    auto server = DtlsTransport::create(config);
    if (!server) std::abort();
    Timestamp now = Timestamp::seconds(1);
    server->start(now);

    ByteReader r(input);
    uint64_t fed = 0;
    while (!r.empty()) {
        auto len = r.read_u16();
        if (!len) break;
        auto chunk = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!chunk) break;
        check_classifier(*chunk);
        server->handle_datagram(now, *chunk);
        ++fed;
        now += TimeDelta::millis(700);
        if (server->poll_timeout() <= now) server->handle_timeout(now);
        while (auto d = server->poll_transmit()) {
            if (d->size() > config.mtu) std::abort();
        }
        while (server->poll_event()) {
        }
        if (server->state() == DtlsState::Connected) std::abort(); // no client holds the fingerprinted key
    }
    if (server->stats().datagrams_received != fed) std::abort();
    // Time runs out: the handshake cap must end any handshake still going on.
    server->handle_timeout(now + TimeDelta::seconds(31));
    server->handle_timeout(now + TimeDelta::seconds(62));
    if (server->state() == DtlsState::Connecting) std::abort();
    return 0;
}
