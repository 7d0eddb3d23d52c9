#include "sctp/sctp_association.hpp"

#include "sctp/crc32c.hpp"

#include <rtcpp/log.hpp>

#include <usrsctp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace rtcpp::sctp {

namespace {

constexpr uint8_t kAbortChunkType = 6;
constexpr uint16_t kCauseUserInitiatedAbort = 12;
constexpr uint16_t kCauseProtocolViolation = 13;

Error sctp_error(ErrorCategory c, std::string message) { return make_error(c, "sctp", std::move(message)); }

template <class T>
bool set_option(struct socket* sock, int level, int name, const T& value) {
    return usrsctp_setsockopt(sock, level, name, &value, static_cast<socklen_t>(sizeof(value))) == 0;
}

// Notifications come from usrsctp in host byte order; these read fixed fields without trusting lengths.
template <class T>
std::optional<T> read_host(ByteView bytes, size_t offset) {
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof(T));
    return v;
}

// sac_info of SCTP_COMM_LOST carries the ABORT chunk as received from the network: parse it like any network
// bytes and turn its error causes into words.
std::string describe_abort(ByteView info) {
    ByteReader r(info);
    auto type = r.read_u8();
    r.skip(1);
    auto length = r.read_u16();
    if (!r.ok() || *type != kAbortChunkType || *length < 4) return "association lost (timeout or ABORT)";
    auto body = r.read_sub(std::min<size_t>(*length - 4u, r.remaining()));
    if (!body) return "peer aborted the association";
    std::string reason;
    while (body->remaining() >= 4) {
        auto code = body->read_u16();
        auto cause_length = body->read_u16();
        if (!body->ok() || *cause_length < 4) break;
        auto value = body->read_string(std::min<size_t>(*cause_length - 4u, body->remaining()));
        if (!value) break;
        body->skip((4 - *cause_length % 4) % 4);
        if (!reason.empty()) reason += "; ";
        if (*code == kCauseUserInitiatedAbort) {
            reason += "peer aborted: " + std::string(*value);
        } else if (*code == kCauseProtocolViolation) {
            reason += "peer reported a protocol violation";
        } else {
            reason += "peer aborted with error cause " + std::to_string(*code);
        }
    }
    return reason.empty() ? std::string("peer aborted the association") : reason;
}

} // namespace

Result<std::unique_ptr<SctpAssociation>> SctpAssociation::create(const SctpSettings& settings) {
    if (settings.max_packet_size < 512 || settings.max_packet_size > 65535) {
        return sctp_error(ErrorCategory::RangeError, "max_packet_size must be within 512..65535");
    }
    if (settings.max_streams == 0) return sctp_error(ErrorCategory::RangeError, "max_streams must be positive");
    std::unique_ptr<SctpAssociation> a(new SctpAssociation(settings));
    if (auto r = a->setup_socket(); !r) return r.error();
    return a;
}

SctpAssociation::SctpAssociation(const SctpSettings& settings) : settings_(settings), stack_(SctpStack::instance()) {
    id_ = stack_.acquire(this);
    stack_.set_tick_interval(settings_.tick_interval);
}

SctpAssociation::~SctpAssociation() {
    dying_ = true;
    if (sock_) {
        usrsctp_set_upcall(sock_, nullptr, nullptr);
        // SO_LINGER {1, 0}: close aborts at once and frees the association, nothing lingers in usrsctp.
        usrsctp_close(sock_);
        sock_ = nullptr;
    }
    stack_.release(id_);
}

Result<void> SctpAssociation::setup_socket() {
    sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
    if (!sock_) return sctp_error(ErrorCategory::OperationError, "usrsctp_socket failed: " + std::string(strerror(errno)));
    auto fail = [&](const char* what) {
        return sctp_error(ErrorCategory::OperationError, std::string(what) + " failed: " + strerror(errno));
    };
    if (usrsctp_set_upcall(sock_, &SctpStack::upcall, SctpStack::id_to_addr(id_)) != 0) return fail("upcall");
    if (usrsctp_set_non_blocking(sock_, 1) != 0) return fail("non-blocking");

    struct linger lg{};
    lg.l_onoff = 1;
    lg.l_linger = 0;
    if (!set_option(sock_, SOL_SOCKET, SO_LINGER, lg)) return fail("SO_LINGER");

    struct sctp_assoc_value reset{};
    reset.assoc_id = SCTP_ALL_ASSOC;
    reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    if (!set_option(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset)) return fail("SCTP_ENABLE_STREAM_RESET");

    const int on = 1;
    // Messages go out as soon as the window allows: data channels are latency sensitive.
    if (!set_option(sock_, IPPROTO_SCTP, SCTP_NODELAY, on)) return fail("SCTP_NODELAY");
    if (!set_option(sock_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on)) return fail("SCTP_RECVRCVINFO");

    for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT, SCTP_STREAM_RESET_EVENT, SCTP_REMOTE_ERROR}) {
        struct sctp_event ev{};
        ev.se_assoc_id = SCTP_ALL_ASSOC;
        ev.se_type = type;
        ev.se_on = 1;
        if (!set_option(sock_, IPPROTO_SCTP, SCTP_EVENT, ev)) return fail("SCTP_EVENT");
    }

    struct sctp_initmsg init{};
    init.sinit_num_ostreams = settings_.max_streams;
    init.sinit_max_instreams = settings_.max_streams;
    if (!set_option(sock_, IPPROTO_SCTP, SCTP_INITMSG, init)) return fail("SCTP_INITMSG");

    // No path MTU discovery over DTLS (RFC 8831 §5 asks for PLPMTUD, which usrsctp lacks): a fixed size that
    // fits one DTLS record in one datagram. For AF_CONN usrsctp's path MTU excludes the 12-byte common header
    // (measured: packets reach pathmtu + 12).
    struct sctp_paddrparams pp{};
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = static_cast<uint32_t>(settings_.max_packet_size - 12);
    if (!set_option(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, pp)) return fail("SCTP_PEER_ADDR_PARAMS");

    const int sndbuf = static_cast<int>(SctpStack::kSendSpace);
    const int rcvbuf = static_cast<int>(SctpStack::kRecvSpace);
    if (!set_option(sock_, SOL_SOCKET, SO_SNDBUF, sndbuf)) return fail("SO_SNDBUF");
    if (!set_option(sock_, SOL_SOCKET, SO_RCVBUF, rcvbuf)) return fail("SO_RCVBUF");

    struct sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(settings_.local_port);
    local.sconn_addr = SctpStack::id_to_addr(id_);
    if (usrsctp_bind(sock_, reinterpret_cast<struct sockaddr*>(&local), sizeof(local)) != 0) return fail("bind");
    return {};
}

Result<void> SctpAssociation::connect(Timestamp now) {
    stack_.advance(now);
    if (state_ != State::New) return sctp_error(ErrorCategory::InvalidStateError, "connect() called twice");
    struct sockaddr_conn remote{};
    remote.sconn_family = AF_CONN;
    remote.sconn_port = htons(settings_.remote_port);
    remote.sconn_addr = SctpStack::id_to_addr(id_);
    if (usrsctp_connect(sock_, reinterpret_cast<struct sockaddr*>(&remote), sizeof(remote)) != 0 &&
        errno != EINPROGRESS) {
        return sctp_error(ErrorCategory::OperationError, "usrsctp_connect failed: " + std::string(strerror(errno)));
    }
    state_ = State::Connecting;
    return {};
}

void SctpAssociation::on_sctp_outbound(ByteView packet) {
    if (dying_) return;
    ++stats_.packets_sent;
    stats_.bytes_sent += packet.size();
    std::vector<uint8_t> buffer;
    if (!spare_.empty()) {
        buffer = std::move(spare_.back());
        spare_.pop_back();
    }
    buffer.assign(packet.begin(), packet.end());
    auto& out = transmit_.emplace_back(std::move(buffer));
    // usrsctp leaves the checksum to us (offloaded, see SctpStack::init).
    if (out.size() >= 12) {
        const uint32_t crc = sctp_checksum(out);
        std::memcpy(out.data() + 8, &crc, 4);
    }
}

void SctpAssociation::on_sctp_upcall(int events) {
    if (events & (SCTP_EVENT_READ | SCTP_EVENT_ERROR)) readable_ = true;
    if (events & SCTP_EVENT_WRITE) writable_ = true;
}

void SctpAssociation::handle_packet(Timestamp now, ByteView sctp_packet) {
    stack_.advance(now);
    if (!sock_ || sctp_packet.empty()) return;
    ++stats_.packets_received;
    stats_.bytes_received += sctp_packet.size();
    if (!sctp_checksum_ok(sctp_packet)) {
        ++stats_.checksum_errors;
        return;
    }
    // A peer's INIT can beat our own connect() (its DTLS finished first): a socket that is neither connected nor
    // listening would answer it with an ABORT, so start our side now.
    if (state_ == State::New) (void)connect(now);
    usrsctp_conninput(SctpStack::id_to_addr(id_), sctp_packet.data(), sctp_packet.size(), 0);
}

void SctpAssociation::handle_timeout(Timestamp now) {
    stack_.advance(now);
    // A safety net should a write upcall ever be missed: retry queued sends once per tick.
    writable_ = true;
}

std::optional<std::vector<uint8_t>> SctpAssociation::poll_transmit() {
    drain();
    if (transmit_.empty()) return std::nullopt;
    auto p = std::move(transmit_.front());
    transmit_.pop_front();
    return p;
}

void SctpAssociation::recycle(std::vector<uint8_t>&& buffer) {
    // A few spares cover a window's burst; more would only hold memory.
    constexpr size_t kMaxSpares = 64;
    if (spare_.size() < kMaxSpares && buffer.capacity() >= 1024) spare_.push_back(std::move(buffer));
}

std::optional<SctpEvent> SctpAssociation::poll_event() {
    drain();
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
}

bool SctpAssociation::has_pending_work() const {
    return !transmit_.empty() || !events_.empty() || readable_ ||
           (writable_ && state_ == State::Connected && !send_queue_.empty());
}

Timestamp SctpAssociation::poll_timeout() {
    if (has_pending_work()) return stack_.now();
    if (state_ == State::New || state_ == State::Closed) return Timestamp::plus_infinity();
    return stack_.next_tick();
}

void SctpAssociation::drain() {
    if (!sock_) return;
    if (readable_) {
        readable_ = false;
        receive_all();
    }
    if (state_ != State::Connected) return;
    if (writable_ && !send_queue_.empty()) flush_sends();
    send_pending_resets();
}

void SctpAssociation::receive_all() {
    auto buf = stack_.receive_buffer();
    while (sock_) {
        struct sctp_rcvinfo info{};
        socklen_t info_len = sizeof(info);
        unsigned int info_type = SCTP_RECVV_NOINFO;
        int flags = 0;
        struct sockaddr_conn from{};
        socklen_t from_len = sizeof(from);
        const ssize_t n = usrsctp_recvv(sock_, buf.data(), buf.size(), reinterpret_cast<struct sockaddr*>(&from),
                                        &from_len, &info, &info_len, &info_type, &flags);
        if (n < 0) {
            if (errno != EWOULDBLOCK && errno != EAGAIN && errno != ENOTCONN) {
                RTCPP_LOG(LogLevel::Debug, "sctp", "usrsctp_recvv: " << strerror(errno));
            }
            break;
        }
        if (n == 0) break;
        const ByteView chunk(buf.data(), static_cast<size_t>(n));
        if (flags & MSG_NOTIFICATION) {
            notification_.insert(notification_.end(), chunk.begin(), chunk.end());
            if (flags & MSG_EOR) {
                std::vector<uint8_t> n_bytes;
                n_bytes.swap(notification_);
                handle_notification(n_bytes);
            }
            continue;
        }
        if (info_type != SCTP_RECVV_RCVINFO) {
            ++stats_.messages_dropped;
            continue;
        }
        const uint16_t sid = info.rcv_sid;
        const uint32_t ppid = ntohl(info.rcv_ppid);
        auto it = incoming_.find(sid);
        if (it == incoming_.end() && (flags & MSG_EOR)) {
            // The common case: a whole message in one read.
            if (chunk.size() > settings_.local_max_message_size) {
                handle_oversize(sid);
            } else {
                handle_message(sid, ppid, std::vector<uint8_t>(chunk.begin(), chunk.end()));
            }
            continue;
        }
        if (it == incoming_.end()) it = incoming_.emplace(sid, Incoming{}).first;
        Incoming& in = it->second;
        in.ppid = ppid;
        if (!in.discarding) {
            if (in.data.size() + chunk.size() > settings_.local_max_message_size) {
                // Stop buffering at once: a peer must not make us hold more than we advertised.
                in.discarding = true;
                std::vector<uint8_t>().swap(in.data);
            } else {
                in.data.insert(in.data.end(), chunk.begin(), chunk.end());
            }
        }
        if (flags & MSG_EOR) {
            Incoming done = std::move(in);
            incoming_.erase(it);
            if (done.discarding) {
                handle_oversize(sid);
            } else {
                handle_message(sid, ppid, std::move(done.data));
            }
        }
    }
}

void SctpAssociation::handle_notification(ByteView n) {
    auto type = read_host<uint16_t>(n, 0);
    if (!type) return;
    switch (*type) {
    case SCTP_ASSOC_CHANGE: handle_assoc_change(n); break;
    case SCTP_STREAM_RESET_EVENT: handle_stream_reset(n); break;
    case SCTP_SHUTDOWN_EVENT: on_association_closed(false, "the remote shut the association down"); break;
    case SCTP_REMOTE_ERROR:
        RTCPP_LOG(LogLevel::Debug, "sctp", "remote error notification");
        break;
    default: break;
    }
}

void SctpAssociation::handle_assoc_change(ByteView n) {
    auto sac_state = read_host<uint16_t>(n, offsetof(struct sctp_assoc_change, sac_state));
    auto outbound = read_host<uint16_t>(n, offsetof(struct sctp_assoc_change, sac_outbound_streams));
    if (!sac_state) return;
    const size_t info_at = offsetof(struct sctp_assoc_change, sac_info);
    const ByteView info = n.size() > info_at ? n.subspan(info_at) : ByteView{};
    switch (*sac_state) {
    case SCTP_COMM_UP:
        if (outbound) outbound_streams_ = *outbound;
        if (state_ != State::Connected && state_ != State::Closed) on_association_up();
        break;
    case SCTP_COMM_LOST: on_association_closed(true, describe_abort(info)); break;
    case SCTP_CANT_STR_ASSOC: on_association_closed(true, "could not establish the SCTP association"); break;
    case SCTP_SHUTDOWN_COMP: on_association_closed(false, "the association was shut down"); break;
    case SCTP_RESTART: RTCPP_LOG(LogLevel::Info, "sctp", "association restarted by the peer"); break;
    default: break;
    }
}

void SctpAssociation::handle_stream_reset(ByteView n) {
    auto flags = read_host<uint16_t>(n, offsetof(struct sctp_stream_reset_event, strreset_flags));
    auto length = read_host<uint32_t>(n, offsetof(struct sctp_stream_reset_event, strreset_length));
    if (!flags || !length) return;
    const size_t list_at = offsetof(struct sctp_stream_reset_event, strreset_stream_list);
    const size_t end = std::min<size_t>(*length, n.size());
    std::vector<uint16_t> streams;
    for (size_t at = list_at; at + 2 <= end; at += 2) streams.push_back(*read_host<uint16_t>(n, at));

    const bool failed = (*flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0;
    if (failed) RTCPP_LOG(LogLevel::Warning, "sctp", "stream reset denied or failed");
    for (uint16_t sid : streams) {
        auto it = channels_.find(sid);
        if (it == channels_.end()) continue;
        Channel& ch = it->second;
        if (*flags & SCTP_STREAM_RESET_INCOMING_SSN) {
            // The remote reset its outgoing stream: it closed the channel, or answered our close.
            ch.incoming_reset_done = true;
            if (!ch.reset_wanted) {
                ch.reset_wanted = true;
                ch.close_reason = "closed by the remote";
            }
            ch.state = ChannelState::Closing;
            incoming_.erase(sid);
            legacy_partial_.erase(sid);
            report_closed(sid, ch);
        }
        if (*flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
            // Denied or failed resets are not retried: the channel is closed either way.
            ch.outgoing_reset_done = true;
        }
        maybe_forget(sid);
    }
}

void SctpAssociation::handle_message(uint16_t stream_id, uint32_t ppid, std::vector<uint8_t>&& data) {
    if (ppid == static_cast<uint32_t>(Ppid::Dcep)) {
        handle_dcep(stream_id, data);
        return;
    }
    auto it = channels_.find(stream_id);
    if (it == channels_.end() || it->second.state == ChannelState::Closed ||
        it->second.incoming_reset_done) {
        ++stats_.messages_dropped;
        return;
    }
    Channel& ch = it->second;
    // RFC 8832 §6: any message on the stream acknowledges our DATA_CHANNEL_OPEN (the ACK may still be on its way).
    if (ch.state == ChannelState::Connecting) mark_open(stream_id, ch);

    bool binary = false;
    switch (static_cast<Ppid>(ppid)) {
    case Ppid::String: break;
    case Ppid::Binary: binary = true; break;
    case Ppid::StringEmpty: data.clear(); break;
    case Ppid::BinaryEmpty: binary = true; data.clear(); break;
    case Ppid::StringPartial:
    case Ppid::BinaryPartial: {
        auto& partial = legacy_partial_[stream_id];
        if (partial.size() + data.size() > settings_.local_max_message_size) {
            legacy_partial_.erase(stream_id);
            handle_oversize(stream_id);
        } else {
            partial.insert(partial.end(), data.begin(), data.end());
        }
        return;
    }
    default: ++stats_.messages_dropped; return;
    }
    if (auto p = legacy_partial_.find(stream_id); p != legacy_partial_.end()) {
        std::vector<uint8_t> whole = std::move(p->second);
        legacy_partial_.erase(p);
        if (whole.size() + data.size() > settings_.local_max_message_size) {
            handle_oversize(stream_id);
            return;
        }
        whole.insert(whole.end(), data.begin(), data.end());
        data = std::move(whole);
    }
    ++stats_.messages_received;
    events_.push_back(events::MessageReceived{stream_id, binary, std::move(data)});
}

void SctpAssociation::handle_dcep(uint16_t stream_id, ByteView payload) {
    auto message = parse_dcep(payload);
    if (!message) {
        ++stats_.dcep_malformed;
        RTCPP_LOG(LogLevel::Debug, "sctp", "ignored DCEP message on stream " << stream_id << ": "
                                               << message.error().message);
        return;
    }
    auto it = channels_.find(stream_id);
    if (auto* open = std::get_if<DcepOpen>(&*message)) {
        if (is_our_parity(stream_id) || it != channels_.end() || state_ != State::Connected) {
            ++stats_.dcep_unexpected;
            return;
        }
        Channel ch;
        ch.options.label = open->label;
        ch.options.protocol = open->protocol;
        ch.options.priority = open->priority;
        ch.options.reliability = open->reliability();
        ch.options.id = stream_id;
        ch.state = ChannelState::Open;
        ChannelOptions options = ch.options;
        Channel& stored = channels_.emplace(stream_id, std::move(ch)).first->second;
        ++stored.queued;
        send_queue_.push_back(Outgoing{stream_id, Ppid::Dcep, std::move(*serialize_dcep(DcepAck{})), false});
        events_.push_back(events::ChannelOpen{stream_id, std::move(options)});
        return;
    }
    // DATA_CHANNEL_ACK
    if (it == channels_.end() || !it->second.locally_created || it->second.options.negotiated ||
        !it->second.dcep_open_sent) {
        ++stats_.dcep_unexpected;
        return;
    }
    // A duplicate ACK after an implicit one (data arrived first) is harmless.
    if (it->second.state == ChannelState::Connecting) mark_open(stream_id, it->second);
}

void SctpAssociation::handle_oversize(uint16_t stream_id) {
    ++stats_.oversize_messages;
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) return;
    Channel& ch = it->second;
    if (ch.reset_wanted) return;
    RTCPP_LOG(LogLevel::Info, "sctp", "closing channel " << stream_id << ": message exceeds max-message-size");
    ch.state = ChannelState::Closing;
    ch.reset_wanted = true;
    ch.close_reason = "received a message larger than max-message-size (" +
                      std::to_string(settings_.local_max_message_size) + " bytes)";
}

void SctpAssociation::on_association_up() {
    state_ = State::Connected;
    writable_ = true;
    events_.push_back(events::AssociationUp{});
    for (auto& [sid, ch] : channels_) {
        if (ch.state != ChannelState::Connecting || !ch.locally_created) continue;
        if (ch.options.negotiated) {
            mark_open(sid, ch);
        } else {
            queue_dcep_open(sid, ch);
        }
    }
}

void SctpAssociation::on_association_closed(bool aborted, std::string reason) {
    if (closed_reported_) return;
    closed_reported_ = true;
    state_ = State::Closed;
    for (auto& [sid, ch] : channels_) {
        if (ch.closed_reported) continue;
        ch.close_reason = reason;
        report_closed(sid, ch);
    }
    channels_.clear();
    send_queue_.clear();
    incoming_.clear();
    legacy_partial_.clear();
    events_.push_back(events::AssociationClosed{aborted, std::move(reason)});
}

void SctpAssociation::mark_open(uint16_t stream_id, Channel& ch) {
    ch.state = ChannelState::Open;
    events_.push_back(events::ChannelOpened{stream_id});
}

void SctpAssociation::queue_dcep_open(uint16_t stream_id, Channel& ch) {
    DcepOpen open;
    open.channel_type = channel_type_for(ch.options.reliability);
    open.priority = ch.options.priority;
    if (ch.options.reliability.max_retransmits) open.reliability_parameter = *ch.options.reliability.max_retransmits;
    if (ch.options.reliability.max_packet_life_time_ms) {
        open.reliability_parameter = *ch.options.reliability.max_packet_life_time_ms;
    }
    open.label = ch.options.label;
    open.protocol = ch.options.protocol;
    auto bytes = serialize_dcep(open);
    if (!bytes) return;  // lengths were checked in open_channel()
    ch.dcep_open_sent = true;
    ++ch.queued;
    send_queue_.push_back(Outgoing{stream_id, Ppid::Dcep, std::move(*bytes), false});
}

void SctpAssociation::report_closed(uint16_t stream_id, Channel& ch) {
    if (ch.closed_reported) return;
    ch.closed_reported = true;
    ch.state = ChannelState::Closed;
    events_.push_back(events::ChannelClosed{stream_id, ch.close_reason});
}

void SctpAssociation::maybe_forget(uint16_t stream_id) {
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) return;
    const Channel& ch = it->second;
    // The id is reusable once both directions are reset (RFC 8831 §6.7).
    if (ch.closed_reported && ch.incoming_reset_done && ch.outgoing_reset_done) channels_.erase(it);
}

std::optional<uint16_t> SctpAssociation::allocate_stream_id() const {
    const uint32_t limit = outbound_streams_ ? std::min<uint32_t>(outbound_streams_, settings_.max_streams)
                                             : settings_.max_streams;
    for (uint32_t id = settings_.dtls_client ? 0 : 1; id < limit && id < 65535; id += 2) {
        if (!channels_.count(static_cast<uint16_t>(id))) return static_cast<uint16_t>(id);
    }
    return std::nullopt;
}

Result<uint16_t> SctpAssociation::open_channel(const ChannelOptions& options) {
    if (state_ == State::Closed) return sctp_error(ErrorCategory::InvalidStateError, "the association is closed");
    if (options.reliability.max_retransmits && options.reliability.max_packet_life_time_ms) {
        return sctp_error(ErrorCategory::TypeError, "maxRetransmits and maxPacketLifeTime are exclusive");
    }
    if (options.label.size() > 0xffff || options.protocol.size() > 0xffff) {
        return sctp_error(ErrorCategory::TypeError, "label or protocol longer than 65535 bytes");
    }
    uint16_t sid = 0;
    if (options.negotiated) {
        if (!options.id) return sctp_error(ErrorCategory::TypeError, "a negotiated channel needs an id");
        sid = *options.id;
        if (sid >= settings_.max_streams || sid == 65535) {
            return sctp_error(ErrorCategory::TypeError, "stream id " + std::to_string(sid) + " out of range");
        }
        if (channels_.count(sid)) {
            return sctp_error(ErrorCategory::OperationError, "stream id " + std::to_string(sid) + " is in use");
        }
    } else {
        auto id = allocate_stream_id();
        if (!id) return sctp_error(ErrorCategory::OperationError, "no free stream id");
        sid = *id;
    }
    Channel ch;
    ch.options = options;
    ch.options.id = sid;
    ch.locally_created = true;
    Channel& stored = channels_.emplace(sid, std::move(ch)).first->second;
    if (state_ == State::Connected) {
        if (options.negotiated) {
            mark_open(sid, stored);
        } else {
            queue_dcep_open(sid, stored);
        }
    }
    return sid;
}

size_t SctpAssociation::max_message_size() const {
    const size_t remote = settings_.remote_max_message_size;
    // A message must fit usrsctp's send buffer whole; "no limit" from the remote means that limit.
    return remote == 0 ? SctpStack::kSendSpace : std::min<size_t>(remote, SctpStack::kSendSpace);
}

Result<void> SctpAssociation::send(uint16_t stream_id, ByteView data, bool binary) {
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) {
        return sctp_error(ErrorCategory::InvalidStateError, "no channel on stream " + std::to_string(stream_id));
    }
    Channel& ch = it->second;
    if (ch.state != ChannelState::Open) {
        return sctp_error(ErrorCategory::InvalidStateError, "channel " + std::to_string(stream_id) + " is not open");
    }
    if (data.size() > max_message_size()) {
        return sctp_error(ErrorCategory::TypeError, "message of " + std::to_string(data.size()) +
                                                        " bytes exceeds the remote's max-message-size of " +
                                                        std::to_string(max_message_size()) + " bytes");
    }
    Outgoing out{stream_id, binary ? Ppid::Binary : Ppid::String, {}, true};
    if (data.empty()) {
        // SCTP cannot carry an empty message: one byte with the "empty" PPID (RFC 8831 §6.6).
        out.ppid = binary ? Ppid::BinaryEmpty : Ppid::StringEmpty;
        out.data.push_back(0);
    } else {
        out.data.assign(data.begin(), data.end());
    }
    ch.buffered += data.size();
    ++ch.queued;
    send_queue_.push_back(std::move(out));
    return {};
}

Result<void> SctpAssociation::send_text(uint16_t stream_id, std::string_view text) {
    return send(stream_id, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), false);
}

Result<void> SctpAssociation::send_with_ppid(uint16_t stream_id, Ppid ppid, ByteView data) {
    if (state_ != State::Connected) return sctp_error(ErrorCategory::InvalidStateError, "association not up");
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) {
        // Raw sends may target a stream with no channel: give the queue an anchor that reports nothing.
        Channel anchor;
        anchor.options.id = stream_id;
        anchor.state = ChannelState::Open;
        anchor.closed_reported = true;
        it = channels_.emplace(stream_id, std::move(anchor)).first;
    }
    ++it->second.queued;
    send_queue_.push_back(Outgoing{stream_id, ppid, std::vector<uint8_t>(data.begin(), data.end()), false});
    return {};
}

bool SctpAssociation::sendv(uint16_t stream_id, Ppid ppid, const std::vector<uint8_t>& data,
                            const Reliability& reliability, int& error) {
    struct sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID | SCTP_SEND_PRINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream_id;
    spa.sendv_sndinfo.snd_ppid = htonl(static_cast<uint32_t>(ppid));
    // DCEP messages always travel reliable and ordered (RFC 8832 §6).
    const bool control = ppid == Ppid::Dcep;
    if (!control && !reliability.ordered) spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_NONE;
    if (!control && reliability.max_retransmits) {
        spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
        spa.sendv_prinfo.pr_value = *reliability.max_retransmits;
    } else if (!control && reliability.max_packet_life_time_ms) {
        spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = *reliability.max_packet_life_time_ms;
    }
    const ssize_t n = usrsctp_sendv(sock_, data.data(), data.size(), nullptr, 0, &spa,
                                    static_cast<socklen_t>(sizeof(spa)), SCTP_SENDV_SPA, 0);
    if (n < 0) {
        error = errno;
        return false;
    }
    return true;
}

void SctpAssociation::flush_sends() {
    while (!send_queue_.empty() && state_ == State::Connected) {
        Outgoing& m = send_queue_.front();
        auto it = channels_.find(m.stream_id);
        if (it == channels_.end()) {
            send_queue_.pop_front();
            continue;
        }
        Channel& ch = it->second;
        int error = 0;
        if (!sendv(m.stream_id, m.ppid, m.data, ch.options.reliability, error)) {
            if (error == EWOULDBLOCK || error == EAGAIN) {
                writable_ = false;
                return;
            }
            ++stats_.send_errors;
            stats_.last_send_errno = error;
            RTCPP_LOG(LogLevel::Warning, "sctp", "send on stream " << m.stream_id << " failed: " << strerror(error));
        } else if (m.counted) {
            ++stats_.messages_sent;
        }
        if (m.counted) {
            const size_t size = (m.ppid == Ppid::StringEmpty || m.ppid == Ppid::BinaryEmpty) ? 0 : m.data.size();
            const size_t before = ch.buffered;
            ch.buffered -= std::min(size, ch.buffered);
            if (before > ch.low_threshold && ch.buffered <= ch.low_threshold && !ch.closed_reported) {
                events_.push_back(events::BufferedAmountLow{m.stream_id});
            }
        }
        --ch.queued;
        send_queue_.pop_front();
    }
}

void SctpAssociation::send_pending_resets() {
    std::vector<uint16_t> streams;
    for (auto& [sid, ch] : channels_) {
        if (ch.reset_wanted && !ch.outgoing_reset_sent && ch.queued == 0) streams.push_back(sid);
    }
    if (streams.empty()) return;
    // sctp_reset_streams ends in a flexible array: build it in suitably aligned storage.
    std::vector<uint32_t> storage((sizeof(struct sctp_reset_streams) + streams.size() * sizeof(uint16_t) + 3) / 4);
    auto* srs = reinterpret_cast<struct sctp_reset_streams*>(storage.data());
    srs->srs_assoc_id = SCTP_ALL_ASSOC;
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = static_cast<uint16_t>(streams.size());
    std::memcpy(reinterpret_cast<uint8_t*>(srs) + offsetof(struct sctp_reset_streams, srs_stream_list),
                streams.data(), streams.size() * sizeof(uint16_t));
    const auto len = static_cast<socklen_t>(sizeof(struct sctp_reset_streams) + streams.size() * sizeof(uint16_t));
    if (usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, len) != 0) {
        // Typically EALREADY while an earlier request is outstanding: retried on the next drain.
        RTCPP_LOG(LogLevel::Debug, "sctp", "stream reset deferred: " << strerror(errno));
        return;
    }
    for (uint16_t sid : streams) channels_[sid].outgoing_reset_sent = true;
}

Result<void> SctpAssociation::close_channel(uint16_t stream_id) {
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) return {};
    Channel& ch = it->second;
    if (ch.reset_wanted || ch.closed_reported) return {};
    ch.close_reason = "closed locally";
    if (state_ != State::Connected) {
        // Nothing was ever sent on the stream: no reset needed.
        report_closed(stream_id, ch);
        channels_.erase(it);
        return {};
    }
    ch.state = ChannelState::Closing;
    ch.reset_wanted = true;
    return {};
}

std::optional<ChannelState> SctpAssociation::channel_state(uint16_t stream_id) const {
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) return std::nullopt;
    return it->second.state;
}

size_t SctpAssociation::buffered_amount(uint16_t stream_id) const {
    auto it = channels_.find(stream_id);
    return it == channels_.end() ? 0 : it->second.buffered;
}

void SctpAssociation::set_buffered_amount_low_threshold(uint16_t stream_id, size_t threshold) {
    if (auto it = channels_.find(stream_id); it != channels_.end()) it->second.low_threshold = threshold;
}

size_t SctpAssociation::buffered_amount_low_threshold(uint16_t stream_id) const {
    auto it = channels_.find(stream_id);
    return it == channels_.end() ? 0 : it->second.low_threshold;
}

void SctpAssociation::close(Timestamp now) {
    stack_.advance(now);
    if (state_ == State::Closed) return;
    if (state_ != State::Connected) {
        on_association_closed(false, "closed before the association was established");
        return;
    }
    drain();
    if (usrsctp_shutdown(sock_, SHUT_WR) != 0) {
        RTCPP_LOG(LogLevel::Debug, "sctp", "usrsctp_shutdown: " << strerror(errno));
    }
}

void SctpAssociation::abort(Timestamp now, std::string_view reason) {
    stack_.advance(now);
    if (state_ == State::Closed) return;
    if (state_ != State::New) {
        struct sctp_sndinfo info{};
        info.snd_flags = SCTP_ABORT;
        // The reason travels in the ABORT as a user-initiated abort cause (RFC 4960 §3.3.10.12).
        const std::string text(reason.substr(0, 512));
        if (usrsctp_sendv(sock_, text.data(), text.size(), nullptr, 0, &info, static_cast<socklen_t>(sizeof(info)),
                          SCTP_SENDV_SNDINFO, 0) < 0) {
            RTCPP_LOG(LogLevel::Debug, "sctp", "abort: " << strerror(errno));
        }
    }
    on_association_closed(true, "aborted locally: " + std::string(reason));
}

} // namespace rtcpp::sctp

namespace rtcpp::sctp {

std::string SctpAssociation::describe() const {
    if (!sock_) return "no socket";
    struct sctp_status st{};
    socklen_t len = sizeof(st);
    if (usrsctp_getsockopt(sock_, IPPROTO_SCTP, SCTP_STATUS, &st, &len) != 0) return "no status";
    return "state=" + std::to_string(st.sstat_state) + " rwnd=" + std::to_string(st.sstat_rwnd) +
           " unacked=" + std::to_string(st.sstat_unackdata) + " pending=" + std::to_string(st.sstat_penddata) +
           " cwnd=" + std::to_string(st.sstat_primary.spinfo_cwnd) + " srtt=" + std::to_string(st.sstat_primary.spinfo_srtt) +
           " rto=" + std::to_string(st.sstat_primary.spinfo_rto) + " mtu=" + std::to_string(st.sstat_primary.spinfo_mtu);
}

} // namespace rtcpp::sctp
