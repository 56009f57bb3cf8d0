// Masked top-K selection with a running, mergeable state. Plain C++, no Python.
//
// Every candidate item gets one 64-bit key whose unsigned order IS the ranking order:
//   bits 63..32  the score mapped to an order-preserving uint32 (NaN -> 0, below -inf;
//                -0.0 is folded onto +0.0 so they tie, as float comparison says)
//   bit  31      the tie tier (1 ranks above 0; see tier_bits)
//   bits 30..0   the item's priority (a permutation of 0..N-1, so keys never collide)
// Because keys are unique and totally ordered, the kept set after any sequence of chunks
// is "the `cap` largest keys seen" -- independent of chunk order, chunk size and threads.
// A row keeps k+1 keys (a bounded min-heap) so that the best item NOT in the top-k is
// known exactly, which is what boundary_ties() reports.
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

// Bounded min-heap of the `cap` largest keys, over caller-owned storage.
struct Heap {
    uint64_t* keys;
    int32_t* ids;
    int32_t* count;
    int32_t cap;

    bool full() const { return *count >= cap; }

    // Offer a key; returns true when the minimum kept key changed (or the heap just filled).
    bool offer(uint64_t key, int32_t id) {
        int32_t n = *count;
        if (n < cap) {
            int32_t i = n;
            while (i > 0) {
                int32_t parent = (i - 1) / 2;
                if (keys[parent] <= key) break;
                keys[i] = keys[parent];
                ids[i] = ids[parent];
                i = parent;
            }
            keys[i] = key;
            ids[i] = id;
            *count = n + 1;
            return n + 1 == cap;
        }
        if (key <= keys[0]) return false;
        int32_t i = 0;
        for (;;) {
            int32_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && keys[child + 1] < keys[child]) ++child;
            if (keys[child] >= key) break;
            keys[i] = keys[child];
            ids[i] = ids[child];
            i = child;
        }
        keys[i] = key;
        ids[i] = id;
        return true;
    }
};

// Selection state of one row: its heap plus a float threshold for the fast reject test.
class RowSelector {
public:
    RowSelector(Heap heap, const int32_t* priority, TierBits tiers)
        : heap_(heap), priority_(priority), tiers_(tiers) {
        refresh();
    }

    // Offer item `gid` (global id) with score s and tier bit.
    void offer(float s, int64_t gid, uint32_t tier) {
        uint64_t key = make_key(s, tier, priority_[gid]);
        if (heap_.offer(key, static_cast<int32_t>(gid))) refresh();
    }

    // Items gid0 .. gid0+n-1 with scores s[0..n), none excluded and none a target.
    void scan_plain(const float* s, int64_t n, int64_t gid0) {
        int64_t i = 0;
        for (; i < n && !use_threshold_; ++i) offer(s[i], gid0 + i, tiers_.plain);
#if defined(__AVX2__)
        // An item can only enter when score >= threshold score (ordered compare: NaN fails,
        // which is right since the threshold is a number and NaN ranks below numbers).
        __m256 t = _mm256_set1_ps(threshold_);
        for (; i + 16 <= n; i += 16) {
            __m256 a = _mm256_loadu_ps(s + i);
            __m256 b = _mm256_loadu_ps(s + i + 8);
            __m256 ge = _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_GE_OQ), _mm256_cmp_ps(b, t, _CMP_GE_OQ));
            if (_mm256_movemask_ps(ge) == 0) continue;
            for (int64_t j = i; j < i + 16; ++j) {
                if (s[j] >= threshold_) offer(s[j], gid0 + j, tiers_.plain);
            }
            t = _mm256_set1_ps(threshold_);
        }
#endif
        for (; i < n; ++i) {
            if (s[i] >= threshold_) offer(s[i], gid0 + i, tiers_.plain);
        }
    }

    const TierBits& tiers() const { return tiers_; }

private:
    void refresh() {
        use_threshold_ = false;
        if (!heap_.full()) return;
        uint32_t m = key_score_bits(heap_.keys[0]);
        if (m == 0u) return;  // the k+1-th kept score is NaN: compare full keys instead
        use_threshold_ = true;
        threshold_ = bits_score(m);
    }

    Heap heap_;
    const int32_t* priority_;
    TierBits tiers_;
    float threshold_ = 0.0f;
    bool use_threshold_ = false;
};

// Cursor over a row's special positions (sorted, may repeat): excluded ones and targets.
struct Specials {
    const int64_t* excl = nullptr;
    int64_t n_excl = 0;
    int64_t ie = 0;
    const int64_t* tgt = nullptr;
    int64_t n_tgt = 0;
    int64_t it = 0;
};

// Offer positions lo..hi-1 (scores s[0 .. hi-lo), global id = gid_base + position), skipping
// excluded positions and giving target positions the target tier. Windows must come in
// increasing order of position for one Specials cursor.
inline void scan_range(RowSelector& sel, Specials& sp, const float* s, int64_t lo, int64_t hi,
                       int64_t gid_base) {
    constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
    int64_t pos = lo;
    for (;;) {
        while (sp.ie < sp.n_excl && sp.excl[sp.ie] < pos) ++sp.ie;
        while (sp.it < sp.n_tgt && sp.tgt[sp.it] < pos) ++sp.it;
        int64_t ne = sp.ie < sp.n_excl ? sp.excl[sp.ie] : kNone;
        int64_t nt = sp.it < sp.n_tgt ? sp.tgt[sp.it] : kNone;
        int64_t next = std::min(std::min(ne, nt), hi);
        if (next > pos) sel.scan_plain(s + (pos - lo), next - pos, gid_base + pos);
        if (next >= hi) return;
        if (ne != next) {
            uint32_t tier = (nt == next) ? sel.tiers().target : sel.tiers().plain;
            sel.offer(s[next - lo], gid_base + next, tier);
        }
        pos = next + 1;
    }
}

// Sorted copy of the entries of items[begin..end) that fall in [lo, hi), shifted by -lo.
inline void collect_sorted(const int32_t* items, int64_t begin, int64_t end, int64_t lo,
                           int64_t hi, std::vector<int64_t>& out) {
    out.clear();
    for (int64_t j = begin; j < end; ++j) {
        int64_t g = items[j];
        if (g >= lo && g < hi) out.push_back(g - lo);
    }
    if (!std::is_sorted(out.begin(), out.end())) std::sort(out.begin(), out.end());
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

// Heap storage of n_rows rows, `cap` = k+1 slots each.
struct HeapStore {
    uint64_t* keys;
    int32_t* ids;
    int32_t* count;
    int32_t cap;
    Heap row(int64_t r) const { return Heap{keys + r * cap, ids + r * cap, count + r, cap}; }
};

// Fold one chunk of scores [n_rows, width] (items item_offset .. item_offset+width-1) into the
// heaps. priority has at least item_offset+width entries.
inline void update(const float* scores, int64_t n_rows, int64_t width, int64_t item_offset,
                   Csr exclude, Csr targets, const int32_t* priority, int ties, HeapStore store,
                   int threads) {
    const TierBits tiers = tier_bits(ties);
    const bool use_targets = ties != kRandom && targets.indptr != nullptr;
#pragma omp parallel num_threads(resolve_threads(threads)) if (n_rows > 1)
    {
        std::vector<int64_t> excl, tgt;
#pragma omp for schedule(dynamic, 8)
        for (int64_t r = 0; r < n_rows; ++r) {
            Specials sp;
            int64_t b, e;
            if (exclude.indptr != nullptr) {
                csr_row(exclude.indptr, exclude.nnz, r, b, e);
                collect_sorted(exclude.items, b, e, item_offset, item_offset + width, excl);
                sp.excl = excl.data();
                sp.n_excl = static_cast<int64_t>(excl.size());
            }
            if (use_targets) {
                csr_row(targets.indptr, targets.nnz, r, b, e);
                collect_sorted(targets.items, b, e, item_offset, item_offset + width, tgt);
                sp.tgt = tgt.data();
                sp.n_tgt = static_cast<int64_t>(tgt.size());
            }
            RowSelector sel(store.row(r), priority, tiers);
            scan_range(sel, sp, scores + r * width, 0, width, item_offset);
        }
    }
}

// Sorted (best first) top-k of one row: ids (-1 when unfilled), scores (NaN when unfilled),
// and whether the k-th kept score equals the best dropped one (both NaN counts as equal).
inline void finish_row(const Heap& h, int32_t k, int32_t* out_ids, float* out_scores,
                       bool* out_boundary, std::vector<std::pair<uint64_t, int32_t>>& buf) {
    const int32_t n = std::max(0, std::min(*h.count, h.cap));
    buf.resize(static_cast<size_t>(n));
    for (int32_t j = 0; j < n; ++j) buf[j] = {h.keys[j], h.ids[j]};
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
#pragma omp parallel num_threads(resolve_threads(threads)) if (n_rows > 1)
    {
        std::vector<std::pair<uint64_t, int32_t>> buf;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n_rows; ++r)
            finish_row(store.row(r), k, out_ids + r * k, out_scores + r * k, out_boundary + r, buf);
    }
}

}  // namespace topk
}  // namespace recplug
