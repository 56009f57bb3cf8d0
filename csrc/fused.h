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
#include <limits>
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
constexpr int kUserBlock = 48;   // users per task (a multiple of kMR)
constexpr int kItemTile = 1024;  // items per score tile (a multiple of kNR)
// Catalogues up to this size are scored a whole row at a time (a [kUserBlock, n_items] tile of
// at most 1.5 MiB), so the seeded threshold sees every item at once; larger ones stream
// through [kStreamUserBlock, kStreamItemTile] tiles (192 KiB): more users per pass over the
// packed items (which then come from memory) for the same tile size.
constexpr int64_t kWholeRowItems = 8192;
constexpr int kStreamUserBlock = 192;  // a multiple of kMR
constexpr int kStreamItemTile = 256;   // a multiple of kNR

// item_emb [n_items, d] -> panels of kNR items: packed[q][p][j] = item_emb[q*kNR + j][p], zero-padded.
inline std::vector<float> pack_items(const float* item_emb, int64_t n_items, int64_t d, int threads) {
    const int64_t n_panels = (n_items + kNR - 1) / kNR;
    std::vector<float> packed(static_cast<size_t>(n_panels * d * kNR), 0.0f);
    threads = threads_for(threads, n_items * d, kGrainFlops);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
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
// bias: kNR entries for the panel or nullptr. The accumulators are named variables so that
// they stay in registers (12 accumulators + 2 panel vectors + 1 broadcast = 15 of 16 ymm).
template <int R>
__attribute__((always_inline)) inline void micro_kernel(const float* A, int64_t d, const float* Bp,
                                                        const float* bias, float* C, int64_t ldc,
                                                        int ncols) {
    static_assert(R >= 1 && R <= kMR, "R must be in 1..kMR");
#if defined(RECPLUG_FUSED_AVX2)
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float* a0 = A;
    const float* a1 = A + (R > 1 ? d : 0);
    const float* a2 = A + (R > 2 ? 2 * d : 0);
    const float* a3 = A + (R > 3 ? 3 * d : 0);
    const float* a4 = A + (R > 4 ? 4 * d : 0);
    const float* a5 = A + (R > 5 ? 5 * d : 0);
#define RECPLUG_ROW(i)                                            \
    if constexpr (R > i) {                                        \
        const __m256 a = _mm256_broadcast_ss(a##i + p);           \
        c##i##0 = _mm256_fmadd_ps(a, b0, c##i##0);                \
        c##i##1 = _mm256_fmadd_ps(a, b1, c##i##1);                \
    }
    for (int64_t p = 0; p < d; ++p) {
        const __m256 b0 = _mm256_loadu_ps(Bp + p * kNR);
        const __m256 b1 = _mm256_loadu_ps(Bp + p * kNR + 8);
        RECPLUG_ROW(0)
        RECPLUG_ROW(1)
        RECPLUG_ROW(2)
        RECPLUG_ROW(3)
        RECPLUG_ROW(4)
        RECPLUG_ROW(5)
    }
#undef RECPLUG_ROW
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    alignas(32) float tmp[kNR];
    auto store = [&](int r, __m256 lo, __m256 hi) {
        if (bias) {  // one float32 addition, as in the scalar path
            lo = _mm256_add_ps(lo, bias0);
            hi = _mm256_add_ps(hi, bias1);
        }
        float* dst = C + r * ldc;
        if (ncols == kNR) {
            _mm256_storeu_ps(dst, lo);
            _mm256_storeu_ps(dst + 8, hi);
        } else {
            _mm256_store_ps(tmp, lo);
            _mm256_store_ps(tmp + 8, hi);
            std::memcpy(dst, tmp, sizeof(float) * static_cast<size_t>(ncols));
        }
    };
    store(0, c00, c01);
    if constexpr (R > 1) store(1, c10, c11);
    if constexpr (R > 2) store(2, c20, c21);
    if constexpr (R > 3) store(3, c30, c31);
    if constexpr (R > 4) store(4, c40, c41);
    if constexpr (R > 5) store(5, c50, c51);
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
    threads = threads_for(threads, n_blocks, 1);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
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
    const bool use_targets = ties != kRandom;
    const int32_t cap = k + 1;
    const bool whole_rows = n_items <= kWholeRowItems;
    const int64_t user_block = whole_rows ? kUserBlock : kStreamUserBlock;
    const int64_t n_blocks = (n_users + user_block - 1) / user_block;
    const int64_t tile_width = whole_rows ? std::max<int64_t>(kNR, (n_items + kNR - 1) / kNR * kNR) : kStreamItemTile;
    threads = threads_for(threads, n_blocks, 1);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const size_t ub = static_cast<size_t>(user_block);
        std::vector<float> tile(ub * tile_width);
        std::vector<uint64_t> keys(ub * cap);
        std::vector<int32_t> ids(ub * cap);
        std::vector<int32_t> count(ub);
        std::vector<std::vector<int32_t>> excl(ub), tgt(ub);
        std::vector<Specials> specials(ub);
        std::vector<std::pair<uint64_t, int32_t>> buf;
        std::vector<float> copy, maxima;
        std::vector<int64_t> patched(ub);
        std::vector<RowSelector> selectors;
        selectors.reserve(ub);
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            const int64_t u0 = blk * user_block;
            const int nb = static_cast<int>(std::min<int64_t>(user_block, n_users - u0));
            const HeapStore store{keys.data(), ids.data(), count.data(), cap};
            selectors.clear();
            for (int r = 0; r < nb; ++r) {
                count[r] = 0;
                patched[r] = 0;
                specials[r] = row_specials(exclude, targets, use_targets, u0 + r, excl[r], tgt[r]);
                selectors.push_back(store.selector(r, priority, tiers));
            }
            for (int64_t t0 = 0; t0 < n_items; t0 += tile_width) {
                const int64_t t1 = std::min<int64_t>(n_items, t0 + tile_width);
                score_tile(user_emb + u0 * d, nb, d, packed.data(), bp, t0, t1, tile.data(), tile_width);
                for (int r = 0; r < nb; ++r) {
                    // excluded entries of the tile become NaN: they never pass a threshold
                    float* row = tile.data() + r * tile_width;
                    const Specials& sp = specials[r];
                    int64_t& j = patched[r];
                    for (; j < sp.n_excl && sp.excl[j] < t1; ++j)
                        if (sp.excl[j] >= t0) row[sp.excl[j] - t0] = std::numeric_limits<float>::quiet_NaN();
                    selectors[r].scan_seeded(row, t1 - t0, t0, specials[r], copy, maxima, true);
                }
            }
            for (int r = 0; r < nb; ++r)
                finish_row(store, r, k, out_ids + (u0 + r) * k, out_scores + (u0 + r) * k,
                           out_boundary + u0 + r, buf);
        }
    }
}

}  // namespace fused
}  // namespace recplug
