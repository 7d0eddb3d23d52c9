#include "stun/transaction.hpp"

#include <doctest/doctest.h>

using namespace rtcpp;
using namespace rtcpp::stun;

namespace {

// Drives a table alone (no response ever) and records the times of every transmission and of the timeout.
struct Run {
    std::vector<int64_t> sends_ms;
    int64_t timeout_ms = -1;
};

Run run_without_response(const TransactionConfig& config) {
    TransactionTable table;
    Random rng(1);
    const auto id = random_transaction_id(rng);
    Timestamp now = Timestamp::zero();
    table.start(now, id, {1, 2, 3}, 77, config);
    Run run;
    for (int guard = 0; guard < 100; ++guard) {
        while (auto t = table.poll_transmit()) {
            CHECK(t->tag == 77);
            CHECK(t->bytes == std::vector<uint8_t>{1, 2, 3});
            CHECK(t->retransmission == !run.sends_ms.empty());
            run.sends_ms.push_back(now.ms());
        }
        if (auto tag = table.poll_timed_out()) {
            CHECK(*tag == 77);
            run.timeout_ms = now.ms();
            break;
        }
        now = table.poll_timeout();
        REQUIRE(now.is_finite());
        table.handle_timeout(now);
    }
    CHECK(table.size() == 0);
    return run;
}

} // namespace

TEST_CASE("UDP transaction: RFC 8489 schedule 0, 500, 1500, ..., 31500 and timeout at 39500 ms") {
    auto run = run_without_response({});
    CHECK(run.sends_ms == std::vector<int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500});
    CHECK(run.timeout_ms == 39500);
}

TEST_CASE("configurable RTO and Rc") {
    TransactionConfig c;
    c.rto = TimeDelta::millis(100);
    c.rc = 3;
    c.rm = 4;
    auto run = run_without_response(c);
    CHECK(run.sends_ms == std::vector<int64_t>{0, 100, 300});
    CHECK(run.timeout_ms == 700);
}

TEST_CASE("reliable transport: one transmission, 39.5 s timeout") {
    TransactionConfig c;
    c.reliable = true;
    auto run = run_without_response(c);
    CHECK(run.sends_ms == std::vector<int64_t>{0});
    CHECK(run.timeout_ms == 39500);
}

TEST_CASE("a response ends the transaction and reports the RTT from the last transmission") {
    TransactionTable table;
    Random rng(3);
    const auto id = random_transaction_id(rng);
    const auto other = random_transaction_id(rng);
    table.start(Timestamp::millis(1000), id, {9}, 5);
    REQUIRE(table.poll_transmit());
    CHECK_FALSE(table.poll_transmit());
    CHECK(table.poll_timeout() == Timestamp::millis(1500));
    table.handle_timeout(Timestamp::millis(1500));
    auto re = table.poll_transmit();
    REQUIRE(re);
    CHECK(re->retransmission);
    CHECK_FALSE(table.handle_response(Timestamp::millis(1520), other));
    auto done = table.handle_response(Timestamp::millis(1540), id);
    REQUIRE(done);
    CHECK(done->tag == 5);
    CHECK(done->rtt == TimeDelta::millis(40));
    CHECK(done->transmissions == 2);
    CHECK(table.size() == 0);
    CHECK(table.poll_timeout() == Timestamp::plus_infinity());
    // A duplicate response is unknown now.
    CHECK_FALSE(table.handle_response(Timestamp::millis(1600), id));
}

TEST_CASE("cancel and cancel_tag") {
    TransactionTable table;
    Random rng(4);
    const auto a = random_transaction_id(rng), b = random_transaction_id(rng), c = random_transaction_id(rng);
    table.start(Timestamp::zero(), a, {}, 1);
    table.start(Timestamp::zero(), b, {}, 2);
    table.start(Timestamp::zero(), c, {}, 2);
    CHECK(table.tag_of(b) == uint64_t{2});
    table.cancel_tag(2);
    CHECK(table.size() == 1);
    CHECK(table.cancel(a));
    CHECK_FALSE(table.cancel(a));
    CHECK_FALSE(table.poll_transmit());
}
