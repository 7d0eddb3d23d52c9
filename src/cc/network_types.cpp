#include "cc/network_types.hpp"

#include <algorithm>

namespace rtcpp::cc {

std::vector<PacketResult> TransportPacketsFeedback::received_with_send_info() const {
    std::vector<PacketResult> out;
    for (const auto& p : packet_feedbacks)
        if (p.is_received()) out.push_back(p);
    return out;
}

std::vector<PacketResult> TransportPacketsFeedback::lost_with_send_info() const {
    std::vector<PacketResult> out;
    for (const auto& p : packet_feedbacks)
        if (!p.is_received()) out.push_back(p);
    return out;
}

std::vector<PacketResult> TransportPacketsFeedback::sorted_by_receive_time() const {
    std::vector<PacketResult> out = received_with_send_info();
    std::stable_sort(out.begin(), out.end(), [](const PacketResult& a, const PacketResult& b) {
        if (a.receive_time != b.receive_time) return a.receive_time < b.receive_time;
        return a.sent_packet.sequence_number < b.sent_packet.sequence_number;
    });
    return out;
}

void NetworkControlUpdate::merge(NetworkControlUpdate&& later) {
    if (later.target_rate) target_rate = later.target_rate;
    if (later.pacer_config) pacer_config = later.pacer_config;
    for (auto& c : later.probe_cluster_configs) probe_cluster_configs.push_back(c);
}

} // namespace rtcpp::cc
