// Thread helpers shared by the kernels. Plain C++, no Python.
#pragma once
#include <algorithm>
#include <cstdint>
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

// Threads worth waking for `work` units when each should get at least `grain` of them:
// min(resolve_threads(requested), work / grain), at least 1. Every parallel region uses it with
// `if (threads > 1)`, so a small call runs on the calling thread and never wakes the pool (nor
// waits at its barrier for threads another job's processes have descheduled). Results never
// depend on the thread count, so neither do they on this choice.
inline int threads_for(int requested, int64_t work, int64_t grain) {
    const int64_t useful = std::max<int64_t>(1, work / std::max<int64_t>(1, grain));
    return static_cast<int>(std::min<int64_t>(resolve_threads(requested), useful));
}

// Grain sizes (work units per thread at least) of the kernels' parallel regions: about 20-50 us
// of work each on a 2020s core, well above the cost of waking a sleeping thread.
constexpr int64_t kGrainScores = int64_t{1} << 16;  // scores scanned by the top-K selection
constexpr int64_t kGrainRows = 2048;                 // rows finished (sorted top-K lists)
constexpr int64_t kGrainDraws = int64_t{1} << 14;   // negatives drawn
constexpr int64_t kGrainFlops = int64_t{1} << 18;   // multiply-adds of sparse x dense / packing
constexpr int64_t kGrainEntries = int64_t{1} << 15;  // CSR entries built or loaded

inline bool has_openmp() {
#ifdef RECPLUG_OPENMP
    return true;
#else
    return false;
#endif
}

}  // namespace recplug
