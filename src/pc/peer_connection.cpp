// The runtime facade: a Session driven from the shared event loop over real UDP sockets.
//
// Events from the Session are never delivered from inside the driver's read or timer path: they are queued and
// handed to the user from a separate task posted to the loop. A callback may therefore close or destroy the
// PeerConnection (which tears down the driver) without pulling the floor from under code that is still running.
#include <rtcpp/peer_connection.hpp>

#include "runtime/driver.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/tcp_connection.hpp"
#include "runtime/tcp_listener.hpp"
#include "runtime/udp_socket.hpp"

#include <rtcpp/log.hpp>

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

namespace rtcpp {

struct DataChannel::Impl {
    std::weak_ptr<PeerConnection::Impl> pc;
    ChannelId id = 0;
    std::function<void()> on_open;
    std::function<void(std::span<const uint8_t>, bool)> on_message;
    std::function<void(const std::string&)> on_close;
    std::function<void()> on_buffered_amount_low;
};

struct PeerConnection::Impl : runtime::SansIoCore, std::enable_shared_from_this<PeerConnection::Impl> {
    std::shared_ptr<runtime::EventLoop> loop;
    std::unique_ptr<Session> session;
    std::unique_ptr<runtime::Driver> driver;
    std::vector<SocketAddr> addresses;
    std::map<ChannelId, std::shared_ptr<DataChannel::Impl>> channels;
    std::deque<SessionEvent> pending;
    bool dispatch_scheduled = false;
    // Final states, kept after the session is released by close().
    bool closed = false;

    std::function<void(const IceCandidate&)> on_local_candidate;
    std::function<void(IceGatheringState)> on_gathering;
    std::function<void(SignalingState)> on_signaling;
    std::function<void(IceConnectionState)> on_ice;
    std::function<void(PeerConnectionState, const std::optional<Error>&)> on_state;
    std::function<void(std::shared_ptr<DataChannel>)> on_data_channel;
    std::function<void()> on_negotiation_needed;
    std::function<void(const TransceiverInfo&)> on_track;
    std::function<void(const event::MediaFrame&)> on_frame;
    std::function<void(TransceiverId)> on_keyframe_request;
    std::function<void(DataRate)> on_target_bitrate;
    std::function<void(const event::TargetBitrate&)> on_bitrate_allocation;
    std::function<void(TransceiverId, const std::string&)> on_layer_keyframe_request;
    std::function<void(TransceiverId, std::span<const uint8_t>)> on_rtp;
    std::function<void(std::span<const uint8_t>)> on_rtcp;

    // TCP connections the session asked for (TURN over TCP/TLS, ICE-TCP active) or accepted (ICE-TCP passive).
    std::map<StreamId, std::unique_ptr<runtime::TcpConnection>> streams;
    std::vector<std::unique_ptr<runtime::TcpListener>> listeners;

    bool queue_mode = false;
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::deque<PeerConnection::Event> queue;

    // ---- SansIoCore, called by the driver on the loop thread ----
    void handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote, ByteView bytes) override {
        if (!session) return;
        session->handle_datagram(now, local, remote, bytes);
        collect();
    }
    void handle_timeout(Timestamp now) override {
        if (!session) return;
        session->handle_timeout(now);
        collect();
    }
    std::optional<runtime::Transmit> poll_transmit() override {
        if (!session) return std::nullopt;
        auto t = session->poll_transmit();
        if (!t) return std::nullopt;
        return runtime::Transmit{t->local, t->remote, std::move(t->bytes)};
    }
    void recycle(std::vector<uint8_t>&& bytes) override {
        if (session) session->recycle(std::move(bytes));
    }
    Timestamp poll_timeout() override { return session ? session->poll_timeout() : Timestamp::plus_infinity(); }

    /// Runs `f` on the loop thread (inline when already there) and returns its result.
    template <class F>
    auto call(F&& f) -> decltype(f()) {
        using R = decltype(f());
        if (loop->in_loop_thread()) return f();
        std::optional<R> result;
        loop->run_sync([&] { result.emplace(f()); });
        if (!result) {
            if constexpr (std::is_constructible_v<R, Error>)
                return R(make_error(ErrorCategory::InvalidStateError, "pc", "the event loop has stopped"));
            else
                return R{};
        }
        return std::move(*result);
    }
    template <class F>
    void call_void(F&& f) {
        if (loop->in_loop_thread()) f();
        else loop->run_sync(f);
    }

    /// After a command: send what the session queued, re-arm its timer, and schedule event delivery.
    void after_command() {
        if (driver) driver->kick();
        collect();
    }

    void after_stream_input() {
        if (driver) driver->kick();
        collect();
    }

    void pump_streams() {
        while (session) {
            auto command = session->poll_stream();
            if (!command) return;
            if (auto* c = std::get_if<StreamConnect>(&*command)) {
                const StreamId id = c->stream;
                auto conn = runtime::TcpConnection::connect(*loop, c->remote, c->local_ip, stream_callbacks(id));
                if (!conn) {
                    RTCPP_LOG(LogLevel::Warning, "pc", "stream: " << conn.error().to_string());
                    session->handle_stream_closed(runtime::monotonic_now(), id);
                    continue;
                }
                streams[id] = std::move(conn.value());
            } else if (auto* snd = std::get_if<StreamSend>(&*command)) {
                if (auto it = streams.find(snd->stream); it != streams.end()) it->second->send(snd->bytes);
            } else if (auto* cl = std::get_if<StreamClose>(&*command)) {
                if (auto it = streams.find(cl->stream); it != streams.end()) {
                    it->second->close(true);
                    // Done unless bytes are still being flushed: refused ICE-TCP connections must not pile up.
                    if (!it->second->connected() || it->second->queued_bytes() == 0) streams.erase(it);
                }
            }
        }
    }

    runtime::TcpConnection::Callbacks stream_callbacks(StreamId id) {
        std::weak_ptr<Impl> weak = shared_from_this();
        runtime::TcpConnection::Callbacks cb;
        cb.on_connected = [weak, id] {
            auto self = weak.lock();
            if (!self || !self->session) return;
            self->session->handle_stream_connected(runtime::monotonic_now(), id);
            self->after_stream_input();
        };
        cb.on_data = [weak, id](std::span<const uint8_t> bytes) {
            auto self = weak.lock();
            if (!self || !self->session) return;
            self->session->handle_stream_data(runtime::monotonic_now(), id, bytes);
            self->after_stream_input();
        };
        cb.on_closed = [weak, id](const std::string& reason) {
            auto self = weak.lock();
            if (!self || !self->session) return;
            RTCPP_LOG(LogLevel::Debug, "pc", "stream " << id << ": " << reason);
            self->session->handle_stream_closed(runtime::monotonic_now(), id);
            self->after_stream_input();
        };
        return cb;
    }

    /// ICE-TCP: a connection accepted on `listener`; the session names it or refuses it.
    void on_accepted(int fd, const SocketAddr& listener, const SocketAddr& remote) {
        if (!session) {
            ::close(fd);
            return;
        }
        auto id = session->handle_stream_accepted(runtime::monotonic_now(), listener, remote);
        if (!id) {
            ::close(fd);
            after_stream_input();
            return;
        }
        auto conn = runtime::TcpConnection::adopt(*loop, fd, stream_callbacks(*id));
        if (!conn) {
            session->handle_stream_closed(runtime::monotonic_now(), *id);
        } else {
            streams[*id] = std::move(conn.value());
        }
        after_stream_input();
    }

    void collect() {
        if (!session) return;
        pump_streams();
        if (!session) return;
        while (auto e = session->poll_event()) pending.push_back(std::move(*e));
        if (pending.empty() || dispatch_scheduled) return;
        dispatch_scheduled = true;
        std::weak_ptr<Impl> weak = shared_from_this();
        loop->post([weak] {
            if (auto self = weak.lock()) self->dispatch();
        });
    }

    std::shared_ptr<DataChannel::Impl> channel_impl(ChannelId id) {
        auto it = channels.find(id);
        if (it != channels.end()) return it->second;
        auto c = std::make_shared<DataChannel::Impl>();
        c->pc = weak_from_this();
        c->id = id;
        channels[id] = c;
        return c;
    }

    void dispatch() {
        dispatch_scheduled = false;
        auto keep_alive = shared_from_this(); // a callback may drop the PeerConnection
        while (!pending.empty()) {
            SessionEvent e = std::move(pending.front());
            pending.pop_front();
            deliver(e);
        }
    }

    void deliver(SessionEvent& e) {
        std::shared_ptr<DataChannel> handle;
        if (auto* dc = std::get_if<event::DataChannel>(&e)) handle = std::make_shared<DataChannel>(channel_impl(dc->info.channel));
        if (queue_mode) {
            std::lock_guard lock(queue_mutex);
            queue.push_back({std::move(e), handle});
            queue_cv.notify_all();
            return;
        }
        std::visit(
            [&](auto& ev) {
                using T = std::decay_t<decltype(ev)>;
                if constexpr (std::is_same_v<T, event::LocalCandidate>) {
                    if (on_local_candidate) on_local_candidate(ev.candidate);
                } else if constexpr (std::is_same_v<T, event::IceGatheringStateChange>) {
                    if (on_gathering) on_gathering(ev.state);
                } else if constexpr (std::is_same_v<T, event::SignalingStateChange>) {
                    if (on_signaling) on_signaling(ev.state);
                } else if constexpr (std::is_same_v<T, event::IceConnectionStateChange>) {
                    if (on_ice) on_ice(ev.state);
                } else if constexpr (std::is_same_v<T, event::ConnectionStateChange>) {
                    if (on_state) on_state(ev.state, ev.error);
                } else if constexpr (std::is_same_v<T, event::DataChannel>) {
                    if (on_data_channel) on_data_channel(handle);
                } else if constexpr (std::is_same_v<T, event::ChannelOpen>) {
                    auto c = channel_impl(ev.channel);
                    if (auto cb = c->on_open) cb();
                } else if constexpr (std::is_same_v<T, event::ChannelMessage>) {
                    auto c = channel_impl(ev.channel);
                    if (auto cb = c->on_message) cb(ev.data, ev.binary);
                } else if constexpr (std::is_same_v<T, event::ChannelClosed>) {
                    auto c = channel_impl(ev.channel);
                    if (auto cb = c->on_close) cb(ev.reason);
                    // A closed channel calls nothing again: dropping its callbacks breaks any cycle through what
                    // they captured (a lambda holding the channel's own handle, say).
                    c->on_open = nullptr;
                    c->on_message = nullptr;
                    c->on_close = nullptr;
                    c->on_buffered_amount_low = nullptr;
                } else if constexpr (std::is_same_v<T, event::BufferedAmountLow>) {
                    auto c = channel_impl(ev.channel);
                    if (auto cb = c->on_buffered_amount_low) cb();
                } else if constexpr (std::is_same_v<T, event::NegotiationNeeded>) {
                    if (on_negotiation_needed) on_negotiation_needed();
                } else if constexpr (std::is_same_v<T, event::Track>) {
                    if (on_track) on_track(ev.transceiver);
                } else if constexpr (std::is_same_v<T, event::MediaFrame>) {
                    if (on_frame) on_frame(ev);
                } else if constexpr (std::is_same_v<T, event::KeyframeRequest>) {
                    if (on_keyframe_request) on_keyframe_request(ev.transceiver);
                    if (on_layer_keyframe_request) on_layer_keyframe_request(ev.transceiver, ev.rid);
                } else if constexpr (std::is_same_v<T, event::RtpPacket>) {
                    if (on_rtp) on_rtp(ev.transceiver, ev.packet);
                } else if constexpr (std::is_same_v<T, event::RtcpPacket>) {
                    if (on_rtcp) on_rtcp(ev.packet);
                } else if constexpr (std::is_same_v<T, event::TargetBitrate>) {
                    if (on_target_bitrate) on_target_bitrate(ev.target);
                    if (on_bitrate_allocation) on_bitrate_allocation(ev);
                }
            },
            e);
    }

    void close() {
        if (closed) return;
        closed = true;
        if (session) {
            session->close();
            if (driver) driver->kick(); // close_notify and the SCTP abort leave now
            collect();
        }
        // Sockets and protocol state go now, on the loop thread (usrsctp is single-threaded). Events already
        // collected are still delivered.
        listeners.clear();
        driver.reset();
        session.reset();
    }

    ~Impl() override {
        // Normally close() ran on the loop thread. If the last reference dies elsewhere, do it there now.
        if (!closed && loop) {
            if (loop->in_loop_thread()) close();
            else loop->run_sync([this] { close(); });
        }
    }
};

Result<std::unique_ptr<PeerConnection>> PeerConnection::create(const Configuration& config) {
    auto loop = runtime::shared_event_loop();
    if (!loop) return loop.error();
    auto session = Session::create(config);
    if (!session) return session.error();

    std::vector<runtime::UdpSocket> sockets;
    auto bind_one = [&](const IpAddr& ip) -> Result<void> {
        Result<runtime::UdpSocket> s = (config.port_range_begin && config.port_range_end)
                                           ? runtime::UdpSocket::bind_in_range(ip, config.port_range_begin,
                                                                               config.port_range_end)
                                           : runtime::UdpSocket::bind(SocketAddr(ip, 0));
        if (!s) return s.error();
        sockets.push_back(std::move(s.value()));
        return {};
    };
    if (config.bind_address && !config.bind_address->is_unspecified()) {
        if (auto r = bind_one(*config.bind_address); !r) return r.error();
    } else {
        auto ifs = runtime::list_interfaces(config.include_loopback);
        if (!ifs) return ifs.error();
        for (const auto& i : *ifs) {
            if (config.bind_address && config.bind_address->family() != i.address.family()) continue;
            (void)bind_one(i.address); // an address that cannot be bound is skipped, as browsers do
        }
    }
    if (sockets.empty())
        return make_error(ErrorCategory::NetworkError, "pc",
                          "no usable local address to bind (set include_loopback for loopback-only hosts)");

    auto impl = std::make_shared<Impl>();
    impl->loop = std::move(loop.value());
    impl->session = std::move(session.value());
    Result<void> setup;
    impl->loop->run_sync([&] {
        impl->driver = std::make_unique<runtime::Driver>(*impl->loop, *impl);
        for (auto& s : sockets) {
            const SocketAddr local = s.local_address();
            impl->addresses.push_back(local);
            impl->session->add_local_address(local);
            auto r = impl->driver->add_socket(std::move(s));
            if (!r) setup = r;
            if (!config.ice_tcp) continue;
            std::weak_ptr<Impl> weak = impl;
            std::shared_ptr<SocketAddr> where = std::make_shared<SocketAddr>();
            auto l = runtime::TcpListener::listen(*impl->loop, SocketAddr(local.ip(), 0),
                                                  [weak, where](int fd, const SocketAddr& remote) {
                                                      auto self = weak.lock();
                                                      if (!self) {
                                                          ::close(fd);
                                                          return;
                                                      }
                                                      self->on_accepted(fd, *where, remote);
                                                  });
            if (!l) {
                RTCPP_LOG(LogLevel::Warning, "pc", "no ICE-TCP listener on " << local.ip().to_string() << ": "
                                                                             << l.error().to_string());
                continue;
            }
            *where = l.value()->local_address();
            impl->session->add_local_tcp_listener(*where);
            impl->listeners.push_back(std::move(l.value()));
        }
    });
    if (!setup) return setup.error();
    return std::unique_ptr<PeerConnection>(new PeerConnection(std::move(impl)));
}

PeerConnection::PeerConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

PeerConnection::~PeerConnection() {
    auto impl = impl_;
    impl->call_void([&] { impl->close(); });
}

#define RTCPP_PC_SESSION_OR_FAIL(impl)                                                                     \
    if (!(impl)->session) return make_error(ErrorCategory::InvalidStateError, "pc", "the connection is closed")

Result<SessionDescription> PeerConnection::create_offer() {
    return impl_->call([&]() -> Result<SessionDescription> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->create_offer();
        impl_->after_command();
        return r;
    });
}

Result<SessionDescription> PeerConnection::create_answer() {
    return impl_->call([&]() -> Result<SessionDescription> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->create_answer();
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::set_local_description(const SessionDescription& d) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->set_local_description(d);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::set_remote_description(const SessionDescription& d) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->set_remote_description(d);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::add_ice_candidate(const IceCandidate& c) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->add_ice_candidate(c);
        impl_->after_command();
        return r;
    });
}

std::optional<SessionDescription> PeerConnection::local_description() const {
    return impl_->call([&]() -> std::optional<SessionDescription> {
        if (!impl_->session) return std::nullopt;
        return impl_->session->local_description();
    });
}

void PeerConnection::restart_ice() {
    impl_->call_void([&] {
        if (!impl_->session) return;
        impl_->session->restart_ice();
        impl_->after_command();
    });
}

Result<std::shared_ptr<DataChannel>> PeerConnection::create_data_channel(std::string_view label,
                                                                         const DataChannelInit& init) {
    return impl_->call([&]() -> Result<std::shared_ptr<DataChannel>> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto id = impl_->session->create_data_channel(label, init);
        if (!id) return id.error();
        auto handle = std::make_shared<DataChannel>(impl_->channel_impl(*id));
        impl_->after_command();
        return handle;
    });
}

void PeerConnection::close() {
    impl_->call_void([&] { impl_->close(); });
}

SignalingState PeerConnection::signaling_state() const {
    return impl_->call([&] { return impl_->session ? impl_->session->signaling_state() : SignalingState::Closed; });
}
IceGatheringState PeerConnection::ice_gathering_state() const {
    return impl_->call([&] { return impl_->session ? impl_->session->ice_gathering_state() : IceGatheringState::Complete; });
}
IceConnectionState PeerConnection::ice_connection_state() const {
    return impl_->call([&] { return impl_->session ? impl_->session->ice_connection_state() : IceConnectionState::Closed; });
}
PeerConnectionState PeerConnection::connection_state() const {
    return impl_->call([&] { return impl_->session ? impl_->session->connection_state() : PeerConnectionState::Closed; });
}
SessionStats PeerConnection::stats() const {
    return impl_->call([&] { return impl_->session ? impl_->session->stats() : SessionStats{}; });
}
StatsReport PeerConnection::get_stats() const {
    return impl_->call([&] {
        const Timestamp now = runtime::monotonic_now();
        if (impl_->session) return impl_->session->get_stats(now);
        StatsReport empty;
        empty.timestamp = now;
        return empty;
    });
}
std::vector<SocketAddr> PeerConnection::local_addresses() const {
    return impl_->call([&] { return impl_->addresses; });
}

void PeerConnection::on_local_candidate(std::function<void(const IceCandidate&)> cb) {
    impl_->call_void([&] { impl_->on_local_candidate = std::move(cb); });
}
void PeerConnection::on_ice_gathering_state_change(std::function<void(IceGatheringState)> cb) {
    impl_->call_void([&] { impl_->on_gathering = std::move(cb); });
}
void PeerConnection::on_signaling_state_change(std::function<void(SignalingState)> cb) {
    impl_->call_void([&] { impl_->on_signaling = std::move(cb); });
}
void PeerConnection::on_ice_connection_state_change(std::function<void(IceConnectionState)> cb) {
    impl_->call_void([&] { impl_->on_ice = std::move(cb); });
}
void PeerConnection::on_connection_state_change(
    std::function<void(PeerConnectionState, const std::optional<Error>&)> cb) {
    impl_->call_void([&] { impl_->on_state = std::move(cb); });
}
void PeerConnection::on_data_channel(std::function<void(std::shared_ptr<DataChannel>)> cb) {
    impl_->call_void([&] { impl_->on_data_channel = std::move(cb); });
}
void PeerConnection::on_negotiation_needed(std::function<void()> cb) {
    impl_->call_void([&] { impl_->on_negotiation_needed = std::move(cb); });
}

Result<TransceiverId> PeerConnection::add_transceiver(MediaKind kind, const TransceiverInit& init) {
    return impl_->call([&]() -> Result<TransceiverId> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->add_transceiver(kind, init);
        impl_->after_command();
        return r;
    });
}

std::vector<TransceiverInfo> PeerConnection::transceivers() const {
    return impl_->call([&] { return impl_->session ? impl_->session->transceivers() : std::vector<TransceiverInfo>{}; });
}

Result<void> PeerConnection::set_transceiver_direction(TransceiverId id, RtpDirection direction) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->set_transceiver_direction(id, direction);
        impl_->after_command();
        return r;
    });
}

Result<TransceiverId> PeerConnection::add_track(const MediaTrack& track, const std::string& stream_id) {
    return impl_->call([&]() -> Result<TransceiverId> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->add_track(track, stream_id);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::replace_track(TransceiverId id, const std::optional<MediaTrack>& track) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->replace_track(id, track);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::send_frame(TransceiverId id, std::span<const uint8_t> frame, uint32_t rtp_timestamp) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->send_frame(id, frame, rtp_timestamp);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::send_frame(TransceiverId id, std::string_view rid, std::span<const uint8_t> frame,
                                        uint32_t rtp_timestamp) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->send_frame(id, rid, frame, rtp_timestamp);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::set_send_encoding(TransceiverId id, const SendEncodingParameters& params) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->set_send_encoding(id, params);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::send_rtp(TransceiverId id, std::span<const uint8_t> packet) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->send_rtp(id, packet);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::send_rtcp(std::span<const uint8_t> packet) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->send_rtcp(packet);
        impl_->after_command();
        return r;
    });
}

Result<void> PeerConnection::request_keyframe(TransceiverId id) {
    return impl_->call([&]() -> Result<void> {
        RTCPP_PC_SESSION_OR_FAIL(impl_);
        auto r = impl_->session->request_keyframe(id);
        impl_->after_command();
        return r;
    });
}

std::vector<RtpStats> PeerConnection::rtp_stats() const {
    return impl_->call([&] { return impl_->session ? impl_->session->rtp_stats() : std::vector<RtpStats>{}; });
}

void PeerConnection::on_track(std::function<void(const TransceiverInfo&)> cb) {
    impl_->call_void([&] { impl_->on_track = std::move(cb); });
}
void PeerConnection::on_frame(std::function<void(const event::MediaFrame&)> cb) {
    impl_->call_void([&] { impl_->on_frame = std::move(cb); });
}
void PeerConnection::on_keyframe_request(std::function<void(TransceiverId)> cb) {
    impl_->call_void([&] { impl_->on_keyframe_request = std::move(cb); });
}
void PeerConnection::on_bitrate_allocation(std::function<void(const event::TargetBitrate&)> cb) {
    impl_->call_void([&] { impl_->on_bitrate_allocation = std::move(cb); });
}

void PeerConnection::on_layer_keyframe_request(std::function<void(TransceiverId, const std::string&)> cb) {
    impl_->call_void([&] { impl_->on_layer_keyframe_request = std::move(cb); });
}

void PeerConnection::on_target_bitrate(std::function<void(DataRate)> cb) {
    impl_->call_void([&] { impl_->on_target_bitrate = std::move(cb); });
}
void PeerConnection::on_rtp(std::function<void(TransceiverId, std::span<const uint8_t>)> cb) {
    impl_->call_void([&] { impl_->on_rtp = std::move(cb); });
}
void PeerConnection::on_rtcp(std::function<void(std::span<const uint8_t>)> cb) {
    impl_->call_void([&] { impl_->on_rtcp = std::move(cb); });
}

void PeerConnection::use_event_queue() {
    impl_->call_void([&] { impl_->queue_mode = true; });
}

std::optional<PeerConnection::Event> PeerConnection::next_event(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->queue_mutex);
    if (!impl_->queue_cv.wait_for(lock, timeout, [&] { return !impl_->queue.empty(); })) return std::nullopt;
    Event e = std::move(impl_->queue.front());
    impl_->queue.pop_front();
    return e;
}

std::shared_ptr<DataChannel> PeerConnection::channel(ChannelId id) const {
    return impl_->call([&] { return std::make_shared<DataChannel>(impl_->channel_impl(id)); });
}

// ---- DataChannel ----

DataChannel::DataChannel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
DataChannel::~DataChannel() = default;

namespace {
template <class R, class F>
R with_pc(const std::shared_ptr<DataChannel::Impl>& c, R fallback, F&& f) {
    auto pc = c->pc.lock();
    if (!pc) return fallback;
    return pc->call([&]() -> R {
        if (!pc->session) return fallback;
        return f(*pc);
    });
}
} // namespace

std::string DataChannel::label() const {
    return with_pc<std::string>(impl_, "", [&](PeerConnection::Impl& pc) {
        auto i = pc.session->channel_info(impl_->id);
        return i ? i->label : std::string();
    });
}
std::string DataChannel::protocol() const {
    return with_pc<std::string>(impl_, "", [&](PeerConnection::Impl& pc) {
        auto i = pc.session->channel_info(impl_->id);
        return i ? i->init.protocol : std::string();
    });
}
std::optional<uint16_t> DataChannel::id() const {
    return with_pc<std::optional<uint16_t>>(impl_, std::nullopt, [&](PeerConnection::Impl& pc) {
        auto i = pc.session->channel_info(impl_->id);
        return i ? i->stream_id : std::nullopt;
    });
}
DataChannelState DataChannel::state() const {
    return with_pc<DataChannelState>(impl_, DataChannelState::Closed, [&](PeerConnection::Impl& pc) {
        auto i = pc.session->channel_info(impl_->id);
        return i ? i->state : DataChannelState::Closed;
    });
}
Result<void> DataChannel::send(std::span<const uint8_t> data) {
    return with_pc<Result<void>>(impl_, make_error(ErrorCategory::InvalidStateError, "pc", "the connection is closed"),
                                 [&](PeerConnection::Impl& pc) {
                                     auto r = pc.session->send(impl_->id, data);
                                     pc.after_command();
                                     return r;
                                 });
}
Result<void> DataChannel::send(std::string_view text) {
    return with_pc<Result<void>>(impl_, make_error(ErrorCategory::InvalidStateError, "pc", "the connection is closed"),
                                 [&](PeerConnection::Impl& pc) {
                                     auto r = pc.session->send_text(impl_->id, text);
                                     pc.after_command();
                                     return r;
                                 });
}
void DataChannel::close() {
    with_pc<int>(impl_, 0, [&](PeerConnection::Impl& pc) {
        (void)pc.session->close_channel(impl_->id);
        pc.after_command();
        return 0;
    });
}
size_t DataChannel::buffered_amount() const {
    return with_pc<size_t>(impl_, 0, [&](PeerConnection::Impl& pc) { return pc.session->buffered_amount(impl_->id); });
}
void DataChannel::set_buffered_amount_low_threshold(size_t bytes) {
    with_pc<int>(impl_, 0, [&](PeerConnection::Impl& pc) {
        pc.session->set_buffered_amount_low_threshold(impl_->id, bytes);
        return 0;
    });
}
uint64_t DataChannel::max_message_size() const {
    return with_pc<uint64_t>(impl_, 0, [&](PeerConnection::Impl& pc) { return pc.session->max_message_size(); });
}

namespace {
template <class F>
void set_on_loop(const std::shared_ptr<DataChannel::Impl>& c, F&& f) {
    auto pc = c->pc.lock();
    if (!pc) {
        f();
        return;
    }
    pc->call_void(f);
}
} // namespace

void DataChannel::on_open(std::function<void()> cb) {
    set_on_loop(impl_, [&] { impl_->on_open = std::move(cb); });
}
void DataChannel::on_message(std::function<void(std::span<const uint8_t>, bool)> cb) {
    set_on_loop(impl_, [&] { impl_->on_message = std::move(cb); });
}
void DataChannel::on_close(std::function<void(const std::string&)> cb) {
    set_on_loop(impl_, [&] { impl_->on_close = std::move(cb); });
}
void DataChannel::on_buffered_amount_low(std::function<void()> cb) {
    set_on_loop(impl_, [&] { impl_->on_buffered_amount_low = std::move(cb); });
}

} // namespace rtcpp
