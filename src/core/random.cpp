#include "rtcpp/random.hpp"

#include <cmath>
#include <sys/random.h>

namespace rtcpp {

namespace {
uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
} // namespace

Random::Random(uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

Random Random::from_entropy() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
        // getrandom cannot fail for 8 bytes once the pool is initialised; mix the address as a last resort.
        seed ^= reinterpret_cast<uintptr_t>(&seed);
    }
    return Random(seed);
}

uint64_t Random::next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

uint64_t Random::uniform(uint64_t n) {
    if (n == 0) return 0;
    // Rejection sampling removes modulo bias.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next_u64();
    while (x >= limit);
    return x % n;
}

int64_t Random::uniform_range(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int64_t>(uniform(static_cast<uint64_t>(hi - lo) + 1));
}

double Random::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Random::gaussian(double mean, double stddev) {
    if (have_spare_) {
        have_spare_ = false;
        return mean + stddev * spare_;
    }
    double u, v, s;
    do {
        u = uniform_double() * 2.0 - 1.0;
        v = uniform_double() * 2.0 - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    s = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * s;
    have_spare_ = true;
    return mean + stddev * u * s;
}

void Random::fill(std::span<uint8_t> out) {
    size_t i = 0;
    while (i < out.size()) {
        uint64_t x = next_u64();
        for (int k = 0; k < 8 && i < out.size(); ++k, ++i) out[i] = static_cast<uint8_t>(x >> (8 * k));
    }
}

std::string Random::ice_chars(size_t n) {
    static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s(n, '\0');
    for (auto& c : s) c = kChars[uniform(64)];
    return s;
}

Random Random::fork() { return Random(next_u64()); }

} // namespace rtcpp
