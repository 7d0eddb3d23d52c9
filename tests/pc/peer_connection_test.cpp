// Two PeerConnections over real UDP sockets on 127.0.0.1, driven by the runtime's event loop.
#include <rtcpp/peer_connection.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace rtcpp;
using namespace std::chrono_literals;

namespace {

Configuration loopback_config() {
    Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    return c;
}

/// Waits (bounded) until `done()` holds, checking every few milliseconds.
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return done();
}

/// Offer/answer between two peer connections with candidates trickled through callbacks.
void connect(PeerConnection& a, PeerConnection& b) {
    a.on_local_candidate([&b](const IceCandidate& c) { (void)b.add_ice_candidate(c); });
    b.on_local_candidate([&a](const IceCandidate& c) { (void)a.add_ice_candidate(c); });
    auto offer = a.create_offer();
    REQUIRE(offer);
    REQUIRE(a.set_local_description(*offer));
    REQUIRE(b.set_remote_description(*offer));
    auto answer = b.create_answer();
    REQUIRE(answer);
    REQUIRE(b.set_local_description(*answer));
    REQUIRE(a.set_remote_description(*answer));
}

} // namespace

TEST_CASE("two peer connections open a data channel over 127.0.0.1 and echo messages") {
    auto a = PeerConnection::create(loopback_config());
    auto b = PeerConnection::create(loopback_config());
    REQUIRE(a);
    REQUIRE(b);
    auto& pa = **a;
    auto& pb = **b;
    CHECK(pa.local_addresses().at(0).ip() == IpAddr::v4_loopback());

    std::atomic<bool> a_connected{false};
    pa.on_connection_state_change([&](PeerConnectionState s, const std::optional<Error>&) {
        if (s == PeerConnectionState::Connected) a_connected = true;
    });
    // b echoes everything on every channel a opens.
    std::mutex m;
    std::vector<std::shared_ptr<DataChannel>> remote_channels;
    pb.on_data_channel([&](std::shared_ptr<DataChannel> ch) {
        std::weak_ptr<DataChannel> weak = ch;
        ch->on_message([weak](std::span<const uint8_t> data, bool binary) {
            auto c = weak.lock();
            if (!c) return;
            if (binary) (void)c->send(data);
            else (void)c->send(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
        });
        std::lock_guard l(m);
        remote_channels.push_back(ch);
    });

    auto ch = pa.create_data_channel("echo");
    REQUIRE(ch);
    std::atomic<bool> open{false};
    std::atomic<int> echoed{0};
    std::atomic<size_t> echoed_bytes{0};
    std::atomic<bool> text_ok{true};
    (*ch)->on_open([&] { open = true; });
    (*ch)->on_message([&](std::span<const uint8_t> data, bool binary) {
        echoed_bytes += data.size();
        if (!binary && std::string(data.begin(), data.end()).rfind("text ", 0) != 0) text_ok = false;
        ++echoed;
    });
    connect(pa, pb);
    REQUIRE(wait_for([&] { return open.load(); }));
    CHECK(a_connected.load());
    CHECK((*ch)->label() == "echo");
    REQUIRE((*ch)->id());
    CHECK(pa.connection_state() == PeerConnectionState::Connected);
    CHECK(pb.connection_state() == PeerConnectionState::Connected);

    size_t sent_bytes = 0;
    for (int i = 0; i < 50; ++i) {
        REQUIRE((*ch)->send("text " + std::to_string(i)));
        std::vector<uint8_t> bin(static_cast<size_t>(i) * 1000 + 1, static_cast<uint8_t>(i));
        REQUIRE((*ch)->send(std::span<const uint8_t>(bin)));
        sent_bytes += ("text " + std::to_string(i)).size() + bin.size();
    }
    REQUIRE(wait_for([&] { return echoed.load() == 100; }));
    CHECK(echoed_bytes.load() == sent_bytes);
    CHECK(text_ok.load());
    const auto st = pa.stats();
    REQUIRE(st.selected_remote);
    CHECK(st.selected_remote->ip() == IpAddr::v4_loopback());

    // Close from a's side: b's channel sees it.
    std::atomic<bool> b_closed{false};
    {
        std::lock_guard l(m);
        REQUIRE(remote_channels.size() == 1);
        remote_channels[0]->on_close([&](const std::string&) { b_closed = true; });
    }
    (*ch)->close();
    REQUIRE(wait_for([&] { return b_closed.load(); }));
}

TEST_CASE("a peer connection may be destroyed from inside its own callback") {
    auto a = PeerConnection::create(loopback_config());
    auto b = PeerConnection::create(loopback_config());
    REQUIRE(a);
    REQUIRE(b);
    std::unique_ptr<PeerConnection> pb = std::move(b.value());
    std::atomic<bool> destroyed{false};
    pb->on_data_channel([&](std::shared_ptr<DataChannel>) {
        pb.reset(); // destroy the PeerConnection whose callback this is
        destroyed = true;
    });
    auto ch = (*a)->create_data_channel("x");
    REQUIRE(ch);
    PeerConnection* raw_b = pb.get();
    (*a)->on_local_candidate([&](const IceCandidate& c) {
        if (!destroyed) (void)raw_b->add_ice_candidate(c);
    });
    auto offer = (*a)->create_offer();
    REQUIRE(offer);
    REQUIRE((*a)->set_local_description(*offer));
    REQUIRE(pb->set_remote_description(*offer));
    auto answer = pb->create_answer();
    REQUIRE(answer);
    REQUIRE(pb->set_local_description(*answer));
    REQUIRE((*a)->set_remote_description(*answer));
    REQUIRE(wait_for([&] { return destroyed.load(); }));
    // a notices its peer is gone: the DTLS close_notify (or an SCTP abort) closes the channel.
    std::atomic<bool> closed{false};
    (*ch)->on_close([&](const std::string&) { closed = true; });
    REQUIRE(wait_for([&] { return closed.load() || (*ch)->state() == DataChannelState::Closed; }));
}

TEST_CASE("event-queue mode delivers events in order without callbacks") {
    auto a = PeerConnection::create(loopback_config());
    auto b = PeerConnection::create(loopback_config());
    REQUIRE(a);
    REQUIRE(b);
    (*a)->use_event_queue();
    (*b)->use_event_queue();
    auto ch = (*a)->create_data_channel("queue");
    REQUIRE(ch);
    auto offer = (*a)->create_offer();
    REQUIRE(offer);
    REQUIRE((*a)->set_local_description(*offer));
    REQUIRE((*b)->set_remote_description(*offer));
    auto answer = (*b)->create_answer();
    REQUIRE(answer);
    REQUIRE((*b)->set_local_description(*answer));
    REQUIRE((*a)->set_remote_description(*answer));
    // Pump both queues: forward candidates, wait for b's data channel, then a message.
    std::shared_ptr<DataChannel> at_b;
    bool a_open = false;
    std::vector<PeerConnectionState> a_states;
    std::string got;
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end && got.empty()) {
        while (auto e = (*a)->next_event(1ms)) {
            if (auto* c = std::get_if<event::LocalCandidate>(&e->event)) (void)(*b)->add_ice_candidate(c->candidate);
            if (auto* s = std::get_if<event::ConnectionStateChange>(&e->event)) a_states.push_back(s->state);
            if (std::get_if<event::ChannelOpen>(&e->event)) {
                a_open = true;
                REQUIRE((*ch)->send("queued hello"));
            }
        }
        while (auto e = (*b)->next_event(1ms)) {
            if (auto* c = std::get_if<event::LocalCandidate>(&e->event)) (void)(*a)->add_ice_candidate(c->candidate);
            if (std::get_if<event::DataChannel>(&e->event)) at_b = e->channel;
            if (auto* msg = std::get_if<event::ChannelMessage>(&e->event)) got.assign(msg->data.begin(), msg->data.end());
        }
    }
    CHECK(a_open);
    REQUIRE(at_b);
    CHECK(at_b->label() == "queue");
    CHECK(got == "queued hello");
    REQUIRE(a_states.size() >= 2);
    CHECK(a_states[0] == PeerConnectionState::Connecting);
    CHECK(a_states.back() == PeerConnectionState::Connected);
}

TEST_CASE("two peer connections send Opus and VP8 frames over 127.0.0.1 (SRTP), with track and frame callbacks") {
    auto a = PeerConnection::create(loopback_config());
    auto b = PeerConnection::create(loopback_config());
    REQUIRE(a);
    REQUIRE(b);
    auto& pa = **a;
    auto& pb = **b;
    auto audio = pa.add_transceiver(MediaKind::Audio, {.direction = RtpDirection::SendOnly});
    auto video = pa.add_transceiver(MediaKind::Video, {.direction = RtpDirection::SendOnly, .codecs = {"VP8"}});
    REQUIRE(audio);
    REQUIRE(video);
    std::mutex m;
    std::vector<TransceiverInfo> tracks;
    std::vector<event::MediaFrame> frames;
    pb.on_track([&](const TransceiverInfo& t) {
        std::lock_guard l(m);
        tracks.push_back(t);
    });
    pb.on_frame([&](const event::MediaFrame& f) {
        std::lock_guard l(m);
        frames.push_back(f);
    });
    std::atomic<bool> connected{false};
    pa.on_connection_state_change([&](PeerConnectionState s, const std::optional<Error>&) {
        if (s == PeerConnectionState::Connected) connected = true;
    });
    connect(pa, pb);
    REQUIRE(wait_for([&] { return connected.load(); }));
    {
        std::lock_guard l(m);
        REQUIRE(tracks.size() == 2);
        CHECK(tracks[1].kind == MediaKind::Video);
    }
    for (int i = 0; i < 30; ++i) {
        std::vector<uint8_t> vp8(2500, static_cast<uint8_t>(i));
        vp8[0] = i == 0 ? 0x10 : 0x11; // frame tag: keyframe first
        REQUIRE(pa.send_frame(*video, vp8, static_cast<uint32_t>(i * 3000)));
        std::vector<uint8_t> opus(60, static_cast<uint8_t>(i));
        opus[0] = 0x78;
        REQUIRE(pa.send_frame(*audio, opus, static_cast<uint32_t>(i * 960)));
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(wait_for([&] {
        std::lock_guard l(m);
        return frames.size() == 60;
    }));
    std::lock_guard l(m);
    int video_frames = 0;
    for (const auto& f : frames) {
        if (f.codec != "VP8") continue;
        CHECK(f.data.size() == 2500);
        CHECK(f.data[1] == static_cast<uint8_t>(video_frames));
        ++video_frames;
    }
    CHECK(video_frames == 30);
    const auto stats = pa.rtp_stats();
    REQUIRE(stats.size() == 2);
    CHECK(stats[1].frames_sent == 30);
}
