#include "sctp/sctp_stack.hpp"

#include <rtcpp/log.hpp>

#include <usrsctp.h>

#include <algorithm>

namespace rtcpp::sctp {

namespace {

// Large enough that most messages arrive in one usrsctp_recvv; bigger ones are reassembled (MSG_EOR).
constexpr size_t kReceiveBufferSize = 256 * 1024;

// Socket buffers sized for a high bandwidth-delay product: usrsctp's defaults (256 KiB) cap a 100 ms path at
// ~2.5 MB/s. These are limits, not allocations: memory is only used by data actually in flight.
constexpr uint32_t kSendSpace = SctpStack::kSendSpace;
constexpr uint32_t kRecvSpace = SctpStack::kRecvSpace;

void apply_sysctls() {
    usrsctp_sysctl_set_sctp_sendspace(kSendSpace);
    usrsctp_sysctl_set_sctp_recvspace(kRecvSpace);
    // Browsers do not use ECN on data channels and DTLS hides the IP header anyway.
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    // PR-SCTP for maxRetransmits/maxPacketLifeTime, RE-CONFIG for closing channels (RFC 8831 §6.7).
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    // DTLS already authenticates every packet; ASCONF needs AUTH and makes no sense over a single AF_CONN path.
    usrsctp_sysctl_set_sctp_auth_enable(0);
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    // Enough chunks to fill the buffers above with MTU-sized chunks (the default 512 stalls large windows).
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(kSendSpace / 512);
    // RFC 6928-like initial window of 10 MTUs instead of 3-4.
    usrsctp_sysctl_set_sctp_initial_cwnd(10);
    // HighSpeed TCP (RFC 3649): faster growth and gentler decrease than RFC 2581 at large windows. Not H-TCP:
    // measured over a 50/100 ms path (bench/rtt_throughput.sh), usrsctp 0.9.5's H-TCP left cwnd at ssthresh
    // after every T3 timeout (no congestion-avoidance growth for 20+ s), so each delay spike that outlived the
    // RTO ratcheted the window down to 3 MTUs and 200 MB transfers stalled in about half the runs.
    usrsctp_sysctl_set_sctp_default_cc_module(SCTP_CC_HSTCP);
    // RTO.Min stays at RFC 4960's 1 s, not TCP's 200 ms: usrsctp has no spurious-timeout detection (F-RTO, Eifel),
    // so a T3 fired by a delay spike (a sender filling a long path's queue, a descheduled peer) resets cwnd to one
    // MTU. Measured over a 100 ms path on a loaded machine: 3 of 4 300 MB transfers stalled with 200 ms, none with
    // 1 s. Real losses are mostly repaired by fast retransmit, which does not wait for the RTO. Backoff caps at 10 s.
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_min_default(1000);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    // Delayed SACK of 20 ms rather than 200 ms keeps the sender's window moving on low-RTT paths.
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    // Let a burst after idle use the congestion window instead of 4 packets.
    usrsctp_sysctl_set_sctp_max_burst_default(32);
    usrsctp_sysctl_set_sctp_nr_outgoing_streams_default(1024);
}

} // namespace

SctpStack& SctpStack::instance() {
    static SctpStack stack;
    return stack;
}

SctpStack::SctpStack() : receive_buffer_(kReceiveBufferSize) {}

void* SctpStack::id_to_addr(uint32_t id) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
}

void SctpStack::init() {
    if (initialized_) return;
    usrsctp_init_nothreads(0, &SctpStack::outbound, nullptr);
    // SctpAssociation computes and verifies checksums itself with the CPU's CRC32 instruction (crc32c.hpp).
    usrsctp_enable_crc32c_offload();
    apply_sysctls();
    initialized_ = true;
    ++init_count_;
    RTCPP_LOG(LogLevel::Debug, "sctp", "usrsctp initialised (no threads)");
}

void SctpStack::try_finish() {
    if (!initialized_ || !clients_.empty()) return;
    // usrsctp refuses while endpoints linger (e.g. waiting on a timer); it stays initialised and the next
    // release, or the next association, tries again / reuses it.
    if (usrsctp_finish() == 0) {
        initialized_ = false;
        last_tick_ = Timestamp::minus_infinity();
        RTCPP_LOG(LogLevel::Debug, "sctp", "usrsctp finished");
    }
}

uint32_t SctpStack::acquire(SctpStackClient* client) {
    init();
    const uint32_t id = next_id_++;
    if (next_id_ == 0) next_id_ = 1;
    clients_.emplace(id, client);
    usrsctp_register_address(id_to_addr(id));
    return id;
}

void SctpStack::release(uint32_t id) {
    if (clients_.erase(id) == 0) return;
    usrsctp_deregister_address(id_to_addr(id));
    try_finish();
}

SctpStackClient* SctpStack::lookup(uint32_t id) const {
    auto it = clients_.find(id);
    return it == clients_.end() ? nullptr : it->second;
}

void SctpStack::advance(Timestamp now) {
    if (!initialized_ || !now.is_finite()) return;
    if (!last_tick_.is_finite()) {
        last_tick_ = now;
        return;
    }
    if (now <= last_tick_) return;
    const int64_t elapsed_ms = (now - last_tick_).ms();
    if (elapsed_ms <= 0) return;
    last_tick_ += TimeDelta::millis(elapsed_ms);
    usrsctp_handle_timers(static_cast<uint32_t>(std::min<int64_t>(elapsed_ms, 0x7fffffff)));
}

Timestamp SctpStack::next_tick() const {
    if (!last_tick_.is_finite()) return Timestamp::minus_infinity();
    return last_tick_ + tick_interval_;
}

int SctpStack::outbound(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
    const auto id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(addr));
    if (auto* client = instance().lookup(id)) {
        client->on_sctp_outbound(ByteView(static_cast<const uint8_t*>(buffer), length));
    }
    // A packet for a closed socket vanishes, as it would on a dead link.
    return 0;
}

void SctpStack::upcall(struct socket* sock, void* arg, int /*flags*/) {
    const auto id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    auto* client = instance().lookup(id);
    if (!client) return;
    client->on_sctp_upcall(usrsctp_get_events(sock));
}

} // namespace rtcpp::sctp
