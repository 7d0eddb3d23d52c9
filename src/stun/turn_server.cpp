#include "stun/turn_server.hpp"

#include "core/byte_writer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace rtcpp::stun {

namespace {
constexpr uint8_t kUdpProtocol = 17;
constexpr size_t kNonceMacBytes = 10;

char hex_digit(unsigned v) { return "0123456789abcdef"[v & 0xF]; }

std::optional<uint64_t> parse_hex64(std::string_view s) {
    if (s.size() != 16) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        unsigned d = 0;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        else return std::nullopt;
        v = (v << 4) | d;
    }
    return v;
}

// Every XOR-PEER-ADDRESS of a CreatePermission (there may be several).
std::optional<std::vector<SocketAddr>> peer_addresses(const Message& req) {
    std::vector<SocketAddr> out;
    for (const auto& a : req.attributes()) {
        if (a.type != attr::XorPeerAddress) continue;
        Message one(req.cls(), req.method(), req.transaction_id());
        one.add_raw(attr::XorPeerAddress, a.value);
        if (auto addr = one.get_xor_address(attr::XorPeerAddress)) out.push_back(*addr);
        else return std::nullopt;
    }
    return out;
}
} // namespace

TurnServer::TurnServer(TurnServerConfig config, Random& random) : config_(std::move(config)), random_(random) {
    nonce_secret_.resize(32);
    random_.fill(nonce_secret_);
    for (const auto& [name, password] : config_.users) add_user(name, password);
    // Passwords are not kept once the keys exist.
    config_.users.clear();
    if (config_.min_port == 0) config_.min_port = 1;
    if (config_.max_port < config_.min_port) config_.max_port = config_.min_port;
}

void TurnServer::add_user(const std::string& username, const std::string& password) {
    users_[username] = User{long_term_key(username, config_.realm, password)};
}

bool TurnServer::owns(const SocketAddr& addr) const {
    if (std::find(config_.listen.begin(), config_.listen.end(), addr) != config_.listen.end()) return true;
    return by_relay_.count(addr) != 0;
}

std::optional<SocketAddr> TurnServer::relayed_address_of(const SocketAddr& client, const SocketAddr& server) const {
    const auto it = allocations_.find({client, server});
    if (it == allocations_.end()) return std::nullopt;
    return it->second.relayed;
}

std::string TurnServer::make_nonce(Timestamp now, const IpAddr& client) const {
    const uint64_t expiry = static_cast<uint64_t>((now + config_.nonce_lifetime).us());
    std::vector<uint8_t> input;
    ByteWriter w(input);
    w.write_u64(expiry);
    w.write_bytes(ByteView(client.data(), client.size()));
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), nonce_secret_.data(), static_cast<int>(nonce_secret_.size()), input.data(), input.size(), mac,
         &len);
    std::string out;
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digit(static_cast<unsigned>(expiry >> shift)));
    for (size_t i = 0; i < kNonceMacBytes; ++i) {
        out.push_back(hex_digit(mac[i] >> 4));
        out.push_back(hex_digit(mac[i]));
    }
    return out;
}

TurnServer::NonceCheck TurnServer::check_nonce(Timestamp now, std::string_view nonce, const IpAddr& client) const {
    if (nonce.size() != 16 + 2 * kNonceMacBytes) return NonceCheck::Invalid;
    const auto expiry = parse_hex64(nonce.substr(0, 16));
    if (!expiry || *expiry > static_cast<uint64_t>(INT64_MAX)) return NonceCheck::Invalid;
    // Recompute with the claimed expiry: only this server could have made the MAC.
    const Timestamp expires = Timestamp::micros(static_cast<int64_t>(*expiry));
    std::string expected = make_nonce(expires - config_.nonce_lifetime, client);
    if (CRYPTO_memcmp(expected.data(), nonce.data(), expected.size()) != 0) return NonceCheck::Invalid;
    return now < expires ? NonceCheck::Ok : NonceCheck::Expired;
}

bool TurnServer::peer_allowed(const IpAddr& peer) const {
    if (peer.is_unspecified()) return false;
    if (peer.is_loopback() && !config_.allow_loopback_peers) return false;
    return true;
}

std::optional<SocketAddr> TurnServer::pick_relay(const IpAddr& ip) {
    const uint32_t range = static_cast<uint32_t>(config_.max_port - config_.min_port) + 1;
    const uint32_t start = random_.next_u32() % range;
    for (uint32_t i = 0; i < range; ++i) {
        const SocketAddr candidate(ip, static_cast<uint16_t>(config_.min_port + (start + i) % range));
        if (!by_relay_.count(candidate) &&
            std::find(config_.listen.begin(), config_.listen.end(), candidate) == config_.listen.end())
            return candidate;
    }
    return std::nullopt;
}

TimeDelta TurnServer::granted_lifetime(std::optional<uint32_t> requested, bool allocate) const {
    if (!requested) return config_.default_lifetime;
    const TimeDelta asked = std::min(TimeDelta::seconds(*requested), config_.max_lifetime);
    // RFC 8656 7.2: an Allocate gets at least the default; a Refresh gets what it asked for (bounded).
    return allocate ? std::max(asked, config_.default_lifetime) : asked;
}

void TurnServer::send_success(const FiveTuple& t, Message& resp, const std::vector<uint8_t>& key) {
    if (!config_.software.empty()) resp.add_string(attr::Software, config_.software);
    out_.push_back({t.second, t.first, resp.encode(key, IntegrityAlgorithm::Sha1, true)});
}

void TurnServer::send_error(const FiveTuple& t, const Message& req, uint16_t code, std::string_view reason,
                            const std::vector<uint8_t>* key) {
    ++stats_.error_responses;
    Message resp = req.make_response(Class::ErrorResponse);
    resp.add_error_code(code, reason);
    if (code == error::UnknownAttribute) resp.add_unknown_attributes(req.unknown_comprehension_required());
    if (!config_.software.empty()) resp.add_string(attr::Software, config_.software);
    out_.push_back({t.second, t.first,
                    key ? resp.encode(*key, IntegrityAlgorithm::Sha1, true)
                        : resp.encode({}, IntegrityAlgorithm::None, true)});
}

void TurnServer::send_challenge(Timestamp now, const FiveTuple& t, const Message& req, uint16_t code,
                                std::string_view reason) {
    ++stats_.error_responses;
    Message resp = req.make_response(Class::ErrorResponse);
    resp.add_error_code(code, reason);
    resp.add_string(attr::Realm, config_.realm);
    resp.add_string(attr::Nonce, make_nonce(now, t.first.ip()));
    if (!config_.software.empty()) resp.add_string(attr::Software, config_.software);
    out_.push_back({t.second, t.first, resp.encode({}, IntegrityAlgorithm::None, true)});
}

void TurnServer::handle_datagram(Timestamp now, const SocketAddr& from, const SocketAddr& to, ByteView bytes) {
    if (const auto r = by_relay_.find(to); r != by_relay_.end()) {
        auto it = allocations_.find(r->second);
        if (it != allocations_.end()) handle_peer(now, it->second, from, bytes);
        return;
    }
    if (std::find(config_.listen.begin(), config_.listen.end(), to) == config_.listen.end()) return;
    handle_client(now, from, to, bytes);
}

void TurnServer::handle_peer(Timestamp now, Allocation& a, const SocketAddr& from, ByteView bytes) {
    if (now >= a.expires) return;
    const auto perm = a.permissions.find(from.ip());
    if (perm == a.permissions.end() || now >= perm->second) {
        ++stats_.dropped_no_permission;
        return;
    }
    std::vector<uint8_t> out;
    const auto ch = a.peer_channels.find(from);
    if (ch != a.peer_channels.end() && now < a.channels[ch->second].expires) {
        out.reserve(kChannelDataHeaderSize + bytes.size());
        encode_channel_data(out, ch->second, bytes, false);
    } else {
        Message ind(Class::Indication, Method::Data, random_transaction_id(random_));
        ind.add_xor_address(attr::XorPeerAddress, from);
        ind.add_raw(attr::Data, bytes);
        out = ind.encode();
    }
    ++stats_.relayed_to_client;
    out_.push_back({a.tuple.second, a.tuple.first, std::move(out)});
}

void TurnServer::handle_client(Timestamp now, const SocketAddr& from, const SocketAddr& to, ByteView bytes) {
    const FiveTuple t{from, to};
    if (is_channel_data(bytes)) {
        handle_channel_data(now, t, bytes);
        return;
    }
    if (!is_stun(bytes)) {
        ++stats_.malformed;
        return;
    }
    auto parsed = Message::parse(bytes);
    if (!parsed.ok() || !parsed->fingerprint_ok()) {
        ++stats_.malformed;
        return;
    }
    const Message& msg = *parsed;
    if (msg.cls() == Class::Indication) {
        if (msg.method() == Method::Send) handle_send(now, t, msg);
        else ++stats_.malformed;
        return;
    }
    if (msg.cls() != Class::Request) {
        ++stats_.malformed;
        return;
    }
    if (!msg.unknown_comprehension_required().empty()) {
        send_error(t, msg, error::UnknownAttribute, "Unknown Attribute", nullptr);
        return;
    }
    if (msg.method() == Method::Binding) {
        handle_binding(from, to, msg);
        return;
    }
    switch (msg.method()) {
    case Method::Allocate:
    case Method::Refresh:
    case Method::CreatePermission:
    case Method::ChannelBind:
        break;
    default:
        send_error(t, msg, error::BadRequest, "Bad Request", nullptr);
        return;
    }
    std::string username;
    const User* user = authenticate(now, from, to, msg, username);
    if (!user) return;
    switch (msg.method()) {
    case Method::Allocate: handle_allocate(now, t, msg, username, *user); break;
    case Method::Refresh: handle_refresh(now, t, msg, username, *user); break;
    case Method::CreatePermission: handle_create_permission(now, t, msg, username, *user); break;
    case Method::ChannelBind: handle_channel_bind(now, t, msg, username, *user); break;
    default: break;
    }
}

void TurnServer::handle_binding(const SocketAddr& from, const SocketAddr& to, const Message& req) {
    ++stats_.binding_requests;
    Message resp = req.make_response(Class::SuccessResponse);
    resp.add_xor_address(attr::XorMappedAddress, from);
    if (!config_.software.empty()) resp.add_string(attr::Software, config_.software);
    out_.push_back({to, from, resp.encode({}, IntegrityAlgorithm::None, true)});
}

const TurnServer::User* TurnServer::authenticate(Timestamp now, const SocketAddr& from, const SocketAddr& to,
                                                 const Message& req, std::string& username) {
    const FiveTuple t{from, to};
    // RFC 8489 9.2.4, in order.
    if (!req.has_integrity() && !req.has_integrity_sha256()) {
        ++stats_.unauthenticated;
        send_challenge(now, t, req, error::Unauthorized, "Unauthorized");
        return nullptr;
    }
    const auto user = req.username();
    const auto realm = req.get_string(attr::Realm);
    const auto nonce = req.get_string(attr::Nonce);
    if (!user || !realm || !nonce) {
        send_error(t, req, error::BadRequest, "Bad Request", nullptr);
        return nullptr;
    }
    if (check_nonce(now, *nonce, from.ip()) != NonceCheck::Ok || *realm != config_.realm) {
        ++stats_.stale_nonces;
        send_challenge(now, t, req, error::StaleNonce, "Stale Nonce");
        return nullptr;
    }
    const auto it = users_.find(std::string(*user));
    if (it == users_.end()) {
        ++stats_.unauthenticated;
        send_challenge(now, t, req, error::Unauthorized, "Unauthorized");
        return nullptr;
    }
    if (req.verify_integrity(it->second.key) != IntegrityCheck::Ok) {
        ++stats_.bad_integrity;
        ++stats_.unauthenticated;
        send_challenge(now, t, req, error::Unauthorized, "Unauthorized");
        return nullptr;
    }
    username = it->first;
    return &it->second;
}

void TurnServer::handle_allocate(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                                 const User& u) {
    if (auto it = allocations_.find(t); it != allocations_.end()) {
        // A retransmission of the request that created it gets the same answer (RFC 8656 7.2, step 2).
        if (it->second.allocate_id == req.transaction_id() && it->second.username == user) {
            out_.push_back({t.second, t.first, it->second.allocate_response});
            return;
        }
        send_error(t, req, error::AllocationMismatch, "Allocation Mismatch", &u.key);
        return;
    }
    const auto transport = req.requested_transport();
    if (!transport) {
        send_error(t, req, error::BadRequest, "Bad Request: no REQUESTED-TRANSPORT", &u.key);
        return;
    }
    if (*transport != kUdpProtocol) {
        send_error(t, req, error::UnsupportedTransportProtocol, "Unsupported Transport Protocol", &u.key);
        return;
    }
    if (req.has(attr::RequestedAddressFamily) && !req.requested_address_family()) {
        send_error(t, req, error::AddressFamilyNotSupported, "Address Family not Supported", &u.key);
        return;
    }
    const IpFamily family = req.requested_address_family().value_or(IpFamily::V4);
    const std::optional<IpAddr> relay_ip = family == IpFamily::V4 ? config_.relay_ipv4 : config_.relay_ipv6;
    if (!relay_ip) {
        send_error(t, req, error::AddressFamilyNotSupported, "Address Family not Supported", &u.key);
        return;
    }
    if (const auto pc = per_client_.find(t.first.ip());
        pc != per_client_.end() && pc->second >= config_.max_allocations_per_client) {
        send_error(t, req, error::AllocationQuotaReached, "Allocation Quota Reached", &u.key);
        return;
    }
    if (allocations_.size() >= config_.max_allocations) {
        send_error(t, req, error::InsufficientCapacity, "Insufficient Capacity", &u.key);
        return;
    }
    const auto relayed = pick_relay(*relay_ip);
    if (!relayed) {
        send_error(t, req, error::InsufficientCapacity, "Insufficient Capacity", &u.key);
        return;
    }
    const TimeDelta lifetime = granted_lifetime(req.get_u32(attr::Lifetime), true);
    Allocation a;
    a.tuple = t;
    a.username = user;
    a.key = u.key;
    a.relayed = *relayed;
    a.expires = now + lifetime;
    a.allocate_id = req.transaction_id();
    Message resp = req.make_response(Class::SuccessResponse);
    resp.add_xor_address(attr::XorRelayedAddress, *relayed);
    resp.add_u32(attr::Lifetime, static_cast<uint32_t>(lifetime.us() / 1000000));
    resp.add_xor_address(attr::XorMappedAddress, t.first);
    if (!config_.software.empty()) resp.add_string(attr::Software, config_.software);
    a.allocate_response = resp.encode(u.key, IntegrityAlgorithm::Sha1, true);
    out_.push_back({t.second, t.first, a.allocate_response});
    by_relay_[*relayed] = t;
    ++per_client_[t.first.ip()];
    allocations_.emplace(t, std::move(a));
    ++stats_.allocations_created;
}

void TurnServer::remove_allocation(std::map<FiveTuple, Allocation>::iterator it) {
    by_relay_.erase(it->second.relayed);
    auto pc = per_client_.find(it->first.first.ip());
    if (pc != per_client_.end() && --pc->second == 0) per_client_.erase(pc);
    allocations_.erase(it);
}

void TurnServer::handle_refresh(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                                const User& u) {
    auto it = allocations_.find(t);
    if (it == allocations_.end() || now >= it->second.expires) {
        send_error(t, req, error::AllocationMismatch, "Allocation Mismatch", &u.key);
        return;
    }
    if (it->second.username != user) {
        send_error(t, req, error::WrongCredentials, "Wrong Credentials", &u.key);
        return;
    }
    if (const auto fam = req.requested_address_family(); fam && *fam != it->second.relayed.family()) {
        send_error(t, req, error::PeerAddressFamilyMismatch, "Peer Address Family Mismatch", &u.key);
        return;
    }
    const TimeDelta lifetime = granted_lifetime(req.get_u32(attr::Lifetime), false);
    Message resp = req.make_response(Class::SuccessResponse);
    resp.add_u32(attr::Lifetime, static_cast<uint32_t>(lifetime.us() / 1000000));
    if (lifetime <= TimeDelta::zero()) {
        remove_allocation(it);
        ++stats_.allocations_deleted;
    } else {
        it->second.expires = now + lifetime;
        ++stats_.refreshes;
    }
    send_success(t, resp, u.key);
}

void TurnServer::handle_create_permission(Timestamp now, const FiveTuple& t, const Message& req,
                                          const std::string& user, const User& u) {
    auto it = allocations_.find(t);
    if (it == allocations_.end() || now >= it->second.expires) {
        send_error(t, req, error::AllocationMismatch, "Allocation Mismatch", &u.key);
        return;
    }
    Allocation& a = it->second;
    if (a.username != user) {
        send_error(t, req, error::WrongCredentials, "Wrong Credentials", &u.key);
        return;
    }
    const auto parsed = peer_addresses(req);
    if (!parsed || parsed->empty()) {
        send_error(t, req, error::BadRequest, "Bad Request: no XOR-PEER-ADDRESS", &u.key);
        return;
    }
    const auto& peers = *parsed;
    size_t fresh = 0;
    for (const auto& p : peers) {
        if (p.family() != a.relayed.family()) {
            send_error(t, req, error::PeerAddressFamilyMismatch, "Peer Address Family Mismatch", &u.key);
            return;
        }
        if (!peer_allowed(p.ip())) {
            send_error(t, req, error::Forbidden, "Forbidden", &u.key);
            return;
        }
        if (!a.permissions.count(p.ip())) ++fresh;
    }
    if (a.permissions.size() + fresh > config_.max_permissions) {
        send_error(t, req, error::InsufficientCapacity, "Insufficient Capacity", &u.key);
        return;
    }
    for (const auto& p : peers) {
        a.permissions[p.ip()] = now + config_.permission_lifetime;
        ++stats_.permissions_created;
    }
    Message resp = req.make_response(Class::SuccessResponse);
    send_success(t, resp, u.key);
}

void TurnServer::handle_channel_bind(Timestamp now, const FiveTuple& t, const Message& req, const std::string& user,
                                     const User& u) {
    auto it = allocations_.find(t);
    if (it == allocations_.end() || now >= it->second.expires) {
        send_error(t, req, error::AllocationMismatch, "Allocation Mismatch", &u.key);
        return;
    }
    Allocation& a = it->second;
    if (a.username != user) {
        send_error(t, req, error::WrongCredentials, "Wrong Credentials", &u.key);
        return;
    }
    const auto channel = req.channel_number();
    const auto peer = req.get_xor_address(attr::XorPeerAddress);
    if (!channel || !is_valid_channel(*channel) || !peer) {
        send_error(t, req, error::BadRequest, "Bad Request", &u.key);
        return;
    }
    if (peer->family() != a.relayed.family()) {
        send_error(t, req, error::PeerAddressFamilyMismatch, "Peer Address Family Mismatch", &u.key);
        return;
    }
    if (!peer_allowed(peer->ip())) {
        send_error(t, req, error::Forbidden, "Forbidden", &u.key);
        return;
    }
    const auto bound = a.channels.find(*channel);
    if (bound != a.channels.end() && bound->second.peer != *peer) {
        send_error(t, req, error::BadRequest, "Bad Request: channel bound to another peer", &u.key);
        return;
    }
    const auto pc = a.peer_channels.find(*peer);
    if (pc != a.peer_channels.end() && pc->second != *channel) {
        send_error(t, req, error::BadRequest, "Bad Request: peer bound to another channel", &u.key);
        return;
    }
    if (bound == a.channels.end() &&
        (a.channels.size() >= config_.max_channels ||
         (!a.permissions.count(peer->ip()) && a.permissions.size() >= config_.max_permissions))) {
        send_error(t, req, error::InsufficientCapacity, "Insufficient Capacity", &u.key);
        return;
    }
    a.channels[*channel] = ChannelBinding{*peer, now + config_.channel_lifetime};
    a.peer_channels[*peer] = *channel;
    a.permissions[peer->ip()] = now + config_.permission_lifetime;
    ++stats_.channels_bound;
    Message resp = req.make_response(Class::SuccessResponse);
    send_success(t, resp, u.key);
}

void TurnServer::handle_send(Timestamp now, const FiveTuple& t, const Message& ind) {
    auto it = allocations_.find(t);
    if (it == allocations_.end() || now >= it->second.expires) {
        ++stats_.dropped_no_allocation;
        return;
    }
    const auto peer = ind.get_xor_address(attr::XorPeerAddress);
    const auto data = ind.get_bytes(attr::Data);
    if (!peer || !data) {
        ++stats_.malformed;
        return;
    }
    const auto perm = it->second.permissions.find(peer->ip());
    if (perm == it->second.permissions.end() || now >= perm->second || peer->family() != it->second.relayed.family()) {
        ++stats_.dropped_no_permission;
        return;
    }
    ++stats_.relayed_to_peer;
    out_.push_back({it->second.relayed, *peer, std::vector<uint8_t>(data->begin(), data->end())});
}

void TurnServer::handle_channel_data(Timestamp now, const FiveTuple& t, ByteView bytes) {
    const auto cd = parse_channel_data(bytes);
    if (!cd) {
        ++stats_.malformed;
        return;
    }
    auto it = allocations_.find(t);
    if (it == allocations_.end() || now >= it->second.expires) {
        ++stats_.dropped_no_allocation;
        return;
    }
    const auto ch = it->second.channels.find(cd->channel);
    if (ch == it->second.channels.end() || now >= ch->second.expires) {
        ++stats_.dropped_no_permission;
        return;
    }
    ++stats_.relayed_to_peer;
    out_.push_back({it->second.relayed, ch->second.peer, std::vector<uint8_t>(cd->data.begin(), cd->data.end())});
}

void TurnServer::handle_timeout(Timestamp now) {
    for (auto it = allocations_.begin(); it != allocations_.end();) {
        Allocation& a = it->second;
        if (now >= a.expires) {
            auto next = std::next(it);
            remove_allocation(it);
            ++stats_.allocations_expired;
            it = next;
            continue;
        }
        std::erase_if(a.permissions, [&](const auto& p) { return now >= p.second; });
        for (auto c = a.channels.begin(); c != a.channels.end();) {
            if (now >= c->second.expires) {
                a.peer_channels.erase(c->second.peer);
                c = a.channels.erase(c);
            } else {
                ++c;
            }
        }
        ++it;
    }
}

std::optional<ServerTransmit> TurnServer::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    auto t = std::move(out_.front());
    out_.pop_front();
    return t;
}

Timestamp TurnServer::poll_timeout() const {
    Timestamp t = Timestamp::plus_infinity();
    for (const auto& [k, a] : allocations_) {
        t = std::min(t, a.expires);
        for (const auto& [ip, e] : a.permissions) t = std::min(t, e);
        for (const auto& [n, c] : a.channels) t = std::min(t, c.expires);
    }
    return t;
}

} // namespace rtcpp::stun
