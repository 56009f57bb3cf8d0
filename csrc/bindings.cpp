// The one pybind11 file: exposes the plain C++ kernels in csrc/*.h to Python as recplug._kernels.
// Input validation lives in recplug/kernels.py; the bindings only unwrap buffers and release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "fused.h"
#include "metrics.h"
#include "parallel.h"
#include "topk.h"

#include "rating.h"
#include "sampling.h"
#include "sparse.h"

namespace py = pybind11;

// Import name and variant of this module (CMakeLists.txt compiles this file once per variant).
#ifndef RECPLUG_MODULE
#define RECPLUG_MODULE _kernels
#endif
#ifndef RECPLUG_VARIANT
#define RECPLUG_VARIANT "native"
#endif

namespace {

std::string instruction_set() {
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX2__)
    return "avx2";
#elif defined(__AVX__)
    return "avx";
#elif defined(__SSE4_2__)
    return "sse4.2";
#elif defined(__ARM_NEON)
    return "neon";
#else
    return "baseline";
#endif
}

py::dict build_info() {
    py::dict info;
    info["instruction_set"] = instruction_set();
    info["variant"] = std::string(RECPLUG_VARIANT);
    info["openmp"] = recplug::has_openmp();
    info["max_threads"] = recplug::resolve_threads(0);
#if defined(__clang__)
    info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = std::string("gcc ") + __VERSION__;
#else
    info["compiler"] = std::string("unknown");
#endif
    return info;
}

// What this CPU (and its OS) supports of the extensions the variants are compiled for: "avx2"
// (AVX2 + FMA) and "avx512" (those + AVX-512 F/DQ/BW/VL/CD), as CMakeLists.txt sets them.
py::dict cpu_features() {
    py::dict out;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512cd");
#else
    const bool avx2 = false, avx512 = false;
#endif
    out["avx2"] = avx2;
    out["avx512"] = avx512;
    return out;
}

// ---- top-K selection and fused scoring: buffer unwrapping (csrc/topk.h, csrc/fused.h) ----
// Cheap structural checks repeat here so that even a direct call of recplug._kernels can never
// read out of bounds; recplug/kernels.py does the user-facing validation first.

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

void require(bool ok, const std::string& message) {
    if (!ok) throw py::value_error(message);
}

// indptr has n_rows+1 entries, starts at 0, never decreases and ends at items.size().
recplug::topk::Csr unwrap_csr(const CArray<int64_t>& indptr, const CArray<int32_t>& items,
                              int64_t n_rows, const char* name) {
    const std::string n(name);
    require(indptr.ndim() == 1 && indptr.shape(0) == n_rows + 1, n + " indptr must have n_rows+1 entries");
    require(items.ndim() == 1, n + " items must be 1-d");
    const int64_t* p = indptr.data();
    const int64_t nnz = items.shape(0);
    require(p[0] == 0 && p[n_rows] == nnz, n + " indptr must start at 0 and end at len(items)");
    bool monotone = true;
    for (int64_t r = 0; r < n_rows; ++r) monotone &= p[r] <= p[r + 1];
    require(monotone, n + " indptr must not decrease");
    return recplug::topk::Csr{p, items.data(), nnz};
}

int check_ties(int ties) {
    require(ties >= 0 && ties <= 2, "ties must be 0 (random), 1 (optimistic) or 2 (pessimistic)");
    return ties;
}

void topk_update(const CArray<float>& scores, int64_t item_offset, const CArray<int64_t>& excl_indptr,
                 const CArray<int32_t>& excl_items, const CArray<int32_t>& priority,
                 const CArray<int64_t>& tgt_indptr, const CArray<int32_t>& tgt_items, int ties,
                 CArray<uint64_t>& heap_keys, CArray<int32_t>& heap_ids, CArray<int32_t>& heap_count,
                 int threads) {
    require(scores.ndim() == 2, "scores must be 2-d");
    const int64_t n_rows = scores.shape(0), width = scores.shape(1);
    require(heap_keys.ndim() == 2 && heap_keys.shape(0) == n_rows && heap_keys.shape(1) >= 1,
            "heap_keys must be [n_rows, k+1]");
    const int64_t cap = heap_keys.shape(1);
    require(cap < INT32_MAX, "k too large");
    require(heap_ids.ndim() == 2 && heap_ids.shape(0) == n_rows && heap_ids.shape(1) == cap,
            "heap_ids must match heap_keys");
    require(heap_count.ndim() == 1 && heap_count.shape(0) == n_rows, "heap_count must be [n_rows]");
    require(priority.ndim() == 1 && item_offset >= 0 && item_offset + width <= priority.shape(0) &&
                priority.shape(0) <= INT32_MAX,
            "priority must cover items item_offset .. item_offset+width-1 (and have < 2**31 entries)");
    const recplug::topk::Csr excl = unwrap_csr(excl_indptr, excl_items, n_rows, "exclude");
    const recplug::topk::Csr tgt = unwrap_csr(tgt_indptr, tgt_items, n_rows, "targets");
    int32_t* count = heap_count.mutable_data();
    bool counts_ok = true;
    for (int64_t r = 0; r < n_rows; ++r) counts_ok &= count[r] >= 0 && count[r] <= cap;
    require(counts_ok, "heap_count out of range");
    const recplug::topk::HeapStore store{heap_keys.mutable_data(), heap_ids.mutable_data(), count,
                                         static_cast<int32_t>(cap)};
    const float* s = scores.data();
    const int32_t* prio = priority.data();
    check_ties(ties);
    py::gil_scoped_release release;
    recplug::topk::update(s, n_rows, width, item_offset, excl, tgt, prio, ties, store, threads);
}

py::tuple topk_result(CArray<uint64_t>& heap_keys, CArray<int32_t>& heap_ids,
                      CArray<int32_t>& heap_count, int32_t k, int threads) {
    require(heap_keys.ndim() == 2 && heap_keys.shape(1) >= 1, "heap_keys must be [n_rows, k+1]");
    const int64_t n_rows = heap_keys.shape(0), cap = heap_keys.shape(1);
    require(k >= 1 && k <= cap, "k must be in 1..heap width");
    require(heap_ids.ndim() == 2 && heap_ids.shape(0) == n_rows && heap_ids.shape(1) == cap,
            "heap_ids must match heap_keys");
    require(heap_count.ndim() == 1 && heap_count.shape(0) == n_rows, "heap_count must be [n_rows]");
    CArray<int32_t> ids({n_rows, static_cast<int64_t>(k)});
    CArray<float> out_scores({n_rows, static_cast<int64_t>(k)});
    py::array_t<bool> boundary(n_rows);
    const recplug::topk::HeapStore store{heap_keys.mutable_data(), heap_ids.mutable_data(),
                                         heap_count.mutable_data(), static_cast<int32_t>(cap)};
    int32_t* pi = ids.mutable_data();
    float* ps = out_scores.mutable_data();
    bool* pb = boundary.mutable_data();
    {
        py::gil_scoped_release release;
        recplug::topk::finish(store, n_rows, k, pi, ps, pb, threads);
    }
    return py::make_tuple(ids, out_scores, boundary);
}

py::tuple masked_topk(const CArray<float>& scores, int32_t k, const CArray<int64_t>& excl_indptr,
                      const CArray<int32_t>& excl_items, const CArray<int32_t>& priority,
                      const CArray<int64_t>& tgt_indptr, const CArray<int32_t>& tgt_items, int ties,
                      int threads) {
    require(scores.ndim() == 2, "scores must be 2-d");
    const int64_t n_rows = scores.shape(0), width = scores.shape(1);
    require(k >= 1 && k < INT32_MAX, "k must be >= 1");
    require(priority.ndim() == 1 && priority.shape(0) == width && width <= INT32_MAX,
            "priority must have one entry per score column (and < 2**31 entries)");
    const recplug::topk::Csr excl = unwrap_csr(excl_indptr, excl_items, n_rows, "exclude");
    const recplug::topk::Csr tgt = unwrap_csr(tgt_indptr, tgt_items, n_rows, "targets");
    check_ties(ties);
    CArray<int32_t> ids({n_rows, static_cast<int64_t>(k)});
    CArray<float> out_scores({n_rows, static_cast<int64_t>(k)});
    py::array_t<bool> boundary(n_rows);
    const float* s = scores.data();
    const int32_t* prio = priority.data();
    int32_t* pi = ids.mutable_data();
    float* ps = out_scores.mutable_data();
    bool* pb = boundary.mutable_data();
    {
        py::gil_scoped_release release;
        recplug::topk::select(s, n_rows, width, k, excl, tgt, prio, ties, pi, ps, pb, threads);
    }
    return py::make_tuple(ids, out_scores, boundary);
}

const float* unwrap_bias(const std::optional<CArray<float>>& bias, int64_t n_items) {
    if (!bias) return nullptr;
    require(bias->ndim() == 1 && bias->shape(0) == n_items, "item_bias must be [n_items]");
    return bias->data();
}

void check_embeddings(const CArray<float>& user_emb, const CArray<float>& item_emb) {
    require(user_emb.ndim() == 2 && item_emb.ndim() == 2 && user_emb.shape(1) == item_emb.shape(1),
            "user_emb [B, d] and item_emb [N, d] must share d");
    require(item_emb.shape(0) <= INT32_MAX, "item_emb has too many rows for int32 ids");
}

py::tuple fused_topk(const CArray<float>& user_emb, const CArray<float>& item_emb,
                     const std::optional<CArray<float>>& item_bias, int32_t k,
                     const CArray<int64_t>& excl_indptr, const CArray<int32_t>& excl_items,
                     const CArray<int32_t>& priority, const CArray<int64_t>& tgt_indptr,
                     const CArray<int32_t>& tgt_items, int ties, int threads) {
    check_embeddings(user_emb, item_emb);
    const int64_t n_users = user_emb.shape(0), n_items = item_emb.shape(0), d = user_emb.shape(1);
    require(k >= 1 && k < INT32_MAX, "k must be >= 1");
    require(priority.ndim() == 1 && priority.shape(0) == n_items, "priority must be [n_items]");
    const float* bias = unwrap_bias(item_bias, n_items);
    const recplug::topk::Csr excl = unwrap_csr(excl_indptr, excl_items, n_users, "exclude");
    const recplug::topk::Csr tgt = unwrap_csr(tgt_indptr, tgt_items, n_users, "targets");
    check_ties(ties);
    CArray<int32_t> ids({n_users, static_cast<int64_t>(k)});
    CArray<float> scores({n_users, static_cast<int64_t>(k)});
    py::array_t<bool> boundary(n_users);
    const float* pu = user_emb.data();
    const float* pv = item_emb.data();
    const int32_t* prio = priority.data();
    int32_t* pi = ids.mutable_data();
    float* ps = scores.mutable_data();
    bool* pb = boundary.mutable_data();
    {
        py::gil_scoped_release release;
        recplug::fused::fused_topk(pu, n_users, pv, n_items, d, bias, k, excl, tgt, prio, ties, pi, ps,
                                   pb, threads);
    }
    return py::make_tuple(ids, scores, boundary);
}

CArray<float> score_matrix(const CArray<float>& user_emb, const CArray<float>& item_emb,
                           const std::optional<CArray<float>>& item_bias, int threads) {
    check_embeddings(user_emb, item_emb);
    const int64_t n_users = user_emb.shape(0), n_items = item_emb.shape(0), d = user_emb.shape(1);
    const float* bias = unwrap_bias(item_bias, n_items);
    CArray<float> out({n_users, n_items});
    const float* pu = user_emb.data();
    const float* pv = item_emb.data();
    float* po = out.mutable_data();
    {
        py::gil_scoped_release release;
        recplug::fused::score_matrix(pu, n_users, pv, n_items, d, bias, po, threads);
    }
    return out;
}

// ---- ranking metrics: buffer unwrapping (csrc/metrics.h) ----

CArray<double> ranking_metrics(const CArray<int32_t>& topk_ids, const CArray<int64_t>& tgt_indptr,
                               const CArray<int32_t>& tgt_items, const CArray<int64_t>& ks, int threads) {
    require(topk_ids.ndim() == 2, "topk_ids must be 2-d");
    const int64_t n_rows = topk_ids.shape(0), L = topk_ids.shape(1);
    require(ks.ndim() == 1 && ks.shape(0) >= 1, "ks must be a non-empty 1-d array");
    const int64_t n_ks = ks.shape(0);
    for (int64_t j = 0; j < n_ks; ++j) require(ks.data()[j] >= 1 && ks.data()[j] <= L, "each K must be in 1..L");
    const recplug::topk::Csr tgt = unwrap_csr(tgt_indptr, tgt_items, n_rows, "targets");
    CArray<double> out({static_cast<int64_t>(recplug::metrics::kNumMetrics), n_ks, n_rows});
    const int32_t* pt = topk_ids.data();
    const int64_t* pk = ks.data();
    double* po = out.mutable_data();
    {
        py::gil_scoped_release release;
        recplug::metrics::ranking_metrics(pt, n_rows, L, tgt.indptr, tgt.items, tgt.nnz, pk, n_ks, po,
                                          threads);
    }
    return out;
}

}  // namespace

PYBIND11_MODULE(RECPLUG_MODULE, m) {
    m.doc() = "recplug native kernels (use recplug.kernels, which validates inputs)";
    m.def("build_info", &build_info, "Instruction set, variant, OpenMP and compiler of this build.");
    m.def("cpu_features", &cpu_features, "Which kernel variants this CPU can run: {avx2, avx512}.");
    // ---- top-K selection and fused scoring (csrc/topk.h) ----
    m.def("topk_update", &topk_update, "Fold a score chunk into the running top-(k+1) heaps.",
          py::arg("scores").noconvert(), py::arg("item_offset"), py::arg("excl_indptr").noconvert(),
          py::arg("excl_items").noconvert(), py::arg("priority").noconvert(),
          py::arg("tgt_indptr").noconvert(), py::arg("tgt_items").noconvert(), py::arg("ties"),
          py::arg("heap_keys").noconvert(), py::arg("heap_ids").noconvert(),
          py::arg("heap_count").noconvert(), py::arg("threads"));
    m.def("masked_topk", &masked_topk, "One-shot masked top-k of a full score matrix.",
          py::arg("scores").noconvert(), py::arg("k"), py::arg("excl_indptr").noconvert(),
          py::arg("excl_items").noconvert(), py::arg("priority").noconvert(),
          py::arg("tgt_indptr").noconvert(), py::arg("tgt_items").noconvert(), py::arg("ties"),
          py::arg("threads"));
    m.def("topk_result", &topk_result, "Sorted top-k ids, scores and boundary-tie flags of the heaps.",
          py::arg("heap_keys").noconvert(), py::arg("heap_ids").noconvert(),
          py::arg("heap_count").noconvert(), py::arg("k"), py::arg("threads"));
    m.def("fused_topk", &fused_topk, "Tiled user_emb @ item_emb.T (+ bias) fed straight into top-k.",
          py::arg("user_emb").noconvert(), py::arg("item_emb").noconvert(),
          py::arg("item_bias").noconvert(), py::arg("k"), py::arg("excl_indptr").noconvert(),
          py::arg("excl_items").noconvert(), py::arg("priority").noconvert(),
          py::arg("tgt_indptr").noconvert(), py::arg("tgt_items").noconvert(), py::arg("ties"),
          py::arg("threads"));
    m.def("score_matrix", &score_matrix, "Dense scores with exactly fused_topk's arithmetic.",
          py::arg("user_emb").noconvert(), py::arg("item_emb").noconvert(),
          py::arg("item_bias").noconvert(), py::arg("threads"));

    // ---- ranking metrics (csrc/metrics.h) ----
    m.def("ranking_metrics", &ranking_metrics, "HR, Recall, NDCG, MRR, Precision, MAP -> [6, n_ks, B].",
          py::arg("topk_ids").noconvert(), py::arg("tgt_indptr").noconvert(),
          py::arg("tgt_items").noconvert(), py::arg("ks").noconvert(), py::arg("threads"));

    // ---- negative sampling (csrc/sampling.h) ----
    {
        using I32 = py::array_t<int32_t, py::array::c_style>;
        using I64 = py::array_t<int64_t, py::array::c_style>;
        using F64 = py::array_t<double, py::array::c_style>;
        using Sampler = recplug::NegativeSampler;
        py::class_<Sampler>(m, "NegativeSampler", py::module_local(),
                            "Every user's positives held once; use recplug.kernels.NegativeSampler.")
            .def(py::init([](const I64& pos_indptr, const I32& pos_items, int64_t n_items,
                             const py::object& popularity, int threads, int backend) {
                     F64 weights;
                     if (!popularity.is_none()) weights = popularity.cast<F64>();
                     const double* w = popularity.is_none() ? nullptr : weights.data();
                     py::gil_scoped_release release;
                     return std::make_unique<Sampler>(pos_indptr.data(), pos_indptr.shape(0) - 1,
                                                      pos_items.data(), n_items, w, threads, backend);
                 }),
                 py::arg("pos_indptr"), py::arg("pos_items"), py::arg("n_items"), py::arg("popularity"),
                 py::arg("threads"), py::arg("backend") = 0,
                 "backend (0 choose, 1 bitmaps, 2 sorted lists) exists for tests.")
            // Returns (out int32 [m, n], status): status is None, ("users", row, user) for a user
            // outside [0, n_users), or ("negatives", row, user, positives, eligible, needed).
            .def(
                "sample",
                [](const Sampler& self, const I32& users, int64_t n, bool replace, uint64_t seed,
                   int threads) -> py::tuple {
                    const int64_t rows = users.shape(0);
                    I32 out({rows, n});
                    recplug::SampleStatus status;
                    {
                        py::gil_scoped_release release;
                        status = self.sample(users.data(), rows, n, replace, seed, threads, out.mutable_data());
                    }
                    if (status.bad_user_row >= 0) {
                        return py::make_tuple(out, py::make_tuple("users", status.bad_user_row, status.user));
                    }
                    if (status.bad_row < 0) return py::make_tuple(out, py::none());
                    return py::make_tuple(out, py::make_tuple("negatives", status.bad_row, status.user,
                                                              status.positives, status.eligible, status.needed));
                },
                py::arg("users"), py::arg("n"), py::arg("replace"), py::arg("seed"), py::arg("threads"),
                "n negatives per row of users -> (out, status).")
            .def_property_readonly("n_users", &Sampler::n_users)
            .def_property_readonly("n_items", &Sampler::n_items)
            .def_property_readonly("uses_bitmap", &Sampler::uses_bitmap)
            .def_property_readonly("nbytes", &Sampler::nbytes);
    }

    // ---- sparse aggregation and graph adjacency (csrc/sparse.h) ----
    {
        using I32 = py::array_t<int32_t, py::array::c_style>;
        using I64 = py::array_t<int64_t, py::array::c_style>;
        using F32 = py::array_t<float, py::array::c_style>;
        m.def(
            "csr_dense_matmul",
            [](const I64& indptr, const I32& indices, const F32& values, const F32& dense, int threads) {
                const int64_t rows = indptr.shape(0) - 1;
                const int64_t d = dense.shape(1);
                F32 out({rows, d});
                py::gil_scoped_release release;
                recplug::csr_dense_matmul(indptr.data(), indices.data(), values.data(), rows,
                                          dense.data(), d, out.mutable_data(), threads);
                return out;
            },
            py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("dense"), py::arg("threads"),
            "CSR @ dense -> float32 [M, d]; use recplug.kernels.csr_dense_matmul.");
        m.def(
            "bipartite_norm_adj",
            [](const I64& indptr, const I32& indices, int64_t n_items, int threads) {
                recplug::NormAdjacency adj;
                {
                    py::gil_scoped_release release;
                    adj = recplug::bipartite_norm_adj(indptr.data(), indices.data(), indptr.shape(0) - 1,
                                                      n_items, threads);
                }
                // NumPy arrays that own the moved-in vectors (no copy).
                auto own = [](auto&& v) {
                    using V = std::decay_t<decltype(v)>;
                    auto* heap = new V(std::move(v));
                    py::capsule owner(heap, [](void* p) { delete static_cast<V*>(p); });
                    return py::array_t<typename V::value_type>(
                        {static_cast<py::ssize_t>(heap->size())}, heap->data(), owner);
                };
                return py::make_tuple(own(std::move(adj.indptr)), own(std::move(adj.indices)),
                                      own(std::move(adj.values)));
            },
            py::arg("indptr"), py::arg("indices"), py::arg("n_items"), py::arg("threads"),
            "(indptr, indices, values) of D^-1/2 A D^-1/2; use recplug.kernels.bipartite_norm_adj.");
    }

    // ---- SGD epochs of the rating models (csrc/rating.h) ----
    {
        using I32 = py::array_t<int32_t, py::array::c_style>;
        using I64 = py::array_t<int64_t, py::array::c_style>;
        using F32 = py::array_t<float, py::array::c_style>;
        using F64 = py::array_t<double, py::array::c_style>;
        // rates: float64 [10] = lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj.
        auto unwrap_rates = [](const F64& rates) {
            require(rates.ndim() == 1 && rates.shape(0) == 10, "rates must be float64 [10]");
            const double* r = rates.data();
            return recplug::rating::Rates{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]};
        };
        m.def(
            "svd_epoch",
            [unwrap_rates](const I32& users, const I32& items, const F32& ratings, const I64& order,
                           double global_mean, bool biased, const F64& rates, F64& bu, F64& bi, F64& pu,
                           F64& qi) {
                require(pu.ndim() == 2 && qi.ndim() == 2 && pu.shape(1) == qi.shape(1),
                        "pu [n_users, d] and qi [n_items, d] must share d");
                const recplug::rating::Rates r = unwrap_rates(rates);
                const int32_t* pus = users.data();
                const int32_t* pis = items.data();
                const float* prs = ratings.data();
                const int64_t* po = order.data();
                const int64_t m = order.shape(0), d = pu.shape(1);
                double *pbu = bu.mutable_data(), *pbi = bi.mutable_data();
                double *ppu = pu.mutable_data(), *pqi = qi.mutable_data();
                py::gil_scoped_release release;
                return recplug::rating::svd_epoch(pus, pis, prs, po, m, global_mean, biased, r, pbu, pbi, ppu,
                                                  pqi, d);
            },
            py::arg("users").noconvert(), py::arg("items").noconvert(), py::arg("ratings").noconvert(),
            py::arg("order").noconvert(), py::arg("global_mean"), py::arg("biased"), py::arg("rates").noconvert(),
            py::arg("bu").noconvert(), py::arg("bi").noconvert(), py::arg("pu").noconvert(),
            py::arg("qi").noconvert(), "One biased-MF SGD epoch in place -> sum of squared errors.");
        m.def(
            "svdpp_epoch",
            [unwrap_rates](const I32& users, const I32& items, const F32& ratings, const I64& order,
                           const I64& imp_indptr, const I32& imp_items, double global_mean, const F64& rates,
                           F64& bu, F64& bi, F64& pu, F64& qi, F64& yj) {
                require(pu.ndim() == 2 && qi.ndim() == 2 && yj.ndim() == 2 && pu.shape(1) == qi.shape(1) &&
                            yj.shape(1) == qi.shape(1),
                        "pu, qi and yj must share d");
                require(imp_indptr.ndim() == 1 && imp_indptr.shape(0) == pu.shape(0) + 1,
                        "imp_indptr must have n_users + 1 entries");
                const recplug::rating::Rates r = unwrap_rates(rates);
                const int32_t* pus = users.data();
                const int32_t* pis = items.data();
                const float* prs = ratings.data();
                const int64_t* po = order.data();
                const int64_t* pip = imp_indptr.data();
                const int32_t* pii = imp_items.data();
                const int64_t m = order.shape(0), d = pu.shape(1);
                double *pbu = bu.mutable_data(), *pbi = bi.mutable_data();
                double *ppu = pu.mutable_data(), *pqi = qi.mutable_data(), *pyj = yj.mutable_data();
                py::gil_scoped_release release;
                return recplug::rating::svdpp_epoch(pus, pis, prs, po, m, pip, pii, global_mean, r, pbu, pbi,
                                                    ppu, pqi, pyj, d);
            },
            py::arg("users").noconvert(), py::arg("items").noconvert(), py::arg("ratings").noconvert(),
            py::arg("order").noconvert(), py::arg("imp_indptr").noconvert(), py::arg("imp_items").noconvert(),
            py::arg("global_mean"), py::arg("rates").noconvert(), py::arg("bu").noconvert(),
            py::arg("bi").noconvert(), py::arg("pu").noconvert(), py::arg("qi").noconvert(),
            py::arg("yj").noconvert(), "One SVD++ SGD epoch in place (user-grouped order) -> sum of squared errors.");
    }
}
