// Per-row ranking metrics of top-K lists against target sets (DESIGN.md §5). Plain C++.
//
// Binary relevance. A row's target set T is its distinct target ids; an entry of the list is
// a hit when it is >= 0, in T, and not already hit higher up (so a repeated id never counts
// twice). Rows with |T| = 0 get 0 for every metric. All cutoffs come from one pass per row.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "parallel.h"

namespace recplug {
namespace metrics {

enum Metric : int { kHR = 0, kRecall, kNDCG, kMRR, kPrecision, kMAP, kNumMetrics };

// Below this many (row, rank) pairs (~0.1 ms of work) waking a thread team does not pay.
constexpr int64_t kRowRanksPerThread = 10000;

// The row's distinct targets in increasing order: the row itself when it already is, else a
// sorted, deduplicated copy in `scratch`.
inline const int32_t* distinct_sorted(const int32_t* items, int64_t n, std::vector<int32_t>& scratch) {
    bool increasing = true;
    for (int64_t j = 1; j < n; ++j) increasing &= items[j - 1] < items[j];
    if (increasing) return items;
    scratch.assign(items, items + n);
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    return scratch.data();
}

// A row's distinct targets, each hit at most once. Small sets are copied into whole 8-int
// blocks padded with -1 (never a hit: ids looked up are >= 0) and compared block-wise
// without branches; large sets use binary search.
class TargetSet {
public:
    static constexpr int64_t kLinearMax = 64;

    void reset(const int32_t* sorted, int64_t n) {
        sorted_ = sorted;
        n_ = n;
        small_taken_ = 0u;
        if (n > kLinearMax) {
            taken_.assign(static_cast<size_t>((n + 63) / 64), 0u);
            return;
        }
        blocks_ = (n + 7) / 8;
        std::fill(padded_, padded_ + 8 * blocks_, -1);
        std::copy(sorted, sorted + n, padded_);
    }

    // True when id (>= 0) is a target not hit before; marks it hit.
    bool hit(int32_t id) {
        const int64_t i = find(id);
        if (i < 0) return false;
        uint64_t& word = n_ > kLinearMax ? taken_[static_cast<size_t>(i / 64)] : small_taken_;
        const uint64_t bit = uint64_t{1} << (i % 64);
        const bool fresh = (word & bit) == 0u;
        word |= bit;
        return fresh;
    }

private:
    // Index of id in the sorted set, or -1.
    int64_t find(int32_t id) const {
        if (n_ > kLinearMax) {
            const int32_t* it = std::lower_bound(sorted_, sorted_ + n_, id);
            return (it != sorted_ + n_ && *it == id) ? it - sorted_ : -1;
        }
        uint64_t found = 0u;
#if defined(__AVX2__)
        const __m256i needle = _mm256_set1_epi32(id);
        for (int64_t b = 0; b < blocks_; ++b) {
            const __m256i block = _mm256_load_si256(reinterpret_cast<const __m256i*>(padded_ + 8 * b));
            const int m = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(block, needle)));
            found |= static_cast<uint64_t>(static_cast<unsigned>(m)) << (8 * b);
        }
#else
        for (int64_t j = 0; j < 8 * blocks_; ++j) found |= static_cast<uint64_t>(padded_[j] == id) << j;
#endif
        return found ? static_cast<int64_t>(__builtin_ctzll(found)) : -1;
    }

    const int32_t* sorted_ = nullptr;
    int64_t n_ = 0;
    int64_t blocks_ = 0;
    uint64_t small_taken_ = 0u;  // hit flags of a small set
    std::vector<uint64_t> taken_;  // hit flags of a large set
    alignas(32) int32_t padded_[kLinearMax];
};

// out: [kNumMetrics][n_ks][n_rows] float64. topk: [n_rows][L] int32. ks: each in [1, L].
inline void ranking_metrics(const int32_t* topk, int64_t n_rows, int64_t L, const int64_t* indptr,
                            const int32_t* items, int64_t nnz, const int64_t* ks, int64_t n_ks,
                            double* out, int threads) {
    int64_t kmax = 0;
    for (int64_t j = 0; j < n_ks; ++j) kmax = std::max(kmax, std::min(ks[j], L));
    if (kmax < 1) {  // no valid cutoff (rejected by recplug.kernels): nothing to count
        std::fill(out, out + kNumMetrics * n_ks * n_rows, 0.0);
        return;
    }
    // discount[r] = 1/log2(r+1) for rank r >= 1; ideal[n] = sum of the first n discounts.
    std::vector<double> discount(static_cast<size_t>(kmax) + 1, 0.0), ideal(static_cast<size_t>(kmax) + 1, 0.0);
    for (int64_t r = 1; r <= kmax; ++r) {
        discount[r] = 1.0 / std::log2(static_cast<double>(r) + 1.0);
        ideal[r] = ideal[r - 1] + discount[r];
    }
    const int64_t plane = n_ks * n_rows;
#pragma omp parallel num_threads(resolve_threads(threads)) if (n_rows * kmax > kRowRanksPerThread)
    {
        std::vector<int32_t> scratch;
        TargetSet targets;
        // values after rank r (index r): hits, dcg, first-hit rank, sum of precision at hits
        std::vector<int64_t> hits(static_cast<size_t>(kmax) + 1), first(static_cast<size_t>(kmax) + 1);
        std::vector<double> dcg(static_cast<size_t>(kmax) + 1), ap(static_cast<size_t>(kmax) + 1);
#pragma omp for schedule(dynamic, 256)
        for (int64_t row = 0; row < n_rows; ++row) {
            const int64_t b = std::max<int64_t>(0, std::min(indptr[row], nnz));
            const int64_t e = std::max<int64_t>(b, std::min(indptr[row + 1], nnz));
            const int32_t* tset = distinct_sorted(items + b, e - b, scratch);
            const int64_t nt = tset == items + b ? e - b : static_cast<int64_t>(scratch.size());
            if (nt == 0) {
                for (int m = 0; m < kNumMetrics; ++m)
                    for (int64_t j = 0; j < n_ks; ++j) out[m * plane + j * n_rows + row] = 0.0;
                continue;
            }
            targets.reset(tset, nt);
            const int32_t* list = topk + row * L;
            int64_t h = 0, f = 0;
            double g = 0.0, a = 0.0;
            for (int64_t r = 1; r <= kmax; ++r) {
                const int32_t id = list[r - 1];
                if (id >= 0 && targets.hit(id)) {
                    ++h;
                    g += discount[r];
                    a += static_cast<double>(h) / static_cast<double>(r);  // no a*b+c: no FMA contraction
                    if (f == 0) f = r;
                }
                hits[r] = h;
                first[r] = f;
                dcg[r] = g;
                ap[r] = a;
            }
            for (int64_t j = 0; j < n_ks; ++j) {
                const int64_t K = std::max<int64_t>(1, std::min(ks[j], kmax));
                const double hk = static_cast<double>(hits[K]);
                const int64_t denom = std::min(K, nt);
                double* o = out + j * n_rows + row;
                o[kHR * plane] = hits[K] > 0 ? 1.0 : 0.0;
                o[kRecall * plane] = hk / static_cast<double>(nt);
                o[kNDCG * plane] = dcg[K] / ideal[denom];
                o[kMRR * plane] = first[K] > 0 ? 1.0 / static_cast<double>(first[K]) : 0.0;
                o[kPrecision * plane] = hk / static_cast<double>(K);
                o[kMAP * plane] = ap[K] / static_cast<double>(denom);
            }
        }
    }
}

}  // namespace metrics
}  // namespace recplug
