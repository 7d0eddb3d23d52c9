// A small, fast, seedable pseudo-random source (xoshiro256**).
//
// Everything in the core that needs randomness (ICE credentials and tie-breakers, SSRCs, initial sequence numbers,
// transaction ids) takes it from a Random that the owner injects, so simulated runs are reproducible from a seed.
// Production users get one seeded from the operating system (Random::from_entropy(), done by the runtime). Key
// material (DTLS, SRTP) never comes from here: OpenSSL's generator produces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rtcpp {

class Random {
public:
    explicit Random(uint64_t seed);
    /// Seeded from the operating system's entropy (getrandom). For runtime use only.
    static Random from_entropy();

    uint64_t next_u64();
    uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
    /// Uniform in [0, n); n == 0 yields 0.
    uint64_t uniform(uint64_t n);
    /// Uniform in [lo, hi] inclusive.
    int64_t uniform_range(int64_t lo, int64_t hi);
    /// Uniform in [0, 1).
    double uniform_double();
    bool bernoulli(double p) { return uniform_double() < p; }
    /// Normal distribution (Box-Muller).
    double gaussian(double mean, double stddev);
    void fill(std::span<uint8_t> out);
    /// A string of n characters from the ICE char set (ALPHA / DIGIT / "+" / "/"), as used for ufrag and pwd.
    std::string ice_chars(size_t n);
    /// A derived, independent generator (for handing one to each component).
    Random fork();

private:
    uint64_t s_[4];
    bool have_spare_ = false;
    double spare_ = 0;
};

} // namespace rtcpp
