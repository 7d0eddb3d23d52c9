#include "runtime/driver.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/udp_socket.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <dirent.h>
#include <mutex>
#include <thread>

using namespace rtcpp;
using namespace rtcpp::runtime;

namespace {

size_t open_fds() {
    size_t n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

/// Waits (bounded) for a condition set by the loop thread.
class Latch {
public:
    void set() {
        std::lock_guard l(m_);
        done_ = true;
        cv_.notify_all();
    }
    bool wait(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
        std::unique_lock l(m_);
        return cv_.wait_for(l, limit, [&] { return done_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
};

std::unique_ptr<EventLoop> make_loop() {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    return std::move(loop.value());
}

} // namespace

TEST_CASE("posted tasks run on the loop thread in posting order") {
    auto loop = make_loop();
    std::vector<int> order;
    std::atomic<bool> on_loop{true};
    Latch done;
    for (int i = 0; i < 100; ++i) {
        loop->post([&, i] {
            if (!loop->in_loop_thread()) on_loop = false;
            order.push_back(i);
            if (i == 99) done.set();
        });
    }
    REQUIRE(done.wait());
    CHECK(on_loop.load());
    REQUIRE(order.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(order[i] == i);
    CHECK_FALSE(loop->in_loop_thread());
}

TEST_CASE("posting from many threads loses nothing") {
    auto loop = make_loop();
    std::atomic<int> count{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) loop->post([&] { ++count; });
        });
    for (auto& t : threads) t.join();
    loop->run_sync([] {});
    CHECK(count.load() == 4000);
}

TEST_CASE("timers fire in deadline order, not in order of creation, and cancelled ones never fire") {
    auto loop = make_loop();
    std::vector<int> fired;
    Latch done;
    const Timestamp now = monotonic_now();
    loop->run_sync([&] {
        loop->add_timer(now + TimeDelta::millis(30), [&] { fired.push_back(3); done.set(); });
        loop->add_timer(now + TimeDelta::millis(10), [&] { fired.push_back(1); });
        const auto cancelled = loop->add_timer(now + TimeDelta::millis(15), [&] { fired.push_back(99); });
        loop->add_timer(now + TimeDelta::millis(20), [&] { fired.push_back(2); });
        loop->cancel_timer(cancelled);
    });
    REQUIRE(done.wait());
    CHECK(fired == std::vector<int>{1, 2, 3});
    CHECK(monotonic_now() - now >= TimeDelta::millis(30));
}

TEST_CASE("a timer in the past fires at once; a timer may cancel a later one") {
    auto loop = make_loop();
    std::vector<int> fired;
    Latch done;
    EventLoop::TimerId later = 0;
    loop->run_sync([&] {
        const Timestamp now = monotonic_now();
        loop->add_timer(now - TimeDelta::seconds(1), [&] {
            fired.push_back(1);
            loop->cancel_timer(later);
        });
        later = loop->add_timer(now + TimeDelta::millis(5), [&] { fired.push_back(2); });
        loop->add_timer(now + TimeDelta::millis(20), [&] { done.set(); });
    });
    REQUIRE(done.wait());
    CHECK(fired == std::vector<int>{1});
}

TEST_CASE("UDP echo over 127.0.0.1 and ::1") {
    for (const char* where : {"127.0.0.1:0", "[::1]:0"}) {
        CAPTURE(where);
        auto loop = make_loop();
        auto a = UdpSocket::bind(*SocketAddr::parse(where));
        auto b = UdpSocket::bind(*SocketAddr::parse(where));
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->local_address().port() != 0);
        const SocketAddr a_addr = a->local_address(), b_addr = b->local_address();
        UdpSocket sa = std::move(a.value()), sb = std::move(b.value());
        std::vector<std::vector<uint8_t>> echoed;
        Latch done;
        loop->run_sync([&] {
            REQUIRE(loop->watch_readable(sb.fd(), [&] {
                sb.receive([&](const SocketAddr& from, ByteView bytes) { (void)sb.send_to(from, bytes); });
            }));
            REQUIRE(loop->watch_readable(sa.fd(), [&] {
                sa.receive([&](const SocketAddr& from, ByteView bytes) {
                    CHECK(from == b_addr);
                    echoed.emplace_back(bytes.begin(), bytes.end());
                    if (echoed.size() == 100) done.set();
                });
            }));
            std::vector<std::vector<uint8_t>> payloads;
            for (int i = 0; i < 100; ++i) payloads.push_back(std::vector<uint8_t>(static_cast<size_t>(i + 1), static_cast<uint8_t>(i)));
            std::vector<OutgoingDatagram> batch;
            for (auto& p : payloads) batch.push_back({b_addr, p});
            CHECK(sa.send_batch(batch) == 100);
        });
        REQUIRE(done.wait());
        loop->run_sync([&] {
            loop->unwatch(sa.fd());
            loop->unwatch(sb.fd());
        });
        REQUIRE(echoed.size() == 100);
        // Loopback keeps order; every payload came back intact.
        for (size_t i = 0; i < echoed.size(); ++i) {
            CHECK(echoed[i].size() == i + 1);
            CHECK(echoed[i][0] == static_cast<uint8_t>(i));
        }
        (void)a_addr;
    }
}

TEST_CASE("binding within a port range skips ports in use") {
    auto first = UdpSocket::bind_in_range(IpAddr::v4_loopback(), 42000, 42100);
    REQUIRE(first);
    auto second = UdpSocket::bind_in_range(IpAddr::v4_loopback(), first->local_address().port(), 42100);
    REQUIRE(second);
    CHECK(second->local_address().port() > first->local_address().port());
    auto none = UdpSocket::bind_in_range(IpAddr::v4_loopback(), first->local_address().port(),
                                         first->local_address().port());
    CHECK_FALSE(none);
    CHECK_FALSE(UdpSocket::bind_in_range(IpAddr::v4_loopback(), 5, 4));
}

TEST_CASE("interface enumeration finds loopback only when asked") {
    auto with = list_interfaces(true);
    REQUIRE(with);
    bool found_lo = false;
    for (const auto& i : *with) found_lo |= i.loopback && i.address == IpAddr::v4_loopback();
    CHECK(found_lo);
    auto without = list_interfaces(false);
    REQUIRE(without);
    for (const auto& i : *without) CHECK_FALSE(i.loopback);
}

TEST_CASE("destroying the loop from inside its own callback is safe, and nothing runs after") {
    const size_t fds_before = open_fds();
    std::atomic<int> after{0};
    {
        Latch destroyed;
        auto loop = make_loop();
        EventLoop* raw = loop.release();
        raw->post([&, raw] {
            delete raw; // the loop's own thread destroys it
            destroyed.set();
        });
        raw->post([&] { ++after; });
        REQUIRE(destroyed.wait());
    }
    // The thread ends by itself; give it a moment, then check nothing leaked.
    for (int i = 0; i < 100 && open_fds() != fds_before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(after.load() == 0);
    CHECK(open_fds() == fds_before);
}

TEST_CASE("stopping and destroying from another thread leaks no descriptor") {
    const size_t fds_before = open_fds();
    for (int i = 0; i < 20; ++i) {
        auto loop = make_loop();
        auto s = UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
        REQUIRE(s);
        loop->run_sync([&] { REQUIRE(loop->watch_readable(s->fd(), [] {})); });
        loop->add_timer(monotonic_now() + TimeDelta::seconds(60), [] {});
    }
    CHECK(open_fds() == fds_before);
}

namespace {

/// A sans-IO core for the driver test: pings a peer every 20 ms until it has `count` replies, and echoes pings.
class PingCore : public SansIoCore {
public:
    PingCore(SocketAddr local, std::optional<SocketAddr> peer, int count) : local_(local), peer_(peer), count_(count) {}
    void handle_datagram(Timestamp, const SocketAddr& local, const SocketAddr& remote, ByteView bytes) override {
        if (bytes.empty()) return;
        if (bytes[0] == 'p') out_.push_back({local, remote, {'r'}});
        if (bytes[0] == 'r') ++replies;
    }
    void handle_timeout(Timestamp now) override {
        if (!peer_ || replies >= count_ || now < next_) return;
        out_.push_back({local_, *peer_, {'p'}});
        ++timeouts;
        next_ = now + TimeDelta::millis(20);
    }
    std::optional<Transmit> poll_transmit() override {
        if (out_.empty()) return std::nullopt;
        auto t = std::move(out_.front());
        out_.pop_front();
        return t;
    }
    Timestamp poll_timeout() override {
        return (peer_ && replies < count_) ? next_ : Timestamp::plus_infinity();
    }
    std::atomic<int> replies{0};
    int timeouts = 0;

private:
    SocketAddr local_;
    std::optional<SocketAddr> peer_;
    int count_;
    Timestamp next_ = Timestamp::zero();
    std::deque<Transmit> out_;
};

} // namespace

TEST_CASE("the driver runs a sans-IO core over real sockets, timers following its timeout") {
    auto loop = make_loop();
    auto sa = UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
    auto sb = UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
    REQUIRE(sa);
    REQUIRE(sb);
    PingCore pinger(sa->local_address(), sb->local_address(), 5);
    PingCore echo(sb->local_address(), std::nullopt, 0);
    std::unique_ptr<Driver> da, db;
    const Timestamp start = monotonic_now();
    loop->run_sync([&] {
        da = std::make_unique<Driver>(*loop, pinger);
        db = std::make_unique<Driver>(*loop, echo);
        REQUIRE(da->add_socket(std::move(sa.value())));
        REQUIRE(db->add_socket(std::move(sb.value())));
        da->kick();
    });
    for (int i = 0; i < 200 && pinger.replies.load() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const TimeDelta took = monotonic_now() - start;
    loop->run_sync([&] {
        CHECK(pinger.replies.load() == 5);
        CHECK(pinger.timeouts == 5);
        CHECK(da->datagrams_out() == 5);
        CHECK(db->datagrams_in() == 5);
        da.reset();
        db.reset();
    });
    // Five pings 20 ms apart: the timer really waited for the core's deadlines.
    CHECK(took >= TimeDelta::millis(80));
}
