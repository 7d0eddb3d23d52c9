// Logging hook. rtcpp never writes to stdout/stderr by itself: it hands records to a user callback.
// When a level is off, the RTCPP_LOG macro costs one relaxed atomic load and formats nothing.
#pragma once

#include <atomic>
#include <functional>
#include <sstream>
#include <string_view>

namespace rtcpp {

enum class LogLevel : int { Trace = 0, Debug = 1, Info = 2, Warning = 3, Error = 4, None = 5 };

std::string_view to_string(LogLevel level);

/// Called with the level, the component ("ice", "dtls", ...) and the message. May be called from any thread
/// that drives rtcpp; must not call back into rtcpp.
using LogHandler = std::function<void(LogLevel level, std::string_view component, std::string_view message)>;

/// Installs a process-wide handler receiving records at `min_level` and above. An empty handler turns logging off.
void set_log_handler(LogLevel min_level, LogHandler handler);

namespace detail {
extern std::atomic<int> g_log_level;
void emit_log(LogLevel level, std::string_view component, std::string_view message);
} // namespace detail

inline bool log_enabled(LogLevel level) {
    return static_cast<int>(level) >= detail::g_log_level.load(std::memory_order_relaxed);
}

} // namespace rtcpp

/// RTCPP_LOG(rtcpp::LogLevel::Info, "ice", "pair " << pair << " succeeded");
#define RTCPP_LOG(level, component, stream_expr)                                   \
    do {                                                                           \
        if (::rtcpp::log_enabled(level)) {                                         \
            std::ostringstream rtcpp_log_os_;                                      \
            rtcpp_log_os_ << stream_expr;                                          \
            ::rtcpp::detail::emit_log(level, component, rtcpp_log_os_.str());      \
        }                                                                          \
    } while (0)
