// Test helper: a rtcpp::Session as a simulated-network endpoint, with its events collected and signaling (trickled
// candidates) forwarded to a peer.
#pragma once

#include "sim/network.hpp"

#include <rtcpp/session.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace rtcpp::test {

class SessionPeer : public sim::Endpoint {
public:
    SessionPeer(std::string name, Configuration config, std::vector<SocketAddr> addresses)
        : name_(std::move(name)), addresses_(std::move(addresses)) {
        auto s = Session::create(config);
        if (!s) throw std::runtime_error(s.error().to_string());
        session = std::move(s.value());
        for (const auto& a : addresses_) session->add_local_address(a);
    }

    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        session->handle_datagram(now, d.to, d.from, d.bytes);
        drain_events();
    }
    void handle_timeout(Timestamp now) override {
        session->handle_timeout(now);
        drain_events();
    }
    std::optional<sim::Datagram> poll_transmit() override {
        auto t = session->poll_transmit();
        if (!t) return std::nullopt;
        return sim::Datagram{t->local, t->remote, std::move(t->bytes)};
    }
    Timestamp poll_timeout() override { return session->poll_timeout(); }

    /// Collects events produced by commands too; call after any command.
    void drain_events() {
        while (auto e = session->poll_event()) {
            if (auto* c = std::get_if<event::LocalCandidate>(&*e)) {
                if (on_candidate) on_candidate(c->candidate);
            }
            if (on_event) on_event(*e);
            events.push_back(std::move(*e));
        }
    }

    template <class T>
    std::vector<T> events_of() const {
        std::vector<T> out;
        for (const auto& e : events)
            if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
        return out;
    }
    template <class T>
    bool has() const {
        return !events_of<T>().empty();
    }

    std::string name_;
    std::vector<SocketAddr> addresses_;
    std::unique_ptr<Session> session;
    std::vector<SessionEvent> events;
    std::function<void(const IceCandidate&)> on_candidate;
    std::function<void(const SessionEvent&)> on_event;
};

/// Runs a full offer/answer between two peers (offerer first), trickling candidates between them.
inline void negotiate(SessionPeer& offerer, SessionPeer& answerer) {
    offerer.on_candidate = [&](const IceCandidate& c) { (void)answerer.session->add_ice_candidate(c); };
    answerer.on_candidate = [&](const IceCandidate& c) { (void)offerer.session->add_ice_candidate(c); };
    auto offer = offerer.session->create_offer();
    if (!offer) throw std::runtime_error(offer.error().to_string());
    if (auto r = offerer.session->set_local_description(*offer); !r) throw std::runtime_error(r.error().to_string());
    if (auto r = answerer.session->set_remote_description(*offer); !r) throw std::runtime_error(r.error().to_string());
    auto answer = answerer.session->create_answer();
    if (!answer) throw std::runtime_error(answer.error().to_string());
    if (auto r = answerer.session->set_local_description(*answer); !r) throw std::runtime_error(r.error().to_string());
    if (auto r = offerer.session->set_remote_description(*answer); !r) throw std::runtime_error(r.error().to_string());
    offerer.drain_events();
    answerer.drain_events();
}

/// Two SessionPeers, a (10.0.0.1:5000) and b (10.0.0.2:5000), each behind an uplink of its own with `link`'s
/// properties, on a simulated network seeded with `net_seed`.
struct SessionPair {
    sim::Network net;
    SessionPeer a, b;
    sim::HostId ha, hb;
    sim::LinkId la, lb;

    SessionPair(const sim::LinkConfig& link, const Configuration& config_a, const Configuration& config_b,
                uint64_t net_seed)
        : net(net_seed),
          a("a", config_a, {*SocketAddr::parse("10.0.0.1:5000")}),
          b("b", config_b, {*SocketAddr::parse("10.0.0.2:5000")}) {
        la = net.add_link(link);
        lb = net.add_link(link);
        ha = net.add_host(a, {*IpAddr::parse("10.0.0.1")}, {.uplink = la});
        hb = net.add_host(b, {*IpAddr::parse("10.0.0.2")}, {.uplink = lb});
    }
    bool run_until(const std::function<bool()>& done, TimeDelta limit = TimeDelta::seconds(20)) {
        a.drain_events();
        b.drain_events();
        net.wake(ha);
        net.wake(hb);
        return net.run_until(done, net.now() + limit);
    }
    void run_for(TimeDelta d) {
        a.drain_events();
        b.drain_events();
        net.wake(ha);
        net.wake(hb);
        net.run_for(d);
    }
    /// Offer from a, answer from b, until both are connected.
    bool connect() {
        negotiate(a, b);
        return run_until([&] {
            return a.session->connection_state() == PeerConnectionState::Connected &&
                   b.session->connection_state() == PeerConnectionState::Connected;
        });
    }
};

/// A fake VP8 frame: the frame tag's P bit (bit 0 of the first byte) is clear on keyframes; the rest carries the
/// frame number (bytes 1-2) so the receiver can check content and order. Sizes span one to several packets.
inline std::vector<uint8_t> vp8_frame(int n, bool key) {
    std::vector<uint8_t> f(static_cast<size_t>(key ? 5000 : 300 + (n * 397) % 2500));
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>((n * 31 + static_cast<int>(i)) & 0xFF);
    f[0] = static_cast<uint8_t>(key ? 0x10 : 0x11);
    f[1] = static_cast<uint8_t>(n & 0xFF);
    f[2] = static_cast<uint8_t>(n >> 8);
    return f;
}

/// The frame number vp8_frame (and the tests' fake Opus frames) put in bytes 1-2; -1 if too short.
inline int frame_number(const std::vector<uint8_t>& data) { return data.size() < 3 ? -1 : data[1] | (data[2] << 8); }

/// What b got of `count` vp8_frame()s (a keyframe every 150) that a sent on `video` at 30 fps while a's uplink
/// (`link` otherwise) lost `loss` of its packets, after 2 s more to settle.
struct LossyVideoRun {
    size_t frames = 0;
    bool intact = true;  // every frame's bytes as sent
    bool in_order = true;
    RtpStats sent, received;
};
inline LossyVideoRun send_video_through_loss(SessionPair& p, TransceiverId video, const sim::LinkConfig& link,
                                             double loss, int count = 300) {
    sim::LinkConfig lossy = link;
    lossy.loss = loss;
    p.net.set_link(p.la, lossy);
    LossyVideoRun r;
    for (int i = 0; i < count; ++i) {
        if (!p.a.session->send_frame(video, vp8_frame(i, i % 150 == 0), static_cast<uint32_t>(i * 3000))) {
            r.intact = false;
            return r;
        }
        p.run_for(TimeDelta::millis(33));
    }
    p.run_for(TimeDelta::seconds(2));
    int last = -1;
    for (const auto& f : p.b.events_of<event::MediaFrame>()) {
        const int n = frame_number(f.data);
        r.intact = r.intact && f.data == vp8_frame(n, f.keyframe);
        r.in_order = r.in_order && n > last;
        last = std::max(last, n);
        ++r.frames;
    }
    r.sent = p.a.session->rtp_stats().at(0);
    r.received = p.b.session->rtp_stats().at(0);
    return r;
}

/// A seeded Configuration for media tests.
inline Configuration media_config(uint64_t seed, bool raw_rtp_events = false, bool video_fec = true) {
    Configuration c;
    c.random_seed = seed;
    c.raw_rtp_events = raw_rtp_events;
    c.video_fec = video_fec;
    return c;
}

} // namespace rtcpp::test
