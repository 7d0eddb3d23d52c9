// The runtime's event loop: one thread, epoll, a timerfd for microsecond timers and an eventfd for posted work.
//
// Everything the loop calls (posted tasks, timers, readable sockets) runs on the loop thread, never under an internal
// lock, in the order it became due. Tasks may be posted from any thread. Destroying the loop from inside one of its
// own callbacks is allowed: the loop finishes that callback and ends without calling anything else.
#pragma once

#include <rtcpp/result.hpp>
#include <rtcpp/units.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

namespace rtcpp::runtime {

/// The runtime's clock (CLOCK_MONOTONIC). The only place rtcpp reads a clock; the core gets time from here.
Timestamp monotonic_now();

class EventLoop {
public:
    using TimerId = uint64_t;

    /// Starts the loop thread. Fails only if the kernel refuses epoll/eventfd/timerfd descriptors.
    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Runs `task` on the loop thread, after tasks posted before it. From any thread.
    void post(std::function<void()> task);
    /// Runs `task` on the loop thread and waits for it. Runs it inline when called on the loop thread.
    void run_sync(const std::function<void()>& task);

    /// Calls `fn` on the loop thread once `monotonic_now() >= when`. From any thread.
    TimerId add_timer(Timestamp when, std::function<void()> fn);
    /// A cancelled timer never fires, even if it was already due. From any thread.
    void cancel_timer(TimerId id);

    /// Calls `on_readable` on the loop thread whenever `fd` is readable (level triggered). From any thread.
    Result<void> watch_readable(int fd, std::function<void()> on_readable);
    /// Like watch_readable, and also when `fd` is writable if `writable` (a connecting or backed-up TCP socket).
    Result<void> watch(int fd, bool writable, std::function<void()> on_ready);
    /// Turns writability interest on or off for a watched fd (level triggered: leave it off when nothing waits).
    void set_writable_interest(int fd, bool writable);
    /// After this returns on the loop thread, the callback is not called again.
    void unwatch(int fd);

    bool in_loop_thread() const;
    /// Ends the loop after the current callback; pending tasks and timers are dropped. From any thread.
    void stop();

    struct State;

private:
    EventLoop() = default;
    std::shared_ptr<State> state_;
    std::thread thread_;
};

} // namespace rtcpp::runtime

namespace rtcpp::runtime {
/// The process-wide loop shared by every PeerConnection (usrsctp wants all its calls on one thread). Created on
/// first use, destroyed when the last user lets go.
Result<std::shared_ptr<EventLoop>> shared_event_loop();
} // namespace rtcpp::runtime
