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

#include "parallel.h"

namespace recplug {
namespace metrics {

enum Metric : int { kHR = 0, kRecall, kNDCG, kMRR, kPrecision, kMAP, kNumMetrics };

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
#pragma omp parallel num_threads(resolve_threads(threads)) if (n_rows > 1)
    {
        std::vector<int32_t> tset;
        std::vector<char> taken;
        // prefix values after rank r (index r): hits, dcg, first-hit rank, sum of precision at hits
        std::vector<int64_t> hits(static_cast<size_t>(kmax) + 1);
        std::vector<double> dcg(static_cast<size_t>(kmax) + 1), ap(static_cast<size_t>(kmax) + 1);
        std::vector<int64_t> first(static_cast<size_t>(kmax) + 1);
#pragma omp for schedule(static)
        for (int64_t row = 0; row < n_rows; ++row) {
            const int64_t b = std::max<int64_t>(0, std::min(indptr[row], nnz));
            const int64_t e = std::max<int64_t>(b, std::min(indptr[row + 1], nnz));
            tset.assign(items + b, items + e);
            std::sort(tset.begin(), tset.end());
            tset.erase(std::unique(tset.begin(), tset.end()), tset.end());
            const int64_t nt = static_cast<int64_t>(tset.size());
            if (nt == 0) {
                for (int m = 0; m < kNumMetrics; ++m)
                    for (int64_t j = 0; j < n_ks; ++j) out[m * plane + j * n_rows + row] = 0.0;
                continue;
            }
            taken.assign(static_cast<size_t>(nt), 0);
            const int32_t* list = topk + row * L;
            hits[0] = 0;
            dcg[0] = 0.0;
            ap[0] = 0.0;
            first[0] = 0;
            for (int64_t r = 1; r <= kmax; ++r) {
                const int32_t id = list[r - 1];
                bool hit = false;
                if (id >= 0) {
                    auto it = std::lower_bound(tset.begin(), tset.end(), id);
                    if (it != tset.end() && *it == id) {
                        char& t = taken[static_cast<size_t>(it - tset.begin())];
                        hit = !t;
                        t = 1;
                    }
                }
                hits[r] = hits[r - 1] + (hit ? 1 : 0);
                dcg[r] = dcg[r - 1] + (hit ? discount[r] : 0.0);
                ap[r] = ap[r - 1] + (hit ? static_cast<double>(hits[r]) / static_cast<double>(r) : 0.0);
                first[r] = first[r - 1] != 0 ? first[r - 1] : (hit ? r : 0);
            }
            for (int64_t j = 0; j < n_ks; ++j) {
                const int64_t K = std::max<int64_t>(1, std::min(ks[j], kmax));
                const double h = static_cast<double>(hits[K]);
                const int64_t denom = std::min(K, nt);
                double* o = out + j * n_rows + row;
                o[kHR * plane] = hits[K] > 0 ? 1.0 : 0.0;
                o[kRecall * plane] = h / static_cast<double>(nt);
                o[kNDCG * plane] = dcg[K] / ideal[denom];
                o[kMRR * plane] = first[K] > 0 ? 1.0 / static_cast<double>(first[K]) : 0.0;
                o[kPrecision * plane] = h / static_cast<double>(K);
                o[kMAP * plane] = ap[K] / static_cast<double>(denom);
            }
        }
    }
}

}  // namespace metrics
}  // namespace recplug
