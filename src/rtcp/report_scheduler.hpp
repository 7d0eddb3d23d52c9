// When to send the next RTCP report (RFC 3550 §6.2, §6.3 and A.7), sans-IO.
//
// The deterministic interval is the average RTCP packet size times the number of members sharing the RTCP
// bandwidth (5% of the session bandwidth, 25% of it for senders when they are few), but at least the minimum
// interval: 5 s, halved before the first report, or with the reduced minimum of §6.2 (360 / session kbps seconds,
// which WebRTC endpoints use; RFC 8108/8834 point-to-point) when enabled. It is then randomised uniformly over
// [0.5, 1.5] and divided by e - 3/2 to compensate for timer reconsideration. Timer reconsideration on BYE and
// member timeouts are left to the session, which knows its members.
#pragma once

#include <rtcpp/random.hpp>
#include <rtcpp/units.hpp>

#include <cstddef>

namespace rtcpp::rtcp {

struct ReportIntervalParams {
    DataRate session_bandwidth = DataRate::kbps(2000);
    double rtcp_fraction = 0.05;
    TimeDelta minimum = TimeDelta::seconds(5);
    /// Use 360 / session kbps seconds as the minimum (RFC 3550 §6.2) when that is smaller.
    bool reduced_minimum = false;
    size_t members = 2;
    size_t senders = 1;
    bool we_sent = true;
    DataSize average_rtcp_size = DataSize::bytes(100);
    bool initial = false;
};

/// The deterministic interval Td (before randomisation).
TimeDelta deterministic_report_interval(const ReportIntervalParams& p);
/// The randomised interval T to wait.
TimeDelta report_interval(const ReportIntervalParams& p, Random& random);

class ReportScheduler {
public:
    explicit ReportScheduler(ReportIntervalParams params) : params_(params) {}

    /// Schedules the first report (initial = true: half the minimum).
    void start(Timestamp now, Random& random);
    Timestamp poll_timeout() const { return next_; }
    /// True when a report is due at `now`; the caller then sends it and calls handle_report_sent.
    bool handle_timeout(Timestamp now) const { return started_ && now >= next_; }
    /// A report of `size` bytes (IP/UDP headers included, per RFC 3550) was sent: updates the average size and
    /// schedules the next one.
    void handle_report_sent(Timestamp now, DataSize size, Random& random);
    /// Membership changed (from SDES/BYE/RTP seen by the session).
    void set_members(size_t members, size_t senders, bool we_sent);
    void set_session_bandwidth(DataRate bw) { params_.session_bandwidth = bw; }
    DataSize average_rtcp_size() const { return params_.average_rtcp_size; }

private:
    ReportIntervalParams params_;
    Timestamp next_ = Timestamp::plus_infinity();
    bool started_ = false;
};

} // namespace rtcpp::rtcp
