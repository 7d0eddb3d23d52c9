// ICE-TCP (RFC 6544) between two rtcpp PeerConnections over real sockets, with UDP blocked.
//
// The test case runs itself again inside a private network namespace (`unshare -n`) where an nftables rule drops
// every UDP packet, so only the TCP candidates (Configuration::ice_tcp) can connect. Inside, it first proves that UDP
// really is dropped, then connects the two peers, checks the selected pair is TCP on both sides, and echoes data
// over a data channel. Needs root, unshare and nft (as the other interop tests).
#include <rtcpp/peer_connection.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace rtcpp;

namespace {

constexpr const char* kInsideEnv = "RTCPP_ICE_TCP_UDP_BLOCKED";

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
}

/// True if a UDP datagram from one loopback socket to another does not arrive within 300 ms.
bool udp_is_blocked() {
    const int a = ::socket(AF_INET, SOCK_DGRAM, 0), b = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(b, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(b, reinterpret_cast<sockaddr*>(&addr), &len);
    const char msg[] = "probe";
    (void)::sendto(a, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    pollfd p{b, POLLIN, 0};
    const bool arrived = ::poll(&p, 1, 300) > 0;
    ::close(a);
    ::close(b);
    return !arrived;
}

struct Pair {
    std::unique_ptr<PeerConnection> a, b;
    std::shared_ptr<DataChannel> channel;
    std::mutex m;
    std::vector<std::shared_ptr<DataChannel>> remote;
    std::vector<IceCandidate> early_for_a, early_for_b;
    bool negotiated = false;
    std::atomic<bool> open{false};
    std::atomic<size_t> echoed{0};
    std::atomic<size_t> echoed_bytes{0};
    std::chrono::steady_clock::time_point started, opened;
};

void run_inside() {
    REQUIRE(udp_is_blocked());
    Configuration c;
    c.include_loopback = true;
    c.bind_address = IpAddr::v4_loopback();
    c.ice_tcp = true;
    auto a = PeerConnection::create(c);
    auto b = PeerConnection::create(c);
    REQUIRE(a);
    REQUIRE(b);
    Pair p;
    p.a = std::move(*a);
    p.b = std::move(*b);
    auto* pa = p.a.get();
    auto* pb = p.b.get();
    std::vector<std::string> a_candidates;
    // Never call into a PeerConnection while holding the lock its callbacks take: the call waits for the loop
    // thread, which may be waiting for the lock in a callback.
    auto signal = [&p](PeerConnection* to, std::vector<IceCandidate>& early, IceCandidate cand) {
        {
            std::lock_guard l(p.m);
            if (!p.negotiated) {
                early.push_back(std::move(cand));
                return;
            }
        }
        (void)to->add_ice_candidate(cand);
    };
    pa->on_local_candidate([&, pb](const IceCandidate& cand) {
        {
            std::lock_guard l(p.m);
            a_candidates.push_back(cand.candidate);
        }
        signal(pb, p.early_for_b, cand);
    });
    pb->on_local_candidate([&, pa](const IceCandidate& cand) { signal(pa, p.early_for_a, cand); });
    pa->on_ice_gathering_state_change([&, pb](IceGatheringState g) {
        if (g == IceGatheringState::Complete) signal(pb, p.early_for_b, IceCandidate{});
    });
    pb->on_ice_gathering_state_change([&, pa](IceGatheringState g) {
        if (g == IceGatheringState::Complete) signal(pa, p.early_for_a, IceCandidate{});
    });
    pb->on_data_channel([&p](std::shared_ptr<DataChannel> ch) {
        std::weak_ptr<DataChannel> weak = ch;
        ch->on_message([weak](std::span<const uint8_t> data, bool) {
            if (auto c2 = weak.lock()) (void)c2->send(data);
        });
        std::lock_guard l(p.m);
        p.remote.push_back(ch);
    });
    auto ch = pa->create_data_channel("tcp-echo");
    REQUIRE(ch);
    p.channel = *ch;
    p.channel->on_open([&p] {
        p.opened = std::chrono::steady_clock::now();
        p.open = true;
    });
    p.channel->on_message([&p](std::span<const uint8_t> data, bool) {
        p.echoed_bytes += data.size();
        ++p.echoed;
    });
    p.started = std::chrono::steady_clock::now();
    auto offer = pa->create_offer();
    REQUIRE(offer);
    REQUIRE(pa->set_local_description(*offer));
    REQUIRE(pb->set_remote_description(*offer));
    auto answer = pb->create_answer();
    REQUIRE(answer);
    REQUIRE(pb->set_local_description(*answer));
    REQUIRE(pa->set_remote_description(*answer));
    std::vector<IceCandidate> for_a, for_b;
    {
        std::lock_guard l(p.m);
        p.negotiated = true;
        for_a.swap(p.early_for_a);
        for_b.swap(p.early_for_b);
    }
    for (const auto& cand : for_a) (void)pa->add_ice_candidate(cand);
    for (const auto& cand : for_b) (void)pb->add_ice_candidate(cand);
    REQUIRE(wait_for([&] { return p.open.load(); }, std::chrono::seconds(15)));
    const double setup_ms = std::chrono::duration<double, std::milli>(p.opened - p.started).count();
    MESSAGE("ICE-TCP with UDP blocked: channel open " << setup_ms << " ms after createOffer");
    {
        std::lock_guard l(p.m);
        bool passive = false, active = false;
        for (const auto& s : a_candidates) {
            passive |= s.find(" tcp ") != std::string::npos && s.find("tcptype passive") != std::string::npos;
            active |= s.find(" tcp ") != std::string::npos && s.find(" 9 typ host tcptype active") != std::string::npos;
        }
        CHECK(passive);
        CHECK(active);
    }
    for (auto* pc : {pa, pb}) {
        const auto st = pc->stats();
        CHECK(st.selected_protocol == "tcp");
        CHECK(st.selected_local_type != "");
    }
    size_t sent = 0;
    for (int i = 0; i < 200; ++i) {
        std::vector<uint8_t> msg(static_cast<size_t>(i) * 151 + 1, static_cast<uint8_t>(i));
        REQUIRE(p.channel->send(std::span<const uint8_t>(msg)));
        sent += msg.size();
    }
    REQUIRE(wait_for([&] { return p.echoed.load() == 200; }, std::chrono::seconds(15)));
    CHECK(p.echoed_bytes.load() == sent);
    // Nothing went over UDP: the datagrams the sessions sent (UDP checks) were all dropped by the rule, and still
    // the channel carried every byte.
    pa->close();
    pb->close();
}

} // namespace

TEST_CASE("ICE-TCP: two rtcpp peers connect over TCP with UDP blocked by nftables, and echo data") {
    if (std::getenv(kInsideEnv)) {
        run_inside();
        return;
    }
    char self[PATH_MAX] = {};
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    const auto dir = std::filesystem::temp_directory_path() / ("rtcpp-ice-tcp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto rules = dir / "udp-drop.nft";
    {
        std::ofstream f(rules);
        f << "table inet rtcpp_ice_tcp {\n"
             "  chain out {\n"
             "    type filter hook output priority 0; policy accept;\n"
             "    meta l4proto udp drop\n"
             "  }\n"
             "}\n";
    }
    const std::string cmd = "unshare -n bash -c 'set -e; ip link set lo up; nft -f " + rules.string() + "; " +
                            kInsideEnv + "=1 exec \"" + std::string(self) +
                            "\" --test-case=\"ICE-TCP: two rtcpp peers*\"'";
    const int status = std::system(cmd.c_str());
    std::filesystem::remove_all(dir);
    REQUIRE(status != -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
