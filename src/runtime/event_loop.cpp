#include "runtime/event_loop.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <mutex>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace rtcpp::runtime {

Timestamp monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Timestamp::micros(static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

struct EventLoop::State {
    int epoll_fd = -1;
    int wake_fd = -1;
    int timer_fd = -1;
    std::thread::id loop_thread;
    std::atomic<bool> stopping{false};

    std::mutex mutex; // guards everything below; never held while a callback runs
    std::vector<std::function<void()>> posted;
    std::map<std::pair<Timestamp, TimerId>, std::function<void()>> timers;
    std::unordered_map<TimerId, Timestamp> timer_due;
    TimerId next_timer = 1;
    std::unordered_map<int, std::shared_ptr<std::function<void()>>> watchers;
    Timestamp armed = Timestamp::plus_infinity();

    ~State() {
        if (epoll_fd >= 0) close(epoll_fd);
        if (wake_fd >= 0) close(wake_fd);
        if (timer_fd >= 0) close(timer_fd);
    }

    void wake() {
        uint64_t one = 1;
        ssize_t n = write(wake_fd, &one, sizeof one);
        (void)n; // a full counter already means "wake up"
    }

    // Caller holds the mutex.
    void rearm_locked() {
        const Timestamp next = timers.empty() ? Timestamp::plus_infinity() : timers.begin()->first.first;
        if (next == armed) return;
        armed = next;
        itimerspec spec{};
        if (next.is_finite()) {
            // An absolute time of 0 would disarm the timer: never arm earlier than 1 ns.
            const int64_t us = std::max<int64_t>(next.us(), 0);
            spec.it_value.tv_sec = us / 1000000;
            spec.it_value.tv_nsec = (us % 1000000) * 1000;
            if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
        }
        timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
    }

    void run();
};

void EventLoop::State::run() {
    std::vector<epoll_event> events(64);
    while (!stopping.load()) {
        const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n && !stopping.load(); ++i) {
            const int fd = events[i].data.fd;
            if (fd == wake_fd) {
                uint64_t v;
                ssize_t r = read(wake_fd, &v, sizeof v);
                (void)r;
                std::vector<std::function<void()>> tasks;
                {
                    std::lock_guard lock(mutex);
                    tasks.swap(posted);
                }
                for (auto& t : tasks) {
                    if (stopping.load()) break;
                    t();
                }
            } else if (fd == timer_fd) {
                uint64_t v;
                ssize_t r = read(timer_fd, &v, sizeof v);
                (void)r;
                // Fire due timers one at a time so a callback may cancel a later one.
                while (!stopping.load()) {
                    std::function<void()> fn;
                    {
                        std::lock_guard lock(mutex);
                        if (timers.empty() || timers.begin()->first.first > monotonic_now()) {
                            armed = Timestamp::minus_infinity(); // force a re-arm
                            rearm_locked();
                            break;
                        }
                        auto it = timers.begin();
                        fn = std::move(it->second);
                        timer_due.erase(it->first.second);
                        timers.erase(it);
                    }
                    fn();
                }
            } else {
                std::shared_ptr<std::function<void()>> cb;
                {
                    std::lock_guard lock(mutex);
                    auto it = watchers.find(fd);
                    if (it != watchers.end()) cb = it->second;
                }
                if (cb) (*cb)();
            }
        }
    }
}

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    auto state = std::make_shared<State>();
    state->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    state->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    state->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (state->epoll_fd < 0 || state->wake_fd < 0 || state->timer_fd < 0)
        return make_error(ErrorCategory::OperationError, "runtime",
                          std::string("cannot create event loop descriptors: ") + std::strerror(errno));
    for (int fd : {state->wake_fd, state->timer_fd}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(state->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            return make_error(ErrorCategory::OperationError, "runtime",
                              std::string("epoll_ctl failed: ") + std::strerror(errno));
    }
    std::unique_ptr<EventLoop> loop(new EventLoop());
    loop->state_ = state;
    std::promise<void> started;
    auto ready = started.get_future();
    loop->thread_ = std::thread([state, &started] {
        state->loop_thread = std::this_thread::get_id();
        started.set_value();
        state->run();
    });
    ready.wait();
    return loop;
}

EventLoop::~EventLoop() {
    stop();
    if (thread_.joinable()) {
        // Destroyed from one of its own callbacks: the thread cannot join itself. It owns the shared state and
        // ends as soon as that callback returns.
        if (in_loop_thread()) thread_.detach();
        else thread_.join();
    }
}

void EventLoop::stop() {
    state_->stopping.store(true);
    state_->wake();
}

bool EventLoop::in_loop_thread() const { return std::this_thread::get_id() == state_->loop_thread; }

void EventLoop::post(std::function<void()> task) {
    {
        std::lock_guard lock(state_->mutex);
        state_->posted.push_back(std::move(task));
    }
    state_->wake();
}

void EventLoop::run_sync(const std::function<void()>& task) {
    if (in_loop_thread()) {
        task();
        return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    post([task, done] {
        task();
        done->set_value();
    });
    // If the loop stops before running it, the promise dies unset and get() reports a broken promise: wait_for
    // in a loop keeps us from hanging on a stopped loop.
    while (f.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
        if (state_->stopping.load()) return;
    }
}

EventLoop::TimerId EventLoop::add_timer(Timestamp when, std::function<void()> fn) {
    std::lock_guard lock(state_->mutex);
    const TimerId id = state_->next_timer++;
    state_->timers.emplace(std::make_pair(when, id), std::move(fn));
    state_->timer_due[id] = when;
    state_->rearm_locked();
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    std::lock_guard lock(state_->mutex);
    auto it = state_->timer_due.find(id);
    if (it == state_->timer_due.end()) return;
    state_->timers.erase({it->second, id});
    state_->timer_due.erase(it);
    state_->rearm_locked();
}

Result<void> EventLoop::watch_readable(int fd, std::function<void()> on_readable) {
    return watch(fd, false, std::move(on_readable));
}

void EventLoop::set_writable_interest(int fd, bool writable) {
    std::lock_guard lock(state_->mutex);
    epoll_event ev{};
    ev.events = EPOLLIN | (writable ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    epoll_ctl(state_->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
}

Result<void> EventLoop::watch(int fd, bool writable, std::function<void()> on_readable) {
    std::lock_guard lock(state_->mutex);
    epoll_event ev{};
    ev.events = EPOLLIN | (writable ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (epoll_ctl(state_->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return make_error(ErrorCategory::OperationError, "runtime",
                          std::string("cannot watch descriptor: ") + std::strerror(errno));
    state_->watchers[fd] = std::make_shared<std::function<void()>>(std::move(on_readable));
    return {};
}

void EventLoop::unwatch(int fd) {
    std::lock_guard lock(state_->mutex);
    epoll_ctl(state_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    state_->watchers.erase(fd);
}

} // namespace rtcpp::runtime

namespace rtcpp::runtime {
Result<std::shared_ptr<EventLoop>> shared_event_loop() {
    static std::mutex mutex;
    static std::weak_ptr<EventLoop> shared;
    std::lock_guard lock(mutex);
    if (auto loop = shared.lock()) return loop;
    auto created = EventLoop::create();
    if (!created) return created.error();
    std::shared_ptr<EventLoop> loop(std::move(created.value()));
    shared = loop;
    return loop;
}
} // namespace rtcpp::runtime
