// The one pybind11 file: exposes the plain C++ kernels in csrc/*.h to Python as recplug._kernels.
// Input validation lives in recplug/kernels.py; the bindings only unwrap buffers and release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <string>

#include "parallel.h"

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

    // ---- sparse aggregation and graph adjacency (csrc/sparse.h) ----
}
