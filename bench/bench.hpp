// rtcpp-bench: one executable, one subcommand per benchmark. A benchmark reports figures through a Reporter,
// which prints "name value unit" lines, or one JSON object with --json.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace rtcpp::bench {

class Reporter {
public:
    /// One figure. `source` names who was measured: "rtcpp", or a real peer measured in the same run.
    void figure(const std::string& name, double value, const std::string& unit, const std::string& source = "rtcpp");
    /// Free text printed to stderr (progress, tables) so stdout stays machine readable.
    void note(const std::string& text);

    struct Figure {
        std::string name;
        double value;
        std::string unit;
        std::string source;
    };
    const std::vector<Figure>& figures() const { return figures_; }
    bool json = false;

private:
    std::vector<Figure> figures_;
};

struct Benchmark {
    std::string name;
    std::string description;
    std::function<int(Reporter&, const std::vector<std::string>& args)> run;
};

std::vector<Benchmark>& registry();

struct Registrar {
    Registrar(std::string name, std::string description,
              std::function<int(Reporter&, const std::vector<std::string>&)> run) {
        registry().push_back({std::move(name), std::move(description), std::move(run)});
    }
};

} // namespace rtcpp::bench

#define RTCPP_BENCH_CONCAT2(a, b) a##b
#define RTCPP_BENCH_CONCAT(a, b) RTCPP_BENCH_CONCAT2(a, b)
/// RTCPP_BENCHMARK("sim-throughput", "what it measures", [](Reporter& r, const auto& args) { ...; return 0; });
#define RTCPP_BENCHMARK(name, description, fn) \
    static ::rtcpp::bench::Registrar RTCPP_BENCH_CONCAT(rtcpp_bench_registrar_, __LINE__)(name, description, fn)
