// rtcpp::StatsReport: its JSON form (escaping, W3C units, unknown members left out) and PeerConnection::get_stats
// over real UDP on 127.0.0.1, called from another thread and from inside a callback.
#include "../e2e/json_value.hpp"

#include <rtcpp/peer_connection.hpp>
#include <rtcpp/stats.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

using namespace rtcpp;
using namespace rtcpp::test;
using namespace std::chrono_literals;

TEST_CASE("StatsReport::to_json: W3C names and units, escaped strings, unknown members left out") {
    StatsReport r;
    r.timestamp = Timestamp::micros(1'234'567);

    DataChannelStats d;
    d.id = "D1";
    d.timestamp = r.timestamp;
    d.label = "a \"quoted\" back\\slash\nnew line \x01 caf\xC3\xA9";
    d.state = "open";
    d.messages_sent = 3;
    d.bytes_sent = 10;
    r.objects.push_back(d);

    InboundRtpStats in;
    in.id = "IT01V42";
    in.timestamp = r.timestamp;
    in.ssrc = 42;
    in.kind = "video";
    in.transport_id = "T01";
    in.codec_id = "CT01_96";
    in.packets_received = 100;
    in.packets_lost = -2; // duplicates, as RFC 3550 counts
    in.jitter = TimeDelta::micros(1500);
    r.objects.push_back(in);

    OutboundRtpStats out;
    out.id = "OT01A7";
    out.timestamp = r.timestamp;
    out.ssrc = 7;
    out.kind = "audio";
    out.transport_id = "T01";
    out.target_bitrate = DataRate::kbps(300);
    out.active = false;
    r.objects.push_back(out);

    RemoteInboundRtpStats ri;
    ri.id = "RIA7";
    ri.timestamp = r.timestamp;
    ri.local_id = "OT01A7";
    ri.round_trip_time = TimeDelta::millis(40);
    ri.fraction_lost = 0.25;
    r.objects.push_back(ri);

    const std::string json = r.to_json();
    INFO(json);
    CHECK(json.find(R"("D1":{"id":"D1","type":"data-channel","timestamp":1234.567,)") != std::string::npos);
    CHECK(json.find(R"("label":"a \"quoted\" back\\slash\u000anew line \u0001 caf)" "\xC3\xA9\"") != std::string::npos);
    CHECK(json.find(R"("packetsLost":-2)") != std::string::npos);
    CHECK(json.find(R"("jitter":0.0015)") != std::string::npos);
    CHECK(json.find(R"("targetBitrate":300000)") != std::string::npos);
    CHECK(json.find(R"("active":false)") != std::string::npos);
    CHECK(json.find(R"("roundTripTime":0.04)") != std::string::npos);
    CHECK(json.find(R"("fractionLost":0.25)") != std::string::npos);
    // Not known: not written (a browser leaves such members out too).
    CHECK(json.find("lastPacketReceivedTimestamp") == std::string::npos);
    CHECK(json.find("framesReceived") == std::string::npos);
    CHECK(json.find("dataChannelIdentifier") == std::string::npos);
    CHECK(json.find("remoteId") == std::string::npos);
    CHECK(json.find("\"rid\"") == std::string::npos);

    const auto v = JsonReader::parse(json);
    REQUIRE(v);
    REQUIRE(v->keys.size() == 4);
    CHECK(v->get("D1")->get("label")->string == d.label);
    CHECK(v->get("IT01V42")->get("ssrc")->number == 42);
    CHECK(v->get("OT01A7")->get("type")->string == "outbound-rtp");

    // Typed access.
    CHECK(r.get<InboundRtpStats>("IT01V42")->ssrc == 42);
    CHECK(r.get<OutboundRtpStats>("IT01V42") == nullptr);
    CHECK(r.find("nope") == nullptr);
    CHECK(r.all<OutboundRtpStats>().size() == 1);
    CHECK(stats_type(r.objects[3]) == "remote-inbound-rtp");
    CHECK(stats_base(r.objects[3]).id == "RIA7");

    // Every type has its W3C RTCStatsType name.
    CHECK(stats_type(StatsObject{CodecStats{}}) == "codec");
    CHECK(stats_type(StatsObject{RemoteOutboundRtpStats{}}) == "remote-outbound-rtp");
    CHECK(stats_type(StatsObject{LocalCandidateStats{}}) == "local-candidate");
    CHECK(stats_type(StatsObject{RemoteCandidateStats{}}) == "remote-candidate");
    CHECK(stats_type(StatsObject{CandidatePairStats{}}) == "candidate-pair");
    CHECK(stats_type(StatsObject{TransportStats{}}) == "transport");
    CHECK(stats_type(StatsObject{PeerConnectionStats{}}) == "peer-connection");

    // An empty report is an empty object.
    CHECK(StatsReport{}.to_json() == "{}");
}

namespace {

Configuration loopback_config() {
    Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    return c;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return done();
}

} // namespace

TEST_CASE("PeerConnection::get_stats from another thread and from inside a callback") {
    auto a = PeerConnection::create(loopback_config());
    auto b = PeerConnection::create(loopback_config());
    REQUIRE((a && b));
    auto& pa = **a;
    auto& pb = **b;
    CHECK(pa.get_stats().get<TransportStats>("T01")->dtls_state == "new");

    std::mutex m;
    std::shared_ptr<DataChannel> remote;
    std::atomic<int> received{0};
    std::atomic<bool> in_callback_ok{false};
    pb.on_data_channel([&](std::shared_ptr<DataChannel> ch) {
        ch->on_message([&](std::span<const uint8_t>, bool) {
            // On the loop thread: get_stats runs inline instead of waiting for the loop (which would deadlock).
            const StatsReport r = pb.get_stats();
            const auto dcs = r.all<DataChannelStats>();
            if (dcs.size() == 1 && dcs[0]->messages_received == static_cast<uint32_t>(received.load() + 1))
                in_callback_ok = true;
            ++received;
        });
        std::lock_guard l(m);
        remote = ch;
    });
    auto ch = pa.create_data_channel("stats");
    REQUIRE(ch);
    std::atomic<bool> open{false};
    (*ch)->on_open([&] { open = true; });
    pa.on_local_candidate([&pb](const IceCandidate& c) { (void)pb.add_ice_candidate(c); });
    pb.on_local_candidate([&pa](const IceCandidate& c) { (void)pa.add_ice_candidate(c); });
    auto offer = pa.create_offer();
    REQUIRE(offer);
    REQUIRE(pa.set_local_description(*offer));
    REQUIRE(pb.set_remote_description(*offer));
    auto answer = pb.create_answer();
    REQUIRE(answer);
    REQUIRE(pb.set_local_description(*answer));
    REQUIRE(pa.set_remote_description(*answer));
    REQUIRE(wait_for([&] { return open.load(); }));
    for (int i = 0; i < 4; ++i) REQUIRE((*ch)->send("hello " + std::to_string(i)));
    REQUIRE(wait_for([&] { return received.load() == 4; }));
    CHECK(in_callback_ok.load());

    // From this (non-loop) thread, while the loop runs.
    const StatsReport ra = pa.get_stats();
    const auto* t = ra.get<TransportStats>("T01");
    REQUIRE(t);
    CHECK(t->dtls_state == "connected");
    REQUIRE(t->selected_candidate_pair_id);
    const auto* pair = ra.get<CandidatePairStats>(*t->selected_candidate_pair_id);
    REQUIRE(pair);
    CHECK(pair->state == "succeeded");
    CHECK(ra.get<LocalCandidateStats>(pair->local_candidate_id)->address == "127.0.0.1");
    const auto dcs = ra.all<DataChannelStats>();
    REQUIRE(dcs.size() == 1);
    CHECK(dcs[0]->label == "stats");
    CHECK(dcs[0]->messages_sent == 4);
    CHECK(dcs[0]->bytes_sent == 4 * 7);
    CHECK(ra.get<PeerConnectionStats>("P")->data_channels_opened == 1);
    // Timestamps are the runtime's monotonic clock: a later report is later.
    std::this_thread::sleep_for(5ms);
    CHECK(pa.get_stats().timestamp > ra.timestamp);
    const auto v = JsonReader::parse(ra.to_json());
    REQUIRE(v);
    CHECK(v->keys.size() == ra.objects.size());

    pa.close();
    CHECK(pa.get_stats().timestamp >= ra.timestamp); // still answers after close
}
