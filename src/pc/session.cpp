// The sans-IO Session: JSEP state (sdp::Negotiator) + ICE (ice::Agent) + DTLS (dtls::DtlsTransport) + SCTP data
// channels (sctp::SctpAssociation), composed. Datagrams flow
//   in:  handle_datagram -> ICE (STUN consumed) -> RFC 7983 demux -> DTLS -> SCTP -> channel events
//   out: SCTP packets -> DTLS records -> ICE (selected pair) -> Transmit
// TURN: each turn:/turns: server gets a TurnClient whose relayed address is an ICE "local socket" (the agent's relay
// hook): agent transmits from that address go through the client, and what the client unwraps re-enters as if it
// had arrived on that address.
// ICE-TCP (RFC 6544): every TCP pair has its own stream (StreamConnect from an active candidate, or a connection the
// owner accepted on a listener); the session frames what it sends (RFC 4571) and deframes what comes, so the agent,
// DTLS and SCTP see whole messages as over UDP.
// process() moves data between the layers until none of them has anything left to give.
#include <rtcpp/session.hpp>

#include "dtls/demux.hpp"
#include "dtls/dtls_transport.hpp"
#include "dtls/srtp_session.hpp"
#include "pc/media_engine.hpp"
#include "pc/transport_stats.hpp"
#include "rtp/rtp_packet.hpp"
#include "ice/agent.hpp"
#include "sctp/sctp_association.hpp"
#include "sdp/negotiator.hpp"
#include "stun/turn_client.hpp"

#include "core/byte_reader.hpp"
#include "core/ring_queue.hpp"

#include <rtcpp/log.hpp>
#include <rtcpp/random.hpp>

#include <algorithm>
#include <deque>
#include <map>

namespace rtcpp {

std::string_view to_string(SignalingState s) {
    switch (s) {
    case SignalingState::Stable: return "stable";
    case SignalingState::HaveLocalOffer: return "have-local-offer";
    case SignalingState::HaveRemoteOffer: return "have-remote-offer";
    case SignalingState::HaveLocalPranswer: return "have-local-pranswer";
    case SignalingState::HaveRemotePranswer: return "have-remote-pranswer";
    case SignalingState::Closed: return "closed";
    }
    return "?";
}
std::string_view to_string(IceGatheringState s) {
    switch (s) {
    case IceGatheringState::New: return "new";
    case IceGatheringState::Gathering: return "gathering";
    case IceGatheringState::Complete: return "complete";
    }
    return "?";
}
std::string_view to_string(IceConnectionState s) {
    switch (s) {
    case IceConnectionState::New: return "new";
    case IceConnectionState::Checking: return "checking";
    case IceConnectionState::Connected: return "connected";
    case IceConnectionState::Completed: return "completed";
    case IceConnectionState::Disconnected: return "disconnected";
    case IceConnectionState::Failed: return "failed";
    case IceConnectionState::Closed: return "closed";
    }
    return "?";
}
std::string_view to_string(PeerConnectionState s) {
    switch (s) {
    case PeerConnectionState::New: return "new";
    case PeerConnectionState::Connecting: return "connecting";
    case PeerConnectionState::Connected: return "connected";
    case PeerConnectionState::Disconnected: return "disconnected";
    case PeerConnectionState::Failed: return "failed";
    case PeerConnectionState::Closed: return "closed";
    }
    return "?";
}
std::string_view to_string(DataChannelState s) {
    switch (s) {
    case DataChannelState::Connecting: return "connecting";
    case DataChannelState::Open: return "open";
    case DataChannelState::Closing: return "closing";
    case DataChannelState::Closed: return "closed";
    }
    return "?";
}

std::string_view to_string(MediaKind k) { return k == MediaKind::Audio ? "audio" : "video"; }
std::string_view to_string(RtpDirection d) {
    switch (d) {
    case RtpDirection::SendRecv: return "sendrecv";
    case RtpDirection::SendOnly: return "sendonly";
    case RtpDirection::RecvOnly: return "recvonly";
    case RtpDirection::Inactive: return "inactive";
    }
    return "?";
}

namespace {

sdp::Direction to_sdp(RtpDirection d) {
    switch (d) {
    case RtpDirection::SendRecv: return sdp::Direction::SendRecv;
    case RtpDirection::SendOnly: return sdp::Direction::SendOnly;
    case RtpDirection::RecvOnly: return sdp::Direction::RecvOnly;
    case RtpDirection::Inactive: return sdp::Direction::Inactive;
    }
    return sdp::Direction::SendRecv;
}
RtpDirection from_sdp(sdp::Direction d) {
    switch (d) {
    case sdp::Direction::SendRecv: return RtpDirection::SendRecv;
    case sdp::Direction::SendOnly: return RtpDirection::SendOnly;
    case sdp::Direction::RecvOnly: return RtpDirection::RecvOnly;
    case sdp::Direction::Inactive: return RtpDirection::Inactive;
    }
    return RtpDirection::SendRecv;
}

Error state_error(std::string message) {
    return make_error(ErrorCategory::InvalidStateError, "pc", std::move(message));
}

IceConnectionState from_ice(ice::ConnectionState s) {
    switch (s) {
    case ice::ConnectionState::New: return IceConnectionState::New;
    case ice::ConnectionState::Checking: return IceConnectionState::Checking;
    case ice::ConnectionState::Connected: return IceConnectionState::Connected;
    case ice::ConnectionState::Completed: return IceConnectionState::Completed;
    case ice::ConnectionState::Disconnected: return IceConnectionState::Disconnected;
    case ice::ConnectionState::Failed: return IceConnectionState::Failed;
    case ice::ConnectionState::Closed: return IceConnectionState::Closed;
    }
    return IceConnectionState::New;
}

DataChannelState from_sctp(sctp::ChannelState s) {
    switch (s) {
    case sctp::ChannelState::Connecting: return DataChannelState::Connecting;
    case sctp::ChannelState::Open: return DataChannelState::Open;
    case sctp::ChannelState::Closing: return DataChannelState::Closing;
    case sctp::ChannelState::Closed: return DataChannelState::Closed;
    }
    return DataChannelState::Closed;
}

} // namespace

struct Session::Impl {
    struct Channel {
        ChannelInfo info;
        bool open_requested = false; // handed to SCTP
        // W3C data-channel and peer-connection stats.
        bool was_open = false;
        uint32_t messages_sent = 0, messages_received = 0;
        uint64_t bytes_sent = 0, bytes_received = 0;
    };

    Configuration config;
    Random random;
    Certificate certificate;
    ice::Credentials credentials;
    std::vector<SocketAddr> local_addresses;
    std::vector<SocketAddr> stun_servers;
    std::vector<IceServerUrl> turn_servers;

    struct Relay {
        IceServerUrl server;
        std::unique_ptr<stun::TurnClient> client;
        SocketAddr local;     // UDP: the host socket that talks to the server
        std::optional<StreamId> stream; // TCP/TLS: the owner's connection to the server
        bool settled = false; // allocated or failed: gathering no longer waits for it
        std::optional<SocketAddr> relayed;
        std::vector<IpAddr> permitted;
    };
    std::vector<Relay> relays;

    std::unique_ptr<sdp::Negotiator> negotiator;
    std::optional<sdp::Description> created_offer;     // from create_offer, not yet applied
    std::optional<sdp::Answer> created_answer;         // from create_answer, not yet applied
    std::optional<sdp::Description> pending_remote_offer;
    std::optional<sdp::Description> local_desc;
    std::optional<sdp::Description> remote_desc;
    SdpType local_type = SdpType::Offer;
    SdpType remote_type = SdpType::Offer;
    std::optional<sdp::Negotiated> negotiated;
    SignalingState signaling = SignalingState::Stable;
    bool restart_wanted = false;

    std::unique_ptr<ice::Agent> agent;
    std::vector<ice::Candidate> local_candidates;
    IceGatheringState gathering = IceGatheringState::New;
    IceConnectionState ice_state = IceConnectionState::New;

    std::optional<dtls::DtlsTransport> dtls;
    std::optional<dtls::SrtpSession> srtp;
    std::unique_ptr<pc::MediaEngine> media;
    std::string cname;
    std::vector<uint8_t> media_buffer; // SRTP works in place: received and sent packets are copied here
    /// Tracks attached by add_track / replace_track (nullopt: detached); absent: the transceiver's unnamed source.
    std::map<TransceiverId, std::optional<MediaTrack>> tracks;
    bool dtls_started = false;
    bool dtls_connected = false;
    bool dtls_failed = false;
    std::optional<Error> failure;
    std::string dtls_cipher;            // OpenSSL's name, for W3C transport stats
    uint32_t selected_pair_changes = 0; // W3C transport stats

    std::unique_ptr<sctp::SctpAssociation> sctp;
    bool sctp_up = false;
    std::map<ChannelId, Channel> channels;
    std::map<uint16_t, ChannelId> by_stream;
    ChannelId next_channel = 1;

    PeerConnectionState pc_state = PeerConnectionState::New;
    bool closed = false;
    Timestamp now = Timestamp::zero();
    std::vector<Error> relay_errors;
    std::deque<StreamCommand> stream_commands;
    StreamId next_stream = 1;

    // ICE-TCP connections, one per TCP pair.
    struct IceStream {
        SocketAddr local;  // the candidate: the listener (accepted) or ip:9 (active)
        SocketAddr remote;
        bool accepted = false;
        bool connected = false;
        bool authenticated = false; // an authenticated STUN message came over it
        std::vector<uint8_t> out;   // framed bytes waiting for the connection
        std::vector<uint8_t> in;    // an incomplete frame
    };
    static constexpr size_t kMaxIceStreams = 32;
    static constexpr size_t kMaxPendingOut = 256 * 1024;
    std::vector<SocketAddr> tcp_listeners;
    std::map<StreamId, IceStream> ice_streams;

    IceStream* ice_stream(StreamId id) {
        auto it = ice_streams.find(id);
        return it == ice_streams.end() ? nullptr : &it->second;
    }

    void close_ice_stream(StreamId id, bool tell_agent) {
        auto it = ice_streams.find(id);
        if (it == ice_streams.end()) return;
        const SocketAddr local = it->second.local, remote = it->second.remote;
        ice_streams.erase(it);
        stream_commands.push_back(StreamClose{id});
        if (tell_agent && agent) agent->handle_tcp_closed(now, local, remote);
    }

    /// An agent Transmit over TCP: framed onto the pair's stream, which an active candidate opens on first use.
    void send_ice_tcp(const SocketAddr& local, const SocketAddr& remote, ByteView bytes) {
        if (bytes.size() > 0xFFFF) return;
        std::optional<StreamId> id;
        for (auto& [sid, st] : ice_streams)
            if (st.local == local && st.remote == remote) id = sid;
        if (!id) {
            const bool listener = std::find(tcp_listeners.begin(), tcp_listeners.end(), local) != tcp_listeners.end();
            if (listener || ice_streams.size() >= kMaxIceStreams) return; // passive: no connection from that peer
            id = next_stream++;
            IceStream st;
            st.local = local;
            st.remote = remote;
            ice_streams[*id] = std::move(st);
            stream_commands.push_back(StreamConnect{*id, remote, local.ip()});
        }
        IceStream& st = ice_streams[*id];
        std::vector<uint8_t> frame;
        frame.reserve(bytes.size() + 2);
        frame.push_back(static_cast<uint8_t>(bytes.size() >> 8));
        frame.push_back(static_cast<uint8_t>(bytes.size() & 0xFF));
        frame.insert(frame.end(), bytes.begin(), bytes.end());
        ++stats.datagrams_sent;
        stats.bytes_sent += frame.size();
        if (st.connected) {
            stream_commands.push_back(StreamSend{*id, std::move(frame)});
        } else if (st.out.size() + frame.size() <= kMaxPendingOut) {
            st.out.insert(st.out.end(), frame.begin(), frame.end());
        }
    }

    /// Bytes from an ICE-TCP stream: whole RFC 4571 frames go to ICE and on; a partial one waits (at most 65537 bytes
    /// are ever kept, since a length cannot say more than 65535).
    void on_ice_stream_data(StreamId id, ByteView bytes) {
        IceStream* st = ice_stream(id);
        if (!st) return;
        st->in.insert(st->in.end(), bytes.begin(), bytes.end());
        size_t consumed = 0;
        while (true) {
            st = ice_stream(id);
            if (!st) return; // closed as garbage while delivering
            ByteReader r(ByteView(st->in).subspan(consumed));
            const auto len = r.read_u16();
            if (!len) break;
            const auto body = r.read_bytes(*len);
            if (!body) break;
            consumed += 2 + *len;
            const std::vector<uint8_t> message(body->begin(), body->end());
            on_ice_frame(id, message);
        }
        if ((st = ice_stream(id))) st->in.erase(st->in.begin(), st->in.begin() + static_cast<std::ptrdiff_t>(consumed));
    }

    void on_ice_frame(StreamId id, ByteView message) {
        IceStream& st = *ice_stream(id);
        ++stats.datagrams_received;
        stats.bytes_received += message.size() + 2;
        const bool was_authenticated = st.authenticated;
        // An indication needs no credentials: it proves nothing about the connection.
        const bool indication = message.size() >= 2 && (message[0] & 0x01) == 0 && (message[1] & 0x10) != 0;
        const SocketAddr local = st.local, remote = st.remote;
        const ice::Input in = on_ice_datagram(local, remote, message, ice::Transport::Tcp);
        IceStream* s2 = ice_stream(id);
        if (!s2) return;
        if (in == ice::Input::Stun && !indication) s2->authenticated = true;
        // A connection to our listener must start with an authenticated check; anything else is not an ICE peer.
        if (s2->accepted && !was_authenticated && !s2->authenticated) {
            ++stats.tcp_streams_refused;
            RTCPP_LOG(LogLevel::Debug, "pc", "ICE-TCP connection from " << remote.to_string() << " closed: no check");
            close_ice_stream(id, false);
        }
    }

    size_t unauthenticated_accepted() const {
        size_t n = 0;
        for (const auto& [id, st] : ice_streams) n += st.accepted && !st.authenticated ? 1 : 0;
        return n;
    }

    Relay* relay_by_stream(StreamId id) {
        for (auto& r : relays)
            if (r.stream == id) return &r;
        return nullptr;
    }

    RingQueue<Transmit> transmits; // a ring: steady media traffic does not allocate queue blocks
    std::deque<SessionEvent> events;
    SessionStats stats;

    explicit Impl(const Configuration& c, Certificate cert)
        : config(c), random(c.random_seed ? Random(*c.random_seed) : Random::from_entropy()),
          certificate(std::move(cert)) {
        credentials.ufrag = random.ice_chars(8);
        credentials.pwd = random.ice_chars(24);
        for (const auto& server : config.ice_servers) {
            for (const auto& url : server.urls) {
                auto parsed = parse_ice_server_url(url, server.username, server.credential);
                if (!parsed) continue;
                if (parsed->scheme == IceServerScheme::Stun) {
                    stun_servers.push_back(parsed->address);
                } else {
                    turn_servers.push_back(*parsed);
                    // A TURN server answers Binding requests too: it gives the server-reflexive candidate (as
                    // browsers gather it), which a relay-only policy drops.
                    if (parsed->transport == IceServerTransport::Udp &&
                        std::find(stun_servers.begin(), stun_servers.end(), parsed->address) == stun_servers.end())
                        stun_servers.push_back(parsed->address);
                }
            }
        }
        cname = random.ice_chars(16);
        media = std::make_unique<pc::MediaEngine>(random, events, config.raw_rtp_events, config.video_fec);
        sdp::NegotiatorConfig nc = sdp::default_config();
        nc.max_message_size = config.max_message_size;
        nc.offer_ccfb = config.offer_rfc8888_feedback;
        negotiator = std::make_unique<sdp::Negotiator>(random, local_transport(), nc);
    }

    sdp::LocalTransport local_transport() const {
        sdp::LocalTransport t;
        t.ice_ufrag = credentials.ufrag;
        t.ice_pwd = credentials.pwd;
        if (auto fp = sdp::parse_fingerprint(certificate.fingerprint().to_string())) t.fingerprints.push_back(*fp);
        for (const auto& c : local_candidates) {
            if (auto sc = sdp::parse_candidate(c.to_sdp())) t.candidates.push_back(*sc);
        }
        t.end_of_candidates = gathering == IceGatheringState::Complete;
        return t;
    }

    std::string first_mid() const {
        const sdp::Description* d = local_desc ? &*local_desc : (created_offer ? &*created_offer : nullptr);
        if (d) {
            for (const auto& m : d->media)
                if (m.mid && !m.rejected()) return *m.mid;
        }
        return "0";
    }

    void emit(SessionEvent e) { events.push_back(std::move(e)); }

    void set_signaling(SignalingState s) {
        if (s == signaling) return;
        signaling = s;
        emit(event::SignalingStateChange{s});
    }

    void ensure_agent(ice::Role role) {
        if (agent && agent->role() == role) return;
        if (agent && (agent->state() != ice::ConnectionState::New || negotiated)) return; // too late to change
        ice::AgentConfig ac;
        ac.role = role;
        ac.policy = config.ice_transport_policy == IceTransportPolicy::Relay ? ice::TransportPolicy::Relay
                                                                              : ice::TransportPolicy::All;
        ac.include_loopback = config.include_loopback;
        ac.stun_servers = stun_servers;
        ac.local_credentials = credentials;
        agent = std::make_unique<ice::Agent>(ac, random);
        local_candidates.clear();
        for (const auto& a : local_addresses) agent->add_host_address(a);
        for (const auto& l : tcp_listeners) agent->add_host_tcp_listener(l);
        // Relays first: gathering must not be reported complete before the allocations are done.
        start_relays();
        update_relay_hold();
        for (const auto& r : relays)
            if (r.relayed) agent->add_relay_candidate(now, *r.relayed, *r.client->mapped_address(), r.server.address);
        agent->start_gathering(now);
        process();
    }

    // ---- TURN ----
    std::optional<SocketAddr> local_for(const SocketAddr& server) const {
        std::optional<SocketAddr> fallback;
        for (const auto& a : local_addresses) {
            if (a.ip().family() != server.ip().family()) continue;
            if (a.ip().is_loopback() == server.ip().is_loopback()) return a;
            if (!fallback) fallback = a;
        }
        return fallback;
    }

    void start_relays() {
        if (!relays.empty() || turn_servers.empty()) return;
        for (const auto& url : turn_servers) {
            auto local = local_for(url.address);
            if (!local) {
                RTCPP_LOG(LogLevel::Warning, "pc", "no local address of the family of TURN server "
                                                       << url.address.to_string());
                continue;
            }
            stun::TurnClientConfig tc;
            tc.server = url.address;
            tc.transport = url.transport == IceServerTransport::Udp   ? stun::TurnTransport::Udp
                           : url.transport == IceServerTransport::Tcp ? stun::TurnTransport::Tcp
                                                                      : stun::TurnTransport::Tls;
            tc.username = url.username;
            tc.password = url.credential;
            tc.relay_family = url.address.ip().family();
            Relay r;
            r.server = url;
            r.local = *local;
            r.client = std::make_unique<stun::TurnClient>(tc, random);
            if (tc.transport == stun::TurnTransport::Udp) {
                if (auto a = r.client->allocate(now); !a) {
                    RTCPP_LOG(LogLevel::Warning, "pc", "TURN allocation not started: " << a.error().to_string());
                    continue;
                }
            } else {
                // The allocation starts once the owner has connected the stream (handle_stream_connected).
                r.stream = next_stream++;
                stream_commands.push_back(StreamConnect{*r.stream, url.address, local->ip()});
            }
            relays.push_back(std::move(r));
        }
    }

    void update_relay_hold() {
        if (!agent) return;
        bool pending = false;
        for (const auto& r : relays) pending |= !r.settled;
        agent->hold_gathering(pending);
    }

    /// Installs a permission for every remote candidate's IP on every relay, so the peer's first checks through its
    /// own relay are not dropped by ours while our check to it is still on the way (saves an RTO at setup).
    void permit_remote_candidates() {
        if (!agent || relays.empty()) return;
        const auto remotes = agent->remote_candidates();
        for (auto& r : relays) {
            if (!r.relayed || r.client->state() != stun::TurnState::Allocated) continue;
            for (const auto& c : remotes) {
                const IpAddr ip = c.address.ip();
                if (ip.family() != r.relayed->ip().family() || ip.is_unspecified()) continue;
                if (std::find(r.permitted.begin(), r.permitted.end(), ip) != r.permitted.end()) continue;
                r.permitted.push_back(ip);
                if (auto p = r.client->create_permission(now, ip); !p)
                    RTCPP_LOG(LogLevel::Debug, "pc", "TURN permission: " << p.error().to_string());
            }
        }
    }

    Relay* relay_by_relayed(const SocketAddr& relayed) {
        for (auto& r : relays)
            if (r.relayed && *r.relayed == relayed) return &r;
        return nullptr;
    }

    bool pump_relays() {
        bool did = false;
        for (auto& r : relays) {
            while (auto e = r.client->poll_event()) {
                did = true;
                if (auto* a = std::get_if<stun::TurnAllocated>(&*e)) {
                    r.relayed = a->relayed;
                    r.settled = true;
                    RTCPP_LOG(LogLevel::Info, "pc", "TURN relay " << a->relayed.to_string() << " on "
                                                                  << r.server.address.to_string());
                    if (agent) agent->add_relay_candidate(now, a->relayed, a->mapped, r.server.address);
                    update_relay_hold();
                    permit_remote_candidates();
                } else if (auto* d = std::get_if<stun::TurnPeerData>(&*e)) {
                    RTCPP_LOG(LogLevel::Trace, "pc", "relayed datagram " << d->peer.to_string() << " ("
                                                                         << d->bytes.size() << " bytes)");
                    if (r.relayed) on_ice_datagram(*r.relayed, d->peer, d->bytes);
                } else if (auto* f = std::get_if<stun::TurnFailed>(&*e)) {
                    RTCPP_LOG(LogLevel::Warning, "pc", "TURN server " << r.server.address.to_string() << ": "
                                                                      << f->error.to_string());
                    r.settled = true;
                    relay_errors.push_back(f->error);
                    if (r.stream) stream_commands.push_back(StreamClose{*r.stream});
                    update_relay_hold();
                } else if (auto* pf = std::get_if<stun::TurnPeerFailed>(&*e)) {
                    RTCPP_LOG(LogLevel::Debug, "pc", "TURN peer " << pf->peer.to_string() << ": "
                                                                 << pf->error.to_string());
                }
            }
            while (auto b = r.client->poll_transmit()) {
                did = true;
                RTCPP_LOG(LogLevel::Trace, "pc", "to TURN server " << r.server.address.to_string() << " ("
                                                                   << b->size() << " bytes)");
                ++stats.datagrams_sent;
                stats.bytes_sent += b->size();
                if (r.stream) stream_commands.push_back(StreamSend{*r.stream, std::move(*b)});
                else transmits.push_back(Transmit{r.local, r.server.address, std::move(*b)});
            }
        }
        return did;
    }

    void update_pc_state() {
        PeerConnectionState s;
        if (closed) s = PeerConnectionState::Closed;
        else if (ice_state == IceConnectionState::Failed || dtls_failed) s = PeerConnectionState::Failed;
        else if (ice_state == IceConnectionState::Disconnected) s = PeerConnectionState::Disconnected;
        else if ((ice_state == IceConnectionState::Connected || ice_state == IceConnectionState::Completed) &&
                 dtls_connected)
            s = PeerConnectionState::Connected;
        else if (ice_state == IceConnectionState::New && !dtls_started) s = PeerConnectionState::New;
        else s = PeerConnectionState::Connecting;
        if (s == pc_state) return;
        pc_state = s;
        std::optional<Error> why;
        if (s == PeerConnectionState::Failed) why = failure;
        emit(event::ConnectionStateChange{s, why});
    }

    void fail(Error e) {
        if (!failure) failure = std::move(e);
        dtls_failed = true;
        update_pc_state();
    }

    // Applies what an offer/answer exchange agreed on to the transports.
    Result<void> apply_negotiated() {
        const sdp::Negotiated& n = *negotiated;
        if (n.remote_ice_ufrag.empty() || n.remote_ice_pwd.empty())
            return make_error(ErrorCategory::InvalidAccessError, "pc", "the remote description has no ICE credentials");
        ensure_agent(n.remote_ice_lite ? ice::Role::Controlling : agent ? agent->role() : ice::Role::Controlled);
        agent->set_remote_credentials({n.remote_ice_ufrag, n.remote_ice_pwd});
        for (const auto& c : n.remote_candidates) {
            auto r = agent->add_remote_candidate(c.to_string());
            if (!r) RTCPP_LOG(LogLevel::Debug, "pc", "remote candidate ignored: " << r.error().to_string());
        }
        bool any_eoc = false;
        for (const auto& m : n.media) any_eoc |= m.remote_end_of_candidates && !m.rejected;
        if (any_eoc) agent->end_of_remote_candidates();
        permit_remote_candidates();

        std::vector<Fingerprint> fps;
        for (const auto& f : n.remote_fingerprints)
            if (auto fp = Fingerprint::parse(f.to_string())) fps.push_back(*fp);
        if (fps.empty())
            return make_error(ErrorCategory::InvalidAccessError, "pc", "the remote description has no usable fingerprint");
        if (!dtls) {
            dtls::DtlsConfig dc(certificate);
            dc.role = n.dtls_role == sdp::DtlsRole::Client ? dtls::Role::Client : dtls::Role::Server;
            dc.remote_fingerprints = fps;
            // RFC 9147 5.8.2's 100 ms rather than RFC 6347's 1 s: DTLS starts once ICE has proven the path, and
            // under loss every missed flight doubles the wait (30 % loss: half the handshakes took over 10 s).
            dc.initial_retransmit_timeout = TimeDelta::millis(100);
            auto t = dtls::DtlsTransport::create(std::move(dc));
            if (!t) return t.error();
            dtls.emplace(std::move(t.value()));
        } else if (!dtls_connected) {
            dtls->set_remote_fingerprints(fps);
        }
        media->configure(now, n, negotiator->transceivers(), cname);
        for (size_t index : media->take_newly_receiving()) emit(event::Track{transceiver_info(index)});
        update_pc_state();
        process();
        return {};
    }

    const sdp::NegotiatedMedia* data_media() const {
        if (!negotiated) return nullptr;
        for (const auto& m : negotiated->media)
            if (m.datachannel && !m.rejected) return &m;
        return nullptr;
    }

    void start_sctp() {
        const sdp::NegotiatedMedia* m = data_media();
        if (!m || sctp) return;
        sctp::SctpSettings s;
        s.dtls_client = dtls->role() == dtls::Role::Client;
        s.local_port = m->local_sctp_port ? m->local_sctp_port : 5000;
        s.remote_port = m->remote_sctp_port ? m->remote_sctp_port : 5000;
        s.local_max_message_size = config.max_message_size;
        s.remote_max_message_size = m->remote_max_message_size;
        auto a = sctp::SctpAssociation::create(s);
        if (!a) {
            fail(a.error());
            return;
        }
        sctp = std::move(a.value());
        auto r = sctp->connect(now);
        if (!r) fail(r.error());
    }

    void open_pending_channels() {
        if (!sctp) return;
        for (auto& [id, ch] : channels) {
            if (ch.open_requested || ch.info.created_by_remote || ch.info.state == DataChannelState::Closed) continue;
            sctp::ChannelOptions o;
            o.label = ch.info.label;
            o.protocol = ch.info.init.protocol;
            o.reliability.ordered = ch.info.init.ordered;
            o.reliability.max_retransmits = ch.info.init.max_retransmits;
            o.reliability.max_packet_life_time_ms = ch.info.init.max_packet_life_time_ms;
            o.negotiated = ch.info.init.negotiated;
            o.id = ch.info.init.id;
            auto sid = sctp->open_channel(o);
            ch.open_requested = true;
            if (!sid) {
                ch.info.state = DataChannelState::Closed;
                emit(event::ChannelClosed{id, sid.error().message});
                continue;
            }
            ch.info.stream_id = *sid;
            by_stream[*sid] = id;
        }
    }

    bool pump_agent() {
        if (!agent) return false;
        bool did = false;
        while (auto e = agent->poll_event()) {
            did = true;
            std::visit(
                [&](auto& ev) {
                    using T = std::decay_t<decltype(ev)>;
                    if constexpr (std::is_same_v<T, ice::CandidateGathered>) {
                        local_candidates.push_back(ev.candidate);
                        emit(event::LocalCandidate{IceCandidate{ev.candidate.to_sdp(), first_mid(), 0}});
                    } else if constexpr (std::is_same_v<T, ice::GatheringStateChanged>) {
                        IceGatheringState g = ev.state == ice::GatheringState::New ? IceGatheringState::New
                                              : ev.state == ice::GatheringState::Gathering ? IceGatheringState::Gathering
                                                                                            : IceGatheringState::Complete;
                        if (g != gathering) {
                            gathering = g;
                            emit(event::IceGatheringStateChange{g});
                        }
                    } else if constexpr (std::is_same_v<T, ice::ConnectionStateChanged>) {
                        const IceConnectionState s = from_ice(ev.state);
                        if (s != ice_state) {
                            ice_state = s;
                            emit(event::IceConnectionStateChange{s});
                            if (s == IceConnectionState::Failed && !failure) {
                                std::string why = "no candidate pair works (ICE failed)";
                                for (const auto& e : relay_errors) why += "; TURN: " + e.message;
                                failure = make_error(ErrorCategory::NetworkError, "ice", why);
                            }
                        }
                        if ((s == IceConnectionState::Connected || s == IceConnectionState::Completed) && dtls &&
                            !dtls_started && dtls->role() == dtls::Role::Client) {
                            dtls_started = true;
                            dtls->start(now);
                        }
                        update_pc_state();
                    } else if constexpr (std::is_same_v<T, ice::SelectedPairChanged>) {
                        ++selected_pair_changes;
                        stats.selected_local = ev.local.address;
                        stats.selected_remote = ev.remote.address;
                    }
                },
                *e);
        }
        while (auto t = agent->poll_transmit()) {
            did = true;
            if (t->transport == ice::Transport::Tcp) {
                send_ice_tcp(t->local, t->remote, t->bytes);
                give_back(std::move(t->bytes));
                continue;
            }
            if (Relay* r = relays.empty() ? nullptr : relay_by_relayed(t->local)) {
                RTCPP_LOG(LogLevel::Trace, "pc", "relay " << t->local.to_string() << " -> " << t->remote.to_string()
                                                          << " (" << t->bytes.size() << " bytes)");
                auto sent = r->client->send_to(now, t->remote, t->bytes);
                if (!sent) RTCPP_LOG(LogLevel::Debug, "pc", "TURN send failed: " << sent.error().to_string());
                give_back(std::move(t->bytes));
                continue;
            }
            RTCPP_LOG(LogLevel::Trace, "pc", "send " << t->local.to_string() << " -> " << t->remote.to_string() << " ("
                                                     << t->bytes.size() << " bytes)");
            ++stats.datagrams_sent;
            stats.bytes_sent += t->bytes.size();
            transmits.push_back(Transmit{t->local, t->remote, std::move(t->bytes)});
        }
        return did;
    }

    bool pump_dtls() {
        if (!dtls) return false;
        bool did = false;
        while (auto e = dtls->poll_event()) {
            did = true;
            if (auto* c = std::get_if<dtls::DtlsConnected>(&*e)) {
                dtls_cipher = c->cipher;
                if (c->srtp) {
                    auto srtp_session = dtls::SrtpSession::create(*c->srtp, dtls->role());
                    if (srtp_session) srtp.emplace(std::move(srtp_session.value()));
                    else RTCPP_LOG(LogLevel::Warning, "pc", "SRTP: " << srtp_session.error().to_string());
                }
                dtls_connected = true;
                update_pc_state();
                start_sctp();
            } else if (auto* d = std::get_if<dtls::DtlsApplicationData>(&*e)) {
                if (sctp) sctp->handle_packet(now, d->data);
            } else if (std::get_if<dtls::DtlsClosed>(&*e)) {
                close_all_channels("the peer closed the DTLS connection");
                dtls_connected = false;
                closed_by_peer();
            } else if (auto* f = std::get_if<dtls::DtlsFailed>(&*e)) {
                fail(f->error);
            }
        }
        while (auto d = dtls->poll_transmit()) {
            did = true;
            if (agent && !agent->send(*d)) ++stats.dtls_dropped;
        }
        return did;
    }

    void closed_by_peer() {
        if (closed) return;
        closed = true;
        if (agent) agent->close();
        update_pc_state();
    }

    void close_all_channels(const std::string& reason) {
        for (auto& [id, ch] : channels) {
            if (ch.info.state == DataChannelState::Closed) continue;
            ch.info.state = DataChannelState::Closed;
            emit(event::ChannelClosed{id, reason});
        }
    }

    bool pump_sctp() {
        if (!sctp) return false;
        bool did = false;
        while (true) {
            bool round = false;
            while (auto p = sctp->poll_transmit()) {
                round = true;
                if (dtls && dtls_connected) {
                    auto r = dtls->send(*p);
                    if (!r) RTCPP_LOG(LogLevel::Debug, "pc", "SCTP packet not sent: " << r.error().to_string());
                }
            }
            while (auto e = sctp->poll_event()) {
                round = true;
                handle_sctp_event(*e);
            }
            if (!round) break;
            did = true;
        }
        return did;
    }

    void handle_sctp_event(sctp::SctpEvent& e) {
        std::visit(
            [&](auto& ev) {
                using T = std::decay_t<decltype(ev)>;
                if constexpr (std::is_same_v<T, sctp::events::AssociationUp>) {
                    sctp_up = true;
                    open_pending_channels();
                } else if constexpr (std::is_same_v<T, sctp::events::AssociationClosed>) {
                    sctp_up = false;
                    close_all_channels(ev.reason.empty() ? "the SCTP association closed" : ev.reason);
                } else if constexpr (std::is_same_v<T, sctp::events::ChannelOpen>) {
                    const ChannelId id = next_channel++;
                    Channel ch;
                    ch.info.channel = id;
                    ch.info.label = ev.options.label;
                    ch.info.init.protocol = ev.options.protocol;
                    ch.info.init.ordered = ev.options.reliability.ordered;
                    ch.info.init.max_retransmits = ev.options.reliability.max_retransmits;
                    ch.info.init.max_packet_life_time_ms = ev.options.reliability.max_packet_life_time_ms;
                    ch.info.stream_id = ev.stream_id;
                    ch.info.state = DataChannelState::Open;
                    ch.info.created_by_remote = true;
                    ch.open_requested = true;
                    ch.was_open = true;
                    by_stream[ev.stream_id] = id;
                    channels[id] = ch;
                    emit(event::DataChannel{ch.info});
                } else if constexpr (std::is_same_v<T, sctp::events::ChannelOpened>) {
                    auto it = by_stream.find(ev.stream_id);
                    if (it == by_stream.end()) return;
                    channels[it->second].info.state = DataChannelState::Open;
                    channels[it->second].was_open = true;
                    emit(event::ChannelOpen{it->second});
                } else if constexpr (std::is_same_v<T, sctp::events::MessageReceived>) {
                    auto it = by_stream.find(ev.stream_id);
                    if (it == by_stream.end()) return;
                    ++stats.sctp_messages_received;
                    ++channels[it->second].messages_received;
                    channels[it->second].bytes_received += ev.data.size();
                    emit(event::ChannelMessage{it->second, ev.binary, std::move(ev.data)});
                } else if constexpr (std::is_same_v<T, sctp::events::ChannelClosed>) {
                    auto it = by_stream.find(ev.stream_id);
                    if (it == by_stream.end()) return;
                    Channel& ch = channels[it->second];
                    const ChannelId id = it->second;
                    by_stream.erase(it);
                    if (ch.info.state == DataChannelState::Closed) return;
                    ch.info.state = DataChannelState::Closed;
                    emit(event::ChannelClosed{id, ev.reason});
                } else if constexpr (std::is_same_v<T, sctp::events::BufferedAmountLow>) {
                    auto it = by_stream.find(ev.stream_id);
                    if (it != by_stream.end()) emit(event::BufferedAmountLow{it->second});
                }
            },
            e);
    }

    /// Moves data between the layers until none has anything left. Output ends up in transmits/events.
    void process() {
        for (int round = 0; round < 64; ++round) {
            bool did = false;
            did |= pump_sctp();
            did |= pump_dtls();
            did |= pump_agent();
            did |= pump_relays();
            did |= pump_media();
            if (!did) break;
        }
    }

    void on_datagram(const SocketAddr& local, const SocketAddr& remote, ByteView bytes) {
        ++stats.datagrams_received;
        RTCPP_LOG(LogLevel::Trace, "pc", "datagram " << remote.to_string() << " -> " << local.to_string() << " ("
                                                     << bytes.size() << " bytes)");
        stats.bytes_received += bytes.size();
        for (auto& r : relays) {
            if (!r.stream && r.local == local && r.server.address == remote && stun::TurnClient::claims(bytes)) {
                r.client->handle_datagram(now, bytes);
                return;
            }
        }
        on_ice_datagram(local, remote, bytes);
    }

    /// A datagram for ICE and what it demultiplexes to, arriving on a host socket, unwrapped by a TURN client, or
    /// deframed from an ICE-TCP stream.
    ice::Input on_ice_datagram(const SocketAddr& local, const SocketAddr& remote, ByteView bytes,
                               ice::Transport transport = ice::Transport::Udp) {
        if (!agent) {
            ++stats.stun_dropped;
            return ice::Input::Dropped;
        }
        const ice::Input in = agent->handle_datagram(now, local, remote, bytes, transport);
        if (in == ice::Input::Stun) return in;
        if (in == ice::Input::Dropped) {
            ++stats.stun_dropped;
            RTCPP_LOG(LogLevel::Debug, "pc", "STUN from " << remote.to_string() << " to " << local.to_string()
                                                          << " dropped by ICE (" << bytes.size() << " bytes)");
            return in;
        }
        if (bytes.empty()) {
            ++stats.datagrams_unknown;
            return in;
        }
        const uint8_t b = bytes[0];
        if (b >= 20 && b <= 63) {
            if (!dtls || !from_selected(remote, transport)) {
                ++stats.dtls_dropped;
                return in;
            }
            dtls_started = true; // a server starts with the client's first flight
            dtls->handle_datagram(now, bytes);
        } else if (b >= 128 && b <= 191) {
            on_srtp(remote, bytes);
        } else {
            ++stats.datagrams_unknown;
        }
        return in;
    }

    void on_srtp(const SocketAddr& remote, ByteView bytes) {
        if (!srtp || !from_selected(remote) || bytes.size() > 4096) {
            ++stats.media_dropped;
            return;
        }
        media_buffer.assign(bytes.begin(), bytes.end());
        const bool rtcp = rtp::looks_like_rtcp(bytes);
        const auto r = rtcp ? srtp->unprotect_rtcp(media_buffer, media_buffer.size())
                            : srtp->unprotect_rtp(media_buffer, media_buffer.size());
        if (!r.ok()) {
            ++stats.media_dropped; // replayed, forged or undecryptable: SrtpSession's stats say which
            return;
        }
        const ByteView plain(media_buffer.data(), r.size);
        if (rtcp) media->handle_rtcp(now, plain);
        else media->handle_rtp(now, plain);
    }

    bool pump_media() {
        bool did = false;
        while (auto p = media->poll_packet()) {
            did = true;
            if (!srtp || !dtls_connected || !agent) {
                ++stats.media_dropped;
                continue;
            }
            const size_t length = p->bytes.size();
            p->bytes.resize(length + dtls::kSrtpMaxTrailer); // room for the SRTP/SRTCP tag and index
            const auto r = p->rtcp ? srtp->protect_rtcp(p->bytes, length) : srtp->protect_rtp(p->bytes, length);
            if (!r.ok()) {
                ++stats.media_dropped;
                continue;
            }
            p->bytes.resize(r.size);
            // The buffer itself travels on to the owner (no copy); Session::recycle brings it back.
            if (!agent->send(std::move(p->bytes))) {
                ++stats.media_dropped;
                media->recycle(std::move(p->bytes));
            }
        }
        return did;
    }

    /// A sent datagram's buffer, for the next packet: media packets are built in them (MediaEngine::recycle), and
    /// what the media engine does not take (no room, or too small: an RTCP or STUN packet's) goes to the ICE
    /// agent, which copies DTLS records and data into them.
    void give_back(std::vector<uint8_t>&& bytes) {
        if (bytes.capacity() == 0) return;
        if (media && media->wants_buffer(bytes.capacity())) media->recycle(std::move(bytes));
        else if (agent) agent->recycle(std::move(bytes));
    }

    TransceiverInfo transceiver_info(size_t index) const {
        const auto& t = negotiator->transceivers().at(index);
        TransceiverInfo info;
        info.id = static_cast<TransceiverId>(index + 1);
        info.kind = t.init.kind == sdp::MediaKind::Audio ? MediaKind::Audio : MediaKind::Video;
        info.mid = t.mid;
        info.direction = from_sdp(t.init.direction);
        if (t.current_direction) info.current_direction = from_sdp(*t.current_direction);
        info.created_by_remote = t.created_by_remote;
        info.ssrc = t.ssrc;
        if (auto si = media->send_info(index)) {
            info.send_codec = si->codec;
            info.send_payload_type = si->payload_type;
            info.clock_rate = si->clock_rate;
            info.send_fmtp = si->fmtp;
            info.max_payload_size = si->max_payload_size;
        }
        info.send_rids = media->send_rids(index);
        if (negotiated) {
            for (const auto& m : negotiated->media)
                if (m.transceiver == index)
                    for (const auto& msid : m.remote_msids) info.remote_stream_ids.push_back(msid.stream_id);
        }
        if (auto it = tracks.find(info.id); it != tracks.end()) {
            info.has_source = it->second.has_value();
            if (it->second) info.track_id = it->second->id;
        }
        return info;
    }

    /// DTLS is accepted only from the peer ICE selected, or, before the selection reaches us, from a pair whose
    /// check succeeded: never from an address nobody authenticated.
    bool from_selected(const SocketAddr& remote, ice::Transport transport = ice::Transport::Udp) const {
        if (auto r = agent->selected_route()) {
            if (r->remote == remote && r->transport == transport) return true;
        }
        for (const auto& p : agent->pair_stats())
            if (p.state == ice::PairState::Succeeded && p.remote.address == remote && p.remote.transport == transport)
                return true;
        return false;
    }

    Timestamp next_timeout() const {
        if (!transmits.empty() || !events.empty() || !stream_commands.empty()) return now;
        Timestamp t = Timestamp::plus_infinity();
        if (agent) t = std::min(t, agent->poll_timeout());
        if (dtls) t = std::min(t, dtls->poll_timeout());
        if (sctp) t = std::min(t, sctp->poll_timeout());
        if (srtp) t = std::min(t, media->poll_timeout());
        for (const auto& r : relays) t = std::min(t, r.client->poll_timeout());
        return t;
    }

    std::optional<sdp::Description> with_candidates(const sdp::Description& d) const {
        sdp::Description out = d;
        const auto t = local_transport();
        for (auto& m : out.media) {
            if (m.rejected()) continue;
            m.transport.candidates = t.candidates;
            m.transport.end_of_candidates = t.end_of_candidates;
        }
        return out;
    }
};

Result<IceServerUrl> parse_ice_server_url(std::string_view url, std::string_view username, std::string_view credential) {
    auto bad = [&](const char* why) {
        return make_error(ErrorCategory::SyntaxError, "pc", "invalid ICE server URL '" + std::string(url) + "': " + why);
    };
    IceServerUrl out;
    std::string_view rest;
    if (url.starts_with("stun:")) {
        out.scheme = IceServerScheme::Stun;
        rest = url.substr(5);
    } else if (url.starts_with("turn:")) {
        out.scheme = IceServerScheme::Turn;
        rest = url.substr(5);
    } else if (url.starts_with("turns:")) {
        out.scheme = IceServerScheme::Turns;
        out.transport = IceServerTransport::Tls;
        rest = url.substr(6);
    } else {
        return bad("the scheme must be stun:, turn: or turns:");
    }
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        const std::string_view query = rest.substr(q + 1);
        rest = rest.substr(0, q);
        if (query == "transport=udp" && out.scheme == IceServerScheme::Turn) out.transport = IceServerTransport::Udp;
        else if (query == "transport=tcp" && out.scheme != IceServerScheme::Stun)
            out.transport = out.scheme == IceServerScheme::Turns ? IceServerTransport::Tls : IceServerTransport::Tcp;
        else return bad("unsupported query");
    }
    const uint16_t default_port = out.scheme == IceServerScheme::Turns ? 5349 : 3478;
    std::string host_port(rest);
    const bool has_port = !host_port.empty() && (host_port.back() != ']') &&
                          (host_port.front() == '[' ? host_port.find("]:") != std::string::npos
                                                    : host_port.find(':') != std::string::npos);
    if (!has_port) {
        if (!host_port.empty() && host_port.front() != '[' && host_port.find(':') == std::string::npos)
            host_port += ":" + std::to_string(default_port);
        else
            host_port += ":" + std::to_string(default_port);
    }
    auto addr = SocketAddr::parse(host_port);
    if (!addr) return bad("the host must be an IP address (rtcpp does no DNS)");
    out.address = *addr;
    if (out.scheme != IceServerScheme::Stun && (username.empty() || credential.empty()))
        return bad("TURN needs a username and a credential");
    out.username = std::string(username);
    out.credential = std::string(credential);
    return out;
}

Result<std::unique_ptr<Session>> Session::create(const Configuration& config) {
    std::optional<Certificate> cert = config.certificate;
    if (!cert) {
        auto c = Certificate::process_default();
        if (!c) return c.error();
        cert = *c;
    }
    for (const auto& s : config.ice_servers)
        for (const auto& u : s.urls) {
            auto parsed = parse_ice_server_url(u, s.username, s.credential);
            if (!parsed) return parsed.error();
        }
    return std::unique_ptr<Session>(new Session(std::make_unique<Impl>(config, std::move(*cert))));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

void Session::add_local_tcp_listener(const SocketAddr& listen) {
    auto& m = *impl_;
    for (const auto& a : m.tcp_listeners)
        if (a == listen) return;
    m.tcp_listeners.push_back(listen);
    if (m.agent) {
        m.agent->add_host_tcp_listener(listen);
        m.process();
    }
}

void Session::add_local_address(const SocketAddr& local) {
    auto& m = *impl_;
    for (const auto& a : m.local_addresses)
        if (a == local) return;
    m.local_addresses.push_back(local);
    if (m.agent) {
        m.agent->add_host_address(local);
        m.process();
    }
}

Result<SessionDescription> Session::create_offer() {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    if (m.signaling != SignalingState::Stable && m.signaling != SignalingState::HaveLocalOffer)
        return state_error("cannot create an offer in signaling state " + std::string(to_string(m.signaling)));
    m.ensure_agent(m.agent ? m.agent->role() : ice::Role::Controlling);
    if (m.restart_wanted && m.agent) {
        m.agent->restart(m.now);
        m.credentials = m.agent->local_credentials();
        m.local_candidates.clear();
        m.restart_wanted = false;
        m.process();
    }
    m.negotiator->set_local_transport(m.local_transport());
    m.negotiator->set_data_channel(!m.channels.empty());
    if (m.negotiator->has_pending_offer()) m.negotiator->rollback();
    auto d = m.negotiator->create_offer();
    if (!d) return d.error();
    m.created_offer = *d;
    return SessionDescription{SdpType::Offer, sdp::serialize(*d)};
}

Result<SessionDescription> Session::create_answer() {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    if (m.signaling != SignalingState::HaveRemoteOffer)
        return state_error("cannot create an answer in signaling state " + std::string(to_string(m.signaling)));
    if (!m.created_answer) {
        m.ensure_agent(m.pending_remote_offer->ice_lite ? ice::Role::Controlling : ice::Role::Controlled);
        m.negotiator->set_local_transport(m.local_transport());
        auto a = m.negotiator->answer(*m.pending_remote_offer);
        if (!a) return a.error();
        m.created_answer = std::move(a.value());
    }
    return SessionDescription{SdpType::Answer, sdp::serialize(m.created_answer->description)};
}

Result<void> Session::set_local_description(const SessionDescription& description) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    switch (description.type) {
    case SdpType::Offer: {
        if (m.signaling != SignalingState::Stable && m.signaling != SignalingState::HaveLocalOffer)
            return state_error("cannot apply a local offer in signaling state " + std::string(to_string(m.signaling)));
        if (!m.created_offer) {
            auto o = create_offer();
            if (!o) return o.error();
        }
        m.local_desc = m.created_offer;
        m.local_type = SdpType::Offer;
        m.set_signaling(SignalingState::HaveLocalOffer);
        return {};
    }
    case SdpType::Answer:
    case SdpType::Pranswer: {
        if (m.signaling != SignalingState::HaveRemoteOffer)
            return state_error("cannot apply a local answer in signaling state " + std::string(to_string(m.signaling)));
        if (!m.created_answer) {
            auto a = create_answer();
            if (!a) return a.error();
        }
        m.local_desc = m.created_answer->description;
        m.local_type = SdpType::Answer;
        m.remote_desc = m.pending_remote_offer;
        m.negotiated = m.created_answer->negotiated;
        m.created_answer.reset();
        m.pending_remote_offer.reset();
        m.created_offer.reset();
        m.set_signaling(SignalingState::Stable);
        return m.apply_negotiated();
    }
    case SdpType::Rollback:
        if (m.signaling == SignalingState::HaveLocalOffer) {
            m.negotiator->rollback();
            m.created_offer.reset();
            m.local_desc.reset();
            m.set_signaling(SignalingState::Stable);
            return {};
        }
        return state_error("nothing to roll back");
    }
    return {};
}

Result<void> Session::set_remote_description(const SessionDescription& description) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    if (description.type == SdpType::Rollback) {
        if (m.signaling != SignalingState::HaveRemoteOffer) return state_error("nothing to roll back");
        m.pending_remote_offer.reset();
        m.created_answer.reset();
        m.set_signaling(SignalingState::Stable);
        return {};
    }
    auto parsed = sdp::parse(description.sdp);
    if (!parsed) return parsed.error();
    if (description.type == SdpType::Offer) {
        if (m.signaling != SignalingState::Stable && m.signaling != SignalingState::HaveRemoteOffer)
            return state_error("cannot apply a remote offer in signaling state " + std::string(to_string(m.signaling)));
        m.pending_remote_offer = std::move(parsed.value());
        m.created_answer.reset();
        m.remote_type = SdpType::Offer;
        m.ensure_agent(m.pending_remote_offer->ice_lite ? ice::Role::Controlling : ice::Role::Controlled);
        m.set_signaling(SignalingState::HaveRemoteOffer);
        return {};
    }
    if (m.signaling != SignalingState::HaveLocalOffer)
        return state_error("cannot apply a remote answer in signaling state " + std::string(to_string(m.signaling)));
    auto n = m.negotiator->apply_answer(*parsed);
    if (!n) return n.error();
    m.negotiated = std::move(n.value());
    m.remote_desc = std::move(parsed.value());
    m.remote_type = description.type;
    m.created_offer.reset();
    m.set_signaling(SignalingState::Stable);
    return m.apply_negotiated();
}

Result<void> Session::add_ice_candidate(const IceCandidate& candidate) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    if (!m.remote_desc && !m.pending_remote_offer)
        return state_error("a remote description is needed before candidates");
    if (!m.agent) return state_error("ICE has not started");
    if (candidate.candidate.empty()) {
        m.agent->end_of_remote_candidates();
    } else {
        auto r = m.agent->add_remote_candidate(candidate.candidate);
        if (!r) return make_error(ErrorCategory::OperationError, "ice", r.error().message);
        m.permit_remote_candidates();
    }
    m.process();
    return {};
}

std::optional<SessionDescription> Session::local_description() const {
    auto& m = *impl_;
    if (!m.local_desc) return std::nullopt;
    return SessionDescription{m.local_type, sdp::serialize(*m.with_candidates(*m.local_desc))};
}

std::optional<SessionDescription> Session::remote_description() const {
    auto& m = *impl_;
    const sdp::Description* d = m.pending_remote_offer ? &*m.pending_remote_offer : m.remote_desc ? &*m.remote_desc : nullptr;
    if (!d) return std::nullopt;
    return SessionDescription{m.pending_remote_offer ? SdpType::Offer : m.remote_type, sdp::serialize(*d)};
}

void Session::restart_ice() {
    impl_->restart_wanted = true;
    impl_->emit(event::NegotiationNeeded{});
}

Result<ChannelId> Session::create_data_channel(std::string_view label, const DataChannelInit& init) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    if (init.max_retransmits && init.max_packet_life_time_ms)
        return make_error(ErrorCategory::TypeError, "pc", "maxRetransmits and maxPacketLifeTime are exclusive");
    if (init.negotiated && !init.id)
        return make_error(ErrorCategory::TypeError, "pc", "a negotiated channel needs an id");
    if (label.size() > 65535 || init.protocol.size() > 65535)
        return make_error(ErrorCategory::TypeError, "pc", "label or protocol longer than 65535 bytes");
    const bool first = m.channels.empty();
    const ChannelId id = m.next_channel++;
    Impl::Channel ch;
    ch.info.channel = id;
    ch.info.label = std::string(label);
    ch.info.init = init;
    m.channels[id] = ch;
    if (m.sctp_up) {
        m.open_pending_channels();
        m.process();
    } else if (first && !m.data_media()) {
        m.negotiator->set_data_channel(true);
        m.emit(event::NegotiationNeeded{});
    }
    return id;
}

Result<void> Session::send(ChannelId channel, std::span<const uint8_t> data) {
    auto& m = *impl_;
    auto it = m.channels.find(channel);
    if (it == m.channels.end()) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such channel");
    if (it->second.info.state != DataChannelState::Open || !m.sctp || !it->second.info.stream_id)
        return state_error("the channel is not open");
    auto r = m.sctp->send(*it->second.info.stream_id, data, true);
    if (!r) return r;
    ++m.stats.sctp_messages_sent;
    ++it->second.messages_sent;
    it->second.bytes_sent += data.size();
    m.process();
    return {};
}

Result<void> Session::send_text(ChannelId channel, std::string_view text) {
    auto& m = *impl_;
    auto it = m.channels.find(channel);
    if (it == m.channels.end()) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such channel");
    if (it->second.info.state != DataChannelState::Open || !m.sctp || !it->second.info.stream_id)
        return state_error("the channel is not open");
    auto r = m.sctp->send_text(*it->second.info.stream_id, text);
    if (!r) return r;
    ++m.stats.sctp_messages_sent;
    ++it->second.messages_sent;
    it->second.bytes_sent += text.size();
    m.process();
    return {};
}

Result<void> Session::close_channel(ChannelId channel) {
    auto& m = *impl_;
    auto it = m.channels.find(channel);
    if (it == m.channels.end()) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such channel");
    Impl::Channel& ch = it->second;
    if (ch.info.state == DataChannelState::Closed || ch.info.state == DataChannelState::Closing) return {};
    if (m.sctp && ch.info.stream_id) {
        ch.info.state = DataChannelState::Closing;
        auto r = m.sctp->close_channel(*ch.info.stream_id);
        m.process();
        return r;
    }
    ch.info.state = DataChannelState::Closed;
    m.emit(event::ChannelClosed{channel, "closed before it opened"});
    return {};
}

std::optional<ChannelInfo> Session::channel_info(ChannelId channel) const {
    auto it = impl_->channels.find(channel);
    if (it == impl_->channels.end()) return std::nullopt;
    ChannelInfo info = it->second.info;
    if (impl_->sctp && info.stream_id) {
        if (auto s = impl_->sctp->channel_state(*info.stream_id)) info.state = from_sctp(*s);
    }
    return info;
}

size_t Session::buffered_amount(ChannelId channel) const {
    auto it = impl_->channels.find(channel);
    if (it == impl_->channels.end() || !impl_->sctp || !it->second.info.stream_id) return 0;
    return impl_->sctp->buffered_amount(*it->second.info.stream_id);
}

void Session::set_buffered_amount_low_threshold(ChannelId channel, size_t bytes) {
    auto it = impl_->channels.find(channel);
    if (it == impl_->channels.end() || !impl_->sctp || !it->second.info.stream_id) return;
    impl_->sctp->set_buffered_amount_low_threshold(*it->second.info.stream_id, bytes);
}

uint64_t Session::max_message_size() const {
    if (impl_->sctp) return impl_->sctp->max_message_size();
    if (auto* d = impl_->data_media()) return d->remote_max_message_size;
    return 65536;
}

Result<TransceiverId> Session::add_transceiver(MediaKind kind, const TransceiverInit& init) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    sdp::TransceiverInit ti;
    ti.kind = kind == MediaKind::Audio ? sdp::MediaKind::Audio : sdp::MediaKind::Video;
    ti.direction = to_sdp(init.direction);
    ti.stream_id = init.stream_id;
    // The SDP lists them highest first (a=simulcast:send f;h;q): RFC 8853 orders by preference, and SFUs read it so
    // (Janus numbers substreams from that order, janus.js sends h;m;l). The API lists them lowest first.
    for (auto rid = init.send_rids.rbegin(); rid != init.send_rids.rend(); ++rid)
        ti.send_encodings.push_back(sdp::SendEncoding{*rid, true});
    if (!init.codecs.empty()) {
        const sdp::NegotiatorConfig defaults = sdp::default_config();
        const auto& all = kind == MediaKind::Audio ? defaults.audio_codecs : defaults.video_codecs;
        auto named = [](const std::string& name, const std::string& want) {
            return name.size() == want.size() && std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                   });
        };
        for (const auto& want : init.codecs) {
            if (named("rtx", want)) continue; // follows each chosen codec below
            for (const auto& c : all) {
                if (!named(c.name, want)) continue;
                ti.codecs.push_back(c);
                // Each codec keeps its RTX companion: without it no rtx is negotiated and NACKed packets go out again
                // as plain copies on the media SSRC, which the peer's statistics cannot tell from originals (RFC 4588).
                const std::string apt = "apt=" + std::to_string(c.preferred_pt);
                for (const auto& r : all)
                    if (named(r.name, "rtx") && r.fmtp == apt) ti.codecs.push_back(r);
            }
        }
        if (ti.codecs.empty())
            return make_error(ErrorCategory::NotSupportedError, "pc", "none of the requested codecs is supported");
    }
    const size_t index = m.negotiator->add_transceiver(std::move(ti));
    for (const auto& e : init.send_encodings) m.media->set_send_encoding(index, e);
    m.emit(event::NegotiationNeeded{});
    return static_cast<TransceiverId>(index + 1);
}

std::vector<TransceiverInfo> Session::transceivers() const {
    std::vector<TransceiverInfo> out;
    for (size_t i = 0; i < impl_->negotiator->transceivers().size(); ++i) out.push_back(impl_->transceiver_info(i));
    return out;
}

std::optional<TransceiverInfo> Session::transceiver_info(TransceiverId id) const {
    if (id == 0 || id > impl_->negotiator->transceivers().size()) return std::nullopt;
    return impl_->transceiver_info(id - 1);
}

Result<void> Session::set_transceiver_direction(TransceiverId id, RtpDirection direction) {
    auto& m = *impl_;
    if (id == 0 || id > m.negotiator->transceivers().size())
        return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    auto r = m.negotiator->set_direction(id - 1, to_sdp(direction));
    if (!r) return r;
    m.emit(event::NegotiationNeeded{});
    return {};
}

Result<TransceiverId> Session::add_track(const MediaTrack& track, const std::string& stream_id) {
    auto& m = *impl_;
    if (m.closed) return state_error("the session is closed");
    for (const auto& [id, attached] : m.tracks)
        if (attached && attached->id == track.id && !track.id.empty())
            return make_error(ErrorCategory::InvalidAccessError, "pc", "the track is already attached to a transceiver");
    // W3C addTrack step 7: a transceiver the remote offered, never used to send, without a track.
    for (const auto& info : transceivers()) {
        if (info.kind != track.kind || !info.created_by_remote || m.tracks.count(info.id)) continue;
        const bool sends = info.direction == RtpDirection::SendRecv || info.direction == RtpDirection::SendOnly;
        const bool sent = info.current_direction && (*info.current_direction == RtpDirection::SendRecv ||
                                                     *info.current_direction == RtpDirection::SendOnly);
        if (sends || sent || m.negotiator->transceivers().at(info.id - 1).stopped) continue;
        if (!stream_id.empty())
            if (auto r = m.negotiator->set_stream_id(info.id - 1, stream_id); !r) return r.error();
        auto r = set_transceiver_direction(
            info.id, info.direction == RtpDirection::RecvOnly ? RtpDirection::SendRecv : RtpDirection::SendOnly);
        if (!r) return r.error();
        m.tracks[info.id] = track;
        return info.id;
    }
    TransceiverInit init;
    init.stream_id = stream_id;
    auto id = add_transceiver(track.kind, init);
    if (!id) return id;
    m.tracks[*id] = track;
    return id;
}

Result<void> Session::replace_track(TransceiverId id, const std::optional<MediaTrack>& track) {
    auto& m = *impl_;
    const auto info = transceiver_info(id);
    if (!info) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    if (m.negotiator->transceivers().at(id - 1).stopped) return state_error("the transceiver is stopped");
    if (track && track->kind != info->kind)
        return make_error(ErrorCategory::TypeError, "pc", "the track's kind differs from the transceiver's");
    const bool had_source = info->has_source;
    m.tracks[id] = track;
    // A new source starts mid-stream for the receiver: its encoder must begin with a keyframe.
    if (track && had_source && info->track_id != track->id) m.emit(event::KeyframeRequest{id});
    if (track && !had_source) m.emit(event::KeyframeRequest{id});
    return {};
}

Result<void> Session::send_frame(TransceiverId id, std::span<const uint8_t> frame, uint32_t rtp_timestamp) {
    auto& m = *impl_;
    if (id == 0) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    if (!m.srtp) return state_error("media is not connected yet");
    if (auto it = m.tracks.find(id); it != m.tracks.end() && !it->second)
        return state_error("no track: replace_track(id, std::nullopt) detached the source");
    auto r = m.media->send_frame(m.now, id - 1, frame, rtp_timestamp);
    if (!r) return r;
    m.process();
    return {};
}

Result<void> Session::send_frame(TransceiverId id, std::string_view rid, std::span<const uint8_t> frame,
                                 uint32_t rtp_timestamp) {
    auto& m = *impl_;
    if (id == 0) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    if (!m.srtp) return state_error("media is not connected yet");
    auto r = m.media->send_frame(m.now, id - 1, rid, frame, rtp_timestamp);
    if (!r) return r;
    m.process();
    return {};
}

Result<void> Session::set_send_encoding(TransceiverId id, const SendEncodingParameters& params) {
    auto& m = *impl_;
    if (id == 0 || id > m.negotiator->transceivers().size())
        return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    m.media->set_send_encoding(id - 1, params);
    return {};
}

Result<void> Session::send_rtp(TransceiverId id, std::span<const uint8_t> packet) {
    auto& m = *impl_;
    if (id == 0) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    if (!m.srtp) return state_error("media is not connected yet");
    auto r = m.media->send_rtp(m.now, id - 1, packet);
    if (!r) return r;
    m.process();
    return {};
}

Result<void> Session::send_rtcp(std::span<const uint8_t> packet) {
    auto& m = *impl_;
    if (!m.srtp) return state_error("media is not connected yet");
    auto r = m.media->send_rtcp(packet);
    if (!r) return r;
    m.process();
    return {};
}

Result<void> Session::request_keyframe(TransceiverId id) {
    auto& m = *impl_;
    if (id == 0) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    auto r = m.media->request_keyframe(id - 1);
    if (!r) return r;
    m.process();
    return {};
}

Result<void> Session::request_keyframe(TransceiverId id, std::string_view rid) {
    auto& m = *impl_;
    if (id == 0) return make_error(ErrorCategory::InvalidAccessError, "pc", "no such transceiver");
    auto r = m.media->request_keyframe(id - 1, rid);
    if (!r) return r;
    m.process();
    return {};
}

std::vector<RtpStats> Session::rtp_stats() const { return impl_->media->stats(); }

void Session::close() {
    auto& m = *impl_;
    if (m.closed) return;
    m.close_all_channels("the session was closed");
    if (m.sctp) {
        m.sctp->abort(m.now, "the session was closed");
        m.pump_sctp();
    }
    if (m.dtls && m.dtls_connected) {
        m.dtls->close();
        while (auto d = m.dtls->poll_transmit())
            if (m.agent) m.agent->send(*d);
    }
    if (m.agent) {
        m.pump_agent(); // the last DTLS/SCTP records go out, through a relay if that is the selected route
        m.agent->close();
    }
    for (auto& r : m.relays) r.client->close(m.now); // deallocate (Refresh with LIFETIME 0)
    m.pump_relays();
    // Over TCP the server frees the allocation when the connection closes anyway; the Refresh goes out first.
    for (auto& r : m.relays)
        if (r.stream) m.stream_commands.push_back(StreamClose{*r.stream});
    // ICE-TCP: the last framed records were queued on the streams above; the owner flushes before closing.
    while (!m.ice_streams.empty()) m.close_ice_stream(m.ice_streams.begin()->first, false);
    m.closed = true;
    m.set_signaling(SignalingState::Closed);
    if (m.ice_state != IceConnectionState::Closed) {
        m.ice_state = IceConnectionState::Closed;
        m.emit(event::IceConnectionStateChange{IceConnectionState::Closed});
    }
    m.update_pc_state();
}

void Session::handle_datagram(Timestamp now, const SocketAddr& local, const SocketAddr& remote,
                              std::span<const uint8_t> bytes) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    if (m.closed) return;
    m.on_datagram(local, remote, bytes);
    m.process();
}

void Session::handle_timeout(Timestamp now) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    if (m.closed) return;
    if (m.agent) m.agent->handle_timeout(m.now);
    if (m.dtls) m.dtls->handle_timeout(m.now);
    if (m.sctp) m.sctp->handle_timeout(m.now);
    if (m.srtp) m.media->handle_timeout(m.now);
    for (auto& r : m.relays) r.client->handle_timeout(m.now);
    m.process();
}

void Session::recycle(std::vector<uint8_t>&& bytes) { impl_->give_back(std::move(bytes)); }

std::optional<Transmit> Session::poll_transmit() {
    auto& q = impl_->transmits;
    if (q.empty()) return std::nullopt;
    Transmit t = std::move(q.front());
    q.pop_front();
    return t;
}

void Session::handle_stream_connected(Timestamp now, StreamId stream) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    if (m.closed) return;
    if (auto* st = m.ice_stream(stream)) {
        st->connected = true;
        if (!st->out.empty()) m.stream_commands.push_back(StreamSend{stream, std::move(st->out)});
        st->out.clear();
    }
    if (auto* r = m.relay_by_stream(stream)) {
        if (auto a = r->client->allocate(m.now); !a) {
            RTCPP_LOG(LogLevel::Warning, "pc", "TURN allocation not started: " << a.error().to_string());
            r->settled = true;
            m.relay_errors.push_back(a.error());
            m.update_relay_hold();
        }
    }
    m.process();
}

void Session::handle_stream_data(Timestamp now, StreamId stream, std::span<const uint8_t> bytes) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    if (m.closed) return;
    if (m.ice_stream(stream)) {
        m.on_ice_stream_data(stream, bytes);
        m.process();
        return;
    }
    m.stats.bytes_received += bytes.size();
    if (auto* r = m.relay_by_stream(stream)) r->client->handle_datagram(m.now, bytes);
    m.process();
}

std::optional<StreamId> Session::handle_stream_accepted(Timestamp now, const SocketAddr& local,
                                                        const SocketAddr& remote) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    const bool ours = std::find(m.tcp_listeners.begin(), m.tcp_listeners.end(), local) != m.tcp_listeners.end();
    // Unauthenticated connections are capped like the agent caps unknown STUN sources: a flood of connections gets
    // no more than a few buffers.
    if (m.closed || !ours || !m.agent || m.ice_streams.size() >= Impl::kMaxIceStreams ||
        m.unauthenticated_accepted() >= 8) {
        ++m.stats.tcp_streams_refused;
        return std::nullopt;
    }
    const StreamId id = m.next_stream++;
    Impl::IceStream st;
    st.local = local;
    st.remote = remote;
    st.accepted = true;
    st.connected = true;
    m.ice_streams[id] = std::move(st);
    return id;
}

void Session::handle_stream_closed(Timestamp now, StreamId stream) {
    auto& m = *impl_;
    m.now = std::max(m.now, now);
    if (m.closed) return;
    if (auto it = m.ice_streams.find(stream); it != m.ice_streams.end()) {
        const SocketAddr local = it->second.local, remote = it->second.remote;
        m.ice_streams.erase(it);
        if (m.agent) m.agent->handle_tcp_closed(m.now, local, remote);
    }
    if (auto* r = m.relay_by_stream(stream)) r->client->handle_disconnected(m.now);
    m.process();
}

std::optional<StreamCommand> Session::poll_stream() {
    auto& q = impl_->stream_commands;
    if (q.empty()) return std::nullopt;
    StreamCommand c = std::move(q.front());
    q.pop_front();
    return c;
}

std::optional<SessionEvent> Session::poll_event() {
    auto& q = impl_->events;
    if (q.empty()) return std::nullopt;
    SessionEvent e = std::move(q.front());
    q.pop_front();
    return e;
}

Timestamp Session::poll_timeout() const {
    if (impl_->closed && impl_->transmits.empty() && impl_->events.empty() && impl_->stream_commands.empty())
        return Timestamp::plus_infinity();
    return impl_->next_timeout();
}

Output Session::poll() {
    if (auto t = poll_transmit()) return std::move(*t);
    if (auto e = poll_event()) return std::move(*e);
    return Timeout{poll_timeout()};
}

SignalingState Session::signaling_state() const { return impl_->signaling; }
IceGatheringState Session::ice_gathering_state() const { return impl_->gathering; }
IceConnectionState Session::ice_connection_state() const { return impl_->ice_state; }
PeerConnectionState Session::connection_state() const { return impl_->pc_state; }

SessionStats Session::stats() const {
    SessionStats s = impl_->stats;
    if (impl_->agent) {
        const auto& a = impl_->agent->stats();
        s.stun_rate_limited = a.rate_limited;
        s.stun_bad_integrity = a.bad_integrity;
        s.remote_candidates_dropped = a.remote_candidates_dropped;
        if (auto p = impl_->agent->selected_pair()) {
            s.selected_local = p->local.address;
            s.selected_remote = p->remote.address;
            s.selected_local_type = std::string(ice::to_string(p->local.type));
            s.selected_remote_type = std::string(ice::to_string(p->remote.type));
            s.selected_protocol = std::string(ice::to_string(p->local.transport));
            s.rtt = p->current_rtt;
            if (impl_->srtp) s.available_outgoing_bitrate = impl_->media->target_rate();
        }
    }
    return s;
}

StatsReport Session::get_stats(Timestamp now) const {
    const auto& m = *impl_;
    StatsReport report;
    report.timestamp = now;

    PeerConnectionStats pcs;
    pcs.id = "P";
    pcs.timestamp = now;
    for (const auto& [id, ch] : m.channels) {
        if (!ch.was_open) continue;
        ++pcs.data_channels_opened;
        if (ch.info.state != DataChannelState::Open) ++pcs.data_channels_closed;
    }
    report.objects.push_back(std::move(pcs));

    TransportStats ts;
    ts.id = "T01"; // one transport: rtcpp always bundles
    ts.timestamp = now;
    ts.packets_sent = m.stats.datagrams_sent;
    ts.packets_received = m.stats.datagrams_received;
    ts.bytes_sent = m.stats.bytes_sent;
    ts.bytes_received = m.stats.bytes_received;
    ts.ice_state = std::string(to_string(m.ice_state));
    if (m.dtls) {
        ts.dtls_state = std::string(dtls::to_string(m.dtls->state()));
        ts.dtls_role = m.dtls->role() == dtls::Role::Client ? "client" : "server";
    }
    if (m.dtls_connected) {
        ts.tls_version = "FEFD"; // DtlsTransport allows DTLS 1.2 only; W3C wants the version as hex digits
        ts.dtls_cipher = pc::iana_dtls_cipher(m.dtls_cipher);
    }
    if (m.srtp) ts.srtp_cipher = std::string(pc::iana_srtp_cipher(m.srtp->profile()));
    ts.selected_candidate_pair_changes = m.selected_pair_changes;
    const size_t transport_index = report.objects.size();
    // A placeholder until the candidate pairs are in, then replaced; a copy of ts, since g++ 12 at -O2 takes a
    // default-constructed TransportStats here for maybe-uninitialized (-Werror in the Release build).
    report.objects.push_back(ts);
    if (m.agent)
        pc::collect_ice_stats(*m.agent, m.local_candidates, m.srtp ? m.media->target_rate() : std::nullopt, now,
                              report, ts);
    report.objects[transport_index] = std::move(ts);

    m.media->collect_stats(now, "T01", report);

    for (const auto& [id, ch] : m.channels) {
        DataChannelStats d;
        d.id = "D" + std::to_string(id);
        d.timestamp = now;
        d.label = ch.info.label;
        d.protocol = ch.info.init.protocol;
        d.data_channel_identifier = ch.info.stream_id;
        d.state = std::string(to_string(ch.info.state));
        d.messages_sent = ch.messages_sent;
        d.bytes_sent = ch.bytes_sent;
        d.messages_received = ch.messages_received;
        d.bytes_received = ch.bytes_received;
        report.objects.push_back(std::move(d));
    }
    return report;
}

} // namespace rtcpp
