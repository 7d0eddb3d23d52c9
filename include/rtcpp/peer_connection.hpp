// rtcpp::PeerConnection: the batteries-included API. It owns UDP sockets and drives an rtcpp::Session from the
// process-wide event-loop thread, in the shape of the W3C RTCPeerConnection.
//
// Threading: every method may be called from any thread; the work is done on the loop thread (a call from another
// thread waits for it). Callbacks run on the loop thread, one at a time, in the order things happened, never under
// an internal lock. Calling any method, close() included, and destroying the PeerConnection or a DataChannel from
// inside a callback is allowed.
//
// Instead of callbacks, set Configuration-independent event-queue mode with use_event_queue(): events are then kept
// for next_event() (which waits up to a timeout) and no callback is called.
#pragma once

#include <rtcpp/configuration.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/session.hpp>
#include <rtcpp/session_description.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rtcpp {

class PeerConnection;

/// W3C RTCDataChannel. Handles are shared: the channel lives as long as its PeerConnection.
class DataChannel {
public:
    ~DataChannel();
    std::string label() const;
    std::string protocol() const;
    /// The SCTP stream id, once known (W3C id).
    std::optional<uint16_t> id() const;
    DataChannelState state() const;
    Result<void> send(std::span<const uint8_t> data);
    Result<void> send(std::string_view text);
    void close();
    size_t buffered_amount() const;
    void set_buffered_amount_low_threshold(size_t bytes);
    /// The largest message send() accepts (the peer's max-message-size).
    uint64_t max_message_size() const;

    void on_open(std::function<void()> cb);
    /// `binary` is false for text messages.
    void on_message(std::function<void(std::span<const uint8_t> data, bool binary)> cb);
    void on_close(std::function<void(const std::string& reason)> cb);
    void on_buffered_amount_low(std::function<void()> cb);

    struct Impl;
    explicit DataChannel(std::shared_ptr<Impl> impl);

private:
    std::shared_ptr<Impl> impl_;
};

class PeerConnection {
public:
    /// Binds one UDP socket per usable local address (or on Configuration::bind_address) and starts ICE when the
    /// first description is set.
    static Result<std::unique_ptr<PeerConnection>> create(const Configuration& config);
    /// Closes the connection (as close()).
    ~PeerConnection();
    PeerConnection(const PeerConnection&) = delete;
    PeerConnection& operator=(const PeerConnection&) = delete;

    Result<SessionDescription> create_offer();
    Result<SessionDescription> create_answer();
    Result<void> set_local_description(const SessionDescription& d);
    Result<void> set_remote_description(const SessionDescription& d);
    Result<void> add_ice_candidate(const IceCandidate& c);
    /// With every candidate gathered so far: after gathering completes, a description for peers that do not trickle.
    std::optional<SessionDescription> local_description() const;
    void restart_ice();

    Result<std::shared_ptr<DataChannel>> create_data_channel(std::string_view label, const DataChannelInit& init = {});

    // ---- media (see Session for the semantics) ----
    Result<TransceiverId> add_transceiver(MediaKind kind, const TransceiverInit& init = {});
    std::vector<TransceiverInfo> transceivers() const;
    Result<void> set_transceiver_direction(TransceiverId id, RtpDirection direction);
    Result<TransceiverId> add_track(const MediaTrack& track, const std::string& stream_id = {});
    Result<void> replace_track(TransceiverId id, const std::optional<MediaTrack>& track);
    Result<void> send_frame(TransceiverId id, std::span<const uint8_t> frame, uint32_t rtp_timestamp);
    /// Simulcast: a frame of layer `rid`.
    Result<void> send_frame(TransceiverId id, std::string_view rid, std::span<const uint8_t> frame,
                            uint32_t rtp_timestamp);
    Result<void> set_send_encoding(TransceiverId id, const SendEncodingParameters& params);
    Result<void> send_rtp(TransceiverId id, std::span<const uint8_t> packet);
    Result<void> send_rtcp(std::span<const uint8_t> packet);
    Result<void> request_keyframe(TransceiverId id);
    std::vector<RtpStats> rtp_stats() const;

    void close();

    SignalingState signaling_state() const;
    IceGatheringState ice_gathering_state() const;
    IceConnectionState ice_connection_state() const;
    PeerConnectionState connection_state() const;
    SessionStats stats() const;
    /// W3C getStats() (see rtcpp/stats.hpp), taken on the loop thread; timestamps are the runtime's monotonic clock.
    StatsReport get_stats() const;
    /// The local UDP addresses bound.
    std::vector<SocketAddr> local_addresses() const;

    void on_local_candidate(std::function<void(const IceCandidate&)> cb);
    void on_ice_gathering_state_change(std::function<void(IceGatheringState)> cb);
    void on_signaling_state_change(std::function<void(SignalingState)> cb);
    void on_ice_connection_state_change(std::function<void(IceConnectionState)> cb);
    /// `error` says why when the state is Failed.
    void on_connection_state_change(std::function<void(PeerConnectionState, const std::optional<Error>&)> cb);
    void on_data_channel(std::function<void(std::shared_ptr<DataChannel>)> cb);
    void on_negotiation_needed(std::function<void()> cb);
    /// W3C ontrack: the peer will send on this transceiver.
    void on_track(std::function<void(const TransceiverInfo&)> cb);
    /// A whole received frame (on the loop thread; copy what you keep).
    void on_frame(std::function<void(const event::MediaFrame&)> cb);
    void on_keyframe_request(std::function<void(TransceiverId)> cb);
    /// The same, with the simulcast layer asked for (empty rid without simulcast).
    void on_layer_keyframe_request(std::function<void(TransceiverId, const std::string& rid)> cb);
    /// The congestion controller's target for all our media together: set the encoders' bitrates from it.
    void on_target_bitrate(std::function<void(DataRate)> cb);
    /// The whole TargetBitrate event: the target and its split over the encodings (per simulcast layer).
    void on_bitrate_allocation(std::function<void(const event::TargetBitrate&)> cb);
    /// With Configuration::raw_rtp_events.
    void on_rtp(std::function<void(TransceiverId, std::span<const uint8_t>)> cb);
    void on_rtcp(std::function<void(std::span<const uint8_t>)> cb);

    // ---- event-queue mode ----
    struct Event {
        SessionEvent event;
        /// For DataChannel events: the handle to use.
        std::shared_ptr<DataChannel> channel;
    };
    /// Switches to event-queue mode: from now on no callback is called; events wait for next_event().
    void use_event_queue();
    /// The next event, waiting up to `timeout` for one.
    std::optional<Event> next_event(std::chrono::milliseconds timeout);
    /// The channel handle for a ChannelId seen in an event.
    std::shared_ptr<DataChannel> channel(ChannelId id) const;

    struct Impl;

private:
    explicit PeerConnection(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

} // namespace rtcpp
