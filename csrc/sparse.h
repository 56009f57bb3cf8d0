// Sparse neighbour aggregation (CSR x dense) and the normalised bipartite adjacency that
// graph recommenders (LightGCN, NGCF) propagate over. Plain C++, no Python. Inputs are
// validated by recplug/kernels.py (monotone indptr, index ranges); this file trusts them.
//
// Determinism: every output row is computed by one thread, summing its nonzeros in CSR
// order with the same code path whatever the thread count, so results are bit-identical
// for any number of threads.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "parallel.h"

namespace recplug {

namespace sparse_detail {

// Eight floats as one value (GCC/Clang vector extension: one AVX register, or two SSE/NEON
// ones); keeping accumulators as values lets the compiler hold them in registers.
typedef float f32x8 __attribute__((vector_size(32)));

constexpr int64_t kPrefetch = 8;  // nonzeros ahead whose dense row is prefetched

inline f32x8 load8(const float* p) {
    f32x8 x;
    std::memcpy(&x, p, sizeof x);
    return x;
}

inline void store8(float* p, f32x8 x) { std::memcpy(p, &x, sizeof x); }

// out_row[col, col + 8V) = sum_k values[k] * dense[indices[k], col, col + 8V) over one CSR
// row, each value summed in CSR order.
template <int V>
inline void row_block(const int32_t* indices, const float* values, int64_t beg, int64_t end,
                      const float* dense, int64_t d, int64_t col, float* out_row) {
    f32x8 acc[V];
    for (int i = 0; i < V; ++i) acc[i] = f32x8{};
    for (int64_t k = beg; k < end; ++k) {
        if (k + kPrefetch < end) {  // the gathered rows are random: ask for them early
            const float* next = dense + static_cast<int64_t>(indices[k + kPrefetch]) * d + col;
            for (int i = 0; i < V; i += 2) __builtin_prefetch(next + 8 * i);
        }
        const float v = values[k];
        const float* src = dense + static_cast<int64_t>(indices[k]) * d + col;
        for (int i = 0; i < V; ++i) acc[i] += v * load8(src + 8 * i);
    }
    for (int i = 0; i < V; ++i) store8(out_row + col + 8 * i, acc[i]);
}

// The last d - col < 8 columns of one row.
inline void row_tail(const int32_t* indices, const float* values, int64_t beg, int64_t end,
                     const float* dense, int64_t d, int64_t col, float* out_row) {
    float acc[8] = {};
    const int64_t w = d - col;
    for (int64_t k = beg; k < end; ++k) {
        const float v = values[k];
        const float* src = dense + static_cast<int64_t>(indices[k]) * d + col;
        for (int64_t j = 0; j < w; ++j) acc[j] += v * src[j];
    }
    for (int64_t j = 0; j < w; ++j) out_row[col + j] = acc[j];
}

}  // namespace sparse_detail

// out [m, d] = CSR [m, n] (indptr int64 [m+1], indices int32, values float32) @ dense [n, d].
// Rows are spread over threads; each row is done 64 columns at a time (then 32, 16, 8, and
// a remainder), each output value summed over the row's nonzeros in CSR order.
inline void csr_dense_matmul(const int64_t* indptr, const int32_t* indices, const float* values,
                             int64_t m, const float* dense, int64_t d, float* out, int threads) {
    using namespace sparse_detail;
    threads = threads_for(threads, indptr[m] * d, kGrainFlops);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 64) if (threads > 1)
    for (int64_t r = 0; r < m; ++r) {
        const int64_t beg = indptr[r], end = indptr[r + 1];
        float* out_row = out + r * d;
        int64_t col = 0;
        for (; col + 64 <= d; col += 64) row_block<8>(indices, values, beg, end, dense, d, col, out_row);
        if (col + 32 <= d) {
            row_block<4>(indices, values, beg, end, dense, d, col, out_row);
            col += 32;
        }
        if (col + 16 <= d) {
            row_block<2>(indices, values, beg, end, dense, d, col, out_row);
            col += 16;
        }
        if (col + 8 <= d) {
            row_block<1>(indices, values, beg, end, dense, d, col, out_row);
            col += 8;
        }
        if (col < d) row_tail(indices, values, beg, end, dense, d, col, out_row);
    }
}

// CSR of the symmetric-normalised bipartite adjacency over n_users + n_items nodes.
struct NormAdjacency {
    std::vector<int64_t> indptr;   // [n_users + n_items + 1]
    std::vector<int32_t> indices;  // column ids, ascending within each row
    std::vector<float> values;     // 1 / sqrt(deg(row) * deg(col))
};

// D^-1/2 A D^-1/2 with A = [[0, R], [R^T, 0]], R the user x item CSR (indptr int64 [n_users+1],
// indices int32 in [0, n_items)); duplicate (user, item) entries count once. Users come first,
// items follow (node n_users + i); isolated nodes get empty rows.
inline NormAdjacency bipartite_norm_adj(const int64_t* indptr, const int32_t* indices,
                                        int64_t n_users, int64_t n_items, int threads) {
    threads = threads_for(threads, indptr[n_users], kGrainEntries);
    const int64_t nnz_in = indptr[n_users];

    // 1. Each user's items sorted and deduplicated (in place in a copy).
    std::vector<int32_t> work(indices, indices + nnz_in);
    std::vector<int64_t> user_ptr(n_users + 1, 0);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256) if (threads > 1)
    for (int64_t u = 0; u < n_users; ++u) {
        int32_t* first = work.data() + indptr[u];
        int32_t* last = work.data() + indptr[u + 1];
        if (!std::is_sorted(first, last)) std::sort(first, last);
        user_ptr[u + 1] = std::unique(first, last) - first;
    }
    for (int64_t u = 0; u < n_users; ++u) user_ptr[u + 1] += user_ptr[u];
    const int64_t nnz = user_ptr[n_users];

    std::vector<int32_t> user_items(nnz);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256) if (threads > 1)
    for (int64_t u = 0; u < n_users; ++u) {
        std::copy(work.data() + indptr[u], work.data() + indptr[u] + (user_ptr[u + 1] - user_ptr[u]),
                  user_items.data() + user_ptr[u]);
    }
    std::vector<int32_t>().swap(work);

    // 2. Transpose (counting sort): users of each item, ascending because users are visited in order.
    std::vector<int64_t> item_ptr(n_items + 1, 0);
    for (int64_t k = 0; k < nnz; ++k) ++item_ptr[user_items[k] + 1];
    for (int64_t i = 0; i < n_items; ++i) item_ptr[i + 1] += item_ptr[i];
    std::vector<int32_t> item_users(nnz);
    {
        std::vector<int64_t> cursor(item_ptr.begin(), item_ptr.end() - 1);
        for (int64_t u = 0; u < n_users; ++u) {
            for (int64_t k = user_ptr[u]; k < user_ptr[u + 1]; ++k) {
                item_users[cursor[user_items[k]]++] = static_cast<int32_t>(u);
            }
        }
    }

    // 3. Degrees and the normalised values, in float64 then rounded once to float32.
    std::vector<double> user_scale(n_users), item_scale(n_items);
    for (int64_t u = 0; u < n_users; ++u) {
        const int64_t deg = user_ptr[u + 1] - user_ptr[u];
        user_scale[u] = deg > 0 ? 1.0 / std::sqrt(static_cast<double>(deg)) : 0.0;
    }
    for (int64_t i = 0; i < n_items; ++i) {
        const int64_t deg = item_ptr[i + 1] - item_ptr[i];
        item_scale[i] = deg > 0 ? 1.0 / std::sqrt(static_cast<double>(deg)) : 0.0;
    }

    NormAdjacency adj;
    const int64_t n_nodes = n_users + n_items;
    adj.indptr.resize(n_nodes + 1);
    for (int64_t u = 0; u <= n_users; ++u) adj.indptr[u] = user_ptr[u];
    for (int64_t i = 1; i <= n_items; ++i) adj.indptr[n_users + i] = nnz + item_ptr[i];
    adj.indices.resize(2 * nnz);
    adj.values.resize(2 * nnz);
    const int32_t offset = static_cast<int32_t>(n_users);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256) if (threads > 1)
    for (int64_t u = 0; u < n_users; ++u) {
        for (int64_t k = user_ptr[u]; k < user_ptr[u + 1]; ++k) {
            const int32_t i = user_items[k];
            adj.indices[k] = offset + i;
            adj.values[k] = static_cast<float>(user_scale[u] * item_scale[i]);
        }
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256) if (threads > 1)
    for (int64_t i = 0; i < n_items; ++i) {
        for (int64_t k = item_ptr[i]; k < item_ptr[i + 1]; ++k) {
            const int32_t u = item_users[k];
            adj.indices[nnz + k] = u;
            adj.values[nnz + k] = static_cast<float>(user_scale[u] * item_scale[i]);
        }
    }
    return adj;
}

}  // namespace recplug
