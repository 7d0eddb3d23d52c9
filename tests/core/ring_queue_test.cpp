// RingQueue: FIFO order across wrap-around and growth, indexing, resize, and that popped slots let go of what they
// held (a queue of buffers must not keep a sent buffer alive).
#include "core/ring_queue.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <memory>
#include <vector>

using rtcpp::RingQueue;

TEST_CASE("RingQueue keeps FIFO order through wrap-around and growth, like std::deque") {
    RingQueue<int> q;
    std::deque<int> ref;
    int next = 0;
    // Pushes and pops in uneven runs: the head wraps many times and the ring grows while wrapped.
    for (int round = 0; round < 200; ++round) {
        const int pushes = 1 + (round * 7) % 13, pops = (round * 5) % 11;
        for (int i = 0; i < pushes; ++i) {
            q.push_back(next);
            ref.push_back(next++);
        }
        for (int i = 0; i < pops && !ref.empty(); ++i) {
            REQUIRE(q.front() == ref.front());
            q.pop_front();
            ref.pop_front();
        }
        REQUIRE(q.size() == ref.size());
        for (size_t i = 0; i < ref.size(); ++i) REQUIRE(q[i] == ref[i]);
        if (!ref.empty()) CHECK(q.back() == ref.back());
        std::vector<int> seen(q.begin(), q.end());
        CHECK(seen == std::vector<int>(ref.begin(), ref.end()));
    }
    CHECK((q.capacity() & (q.capacity() - 1)) == 0);
}

TEST_CASE("RingQueue stops allocating once it has reached its largest size") {
    RingQueue<std::vector<int>> q;
    for (int i = 0; i < 20; ++i) q.emplace_back(std::vector<int>{i});
    const size_t cap = q.capacity();
    CHECK(cap >= 20);
    for (int i = 0; i < 1000; ++i) {
        q.pop_front();
        q.push_back(std::vector<int>{i});
    }
    CHECK(q.capacity() == cap);
    q.reserve(100);
    CHECK(q.capacity() >= 100);
    q.clear();
    CHECK(q.empty());
    CHECK(q.capacity() >= 100);
}

TEST_CASE("RingQueue resets popped slots and grows or shrinks with resize") {
    auto shared = std::make_shared<int>(5);
    RingQueue<std::shared_ptr<int>> q;
    q.push_back(shared);
    q.push_back(shared);
    CHECK(shared.use_count() == 3);
    q.pop_front();
    CHECK(shared.use_count() == 2); // the popped slot no longer holds it
    q.resize(4);
    CHECK(q.size() == 4);
    CHECK(q[0] == shared);
    CHECK(q[1] == nullptr);
    CHECK(q[3] == nullptr);
    q.resize(0);
    CHECK(q.empty());
    CHECK(shared.use_count() == 1);
    q.resize(3); // the slots it shrank from come back empty
    CHECK(q[0] == nullptr);
}
