#include "rtcp/report_scheduler.hpp"

#include <algorithm>

namespace rtcpp::rtcp {

namespace {
constexpr double kCompensation = 2.71828 - 1.5;
}

TimeDelta deterministic_report_interval(const ReportIntervalParams& p) {
    TimeDelta min_time = p.minimum;
    if (p.reduced_minimum && p.session_bandwidth.bps() > 0) {
        min_time = std::min(min_time, TimeDelta::micros(360'000'000'000LL / p.session_bandwidth.bps()));
    }
    if (p.initial) min_time = min_time / 2;

    double rtcp_bw = static_cast<double>(p.session_bandwidth.bps()) / 8.0 * p.rtcp_fraction;  // bytes/s
    double n = static_cast<double>(std::max<size_t>(p.members, 1));
    const double senders = static_cast<double>(p.senders);
    if (senders > 0 && senders <= n * 0.25) {
        if (p.we_sent) {
            rtcp_bw *= 0.25;
            n = senders;
        } else {
            rtcp_bw *= 0.75;
            n -= senders;
        }
    }
    if (rtcp_bw <= 0) return min_time;
    const TimeDelta t = TimeDelta::seconds_f(static_cast<double>(p.average_rtcp_size.bytes()) * n / rtcp_bw);
    return std::max(t, min_time);
}

TimeDelta report_interval(const ReportIntervalParams& p, Random& random) {
    const TimeDelta td = deterministic_report_interval(p);
    return td * ((random.uniform_double() + 0.5) / kCompensation);
}

void ReportScheduler::start(Timestamp now, Random& random) {
    started_ = true;
    params_.initial = true;
    next_ = now + report_interval(params_, random);
}

void ReportScheduler::handle_report_sent(Timestamp now, DataSize size, Random& random) {
    // avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size
    params_.average_rtcp_size = DataSize::bytes((size.bytes() + 15 * params_.average_rtcp_size.bytes()) / 16);
    params_.initial = false;
    started_ = true;
    next_ = now + report_interval(params_, random);
}

void ReportScheduler::set_members(size_t members, size_t senders, bool we_sent) {
    params_.members = members;
    params_.senders = senders;
    params_.we_sent = we_sent;
}

} // namespace rtcpp::rtcp
