#include "ice/agent.hpp"

#include <rtcpp/log.hpp>

#include <algorithm>

namespace rtcpp::ice {

namespace {

constexpr uint64_t kIndexMask = 0x00FFFFFF;
constexpr int kAttemptShift = 24;
uint8_t attempt_of(uint64_t tag) { return static_cast<uint8_t>((tag >> kAttemptShift) & 0xFF); }

stun::TransactionConfig consent_transaction() { return {TimeDelta::millis(500), 3, 4, false, TimeDelta::seconds(30)}; }

} // namespace

std::string_view to_string(ConnectionState s) {
    switch (s) {
    case ConnectionState::New: return "new";
    case ConnectionState::Checking: return "checking";
    case ConnectionState::Connected: return "connected";
    case ConnectionState::Completed: return "completed";
    case ConnectionState::Disconnected: return "disconnected";
    case ConnectionState::Failed: return "failed";
    case ConnectionState::Closed: return "closed";
    }
    return "new";
}

std::string_view to_string(GatheringState s) {
    switch (s) {
    case GatheringState::New: return "new";
    case GatheringState::Gathering: return "gathering";
    case GatheringState::Complete: return "complete";
    }
    return "new";
}

std::string_view to_string(PairState s) {
    switch (s) {
    case PairState::Frozen: return "frozen";
    case PairState::Waiting: return "waiting";
    case PairState::InProgress: return "in-progress";
    case PairState::Succeeded: return "succeeded";
    case PairState::Failed: return "failed";
    }
    return "frozen";
}

Agent::Agent(const AgentConfig& config, Random& random)
    : config_(config), random_(random), role_(config.lite ? Role::Controlled : config.role),
      tie_breaker_(random.next_u64()), tokens_(config.unknown_source_burst) {
    if (config_.local_credentials.ufrag.empty() || config_.local_credentials.pwd.empty()) {
        local_creds_.ufrag = random_.ice_chars(8);
        local_creds_.pwd = random_.ice_chars(24);
    } else {
        local_creds_ = config_.local_credentials;
    }
    local_key_ = stun::short_term_key(local_creds_.pwd);
    if (config_.ta <= TimeDelta::zero()) config_.ta = TimeDelta::millis(1);
}

void Agent::advance(Timestamp now) {
    if (now > now_) now_ = now;
}

// ---------------------------------------------------------------------------------------------------------------
// Local candidates

std::string Agent::foundation_for(CandidateType type, const IpAddr& base, const IpAddr& server, Transport transport) {
    std::string key = std::string(to_string(type)) + "|" + base.to_string() + "|" + server.to_string() + "|" +
                      std::string(to_string(transport));
    auto it = foundations_.find(key);
    if (it != foundations_.end()) return it->second;
    std::string f = std::to_string(foundations_.size() + 1);
    foundations_.emplace(std::move(key), f);
    return f;
}

size_t Agent::add_local(Candidate cand, bool pairable) {
    locals_.push_back(Local{std::move(cand), pairable, false});
    return locals_.size() - 1;
}

void Agent::announce(size_t i) {
    Local& l = locals_[i];
    if (l.announced) return;
    l.announced = true;
    emit(CandidateGathered{l.cand});
}

bool Agent::add_host_address(const SocketAddr& local) {
    if (closed_ || local.port() == 0 || local.ip().is_unspecified()) return false;
    if (local.ip().is_loopback() && !config_.include_loopback) return false;
    if (std::find(host_addresses_.begin(), host_addresses_.end(), local) != host_addresses_.end()) return false;
    host_addresses_.push_back(local);
    if (config_.policy == TransportPolicy::Relay) return true; // used only to reach servers
    Candidate c;
    c.type = CandidateType::Host;
    c.address = local;
    c.base = local;
    c.priority = candidate_priority(CandidateType::Host, local_preference(local.ip(), host_addresses_.size() - 1));
    c.foundation = foundation_for(CandidateType::Host, local.ip(), IpAddr());
    const size_t i = add_local(std::move(c), true);
    if (gathering_started_) {
        announce(i);
        if (!config_.lite) start_gather(local);
        check_gathering_complete();
    }
    pair_local_with_remotes(i);
    return true;
}

bool Agent::add_host_tcp_active(const IpAddr& ip) {
    if (closed_ || ip.is_unspecified() || config_.lite || config_.policy == TransportPolicy::Relay) return false;
    if (ip.is_loopback() && !config_.include_loopback) return false;
    if (std::find(tcp_active_ips_.begin(), tcp_active_ips_.end(), ip) != tcp_active_ips_.end()) return false;
    tcp_active_ips_.push_back(ip);
    Candidate c;
    c.type = CandidateType::Host;
    c.transport = Transport::Tcp;
    c.tcp_type = TcpType::Active;
    c.address = SocketAddr(ip, kActiveTcpPort);
    c.base = c.address;
    c.priority = tcp_candidate_priority(CandidateType::Host, TcpType::Active,
                                        local_preference(ip, tcp_active_ips_.size() - 1));
    c.foundation = foundation_for(CandidateType::Host, ip, IpAddr(), Transport::Tcp);
    const size_t i = add_local(std::move(c), true);
    if (gathering_started_) announce(i);
    pair_local_with_remotes(i);
    return true;
}

bool Agent::add_host_tcp_listener(const SocketAddr& listen) {
    // A lite agent would only ever be passive; it keeps to UDP.
    if (closed_ || listen.port() == 0 || listen.ip().is_unspecified() || config_.lite ||
        config_.policy == TransportPolicy::Relay)
        return false;
    if (listen.ip().is_loopback() && !config_.include_loopback) return false;
    if (std::find(tcp_listeners_.begin(), tcp_listeners_.end(), listen) != tcp_listeners_.end()) return false;
    tcp_listeners_.push_back(listen);
    Candidate c;
    c.type = CandidateType::Host;
    c.transport = Transport::Tcp;
    c.tcp_type = TcpType::Passive;
    c.address = listen;
    c.base = listen;
    c.priority = tcp_candidate_priority(CandidateType::Host, TcpType::Passive,
                                        local_preference(listen.ip(), tcp_listeners_.size() - 1));
    c.foundation = foundation_for(CandidateType::Host, listen.ip(), IpAddr(), Transport::Tcp);
    const size_t i = add_local(std::move(c), true);
    if (gathering_started_) announce(i);
    add_host_tcp_active(listen.ip());
    return true;
}

void Agent::start_gather(const SocketAddr& host) {
    if (config_.lite || config_.policy == TransportPolicy::Relay) return;
    for (const auto& server : config_.stun_servers) {
        if (server.family() != host.family()) continue;
        stun::Message req(stun::Class::Request, stun::Method::Binding, stun::random_transaction_id(random_));
        if (!config_.software.empty()) req.add_string(stun::attr::Software, config_.software);
        gathers_.push_back(Gather{host, server});
        transactions_.start(now_, req.transaction_id(), req.encode({}, stun::IntegrityAlgorithm::None, true),
                            make_tag(Tag::Gather, gathers_.size() - 1), config_.gather_transaction);
        ++gathers_pending_;
    }
}

void Agent::start_gathering(Timestamp now) {
    advance(now);
    if (closed_ || gathering_started_) return;
    gathering_started_ = true;
    set_gathering(GatheringState::Gathering);
    for (size_t i = 0; i < locals_.size(); ++i)
        if (locals_[i].pairable) announce(i);
    for (const auto& h : host_addresses_) start_gather(h);
    check_gathering_complete();
}

void Agent::add_relay_candidate(Timestamp now, const SocketAddr& relayed, const SocketAddr& mapped,
                                const SocketAddr& server) {
    advance(now);
    if (closed_ || config_.lite) return;
    for (const auto& l : locals_)
        if (l.cand.type == CandidateType::Relayed && l.cand.address == relayed) return;
    size_t relays = 0;
    for (const auto& l : locals_) relays += l.cand.type == CandidateType::Relayed ? 1 : 0;
    Candidate c;
    c.type = CandidateType::Relayed;
    c.address = relayed;
    c.base = relayed;
    c.related = mapped;
    c.priority = candidate_priority(CandidateType::Relayed, local_preference(relayed.ip(), relays));
    c.foundation = foundation_for(CandidateType::Relayed, mapped.ip(), server.ip());
    const size_t i = add_local(std::move(c), true);
    if (gathering_started_) announce(i);
    pair_local_with_remotes(i);
}

void Agent::hold_gathering(bool hold) {
    gathering_held_ = hold;
    check_gathering_complete();
}

void Agent::set_gathering(GatheringState s) {
    if (gathering_state_ == s) return;
    gathering_state_ = s;
    emit(GatheringStateChanged{s});
}

void Agent::check_gathering_complete() {
    if (!gathering_started_ || gathers_pending_ > 0 || gathering_held_ ||
        gathering_state_ == GatheringState::Complete)
        return;
    set_gathering(GatheringState::Complete);
    emit(GatheringComplete{});
    update_checking_state();
}

void Agent::handle_gather_response(const Gather& g, const stun::Message& msg) {
    if (gathers_pending_ > 0) --gathers_pending_;
    if (msg.cls() == stun::Class::SuccessResponse) {
        auto mapped = msg.xor_mapped_address();
        if (!mapped) mapped = msg.get_address(stun::attr::MappedAddress);
        const auto host = std::find(host_addresses_.begin(), host_addresses_.end(), g.host);
        // A server-reflexive address equal to its base is redundant with the host candidate (RFC 8445 5.1.3).
        if (mapped && *mapped != g.host && host != host_addresses_.end()) {
            bool known = false;
            for (const auto& l : locals_) known |= l.cand.address == *mapped && l.cand.base == g.host;
            if (!known) {
                Candidate c;
                c.type = CandidateType::ServerReflexive;
                c.address = *mapped;
                c.base = g.host;
                c.related = g.host;
                const auto index = static_cast<size_t>(host - host_addresses_.begin());
                c.priority = candidate_priority(CandidateType::ServerReflexive, local_preference(g.host.ip(), index));
                c.foundation = foundation_for(CandidateType::ServerReflexive, g.host.ip(), g.server.ip());
                const size_t i = add_local(std::move(c), false);
                announce(i);
            }
        }
    }
    check_gathering_complete();
}

// ---------------------------------------------------------------------------------------------------------------
// Remote candidates and pairs

void Agent::set_remote_credentials(const Credentials& creds) {
    if (closed_) return;
    if (remote_creds_ && *remote_creds_ != creds) reset_checks();
    remote_creds_ = creds;
    remote_key_ = stun::short_term_key(creds.pwd);
}

Result<void> Agent::add_remote_candidate(std::string_view sdp) {
    auto c = parse_candidate(sdp);
    if (!c.ok()) {
        ++stats_.remote_candidates_dropped;
        return c.error();
    }
    return add_remote_candidate(*c);
}

Result<void> Agent::add_remote_candidate(const Candidate& in) {
    if (closed_) return make_error(ErrorCategory::InvalidStateError, "ice", "agent closed");
    if (in.component != 1) return {}; // rtcp-mux: only component 1 is used
    if (in.is_mdns()) {
        if (mdns_.size() >= config_.max_mdns_candidates) {
            ++stats_.remote_candidates_dropped;
            return make_error(ErrorCategory::RangeError, "ice", "too many mDNS candidates");
        }
        mdns_.push_back(in);
        if (!mdns_deadline_.is_finite())
            mdns_deadline_ = (now_.is_finite() ? now_ : Timestamp::zero()) + config_.mdns_failure_grace;
        return {};
    }
    if (in.address.port() == 0 || in.address.ip().is_unspecified()) {
        ++stats_.remote_candidates_dropped;
        return make_error(ErrorCategory::TypeError, "ice", "candidate without a usable address");
    }
    if (in.is_tcp() && !in.tcp_type) {
        ++stats_.remote_candidates_dropped;
        return make_error(ErrorCategory::TypeError, "ice", "a TCP candidate without tcptype");
    }
    if (auto existing = find_remote(in.address, in.transport)) {
        // A signalled candidate we first learnt as peer-reflexive takes its signalled type (RFC 8838 11.4).
        Remote& r = remotes_[*existing];
        if (r.cand.type == CandidateType::PeerReflexive && in.type != CandidateType::PeerReflexive) {
            r.cand.type = in.type;
            r.cand.foundation = in.foundation;
            r.cand.related = in.related;
        }
        return {};
    }
    if (remotes_.size() >= config_.max_remote_candidates) {
        ++stats_.remote_candidates_dropped;
        return make_error(ErrorCategory::RangeError, "ice", "too many remote candidates");
    }
    if (in.is_tcp() && in.tcp_type == TcpType::Active && !tcp_passive_deadline_.is_finite()) {
        for (const auto& l : locals_) {
            if (l.cand.tcp_type == TcpType::Passive && l.cand.address.family() == in.address.family()) {
                tcp_passive_deadline_ = (now_.is_finite() ? now_ : Timestamp::zero()) + config_.tcp_check_timeout;
                break;
            }
        }
    }
    Remote r{in};
    r.cand.base = r.cand.address;
    r.cand.hostname.clear();
    remotes_.push_back(std::move(r));
    pair_remote_with_locals(remotes_.size() - 1);
    return {};
}

void Agent::end_of_remote_candidates() {
    remote_end_of_candidates_ = true;
    update_checking_state();
}

std::optional<size_t> Agent::find_remote(const SocketAddr& addr, Transport transport) const {
    for (size_t i = 0; i < remotes_.size(); ++i)
        if (remotes_[i].cand.address == addr && remotes_[i].cand.transport == transport) return i;
    return std::nullopt;
}

std::optional<size_t> Agent::find_local_base(const SocketAddr& base, Transport transport) const {
    for (size_t i = 0; i < locals_.size(); ++i)
        if (locals_[i].pairable && locals_[i].cand.base == base && locals_[i].cand.transport == transport) return i;
    return std::nullopt;
}

std::optional<size_t> Agent::find_pair(const SocketAddr& local_base, const SocketAddr& remote,
                                       Transport transport) const {
    auto matches = [&](const Pair& p) {
        const Candidate& l = locals_[p.local].cand;
        const Candidate& r = remotes_[p.remote].cand;
        return l.base == local_base && r.address == remote && l.transport == transport;
    };
    if (selected_ && matches(pairs_[*selected_])) return selected_;
    for (size_t i = 0; i < pairs_.size(); ++i)
        if (!pairs_[i].removed && matches(pairs_[i])) return i;
    return std::nullopt;
}

bool Agent::ordinary_checkable(size_t i) const {
    const Candidate& l = locals_[pairs_[i].local].cand;
    return !l.is_tcp() || l.tcp_type != TcpType::Passive;
}

stun::TransactionConfig Agent::check_transaction(size_t i, TimeDelta rto) const {
    if (locals_[pairs_[i].local].cand.is_tcp())
        return {rto, 1, 1, true, config_.tcp_check_timeout}; // RFC 6544 7.1: no retransmissions over TCP
    return {rto, config_.check_transmissions, config_.check_rm, false, TimeDelta::seconds(39)};
}

bool Agent::pair_usable(size_t l, size_t r) const {
    const Candidate& lc = locals_[l].cand;
    const Candidate& rc = remotes_[r].cand;
    if (!locals_[l].pairable) return false;
    if (config_.policy == TransportPolicy::Relay && lc.type != CandidateType::Relayed) return false;
    if (lc.address.family() != rc.address.family()) return false;
    if (lc.transport != rc.transport) return false;
    if (lc.is_tcp()) {
        // RFC 6544 6.2: active connects to passive; passive only ever meets the active candidates that connected to
        // it (learnt as peer-reflexive), since a signalled active candidate's address (port 9) is not where its
        // connection comes from. Simultaneous open is not done.
        const TcpType lt = lc.tcp_type.value_or(TcpType::Passive), rt = rc.tcp_type.value_or(TcpType::Passive);
        if (lt == TcpType::Active) return rt == TcpType::Passive;
        if (lt == TcpType::Passive) return rt == TcpType::Active && rc.type == CandidateType::PeerReflexive;
        return false;
    }
    // Loopback and other local addresses are not kept apart: on one host a socket bound to an interface address
    // reaches 127.0.0.1 and back, and peers (aiortc, for one) nominate such pairs.
    return true;
}

size_t Agent::live_pairs() const {
    size_t n = 0;
    for (const auto& p : pairs_) n += p.removed ? 0 : 1;
    return n;
}

uint64_t Agent::compute_pair_priority(const Pair& p) const {
    const uint32_t l = locals_[p.local].cand.priority;
    const uint32_t r = remotes_[p.remote].cand.priority;
    return role_ == Role::Controlling ? pair_priority(l, r) : pair_priority(r, l);
}

void Agent::recompute_priorities() {
    for (auto& p : pairs_) p.priority = compute_pair_priority(p);
}

std::optional<size_t> Agent::add_pair(size_t l, size_t r) {
    if (!pair_usable(l, r)) return std::nullopt;
    for (size_t i = 0; i < pairs_.size(); ++i)
        if (!pairs_[i].removed && pairs_[i].local == l && pairs_[i].remote == r) return i;
    Pair p;
    p.local = l;
    p.remote = r;
    p.priority = compute_pair_priority(p);
    if (live_pairs() >= config_.max_pairs) {
        // Keep the best pairs: evict the lowest-priority pair that has not been checked yet, if the new one beats it.
        std::optional<size_t> victim;
        for (size_t i = 0; i < pairs_.size(); ++i) {
            const Pair& q = pairs_[i];
            if (q.removed || q.triggered || (q.state != PairState::Frozen && q.state != PairState::Waiting)) continue;
            if (!victim || q.priority < pairs_[*victim].priority) victim = i;
        }
        ++stats_.pairs_dropped;
        if (!victim || pairs_[*victim].priority >= p.priority) return std::nullopt;
        pairs_[*victim].removed = true;
        pairs_[*victim].state = PairState::Failed;
    }
    const std::string key = locals_[l].cand.foundation + ":" + remotes_[r].cand.foundation;
    bool foundation_active = false;
    for (const auto& q : pairs_) {
        if (q.removed || (q.state != PairState::Waiting && q.state != PairState::InProgress)) continue;
        foundation_active |= locals_[q.local].cand.foundation + ":" + remotes_[q.remote].cand.foundation == key;
    }
    p.state = foundation_active ? PairState::Frozen : PairState::Waiting;
    p.stats.priority = p.priority;
    pairs_.push_back(std::move(p));
    return pairs_.size() - 1;
}

void Agent::pair_local_with_remotes(size_t l) {
    if (config_.lite) return;
    for (size_t r = 0; r < remotes_.size(); ++r)
        if (remotes_[r].cand.type != CandidateType::PeerReflexive) add_pair(l, r);
    update_checking_state();
}

void Agent::pair_remote_with_locals(size_t r) {
    if (config_.lite) return;
    for (size_t l = 0; l < locals_.size(); ++l) add_pair(l, r);
    update_checking_state();
}

uint32_t Agent::prflx_priority(size_t l) const {
    return (type_preference(CandidateType::PeerReflexive) << 24) | (locals_[l].cand.priority & 0x00FFFFFF);
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

std::vector<uint8_t> Agent::build_request(bool use_candidate, uint32_t prio, stun::TransactionId& id) {
    id = stun::random_transaction_id(random_);
    stun::Message m(stun::Class::Request, stun::Method::Binding, id);
    m.add_string(stun::attr::Username, remote_creds_->ufrag + ":" + local_creds_.ufrag);
    m.add_u32(stun::attr::Priority, prio);
    m.add_u64(role_ == Role::Controlling ? stun::attr::IceControlling : stun::attr::IceControlled, tie_breaker_);
    if (use_candidate) m.add_flag(stun::attr::UseCandidate);
    if (!config_.software.empty()) m.add_string(stun::attr::Software, config_.software);
    return m.encode(remote_key_, stun::IntegrityAlgorithm::Sha1, true);
}

void Agent::start_check(size_t i, bool use_candidate) {
    Pair& p = pairs_[i];
    p.triggered = false;
    if (p.check_tx) transactions_.cancel(*p.check_tx);
    ++p.attempt;
    stun::TransactionId id{};
    auto bytes = build_request(use_candidate, prflx_priority(p.local), id);
    size_t active = 0;
    for (const auto& q : pairs_)
        active += !q.removed && (q.state == PairState::Waiting || q.state == PairState::InProgress) ? 1 : 0;
    const TimeDelta rto = std::max(config_.check_rto_min, config_.ta * static_cast<int64_t>(active));
    transactions_.start(now_, id, std::move(bytes), make_tag(Tag::Check, i | (uint64_t{p.attempt} << kAttemptShift)),
                        check_transaction(i, rto));
    p.check_tx = id;
    if (!p.first_check_at.is_finite()) p.first_check_at = now_;
    p.state = PairState::InProgress;
    p.use_candidate_sent = use_candidate;
    p.sent_controlling = role_ == Role::Controlling;
    ++stats_.checks_sent;
    if (state_ == ConnectionState::New) set_state(ConnectionState::Checking);
}

void Agent::send_consent(size_t i) {
    Pair& p = pairs_[i];
    stun::TransactionId id{};
    auto bytes = build_request(false, prflx_priority(p.local), id);
    stun::TransactionConfig tc = consent_transaction();
    if (locals_[p.local].cand.is_tcp()) tc.reliable = true;
    transactions_.start(now_, id, std::move(bytes), make_tag(Tag::Consent, i), tc);
    if (!consent_pending_since_.is_finite()) consent_pending_since_ = now_;
}

TimeDelta Agent::randomized_consent_interval() {
    return config_.consent_interval * (0.8 + 0.4 * random_.uniform_double());
}

bool Agent::has_check_work() const {
    if (!triggered_.empty()) return true;
    if (selected_) return false;
    for (size_t i = 0; i < pairs_.size(); ++i) {
        const Pair& p = pairs_[i];
        if (!p.removed && (p.state == PairState::Waiting || p.state == PairState::Frozen) && ordinary_checkable(i))
            return true;
    }
    return false;
}

void Agent::handle_timeout(Timestamp now) {
    advance(now);
    if (closed_) return;
    transactions_.handle_timeout(now_);
    while (auto tag = transactions_.poll_timed_out()) handle_transaction_timeout(*tag);

    if (!config_.lite && remote_creds_ && now_ >= next_check_) {
        std::optional<size_t> pick;
        while (!triggered_.empty() && !pick) {
            const size_t i = triggered_.front();
            triggered_.pop_front();
            if (i < pairs_.size() && !pairs_[i].removed && pairs_[i].triggered) pick = i;
        }
        if (!pick && !selected_) {
            for (auto wanted : {PairState::Waiting, PairState::Frozen}) {
                for (size_t i = 0; i < pairs_.size(); ++i) {
                    const Pair& p = pairs_[i];
                    if (p.removed || p.state != wanted || !ordinary_checkable(i)) continue;
                    if (!pick || p.priority > pairs_[*pick].priority) pick = i;
                }
                if (pick) break;
            }
        }
        if (pick) {
            const bool uc = role_ == Role::Controlling && pairs_[*pick].nominate_on_success;
            start_check(*pick, uc);
            next_check_ = now_ + config_.ta;
        }
    }

    if (selected_ && !config_.lite && state_ != ConnectionState::Failed) {
        if (now_ >= next_consent_) {
            send_consent(*selected_);
            next_consent_ = now_ + randomized_consent_interval();
        }
        if (now_ - last_consent_response_ >= config_.consent_timeout) {
            RTCPP_LOG(LogLevel::Info, "ice", "consent expired");
            next_consent_ = Timestamp::plus_infinity();
            set_state(ConnectionState::Failed);
        } else if (consent_pending_since_.is_finite() &&
                   now_ - consent_pending_since_ >= config_.consent_disconnected_after &&
                   (state_ == ConnectionState::Connected || state_ == ConnectionState::Completed)) {
            set_state(ConnectionState::Disconnected);
        }
    }
    if (selected_ && config_.lite && state_ != ConnectionState::Failed) {
        // A lite agent sends no consent checks; the full peer's checks (every ~5 s) are its sign of life.
        if (now_ - last_consent_response_ >= config_.consent_timeout) {
            set_state(ConnectionState::Failed);
        } else if (now_ - last_consent_response_ >= lite_disconnected_after() &&
                   (state_ == ConnectionState::Connected || state_ == ConnectionState::Completed)) {
            set_state(ConnectionState::Disconnected);
        }
    }
    maybe_nominate();
    update_checking_state();
}

TimeDelta Agent::lite_disconnected_after() const {
    return config_.consent_interval * 1.2 + config_.consent_disconnected_after;
}

void Agent::handle_transaction_timeout(uint64_t tag) {
    const auto kind = static_cast<Tag>(tag >> 56);
    const auto gen = static_cast<uint32_t>((tag >> 32) & 0xFFFFFF);
    const size_t index = tag & kIndexMask;
    if (kind == Tag::Gather) {
        if (gathers_pending_ > 0) --gathers_pending_;
        check_gathering_complete();
        return;
    }
    if (gen != (generation_ & 0xFFFFFF) || index >= pairs_.size()) return;
    if (kind == Tag::Check) {
        Pair& p = pairs_[index];
        if (attempt_of(tag) != p.attempt) { // a superseded check gave up; the newer one decides
            p.superseded_tx.reset();
            return;
        }
        p.check_tx.reset();
        if (p.state == PairState::InProgress) p.state = PairState::Failed;
        if (p.use_candidate_sent && role_ == Role::Controlling) nominating_ = false;
        on_pair_done(index);
    }
}

void Agent::on_pair_done(size_t i) {
    if (!selected_) {
        const Pair& done = pairs_[i];
        const std::string key = locals_[done.local].cand.foundation + ":" + remotes_[done.remote].cand.foundation;
        for (auto& q : pairs_) {
            if (q.removed || q.state != PairState::Frozen) continue;
            if (locals_[q.local].cand.foundation + ":" + remotes_[q.remote].cand.foundation == key)
                q.state = PairState::Waiting;
        }
    }
    update_checking_state();
}

std::optional<size_t> Agent::best_valid_pair() const {
    std::optional<size_t> best;
    for (size_t i = 0; i < pairs_.size(); ++i) {
        const Pair& p = pairs_[i];
        if (p.removed || !p.valid || p.state != PairState::Succeeded) continue;
        if (!best || p.priority > pairs_[*best].priority) best = i;
    }
    return best;
}

bool Agent::may_nominate() const {
    return role_ == Role::Controlling && !config_.lite && !selected_ && !nominating_ &&
           state_ != ConnectionState::Failed && !closed_;
}

void Agent::maybe_nominate() {
    if (!may_nominate()) return;
    const auto best = best_valid_pair();
    if (!best || now_ < nomination_due(*best)) return;
    nominating_ = true;
    Pair& p = pairs_[*best];
    p.nominate_on_success = true;
    if (!p.triggered) {
        p.triggered = true;
        triggered_.push_front(*best);
    }
    // The nominating check leaves at once instead of in the next Ta slot: it is a single packet on a pair that
    // just worked, and waiting Ta (50 ms) would be most of the time it takes to connect on a fast path.
    next_check_ = std::min(next_check_, now_);
}

Timestamp Agent::nomination_due(size_t best) const {
    const Pair& b = pairs_[best];
    const TimeDelta patience = std::max(config_.nomination_patience, b.stats.current_rtt * 3);
    Timestamp due = Timestamp::minus_infinity();
    for (const auto& p : pairs_) {
        if (p.removed || p.priority <= b.priority) continue;
        if (p.state == PairState::Frozen || p.state == PairState::Waiting) return first_valid_at_ + config_.nomination_timeout;
        if (p.state != PairState::InProgress) continue;
        if (locals_[p.local].cand.is_tcp() || !p.first_check_at.is_finite())
            return first_valid_at_ + config_.nomination_timeout;
        due = std::max(due, p.first_check_at + patience);
    }
    return std::min(due, first_valid_at_ + config_.nomination_timeout);
}

void Agent::on_nominated(size_t i) {
    Pair& p = pairs_[i];
    p.nominated = true;
    if (!selected_ || selected_ == i || p.priority > pairs_[*selected_].priority || role_ == Role::Controlling)
        select(i);
}

void Agent::select(size_t i) {
    if (selected_ == i) return;
    selected_ = i;
    previous_route_.reset();
    const Pair& p = pairs_[i];
    const Candidate& local = p.mapped_local ? locals_[*p.mapped_local].cand : locals_[p.local].cand;
    emit(SelectedPairChanged{local, remotes_[p.remote].cand});
    last_consent_response_ = now_;
    consent_pending_since_ = Timestamp::plus_infinity();
    next_consent_ = now_ + randomized_consent_interval();
    cancel_lower_checks();
    set_state(ConnectionState::Connected);
    update_checking_state();
}

void Agent::cancel_lower_checks() {
    // RFC 8445 8.1.2: once a pair is selected, lower-priority checks in progress stop and waiting ones are not sent.
    const uint64_t prio = pairs_[*selected_].priority;
    for (size_t i = 0; i < pairs_.size(); ++i) {
        Pair& q = pairs_[i];
        if (i == *selected_ || q.removed || q.state != PairState::InProgress || q.priority >= prio) continue;
        if (q.check_tx) transactions_.cancel(*q.check_tx);
        q.check_tx.reset();
        q.state = PairState::Failed;
    }
}

void Agent::update_checking_state() {
    if (closed_ || state_ == ConnectionState::Failed) return;
    if (selected_) {
        if (state_ != ConnectionState::Connected) return;
        if (!remote_end_of_candidates_ || gathering_state_ != GatheringState::Complete || !triggered_.empty())
            return;
        for (const auto& p : pairs_)
            if (!p.removed && p.state == PairState::InProgress) return;
        set_state(ConnectionState::Completed);
        return;
    }
    if (previous_route_ || config_.lite || !remote_creds_ || !remote_end_of_candidates_) return;
    if (gathering_state_ != GatheringState::Complete || !triggered_.empty()) return;
    if (!mdns_.empty() && now_ < mdns_deadline_) return; // the peer's checks may still reveal it
    if (now_ < tcp_passive_deadline_ && tcp_passive_deadline_.is_finite()) return; // its connection may still come
    for (const auto& p : pairs_)
        if (!p.removed && p.state != PairState::Failed) return;
    set_state(ConnectionState::Failed);
}

void Agent::set_state(ConnectionState s) {
    if (state_ == s || state_ == ConnectionState::Closed) return;
    state_ = s;
    emit(ConnectionStateChanged{s});
}

void Agent::switch_role(Role r) {
    if (role_ == r || config_.lite) return;
    role_ = r;
    emit(RoleChanged{r});
    recompute_priorities();
    nominating_ = false;
    for (auto& p : pairs_) {
        p.nominate_on_success = false;
        p.use_candidate_sent = false;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Datagrams

Input Agent::handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, ByteView bytes,
                             Transport transport) {
    advance(now);
    if (closed_) return Input::Dropped;
    if (!stun::is_stun(bytes)) {
        count_data(local, remote, transport, bytes.size(), false);
        if (config_.data_events)
            emit(DataReceived{local, remote, std::vector<uint8_t>(bytes.begin(), bytes.end()), transport});
        return Input::Data;
    }
    auto msg = stun::Message::parse(bytes);
    if (!msg.ok()) {
        ++stats_.stun_malformed;
        return Input::Dropped;
    }
    if (!msg->fingerprint_ok()) {
        ++stats_.bad_fingerprint;
        return Input::Dropped;
    }
    Input result = Input::Dropped;
    switch (msg->cls()) {
    case stun::Class::Request:
        if (msg->method() == stun::Method::Binding) result = handle_stun_request(*msg, local, remote, transport);
        else ++stats_.stun_malformed;
        break;
    case stun::Class::SuccessResponse:
    case stun::Class::ErrorResponse:
        result = handle_stun_response(*msg, local, remote, transport);
        break;
    case stun::Class::Indication:
        result = Input::Stun; // Binding indications are keepalives
        break;
    }
    maybe_nominate();
    update_checking_state();
    return result;
}

bool Agent::take_token() {
    if (tokens_at_.is_finite()) {
        const double refill = (now_ - tokens_at_).seconds_f() * config_.unknown_source_rate;
        tokens_ = std::min(config_.unknown_source_burst, tokens_ + std::max(0.0, refill));
    }
    tokens_at_ = now_;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

void Agent::send_error(const stun::Message& req, const SocketAddr& local, const SocketAddr& remote,
                       Transport transport, uint16_t code, const std::vector<uint16_t>& unknown) {
    auto resp = req.make_response(stun::Class::ErrorResponse);
    const char* reason = code == stun::error::RoleConflict       ? "Role Conflict"
                         : code == stun::error::UnknownAttribute ? "Unknown Attribute"
                                                                 : "Bad Request";
    resp.add_error_code(code, reason);
    if (!unknown.empty()) resp.add_unknown_attributes(unknown);
    const bool sign = code != stun::error::BadRequest;
    transmits_.push_back(Transmit{local, remote,
                                  resp.encode(local_key_, sign ? stun::IntegrityAlgorithm::Sha1
                                                              : stun::IntegrityAlgorithm::None,
                                              true),
                                  transport});
}

Input Agent::handle_stun_request(const stun::Message& msg, const SocketAddr& local, const SocketAddr& remote,
                                 Transport transport) {
    const auto local_index = find_local_base(local, transport);
    if (!local_index) {
        ++stats_.unknown_username; // arrived on a socket that is no candidate (e.g. host under relay-only policy)
        return Input::Dropped;
    }
    auto remote_index = find_remote(remote, transport);
    // Unknown sources get no per-source state before authentication and share one token bucket.
    if (!remote_index && !take_token()) {
        ++stats_.rate_limited;
        return Input::Dropped;
    }
    const auto username = msg.username();
    if (!username || !msg.has_integrity()) {
        ++stats_.missing_credentials;
        send_error(msg, local, remote, transport, stun::error::BadRequest);
        return Input::Dropped;
    }
    const auto colon = username->find(':');
    if (colon == std::string_view::npos || username->substr(0, colon) != local_creds_.ufrag) {
        ++stats_.unknown_username;
        return Input::Dropped;
    }
    if (msg.verify_integrity(local_key_) != stun::IntegrityCheck::Ok) {
        ++stats_.bad_integrity;
        return Input::Dropped;
    }
    if (!msg.unknown_comprehension_required().empty()) {
        ++stats_.unknown_attribute_requests;
        send_error(msg, local, remote, transport, stun::error::UnknownAttribute, msg.unknown_comprehension_required());
        return Input::Stun;
    }
    // Role conflict (RFC 8445 7.3.1.1).
    if (!config_.lite) {
        const auto their_controlling = msg.get_u64(stun::attr::IceControlling);
        const auto their_controlled = msg.get_u64(stun::attr::IceControlled);
        if (role_ == Role::Controlling && their_controlling) {
            ++stats_.role_conflicts;
            if (tie_breaker_ >= *their_controlling) {
                send_error(msg, local, remote, transport, stun::error::RoleConflict);
                return Input::Stun;
            }
            switch_role(Role::Controlled);
        } else if (role_ == Role::Controlled && their_controlled) {
            ++stats_.role_conflicts;
            if (tie_breaker_ >= *their_controlled) {
                switch_role(Role::Controlling);
            } else {
                send_error(msg, local, remote, transport, stun::error::RoleConflict);
                return Input::Stun;
            }
        }
    }

    auto resp = msg.make_response(stun::Class::SuccessResponse);
    resp.add_xor_address(stun::attr::XorMappedAddress, remote);
    transmits_.push_back(
        Transmit{local, remote, resp.encode(local_key_, stun::IntegrityAlgorithm::Sha1, true), transport});

    if (!remote_index) {
        // A peer-reflexive remote candidate (RFC 8445 7.3.1.3).
        if (remotes_.size() >= config_.max_remote_candidates) {
            ++stats_.remote_candidates_dropped;
            return Input::Stun;
        }
        Candidate c;
        c.type = CandidateType::PeerReflexive;
        c.address = remote;
        c.base = remote;
        c.priority = msg.priority().value_or(0);
        c.foundation = "prflx" + std::to_string(++prflx_counter_);
        if (transport == Transport::Tcp) {
            // It connected to us, so it is the active end (RFC 6544 7.2.2).
            c.transport = Transport::Tcp;
            const auto& lt = locals_[*local_index].cand.tcp_type;
            c.tcp_type = lt == TcpType::Passive ? TcpType::Active : lt == TcpType::Active ? TcpType::Passive : lt;
        }
        remotes_.push_back(Remote{std::move(c)});
        remote_index = remotes_.size() - 1;
    }
    const bool use_candidate = msg.has(stun::attr::UseCandidate);

    if (config_.lite) {
        // A lite agent does no checks: a request that arrives is its proof the pair works (RFC 8445 7.3.1.5).
        std::optional<size_t> pi = find_pair(local, remote, transport);
        if (!pi) {
            Pair p;
            p.local = *local_index;
            p.remote = *remote_index;
            p.priority = compute_pair_priority(p);
            if (live_pairs() >= config_.max_pairs) {
                ++stats_.pairs_dropped;
                return Input::Stun;
            }
            pairs_.push_back(std::move(p));
            pi = pairs_.size() - 1;
        }
        Pair& p = pairs_[*pi];
        p.state = PairState::Succeeded;
        p.valid = true;
        ++p.stats.requests_received;
        ++p.stats.responses_sent;
        if (state_ == ConnectionState::New) set_state(ConnectionState::Checking);
        if (use_candidate) on_nominated(*pi);
        if (selected_ == *pi) {
            last_consent_response_ = now_;
            if (state_ == ConnectionState::Disconnected) set_state(ConnectionState::Connected);
        }
        return Input::Stun;
    }

    std::optional<size_t> pi = find_pair(local, remote, transport);
    if (!pi) pi = add_pair(*local_index, *remote_index);
    if (!pi) return Input::Stun;
    Pair& p = pairs_[*pi];
    ++p.stats.requests_received;
    ++p.stats.responses_sent;
    const bool nominate = use_candidate && role_ == Role::Controlled;
    switch (p.state) {
    case PairState::Succeeded:
        if (nominate) on_nominated(*pi);
        break;
    case PairState::InProgress:
        if (nominate) p.nominate_on_success = true;
        // RFC 8445 7.3.1.4: the peer's check shows the path works now, while ours may have been lost (dropped by
        // the peer's NAT or TURN server before the peer had sent anything our way): check again at once instead
        // of waiting for its RTO. The earlier check's response, if it comes, still counts.
        if (!p.triggered && !p.superseded_tx && !p.use_candidate_sent && p.check_tx) {
            p.superseded_tx = p.check_tx;
            p.check_tx.reset();
            p.state = PairState::Waiting;
            p.triggered = true;
            triggered_.push_back(*pi);
        }
        break;
    case PairState::Waiting:
    case PairState::Frozen:
    case PairState::Failed:
        if (nominate) p.nominate_on_success = true;
        p.state = PairState::Waiting;
        if (!p.triggered) {
            p.triggered = true;
            triggered_.push_back(*pi);
        }
        break;
    }
    return Input::Stun;
}

Input Agent::handle_stun_response(const stun::Message& msg, const SocketAddr& local, const SocketAddr& remote,
                                  Transport transport) {
    const auto tag = transactions_.tag_of(msg.transaction_id());
    if (!tag) {
        ++stats_.stray_responses;
        return Input::Dropped;
    }
    const auto kind = static_cast<Tag>(*tag >> 56);
    const auto gen = static_cast<uint32_t>((*tag >> 32) & 0xFFFFFF);
    const size_t index = *tag & kIndexMask;
    if (kind == Tag::Gather) {
        if (index >= gathers_.size() || remote != gathers_[index].server || transport != Transport::Udp) {
            ++stats_.stray_responses;
            return Input::Dropped;
        }
        transactions_.handle_response(now_, msg);
        handle_gather_response(gathers_[index], msg);
        return Input::Stun;
    }
    // Check and consent responses are signed with the peer's password; anything else is forged or broken and the
    // transaction stays open.
    if (msg.verify_integrity(remote_key_) != stun::IntegrityCheck::Ok) {
        ++stats_.bad_integrity;
        return Input::Dropped;
    }
    const auto done = transactions_.handle_response(now_, msg);
    if (!done) return Input::Dropped;
    if (gen != (generation_ & 0xFFFFFF) || index >= pairs_.size()) return Input::Stun;
    Pair& p = pairs_[index];
    if (kind == Tag::Check && attempt_of(*tag) != p.attempt) {
        // The superseded check answered first. A nomination in flight still decides; otherwise this response does
        // and the newer check (sent or queued) is dropped.
        if (p.use_candidate_sent && p.check_tx) {
            p.superseded_tx.reset();
            return Input::Stun;
        }
        if (p.check_tx) transactions_.cancel(*p.check_tx);
        p.check_tx.reset();
        p.triggered = false;
        if (p.state == PairState::Waiting) p.state = PairState::InProgress;
    }
    if (kind == Tag::Consent) {
        if (msg.cls() != stun::Class::SuccessResponse) return Input::Stun;
        ++p.stats.responses_received;
        p.stats.current_rtt = done->rtt;
        p.stats.total_rtt += done->rtt;
        last_consent_response_ = now_;
        consent_pending_since_ = Timestamp::plus_infinity();
        if (selected_ == index && state_ == ConnectionState::Disconnected) set_state(ConnectionState::Connected);
        update_checking_state();
        return Input::Stun;
    }
    handle_check_response(index, msg, local, remote, transport, done->rtt);
    return Input::Stun;
}

void Agent::handle_check_response(size_t i, const stun::Message& msg, const SocketAddr& local,
                                  const SocketAddr& remote, Transport transport, TimeDelta rtt) {
    Pair& p = pairs_[i];
    p.check_tx.reset();
    if (p.superseded_tx) {
        transactions_.cancel(*p.superseded_tx);
        p.superseded_tx.reset();
    }
    if (p.removed) return;
    const bool sent_uc = p.use_candidate_sent;
    if (locals_[p.local].cand.base != local || remotes_[p.remote].cand.address != remote ||
        locals_[p.local].cand.transport != transport) {
        // Non-symmetric response (RFC 8445 7.2.5.2.1).
        p.state = PairState::Failed;
        if (sent_uc) nominating_ = false;
        on_pair_done(i);
        return;
    }
    if (msg.cls() == stun::Class::ErrorResponse) {
        const auto err = msg.error_code();
        if (err && err->code == stun::error::RoleConflict) {
            ++stats_.role_conflicts;
            switch_role(p.sent_controlling ? Role::Controlled : Role::Controlling);
            p.state = PairState::Waiting;
            if (!p.triggered) {
                p.triggered = true;
                triggered_.push_back(i);
            }
            return;
        }
        p.state = PairState::Failed;
        if (sent_uc) nominating_ = false;
        on_pair_done(i);
        return;
    }
    ++p.stats.responses_received;
    p.stats.current_rtt = rtt;
    p.stats.total_rtt += rtt;
    const auto mapped = msg.xor_mapped_address();
    // Over TCP the peer sees our connection's ephemeral port (an active candidate signals 9): no new candidate.
    const bool tcp = locals_[p.local].cand.is_tcp();
    if (mapped && *mapped != locals_[p.local].cand.address && !(tcp && mapped->ip() == local.ip())) {
        std::optional<size_t> found;
        for (size_t l = 0; l < locals_.size(); ++l)
            if (locals_[l].cand.address == *mapped && locals_[l].cand.base == locals_[p.local].cand.base) found = l;
        if (!found) {
            // A peer-reflexive local candidate (RFC 8445 7.2.5.3.1): not signalled, only used to name the pair.
            Candidate c;
            c.type = CandidateType::PeerReflexive;
            c.address = *mapped;
            c.base = locals_[p.local].cand.base;
            c.priority = prflx_priority(p.local);
            c.foundation = foundation_for(CandidateType::PeerReflexive, c.base.ip(), IpAddr(),
                                          locals_[p.local].cand.transport);
            c.transport = locals_[p.local].cand.transport;
            c.tcp_type = locals_[p.local].cand.tcp_type;
            found = add_local(std::move(c), false);
        }
        pairs_[i].mapped_local = found;
    }
    Pair& q = pairs_[i]; // add_local may have moved nothing in pairs_, but keep the reference fresh
    q.state = PairState::Succeeded;
    q.valid = true;
    if (!first_valid_at_.is_finite()) first_valid_at_ = now_;
    on_pair_done(i);
    if (sent_uc && role_ == Role::Controlling) {
        on_nominated(i);
    } else if (q.nominate_on_success && role_ == Role::Controlled) {
        on_nominated(i);
    }
}

void Agent::count_data(const SocketAddr& local, const SocketAddr& remote, Transport transport, size_t bytes,
                       bool sent) {
    const auto pi = find_pair(local, remote, transport);
    if (!pi) return;
    auto& s = pairs_[*pi].stats;
    if (sent) {
        s.bytes_sent += bytes;
        ++s.packets_sent;
    } else {
        s.bytes_received += bytes;
        ++s.packets_received;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

std::optional<Transmit> Agent::poll_transmit() {
    if (!transmits_.empty()) {
        Transmit t = std::move(transmits_.front());
        transmits_.pop_front();
        return t;
    }
    while (auto t = transactions_.poll_transmit()) {
        const auto kind = static_cast<Tag>(t->tag >> 56);
        const auto gen = static_cast<uint32_t>((t->tag >> 32) & 0xFFFFFF);
        const size_t index = t->tag & kIndexMask;
        if (kind == Tag::Gather) {
            if (index < gathers_.size())
                return Transmit{gathers_[index].host, gathers_[index].server, std::move(t->bytes), Transport::Udp};
            continue;
        }
        if (gen != (generation_ & 0xFFFFFF) || index >= pairs_.size()) {
            transactions_.cancel(t->id);
            continue;
        }
        Pair& p = pairs_[index];
        if (kind == Tag::Consent) ++p.stats.consent_requests_sent;
        else ++p.stats.requests_sent;
        return Transmit{locals_[p.local].cand.base, remotes_[p.remote].cand.address, std::move(t->bytes),
                        locals_[p.local].cand.transport};
    }
    return std::nullopt;
}

std::optional<Event> Agent::poll_event() {
    if (events_.empty()) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
}

Timestamp Agent::poll_timeout() const {
    if (closed_) return Timestamp::plus_infinity();
    Timestamp t = transactions_.poll_timeout();
    if (!config_.lite && remote_creds_ && has_check_work()) t = std::min(t, std::max(next_check_, now_));
    if (selected_ && !config_.lite && state_ != ConnectionState::Failed) {
        t = std::min(t, next_consent_);
        t = std::min(t, last_consent_response_ + config_.consent_timeout);
        if (consent_pending_since_.is_finite() && state_ != ConnectionState::Disconnected)
            t = std::min(t, consent_pending_since_ + config_.consent_disconnected_after);
    }
    if (selected_ && config_.lite && state_ != ConnectionState::Failed) {
        t = std::min(t, last_consent_response_ + config_.consent_timeout);
        if (state_ != ConnectionState::Disconnected)
            t = std::min(t, last_consent_response_ + lite_disconnected_after());
    }
    if (!selected_ && !mdns_.empty() && mdns_deadline_ > now_ && state_ != ConnectionState::Failed)
        t = std::min(t, mdns_deadline_);
    if (!selected_ && tcp_passive_deadline_ > now_ && state_ != ConnectionState::Failed)
        t = std::min(t, tcp_passive_deadline_);
    if (may_nominate() && first_valid_at_.is_finite()) {
        if (const auto best = best_valid_pair()) t = std::min(t, std::max(now_, nomination_due(*best)));
    }
    return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Commands and state

bool Agent::send(ByteView bytes) {
    auto route = selected_route();
    if (!route || closed_) return false;
    std::vector<uint8_t> copy;
    if (!spare_buffers_.empty()) {
        copy = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
    }
    copy.assign(bytes.begin(), bytes.end());
    transmits_.push_back(Transmit{route->local, route->remote, std::move(copy), route->transport});
    count_data(route->local, route->remote, route->transport, bytes.size(), true);
    return true;
}

bool Agent::send(std::vector<uint8_t>&& bytes) {
    auto route = selected_route();
    if (!route || closed_) return false;
    const size_t size = bytes.size();
    transmits_.push_back(Transmit{route->local, route->remote, std::move(bytes), route->transport});
    count_data(route->local, route->remote, route->transport, size, true);
    return true;
}

void Agent::recycle(std::vector<uint8_t>&& buffer) {
    if (spare_buffers_.size() < kMaxSpareBuffers && buffer.capacity() > 0) spare_buffers_.push_back(std::move(buffer));
}

void Agent::reset_checks() {
    if (selected_) previous_route_ = selected_route();
    for (const auto& p : pairs_) {
        if (p.check_tx) transactions_.cancel(p.check_tx.value());
        if (p.superseded_tx) transactions_.cancel(p.superseded_tx.value());
    }
    ++generation_;
    pairs_.clear();
    remotes_.clear();
    mdns_.clear();
    mdns_deadline_ = Timestamp::plus_infinity();
    tcp_passive_deadline_ = Timestamp::plus_infinity();
    triggered_.clear();
    selected_.reset();
    nominating_ = false;
    first_valid_at_ = Timestamp::plus_infinity();
    remote_end_of_candidates_ = false;
    next_consent_ = Timestamp::plus_infinity();
    consent_pending_since_ = Timestamp::plus_infinity();
    next_check_ = Timestamp::minus_infinity();
}

void Agent::restart(Timestamp now) {
    advance(now);
    if (closed_) return;
    ++stats_.restarts;
    local_creds_.ufrag = random_.ice_chars(8);
    local_creds_.pwd = random_.ice_chars(24);
    local_key_ = stun::short_term_key(local_creds_.pwd);
    reset_checks();
    remote_creds_.reset();
    // Server-reflexive and peer-reflexive candidates are learnt again; hosts and relays stay and are re-announced.
    std::vector<Local> kept;
    for (auto& l : locals_) {
        if (!l.pairable) continue;
        l.announced = false;
        kept.push_back(std::move(l));
    }
    locals_ = std::move(kept);
    if (gathering_started_) {
        gathering_state_ = GatheringState::New;
        set_gathering(GatheringState::Gathering);
        for (size_t i = 0; i < locals_.size(); ++i) announce(i);
        for (const auto& h : host_addresses_) start_gather(h);
        check_gathering_complete();
    }
}

void Agent::handle_tcp_closed(Timestamp now, const SocketAddr& local, const SocketAddr& remote) {
    advance(now);
    if (closed_) return;
    const auto pi = find_pair(local, remote, Transport::Tcp);
    if (!pi) return;
    Pair& p = pairs_[*pi];
    if (p.check_tx) transactions_.cancel(*p.check_tx);
    if (p.superseded_tx) transactions_.cancel(*p.superseded_tx);
    p.check_tx.reset();
    p.superseded_tx.reset();
    p.triggered = false;
    p.valid = false;
    if (p.use_candidate_sent && role_ == Role::Controlling && !selected_) nominating_ = false;
    p.state = PairState::Failed;
    // The selected pair's data path is gone; consent (unanswerable now) turns this into failed in due time.
    if (selected_ == *pi && (state_ == ConnectionState::Connected || state_ == ConnectionState::Completed))
        set_state(ConnectionState::Disconnected);
    on_pair_done(*pi);
    maybe_nominate();
}

void Agent::close() {
    if (closed_) return;
    set_state(ConnectionState::Closed);
    closed_ = true;
    transactions_.clear();
    transmits_.clear();
    selected_.reset();
    previous_route_.reset();
}

std::vector<Candidate> Agent::local_candidates() const {
    std::vector<Candidate> out;
    for (const auto& l : locals_)
        if (l.announced) out.push_back(l.cand);
    return out;
}

std::vector<Candidate> Agent::remote_candidates() const {
    std::vector<Candidate> out;
    for (const auto& r : remotes_) out.push_back(r.cand);
    return out;
}

std::optional<Agent::Route> Agent::selected_route() const {
    // RFC 7675 5.1: once consent has expired, nothing more may be sent.
    if (state_ == ConnectionState::Failed || closed_) return std::nullopt;
    if (selected_) {
        const Pair& p = pairs_[*selected_];
        return Route{locals_[p.local].cand.base, remotes_[p.remote].cand.address, locals_[p.local].cand.transport};
    }
    return previous_route_;
}

std::vector<PairStats> Agent::pair_stats() const {
    std::vector<PairStats> out;
    for (size_t i = 0; i < pairs_.size(); ++i) {
        const Pair& p = pairs_[i];
        if (p.removed) continue;
        PairStats s = p.stats;
        s.local = p.mapped_local ? locals_[*p.mapped_local].cand : locals_[p.local].cand;
        s.remote = remotes_[p.remote].cand;
        s.state = p.state;
        s.priority = p.priority;
        s.nominated = p.nominated;
        s.selected = selected_ == i;
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<PairStats> Agent::selected_pair() const {
    if (!selected_) return std::nullopt;
    for (auto& s : pair_stats())
        if (s.selected) return s;
    return std::nullopt;
}

} // namespace rtcpp::ice
