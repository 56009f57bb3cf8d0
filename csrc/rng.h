// Counter-based random numbers: every draw is a pure function of (seed, stream, draw index),
// so kernels that give each output row its own stream produce the same numbers for any
// thread count or schedule. Plain C++, no Python.
//
// Generator: SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014; passes BigCrush) used as a counter-based generator: with
// key = mix64(seed ^ C), 64-bit draw i of stream s is mix64(key + s * S + (i + 1) * G) for
// two odd constants S and G -- a bijective mix of a distinct counter, so streams neither
// share nor shift into each other for any realistic (stream, draw) range. 32-bit draws use
// the two halves of one 64-bit draw, low half first.
#pragma once
#include <cstdint>

namespace recplug {

// The SplitMix64 finaliser: a bijective avalanche mix of 64 bits.
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// A seed turned into a key once per kernel call (so seeds 0, 1, 2 ... are far apart).
inline uint64_t seed_key(uint64_t seed) { return mix64(seed ^ 0x5851F42D4C957F2DULL); }

class CounterRng {
 public:
    static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ULL;   // 2^64 / golden ratio
    static constexpr uint64_t kStream = 0xD1B54A32D192ED03ULL;  // odd spreading constant

    // Stream `stream` (e.g. an output row) under the key from seed_key(seed).
    CounterRng(uint64_t key, uint64_t stream) : state_(key + stream * kStream) {}
    CounterRng() : state_(0) {}

    // Next uniform 64-bit word.
    inline uint64_t next() {
        state_ += kGamma;
        return mix64(state_);
    }

    // Exactly uniform integer in [0, n), n >= 1 (Lemire 2019, multiply-shift with rejection).
    inline uint64_t bounded(uint64_t n) {
        unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
        uint64_t low = static_cast<uint64_t>(m);
        if (low < n) {
            const uint64_t threshold = (0 - n) % n;
            while (low < threshold) {
                m = static_cast<unsigned __int128>(next()) * n;
                low = static_cast<uint64_t>(m);
            }
        }
        return static_cast<uint64_t>(m >> 64);
    }

    // Next uniform 32-bit word: the low, then the high half of one 64-bit draw.
    inline uint32_t next32() {
        if (half_) {
            half_ = false;
            return static_cast<uint32_t>(spare_ >> 32);
        }
        spare_ = next();
        half_ = true;
        return static_cast<uint32_t>(spare_);
    }

    // Exactly uniform integer in [0, n), 1 <= n < 2^32, from 32-bit words (Lemire's method).
    inline uint32_t bounded32(uint32_t n) {
        uint64_t m = static_cast<uint64_t>(next32()) * n;
        uint32_t low = static_cast<uint32_t>(m);
        if (low < n) {
            const uint32_t threshold = (0u - n) % n;
            while (low < threshold) {
                m = static_cast<uint64_t>(next32()) * n;
                low = static_cast<uint32_t>(m);
            }
        }
        return static_cast<uint32_t>(m >> 32);
    }

    // For vectorised generators that reproduce this stream: the counter before the next
    // 64-bit draw (64-bit draw i from here is mix64(counter() + (i + 1) * kGamma)), and
    // whether next32() starts a new 64-bit draw.
    uint64_t counter() const { return state_; }
    bool at_word_start() const { return !half_; }

    // Skip `count` 32-bit draws, as count calls of next32() would; requires at_word_start().
    void discard32(uint64_t count) {
        state_ += (count / 2) * kGamma;
        if (count % 2 != 0) {
            spare_ = next();
            half_ = true;
        }
    }

    // Uniform double in (0, 1] with 53 random bits (never 0, so log() is finite).
    inline double open_unit() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

 private:
    uint64_t state_;
    uint64_t spare_ = 0;
    bool half_ = false;
};

}  // namespace recplug
