#include "stun/turn_client.hpp"

#include <rtcpp/log.hpp>

#include <algorithm>

namespace rtcpp::stun {

namespace {
constexpr uint8_t kUdpProtocol = 17;
constexpr TimeDelta kDefaultLifetime = TimeDelta::seconds(600);

std::string_view kind_name(int kind) {
    switch (kind) {
    case 0: return "Allocate";
    case 1: return "Refresh";
    case 2: return "CreatePermission";
    default: return "ChannelBind";
    }
}

// Server-supplied reason phrases are untrusted text: keep them short and printable.
std::string sanitize(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 128)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
}
} // namespace

std::string_view to_string(TurnState s) {
    switch (s) {
    case TurnState::Idle: return "idle";
    case TurnState::Allocating: return "allocating";
    case TurnState::Allocated: return "allocated";
    case TurnState::Closing: return "closing";
    case TurnState::Closed: return "closed";
    case TurnState::Failed: return "failed";
    }
    return "?";
}

TurnClient::TurnClient(TurnClientConfig config, Random& random) : config_(std::move(config)), random_(random) {
    if (stream()) config_.transaction.reliable = true;
}

TurnClient::~TurnClient() = default;

Result<void> TurnClient::allocate(Timestamp now) {
    if (state_ != TurnState::Idle)
        return make_error(ErrorCategory::InvalidStateError, "turn", "allocate() called twice");
    if (config_.transport == TurnTransport::Tls) {
        auto tls = TlsClientStream::create(config_.tls);
        if (!tls.ok()) return tls.error();
        tls_ = std::move(*tls);
        tls_->start();
        if (auto c = tls_->take_ciphertext(); !c.empty()) out_.push_back(std::move(c));
    }
    state_ = TurnState::Allocating;
    RTCPP_LOG(LogLevel::Debug, "turn", "allocating on " << config_.server.to_string());
    start_allocate(now);
    return {};
}

void TurnClient::start_allocate(Timestamp now) {
    Request req;
    req.kind = Kind::Allocate;
    req.base = Message(Class::Request, Method::Allocate, {});
    req.base.add_requested_transport(kUdpProtocol);
    if (config_.requested_lifetime > TimeDelta::zero())
        req.base.add_u32(attr::Lifetime, static_cast<uint32_t>(config_.requested_lifetime.us() / 1000000));
    // IPv4 is the default: only ask when it is something else, as servers without RFC 6156 support reject it.
    if (config_.relay_family == IpFamily::V6) req.base.add_requested_address_family(IpFamily::V6);
    start_request(now, std::move(req));
}

void TurnClient::start_refresh(Timestamp now, TimeDelta lifetime) {
    Request req;
    req.kind = Kind::Refresh;
    req.base = Message(Class::Request, Method::Refresh, {});
    if (lifetime > TimeDelta::zero() || state_ == TurnState::Closing)
        req.base.add_u32(attr::Lifetime, static_cast<uint32_t>(lifetime.us() / 1000000));
    refresh_in_flight_ = true;
    start_request(now, std::move(req));
}

void TurnClient::start_permission(Timestamp now, const IpAddr& peer) {
    Request req;
    req.kind = Kind::CreatePermission;
    req.peer = SocketAddr(peer, 0);
    req.base = Message(Class::Request, Method::CreatePermission, {});
    permissions_[peer].in_flight = true;
    start_request(now, std::move(req));
}

void TurnClient::start_channel_bind(Timestamp now, const SocketAddr& peer, uint16_t channel) {
    Request req;
    req.kind = Kind::ChannelBind;
    req.peer = peer;
    req.channel = channel;
    req.base = Message(Class::Request, Method::ChannelBind, {});
    req.base.add_channel_number(channel);
    channels_[peer].in_flight = true;
    start_request(now, std::move(req));
}

void TurnClient::start_request(Timestamp now, Request request) {
    const uint64_t tag = next_tag_++;
    auto& stored = requests_[tag] = std::move(request);
    send_request(now, tag, stored);
}

void TurnClient::send_request(Timestamp now, uint64_t tag, Request& request) {
    Message m = request.base;
    const TransactionId id = random_transaction_id(random_);
    m.set_transaction_id(id);
    // XOR-PEER-ADDRESS depends on the transaction id (IPv6), so it is added per transmission.
    if (request.kind == Kind::CreatePermission || request.kind == Kind::ChannelBind)
        m.add_xor_address(attr::XorPeerAddress, request.peer);
    if (!config_.software.empty()) m.add_string(attr::Software, config_.software);
    const bool auth = !realm_.empty();
    if (auth) {
        m.add_string(attr::Username, config_.username);
        m.add_string(attr::Realm, realm_);
        m.add_string(attr::Nonce, nonce_);
    }
    request.with_credentials = auth;
    auto bytes = m.encode(key_, auth ? IntegrityAlgorithm::Sha1 : IntegrityAlgorithm::None, true);
    transactions_.start(now, id, std::move(bytes), tag, config_.transaction);
    ++stats_.requests_sent;
    flush_transactions();
}

void TurnClient::flush_transactions() {
    while (auto t = transactions_.poll_transmit()) emit_bytes(std::move(t->bytes));
}

void TurnClient::emit_bytes(std::vector<uint8_t> bytes) {
    if (tls_) {
        tls_->write(bytes);
        if (auto c = tls_->take_ciphertext(); !c.empty()) out_.push_back(std::move(c));
        return;
    }
    out_.push_back(std::move(bytes));
}

TimeDelta TurnClient::refresh_delay(TimeDelta lifetime) const {
    const TimeDelta d = lifetime > TimeDelta::seconds(120) ? lifetime - TimeDelta::seconds(60) : lifetime / 2;
    return std::max(d, TimeDelta::seconds(1));
}

Result<void> TurnClient::send_to(Timestamp now, const SocketAddr& peer, ByteView bytes) {
    if (state_ != TurnState::Allocated)
        return make_error(ErrorCategory::InvalidStateError, "turn",
                          std::string("cannot send: TURN allocation is ") + std::string(to_string(state_)));
    if (peer.family() != relayed_->family())
        return make_error(ErrorCategory::InvalidAccessError, "turn",
                          "peer address family differs from the relayed address family");
    if (bytes.size() > 65535)
        return make_error(ErrorCategory::RangeError, "turn", "datagram too large for TURN");

    if (config_.auto_channel && channels_.find(peer) == channels_.end() && channels_.size() < config_.max_peers &&
        next_channel_ <= kMaxChannel) {
        const uint16_t number = next_channel_++;
        channels_[peer].number = number;
        channel_peers_[number] = peer;
        start_channel_bind(now, peer, number);
    }

    auto ch = channels_.find(peer);
    if (ch != channels_.end() && ch->second.state == PeerState::Installed) {
        send_data(peer, bytes);
        return {};
    }
    auto it = permissions_.find(peer.ip());
    if (it == permissions_.end()) {
        if (permissions_.size() >= config_.max_peers)
            return make_error(ErrorCategory::RangeError, "turn", "too many TURN peers");
        it = permissions_.emplace(peer.ip(), Permission{}).first;
        start_permission(now, peer.ip());
        it = permissions_.find(peer.ip());
    }
    if (it->second.state == PeerState::Installed) {
        send_data(peer, bytes);
        return {};
    }
    if (queued_bytes_ + bytes.size() > config_.max_queued_bytes) {
        ++stats_.dropped_queue_full;
        return make_error(ErrorCategory::OperationError, "turn", "TURN permission pending and send queue full");
    }
    queued_bytes_ += bytes.size();
    it->second.queue.emplace_back(peer, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    return {};
}

void TurnClient::send_data(const SocketAddr& peer, ByteView bytes) {
    stats_.bytes_sent += bytes.size();
    auto ch = channels_.find(peer);
    std::vector<uint8_t> out;
    if (ch != channels_.end() && ch->second.state == PeerState::Installed) {
        out.reserve(kChannelDataHeaderSize + bytes.size() + 3);
        encode_channel_data(out, ch->second.number, bytes, stream());
        ++stats_.channel_data_sent;
    } else {
        Message ind(Class::Indication, Method::Send, random_transaction_id(random_));
        ind.add_xor_address(attr::XorPeerAddress, peer);
        ind.add_raw(attr::Data, bytes);
        out = ind.encode();
        ++stats_.send_indications;
    }
    emit_bytes(std::move(out));
}

void TurnClient::flush_queue(const IpAddr& peer) {
    auto it = permissions_.find(peer);
    if (it == permissions_.end()) return;
    auto queue = std::move(it->second.queue);
    it->second.queue.clear();
    for (auto& [addr, bytes] : queue) {
        queued_bytes_ -= bytes.size();
        send_data(addr, bytes);
    }
}

Result<void> TurnClient::create_permission(Timestamp now, const IpAddr& peer) {
    if (state_ != TurnState::Allocated)
        return make_error(ErrorCategory::InvalidStateError, "turn", "TURN allocation not ready");
    if (peer.family() != relayed_->family())
        return make_error(ErrorCategory::InvalidAccessError, "turn", "peer address family differs from the relay");
    if (permissions_.count(peer)) return {};
    if (permissions_.size() >= config_.max_peers)
        return make_error(ErrorCategory::RangeError, "turn", "too many TURN peers");
    permissions_.emplace(peer, Permission{});
    start_permission(now, peer);
    return {};
}

Result<void> TurnClient::bind_channel(Timestamp now, const SocketAddr& peer) {
    if (state_ != TurnState::Allocated)
        return make_error(ErrorCategory::InvalidStateError, "turn", "TURN allocation not ready");
    if (peer.family() != relayed_->family())
        return make_error(ErrorCategory::InvalidAccessError, "turn", "peer address family differs from the relay");
    if (channels_.count(peer)) return {};
    if (channels_.size() >= config_.max_peers || next_channel_ > kMaxChannel)
        return make_error(ErrorCategory::RangeError, "turn", "no TURN channel numbers left");
    const uint16_t number = next_channel_++;
    channels_[peer].number = number;
    channel_peers_[number] = peer;
    start_channel_bind(now, peer, number);
    return {};
}

void TurnClient::close(Timestamp now) {
    switch (state_) {
    case TurnState::Idle:
        state_ = TurnState::Closed;
        events_.emplace_back(TurnClosed{});
        return;
    case TurnState::Allocating:
        state_ = TurnState::Closing; // the Allocate answer decides: deallocate it, or there is nothing to free
        return;
    case TurnState::Allocated: {
        // Only the deallocation matters now: pending permission/channel requests are abandoned.
        for (auto it = requests_.begin(); it != requests_.end();) {
            if (it->second.kind == Kind::Allocate) {
                ++it;
                continue;
            }
            transactions_.cancel_tag(it->first);
            it = requests_.erase(it);
        }
        for (auto& [ip, p] : permissions_) p.queue.clear();
        queued_bytes_ = 0;
        state_ = TurnState::Closing;
        refresh_at_ = Timestamp::plus_infinity();
        start_refresh(now, TimeDelta::zero());
        return;
    }
    case TurnState::Closing:
    case TurnState::Closed:
    case TurnState::Failed:
        return;
    }
}

void TurnClient::fail(Error error) {
    if (state_ == TurnState::Failed || state_ == TurnState::Closed) return;
    RTCPP_LOG(LogLevel::Warning, "turn", "allocation failed: " << error.message);
    state_ = TurnState::Failed;
    transactions_.clear();
    requests_.clear();
    permissions_.clear();
    queued_bytes_ = 0;
    refresh_at_ = Timestamp::plus_infinity();
    events_.emplace_back(TurnFailed{std::move(error)});
}

void TurnClient::finish_close() {
    state_ = TurnState::Closed;
    transactions_.clear();
    requests_.clear();
    permissions_.clear();
    channels_.clear();
    channel_peers_.clear();
    queued_bytes_ = 0;
    refresh_at_ = Timestamp::plus_infinity();
    relayed_.reset();
    if (tls_) {
        tls_->shutdown();
        if (auto c = tls_->take_ciphertext(); !c.empty()) out_.push_back(std::move(c));
    }
    events_.emplace_back(TurnClosed{});
}

void TurnClient::handle_datagram(Timestamp now, ByteView bytes) {
    if (state_ == TurnState::Idle || state_ == TurnState::Closed || state_ == TurnState::Failed) return;
    if (!stream()) {
        handle_message(now, bytes);
        return;
    }
    if (tls_) {
        auto r = tls_->handle_ciphertext(bytes);
        if (auto c = tls_->take_ciphertext(); !c.empty()) out_.push_back(std::move(c));
        if (!r.ok()) {
            fail(r.error());
            return;
        }
        const auto plain = tls_->take_plaintext();
        framer_.feed(plain);
    } else {
        framer_.feed(bytes);
    }
    while (auto msg = framer_.next()) {
        handle_message(now, *msg);
        if (state_ == TurnState::Failed || state_ == TurnState::Closed) return;
    }
    if (framer_.broken()) {
        ++stats_.dropped_malformed;
        fail(make_error(ErrorCategory::NetworkError, "turn",
                        "TURN stream carried bytes that are neither STUN nor ChannelData"));
    }
}

bool TurnClient::claims(ByteView bytes) {
    if (is_channel_data(bytes)) return true;
    if (!is_stun(bytes)) return false;
    // The method is the type without its two class bits (RFC 8489 5): TURN's are Allocate..ChannelBind (3..9).
    const uint16_t type = static_cast<uint16_t>((bytes[0] << 8) | bytes[1]);
    const uint16_t method = static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
    return method >= 0x003 && method <= 0x009;
}

void TurnClient::handle_disconnected(Timestamp) {
    if (state_ == TurnState::Closing) {
        finish_close(); // the server frees an allocation whose TCP connection closes (RFC 6062 / RFC 8656 3.1)
        return;
    }
    fail(make_error(ErrorCategory::NetworkError, "turn", "the connection to the TURN server was closed"));
}

void TurnClient::handle_message(Timestamp now, ByteView bytes) {
    if (is_channel_data(bytes)) {
        const auto cd = parse_channel_data(bytes);
        if (!cd) {
            ++stats_.dropped_malformed;
            return;
        }
        const auto it = channel_peers_.find(cd->channel);
        if (it == channel_peers_.end()) {
            ++stats_.dropped_unknown_channel;
            return;
        }
        ++stats_.channel_data_received;
        stats_.bytes_received += cd->data.size();
        events_.emplace_back(TurnPeerData{it->second, std::vector<uint8_t>(cd->data.begin(), cd->data.end())});
        return;
    }
    if (!is_stun(bytes)) {
        ++stats_.dropped_malformed;
        return;
    }
    auto msg = Message::parse(bytes);
    if (!msg.ok() || !msg->fingerprint_ok()) {
        ++stats_.dropped_malformed;
        return;
    }
    if (msg->cls() == Class::Indication && msg->method() == Method::Data) {
        const auto peer = msg->get_xor_address(attr::XorPeerAddress);
        const auto data = msg->get_bytes(attr::Data);
        if (!peer || !data || state_ != TurnState::Allocated) {
            ++stats_.dropped_malformed;
            return;
        }
        ++stats_.data_indications;
        stats_.bytes_received += data->size();
        events_.emplace_back(TurnPeerData{*peer, std::vector<uint8_t>(data->begin(), data->end())});
        return;
    }
    if (msg->cls() == Class::SuccessResponse || msg->cls() == Class::ErrorResponse) {
        handle_response(now, *msg);
        return;
    }
    ++stats_.dropped_malformed;
}

void TurnClient::handle_response(Timestamp now, const Message& msg) {
    const auto tag = transactions_.tag_of(msg.transaction_id());
    if (!tag) {
        ++stats_.dropped_stray;
        return;
    }
    auto it = requests_.find(*tag);
    if (it == requests_.end()) {
        ++stats_.dropped_stray;
        return;
    }
    if (msg.method() != it->second.base.method()) {
        ++stats_.dropped_stray;
        return;
    }
    if (it->second.with_credentials) {
        const auto check = msg.verify_integrity(key_);
        // A success must prove the server knows the key; an error without integrity is allowed (RFC 8489 9.2.4).
        if (check == IntegrityCheck::Bad || (msg.cls() == Class::SuccessResponse && check != IntegrityCheck::Ok)) {
            ++stats_.dropped_integrity;
            return;
        }
    }
    if (!transactions_.handle_response(now, msg)) {
        ++stats_.dropped_stray;
        return;
    }
    Request req = std::move(it->second);
    requests_.erase(it);
    if (msg.cls() == Class::SuccessResponse) {
        handle_success(now, req, msg);
    } else {
        handle_error(now, *tag, req, msg);
    }
}

void TurnClient::handle_success(Timestamp now, Request& req, const Message& msg) {
    switch (req.kind) {
    case Kind::Allocate: {
        if (state_ == TurnState::Closing) {
            relayed_ = msg.get_xor_address(attr::XorRelayedAddress);
            start_refresh(now, TimeDelta::zero());
            return;
        }
        if (state_ != TurnState::Allocating) return;
        const auto relayed = msg.get_xor_address(attr::XorRelayedAddress);
        if (!relayed) {
            fail(make_error(ErrorCategory::DataError, "turn", "Allocate response without XOR-RELAYED-ADDRESS"));
            return;
        }
        relayed_ = relayed;
        mapped_ = msg.xor_mapped_address();
        const auto lt = msg.get_u32(attr::Lifetime);
        const TimeDelta lifetime = lt ? TimeDelta::seconds(*lt) : kDefaultLifetime;
        state_ = TurnState::Allocated;
        expires_at_ = now + lifetime;
        refresh_at_ = now + refresh_delay(lifetime);
        RTCPP_LOG(LogLevel::Info, "turn", "allocated " << relayed_->to_string() << " for " << lifetime.seconds_f() << " s");
        events_.emplace_back(TurnAllocated{*relayed_, mapped_.value_or(SocketAddr()), lifetime});
        return;
    }
    case Kind::Refresh: {
        refresh_in_flight_ = false;
        if (state_ == TurnState::Closing) {
            finish_close();
            return;
        }
        if (state_ != TurnState::Allocated) return;
        const auto lt = msg.get_u32(attr::Lifetime);
        const TimeDelta lifetime =
            lt ? TimeDelta::seconds(*lt)
               : (config_.requested_lifetime > TimeDelta::zero() ? config_.requested_lifetime : kDefaultLifetime);
        expires_at_ = now + lifetime;
        refresh_at_ = now + refresh_delay(lifetime);
        ++stats_.refreshes;
        events_.emplace_back(TurnRefreshed{lifetime});
        return;
    }
    case Kind::CreatePermission: {
        auto it = permissions_.find(req.peer.ip());
        if (it == permissions_.end()) return;
        const bool first = it->second.state != PeerState::Installed;
        it->second.state = PeerState::Installed;
        it->second.in_flight = false;
        it->second.refresh_at = now + config_.permission_refresh;
        if (first) events_.emplace_back(TurnPermissionCreated{req.peer.ip()});
        flush_queue(req.peer.ip());
        return;
    }
    case Kind::ChannelBind: {
        auto it = channels_.find(req.peer);
        if (it == channels_.end()) return;
        const bool first = it->second.state != PeerState::Installed;
        it->second.state = PeerState::Installed;
        it->second.in_flight = false;
        it->second.refresh_at = now + config_.channel_refresh;
        if (first) events_.emplace_back(TurnChannelBound{req.peer, it->second.number});
        // A channel binding installs the permission on the server too (RFC 8656 section 12).
        auto p = permissions_.find(req.peer.ip());
        if (p != permissions_.end() && p->second.state == PeerState::Pending) {
            p->second.state = PeerState::Installed;
            p->second.refresh_at = now + config_.permission_refresh;
            flush_queue(req.peer.ip());
        }
        return;
    }
    }
}

Error TurnClient::error_from_response(const Request& req, const ErrorCodeValue& code, const Message& msg) const {
    const std::string what = "TURN " + std::string(kind_name(static_cast<int>(req.kind))) + " failed: ";
    const std::string tail = " (" + std::to_string(code.code) + " " + sanitize(code.reason) + ")";
    auto err = [&](ErrorCategory c, const std::string& text) { return make_error(c, "turn", what + text + tail); };
    switch (code.code) {
    case error::Unauthorized:
        return err(ErrorCategory::InvalidAccessError,
                   "authentication failed: the server rejected the username or password");
    case error::WrongCredentials:
        return err(ErrorCategory::InvalidAccessError,
                   "authentication failed: wrong credentials for this allocation");
    case error::Forbidden:
        return err(ErrorCategory::OperationError, req.kind == Kind::Allocate
                                                      ? "forbidden by the server's policy"
                                                      : "forbidden: the server does not allow this peer address");
    case error::AllocationMismatch:
        return err(ErrorCategory::InvalidStateError,
                   req.kind == Kind::Allocate ? "an allocation already exists for this client address"
                                              : "the allocation no longer exists on the server");
    case error::StaleNonce:
        return err(ErrorCategory::OperationError, "the server kept rejecting the nonce as stale");
    case error::AddressFamilyNotSupported:
        return err(ErrorCategory::NotSupportedError, "the server cannot relay this address family");
    case error::UnsupportedTransportProtocol:
        return err(ErrorCategory::NotSupportedError, "the server does not relay UDP");
    case error::PeerAddressFamilyMismatch:
        return err(ErrorCategory::InvalidAccessError, "peer address family differs from the relayed address");
    case error::AllocationQuotaReached:
        return err(ErrorCategory::OperationError, "allocation quota reached for this user");
    case error::InsufficientCapacity:
        return err(ErrorCategory::OperationError, "the server has no capacity (no relay port) left");
    case error::UnknownAttribute:
        return err(ErrorCategory::NotSupportedError, "the server does not understand a required attribute");
    case error::TryAlternate: {
        const auto alt = msg.get_address(attr::AlternateServer);
        return err(ErrorCategory::OperationError,
                   "the server redirects to " + (alt ? alt->to_string() : std::string("another server")));
    }
    case error::BadRequest:
        return err(ErrorCategory::OperationError, "the server rejected the request as malformed");
    default:
        return err(ErrorCategory::OperationError, "error response");
    }
}

void TurnClient::handle_error(Timestamp now, uint64_t, Request& req, const Message& msg) {
    const ErrorCodeValue code = msg.error_code().value_or(ErrorCodeValue{500, "no ERROR-CODE"});
    if (code.code == error::StaleNonce && req.nonce_retries < config_.max_nonce_retries) {
        const auto nonce = msg.get_string(attr::Nonce);
        if (nonce) {
            nonce_ = std::string(*nonce);
            if (const auto realm = msg.get_string(attr::Realm); realm && *realm != realm_) {
                realm_ = std::string(*realm);
                key_ = long_term_key(config_.username, realm_, config_.password);
            }
            ++req.nonce_retries;
            ++stats_.stale_nonce_retries;
            start_request(now, std::move(req));
            return;
        }
    }
    if (code.code == error::Unauthorized && !req.with_credentials) {
        const auto realm = msg.get_string(attr::Realm);
        const auto nonce = msg.get_string(attr::Nonce);
        if (realm && nonce) {
            realm_ = std::string(*realm);
            nonce_ = std::string(*nonce);
            key_ = long_term_key(config_.username, realm_, config_.password);
            start_request(now, std::move(req));
            return;
        }
    }
    Error e = error_from_response(req, code, msg);
    switch (req.kind) {
    case Kind::Allocate:
        if (state_ == TurnState::Closing) {
            finish_close();
        } else {
            fail(std::move(e));
        }
        return;
    case Kind::Refresh:
        refresh_in_flight_ = false;
        if (state_ == TurnState::Closing) {
            finish_close(); // 437 here means it is already gone: closed either way
        } else {
            fail(std::move(e));
        }
        return;
    case Kind::CreatePermission: {
        auto it = permissions_.find(req.peer.ip());
        if (it != permissions_.end()) {
            for (auto& q : it->second.queue) queued_bytes_ -= q.second.size();
            permissions_.erase(it);
        }
        events_.emplace_back(TurnPeerFailed{req.peer, std::move(e)});
        return;
    }
    case Kind::ChannelBind: {
        auto it = channels_.find(req.peer);
        if (it != channels_.end()) {
            // Keep the entry (failed) so no new binding is attempted: Send indications carry the data instead.
            it->second.state = PeerState::Failed;
            it->second.in_flight = false;
            it->second.refresh_at = Timestamp::plus_infinity();
            channel_peers_.erase(it->second.number);
        }
        events_.emplace_back(TurnPeerFailed{req.peer, std::move(e)});
        return;
    }
    }
}

void TurnClient::handle_request_timeout(Timestamp, Request& req) {
    const std::string what = "TURN " + std::string(kind_name(static_cast<int>(req.kind))) +
                             " timed out: no response from " + config_.server.to_string();
    Error e = make_error(ErrorCategory::TimeoutError, "turn", what);
    switch (req.kind) {
    case Kind::Allocate:
    case Kind::Refresh:
        refresh_in_flight_ = false;
        if (state_ == TurnState::Closing) {
            finish_close();
        } else {
            fail(std::move(e));
        }
        return;
    case Kind::CreatePermission: {
        auto it = permissions_.find(req.peer.ip());
        if (it != permissions_.end()) {
            for (auto& q : it->second.queue) queued_bytes_ -= q.second.size();
            permissions_.erase(it);
        }
        events_.emplace_back(TurnPeerFailed{req.peer, std::move(e)});
        return;
    }
    case Kind::ChannelBind: {
        auto it = channels_.find(req.peer);
        if (it != channels_.end()) {
            it->second.state = PeerState::Failed;
            it->second.in_flight = false;
            it->second.refresh_at = Timestamp::plus_infinity();
            channel_peers_.erase(it->second.number);
        }
        events_.emplace_back(TurnPeerFailed{req.peer, std::move(e)});
        return;
    }
    }
}

void TurnClient::handle_timeout(Timestamp now) {
    if (state_ == TurnState::Idle || state_ == TurnState::Closed || state_ == TurnState::Failed) return;
    transactions_.handle_timeout(now);
    flush_transactions();
    while (auto tag = transactions_.poll_timed_out()) {
        auto it = requests_.find(*tag);
        if (it == requests_.end()) continue;
        Request req = std::move(it->second);
        requests_.erase(it);
        handle_request_timeout(now, req);
        if (state_ == TurnState::Failed || state_ == TurnState::Closed) return;
    }
    if (state_ != TurnState::Allocated) return;
    if (!refresh_in_flight_ && now >= refresh_at_) {
        refresh_at_ = Timestamp::plus_infinity();
        start_refresh(now, config_.requested_lifetime);
    }
    for (auto& [ip, p] : permissions_) {
        if (p.state == PeerState::Installed && !p.in_flight && now >= p.refresh_at) start_permission(now, ip);
    }
    for (auto& [peer, c] : channels_) {
        if (c.state == PeerState::Installed && !c.in_flight && now >= c.refresh_at)
            start_channel_bind(now, peer, c.number);
    }
}

std::optional<std::vector<uint8_t>> TurnClient::poll_transmit() {
    if (out_.empty()) return std::nullopt;
    auto bytes = std::move(out_.front());
    out_.pop_front();
    return bytes;
}

std::optional<TurnEvent> TurnClient::poll_event() {
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
}

Timestamp TurnClient::poll_timeout() const {
    if (state_ == TurnState::Idle || state_ == TurnState::Closed || state_ == TurnState::Failed)
        return Timestamp::plus_infinity();
    Timestamp t = transactions_.poll_timeout();
    if (state_ != TurnState::Allocated) return t;
    if (!refresh_in_flight_) t = std::min(t, refresh_at_);
    for (const auto& [ip, p] : permissions_)
        if (p.state == PeerState::Installed && !p.in_flight) t = std::min(t, p.refresh_at);
    for (const auto& [peer, c] : channels_)
        if (c.state == PeerState::Installed && !c.in_flight) t = std::min(t, c.refresh_at);
    return t;
}

std::optional<uint16_t> TurnClient::channel_of(const SocketAddr& peer) const {
    const auto it = channels_.find(peer);
    if (it == channels_.end() || it->second.state != PeerState::Installed) return std::nullopt;
    return it->second.number;
}

bool TurnClient::has_permission(const IpAddr& peer) const {
    const auto it = permissions_.find(peer);
    return it != permissions_.end() && it->second.state == PeerState::Installed;
}

} // namespace rtcpp::stun
