#include "pc/transport_stats.hpp"

#include <array>
#include <utility>

namespace rtcpp::pc {

std::string candidate_stats_id(bool local, const ice::Candidate& c) {
    // FNV-1a, so ids are the same in every run (reproducible simulated tests, diffable dumps). The priority is left
    // out: a peer-reflexive candidate's may be revised.
    uint32_t h = 2166136261u;
    auto mix = [&](std::string_view s) {
        for (const char ch : s) {
            h ^= static_cast<unsigned char>(ch);
            h *= 16777619u;
        }
        h ^= 0xFF;
        h *= 16777619u;
    };
    mix(ice::to_string(c.type));
    mix(ice::to_string(c.transport));
    mix(c.is_mdns() ? c.hostname : c.address.to_string());
    if (c.tcp_type) mix(ice::to_string(*c.tcp_type));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = local ? "IL" : "IR";
    for (int shift = 28; shift >= 0; shift -= 4) id += kHex[(h >> shift) & 0xF];
    return id;
}

namespace {

template <class T>
void add_candidate(StatsReport& report, const ice::Candidate& c, bool local, const std::string& transport_id,
                   Timestamp now, const std::optional<std::string>& ufrag) {
    std::string id = candidate_stats_id(local, c);
    if (report.find(id)) return;
    T s;
    s.id = std::move(id);
    s.timestamp = now;
    s.transport_id = transport_id;
    s.address = c.is_mdns() ? c.hostname : c.address.ip().to_string();
    s.port = c.address.port();
    s.protocol = std::string(ice::to_string(c.transport));
    s.candidate_type = std::string(ice::to_string(c.type));
    s.priority = c.priority;
    s.foundation = c.foundation;
    if (c.related) {
        s.related_address = c.related->ip().to_string();
        s.related_port = c.related->port();
    }
    s.username_fragment = ufrag;
    if (c.tcp_type) s.tcp_type = std::string(ice::to_string(*c.tcp_type));
    report.objects.push_back(std::move(s));
}

} // namespace

void collect_ice_stats(const ice::Agent& agent, const std::vector<ice::Candidate>& local_candidates,
                       std::optional<DataRate> available_outgoing_bitrate, Timestamp now, StatsReport& report,
                       TransportStats& transport) {
    const std::string& tid = transport.id;
    const std::string ufrag = agent.local_credentials().ufrag;
    transport.ice_role = agent.role() == ice::Role::Controlling ? "controlling" : "controlled";
    transport.ice_local_username_fragment = ufrag;
    for (const auto& p : agent.pair_stats()) {
        CandidatePairStats s;
        s.local_candidate_id = candidate_stats_id(true, p.local);
        s.remote_candidate_id = candidate_stats_id(false, p.remote);
        s.id = "CP" + s.local_candidate_id + "_" + s.remote_candidate_id;
        s.timestamp = now;
        s.transport_id = tid;
        s.state = std::string(ice::to_string(p.state));
        s.nominated = p.nominated;
        s.packets_sent = p.packets_sent;
        s.packets_received = p.packets_received;
        s.bytes_sent = p.bytes_sent;
        s.bytes_received = p.bytes_received;
        s.total_round_trip_time = p.total_rtt;
        if (p.responses_received > 0) s.current_round_trip_time = p.current_rtt;
        s.requests_received = p.requests_received;
        s.requests_sent = p.requests_sent;
        s.responses_received = p.responses_received;
        s.responses_sent = p.responses_sent;
        s.consent_requests_sent = p.consent_requests_sent;
        if (p.selected) {
            transport.selected_candidate_pair_id = s.id;
            s.available_outgoing_bitrate = available_outgoing_bitrate;
        }
        const bool duplicate = report.find(s.id) != nullptr; // two bases mapping to one candidate: keep the first
        if (!duplicate) report.objects.push_back(std::move(s));
        add_candidate<LocalCandidateStats>(report, p.local, true, tid, now, ufrag);
        add_candidate<RemoteCandidateStats>(report, p.remote, false, tid, now, std::nullopt);
    }
    for (const auto& c : local_candidates) add_candidate<LocalCandidateStats>(report, c, true, tid, now, ufrag);
    for (const auto& c : agent.remote_candidates())
        add_candidate<RemoteCandidateStats>(report, c, false, tid, now, std::nullopt);
}

std::optional<std::string> iana_dtls_cipher(std::string_view openssl_name) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kNames{{
        {"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
        {"ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
        {"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
        {"ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
        {"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
        {"ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
        {"ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
        {"ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
        {"ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
        {"ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    }};
    for (const auto& [openssl, iana] : kNames)
        if (openssl == openssl_name) return std::string(iana);
    return std::nullopt;
}

std::string_view iana_srtp_cipher(dtls::SrtpProfile profile) {
    switch (profile) {
    case dtls::SrtpProfile::Aes128CmSha1_80: return "AES_CM_128_HMAC_SHA1_80";
    case dtls::SrtpProfile::AeadAes128Gcm: return "AEAD_AES_128_GCM";
    }
    return "";
}

} // namespace rtcpp::pc
