// Masked top-K selection with a running, mergeable state. Plain C++, no Python.
//
// Every candidate item gets one 64-bit key whose unsigned order IS the ranking order:
//   bits 63..32  the score mapped to an order-preserving uint32 (NaN -> 0, below -inf;
//                -0.0 is folded onto +0.0 so they tie, as float comparison says)
//   bit  31      the tie tier (1 ranks above 0; see tier_bits)
//   bits 30..0   the item's priority (a permutation of 0..N-1, so keys never collide)
// Because keys are unique and totally ordered, the kept set after any sequence of chunks
// is "the `cap` largest keys seen" -- independent of chunk order, chunk size and threads.
// A row keeps k+1 keys so that the best item NOT in the top-k is known exactly, which is
// what boundary_ties() reports.
//
// Speed: a chunk first gets a safe score floor from group maxima (scan_seeded), then a vector
// compare against max(floor, smallest kept score) rejects almost every item; only survivors
// are checked against the row's exclusions/targets and inserted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "parallel.h"

namespace recplug {
namespace topk {

// Tie policies, as passed from Python.
enum Ties : int { kRandom = 0, kOptimistic = 1, kPessimistic = 2 };

// Order-preserving image of a float score in uint32; NaN (any payload) -> 0.
inline uint32_t score_bits(float x) {
    if (x != x) return 0u;
    x = x + 0.0f;  // -0.0 -> +0.0
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Inverse of score_bits (0 -> quiet NaN).
inline float bits_score(uint32_t m) {
    if (m == 0u) return std::numeric_limits<float>::quiet_NaN();
    uint32_t b = (m & 0x80000000u) ? (m & 0x7FFFFFFFu) : ~m;
    float x;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

inline uint64_t make_key(float score, uint32_t tier_bit, int32_t priority) {
    return (static_cast<uint64_t>(score_bits(score)) << 32) |
           (static_cast<uint64_t>(tier_bit & 1u) << 31) |
           static_cast<uint64_t>(static_cast<uint32_t>(priority) & 0x7FFFFFFFu);
}

inline uint32_t key_score_bits(uint64_t key) { return static_cast<uint32_t>(key >> 32); }

// Tier bit of plain items and of the row's targets under a policy.
// optimistic: targets +1 > others 0; pessimistic: others 0 > targets -1; random: all equal.
struct TierBits {
    uint32_t plain;
    uint32_t target;
};
inline TierBits tier_bits(int ties) {
    if (ties == kOptimistic) return {0u, 1u};
    if (ties == kPessimistic) return {1u, 0u};
    return {0u, 0u};
}

// A row's kept keys: the `cap` largest keys seen, in caller-owned storage (`count` used).
// Small caps keep an array (unordered while filling, sorted ascending from the moment it is
// full, kept sorted by insertion); large caps keep a binary min-heap. Either way keys[0] is
// the minimum once full.
constexpr int32_t kSortedMaxCap = 64;

// Cursor over a row's sorted global item ids (may repeat): excluded ones and targets.
// Queries must come in increasing order of gid.
struct Specials {
    const int32_t* excl = nullptr;
    int64_t n_excl = 0;
    int64_t ie = 0;
    const int32_t* tgt = nullptr;
    int64_t n_tgt = 0;
    int64_t it = 0;

    bool excluded(int64_t gid) {
        while (ie < n_excl && excl[ie] < gid) ++ie;
        return ie < n_excl && excl[ie] == gid;
    }
    bool target(int64_t gid) {
        while (it < n_tgt && tgt[it] < gid) ++it;
        return it < n_tgt && tgt[it] == gid;
    }
};

// Selection state of one row: its kept keys plus a float threshold for the fast reject test.
class RowSelector {
public:
    RowSelector(uint64_t* keys, int32_t* ids, int32_t* count, int32_t cap, const int32_t* priority,
                TierBits tiers)
        : keys_(keys), ids_(ids), count_(count), cap_(cap), priority_(priority), tiers_(tiers) {
        refresh();
    }

    // Offer item `gid` with score s unless it is excluded; targets get the target tier.
    void consider(float s, int64_t gid, Specials& sp) {
        if (sp.excluded(gid)) return;
        const uint32_t tier = sp.target(gid) ? tiers_.target : tiers_.plain;
        offer(make_key(s, tier, priority_[gid]), static_cast<int32_t>(gid));
    }

    // The items i + b for the set bits b of mask (scores that passed a vector compare against
    // an earlier threshold), each re-tested against the current one.
    void consider_passing(const float* s, int64_t i, unsigned mask, int64_t gid0, Specials& sp) {
        do {
            const int64_t j = i + __builtin_ctz(mask);
            mask &= mask - 1u;
            if (s[j] >= threshold_) consider(s[j], gid0 + j, sp);
        } while (mask != 0u);
    }

    // Items gid0 .. gid0+n-1 with scores s[0..n). Specials are only looked at for items that
    // pass the threshold, so the common case is one vector compare per 8 scores.
    // prefetch: null, or n floats (the next row) to bring into the cache along the way.
    void scan(const float* s, int64_t n, int64_t gid0, Specials& sp, const float* prefetch = nullptr) {
        int64_t i = 0;
        for (; i < n && !use_threshold_; ++i) consider(s[i], gid0 + i, sp);
#if defined(__AVX512F__)
        // The same test on 32 scores at a time, straight into mask registers.
        __m512 t16 = _mm512_set1_ps(threshold_);
        for (; i + 32 <= n; i += 32) {
            if (prefetch != nullptr) {
                _mm_prefetch(reinterpret_cast<const char*>(prefetch + i), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(prefetch + i + 16), _MM_HINT_T0);
            }
            const unsigned lo = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + i), t16, _CMP_GE_OQ);
            const unsigned hi = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + i + 16), t16, _CMP_GE_OQ);
            const unsigned mask = lo | (hi << 16);
            if (mask == 0u) continue;
            consider_passing(s, i, mask, gid0, sp);
            t16 = _mm512_set1_ps(threshold_);
        }
#endif
#if defined(__AVX2__)
        // An item can only enter when score >= threshold score (ordered compare: NaN fails,
        // which is right since the threshold is a number and NaN ranks below numbers).
        __m256 t = _mm256_set1_ps(threshold_);
        for (; i + 16 <= n; i += 16) {
            if (prefetch != nullptr) _mm_prefetch(reinterpret_cast<const char*>(prefetch + i), _MM_HINT_T0);
            const __m256 a = _mm256_loadu_ps(s + i);
            const __m256 b = _mm256_loadu_ps(s + i + 8);
            const unsigned mask =
                static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, t, _CMP_GE_OQ))) |
                (static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(b, t, _CMP_GE_OQ))) << 8);
            if (mask == 0u) continue;
            consider_passing(s, i, mask, gid0, sp);
            t = _mm256_set1_ps(threshold_);
        }
#endif
        for (; i < n; ++i) {
            if (s[i] >= threshold_) consider(s[i], gid0 + i, sp);
        }
    }

    // scan() with a seeded threshold. Group maxima of the chunk (a group = one lane of a run
    // of 8-float vectors) each belong to a distinct item; dropping groups whose maximum may be
    // an excluded item, the cap-th largest remaining maximum is a floor that at least cap
    // candidates of the chunk reach, so nothing below it can make the top cap. Most items
    // are then rejected before they touch the kept keys. When many excluded items would pass
    // the floor, the chunk is scanned from a copy in which they are NaN.
    // excluded_are_nan: the caller already set every excluded entry of s to NaN.
    // prefetch: null, or the n floats that will be scanned next (e.g. the next row of a score
    // matrix streamed from memory), fetched into the cache during the scan.
    void scan_seeded(const float* s, int64_t n, int64_t gid0, Specials& sp, std::vector<float>& copy,
                     std::vector<float>& maxima, bool excluded_are_nan = false,
                     const float* prefetch = nullptr) {
        if (use_threshold_ || n < kSeedMinItemsPerSlot * static_cast<int64_t>(cap_)) {
            scan(s, n, gid0, sp, prefetch);  // a threshold from earlier chunks beats one chunk's seed
            return;
        }
        int64_t e0 = 0, e1 = 0;  // the chunk's excluded ids: sp.excl[e0..e1)
        if (!excluded_are_nan) {
            e0 = std::lower_bound(sp.excl, sp.excl + sp.n_excl, gid0) - sp.excl;
            e1 = std::lower_bound(sp.excl + e0, sp.excl + sp.n_excl, gid0 + n) - sp.excl;
        }
        float seed;
        const float* source = s;
        if (seed_floor(s, n, sp.excl + e0, e1 - e0, gid0, maxima, seed)) {
            int64_t passing = 0;
            for (int64_t j = e0; j < e1; ++j) passing += s[sp.excl[j] - gid0] >= seed ? 1 : 0;
            if (passing > kMaxExcludedSurvivors) {
                copy.assign(s, s + n);
                const float nan = std::numeric_limits<float>::quiet_NaN();
                for (int64_t j = e0; j < e1; ++j) copy[static_cast<size_t>(sp.excl[j] - gid0)] = nan;
                source = copy.data();
            }
            floor_ = seed;
            has_floor_ = true;
            refresh();
        }
        scan(source, n, gid0, sp, prefetch);
        has_floor_ = false;
        refresh();
    }

private:
    // Tuning (measured on ml-1m-sized rows): seed only chunks with >= 32 items per kept key;
    // use ~2 group maxima per kept key; copy the chunk when > 8 excluded items pass the floor.
    static constexpr int64_t kSeedMinItemsPerSlot = 32;
    static constexpr int64_t kSeedGroupsPerSlot = 2;
    static constexpr int64_t kMaxExcludedSurvivors = 8;

    // The cap-th largest of ~kSeedGroupsPerSlot*cap valid group maxima of x[0..n); false when
    // fewer than cap groups are valid. A group is one lane of every 4th 8-float vector of a
    // run of vectors (4 independent max chains per run). excl: the n_excl sorted excluded ids
    // of the chunk (global, base gid0).
    bool seed_floor(const float* x, int64_t n, const int32_t* excl, int64_t n_excl, int64_t gid0,
                    std::vector<float>& maxima, float& out) const {
        const int64_t vectors = n / 8;
        const int64_t wanted = (kSeedGroupsPerSlot * cap_ + 31) / 32;  // runs of 32 groups
        // `wanted` runs that cover all but the last few vectors (rounding per_run up instead
        // would drop almost a whole run: half the row when wanted = 2)
        const int64_t per_run = std::max<int64_t>(4, vectors / wanted);
        const int64_t runs = vectors / per_run;
        if (runs < 1) return false;
        maxima.resize(static_cast<size_t>(runs * 32));
        const float minus_inf = -std::numeric_limits<float>::infinity();
        for (int64_t run = 0; run < runs; ++run) {
            const float* base = x + 8 * run * per_run;
            float* m = maxima.data() + 32 * run;
#if defined(__AVX2__)
            // maxps returns its second operand when either is NaN: NaN entries are skipped
            __m256 acc0 = _mm256_set1_ps(minus_inf), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            int64_t v = 0;
#if defined(__AVX512F__)
            // two 8-float vectors per register: lanes 0-7 chain v%4 = 0 (or 2), lanes 8-15 chain
            // 1 (or 3); max is exact, so merging the two register pairs changes nothing
            __m512 z01 = _mm512_set1_ps(minus_inf), z23 = z01, y01 = z01, y23 = z01;
            for (; v + 8 <= per_run; v += 8) {
                z01 = _mm512_max_ps(_mm512_loadu_ps(base + 8 * v), z01);
                z23 = _mm512_max_ps(_mm512_loadu_ps(base + 8 * v + 16), z23);
                y01 = _mm512_max_ps(_mm512_loadu_ps(base + 8 * v + 32), y01);
                y23 = _mm512_max_ps(_mm512_loadu_ps(base + 8 * v + 48), y23);
            }
            z01 = _mm512_max_ps(z01, y01);
            z23 = _mm512_max_ps(z23, y23);
            acc0 = _mm512_castps512_ps256(z01);
            acc1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z01), 1));
            acc2 = _mm512_castps512_ps256(z23);
            acc3 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z23), 1));
#endif
            for (; v + 4 <= per_run; v += 4) {
                acc0 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v), acc0);
                acc1 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v + 8), acc1);
                acc2 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v + 16), acc2);
                acc3 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v + 24), acc3);
            }
            if (v < per_run) acc0 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v), acc0);
            if (v + 1 < per_run) acc1 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v + 8), acc1);
            if (v + 2 < per_run) acc2 = _mm256_max_ps(_mm256_loadu_ps(base + 8 * v + 16), acc2);
            _mm256_storeu_ps(m, acc0);
            _mm256_storeu_ps(m + 8, acc1);
            _mm256_storeu_ps(m + 16, acc2);
            _mm256_storeu_ps(m + 24, acc3);
#else
            for (int g = 0; g < 32; ++g) m[g] = minus_inf;
            for (int64_t v = 0; v < per_run; ++v)
                for (int l = 0; l < 8; ++l) {
                    const float value = base[8 * v + l];
                    float& slot = m[8 * (v % 4) + l];
                    slot = value > slot ? value : slot;
                }
#endif
        }
        // a group whose maximum equals an excluded item's score may have no other item there
        int64_t run = 0, run_start = 0;  // excl is sorted: follow the runs without dividing
        for (int64_t j = 0; j < n_excl; ++j) {
            const int64_t pos = static_cast<int64_t>(excl[j]) - gid0;  // >= 0
            const int64_t v = pos >> 3;
            if (v >= runs * per_run) break;
            while (v >= run_start + per_run) {
                ++run;
                run_start += per_run;
            }
            const size_t g = static_cast<size_t>(32 * run + 8 * ((v - run_start) & 3) + (pos & 7));
            if (x[pos] >= maxima[g]) maxima[g] = minus_inf;
        }
        auto end = std::remove_if(maxima.begin(), maxima.end(), [&](float m) { return !(m > minus_inf); });
        const int64_t valid = end - maxima.begin();
        if (valid < cap_) return false;
        auto nth = maxima.begin() + (valid - cap_);
        std::nth_element(maxima.begin(), nth, end);
        out = *nth;
        return true;
    }

    void offer(uint64_t key, int32_t id) {
        int32_t n = *count_;
        if (cap_ <= kSortedMaxCap) {
            if (n < cap_) {  // filling: append, sort once full
                keys_[n] = key;
                ids_[n] = id;
                *count_ = ++n;
                if (n == cap_) {
                    sort_ascending();
                    refresh();
                }
                return;
            }
            if (key <= keys_[0]) return;
            // drop keys[0]; slide the smaller kept keys down until key's place
            int32_t j = 0;
            while (j + 1 < cap_ && keys_[j + 1] < key) {
                keys_[j] = keys_[j + 1];
                ids_[j] = ids_[j + 1];
                ++j;
            }
            keys_[j] = key;
            ids_[j] = id;
            refresh();
            return;
        }
        if (n < cap_) {  // heap push
            int32_t i = n;
            while (i > 0) {
                const int32_t parent = (i - 1) / 2;
                if (keys_[parent] <= key) break;
                keys_[i] = keys_[parent];
                ids_[i] = ids_[parent];
                i = parent;
            }
            keys_[i] = key;
            ids_[i] = id;
            *count_ = n + 1;
            if (n + 1 == cap_) refresh();
            return;
        }
        if (key <= keys_[0]) return;
        int32_t i = 0;  // replace the root, sift down
        for (;;) {
            int32_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && keys_[child + 1] < keys_[child]) ++child;
            if (keys_[child] >= key) break;
            keys_[i] = keys_[child];
            ids_[i] = ids_[child];
            i = child;
        }
        keys_[i] = key;
        ids_[i] = id;
        refresh();
    }

    void sort_ascending() {
        std::pair<uint64_t, int32_t> tmp[kSortedMaxCap];
        for (int32_t j = 0; j < cap_; ++j) tmp[j] = {keys_[j], ids_[j]};
        std::sort(tmp, tmp + cap_, [](const auto& a, const auto& b) { return a.first < b.first; });
        for (int32_t j = 0; j < cap_; ++j) {
            keys_[j] = tmp[j].first;
            ids_[j] = tmp[j].second;
        }
    }

    // threshold = max(floor, smallest kept score) when known; NaN kept score: compare full keys.
    void refresh() {
        use_threshold_ = has_floor_;
        threshold_ = floor_;
        if (*count_ < cap_) return;
        const uint32_t m = key_score_bits(keys_[0]);
        if (m == 0u) return;
        const float kept = bits_score(m);
        threshold_ = has_floor_ ? std::max(floor_, kept) : kept;
        use_threshold_ = true;
    }

    uint64_t* keys_;
    int32_t* ids_;
    int32_t* count_;
    int32_t cap_;
    const int32_t* priority_;
    TierBits tiers_;
    float threshold_ = 0.0f;
    bool use_threshold_ = false;
    float floor_ = 0.0f;  // a chunk's seed: at least cap candidates of the chunk score >= floor_
    bool has_floor_ = false;
};

// The ids of items[begin..end) in increasing order: the row itself when already sorted, else a
// sorted copy in `scratch`.
inline const int32_t* sorted_row(const int32_t* items, int64_t begin, int64_t end,
                                 std::vector<int32_t>& scratch) {
    if (std::is_sorted(items + begin, items + end)) return items + begin;
    scratch.assign(items + begin, items + end);
    std::sort(scratch.begin(), scratch.end());
    return scratch.data();
}

// Row r's [begin, end) in a CSR, clamped so a malformed indptr can never read out of bounds.
inline void csr_row(const int64_t* indptr, int64_t nnz, int64_t r, int64_t& begin, int64_t& end) {
    begin = std::max<int64_t>(0, std::min(indptr[r], nnz));
    end = std::max<int64_t>(begin, std::min(indptr[r + 1], nnz));
}

// A CSR given to a kernel: indptr has n_rows+1 entries (nullptr = no entries at all).
struct Csr {
    const int64_t* indptr = nullptr;
    const int32_t* items = nullptr;
    int64_t nnz = 0;
};

// Kept-key storage of n_rows rows, `cap` = k+1 slots each.
struct HeapStore {
    uint64_t* keys;
    int32_t* ids;
    int32_t* count;
    int32_t cap;
    RowSelector selector(int64_t r, const int32_t* priority, TierBits tiers) const {
        return RowSelector(keys + r * cap, ids + r * cap, count + r, cap, priority, tiers);
    }
};

// The Specials of row r: its exclusions and (when ties use them) its targets, sorted.
inline Specials row_specials(const Csr& exclude, const Csr& targets, bool use_targets, int64_t r,
                             std::vector<int32_t>& excl_scratch, std::vector<int32_t>& tgt_scratch) {
    Specials sp;
    int64_t b, e;
    if (exclude.indptr != nullptr) {
        csr_row(exclude.indptr, exclude.nnz, r, b, e);
        sp.excl = sorted_row(exclude.items, b, e, excl_scratch);
        sp.n_excl = e - b;
    }
    if (use_targets && targets.indptr != nullptr) {
        csr_row(targets.indptr, targets.nnz, r, b, e);
        sp.tgt = sorted_row(targets.items, b, e, tgt_scratch);
        sp.n_tgt = e - b;
    }
    return sp;
}

// Fold one chunk of scores [n_rows, width] (items item_offset .. item_offset+width-1) into the
// kept keys. priority has at least item_offset+width entries.
inline void update(const float* scores, int64_t n_rows, int64_t width, int64_t item_offset,
                   Csr exclude, Csr targets, const int32_t* priority, int ties, HeapStore store,
                   int threads) {
    const TierBits tiers = tier_bits(ties);
    const bool use_targets = ties != kRandom;
    threads = threads_for(threads, n_rows * width, kGrainScores);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        std::vector<int32_t> excl, tgt;
        std::vector<float> copy, maxima;
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < n_rows; ++r) {
            Specials sp = row_specials(exclude, targets, use_targets, r, excl, tgt);
            RowSelector sel = store.selector(r, priority, tiers);
            sel.scan_seeded(scores + r * width, width, item_offset, sp, copy, maxima);
        }
    }
}

// Sorted (best first) top-k of one row: ids (-1 when unfilled), scores (NaN when unfilled),
// and whether the k-th kept score equals the best dropped one (both NaN counts as equal).
inline void finish_row(const HeapStore& store, int64_t r, int32_t k, int32_t* out_ids, float* out_scores,
                       bool* out_boundary, std::vector<std::pair<uint64_t, int32_t>>& buf) {
    const uint64_t* keys = store.keys + r * store.cap;
    const int32_t* ids = store.ids + r * store.cap;
    const int32_t n = std::max(0, std::min(store.count[r], store.cap));
    buf.resize(static_cast<size_t>(n));
    for (int32_t j = 0; j < n; ++j) buf[j] = {keys[j], ids[j]};
    std::sort(buf.begin(), buf.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (int32_t j = 0; j < k; ++j) {
        if (j < n) {
            out_ids[j] = buf[j].second;
            out_scores[j] = bits_score(key_score_bits(buf[j].first));
        } else {
            out_ids[j] = -1;
            out_scores[j] = std::numeric_limits<float>::quiet_NaN();
        }
    }
    *out_boundary = n > k && key_score_bits(buf[k - 1].first) == key_score_bits(buf[k].first);
}

// finish_row for every row; k <= store.cap.
inline void finish(HeapStore store, int64_t n_rows, int32_t k, int32_t* out_ids, float* out_scores,
                   bool* out_boundary, int threads) {
    threads = threads_for(threads, n_rows, kGrainRows);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        std::vector<std::pair<uint64_t, int32_t>> buf;
#pragma omp for schedule(dynamic, 256)
        for (int64_t r = 0; r < n_rows; ++r)
            finish_row(store, r, k, out_ids + r * k, out_scores + r * k, out_boundary + r, buf);
    }
}

// One-shot masked top-k of scores [n_rows, width] (items 0..width-1): update() and finish()
// fused per row, with the kept keys in per-thread scratch.
inline void select(const float* scores, int64_t n_rows, int64_t width, int32_t k, Csr exclude,
                   Csr targets, const int32_t* priority, int ties, int32_t* out_ids, float* out_scores,
                   bool* out_boundary, int threads) {
    const TierBits tiers = tier_bits(ties);
    const bool use_targets = ties != kRandom;
    const int32_t cap = k + 1;
    threads = threads_for(threads, n_rows * width, kGrainScores);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        std::vector<int32_t> excl, tgt;
        std::vector<float> copy, maxima;
        std::vector<uint64_t> keys(static_cast<size_t>(cap));
        std::vector<int32_t> ids(static_cast<size_t>(cap));
        int32_t count = 0;
        std::vector<std::pair<uint64_t, int32_t>> buf;
        const HeapStore store{keys.data(), ids.data(), &count, cap};
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < n_rows; ++r) {
            count = 0;
            Specials sp = row_specials(exclude, targets, use_targets, r, excl, tgt);
            RowSelector sel = store.selector(0, priority, tiers);
            const float* next_row = r + 1 < n_rows ? scores + (r + 1) * width : nullptr;
            sel.scan_seeded(scores + r * width, width, 0, sp, copy, maxima, false, next_row);
            finish_row(store, 0, k, out_ids + r * k, out_scores + r * k, out_boundary + r, buf);
        }
    }
}

}  // namespace topk
}  // namespace recplug
