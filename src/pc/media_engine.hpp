// The media half of a Session: RTP and RTCP for every transceiver, between the application's frames and the
// plaintext packets the Session protects with SRTP and sends on the selected ICE pair.
//
//   send:    send_frame -> packetizer (negotiated codec) -> RTP (mid extension, history for NACK) -> pacer (when
//            congestion control runs: paced at GCC's pacing rate, probe clusters, padding; transport-wide
//            sequence number and abs-send-time stamped as the packet leaves) -> poll_packet
//   receive: handle_rtp -> demux (SSRC, then mid/rid extension, then signalled SSRC, then payload type) ->
//            RTX unwrapped -> frame buffer (video: reorder, decodability, NACK) or depacketizer (audio) -> MediaFrame
//   RTCP:    SR/RR + SDES every ~second (RFC 3550 6.2, randomized), NACK and PLI when the receive side needs them;
//            incoming SR/RR (RTT), NACK (retransmission, as RTX when negotiated), PLI/FIR (KeyframeRequest).
// Sans-IO like the rest: time comes in with every call, output is polled.
#pragma once

#include "cc/bitrate_allocator.hpp"
#include "cc/goog_cc_network_controller.hpp"
#include "cc/pacer.hpp"
#include "cc/remote_estimator.hpp"
#include "cc/transport_feedback_adapter.hpp"
#include "rtcp/congestion_control_feedback.hpp"
#include "rtcp/receive_statistics.hpp"
#include "rtcp/transport_feedback.hpp"
#include "rtcp/sender_statistics.hpp"
#include "rtp/fec_ulpfec.hpp"
#include "rtp/flexfec_03.hpp"
#include "rtp/frame_buffer.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/nack_responder.hpp"
#include "rtp/packetizer.hpp"
#include "rtp/red.hpp"
#include "sdp/negotiator.hpp"

#include "core/ring_queue.hpp"

#include <rtcpp/random.hpp>
#include <rtcpp/session.hpp>
#include <rtcpp/stats.hpp>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp::pc {

struct OutgoingPacket {
    bool rtcp = false;
    std::vector<uint8_t> bytes; ///< plaintext; the Session protects it
};

class MediaEngine {
public:
    MediaEngine(Random& random, std::deque<SessionEvent>& events, bool raw_events, bool video_fec = true);
    ~MediaEngine();

    /// After every completed offer/answer: what each transceiver (by negotiator index) now sends and receives.
    /// Emits Track for transceivers that start receiving.
    void configure(Timestamp now, const sdp::Negotiated& negotiated, const std::vector<sdp::Transceiver>& transceivers,
                   const std::string& cname);
    /// Transceivers (negotiator indexes) that started receiving in the last configure() calls.
    std::vector<size_t> take_newly_receiving();

    Result<void> send_frame(Timestamp now, size_t transceiver, ByteView frame, uint32_t rtp_timestamp);
    /// Simulcast: a frame of the layer `rid` (media_engine_simulcast.cpp).
    Result<void> send_frame(Timestamp now, size_t transceiver, std::string_view rid, ByteView frame,
                            uint32_t rtp_timestamp);
    /// An encoding's bounds for the allocator; may come before the transceiver is negotiated.
    void set_send_encoding(size_t transceiver, const SendEncodingParameters& params);
    /// The simulcast layers negotiated for sending (lowest first).
    std::vector<std::string> send_rids(size_t transceiver) const;
    /// The allocation of the current target over every sending encoding (what the last TargetBitrate carried).
    std::vector<EncodingBitrate> allocation() const;
    Result<void> send_rtp(Timestamp now, size_t transceiver, ByteView packet);
    Result<void> send_rtcp(ByteView packet);
    Result<void> request_keyframe(size_t transceiver);
    /// One received simulcast layer (media_engine_simulcast.cpp).
    Result<void> request_keyframe(size_t transceiver, std::string_view rid);

    void handle_rtp(Timestamp now, ByteView packet);
    void handle_rtcp(Timestamp now, ByteView packet);
    void handle_timeout(Timestamp now);
    std::optional<OutgoingPacket> poll_packet();
    /// Hands a polled packet's buffer back once it is sent: the next packet is built in it (no allocation). Kept
    /// only if wants_buffer(its capacity): buffers of RTCP packets are too small and go.
    void recycle(std::vector<uint8_t>&& buffer);
    /// Packets are built in buffers of at least this capacity (a full-sized packet and its SRTP trailer).
    static constexpr size_t kPacketBufferSize = 1500;
    /// Whether recycle() should get a buffer of this capacity: its pool is bounded, and a smaller buffer (an RTCP
    /// or STUN packet's) would have to grow, an allocation on the packet path, when a packet is built in it.
    bool wants_buffer(size_t capacity) const {
        return capacity >= kPacketBufferSize && spare_buffers_.size() < kMaxSpareBuffers;
    }
    Timestamp poll_timeout() const;

    /// Send-side facts once negotiated (for TransceiverInfo).
    struct SendInfo {
        std::string codec;
        uint8_t payload_type = 0;
        uint32_t clock_rate = 0;
        std::string fmtp;
        size_t max_payload_size = 0;
    };
    std::optional<SendInfo> send_info(size_t transceiver) const;
    std::vector<RtpStats> stats() const;
    /// W3C codec, inbound-rtp, outbound-rtp, remote-inbound-rtp and remote-outbound-rtp objects (media_engine_stats.cpp).
    void collect_stats(Timestamp now, const std::string& transport_id, StatsReport& report) const;
    /// The congestion controller's current target (transport-wide feedback from the peer drives it).
    std::optional<DataRate> target_rate() const { return last_target_; }
    /// Datagrams that could not be attributed to any transceiver, or failed to parse.
    uint64_t dropped() const { return dropped_; }

private:
    struct Codec {
        std::string name;
        uint8_t pt = 0;
        uint32_t clock_rate = 0;
        std::optional<uint8_t> rtx_pt;
        bool nack = false;
        bool pli = false;
        bool remb = false;  ///< goog-remb: the receiver sends its estimate as REMB
        std::string fmtp;
        std::optional<uint16_t> channels;
    };
    struct Sender {
        uint32_t ssrc = 0;
        uint32_t rtx_ssrc = 0;
        Codec codec;
        std::unique_ptr<rtp::Packetizer> packetizer;
        uint16_t sequence = 0;
        std::unique_ptr<rtp::NackResponder> nack;
        std::unique_ptr<rtcp::SenderStatistics> stats;
        // Video FEC: ULPFEC in RED on the media SSRC, while choose_protection() asks for any.
        std::optional<uint8_t> red_pt, ulpfec_pt;    ///< both negotiated, and Configuration::video_fec
        std::unique_ptr<rtp::UlpfecEncoder> fec;
        double loss = 0;                             ///< smoothed fraction lost from the peer's reports
        double packets_per_frame = 4;                ///< smoothed, for the FEC group size
        uint64_t fec_packets = 0;
        // Video FEC as FlexFEC (flexfec-03) on its own SSRC and sequence space (a=ssrc-group:FEC-FR), when that is
        // the FEC negotiated (see configure() for the choice when ULPFEC is too).
        std::optional<uint8_t> flexfec_pt;
        uint32_t fec_ssrc = 0;
        uint16_t flexfec_seq = 0;
        std::unique_ptr<rtp::FlexfecEncoder> flexfec;
        uint64_t flexfec_packets = 0;  ///< on fec_ssrc (not in the media SSRC's packet count, unlike fec_packets)
        // Audio RED (RFC 2198) when red/48000/2 was negotiated over the Opus we send: each packet repeats the
        // previous frame (two when the measured loss is high).
        std::optional<uint8_t> audio_red_pt;
        std::unique_ptr<rtp::AudioRedEncoder> audio_red;
        std::optional<rtcp::ReportBlock> last_block;  ///< the peer's previous report on this stream (loss deltas)
        uint32_t last_rtp_timestamp = 0;              ///< for padding packets
    };
    struct Receiver;
    struct Transceiver {
        TransceiverId id = 0;
        size_t index = 0;  ///< negotiator index (a simulcast layer: its transceiver's)
        MediaKind kind = MediaKind::Audio;
        std::string mid;
        bool sending = false;
        bool receiving = false;
        std::optional<Sender> sender;
        std::vector<Codec> codecs; ///< what we may receive
        std::vector<uint32_t> remote_ssrcs;
        uint8_t mid_ext = 0, rid_ext = 0, rrid_ext = 0, twcc_ext = 0, abs_send_time_ext = 0;
        bool ccfb = false;  ///< RFC 8888 feedback agreed: both directions use it instead of transport-cc
        RtpStats stats;
        std::optional<TimeDelta> rtt;
        // Simulcast (media_engine_simulcast.cpp): a layer is a send-only Transceiver of its own (own sender, counters,
        // RTT) with the parent's negotiation and its rid; the parent then has no sender of its own.
        std::string rid;                              ///< set on a layer
        std::vector<Transceiver> layers;              ///< one per negotiated send rid, lowest first
        std::vector<SendEncodingParameters> encoding_params; ///< the application's bounds, by rid
        DataRate allocated = DataRate::zero();        ///< this stream's (or layer's) share of the target
        /// For W3C stats, beyond RtpStats (plain counters: nothing allocates per packet).
        struct SendCounters {
            uint64_t header_bytes = 0;
            uint64_t retransmitted_bytes = 0;
            uint32_t plis = 0, firs = 0;
            TimeDelta total_rtt = TimeDelta::zero();
            uint64_t rtt_measurements = 0;
        } send_counters;
        /// Where stamp_send_time() writes in this stream's packets, kept from the first one: the offset of the
        /// placeholder and the header bytes before it. A packet whose header starts the same way has it there too
        /// (no parse); any other is parsed, and becomes the kept layout.
        struct StampLayout {
            uint8_t id = 0;
            uint16_t offset = 0; ///< 0: none kept
            std::array<uint8_t, 64> prefix{}; ///< bytes 12..offset (the extension block up to the placeholder)
        } stamp_layout;
    };
    /// One incoming SSRC.
    struct Receiver {
        size_t transceiver = 0;
        uint32_t ssrc = 0;
        std::string rid;
        bool rtx = false;              ///< an RTX stream: unwrapped onto `media_ssrc`
        uint32_t media_ssrc = 0;
        std::optional<uint8_t> pt;     ///< the codec the decoders below were made for
        std::unique_ptr<rtp::FrameBuffer> frames;
        std::unique_ptr<rtp::Depacketizer> depacketizer;
        std::unique_ptr<rtp::NackGenerator> nack;
        std::unique_ptr<rtcp::StreamReceiveStatistics> stats;
        std::unique_ptr<rtp::UlpfecReceiver> ulpfec; ///< video RED (+ ULPFEC recovery), as Chromium sends it
        uint8_t ulpfec_pt = 0xFF;                    ///< the ulpfec payload type inside that RED, if negotiated
        // Audio RED: the newest frame timestamp given to the depacketizer, and the last frames filled in from
        // redundancy (a late original of one of them is not delivered twice).
        std::optional<uint32_t> red_newest;
        std::array<std::optional<uint32_t>, 4> red_filled{};
        size_t red_filled_next = 0;
        uint64_t last_request = 0;
        /// For W3C inbound-rtp / remote-outbound-rtp (plain counters: nothing allocates per packet).
        struct Counters {
            uint64_t header_bytes = 0;
            uint64_t retransmitted_packets = 0, retransmitted_bytes = 0;
            uint32_t frames = 0, nacks = 0, plis = 0;
            std::optional<Timestamp> last_packet;
            uint64_t sr_packets = 0, sr_octets = 0, sr_count = 0; ///< from the sender's last SR
        } counters;
    };

    Receiver* receiver_for(Timestamp now, const rtp::RtpPacketView& view);
    /// `count_received_packet`: false for a packet rebuilt from FEC (the receive statistics keep it lost).
    void deliver(Timestamp now, Receiver& r, const rtp::RtpPacketView& view, ByteView packet, bool retransmitted,
                 bool count_received_packet = true);
    void drain_receiver(Timestamp now, Receiver& r);
    void send_keyframe_request(Receiver& r);
    /// `history`: what a retransmission resends (the packet itself when empty; the plain media packet when the
    /// packet went out wrapped in RED).
    void send_rtp_packet(Timestamp now, Transceiver& t, std::vector<uint8_t> packet, size_t payload_bytes,
                         uint32_t rtp_timestamp, ByteView history = {});
    /// The next RTP header of t's sender: its SSRC and sequence number, the mid extension, and room for the
    /// transport-wide sequence number (congestion control) or abs-send-time (REMB peers), stamped at send time.
    rtp::RtpHeader next_header(Timestamp now, Transceiver& t, uint8_t payload_type, uint32_t rtp_timestamp,
                               bool marker);
    void update_protection(Transceiver& t);
    /// Every RTP packet we originate goes out through here: into the pacer when congestion control runs, else
    /// straight to the output.
    void emit_rtp(Timestamp now, Transceiver& t, std::vector<uint8_t> packet, cc::PacketKind kind);
    /// Moves what the pacer releases at `now` to the output (and answers its padding requests).
    void release_paced(Timestamp now);
    /// As the packet leaves: a fresh transport-wide sequence number (recorded for GCC, with its probe cluster) or
    /// abs-send-time. Retransmissions get new numbers too: the peer's feedback would otherwise report one number
    /// twice, the second arrival a round trip late.
    void stamp_send_time(Timestamp now, Transceiver& t, std::vector<uint8_t>& packet, cc::PacketKind kind,
                         const cc::PacedPacketInfo& pacing_info);
    /// The offset of extension `id` (`size` bytes) in one of t's packets: from t.stamp_layout, or parsed.
    static std::optional<size_t> stamp_offset(Transceiver& t, const std::vector<uint8_t>& packet, uint8_t id,
                                              size_t size);
    /// Padding-only packets on an RTX stream, about `size` in total: probe clusters need bytes when no media waits.
    void send_padding(Timestamp now, DataSize size, const cc::PacedPacketInfo& pacing_info);
    void send_fec(Timestamp now, Transceiver& t, uint32_t rtp_timestamp);
    // FlexFEC (media_engine_flexfec.cpp).
    void configure_flexfec(size_t index, const sdp::NegotiatedMedia& nm, const sdp::Transceiver& st);
    void send_flexfec(Timestamp now, Transceiver& t);
    /// A packet on a negotiated FlexFEC SSRC: true if it was one (then it is consumed).
    bool handle_flexfec(Timestamp now, const rtp::RtpPacketView& view, ByteView packet);
    /// A media packet as it arrived on a stream FlexFEC protects (not retransmissions: their headers changed).
    void protect_received(Timestamp now, const Receiver& r, ByteView packet);
    // Audio RED (media_engine_red.cpp).
    void configure_audio_red(size_t index);
    void send_audio_red(Timestamp now, Transceiver& t, const rtp::RtpPayload& p, uint32_t rtp_timestamp);
    /// Fills frames lost before this RED packet from its redundant blocks. False if its primary is not newer than
    /// what was handed over already (a duplicate, or a late original of a filled frame): then it is not delivered.
    bool recover_audio_red(Timestamp now, Receiver& r, const rtp::RtpPacketView& red);
    struct FlexfecStream {
        size_t transceiver = 0;
        uint32_t media_ssrc = 0;
        uint8_t pt = 0;
        std::unique_ptr<rtp::FlexfecReceiver> fec;
        /// The last FEC packet of this stream: media is stored for recovery only while FEC is coming (storing
        /// copies every packet, a cost for the many peers that negotiate FlexFEC and never send it).
        std::optional<Timestamp> last_fec;
    };
    void drain_flexfec(Timestamp now, FlexfecStream& s);
    std::map<uint32_t, FlexfecStream> flexfec_rx_;  ///< by FEC SSRC
    static constexpr size_t kMaxFlexfecStreams = 16;
    /// An RTP packet in a recycled buffer, with room for the SRTP trailer.
    std::vector<uint8_t> build_packet(const rtp::RtpHeader& h, ByteView payload);
    void send_report(Timestamp now);
    void schedule_report(Timestamp now);
    const Codec* codec_for(const Transceiver& t, uint8_t pt) const;
    // W3C stats counting (media_engine_stats.cpp).
    static void count_received(Receiver& r, Timestamp now, size_t packet_bytes, size_t payload_bytes,
                               bool retransmitted);
    static void count_sender_report(Receiver& r, const rtcp::SenderReport& sr);
    static void count_retransmission(Transceiver& t, ByteView packet);
    uint32_t local_ssrc() const;
    // Simulcast and allocation (media_engine_simulcast.cpp).
    void configure_layers(Transceiver& t, const std::vector<std::string>& rids);
    /// The negotiated send rids lowest first: the SDP (and the transceiver's encodings) list them highest first.
    static std::vector<std::string> layer_order(const std::vector<std::string>& negotiated, const sdp::Transceiver& st);
    Sender make_layer_sender(const Transceiver& layer, const Codec& codec);
    uint32_t unused_ssrc();
    /// Every stream we send on: transceivers with a sender, and simulcast layers.
    template <class F>
    void for_each_send_stream(F&& f) {
        for (auto& t : transceivers_) {
            if (t.sender) f(t);
            for (auto& l : t.layers)
                if (l.sender) f(l);
        }
    }
    /// Splits `target` over the sending streams into pending_allocation_; true if that switches a layer (or stream)
    /// on or off. commit_allocation() makes it the streams' `allocated` (what the next TargetBitrate event tells).
    bool allocate(DataRate target);
    /// Commits the pending allocation; true if any rate changed.
    bool commit_allocation();
    /// After configure() or set_send_encoding(): a new allocation of the current target, announced if it changed.
    void reallocate();
    /// With simulcast: what all our streams could use at most (the layers' maxima), for GCC's probe controller,
    /// which then probes no further than twice that and probes again when it grows (libwebrtc's
    /// max_total_allocated_bitrate). Without simulcast a single video stream has no maximum: nothing is reported.
    void report_max_allocation(Timestamp now);
    /// A retransmission of a simulcast layer's packet on its RTX SSRC carries repaired-rid instead of rid.
    void mark_repaired_rid(const Transceiver& layer, std::vector<uint8_t>& packet);
    Result<void> send_frame_on(Timestamp now, Transceiver& t, ByteView frame, uint32_t rtp_timestamp);

    Random& random_;
    std::deque<SessionEvent>& events_;
    bool raw_events_;
    bool video_fec_;
    std::vector<uint8_t> red_payload_;      // scratch: a RED block header and the payload it wraps
    std::vector<Transceiver> transceivers_; // by negotiator index
    std::map<uint32_t, std::unique_ptr<Receiver>> receivers_;
    RingQueue<OutgoingPacket> out_; // not a deque: no block allocations as packets pass through
    // Send-path buffers reused from packet to packet: the packetizer's payloads, and sent packets given back
    // through recycle() (bounded: a 40 kB keyframe is ~37 packets).
    std::vector<rtp::RtpPayload> payloads_;
    std::vector<std::vector<uint8_t>> spare_buffers_;
    static constexpr size_t kMaxSpareBuffers = 64;
    std::string cname_;
    Timestamp next_report_ = Timestamp::plus_infinity();
    uint32_t fallback_ssrc_ = 0;
    uint64_t dropped_ = 0;
    // Congestion control (send side): transport-wide sequence numbers on everything we send, the peer's feedback
    // into GCC, target-rate events out.
    void handle_cc_update(cc::NetworkControlUpdate update);
    void record_sent(Timestamp now, uint16_t transport_seq, size_t bytes, cc::PacketKind kind,
                     const cc::PacedPacketInfo& pacing_info);
    std::unique_ptr<cc::GoogCcNetworkController> cc_;
    cc::TransportFeedbackAdapter feedback_adapter_;
    uint16_t transport_seq_ = 1;
    Timestamp next_cc_process_ = Timestamp::plus_infinity();
    std::optional<DataRate> last_target_;
    std::optional<event::TargetBitrate> last_target_event_;
    cc::BitrateAllocator allocator_;
    std::optional<DataRate> allocated_for_; ///< the target the current allocation was made for
    bool allocation_dirty_ = true;          ///< senders or bounds changed since
    std::vector<std::pair<Transceiver*, DataRate>> pending_allocation_; ///< valid until the next configure()
    DataRate max_allocation_reported_ = DataRate::zero();
    // Pacing: packets wait in slots (indexed by the pacer's id; buffers reused, so queueing does not allocate).
    struct PacedSlot {
        std::vector<uint8_t> bytes;
        size_t transceiver = 0;
    };
    std::unique_ptr<cc::Pacer> pacer_;
    /// Probes wait for the first media packet (a probe of nothing but padding before the call has media would
    /// measure a path nobody uses yet); padding stops when the application has not sent for a while.
    std::optional<Timestamp> last_media_enqueued_;
    std::vector<cc::ProbeClusterConfig> pending_probes_;
    static constexpr TimeDelta kPaddingAfterMedia = TimeDelta::seconds(1);
    std::vector<PacedSlot> paced_;
    std::vector<uint64_t> free_paced_;
    // Path loss from transport-wide feedback (before NACK/FEC repair): what the FEC level is chosen from.
    uint64_t twcc_reported_ = 0, twcc_lost_ = 0;
    std::optional<double> path_loss_;
    /// Feedback (transport-cc or RFC 8888, already in transport-wide numbers) into GCC and the FEC loss figure.
    void handle_transport_feedback(Timestamp now, const cc::TransportFeedback& feedback);
    // RFC 8888 (send side): the feedback names packets by SSRC and RTP sequence number, so every sent packet gets
    // an internal transport-wide number (never on the wire), remembered per SSRC in a ring indexed by sequence.
    struct CcfbSent {
        uint16_t sequence = 0;
        uint16_t transport_seq = 0;
        bool valid = false;
    };
    struct CcfbStream {
        uint32_t ssrc = 0;
        std::vector<CcfbSent> ring;  ///< kCcfbRing entries
    };
    static constexpr size_t kCcfbRing = 4096;
    static constexpr size_t kMaxCcfbStreams = 32;
    std::vector<CcfbStream> ccfb_sent_;
    void record_ccfb_sent(uint32_t ssrc, uint16_t sequence, uint16_t transport_seq);
    void handle_ccfb(Timestamp now, const rtcp::CongestionControlFeedback& feedback);
    // RFC 8888 (receive side): arrivals since the last report, sent with the transport-wide feedback's timer.
    struct CcfbArrival {
        uint32_t ssrc = 0;
        uint16_t sequence = 0;
        Timestamp arrival;
    };
    std::vector<CcfbArrival> ccfb_received_;
    void send_ccfb(Timestamp now);
    // Transport-wide feedback (receive side): what arrived since the last feedback, sent every 100 ms.
    void send_transport_feedback(Timestamp now);
    std::vector<rtcp::TransportFeedback::Packet> twcc_received_;
    Timestamp next_twcc_feedback_ = Timestamp::plus_infinity();
    uint8_t twcc_count_ = 0;
    uint32_t twcc_media_ssrc_ = 0;
    std::vector<size_t> newly_receiving_;
    // Receive side for peers that want REMB instead of transport-wide feedback.
    void send_remb(DataRate rate);
    std::unique_ptr<cc::RemoteEstimator> remote_estimator_;
    static constexpr size_t kMaxReceivers = 64; // incoming SSRCs tracked (bounded against SSRC floods)
};

} // namespace rtcpp::pc
