// W3C stats of the ICE/DTLS side of a Session (transport, candidate-pair, local-candidate, remote-candidate), built
// from the ICE agent's pair statistics when a report is asked for.
#pragma once

#include "dtls/srtp_keys.hpp"
#include "ice/agent.hpp"

#include <rtcpp/stats.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcpp::pc {

/// "IL<hex>" or "IR<hex>": a hash of what identifies the candidate (type, transport, address), stable across reports.
std::string candidate_stats_id(bool local, const ice::Candidate& c);

/// Adds every candidate pair and every candidate (announced local ones, the remote ones, and those the pairs use),
/// and fills the transport's ICE members (role, ufrag, selected pair). `available_outgoing_bitrate` goes on the
/// selected pair.
void collect_ice_stats(const ice::Agent& agent, const std::vector<ice::Candidate>& local_candidates,
                       std::optional<DataRate> available_outgoing_bitrate, Timestamp now, StatsReport& report,
                       TransportStats& transport);

/// IANA cipher suite name of an OpenSSL cipher name rtcpp's DTLS offers; nullopt for others.
std::optional<std::string> iana_dtls_cipher(std::string_view openssl_name);
/// IANA SRTP protection profile name ("AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80").
std::string_view iana_srtp_cipher(dtls::SrtpProfile profile);

} // namespace rtcpp::pc
