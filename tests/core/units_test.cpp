#include <rtcpp/log.hpp>
#include <rtcpp/random.hpp>
#include <rtcpp/result.hpp>
#include <rtcpp/units.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace rtcpp;

TEST_CASE("time types convert and compare") {
    CHECK(TimeDelta::millis(1500).us() == 1500000);
    CHECK(TimeDelta::seconds(2).ms() == 2000);
    CHECK(TimeDelta::seconds_f(0.25).ms() == 250);
    CHECK((TimeDelta::millis(10) + TimeDelta::micros(5)).us() == 10005);
    CHECK(TimeDelta::millis(10) * 3 == TimeDelta::millis(30));
    CHECK(TimeDelta::millis(10) / TimeDelta::millis(4) == doctest::Approx(2.5));
    const Timestamp t0 = Timestamp::millis(1000);
    const Timestamp t1 = t0 + TimeDelta::millis(250);
    CHECK(t1 - t0 == TimeDelta::millis(250));
    CHECK(t1 > t0);
    CHECK(TimeDelta::millis(3).to_string() == "3 ms");
    CHECK(TimeDelta::micros(3).to_string() == "3 us");
}

TEST_CASE("infinite timestamps stay infinite") {
    const Timestamp never = Timestamp::plus_infinity();
    CHECK(!never.is_finite());
    CHECK(never + TimeDelta::seconds(5) == never);
    CHECK(Timestamp::millis(1) + TimeDelta::plus_infinity() == never);
    CHECK(Timestamp::millis(1) < never);
    CHECK(never.to_string() == "+inf");
}

TEST_CASE("data size and rate arithmetic") {
    const DataRate r = DataRate::mbps(1);
    CHECK(r.kbps() == 1000);
    CHECK((r * TimeDelta::seconds(1)).bytes() == 125000);
    CHECK((DataSize::bytes(125000) / TimeDelta::seconds(1)) == DataRate::mbps(1));
    CHECK((DataSize::bytes(1250) / DataRate::mbps(1)) == TimeDelta::millis(10));
    CHECK((DataSize::bytes(1) / DataRate::zero()) == TimeDelta::plus_infinity());
    CHECK((DataSize::bytes(1) / TimeDelta::zero()) == DataRate::infinity());
    CHECK(DataRate::kbps(300) * 0.5 == DataRate::kbps(150));
    CHECK(DataRate::kbps(2500).to_string() == "2.500 Mbps");
    CHECK(DataSize::bytes(12).to_string() == "12 bytes");
}

TEST_CASE("Result holds a value or an error") {
    Result<int> ok = 5;
    CHECK(ok.ok());
    CHECK(*ok == 5);
    Result<int> bad = make_error(ErrorCategory::InvalidStateError, "pc", "closed");
    CHECK_FALSE(bad);
    CHECK(bad.error().to_string() == "pc: InvalidStateError: closed");
    CHECK(bad.value_or(7) == 7);
    Result<void> v;
    CHECK(v.ok());
    Result<void> verr = make_error(ErrorCategory::SyntaxError, "sdp", "line 3: bad");
    CHECK(verr.error().category == ErrorCategory::SyntaxError);
    Result<std::string> s = std::string("x");
    CHECK(s->size() == 1);
}

TEST_CASE("Random is reproducible from its seed and well spread") {
    Random a(42), b(42), c(43);
    std::vector<uint64_t> va, vb, vc;
    for (int i = 0; i < 100; ++i) {
        va.push_back(a.next_u64());
        vb.push_back(b.next_u64());
        vc.push_back(c.next_u64());
    }
    CHECK(va == vb);
    CHECK(va != vc);

    Random r(7);
    int hits = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) hits += r.bernoulli(0.3);
    // 0.3 with n=1e5: standard deviation 0.00145, so 5 sigma is well inside 0.01.
    CHECK(std::abs(hits / double(n) - 0.3) < 0.01);

    double sum = 0, sq = 0;
    for (int i = 0; i < n; ++i) {
        double g = r.gaussian(10, 2);
        sum += g;
        sq += g * g;
    }
    const double mean = sum / n;
    CHECK(mean == doctest::Approx(10).epsilon(0.01));
    CHECK(std::sqrt(sq / n - mean * mean) == doctest::Approx(2).epsilon(0.02));

    for (int i = 0; i < 1000; ++i) {
        auto v = r.uniform_range(-3, 3);
        CHECK((v >= -3 && v <= 3));
        CHECK(r.uniform(10) < 10);
    }
    const std::string s = r.ice_chars(24);
    CHECK(s.size() == 24);
    for (char ch : s) CHECK((std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '/'));
}

TEST_CASE("log records reach the handler only at enabled levels") {
    std::vector<std::string> got;
    set_log_handler(LogLevel::Info, [&](LogLevel l, std::string_view comp, std::string_view msg) {
        got.push_back(std::string(to_string(l)) + " " + std::string(comp) + " " + std::string(msg));
    });
    int evaluated = 0;
    auto costly = [&] { ++evaluated; return 42; };
    RTCPP_LOG(LogLevel::Debug, "ice", "value " << costly());
    CHECK(evaluated == 0); // a disabled level formats nothing
    RTCPP_LOG(LogLevel::Warning, "ice", "value " << costly());
    CHECK(evaluated == 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "warning ice value 42");
    set_log_handler(LogLevel::Trace, nullptr);
    RTCPP_LOG(LogLevel::Error, "ice", "dropped");
    CHECK(got.size() == 1);
}
