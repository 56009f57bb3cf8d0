// Fused scoring + masked top-K: scores = user_emb @ item_emb.T (+ item_bias), computed in
// cache-sized tiles and fed straight into the selection of topk.h, never materialising the
// [B, N] matrix. Plain C++, no Python.
//
// Arithmetic (the same in every code path, so results never depend on blocking, batch
// composition, thread count or instruction set):
//   score(u, i) = fma(u[d-1], v[d-1], ... fma(u[1], v[1], fma(u[0], v[0], 0.0f)) ...)  (+ bias[i])
// i.e. a sequential single-rounding FMA chain over the embedding dimension in float32,
// then one float32 addition of the bias. score_matrix() materialises exactly these numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RECPLUG_FUSED_AVX2 1
#endif

#include "parallel.h"
#include "topk.h"

namespace recplug {
namespace fused {

constexpr int kMR = 6;          // users per register block
constexpr int kNR = 16;         // items per register block (two 8-float vectors)
constexpr int kUserBlock = 48;  // users per task (a multiple of kMR)
constexpr int kItemTile = 256;  // items per score tile (a multiple of kNR)

// item_emb [n_items, d] -> panels of kNR items: packed[q][p][j] = item_emb[q*kNR + j][p], zero-padded.
inline std::vector<float> pack_items(const float* item_emb, int64_t n_items, int64_t d, int threads) {
    const int64_t n_panels = (n_items + kNR - 1) / kNR;
    std::vector<float> packed(static_cast<size_t>(n_panels * d * kNR), 0.0f);
#pragma omp parallel for num_threads(resolve_threads(threads)) schedule(static) if (n_panels > 64)
    for (int64_t q = 0; q < n_panels; ++q) {
        float* dst = packed.data() + q * d * kNR;
        for (int j = 0; j < kNR; ++j) {
            int64_t item = q * kNR + j;
            if (item >= n_items) break;
            const float* src = item_emb + item * d;
            for (int64_t p = 0; p < d; ++p) dst[p * kNR + j] = src[p];
        }
    }
    return packed;
}

// C[r][j] (r < R, j < ncols) = scores of users A[r*d ..] against the kNR items of panel Bp.
// bias: kNR entries for the panel or nullptr.
template <int R>
inline void micro_kernel(const float* A, int64_t d, const float* Bp, const float* bias, float* C,
                         int64_t ldc, int ncols) {
#if defined(RECPLUG_FUSED_AVX2)
    __m256 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < d; ++p) {
        const __m256 b0 = _mm256_loadu_ps(Bp + p * kNR);
        const __m256 b1 = _mm256_loadu_ps(Bp + p * kNR + 8);
        for (int r = 0; r < R; ++r) {
            const __m256 a = _mm256_broadcast_ss(A + r * d + p);
            acc0[r] = _mm256_fmadd_ps(a, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(a, b1, acc1[r]);
        }
    }
    if (bias != nullptr) {
        const __m256 c0 = _mm256_loadu_ps(bias), c1 = _mm256_loadu_ps(bias + 8);
        for (int r = 0; r < R; ++r) {
            acc0[r] = _mm256_add_ps(acc0[r], c0);
            acc1[r] = _mm256_add_ps(acc1[r], c1);
        }
    }
    if (ncols == kNR) {
        for (int r = 0; r < R; ++r) {
            _mm256_storeu_ps(C + r * ldc, acc0[r]);
            _mm256_storeu_ps(C + r * ldc + 8, acc1[r]);
        }
    } else {
        alignas(32) float tmp[kNR];
        for (int r = 0; r < R; ++r) {
            _mm256_store_ps(tmp, acc0[r]);
            _mm256_store_ps(tmp + 8, acc1[r]);
            std::memcpy(C + r * ldc, tmp, sizeof(float) * ncols);
        }
    }
#else
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < ncols; ++j) {
            float c = 0.0f;
            for (int64_t p = 0; p < d; ++p) c = std::fma(A[r * d + p], Bp[p * kNR + j], c);
            if (bias != nullptr) c = c + bias[j];
            C[r * ldc + j] = c;
        }
    }
#endif
}

// Scores of n_users users (rows of A) against items [t0, t1) into C (row stride ldc, column 0 = t0).
// t0 is a multiple of kNR; bias_padded (or nullptr) holds the bias zero-padded to whole panels.
inline void score_tile(const float* A, int n_users, int64_t d, const float* packed,
                       const float* bias_padded, int64_t t0, int64_t t1, float* C, int64_t ldc) {
    for (int64_t j0 = t0; j0 < t1; j0 += kNR) {
        const float* Bp = packed + (j0 / kNR) * d * kNR;
        const float* bias = bias_padded ? bias_padded + j0 : nullptr;
        const int ncols = static_cast<int>(std::min<int64_t>(kNR, t1 - j0));
        float* Cj = C + (j0 - t0);
        int r0 = 0;
        for (; r0 + kMR <= n_users; r0 += kMR)
            micro_kernel<kMR>(A + r0 * d, d, Bp, bias, Cj + r0 * ldc, ldc, ncols);
        const float* Ar = A + r0 * d;
        float* Cr = Cj + r0 * ldc;
        switch (n_users - r0) {
            case 5: micro_kernel<5>(Ar, d, Bp, bias, Cr, ldc, ncols); break;
            case 4: micro_kernel<4>(Ar, d, Bp, bias, Cr, ldc, ncols); break;
            case 3: micro_kernel<3>(Ar, d, Bp, bias, Cr, ldc, ncols); break;
            case 2: micro_kernel<2>(Ar, d, Bp, bias, Cr, ldc, ncols); break;
            case 1: micro_kernel<1>(Ar, d, Bp, bias, Cr, ldc, ncols); break;
            default: break;
        }
    }
}

inline std::vector<float> pad_bias(const float* bias, int64_t n_items) {
    std::vector<float> out;
    if (bias == nullptr) return out;
    out.assign(static_cast<size_t>((n_items + kNR - 1) / kNR * kNR), 0.0f);
    std::copy(bias, bias + n_items, out.begin());
    return out;
}

// Dense scores [n_users, n_items] with exactly the arithmetic of fused_topk.
inline void score_matrix(const float* user_emb, int64_t n_users, const float* item_emb,
                         int64_t n_items, int64_t d, const float* bias, float* out, int threads) {
    const std::vector<float> packed = pack_items(item_emb, n_items, d, threads);
    const std::vector<float> biasp = pad_bias(bias, n_items);
    const float* bp = bias ? biasp.data() : nullptr;
    const int64_t n_blocks = (n_users + kUserBlock - 1) / kUserBlock;
#pragma omp parallel for num_threads(resolve_threads(threads)) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const int64_t u0 = blk * kUserBlock;
        const int nb = static_cast<int>(std::min<int64_t>(kUserBlock, n_users - u0));
        for (int64_t t0 = 0; t0 < n_items; t0 += kItemTile) {
            const int64_t t1 = std::min<int64_t>(n_items, t0 + kItemTile);
            score_tile(user_emb + u0 * d, nb, d, packed.data(), bp, t0, t1, out + u0 * n_items + t0,
                       n_items);
        }
    }
}

// Fused scoring + top-k with k+1 slots per row (see topk.h); writes the final sorted result.
inline void fused_topk(const float* user_emb, int64_t n_users, const float* item_emb,
                       int64_t n_items, int64_t d, const float* bias, int32_t k,
                       topk::Csr exclude, topk::Csr targets, const int32_t* priority, int ties,
                       int32_t* out_ids, float* out_scores, bool* out_boundary, int threads) {
    using namespace topk;
    const std::vector<float> packed = pack_items(item_emb, n_items, d, threads);
    const std::vector<float> biasp = pad_bias(bias, n_items);
    const float* bp = bias ? biasp.data() : nullptr;
    const TierBits tiers = tier_bits(ties);
    const bool use_targets = ties != kRandom && targets.indptr != nullptr;
    const int32_t cap = k + 1;
    const int64_t n_blocks = (n_users + kUserBlock - 1) / kUserBlock;
#pragma omp parallel num_threads(resolve_threads(threads)) if (n_blocks > 1)
    {
        std::vector<float> tile(static_cast<size_t>(kUserBlock) * kItemTile);
        std::vector<uint64_t> keys(static_cast<size_t>(kUserBlock) * cap);
        std::vector<int32_t> ids(static_cast<size_t>(kUserBlock) * cap);
        std::vector<int32_t> count(kUserBlock);
        std::vector<std::vector<int64_t>> excl(kUserBlock), tgt(kUserBlock);
        std::vector<Specials> specials(kUserBlock);
        std::vector<std::pair<uint64_t, int32_t>> buf;
        std::vector<RowSelector> selectors;
        selectors.reserve(kUserBlock);
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            const int64_t u0 = blk * kUserBlock;
            const int nb = static_cast<int>(std::min<int64_t>(kUserBlock, n_users - u0));
            const HeapStore store{keys.data(), ids.data(), count.data(), cap};
            selectors.clear();
            for (int r = 0; r < nb; ++r) {
                count[r] = 0;
                int64_t b, e;
                Specials sp;
                if (exclude.indptr != nullptr) {
                    csr_row(exclude.indptr, exclude.nnz, u0 + r, b, e);
                    collect_sorted(exclude.items, b, e, 0, n_items, excl[r]);
                    sp.excl = excl[r].data();
                    sp.n_excl = static_cast<int64_t>(excl[r].size());
                }
                if (use_targets) {
                    csr_row(targets.indptr, targets.nnz, u0 + r, b, e);
                    collect_sorted(targets.items, b, e, 0, n_items, tgt[r]);
                    sp.tgt = tgt[r].data();
                    sp.n_tgt = static_cast<int64_t>(tgt[r].size());
                }
                specials[r] = sp;
                selectors.emplace_back(store.row(r), priority, tiers);
            }
            for (int64_t t0 = 0; t0 < n_items; t0 += kItemTile) {
                const int64_t t1 = std::min<int64_t>(n_items, t0 + kItemTile);
                score_tile(user_emb + u0 * d, nb, d, packed.data(), bp, t0, t1, tile.data(), kItemTile);
                for (int r = 0; r < nb; ++r)
                    scan_range(selectors[r], specials[r], tile.data() + r * kItemTile, t0, t1, 0);
            }
            for (int r = 0; r < nb; ++r)
                finish_row(store.row(r), k, out_ids + (u0 + r) * k, out_scores + (u0 + r) * k,
                           out_boundary + u0 + r, buf);
        }
    }
}

}  // namespace fused
}  // namespace recplug
