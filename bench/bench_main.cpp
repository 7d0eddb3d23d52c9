#include "bench.hpp"

#include <cstdio>
#include <cstring>

namespace rtcpp::bench {

std::vector<Benchmark>& registry() {
    static std::vector<Benchmark> r;
    return r;
}

void Reporter::figure(const std::string& name, double value, const std::string& unit, const std::string& source) {
    figures_.push_back({name, value, unit, source});
    if (!json) {
        if (source == "rtcpp") std::printf("%s %.6g %s\n", name.c_str(), value, unit.c_str());
        else std::printf("%s %.6g %s (%s)\n", name.c_str(), value, unit.c_str(), source.c_str());
        std::fflush(stdout);
    }
}

void Reporter::note(const std::string& text) { std::fprintf(stderr, "%s\n", text.c_str()); }

} // namespace rtcpp::bench

namespace {

void print_json(const std::string& bench, const rtcpp::bench::Reporter& r) {
    std::printf("{\"benchmark\":\"%s\",\"figures\":[", bench.c_str());
    bool first = true;
    for (const auto& f : r.figures()) {
        std::printf("%s{\"name\":\"%s\",\"value\":%.9g,\"unit\":\"%s\",\"source\":\"%s\"}", first ? "" : ",",
                    f.name.c_str(), f.value, f.unit.c_str(), f.source.c_str());
        first = false;
    }
    std::printf("]}\n");
}

int usage() {
    std::fprintf(stderr, "usage: rtcpp-bench list | rtcpp-bench [--json] NAME [ARGS...] | rtcpp-bench [--json] all\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    using namespace rtcpp::bench;
    std::vector<std::string> args(argv + 1, argv + argc);
    bool json = false;
    if (!args.empty() && args[0] == "--json") {
        json = true;
        args.erase(args.begin());
    }
    if (args.empty()) return usage();
    if (args[0] == "list") {
        for (const auto& b : registry()) std::printf("%-28s %s\n", b.name.c_str(), b.description.c_str());
        return 0;
    }
    const std::string name = args[0];
    args.erase(args.begin());
    int rc = 0;
    bool found = false;
    for (const auto& b : registry()) {
        if (name != "all" && b.name != name) continue;
        found = true;
        Reporter r;
        r.json = json;
        if (!json) std::fprintf(stderr, "== %s: %s\n", b.name.c_str(), b.description.c_str());
        int brc = b.run(r, args);
        if (json) print_json(b.name, r);
        if (brc != 0) rc = brc;
    }
    if (!found) {
        std::fprintf(stderr, "no benchmark named '%s' (try: rtcpp-bench list)\n", name.c_str());
        return 2;
    }
    return rc;
}
