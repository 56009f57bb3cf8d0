// Negative sampling: for each requested user, n item ids that are not among that user's
// positives, uniform or proportional to popularity weights (Vose alias table).
// Plain C++, no Python. Inputs are validated by recplug/kernels.py (shapes, index ranges,
// monotone indptr); this file trusts them and never reads outside them.
//
// Determinism: output row r draws from its own counter-based stream (rng.h) keyed by
// (seed, r), and every code path below consumes that stream identically, so the output
// depends on the seed and the inputs only -- never on the thread count or schedule.
//
// Layout of the work: the positives of each user that occurs (any order, duplicates allowed)
// become a bitmap row -- or, when bitmap rows would take far more memory than the positives
// themselves (large catalogue, short histories), a sorted list searched by bisection (the
// CSR row itself when already sorted, else a sorted copy). The rows of `users` are then
// served in parallel, rejecting candidates that are positives (and, without replacement,
// those already drawn in the row, kept in a per-thread bitmap). When all bitmap rows would
// exceed kBlockBitmapBytes, users are split into blocks and the rows bucketed by block (a
// stable parallel counting sort), one block at a time. A user whose acceptance rate is low
// (positives cover most of the catalogue or of the popularity mass), or a row that meets
// kMaxStreak rejections in a row, draws from the enumerated complement instead -- the same
// distribution: uniform (or weight-proportional) over the items that remain. Backends and
// blocks change the memory layout only: the output is the same.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
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

constexpr int kMaxStreak = 128;                          // rejections in a row before enumerating
constexpr int64_t kBlockBitmapBytes = int64_t{64} << 20;  // user bitmaps held at once
constexpr int64_t kRowChunk = 1024;                      // rows a thread takes at a time

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
            threshold[s] = static_cast<uint64_t>(std::max(0.0, p[s]) * 4294967296.0);
            alias_item[s] = item[l];
            p[l] = (p[l] + p[s]) - 1.0;
            if (p[l] < 1.0) {
                large.pop_back();
                small.push_back(l);
            }
        }
        // Leftovers are 1 up to rounding: they keep their own item (threshold stays 2^32).
    }

    inline int32_t draw(CounterRng& rng) const {
        const uint32_t column = rng.bounded32(static_cast<uint32_t>(item.size()));
        const uint32_t coin = rng.next32();
        return coin < threshold[column] ? item[column] : alias_item[column];
    }
};

inline bool test_bit(const uint64_t* bits, int32_t i) {
    return (bits[static_cast<uint32_t>(i) >> 6] >> (i & 63)) & 1u;
}
inline void set_bit(uint64_t* bits, int32_t i) {
    bits[static_cast<uint32_t>(i) >> 6] |= uint64_t{1} << (i & 63);
}
inline void clear_bit(uint64_t* bits, int32_t i) {
    bits[static_cast<uint32_t>(i) >> 6] &= ~(uint64_t{1} << (i & 63));
}

// How the rows of one user are served.
enum class Mode : int32_t { kReject = 0, kComplement = 1, kTooFew = 2 };

// Branch-free test whether x occurs in the ascending list a[0, len) (duplicates allowed).
inline bool sorted_contains(const int32_t* a, int64_t len, int32_t x) {
    if (len == 0) return false;
    while (len > 1) {
        const int64_t half = len / 2;
        a = a[half] <= x ? a + half : a;
        len -= half;
    }
    return *a == x;
}

// Per user that occurs: its positives as a bitmap row or a sorted list, and statistics.
// 32 bytes: two users per cache line.
struct UserState {
    const uint64_t* positives = nullptr;  // bitmap row of the user's positives (current block)
    const int32_t* list = nullptr;        // or: the user's positives, ascending
    int64_t list_len = 0;
    int32_t blocked = 0;                  // distinct eligible positives (< n_items < 2^31)
    Mode mode = Mode::kReject;
};
static_assert(sizeof(UserState) == 32, "UserState should stay 32 bytes");

// Everything the threads share. Per-user state is filled for users that occur only.
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
    int64_t needed;           // negatives a row needs available: 1, or n without replacement
    size_t words;             // 64-bit words per item bitmap
    bool use_bitmap;          // positives as bitmap rows (else as sorted lists)
    bool identity_slots;      // user u's bitmap row is row u (one block holding every user)
    std::vector<uint64_t> ineligible;  // [words] zero-weight items, plus the padding bits
    std::vector<UserState> state;      // [n_users]
    bool prefetch_state;               // state outgrows the caches: look it up a group ahead
    std::unique_ptr<uint64_t[]> bitmap;  // [block users, words] positives of the block's users
                                         // (uninitialised: each row is cleared when loaded)
    std::unique_ptr<int32_t[]> sorted_copy;  // [nnz] sorted copies of unsorted users' lists,
                                             // at their CSR offsets (uninitialised elsewhere)

    inline bool is_positive(const UserState& s, int32_t item) const {
        return use_bitmap ? test_bit(s.positives, item) : sorted_contains(s.list, s.list_len, item);
    }

    inline int32_t draw(CounterRng& rng) const {
        return alias ? alias->draw(rng)
                     : static_cast<int32_t>(rng.bounded32(static_cast<uint32_t>(n_items)));
    }

    // Record user u's distinct eligible positives and choose how its rows are served.
    void set_stats(int32_t u, int64_t count, double mass) {
        UserState& s = state[u];
        s.blocked = static_cast<int32_t>(count);
        // Rejection would waste too many draws: < 1/8 of candidates accepted at the last draw.
        const int64_t left = eligible - count - (replace ? 0 : n - 1);
        bool low = left * 8 < eligible;
        if (alias) low = low || (alias->total - mass) * 8.0 < alias->total;
        s.mode = eligible - count < needed ? Mode::kTooFew : low ? Mode::kComplement : Mode::kReject;
    }

    // Point at user u's positives in ascending order (sorting a copy when they are not).
    void load_user_list(int32_t u) {
        const int64_t beg = indptr[u], len = indptr[u + 1] - beg;
        const int32_t* list = pos + beg;
        if (!std::is_sorted(list, list + len)) {
            int32_t* copy = sorted_copy.get() + beg;
            std::copy(list, list + len, copy);
            std::sort(copy, copy + len);
            list = copy;
        }
        int64_t count = 0;
        double mass = 0.0;
        for (int64_t k = 0; k < len; ++k) {
            const int32_t i = list[k];
            if (k > 0 && i == list[k - 1]) continue;
            if (weights == nullptr) {
                ++count;
            } else if (weights[i] > 0.0) {
                ++count;
                mass += weights[i];
            }
        }
        state[u].list = list;
        state[u].list_len = len;
        set_stats(u, count, mass);
    }

    // Fill user u's bitmap row (row `row_slot` of the block) and its statistics.
    void load_user(int32_t u, int64_t row_slot) {
        uint64_t* row = bitmap.get() + row_slot * words;
        std::fill(row, row + words, uint64_t{0});
        for (int64_t k = indptr[u]; k < indptr[u + 1]; ++k) set_bit(row, pos[k]);
        // Distinct eligible positives, and their weight summed in ascending item order
        // (as load_user_list does, so both backends make the same choices).
        int64_t count = 0;
        double mass = 0.0;
        for (size_t w = 0; w < words; ++w) {
            uint64_t bits = row[w] & ~ineligible[w];
            count += __builtin_popcountll(bits);
            while (weights && bits) {
                mass += weights[w * 64 + __builtin_ctzll(bits)];
                bits &= bits - 1;
            }
        }
        state[u].positives = row;
        set_stats(u, count, mass);
    }
};

// One thread's scratch: items drawn in the current row, and the last complement built.
class Worker {
 public:
    static constexpr int kGroup = 16;  // rows per pipeline stage (see rows_impl)

    explicit Worker(const Context& ctx) : c_(ctx), drawn_(ctx.replace ? 0 : ctx.words, 0) {}

    int64_t first_bad_row = -1;

    // Serve rows order[k] (or k itself when order is null) for k in [k0, k1).
    void rows(const int64_t* order, int64_t k0, int64_t k1, int32_t* out) {
        const bool single = c_.n == 1 && c_.replace;
        if (order) {
            single ? rows_impl<true, true>(order, k0, k1, out) : rows_impl<true, false>(order, k0, k1, out);
        } else {
            single ? rows_impl<false, true>(order, k0, k1, out) : rows_impl<false, false>(order, k0, k1, out);
        }
    }

 private:
    // kOrdered: rows come through `order`; kSingle: n == 1 with replacement.
    //
    // Rows meet cache misses in their user's state and positives, so they are served in
    // groups, software-pipelined: while group q is served, group q + 1 has its positives
    // prefetched (the bitmap row, the word of its first candidate, or the start of its
    // sorted list) and, when the per-user state outgrows the caches, group q + 2 its state.
    // A single draw whose first candidate is a negative is served without calling serve(),
    // whatever the user's mode (for a user served from the complement, a candidate that is
    // a negative has the same distribution as a complement draw; a user with no negative
    // rejects it); any other row is served by serve(), which starts the row's stream afresh.
    template <bool kOrdered, bool kSingle>
    void rows_impl(const int64_t* order, int64_t k0, int64_t k1, int32_t* out) {
        int32_t first[2][kGroup];
        const uint64_t* bits[2][kGroup];
        const UserState* st[2][kGroup];
        const size_t lines = (c_.words + 7) / 8;
        // Few draws per row touch one line of the user's bitmap row; many touch all of it.
        const bool whole_row = !kSingle && static_cast<int64_t>(lines) <= 4 * c_.n;
        const bool bitmap = c_.use_bitmap;
        auto row_at = [&](int64_t k) { return kOrdered ? order[k] : k; };

        auto prefetch_states = [&](int64_t k) {
            for (int64_t e = std::min(k1, k + kGroup); k < e; ++k) __builtin_prefetch(&c_.state[c_.users[row_at(k)]]);
        };
        auto prepare = [&](int64_t k, int slot) {
            for (int j = 0; j < kGroup && k + j < k1; ++j) {
                const int64_t r = row_at(k + j);
                const int32_t u = c_.users[r];
                if (kSingle && bitmap && c_.identity_slots) {
                    bits[slot][j] = c_.bitmap.get() + u * c_.words;
                } else {
                    const UserState* s = &c_.state[u];
                    st[slot][j] = s;
                    bits[slot][j] = s->positives;
                    if (!kSingle && s->mode != Mode::kReject) continue;
                }
                if (kSingle || (bitmap && !whole_row)) {
                    CounterRng rng(c_.key, static_cast<uint64_t>(r));
                    first[slot][j] = c_.draw(rng);
                }
                if (!bitmap) {
                    const UserState* s = st[slot][j];
                    const int64_t list_lines = std::min<int64_t>(8, (s->list_len + 15) / 16);
                    for (int64_t l = 0; l < list_lines; ++l) __builtin_prefetch(s->list + 16 * l);
                } else if (whole_row) {
                    for (size_t l = 0; l < lines; ++l) __builtin_prefetch(bits[slot][j] + 8 * l);
                } else {
                    __builtin_prefetch(bits[slot][j] + (static_cast<uint32_t>(first[slot][j]) >> 6));
                }
            }
        };
        auto finish = [&](int64_t k, int slot) {
            for (int j = 0; j < kGroup && k + j < k1; ++j) {
                const int64_t r = row_at(k + j);
                if (kSingle) {
                    const int32_t item = first[slot][j];
                    const bool positive = bitmap ? test_bit(bits[slot][j], item)
                                                 : sorted_contains(st[slot][j]->list, st[slot][j]->list_len, item);
                    if (!positive) {
                        out[r] = item;
                        continue;
                    }
                }
                serve(r, out + r * c_.n);
            }
        };

        if (c_.prefetch_state) {
            prefetch_states(k0);
            prefetch_states(k0 + kGroup);
        }
        prepare(k0, 0);
        int slot = 0;
        for (int64_t k = k0; k < k1; k += kGroup, slot ^= 1) {
            if (c_.prefetch_state) prefetch_states(k + 2 * kGroup);
            prepare(k + kGroup, slot ^ 1);
            finish(k, slot);
        }
    }

    // Row r into out[0, n).
    void serve(int64_t r, int32_t* out) {
        const int32_t u = c_.users[r];
        const UserState& s = c_.state[u];
        if (s.mode == Mode::kTooFew) {
            if (first_bad_row < 0 || r < first_bad_row) first_bad_row = r;
            return;
        }
        CounterRng rng(c_.key, static_cast<uint64_t>(r));
        const int64_t n = c_.n;
        int64_t filled = 0;
        if (s.mode == Mode::kReject) {
            int streak = 0;
            int32_t item = c_.draw(rng);
            if (c_.replace) {
                while (true) {
                    if (!c_.is_positive(s, item)) {
                        out[filled++] = item;
                        streak = 0;
                    } else if (++streak >= kMaxStreak) {
                        break;
                    }
                    if (filled == n) break;
                    item = c_.draw(rng);
                }
            } else {
                while (true) {
                    if (!c_.is_positive(s, item) && !test_bit(drawn_.data(), item)) {
                        out[filled++] = item;
                        set_bit(drawn_.data(), item);
                        streak = 0;
                    } else if (++streak >= kMaxStreak) {
                        break;
                    }
                    if (filled == n) break;
                    item = c_.draw(rng);
                }
            }
        }
        if (filled < n) from_complement(u, s, rng, out, filled);
        if (!c_.replace) {
            for (int64_t j = 0; j < filled; ++j) clear_bit(drawn_.data(), out[j]);
        }
    }

    // Eligible items that are neither positives nor (without replacement) drawn, ascending.
    void build_complement(int32_t u, const UserState& s) {
        if (c_.replace && comp_user_ == u) return;
        comp_.clear();
        cum_.clear();
        double total = 0.0;
        const int32_t* next = s.list;  // sorted lists: the positives not yet passed
        const int32_t* last = s.list + s.list_len;
        for (size_t w = 0; w < c_.words; ++w) {
            uint64_t blocked = c_.ineligible[w] | (c_.replace ? 0 : drawn_[w]);
            if (c_.use_bitmap) {
                blocked |= s.positives[w];
            } else {
                for (; next < last && static_cast<size_t>(*next >> 6) == w; ++next) {
                    blocked |= uint64_t{1} << (*next & 63);
                }
            }
            uint64_t free = ~blocked;
            while (free) {
                const int32_t i = static_cast<int32_t>(w * 64 + __builtin_ctzll(free));
                free &= free - 1;
                comp_.push_back(i);
                if (c_.weights) {
                    total += c_.weights[i];
                    cum_.push_back(total);
                }
            }
        }
        comp_user_ = c_.replace ? u : -1;
    }

    // Fill out[start, n) from the complement.
    void from_complement(int32_t u, const UserState& s, CounterRng& rng, int32_t* out,
                         int64_t start) {
        build_complement(u, s);
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
    std::vector<uint64_t> drawn_;
    std::vector<int32_t> comp_;
    std::vector<double> cum_;
    int32_t comp_user_ = -1;
    std::vector<std::pair<double, int32_t>> keyed_;
};

// Rows grouped by block (stable): order[begin[b], begin[b+1]) are block b's rows, ascending.
inline void bucket_rows(const std::vector<int32_t>& block_of, const int32_t* users, int64_t m,
                        int64_t n_blocks, int threads, std::vector<int64_t>& order,
                        std::vector<int64_t>& begin) {
    const int64_t chunks = threads;
    const int64_t chunk = (m + chunks - 1) / chunks;
    std::vector<int64_t> count(chunks * n_blocks, 0);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < chunks; ++t) {
        for (int64_t r = t * chunk; r < std::min(m, (t + 1) * chunk); ++r) {
            ++count[t * n_blocks + block_of[users[r]]];
        }
    }
    begin.assign(n_blocks + 1, 0);
    int64_t offset = 0;
    for (int64_t b = 0; b < n_blocks; ++b) {
        begin[b] = offset;
        for (int64_t t = 0; t < chunks; ++t) {
            const int64_t c = count[t * n_blocks + b];
            count[t * n_blocks + b] = offset;
            offset += c;
        }
    }
    begin[n_blocks] = offset;
    order.resize(m);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < chunks; ++t) {
        for (int64_t r = t * chunk; r < std::min(m, (t + 1) * chunk); ++r) {
            order[count[t * n_blocks + block_of[users[r]]]++] = r;
        }
    }
}

}  // namespace sampling_detail

// Sample n negatives for each of the m rows of `users` into out [m, n] (row-major).
//   users      int32 [m], each in [0, n_users)
//   indptr     int64 [n_users + 1], monotone, indptr[0] = 0; pos int32 [indptr[n_users]] in [0, n_items)
//   weights    float64 [n_items], finite, >= 0, with a positive finite sum; nullptr for uniform
//   replace    false: no item twice within a row
//   backend    how positives are held: 0 choose, 1 bitmap rows, 2 sorted lists (for tests:
//              every backend, like every block size and thread count, gives the same output)
//   block_bytes bitmap bytes held at once (0: kBlockBitmapBytes)
// Returns a status; when status.bad_row >= 0 the content of out is unspecified.
inline SampleStatus sample_negatives(const int32_t* users, int64_t m, const int64_t* indptr,
                                     int64_t n_users, const int32_t* pos, int64_t n_items,
                                     const double* weights, int64_t n, bool replace,
                                     uint64_t seed, int threads, int32_t* out, int backend = 0,
                                     int64_t block_bytes = 0) {
    using namespace sampling_detail;
    SampleStatus status;
    if (m == 0 || n == 0) return status;
    threads = resolve_threads(threads);
    std::vector<AliasTable> alias_holder;
    if (weights) alias_holder.emplace_back(weights, n_items);

    Context c{};
    c.users = users;
    c.m = m;
    c.indptr = indptr;
    c.pos = pos;
    c.n_items = n_items;
    c.weights = weights;
    c.n = n;
    c.replace = replace;
    c.key = seed_key(seed);
    c.alias = weights ? &alias_holder[0] : nullptr;
    c.eligible = weights ? static_cast<int64_t>(alias_holder[0].item.size()) : n_items;
    c.needed = replace ? 1 : n;
    c.words = static_cast<size_t>((n_items + 63) / 64);
    c.ineligible.assign(c.words, 0);
    for (int64_t i = n_items; i < static_cast<int64_t>(c.words) * 64; ++i) {
        set_bit(c.ineligible.data(), static_cast<int32_t>(i));
    }
    if (weights) {
        for (int64_t i = 0; i < n_items; ++i) {
            if (!(weights[i] > 0.0)) set_bit(c.ineligible.data(), static_cast<int32_t>(i));
        }
    }
    c.state.assign(n_users, UserState{});
    c.prefetch_state = n_users * static_cast<int64_t>(sizeof(UserState)) > (int64_t{1} << 20);

    // The users that occur, in blocks whose bitmaps fit kBlockBitmapBytes together.
    // (With at least as many rows as users, all users are taken without looking.)
    std::vector<int32_t> block_of(n_users, m >= n_users ? 0 : -1);
    if (m < n_users) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t r = 0; r < m; ++r) {
#pragma omp atomic write
            block_of[users[r]] = 0;
        }
    }
    std::vector<int32_t> present;
    for (int64_t u = 0; u < n_users; ++u) {
        if (block_of[u] == 0) present.push_back(static_cast<int32_t>(u));
    }
    const int64_t n_present = static_cast<int64_t>(present.size());
    // Bitmap rows unless they would take far more memory than the positives themselves
    // (a large catalogue with short histories): then sorted lists and binary search.
    int64_t present_positives = 0;
    for (const int32_t u : present) present_positives += indptr[u + 1] - indptr[u];
    const int64_t row_bytes = std::max<int64_t>(1, static_cast<int64_t>(c.words) * 8);
    c.use_bitmap = backend == 0 ? n_present * row_bytes <= 16 * present_positives + (int64_t{1} << 20)
                                : backend == 1;
    if (block_bytes <= 0) block_bytes = kBlockBitmapBytes;
    const int64_t per_block =
        c.use_bitmap ? std::max<int64_t>(1, block_bytes / row_bytes) : std::max<int64_t>(1, n_present);
    const int64_t n_blocks = (n_present + per_block - 1) / per_block;
    std::vector<int64_t> order, begin{0, m};
    if (n_blocks > 1) {
        for (int64_t j = 0; j < n_present; ++j) block_of[present[j]] = static_cast<int32_t>(j / per_block);
        bucket_rows(block_of, users, m, n_blocks, threads, order, begin);
    }
    c.identity_slots = c.use_bitmap && n_blocks == 1 && n_present == n_users;
    if (c.use_bitmap) {
        c.bitmap.reset(new uint64_t[static_cast<size_t>(std::min(n_present, per_block)) * c.words]);
    } else {
        c.sorted_copy.reset(new int32_t[static_cast<size_t>(std::max<int64_t>(1, indptr[n_users]))]);
    }

    int64_t first_bad = -1;
#pragma omp parallel num_threads(threads)
    {
        Worker worker(c);
        for (int64_t b = 0; b < n_blocks; ++b) {
            const int64_t lo = b * per_block, hi = std::min(n_present, lo + per_block);
#pragma omp for schedule(dynamic, 64)
            for (int64_t j = lo; j < hi; ++j) {
                if (c.use_bitmap) {
                    c.load_user(present[j], j - lo);
                } else {
                    c.load_user_list(present[j]);
                }
            }
            const int64_t row_lo = begin[b], row_hi = begin[b + 1];
            const int64_t* rows = n_blocks == 1 ? nullptr : order.data();
            const int64_t chunks = (row_hi - row_lo + kRowChunk - 1) / kRowChunk;
#pragma omp for schedule(dynamic, 1)
            for (int64_t q = 0; q < chunks; ++q) {
                const int64_t k0 = row_lo + q * kRowChunk;
                worker.rows(rows, k0, std::min(row_hi, k0 + kRowChunk), out);
            }
        }
#pragma omp critical(recplug_sampling_status)
        {
            if (worker.first_bad_row >= 0 && (first_bad < 0 || worker.first_bad_row < first_bad)) {
                first_bad = worker.first_bad_row;
            }
        }
    }
    if (first_bad >= 0) {
        const int32_t u = users[first_bad];
        status = {first_bad, u, c.state[u].blocked, c.eligible, c.needed};
    }
    return status;
}

}  // namespace recplug
