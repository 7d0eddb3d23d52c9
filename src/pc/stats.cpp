#include <rtcpp/stats.hpp>

#include <charconv>
#include <cstdio>

namespace rtcpp {

namespace {

// Writes the members of one JSON object; W3C names are given by the caller, values in W3C units.
class JsonObject {
public:
    explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
    ~JsonObject() { out_ += '}'; }
    JsonObject(const JsonObject&) = delete;
    JsonObject& operator=(const JsonObject&) = delete;

    void str(std::string_view name, std::string_view v) {
        key(name);
        quoted(v);
    }
    /// Left out when empty.
    void str_nonempty(std::string_view name, std::string_view v) {
        if (!v.empty()) str(name, v);
    }
    void opt_str(std::string_view name, const std::optional<std::string>& v) {
        if (v) str(name, *v);
    }
    void boolean(std::string_view name, bool v) {
        key(name);
        out_ += v ? "true" : "false";
    }
    template <class I>
    void integer(std::string_view name, I v) {
        key(name);
        append_integer(v);
    }
    template <class I>
    void integer(std::string_view name, const std::optional<I>& v) {
        if (v) integer(name, *v);
    }
    void number(std::string_view name, double v) {
        key(name);
        // JSON has no NaN or infinity. Whole numbers as integers (the shortest form of 300000.0 is "3e+05", which
        // reads badly next to a browser's dump); others in the shortest round-trip form.
        if (v != v || v - v != 0) {
            out_ += "null";
        } else if (v > -1e15 && v < 1e15 && v == static_cast<double>(static_cast<int64_t>(v))) {
            append_integer(static_cast<int64_t>(v));
        } else {
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, v);
            out_.append(buf, r.ptr);
        }
    }
    void millis(std::string_view name, Timestamp t) { number(name, static_cast<double>(t.us()) / 1e3); }
    void millis(std::string_view name, const std::optional<Timestamp>& t) {
        if (t) millis(name, *t);
    }
    void seconds(std::string_view name, TimeDelta d) { number(name, static_cast<double>(d.us()) / 1e6); }
    void seconds(std::string_view name, const std::optional<TimeDelta>& d) {
        if (d) seconds(name, *d);
    }
    void bps(std::string_view name, const std::optional<DataRate>& r) {
        if (r && r->is_finite()) integer(name, r->bps());
    }

    void key(std::string_view name) {
        if (!first_) out_ += ',';
        first_ = false;
        quoted(name);
        out_ += ':';
    }

    void quoted(std::string_view s) {
        out_ += '"';
        for (const char c : s) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (u < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", u);
                out_ += buf;
            } else {
                out_ += c; // UTF-8 passes through as it is
            }
        }
        out_ += '"';
    }

private:
    template <class I>
    void append_integer(I v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, r.ptr);
    }

    std::string& out_;
    bool first_ = true;
};

void rtp_stream(JsonObject& j, const RtpStreamStats& s) {
    j.integer("ssrc", s.ssrc);
    j.str("kind", s.kind);
    j.str("transportId", s.transport_id);
    j.str_nonempty("codecId", s.codec_id);
}

void members(JsonObject& j, const CodecStats& s) {
    j.integer("payloadType", s.payload_type);
    j.str("transportId", s.transport_id);
    j.str("mimeType", s.mime_type);
    j.integer("clockRate", s.clock_rate);
    j.integer("channels", s.channels);
    j.str_nonempty("sdpFmtpLine", s.sdp_fmtp_line);
}

void members(JsonObject& j, const InboundRtpStats& s) {
    rtp_stream(j, s);
    j.str_nonempty("mid", s.mid);
    j.str_nonempty("rid", s.rid);
    j.str_nonempty("remoteId", s.remote_id);
    j.integer("packetsReceived", s.packets_received);
    j.integer("packetsLost", s.packets_lost);
    j.seconds("jitter", s.jitter);
    j.integer("bytesReceived", s.bytes_received);
    j.integer("headerBytesReceived", s.header_bytes_received);
    j.millis("lastPacketReceivedTimestamp", s.last_packet_received_timestamp);
    j.integer("retransmittedPacketsReceived", s.retransmitted_packets_received);
    j.integer("retransmittedBytesReceived", s.retransmitted_bytes_received);
    j.integer("rtxSsrc", s.rtx_ssrc);
    j.integer("framesReceived", s.frames_received);
    j.integer("nackCount", s.nack_count);
    j.integer("pliCount", s.pli_count);
    j.integer("firCount", s.fir_count);
}

void members(JsonObject& j, const OutboundRtpStats& s) {
    rtp_stream(j, s);
    j.str_nonempty("mid", s.mid);
    j.str_nonempty("rid", s.rid);
    j.str_nonempty("remoteId", s.remote_id);
    j.integer("packetsSent", s.packets_sent);
    j.integer("bytesSent", s.bytes_sent);
    j.integer("headerBytesSent", s.header_bytes_sent);
    j.integer("retransmittedPacketsSent", s.retransmitted_packets_sent);
    j.integer("retransmittedBytesSent", s.retransmitted_bytes_sent);
    j.integer("rtxSsrc", s.rtx_ssrc);
    j.integer("framesSent", s.frames_sent);
    j.integer("nackCount", s.nack_count);
    j.integer("pliCount", s.pli_count);
    j.integer("firCount", s.fir_count);
    j.bps("targetBitrate", s.target_bitrate);
    j.boolean("active", s.active);
}

void members(JsonObject& j, const RemoteInboundRtpStats& s) {
    rtp_stream(j, s);
    j.str("localId", s.local_id);
    j.integer("packetsLost", s.packets_lost);
    j.seconds("jitter", s.jitter);
    j.number("fractionLost", s.fraction_lost);
    j.seconds("roundTripTime", s.round_trip_time);
    j.seconds("totalRoundTripTime", s.total_round_trip_time);
    j.integer("roundTripTimeMeasurements", s.round_trip_time_measurements);
}

void members(JsonObject& j, const RemoteOutboundRtpStats& s) {
    rtp_stream(j, s);
    j.str("localId", s.local_id);
    j.integer("packetsSent", s.packets_sent);
    j.integer("bytesSent", s.bytes_sent);
    j.integer("reportsSent", s.reports_sent);
}

void members(JsonObject& j, const IceCandidateStats& s) {
    j.str("transportId", s.transport_id);
    j.str("address", s.address);
    j.integer("port", s.port);
    j.str("protocol", s.protocol);
    j.str("candidateType", s.candidate_type);
    j.integer("priority", s.priority);
    j.str("foundation", s.foundation);
    j.opt_str("relatedAddress", s.related_address);
    j.integer("relatedPort", s.related_port);
    j.opt_str("usernameFragment", s.username_fragment);
    j.opt_str("tcpType", s.tcp_type);
}

void members(JsonObject& j, const CandidatePairStats& s) {
    j.str("transportId", s.transport_id);
    j.str("localCandidateId", s.local_candidate_id);
    j.str("remoteCandidateId", s.remote_candidate_id);
    j.str("state", s.state);
    j.boolean("nominated", s.nominated);
    j.integer("packetsSent", s.packets_sent);
    j.integer("packetsReceived", s.packets_received);
    j.integer("bytesSent", s.bytes_sent);
    j.integer("bytesReceived", s.bytes_received);
    j.seconds("totalRoundTripTime", s.total_round_trip_time);
    j.seconds("currentRoundTripTime", s.current_round_trip_time);
    j.bps("availableOutgoingBitrate", s.available_outgoing_bitrate);
    j.integer("requestsReceived", s.requests_received);
    j.integer("requestsSent", s.requests_sent);
    j.integer("responsesReceived", s.responses_received);
    j.integer("responsesSent", s.responses_sent);
    j.integer("consentRequestsSent", s.consent_requests_sent);
}

void members(JsonObject& j, const TransportStats& s) {
    j.integer("packetsSent", s.packets_sent);
    j.integer("packetsReceived", s.packets_received);
    j.integer("bytesSent", s.bytes_sent);
    j.integer("bytesReceived", s.bytes_received);
    j.opt_str("iceRole", s.ice_role);
    j.opt_str("iceLocalUsernameFragment", s.ice_local_username_fragment);
    j.str("dtlsState", s.dtls_state);
    j.str("iceState", s.ice_state);
    j.opt_str("selectedCandidatePairId", s.selected_candidate_pair_id);
    j.opt_str("tlsVersion", s.tls_version);
    j.opt_str("dtlsCipher", s.dtls_cipher);
    j.opt_str("dtlsRole", s.dtls_role);
    j.opt_str("srtpCipher", s.srtp_cipher);
    j.integer("selectedCandidatePairChanges", s.selected_candidate_pair_changes);
}

void members(JsonObject& j, const DataChannelStats& s) {
    j.str("label", s.label);
    j.str("protocol", s.protocol);
    j.integer("dataChannelIdentifier", s.data_channel_identifier);
    j.str("state", s.state);
    j.integer("messagesSent", s.messages_sent);
    j.integer("bytesSent", s.bytes_sent);
    j.integer("messagesReceived", s.messages_received);
    j.integer("bytesReceived", s.bytes_received);
}

void members(JsonObject& j, const PeerConnectionStats& s) {
    j.integer("dataChannelsOpened", s.data_channels_opened);
    j.integer("dataChannelsClosed", s.data_channels_closed);
}

} // namespace

std::string_view stats_type(const StatsObject& s) {
    return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kType; }, s);
}

const StatsBase& stats_base(const StatsObject& s) {
    return std::visit([](const auto& o) -> const StatsBase& { return o; }, s);
}

const StatsObject* StatsReport::find(std::string_view id) const {
    for (const auto& o : objects)
        if (stats_base(o).id == id) return &o;
    return nullptr;
}

std::string StatsReport::to_json() const {
    std::string out;
    out.reserve(objects.size() * 400);
    {
        JsonObject report(out);
        for (const auto& o : objects) {
            const StatsBase& base = stats_base(o);
            report.key(base.id);
            JsonObject j(out);
            j.str("id", base.id);
            j.str("type", stats_type(o));
            j.millis("timestamp", base.timestamp);
            std::visit([&](const auto& s) { members(j, s); }, o);
        }
    }
    return out;
}

} // namespace rtcpp
