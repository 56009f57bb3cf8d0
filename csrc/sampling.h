// Negative sampling: for each requested user, n item ids that are not among that user's
// positives, uniform or proportional to popularity weights (Vose alias table).
// Plain C++, no Python. Inputs are validated by recplug/kernels.py (shapes, index ranges,
// monotone indptr); this file trusts them and never reads outside them.
//
// Determinism: output row r draws from its own counter-based stream (rng.h) keyed by
// (seed, r), and every code path below consumes that stream identically, so the output
// depends on the seed and the inputs only -- never on the thread count or schedule.
//
// Per row the sampler rejects candidates that are positives (or, without replacement,
// already drawn). The membership test is a per-thread bitmap of the current user's
// positives (reused while consecutive rows share a user) or, for a user seen only once
// with sorted positives and few draws, a binary search. When the acceptance rate is low
// (positives cover most of the catalogue) or a row meets kMaxStreak rejections in a row,
// it switches to drawing from the enumerated complement, which gives the same
// distribution: uniform (or weight-proportional) over the remaining items.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "parallel.h"
#include "rng.h"

namespace recplug {

// What went wrong when a row cannot be served (bad_row < 0: all rows were served).
struct SampleStatus {
    int64_t bad_row = -1;    // first row of `users` that asks for more than its user has
    int32_t user = -1;       // that row's user
    int64_t positives = 0;   // distinct positives of that user that could otherwise be drawn
    int64_t eligible = 0;    // items that can be drawn at all (positive weight, or all)
    int64_t needed = 0;      // negatives that row needs available (1, or n without replacement)
};

namespace sampling_detail {

constexpr int kMaxStreak = 128;  // consecutive rejections before a row enumerates its complement

// Vose alias table over the items with positive weight.
struct AliasTable {
    std::vector<int32_t> item;        // [K] eligible items, ascending
    std::vector<int32_t> alias_item;  // [K] the other item of each column
    std::vector<uint64_t> threshold;  // [K] keep `item` when a 32-bit coin is below (scale 2^32)
    double total = 0.0;               // sum of all weights

    AliasTable(const double* weights, int64_t n_items) {
        for (int64_t i = 0; i < n_items; ++i) {
            if (weights[i] > 0.0) {
                item.push_back(static_cast<int32_t>(i));
                total += weights[i];
            }
        }
        const size_t k = item.size();
        alias_item.assign(item.begin(), item.end());
        threshold.assign(k, uint64_t{1} << 32);
        if (k == 0) return;
        std::vector<double> p(k);
        std::vector<size_t> small, large;
        for (size_t j = 0; j < k; ++j) {
            p[j] = weights[item[j]] * static_cast<double>(k) / total;
            (p[j] < 1.0 ? small : large).push_back(j);
        }
        while (!small.empty() && !large.empty()) {
            const size_t s = small.back();
            small.pop_back();
            const size_t l = large.back();
            const double prob = std::max(0.0, p[s]);
            threshold[s] = static_cast<uint64_t>(prob * 4294967296.0);
            alias_item[s] = item[l];
            p[l] = (p[l] + p[s]) - 1.0;
            if (p[l] < 1.0) {
                large.pop_back();
                small.push_back(l);
            }
        }
        // Leftovers are 1 up to rounding: keep their own item always (threshold stays 2^32).
    }

    inline int32_t draw(CounterRng& rng) const {
        const uint64_t column = rng.bounded(item.size());
        const uint64_t coin = rng.next() >> 32;
        return coin < threshold[column] ? item[column] : alias_item[column];
    }
};

inline bool test_bit(const std::vector<uint64_t>& bits, int32_t i) {
    return (bits[static_cast<size_t>(i) >> 6] >> (i & 63)) & 1u;
}
inline void set_bit(std::vector<uint64_t>& bits, int32_t i) {
    bits[static_cast<size_t>(i) >> 6] |= uint64_t{1} << (i & 63);
}
inline void clear_bit(std::vector<uint64_t>& bits, int32_t i) {
    bits[static_cast<size_t>(i) >> 6] &= ~(uint64_t{1} << (i & 63));
}

inline int bit_width(int64_t x) {
    int w = 0;
    while (x > 0) {
        ++w;
        x >>= 1;
    }
    return w;
}

// Read-only context shared by all threads.
struct Context {
    const int32_t* users;
    int64_t m;
    const int64_t* indptr;
    const int32_t* pos;
    int64_t n_items;
    const double* weights;  // nullptr: uniform
    int64_t n;
    bool replace;
    uint64_t key;
    const AliasTable* alias;  // nullptr: uniform
    int64_t eligible;         // items that can be drawn at all
    // Per user (filled only for users that occur in `users`):
    std::vector<int64_t> blocked;       // distinct eligible positives
    std::vector<double> blocked_mass;   // their total weight (popularity only)
    std::vector<uint8_t> sorted;        // positives ascending (duplicates allowed)

    inline bool eligible_item(int64_t i) const { return weights == nullptr || weights[i] > 0.0; }

    inline int32_t draw(CounterRng& rng) const {
        return alias ? alias->draw(rng) : static_cast<int32_t>(rng.bounded(n_items));
    }

    // True when rejection would waste too many draws: enumerate the complement instead.
    inline bool low_acceptance(int32_t u) const {
        const int64_t left = eligible - blocked[u] - (replace ? 0 : n - 1);
        if (left * 8 < eligible) return true;
        return alias && (alias->total - blocked_mass[u]) * 8.0 < alias->total;
    }
};

// Per-user statistics for every user that occurs in ctx.users (parallel over users).
inline void compute_user_stats(Context& ctx, int64_t n_users, int threads) {
    std::vector<uint8_t> present(n_users, 0);
    for (int64_t r = 0; r < ctx.m; ++r) present[ctx.users[r]] = 1;
    ctx.blocked.assign(n_users, 0);
    ctx.blocked_mass.assign(n_users, 0.0);
    ctx.sorted.assign(n_users, 0);
    const size_t words = static_cast<size_t>((ctx.n_items + 63) / 64);
#pragma omp parallel num_threads(threads)
    {
        std::vector<uint64_t> bits;
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < n_users; ++u) {
            if (!present[u]) continue;
            const int64_t beg = ctx.indptr[u], end = ctx.indptr[u + 1];
            bool is_sorted = true;
            for (int64_t k = beg + 1; k < end; ++k) {
                if (ctx.pos[k] < ctx.pos[k - 1]) {
                    is_sorted = false;
                    break;
                }
            }
            int64_t count = 0;
            double mass = 0.0;
            if (is_sorted) {
                for (int64_t k = beg; k < end; ++k) {
                    const int32_t i = ctx.pos[k];
                    if ((k == beg || i != ctx.pos[k - 1]) && ctx.eligible_item(i)) {
                        ++count;
                        if (ctx.weights) mass += ctx.weights[i];
                    }
                }
            } else {
                if (bits.empty()) bits.assign(words, 0);
                for (int64_t k = beg; k < end; ++k) {
                    const int32_t i = ctx.pos[k];
                    if (!test_bit(bits, i) && ctx.eligible_item(i)) {
                        ++count;
                        if (ctx.weights) mass += ctx.weights[i];
                    }
                    set_bit(bits, i);
                }
                for (int64_t k = beg; k < end; ++k) clear_bit(bits, ctx.pos[k]);
            }
            ctx.blocked[u] = count;
            ctx.blocked_mass[u] = mass;
            ctx.sorted[u] = is_sorted ? 1 : 0;
        }
    }
}

// One thread's scratch: the loaded user's positives as a bitmap, and a cached complement.
class Worker {
 public:
    explicit Worker(const Context& ctx)
        : c_(ctx), bits_(static_cast<size_t>((ctx.n_items + 63) / 64), 0) {}

    void row(int64_t r, int32_t* out) {
        const int32_t u = c_.users[r];
        const int64_t n = c_.n;
        CounterRng rng(c_.key, static_cast<uint64_t>(r));
        if (c_.low_acceptance(u)) {
            load(u);
            from_complement(u, rng, out, 0);
            if (!c_.replace) comp_user_ = -1;
            return;
        }
        const int64_t beg = c_.indptr[u], end = c_.indptr[u + 1];
        const int64_t len = end - beg;
        const bool next_same = r + 1 < c_.m && c_.users[r + 1] == u;
        const bool bsearch = c_.replace && c_.sorted[u] && loaded_ != u && !next_same &&
                             4 * n * bit_width(len) < len;
        int64_t filled = 0;
        int streak = 0;
        if (bsearch) {
            const int32_t* first = c_.pos + beg;
            const int32_t* last = c_.pos + end;
            while (filled < n) {
                const int32_t item = c_.draw(rng);
                if (!std::binary_search(first, last, item)) {
                    out[filled++] = item;
                    streak = 0;
                } else if (++streak >= kMaxStreak) {
                    break;
                }
            }
            if (filled < n) load(u);
        } else {
            load(u);
            while (filled < n) {
                const int32_t item = c_.draw(rng);
                if (!test_bit(bits_, item)) {
                    out[filled++] = item;
                    if (!c_.replace) set_bit(bits_, item);
                    streak = 0;
                } else if (++streak >= kMaxStreak) {
                    break;
                }
            }
        }
        const int64_t drawn = filled;
        if (filled < n) from_complement(u, rng, out, filled);
        if (!c_.replace) {
            // Drawn items were marked in the bitmap; negatives are never positives, so
            // clearing them restores exactly the user's positives.
            for (int64_t j = 0; j < drawn; ++j) clear_bit(bits_, out[j]);
            comp_user_ = -1;
        }
    }

 private:
    // Make the bitmap hold exactly user u's positives.
    void load(int32_t u) {
        if (loaded_ == u) return;
        if (loaded_ >= 0) {
            for (int64_t k = c_.indptr[loaded_]; k < c_.indptr[loaded_ + 1]; ++k) clear_bit(bits_, c_.pos[k]);
        }
        for (int64_t k = c_.indptr[u]; k < c_.indptr[u + 1]; ++k) set_bit(bits_, c_.pos[k]);
        loaded_ = u;
    }

    // Eligible items not marked in the bitmap (and their cumulative weights).
    void build_complement(int32_t u) {
        if (c_.replace && comp_user_ == u) return;
        comp_.clear();
        cum_.clear();
        double total = 0.0;
        for (int64_t i = 0; i < c_.n_items; ++i) {
            if (!c_.eligible_item(i) || test_bit(bits_, static_cast<int32_t>(i))) continue;
            comp_.push_back(static_cast<int32_t>(i));
            if (c_.weights) {
                total += c_.weights[i];
                cum_.push_back(total);
            }
        }
        comp_user_ = u;
    }

    // Fill out[start, n) from the complement of the bitmap (loaded with u, plus drawn items).
    void from_complement(int32_t u, CounterRng& rng, int32_t* out, int64_t start) {
        build_complement(u);
        const int64_t size = static_cast<int64_t>(comp_.size());
        const int64_t need = c_.n - start;
        if (size == 0 || need <= 0) return;  // unreachable after the capacity check
        if (c_.replace) {
            if (!c_.weights) {
                for (int64_t j = 0; j < need; ++j) out[start + j] = comp_[rng.bounded(size)];
            } else {
                const double total = cum_.back();
                for (int64_t j = 0; j < need; ++j) {
                    const double x = rng.open_unit() * total;
                    auto it = std::lower_bound(cum_.begin(), cum_.end(), x);
                    if (it == cum_.end()) --it;
                    out[start + j] = comp_[it - cum_.begin()];
                }
            }
            return;
        }
        const int64_t take = std::min(need, size);
        if (!c_.weights) {
            // Partial Fisher-Yates shuffle: the first `take` entries are a uniform sample.
            for (int64_t j = 0; j < take; ++j) {
                const int64_t k = j + static_cast<int64_t>(rng.bounded(size - j));
                std::swap(comp_[j], comp_[k]);
                out[start + j] = comp_[j];
            }
        } else {
            // Efraimidis-Spirakis: smallest Exp(1)/w keys, in order = successive weighted draws.
            keyed_.resize(size);
            for (int64_t j = 0; j < size; ++j) {
                keyed_[j] = {-std::log(rng.open_unit()) / c_.weights[comp_[j]], comp_[j]};
            }
            std::partial_sort(keyed_.begin(), keyed_.begin() + take, keyed_.end());
            for (int64_t j = 0; j < take; ++j) out[start + j] = keyed_[j].second;
        }
    }

    const Context& c_;
    std::vector<uint64_t> bits_;
    int32_t loaded_ = -1;
    std::vector<int32_t> comp_;
    std::vector<double> cum_;
    int32_t comp_user_ = -1;
    std::vector<std::pair<double, int32_t>> keyed_;
};

}  // namespace sampling_detail

// Sample n negatives for each of the m rows of `users` into out [m, n] (row-major).
//   users      int32 [m], each in [0, n_users)
//   indptr     int64 [n_users + 1], monotone, indptr[0] = 0; pos int32 [indptr[n_users]] in [0, n_items)
//   weights    float64 [n_items], finite, >= 0, with a positive finite sum; nullptr for uniform
//   replace    false: no item twice within a row
// Returns a status; when status.bad_row >= 0 nothing was sampled (out is untouched).
inline SampleStatus sample_negatives(const int32_t* users, int64_t m, const int64_t* indptr,
                                     int64_t n_users, const int32_t* pos, int64_t n_items,
                                     const double* weights, int64_t n, bool replace,
                                     uint64_t seed, int threads, int32_t* out) {
    using namespace sampling_detail;
    SampleStatus status;
    if (m == 0 || n == 0) return status;
    threads = resolve_threads(threads);
    std::vector<AliasTable> alias_holder;
    if (weights) alias_holder.emplace_back(weights, n_items);
    Context ctx{users, m, indptr, pos, n_items, weights, n, replace, seed_key(seed),
                weights ? &alias_holder[0] : nullptr,
                weights ? static_cast<int64_t>(alias_holder[0].item.size()) : n_items,
                {}, {}, {}};
    compute_user_stats(ctx, n_users, threads);

    const int64_t needed = replace ? 1 : n;
    for (int64_t r = 0; r < m; ++r) {
        const int32_t u = users[r];
        if (ctx.eligible - ctx.blocked[u] < needed) {
            status = {r, u, ctx.blocked[u], ctx.eligible, needed};
            return status;
        }
    }
#pragma omp parallel num_threads(threads)
    {
        Worker worker(ctx);
#pragma omp for schedule(dynamic, 1024)
        for (int64_t r = 0; r < m; ++r) worker.row(r, out + r * n);
    }
    return status;
}

}  // namespace recplug
