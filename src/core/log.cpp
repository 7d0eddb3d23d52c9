#include "rtcpp/log.hpp"

#include <memory>
#include <mutex>

namespace rtcpp {

namespace detail {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::None)};
} // namespace detail

namespace {
std::mutex g_mutex;
std::shared_ptr<const LogHandler> g_handler;
} // namespace

std::string_view to_string(LogLevel level) {
    switch (level) {
    case LogLevel::Trace: return "trace";
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warning: return "warning";
    case LogLevel::Error: return "error";
    case LogLevel::None: return "none";
    }
    return "?";
}

void set_log_handler(LogLevel min_level, LogHandler handler) {
    std::lock_guard lock(g_mutex);
    if (!handler) {
        g_handler.reset();
        detail::g_log_level.store(static_cast<int>(LogLevel::None), std::memory_order_relaxed);
        return;
    }
    g_handler = std::make_shared<const LogHandler>(std::move(handler));
    detail::g_log_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

void detail::emit_log(LogLevel level, std::string_view component, std::string_view message) {
    std::shared_ptr<const LogHandler> h;
    {
        std::lock_guard lock(g_mutex);
        h = g_handler;
    }
    // Called outside the lock so a handler may log or swap handlers without deadlock.
    if (h) (*h)(level, component, message);
}

} // namespace rtcpp
