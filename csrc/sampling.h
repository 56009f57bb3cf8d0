// Negative sampling: for each requested user, n item ids that are not among that user's
// positives, uniform or proportional to popularity weights (Vose alias table).
// Plain C++, no Python. Inputs are validated by recplug/kernels.py (shapes, index ranges,
// monotone indptr); this file trusts them and never reads outside them.
//
// Determinism: output row r draws from its own counter-based stream (rng.h) keyed by
// (seed, r), and every code path below consumes that stream identically, so the output
// depends on the seed and the inputs only -- never on the thread count or schedule.
//
// Layout of the work: NegativeSampler holds every user's positives (any order, duplicates
// allowed) once, for any number of calls -- as a bitmap row, or, when bitmap rows would take
// far more memory than the positives themselves (large catalogue, short histories), as a
// sorted copy behind one Bloom filter of all (user, item) pairs (16 bits per positive, so
// that a lookup usually reads one word, found from the pair alone, and bisects the list
// only on a hit) -- together with each user's statistics and the alias table. A call
// serves the rows of `users` in parallel, rejecting candidates that are positives (and,
// without replacement, those already drawn in the row, kept in a per-thread bitmap); a row
// with many draws from a sorted list first copies the list into a per-thread bitmap row.
// A user whose acceptance rate is low (positives cover most of the catalogue or of
// the popularity mass), or a row that meets kMaxStreak rejections in a row, draws from the
// enumerated complement instead -- the same distribution: uniform (or weight-proportional)
// over the items that remain. The backend changes the memory layout only: the output is the
// same.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define RECPLUG_SAMPLING_AVX512 1
#endif

#include "huge_array.h"
#include "parallel.h"
#include "rng.h"

namespace recplug {

// What went wrong when a row cannot be served (bad_row < 0: all rows were served).
struct SampleStatus {
    int64_t bad_user_row = -1;  // first row of `users` whose user is not in [0, n_users)
    int64_t bad_row = -1;    // first row of `users` that asks for more than its user has
    int32_t user = -1;       // that row's user
    int64_t positives = 0;   // distinct positives of that user that could otherwise be drawn
    int64_t eligible = 0;    // items that can be drawn at all (positive weight, or all)
    int64_t needed = 0;      // negatives that row needs available (1, or n without replacement)
};

namespace sampling_detail {

constexpr int kMaxStreak = 128;      // rejections in a row before enumerating
constexpr int64_t kRowChunk = 1024;  // rows a thread takes at a time

// Vose alias table over the items with positive weight.
struct AliasTable {
    std::vector<int32_t> item;        // [K] eligible items, ascending
    std::vector<int32_t> alias_item;  // [K] the other item of each column
    std::vector<uint64_t> threshold;  // [K] keep `item` when a 32-bit coin is below (scale 2^32)
    double total = 0.0;               // sum of all weights

    AliasTable(const double* weights, int64_t n_items) {
        for (int64_t i = 0; i < n_items; ++i) {
            if (weights[i] > 0.0) {
                item.push_back(static_cast<int32_t>(i));
                total += weights[i];
            }
        }
        const size_t k = item.size();
        alias_item.assign(item.begin(), item.end());
        threshold.assign(k, uint64_t{1} << 32);
        if (k == 0) return;
        std::vector<double> p(k);
        std::vector<size_t> small, large;
        for (size_t j = 0; j < k; ++j) {
            p[j] = weights[item[j]] * static_cast<double>(k) / total;
            (p[j] < 1.0 ? small : large).push_back(j);
        }
        while (!small.empty() && !large.empty()) {
            const size_t s = small.back();
            small.pop_back();
            const size_t l = large.back();
            threshold[s] = static_cast<uint64_t>(std::max(0.0, p[s]) * 4294967296.0);
            alias_item[s] = item[l];
            p[l] = (p[l] + p[s]) - 1.0;
            if (p[l] < 1.0) {
                large.pop_back();
                small.push_back(l);
            }
        }
        // Leftovers are 1 up to rounding: they keep their own item (threshold stays 2^32).
    }

    inline int32_t draw(CounterRng& rng) const {
        const uint32_t column = rng.bounded32(static_cast<uint32_t>(item.size()));
        const uint32_t coin = rng.next32();
        return coin < threshold[column] ? item[column] : alias_item[column];
    }
};

inline bool test_bit(const uint64_t* bits, int32_t i) {
    return (bits[static_cast<uint32_t>(i) >> 6] >> (i & 63)) & 1u;
}
inline void set_bit(uint64_t* bits, int32_t i) {
    bits[static_cast<uint32_t>(i) >> 6] |= uint64_t{1} << (i & 63);
}
inline void clear_bit(uint64_t* bits, int32_t i) {
    bits[static_cast<uint32_t>(i) >> 6] &= ~(uint64_t{1} << (i & 63));
}

// How the rows of one user are served.
enum class Mode : int32_t { kReject = 0, kComplement = 1, kTooFew = 2 };

// Branch-free test whether x occurs in the ascending list a[0, len) (duplicates allowed).
inline bool sorted_contains(const int32_t* a, int64_t len, int32_t x) {
    if (len == 0) return false;
    while (len > 1) {
        const int64_t half = len / 2;
        a = a[half] <= x ? a + half : a;
        len -= half;
    }
    return *a == x;
}

// The Bloom filter in front of the sorted lists: one 64-bit word per (user, item) lookup (a
// blocked filter), 4 bits per pair, one word per 4 positives (16 bits per positive: about 1%
// of the negatives look like positives and are then looked up in the list).
inline uint64_t filter_hash(int32_t user, int32_t item) {
    return mix64((static_cast<uint64_t>(static_cast<uint32_t>(user)) << 32) | static_cast<uint32_t>(item));
}
inline uint64_t filter_bits(uint64_t h) {
    return (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63)) |
           (uint64_t{1} << ((h >> 12) & 63)) | (uint64_t{1} << ((h >> 18) & 63));
}
inline uint64_t filter_word(uint64_t h, uint64_t words) { return ((h >> 32) * words) >> 32; }

// Per user: its positives as a bitmap row or a sorted list, and statistics.
// The statistics do not depend on a call's n or replace; Call::mode() combines them with those.
// 32 bytes: two users per cache line.
struct UserState {
    const uint64_t* positives = nullptr;  // bitmap row of the user's positives (bitmap backend)
    const int32_t* list = nullptr;        // the user's positives, ascending (list backend)
    int64_t list_len = 0;
    int32_t blocked = 0;                  // distinct eligible positives (< n_items < 2^31)
    int32_t mass_low = 0;                 // weighted: positives hold > 7/8 of the weight
};
static_assert(sizeof(UserState) == 32, "UserState should stay 32 bytes");

// What a sampler holds between calls: every user's positives, the alias table and the
// ineligible items. Built once, read-only afterwards (so calls may run concurrently).
struct Positives {
    int64_t n_users = 0;
    int64_t n_items = 0;
    std::vector<double> weights;       // [n_items]; empty: uniform
    std::unique_ptr<AliasTable> alias;  // null: uniform
    int64_t eligible = 0;              // items that can be drawn at all
    size_t words = 0;                  // 64-bit words per item bitmap
    bool use_bitmap = true;            // positives as bitmap rows (else as sorted lists)
    std::vector<uint64_t> ineligible;  // [words] zero-weight items, plus the padding bits
    HugeArray<UserState> state;        // [n_users]
    // [n_users] rejects_single(state[u]), kept apart: the single-draw path of the bitmap
    // backend never touches the state, and 1 byte per user stays in cache
    std::vector<uint8_t> single_reject;
    bool prefetch_state = false;       // state outgrows the caches: look it up a group ahead
    HugeArray<uint64_t> bitmap;        // [n_users, words] (bitmap backend)
    HugeArray<int32_t> lists;          // [nnz] each user's positives ascending, at CSR offsets
    HugeArray<uint64_t> filter;        // [filter_words] the lists' Bloom filter
    uint64_t filter_words = 0;

    const double* weight_ptr() const { return alias ? weights.data() : nullptr; }

    // List backend: where the filter holds the pair (user, item): a word and its bits.
    const uint64_t* filter_at(int32_t user, int32_t item, uint64_t& bits) const {
        const uint64_t h = filter_hash(user, item);
        bits = filter_bits(h);
        return filter.data() + filter_word(h, filter_words);
    }
    // List backend: whether item is among the positives of user (state s).
    bool list_contains(int32_t user, const UserState& s, int32_t item) const {
        uint64_t bits;
        const uint64_t word = *filter_at(user, item, bits);
        return (word & bits) == bits && sorted_contains(s.list, s.list_len, item);
    }

    // Whether Call::mode() serves a single draw with replacement (n = 1) of this user by
    // rejection.
    bool rejects_single(const UserState& s) const {
        const int64_t left = eligible - s.blocked;
        return left >= 1 && left * 8 >= eligible && !s.mass_low;
    }

    // Record user u's distinct eligible positives and their weight (summed in ascending
    // item order by both backends, so both make the same choices).
    void set_stats(int64_t u, int64_t count, double mass) {
        state[u].blocked = static_cast<int32_t>(count);
        state[u].mass_low = alias && (alias->total - mass) * 8.0 < alias->total;
    }

    // User u's positives pos[beg, end) as a sorted list (a sorted copy in `lists`), entered
    // in the filter (atomically: users are loaded in parallel).
    void load_user_list(int64_t u, const int32_t* pos, int64_t beg, int64_t end) {
        int32_t* list = lists.data() + beg;
        std::copy(pos + beg, pos + end, list);
        if (!std::is_sorted(list, list + (end - beg))) std::sort(list, list + (end - beg));
        int64_t count = 0;
        double mass = 0.0;
        const double* w = weight_ptr();
        for (int64_t k = 0; k < end - beg; ++k) {
            const int32_t i = list[k];
            if (k > 0 && i == list[k - 1]) continue;
            uint64_t bits;
            const uint64_t* word = filter_at(static_cast<int32_t>(u), i, bits);
            __atomic_fetch_or(const_cast<uint64_t*>(word), bits, __ATOMIC_RELAXED);
            if (w == nullptr) {
                ++count;
            } else if (w[i] > 0.0) {
                ++count;
                mass += w[i];
            }
        }
        state[u].list = list;
        state[u].list_len = end - beg;
        set_stats(u, count, mass);
    }

    // User u's positives pos[beg, end) as bitmap row u.
    void load_user(int64_t u, const int32_t* pos, int64_t beg, int64_t end) {
        uint64_t* row = bitmap.data() + u * words;
        for (int64_t k = beg; k < end; ++k) set_bit(row, pos[k]);
        int64_t count = 0;
        double mass = 0.0;
        const double* w = weight_ptr();
        for (size_t j = 0; j < words; ++j) {
            uint64_t bits = row[j] & ~ineligible[j];
            count += __builtin_popcountll(bits);
            while (w && bits) {
                mass += w[j * 64 + __builtin_ctzll(bits)];
                bits &= bits - 1;
            }
        }
        state[u].positives = row;
        set_stats(u, count, mass);
    }
};

// One sampling call over a Positives: the rows asked for and how.
struct Call {
    const Positives& p;
    const int32_t* users;
    int64_t m;
    int64_t n;
    bool replace;
    uint64_t key;
    int64_t needed;  // negatives a row needs available: 1, or n without replacement

    // How user s's rows are served: too few negatives; from the enumerated complement when
    // rejection would waste too many draws (< 1/8 of candidates accepted at the last draw,
    // or the positives hold > 7/8 of the weight); else by rejection.
    inline Mode mode(const UserState& s) const {
        if (p.eligible - s.blocked < needed) return Mode::kTooFew;
        const int64_t left = p.eligible - s.blocked - (replace ? 0 : n - 1);
        return left * 8 < p.eligible || s.mass_low ? Mode::kComplement : Mode::kReject;
    }

    inline int32_t draw(CounterRng& rng) const {
        return p.alias ? p.alias->draw(rng)
                       : static_cast<int32_t>(rng.bounded32(static_cast<uint32_t>(p.n_items)));
    }
};

// One thread's scratch: items drawn in the current row, and the last complement built.
class Worker {
 public:
    static constexpr int kGroup = 16;        // rows per pipeline stage at most (see rows_impl)
    static constexpr int64_t kLeadDraws = 64;  // draws a stage of several-draw rows should hold

    explicit Worker(const Call& call)
        : c_(call), p_(call.p), drawn_(call.replace ? 0 : call.p.words, 0),
          row_bits_(call.p.use_bitmap ? 0 : call.p.words, 0) {}

    int64_t first_bad_row = -1;

    // Serve rows [k0, k1).
    void rows(int64_t k0, int64_t k1, int32_t* out) {
        c_.n == 1 && c_.replace ? rows_impl<true>(k0, k1, out) : rows_impl<false>(k0, k1, out);
    }

 private:
    // kSingle: n == 1 with replacement.
    //
    // Rows meet cache misses in their user's state and positives, so they are served in
    // groups, software-pipelined: while group q is served, group q + 1 has its positives
    // prefetched (the bitmap row or list, or the bitmap or filter word its first candidate
    // tests) and, when the per-user state outgrows the caches and the rows need it (single
    // draws need it only on a filter hit), the rows state_lead ahead their state.
    // A single draw whose first candidate is a negative is served without calling serve(),
    // whatever the user's mode (for a user served from the complement, a candidate that is
    // a negative has the same distribution as a complement draw; a user with no negative
    // rejects it); any other row is served by serve(), which starts the row's stream afresh.
    template <bool kSingle>
    void rows_impl(int64_t k0, int64_t k1, int32_t* out) {
        int32_t first[2][kGroup];
        const uint64_t* bits[2][kGroup];  // bitmap rows (or, single draws from lists, filter words)
        uint64_t want[2][kGroup];          // single draws from lists: the filter bits to test
        const UserState* st[2][kGroup];
        const size_t lines = (p_.words + 7) / 8;
        // Few draws per row touch one line of the user's positives; many touch all of it.
        const bool bitmap = p_.use_bitmap;
        const bool whole_row = !kSingle && bitmap && static_cast<int64_t>(lines) <= 4 * c_.n;
        const int32_t* users = c_.users;
        // Rows with many draws take long: fewer of them cover the memory latency, and fewer
        // positives in flight at once keep the prefetches from being dropped.
        const int64_t group = kSingle ? kGroup : std::max<int64_t>(1, std::min<int64_t>(kGroup, kLeadDraws / c_.n));

        // the states of rows [k, k + count)
        auto prefetch_states = [&](int64_t k, int64_t count) {
            for (int64_t e = std::min(k1, k + count); k < e; ++k) __builtin_prefetch(&p_.state[users[k]]);
        };
        const int64_t state_lead = std::max<int64_t>(2 * group, kGroup);  // rows
        auto prefetch_lines = [](const void* start, int64_t n_lines) {
            for (int64_t l = 0; l < n_lines; ++l) __builtin_prefetch(static_cast<const char*>(start) + 64 * l);
        };
        auto prepare = [&](int64_t k, int slot) {
            for (int j = 0; j < group && k + j < k1; ++j) {
                const int64_t r = k + j;
                const int32_t u = users[r];
                if (kSingle) {
                    bits[slot][j] = bitmap ? p_.bitmap.data() + u * p_.words : nullptr;
                } else {
                    const UserState* s = &p_.state[u];
                    st[slot][j] = s;
                    bits[slot][j] = s->positives;
                    if (!kSingle && c_.mode(*s) != Mode::kReject) continue;
                }
                if (kSingle || (bitmap && !whole_row)) {
                    CounterRng rng(c_.key, static_cast<uint64_t>(r));
                    first[slot][j] = c_.draw(rng);
                }
                if (kSingle && !bitmap) {
                    bits[slot][j] = p_.filter_at(u, first[slot][j], want[slot][j]);
                    __builtin_prefetch(bits[slot][j]);
                } else if (!bitmap) {
                    const UserState* s = st[slot][j];
                    if (scatters(*s)) prefetch_lines(s->list, std::min<int64_t>(4 * c_.n, (s->list_len + 15) / 16));
                } else if (whole_row) {
                    prefetch_lines(bits[slot][j], static_cast<int64_t>(lines));
                } else {
                    __builtin_prefetch(bits[slot][j] + (static_cast<uint32_t>(first[slot][j]) >> 6));
                }
            }
        };
        // List backend, single draws: a candidate that passes the filter is checked in its
        // user's list two groups later -- one group for the state to arrive, one for the list.
        int64_t found[kGroup], checking[kGroup];
        int n_found = 0, n_checking = 0;
        auto check_lists = [&] {
            for (int j = 0; j < n_checking; ++j) single_from_list(checking[j], out);
            for (int j = 0; j < n_found; ++j) {
                const UserState& s = p_.state[users[found[j]]];
                prefetch_lines(s.list, std::min<int64_t>(8, (s.list_len + 15) / 16));
                checking[j] = found[j];
            }
            n_checking = n_found;
            n_found = 0;
        };
        auto finish = [&](int64_t k, int slot) {
            if (kSingle && !bitmap) check_lists();
            for (int j = 0; j < group && k + j < k1; ++j) {
                const int64_t r = k + j;
                if (kSingle) {
                    const int32_t item = first[slot][j];
                    const int32_t u = users[r];
                    if (bitmap) {
                        if (!test_bit(bits[slot][j], item)) {
                            out[r] = item;
                        } else if (!p_.single_reject[u] || !redraw_single(r, u, bits[slot][j], out)) {
                            serve(r, out + r);
                        }
                    } else {
                        if ((*bits[slot][j] & want[slot][j]) != want[slot][j]) {
                            out[r] = item;
                        } else {
                            __builtin_prefetch(&p_.state[u]);
                            found[n_found++] = r;
                        }
                    }
                    continue;
                }
                serve(r, out + r * c_.n);
            }
        };

        const bool prefetch_state = p_.prefetch_state && !kSingle;
        if (prefetch_state) prefetch_states(k0, state_lead);
        prepare(k0, 0);
        int slot = 0;
        for (int64_t k = k0; k < k1; k += group, slot ^= 1) {
            if (prefetch_state) prefetch_states(k + state_lead, group);
            prepare(k + group, slot ^ 1);
            finish(k, slot);
        }
        if (kSingle && !bitmap) {
            check_lists();
            check_lists();
        }
    }

    // List backend: single draw r, whose first candidate passed the filter.
    void single_from_list(int64_t r, int32_t* out) {
        const int32_t u = c_.users[r];
        const UserState& s = p_.state[u];
        CounterRng rng(c_.key, static_cast<uint64_t>(r));
        const int32_t item = c_.draw(rng);
        if (!sorted_contains(s.list, s.list_len, item)) {
            out[r] = item;
        } else if (!p_.single_reject[u] || !redraw_single(r, u, nullptr, out)) {
            serve(r, out + r);
        }
    }

    // List backend: whether a row of this user by rejection first copies the user's positives
    // into a bitmap row (two stores per positive) rather than testing each draw in the filter
    // (a likely cache miss per draw): when the row draws at least 1/64 as many as it has.
    bool scatters(const UserState& s) const { return !p_.use_bitmap && 64 * c_.n >= s.list_len; }

    // List backend: whether item is a positive of user u.
    bool list_contains(int32_t u, int32_t item) const { return p_.list_contains(u, p_.state[u], item); }

    // A single draw (rejection mode) whose first candidate was a positive: the draws that
    // serve() would make next (bits: the user's bitmap row, or null for the list backend).
    // False when kMaxStreak candidates were positives: then serve() takes the row.
    bool redraw_single(int64_t r, int32_t u, const uint64_t* bits, int32_t* out) const {
        CounterRng rng(c_.key, static_cast<uint64_t>(r));
        c_.draw(rng);  // the first candidate, a positive
        for (int streak = 1; streak < kMaxStreak; ++streak) {
            const int32_t item = c_.draw(rng);
            if (!(p_.use_bitmap ? test_bit(bits, item) : list_contains(u, item))) {
                out[r] = item;
                return true;
            }
        }
        return false;
    }

    // Row r into out[0, n).
    void serve(int64_t r, int32_t* out) {
        const int32_t u = c_.users[r];
        const UserState& s = p_.state[u];
        const Mode mode = c_.mode(s);
        if (mode == Mode::kTooFew) {
            if (first_bad_row < 0 || r < first_bad_row) first_bad_row = r;
            return;
        }
        CounterRng rng(c_.key, static_cast<uint64_t>(r));
        int64_t filled = 0;
        if (mode == Mode::kReject) {
            if (p_.use_bitmap) {
                filled = reject_bits(rng, out, s.positives);
            } else if (scatters(s)) {
                uint64_t* bits = row_bits_.data();
                const int32_t* list = s.list;
                const int64_t len = s.list_len;
                for (int64_t k = 0; k < len; ++k) set_bit(bits, list[k]);
                filled = reject_bits(rng, out, bits);
                for (int64_t k = 0; k < len; ++k) clear_bit(bits, list[k]);
            } else {
                filled = reject(rng, out, [this, u, &s](int32_t item) { return p_.list_contains(u, s, item); });
            }
        }
        if (filled < c_.n) from_complement(u, s, rng, out, filled);
        if (!c_.replace) {
            for (int64_t j = 0; j < filled; ++j) clear_bit(drawn_.data(), out[j]);
        }
    }

    // reject() against a bitmap row of positives. Uniform draws with replacement for rows of
    // at least 16 (the bulk of the work when rows draw many) go 16 at a time where AVX-512
    // exists: the same 32-bit words of the stream, the same candidates, acceptances and
    // streak rule, in the same order; a step that meets a Lemire retry (p ~ n_items / 2^32 per draw) or could reach
    // kMaxStreak is left to the scalar loop, which continues the stream exactly.
    int64_t reject_bits(CounterRng& rng, int32_t* out, const uint64_t* bits) {
        auto is_positive = [bits](int32_t item) { return test_bit(bits, item); };
#if defined(RECPLUG_SAMPLING_AVX512)
        if (!c_.replace || p_.alias || c_.n < 16 || !rng.at_word_start()) return reject(rng, out, is_positive);
        const int64_t n = c_.n;
        const uint32_t n_items = static_cast<uint32_t>(p_.n_items);
        const __m512i n_vec = _mm512_set1_epi64(n_items);
        const __m512i retry_below = _mm512_set1_epi32(static_cast<int32_t>((0u - n_items) % n_items));
        const __m512i gamma8 = _mm512_set1_epi64(static_cast<int64_t>(8 * CounterRng::kGamma));
        const __m512i one = _mm512_set1_epi32(1);
        const __m512i c1 = _mm512_set1_epi64(static_cast<int64_t>(0xBF58476D1CE4E5B9ULL));
        const __m512i c2 = _mm512_set1_epi64(static_cast<int64_t>(0x94D049BB133111EBULL));
        const uint64_t base = rng.counter();
        __m512i counter = _mm512_setr_epi64(
            static_cast<int64_t>(base + 1 * CounterRng::kGamma), static_cast<int64_t>(base + 2 * CounterRng::kGamma),
            static_cast<int64_t>(base + 3 * CounterRng::kGamma), static_cast<int64_t>(base + 4 * CounterRng::kGamma),
            static_cast<int64_t>(base + 5 * CounterRng::kGamma), static_cast<int64_t>(base + 6 * CounterRng::kGamma),
            static_cast<int64_t>(base + 7 * CounterRng::kGamma), static_cast<int64_t>(base + 8 * CounterRng::kGamma));
        int64_t filled = 0;
        int streak = 0;
        uint64_t words = 0;  // 64-bit draws consumed
        while (streak + 16 < kMaxStreak) {
            __m512i z = counter;  // mix64 of 8 counters: 16 32-bit draws, in stream order
            z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 30));
            z = _mm512_mullo_epi64(z, c1);
            z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 27));
            z = _mm512_mullo_epi64(z, c2);
            z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
            const __m512i even = _mm512_mul_epu32(z, n_vec);                         // low halves
            const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(z, 32), n_vec);  // high halves
            const __m512i lows = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
            if (_mm512_cmplt_epu32_mask(lows, retry_below) != 0) break;  // a Lemire retry
            const __m512i item = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
            const __m512i word = _mm512_i32gather_epi32(_mm512_srli_epi32(item, 5), bits, 4);
            const __m512i bit = _mm512_srlv_epi32(word, _mm512_and_si512(item, _mm512_set1_epi32(31)));
            unsigned accept = static_cast<unsigned>(_mm512_testn_epi32_mask(bit, one));
            const int64_t taken = __builtin_popcount(accept);
            if (taken >= n - filled) {  // the row is full within this step
                for (int64_t extra = taken - (n - filled); extra > 0; --extra) accept &= ~(1u << (31 - __builtin_clz(accept)));
                _mm512_mask_storeu_epi32(out + filled, static_cast<__mmask16>((1u << (n - filled)) - 1u),
                                         _mm512_maskz_compress_epi32(static_cast<__mmask16>(accept), item));
                return n;
            }
            _mm512_mask_storeu_epi32(out + filled, static_cast<__mmask16>((1u << taken) - 1u),
                                     _mm512_maskz_compress_epi32(static_cast<__mmask16>(accept), item));
            filled += taken;
            streak = accept ? __builtin_clz(accept) - 16 : streak + 16;  // positives after the last accept
            words += 8;
            counter = _mm512_add_epi64(counter, gamma8);
        }
        rng.discard32(2 * words);
        return filled + reject_from(rng, out + filled, n - filled, streak, is_positive);
#else
        return reject(rng, out, is_positive);
#endif
    }

    // Rejection sampling into out[0, n) until n are accepted or kMaxStreak candidates in a
    // row are rejected (positives, or without replacement items already drawn, which are
    // marked in drawn_); returns how many were accepted.
    template <typename IsPositive>
    int64_t reject(CounterRng& rng, int32_t* out, IsPositive is_positive) {
        return reject_from(rng, out, c_.n, 0, is_positive);
    }

    // reject() for the remaining n entries of a row whose last `streak` candidates were
    // rejected; returns how many of the n were accepted.
    template <typename IsPositive>
    int64_t reject_from(CounterRng& rng, int32_t* out, int64_t n, int streak, IsPositive is_positive) {
        int64_t filled = 0;
        if (c_.replace && !p_.alias) {
            // The common case (uniform, with replacement), branch-free: the same draws,
            // acceptances and streak rule as the general loops below.
            const uint32_t n_items = static_cast<uint32_t>(p_.n_items);
            while (filled < n) {
                const int32_t item = static_cast<int32_t>(rng.bounded32(n_items));
                const int positive = static_cast<int>(is_positive(item));
                out[filled] = item;  // kept only when accepted (else overwritten later)
                filled += 1 - positive;
                streak = positive ? streak + 1 : 0;
                if (streak >= kMaxStreak) break;
            }
        } else if (c_.replace) {
            while (filled < n) {
                const int32_t item = c_.draw(rng);
                if (!is_positive(item)) {
                    out[filled++] = item;
                    streak = 0;
                } else if (++streak >= kMaxStreak) {
                    break;
                }
            }
        } else {
            while (filled < n) {
                const int32_t item = c_.draw(rng);
                if (!is_positive(item) && !test_bit(drawn_.data(), item)) {
                    out[filled++] = item;
                    set_bit(drawn_.data(), item);
                    streak = 0;
                } else if (++streak >= kMaxStreak) {
                    break;
                }
            }
        }
        return filled;
    }

    // Eligible items that are neither positives nor (without replacement) drawn, ascending.
    void build_complement(int32_t u, const UserState& s) {
        if (c_.replace && comp_user_ == u) return;
        comp_.clear();
        cum_.clear();
        double total = 0.0;
        const double* weights = p_.weight_ptr();
        const int32_t* next = s.list;  // sorted lists: the positives not yet passed
        const int32_t* last = s.list + s.list_len;
        for (size_t w = 0; w < p_.words; ++w) {
            uint64_t blocked = p_.ineligible[w] | (c_.replace ? 0 : drawn_[w]);
            if (p_.use_bitmap) {
                blocked |= s.positives[w];
            } else {
                for (; next < last && static_cast<size_t>(*next >> 6) == w; ++next) {
                    blocked |= uint64_t{1} << (*next & 63);
                }
            }
            uint64_t free = ~blocked;
            while (free) {
                const int32_t i = static_cast<int32_t>(w * 64 + __builtin_ctzll(free));
                free &= free - 1;
                comp_.push_back(i);
                if (weights) {
                    total += weights[i];
                    cum_.push_back(total);
                }
            }
        }
        comp_user_ = c_.replace ? u : -1;
    }

    // Fill out[start, n) from the complement.
    void from_complement(int32_t u, const UserState& s, CounterRng& rng, int32_t* out,
                         int64_t start) {
        build_complement(u, s);
        const double* weights = p_.weight_ptr();
        const int64_t size = static_cast<int64_t>(comp_.size());
        const int64_t need = c_.n - start;
        if (size == 0 || need <= 0) return;  // unreachable after the capacity check
        if (c_.replace) {
            if (!weights) {
                for (int64_t j = 0; j < need; ++j) out[start + j] = comp_[rng.bounded(size)];
            } else {
                const double total = cum_.back();
                for (int64_t j = 0; j < need; ++j) {
                    const double x = rng.open_unit() * total;
                    auto it = std::lower_bound(cum_.begin(), cum_.end(), x);
                    if (it == cum_.end()) --it;
                    out[start + j] = comp_[it - cum_.begin()];
                }
            }
            return;
        }
        const int64_t take = std::min(need, size);
        if (!weights) {
            // Partial Fisher-Yates shuffle: the first `take` entries are a uniform sample.
            for (int64_t j = 0; j < take; ++j) {
                const int64_t k = j + static_cast<int64_t>(rng.bounded(size - j));
                std::swap(comp_[j], comp_[k]);
                out[start + j] = comp_[j];
            }
        } else {
            // Efraimidis-Spirakis: smallest Exp(1)/w keys, in order = successive weighted draws.
            keyed_.resize(size);
            for (int64_t j = 0; j < size; ++j) {
                keyed_[j] = {-std::log(rng.open_unit()) / weights[comp_[j]], comp_[j]};
            }
            std::partial_sort(keyed_.begin(), keyed_.begin() + take, keyed_.end());
            for (int64_t j = 0; j < take; ++j) out[start + j] = keyed_[j].second;
        }
    }

    const Call& c_;
    const Positives& p_;
    std::vector<uint64_t> drawn_;
    std::vector<uint64_t> row_bits_;  // list backend: the positives of the row being served
    std::vector<int32_t> comp_;
    std::vector<double> cum_;
    int32_t comp_user_ = -1;
    std::vector<std::pair<double, int32_t>> keyed_;
};

}  // namespace sampling_detail

// The first k in [k0, k1) with users[k] outside [0, n_users), or -1.
inline int64_t first_out_of_range(const int32_t* users, int64_t k0, int64_t k1, int64_t n_users) {
    uint32_t worst = 0;  // negative ids become huge as uint32
    for (int64_t k = k0; k < k1; ++k) worst = std::max(worst, static_cast<uint32_t>(users[k]));
    if (static_cast<int64_t>(worst) < n_users) return -1;
    for (int64_t k = k0; k < k1; ++k) {
        if (static_cast<int64_t>(static_cast<uint32_t>(users[k])) >= n_users) return k;
    }
    return -1;
}

// Every user's positives held once, for any number of sampling calls.
class NegativeSampler {
 public:
    // indptr  int64 [n_users + 1], monotone, indptr[0] = 0; pos int32 [indptr[n_users]] in
    //         [0, n_items), any order, duplicates allowed (copied: the caller may free them)
    // weights float64 [n_items], finite, >= 0; nullptr for uniform (copied)
    // backend how positives are held: 0 choose, 1 bitmap rows, 2 sorted lists (for tests:
    //         every backend, like every thread count, gives the same output)
    NegativeSampler(const int64_t* indptr, int64_t n_users, const int32_t* pos, int64_t n_items,
                    const double* weights, int threads, int backend = 0) {
        using namespace sampling_detail;
        threads = resolve_threads(threads);
        Positives& p = p_;
        p.n_users = n_users;
        p.n_items = n_items;
        if (weights) {
            p.weights.assign(weights, weights + n_items);
            p.alias.reset(new AliasTable(weights, n_items));
        }
        p.eligible = weights ? static_cast<int64_t>(p.alias->item.size()) : n_items;
        p.words = static_cast<size_t>((n_items + 63) / 64);
        p.ineligible.assign(p.words, 0);
        for (int64_t i = n_items; i < static_cast<int64_t>(p.words) * 64; ++i) {
            set_bit(p.ineligible.data(), static_cast<int32_t>(i));
        }
        if (weights) {
            for (int64_t i = 0; i < n_items; ++i) {
                if (!(weights[i] > 0.0)) set_bit(p.ineligible.data(), static_cast<int32_t>(i));
            }
        }
        p.state.assign(n_users, UserState{});
        p.prefetch_state = n_users * static_cast<int64_t>(sizeof(UserState)) > (int64_t{1} << 20);
        // Bitmap rows unless they would take far more memory than the positives themselves
        // (a large catalogue with short histories): then sorted lists and their filter.
        const int64_t nnz = indptr[n_users];
        const int64_t row_bytes = static_cast<int64_t>(p.words) * 8;
        p.use_bitmap = backend == 0 ? n_users * row_bytes <= 16 * nnz + (int64_t{1} << 20) : backend == 1;
        if (p.use_bitmap) {
            p.bitmap.assign(static_cast<size_t>(n_users) * p.words, 0);
        } else {
            p.lists.assign(static_cast<size_t>(nnz), 0);
            p.filter_words = static_cast<uint64_t>(std::max<int64_t>(1, (nnz + 3) / 4));
            p.filter.assign(static_cast<size_t>(p.filter_words), 0);
        }
        const int load_threads = threads_for(threads, nnz, kGrainEntries);
#pragma omp parallel for num_threads(load_threads) schedule(dynamic, 64) if (load_threads > 1)
        for (int64_t u = 0; u < n_users; ++u) {
            if (p.use_bitmap) {
                p.load_user(u, pos, indptr[u], indptr[u + 1]);
            } else {
                p.load_user_list(u, pos, indptr[u], indptr[u + 1]);
            }
        }
        p.single_reject.resize(static_cast<size_t>(n_users));
        for (int64_t u = 0; u < n_users; ++u) p.single_reject[u] = p.rejects_single(p.state[u]);
    }

    int64_t n_users() const { return p_.n_users; }
    int64_t n_items() const { return p_.n_items; }
    bool uses_bitmap() const { return p_.use_bitmap; }

    // Bytes held: bitmaps or sorted lists and filter, per-user state, weights and alias table.
    int64_t nbytes() const {
        const size_t alias = p_.alias ? p_.alias->item.size() * 16 : 0;
        return static_cast<int64_t>(p_.bitmap.size() * 8 + p_.lists.size() * 4 +
                                    p_.filter.size() * 8 +
                                    p_.state.size() * sizeof(sampling_detail::UserState) +
                                    p_.weights.size() * 8 + p_.ineligible.size() * 8 + alias);
    }

    // Sample n negatives for each of the m rows of `users` (int32, each in [0, n_users)) into
    // out [m, n] (row-major). replace false: no item twice within a row. Returns a status;
    // when status.bad_user_row >= 0 (a user out of range: nothing is read for it) or
    // status.bad_row >= 0 the content of out is unspecified. Safe to call concurrently.
    // The users are range-checked chunk by chunk, just before the chunk is served, so the
    // check reads them while they come into the cache anyway.
    SampleStatus sample(const int32_t* users, int64_t m, int64_t n, bool replace, uint64_t seed,
                        int threads, int32_t* out) const {
        using namespace sampling_detail;
        SampleStatus status;
        if (m == 0) return status;
        const Call call{p_, users, m, n, replace, seed_key(seed), replace ? 1 : n};
        int64_t first_bad = -1, first_bad_user = -1;
        if (n == 0 || p_.eligible < call.needed) {
            first_bad_user = first_out_of_range(users, 0, m, p_.n_users);
            if (n == 0 && first_bad_user < 0) return status;
            first_bad = 0;  // no row can be served (and there is nothing to draw from)
        } else {
            const int64_t chunks = (m + kRowChunk - 1) / kRowChunk;
            threads = static_cast<int>(std::min<int64_t>(threads_for(threads, m * n, kGrainDraws), chunks));
#pragma omp parallel num_threads(threads) if (threads > 1)
            {
                Worker worker(call);
                int64_t bad_user = -1;
#pragma omp for schedule(dynamic, 1)
                for (int64_t q = 0; q < chunks; ++q) {
                    const int64_t k0 = q * kRowChunk, k1 = std::min(m, (q + 1) * kRowChunk);
                    const int64_t bad = first_out_of_range(users, k0, k1, p_.n_users);
                    if (bad >= 0) {
                        if (bad_user < 0 || bad < bad_user) bad_user = bad;
                        continue;
                    }
                    worker.rows(k0, k1, out);
                }
#pragma omp critical(recplug_sampling_status)
                {
                    if (worker.first_bad_row >= 0 && (first_bad < 0 || worker.first_bad_row < first_bad)) {
                        first_bad = worker.first_bad_row;
                    }
                    if (bad_user >= 0 && (first_bad_user < 0 || bad_user < first_bad_user)) {
                        first_bad_user = bad_user;
                    }
                }
            }
        }
        if (first_bad_user >= 0) {
            status.bad_user_row = first_bad_user;
            status.user = users[first_bad_user];
            return status;
        }
        if (first_bad >= 0) {
            const int32_t u = users[first_bad];
            status.bad_row = first_bad;
            status.user = u;
            status.positives = p_.state[u].blocked;
            status.eligible = p_.eligible;
            status.needed = call.needed;
        }
        return status;
    }

 private:
    sampling_detail::Positives p_;
};

}  // namespace recplug
