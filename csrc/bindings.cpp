// The one pybind11 file: exposes the plain C++ kernels in csrc/*.h to Python as recplug._kernels.
// Input validation lives in recplug/kernels.py; the bindings only unwrap buffers and release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <string>

#include "parallel.h"
#include "sampling.h"
#include "sparse.h"

namespace py = pybind11;

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

}  // namespace

PYBIND11_MODULE(_kernels, m) {
    m.doc() = "recplug native kernels (use recplug.kernels, which validates inputs)";
    m.def("build_info", &build_info, "Instruction set, OpenMP and compiler of this build.");
    // ---- top-K selection and fused scoring (csrc/topk.h) ----

    // ---- ranking metrics (csrc/metrics.h) ----

    // ---- negative sampling (csrc/sampling.h) ----
    {
        using I32 = py::array_t<int32_t, py::array::c_style>;
        using I64 = py::array_t<int64_t, py::array::c_style>;
        using F64 = py::array_t<double, py::array::c_style>;
        // Returns (out int32 [m, n], status): status is None, or (row, user, positives, eligible, needed).
        m.def(
            "sample_negatives",
            [](const I32& users, const I64& pos_indptr, const I32& pos_items, int64_t n_items,
               const py::object& popularity, int64_t n, bool replace, uint64_t seed,
               int threads, int backend, int64_t block_bytes) -> py::tuple {
                const int64_t rows = users.shape(0);
                I32 out({rows, n});
                F64 weights;
                if (!popularity.is_none()) weights = popularity.cast<F64>();
                const double* w = popularity.is_none() ? nullptr : weights.data();
                recplug::SampleStatus status;
                {
                    py::gil_scoped_release release;
                    status = recplug::sample_negatives(users.data(), rows, pos_indptr.data(),
                                                       pos_indptr.shape(0) - 1, pos_items.data(), n_items,
                                                       w, n, replace, seed, threads, out.mutable_data(),
                                                       backend, block_bytes);
                }
                if (status.bad_row < 0) return py::make_tuple(out, py::none());
                return py::make_tuple(out, py::make_tuple(status.bad_row, status.user, status.positives,
                                                          status.eligible, status.needed));
            },
            py::arg("users"), py::arg("pos_indptr"), py::arg("pos_items"), py::arg("n_items"),
            py::arg("popularity"), py::arg("n"), py::arg("replace"), py::arg("seed"), py::arg("threads"),
            py::arg("backend") = 0, py::arg("block_bytes") = 0,
            "n negatives per row of users -> (out, status); use recplug.kernels.sample_negatives. "
            "backend (0 choose, 1 bitmaps, 2 sorted lists) and block_bytes exist for tests.");
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
}
