// TURN: ChannelData parsing and stream framing, and a TURN client fed a sequence of server messages.
//
// Input: the first byte picks the mode (its value modulo 4).
//   0: the rest is raw TURN bytes: parse_channel_data (must round-trip) and a StreamFramer fed the same bytes in
//         chunks whose sizes come from the input (must yield exactly what one big chunk yields).
//   1, 3: a TurnClient (3: over TCP instead of UDP) has started an allocation, then the rest is a sequence of
//         chunks, each [op:u8][len:u16][len bytes]:
//           op%4 == 0: the bytes as they are, from the server;
//           op%4 == 1: the bytes parsed as STUN, given the transaction id of the client's latest request and signed
//                      with the long-term key for realm "fuzz" (so the fuzzer reaches the allocated states);
//           op%4 == 2: time advances by the first byte in seconds (x4 if op & 4);
//           op%4 == 3: a command: send_to / create_permission / bind_channel to a peer made from the bytes, or close.
//   2: a TurnServer fed chunks [op:u8][len:u16][bytes] from three clients and two peers:
//           op%4 == 0: raw bytes from client (op>>2)%3;  op%4 == 1: the bytes parsed as STUN and sent with valid
//           long-term credentials and the latest nonce the server issued;  op%4 == 2: time advances;
//           op%4 == 3: the bytes from peer (op>>2)%2 to the relayed address of client (op>>3)%3.
#include "stun/turn_client.hpp"
#include "stun/turn_framing.hpp"
#include "stun/turn_server.hpp"

#include <cstdlib>

using namespace rtcpp;
using namespace rtcpp::stun;

namespace {

void fuzz_framing(ByteView in) {
    if (auto cd = parse_channel_data(in)) {
        if (!is_channel_data(in) || !is_valid_channel(cd->channel)) std::abort();
        std::vector<uint8_t> again;
        encode_channel_data(again, cd->channel, cd->data, true);
        auto back = parse_channel_data(again);
        if (!back || back->channel != cd->channel || !std::equal(back->data.begin(), back->data.end(),
                                                                 cd->data.begin(), cd->data.end()))
            std::abort();
    }
    StreamFramer whole;
    whole.feed(in);
    std::vector<std::vector<uint8_t>> expected;
    while (auto m = whole.next()) expected.push_back(std::move(*m));
    StreamFramer pieces;
    std::vector<std::vector<uint8_t>> got;
    size_t off = 0, i = 0;
    while (off < in.size()) {
        const size_t n = std::min<size_t>(in.size() - off, 1 + in[i++ % in.size()] % 37);
        pieces.feed(in.subspan(off, n));
        off += n;
        while (auto m = pieces.next()) got.push_back(std::move(*m));
    }
    if (got != expected || pieces.broken() != whole.broken()) std::abort();
}

void fuzz_client(bool tcp, ByteView in) {
    Random random(1);
    TurnClientConfig config;
    config.server = SocketAddr(IpAddr::v4(192, 0, 2, 1), 3478);
    config.transport = tcp ? TurnTransport::Tcp : TurnTransport::Udp;
    config.username = "user";
    config.password = "pass";
    config.max_queued_bytes = 4096;
    config.max_peers = 8;
    TurnClient client(config, random);
    static const std::vector<uint8_t> key = long_term_key("user", "fuzz", "pass");
    Timestamp now = Timestamp::seconds(1);
    if (!client.allocate(now).ok()) std::abort();
    std::optional<TransactionId> last_request;
    auto drain = [&] {
        while (auto b = client.poll_transmit())
            if (auto id = peek_transaction_id(*b); id && is_stun(*b)) last_request = id;
        while (client.poll_event()) {
        }
        if (client.state() == TurnState::Allocated && !client.relayed_address()) std::abort();
        if (client.poll_timeout() < now && client.state() != TurnState::Allocated &&
            client.state() != TurnState::Allocating && client.state() != TurnState::Closing)
            std::abort();
    };
    drain();
    ByteReader r(in);
    while (!r.empty()) {
        const auto op = r.read_u8();
        const auto len = r.read_u16();
        if (!op || !len) break;
        const auto bytes = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!bytes) break;
        switch (*op % 4) {
        case 0:
            client.handle_datagram(now, *bytes);
            break;
        case 1: {
            auto m = Message::parse(*bytes);
            if (!m.ok()) {
                client.handle_datagram(now, *bytes);
                break;
            }
            Message out = *m;
            if (last_request) out.set_transaction_id(*last_request);
            // Rebuild the attributes so XOR addresses stay valid under the new transaction id.
            Message rebuilt(out.cls(), out.method(), out.transaction_id());
            for (const auto& a : m->attributes()) {
                if ((a.type == attr::XorRelayedAddress || a.type == attr::XorMappedAddress ||
                     a.type == attr::XorPeerAddress) &&
                    m->get_xor_address(a.type))
                    rebuilt.add_xor_address(a.type, *m->get_xor_address(a.type));
                else
                    rebuilt.add_raw(a.type, a.value);
            }
            auto signed_bytes = rebuilt.encode(key, IntegrityAlgorithm::Sha1, (*op & 4) != 0);
            if (tcp && bytes->size() > 2) {
                // Deliver in two pieces to exercise reassembly.
                const size_t cut = (*bytes)[0] % signed_bytes.size();
                client.handle_datagram(now, ByteView(signed_bytes).first(cut));
                client.handle_datagram(now, ByteView(signed_bytes).subspan(cut));
            } else {
                client.handle_datagram(now, signed_bytes);
            }
            break;
        }
        case 2: {
            const int64_t step = bytes->empty() ? 1 : (*bytes)[0];
            now += TimeDelta::seconds(step * ((*op & 4) ? 4 : 1));
            client.handle_timeout(now);
            break;
        }
        default: {
            ByteReader b(*bytes);
            const auto which = b.read_u8();
            const auto a = b.read_u32();
            const auto port = b.read_u16();
            const SocketAddr peer(IpAddr::v4(a.value_or(0x0A000001)), port.value_or(9));
            switch (which.value_or(0) % 4) {
            case 0: (void)client.send_to(now, peer, b.rest()); break;
            case 1: (void)client.create_permission(now, peer.ip()); break;
            case 2: (void)client.bind_channel(now, peer); break;
            default: client.close(now); break;
            }
            break;
        }
        }
        drain();
    }
}

void fuzz_server(ByteView in) {
    Random random(1);
    const SocketAddr listen(IpAddr::v4(192, 0, 2, 1), 3478);
    TurnServerConfig config;
    config.listen = {listen};
    config.relay_ipv4 = IpAddr::v4(192, 0, 2, 2);
    config.relay_ipv6 = *IpAddr::parse("2001:db8::2");
    config.min_port = 50000;
    config.max_port = 50003; // small: port exhaustion is reachable
    config.realm = "fuzz";
    config.users = {{"user", "pass"}};
    config.max_allocations = 3;
    config.max_allocations_per_client = 2;
    config.max_permissions = 4;
    config.max_channels = 4;
    TurnServer server(config, random);
    static const std::vector<uint8_t> key = long_term_key("user", "fuzz", "pass");
    const SocketAddr clients[3] = {SocketAddr(IpAddr::v4(203, 0, 113, 1), 4000),
                                   SocketAddr(IpAddr::v4(203, 0, 113, 1), 4001),
                                   SocketAddr(IpAddr::v4(203, 0, 113, 2), 4000)};
    const SocketAddr peers[2] = {SocketAddr(IpAddr::v4(198, 51, 100, 9), 1), SocketAddr(IpAddr::v4(198, 51, 100, 9), 2)};
    Timestamp now = Timestamp::seconds(1);
    std::string nonce;
    auto drain = [&] {
        while (auto t = server.poll_transmit()) {
            if (t->from != listen && !server.owns(t->from)) std::abort(); // only from addresses it owns
            if (t->from == listen) {
                if (auto m = Message::parse(t->bytes); m.ok()) {
                    if (auto n = m->get_string(attr::Nonce)) nonce = std::string(*n);
                } else if (!is_channel_data(t->bytes)) {
                    std::abort(); // everything toward clients is well-formed STUN or ChannelData
                }
            }
        }
        if (server.allocation_count() > config.max_allocations) std::abort();
    };
    ByteReader r(in);
    while (!r.empty()) {
        const auto op = r.read_u8();
        const auto len = r.read_u16();
        if (!op || !len) break;
        const auto bytes = r.read_bytes(std::min<size_t>(*len, r.remaining()));
        if (!bytes) break;
        const SocketAddr& client = clients[(*op >> 2) % 3];
        switch (*op % 4) {
        case 0:
            server.handle_datagram(now, client, listen, *bytes);
            break;
        case 1: {
            auto m = Message::parse(*bytes);
            if (!m.ok()) break;
            Message req(m->cls(), m->method(), m->transaction_id());
            for (const auto& a : m->attributes()) {
                if (a.type == attr::Username || a.type == attr::Realm || a.type == attr::Nonce) continue;
                if (a.type == attr::XorPeerAddress && m->get_xor_address(a.type))
                    req.add_xor_address(a.type, *m->get_xor_address(a.type));
                else
                    req.add_raw(a.type, a.value);
            }
            req.add_string(attr::Username, "user");
            req.add_string(attr::Realm, "fuzz");
            req.add_string(attr::Nonce, nonce);
            server.handle_datagram(now, client, listen, req.encode(key, IntegrityAlgorithm::Sha1, (*op & 4) != 0));
            break;
        }
        case 2:
            now += TimeDelta::seconds(bytes->empty() ? 1 : (*bytes)[0]);
            server.handle_timeout(now);
            break;
        default:
            if (auto relayed = server.relayed_address_of(clients[(*op >> 3) % 3], listen))
                server.handle_datagram(now, peers[(*op >> 2) % 2], *relayed, *bytes);
            break;
        }
        drain();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: fuzz_framing(in); break;
    case 2: fuzz_server(in); break;
    default: fuzz_client(data[0] % 4 == 3, in); break;
    }
    return 0;
}
