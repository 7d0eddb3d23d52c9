#include "runtime/driver.hpp"

namespace rtcpp::runtime {

Driver::Driver(EventLoop& loop, SansIoCore& core) : loop_(loop), core_(core) {}

Driver::~Driver() {
    *alive_ = false;
    for (const auto& s : sockets_) loop_.unwatch(s.fd());
    if (timer_) loop_.cancel_timer(timer_);
}

Result<void> Driver::add_socket(UdpSocket socket) {
    sockets_.push_back(std::move(socket));
    const size_t index = sockets_.size() - 1;
    std::weak_ptr<bool> alive = alive_;
    return loop_.watch_readable(sockets_[index].fd(), [this, index, alive] {
        if (alive.expired() || !*alive.lock()) return;
        on_readable(index);
    });
}

void Driver::on_readable(size_t index) {
    UdpSocket& s = sockets_[index];
    const SocketAddr local = s.local_address();
    s.receive([&](const SocketAddr& from, ByteView bytes) {
        ++datagrams_in_;
        core_.handle_datagram(monotonic_now(), local, from, bytes);
    });
    flush();
}

void Driver::kick() { flush(); }

void Driver::flush() {
    // Expired timers first, so retransmissions go out before anything the core produces afterwards.
    const Timestamp now = monotonic_now();
    if (core_.poll_timeout() <= now) core_.handle_timeout(now);
    while (auto t = core_.poll_transmit()) {
        UdpSocket* out = nullptr;
        for (auto& s : sockets_) {
            if (s.local_address() == t->local) {
                out = &s;
                break;
            }
        }
        if (!out) {
            ++unroutable_;
            continue;
        }
        if (out->send_to(t->remote, t->bytes)) ++datagrams_out_;
        core_.recycle(std::move(t->bytes));
    }
    const Timestamp next = core_.poll_timeout();
    if (next == timer_at_) return;
    if (timer_) loop_.cancel_timer(timer_);
    timer_ = 0;
    timer_at_ = next;
    if (!next.is_finite()) return;
    std::weak_ptr<bool> alive = alive_;
    timer_ = loop_.add_timer(next, [this, alive] {
        if (alive.expired() || !*alive.lock()) return;
        timer_ = 0;
        timer_at_ = Timestamp::plus_infinity();
        core_.handle_timeout(monotonic_now());
        flush();
    });
}

} // namespace rtcpp::runtime
