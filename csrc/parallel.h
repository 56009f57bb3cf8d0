// Thread helpers shared by the kernels. Plain C++, no Python.
#pragma once
#ifdef RECPLUG_OPENMP
#include <omp.h>
#endif

namespace recplug {

// Number of threads a kernel uses: `requested` if > 0, else the OpenMP default (1 without OpenMP).
inline int resolve_threads(int requested) {
#ifdef RECPLUG_OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

inline bool has_openmp() {
#ifdef RECPLUG_OPENMP
    return true;
#else
    return false;
#endif
}

}  // namespace recplug
