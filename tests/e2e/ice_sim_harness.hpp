// Glue between ice::Agent and the simulated network: an agent as a sim::Endpoint with in-test signalling, and a
// minimal STUN Binding server. Shared by the ICE simulation tests and bench/bench_ice.cpp.
#pragma once

#include "ice/agent.hpp"
#include "sim/network.hpp"
#include "stun/message.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rtcpp::ice::simtest {

/// An ICE agent on the simulated network. Trickled candidates, end-of-candidates and (with connect()) credentials go
/// to the peer after `signaling_delay`, unless `signal_filter` rewrites or drops them.
class IcePeer : public sim::Endpoint {
public:
    IcePeer(sim::Network& net, const AgentConfig& config, uint64_t seed)
        : net_(net), random_(seed), agent_(std::make_unique<Agent>(config, random_)) {}

    Agent& agent() { return *agent_; }
    sim::HostId host() const { return host_; }

    /// Attaches to the network with these host addresses (port `port` on each IP).
    void attach(const std::vector<IpAddr>& ips, uint16_t port, const sim::HostOptions& options = {}) {
        host_ = net_.add_host(*this, ips, options);
        for (const auto& ip : ips) agent_->add_host_address(SocketAddr(ip, port));
    }

    /// Exchanges credentials and starts gathering on both sides.
    static void connect(IcePeer& a, IcePeer& b) {
        a.peer_ = &b;
        b.peer_ = &a;
        a.agent().set_remote_credentials(b.agent().local_credentials());
        b.agent().set_remote_credentials(a.agent().local_credentials());
        a.start();
        b.start();
    }

    void start() {
        agent_->start_gathering(net_.now());
        after_command();
    }

    /// ICE restart of both peers with a fresh exchange of credentials (candidates follow by trickle).
    static void restart_both(IcePeer& a, IcePeer& b) {
        a.agent().restart(a.net_.now());
        b.agent().restart(b.net_.now());
        a.agent().set_remote_credentials(b.agent().local_credentials());
        b.agent().set_remote_credentials(a.agent().local_credentials());
        a.after_command();
        b.after_command();
    }

    void after_command() {
        drain_events(net_.now());
        net_.wake(host_);
    }

    // sim::Endpoint
    void handle_datagram(Timestamp now, const sim::Datagram& d) override {
        if (agent_->handle_datagram(now, d.to, d.from, d.bytes) == Input::Data) data_.push_back(d.bytes);
        drain_events(now);
    }
    void handle_timeout(Timestamp now) override {
        agent_->handle_timeout(now);
        drain_events(now);
    }
    std::optional<sim::Datagram> poll_transmit() override {
        auto t = agent_->poll_transmit();
        if (!t) return std::nullopt;
        return sim::Datagram{t->local, t->remote, std::move(t->bytes)};
    }
    Timestamp poll_timeout() override { return agent_->poll_timeout(); }

    struct StateChange {
        Timestamp at;
        ConnectionState state;
    };
    const std::vector<StateChange>& states() const { return states_; }
    std::optional<Timestamp> first_time_in(ConnectionState s, Timestamp after = Timestamp::minus_infinity()) const {
        for (const auto& c : states_)
            if (c.state == s && c.at >= after) return c.at;
        return std::nullopt;
    }
    bool ever_in(ConnectionState s) const { return first_time_in(s).has_value(); }
    bool connected() const {
        return agent_->state() == ConnectionState::Connected || agent_->state() == ConnectionState::Completed;
    }
    const std::vector<Candidate>& gathered() const { return gathered_; }
    const std::vector<std::vector<uint8_t>>& data() const { return data_; }
    size_t selected_changes() const { return selected_changes_; }

    TimeDelta signaling_delay = TimeDelta::millis(10);
    /// Rewrites a local candidate before it is signalled (nullopt: not signalled). Default: as is.
    std::function<std::optional<std::string>(const Candidate&)> signal_filter;
    bool signal_end_of_candidates = true;

private:
    void drain_events(Timestamp now) {
        while (auto e = agent_->poll_event()) {
            if (auto* g = std::get_if<CandidateGathered>(&*e)) {
                gathered_.push_back(g->candidate);
                std::optional<std::string> text = g->candidate.to_sdp();
                if (signal_filter) text = signal_filter(g->candidate);
                if (text && peer_) {
                    IcePeer* p = peer_;
                    std::string s = *text;
                    net_.schedule(now + signaling_delay, [p, s](sim::Network&) {
                        (void)p->agent().add_remote_candidate(s);
                        p->after_command();
                    });
                }
            } else if (std::holds_alternative<GatheringComplete>(*e)) {
                if (peer_ && signal_end_of_candidates) {
                    IcePeer* p = peer_;
                    net_.schedule(now + signaling_delay, [p](sim::Network&) {
                        p->agent().end_of_remote_candidates();
                        p->after_command();
                    });
                }
            } else if (auto* s = std::get_if<ConnectionStateChanged>(&*e)) {
                states_.push_back({now, s->state});
            } else if (std::holds_alternative<SelectedPairChanged>(*e)) {
                ++selected_changes_;
            }
        }
    }

    sim::Network& net_;
    Random random_;
    std::unique_ptr<Agent> agent_;
    sim::HostId host_ = 0;
    IcePeer* peer_ = nullptr;
    std::vector<StateChange> states_;
    std::vector<Candidate> gathered_;
    std::vector<std::vector<uint8_t>> data_;
    size_t selected_changes_ = 0;
};

/// Answers STUN Binding requests with XOR-MAPPED-ADDRESS (what a STUN server does for srflx gathering).
class StunServer : public sim::Endpoint {
public:
    void handle_datagram(Timestamp, const sim::Datagram& d) override {
        auto m = stun::Message::parse(d.bytes);
        if (!m.ok() || m->cls() != stun::Class::Request || m->method() != stun::Method::Binding) return;
        auto resp = m->make_response(stun::Class::SuccessResponse);
        resp.add_xor_address(stun::attr::XorMappedAddress, d.from);
        out_.push_back(sim::Datagram{d.to, d.from, resp.encode({}, stun::IntegrityAlgorithm::None, true)});
        ++requests_;
    }
    void handle_timeout(Timestamp) override {}
    std::optional<sim::Datagram> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        auto d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    Timestamp poll_timeout() override { return Timestamp::plus_infinity(); }
    uint64_t requests() const { return requests_; }

private:
    std::deque<sim::Datagram> out_;
    uint64_t requests_ = 0;
};

} // namespace rtcpp::ice::simtest
