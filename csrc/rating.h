// SGD epochs of the rating models: biased matrix factorisation (Funk/Koren "SVD", as in
// Surprise's SVD) and SVD++ (Koren 2008, as in Surprise's SVDpp). Plain C++, no Python.
// Inputs are validated by recplug/kernels.py (shapes, index ranges, a user-grouped order
// for SVD++); this file trusts them.
//
// One call is one epoch: the ratings are visited in the order given (`order`, indices of
// rating rows), so the result depends on that order and the initial state only. Every
// update is Surprise's, in Surprise's sequence (biases, then the factors from their values
// before the step); the state is float64 and updated in place. Single-threaded by design:
// SGD steps depend on each other.
//
// Arithmetic: dot products over the factors accumulate in 8 fixed lanes (lane f % 8), summed
// lane 0..7 at the end: the same numbers whatever the machine's vector width.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace recplug {
namespace rating {

// Learning rates and regularisation weights of the parameters Surprise names bu, bi, pu, qi
// (and yj for SVD++).
struct Rates {
    double lr_bu, lr_bi, lr_pu, lr_qi, lr_yj;
    double reg_bu, reg_bi, reg_pu, reg_qi, reg_yj;
};

// sum_f a[f] * b[f] in 8 fixed lanes.
inline double dot(const double* __restrict a, const double* __restrict b, int64_t d) {
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t f = 0;
    for (; f + 8 <= d; f += 8)
        for (int l = 0; l < 8; ++l) lane[l] += a[f + l] * b[f + l];
    for (int l = 0; f < d; ++f, ++l) lane[l] += a[f] * b[f];
    double s = 0.0;
    for (int l = 0; l < 8; ++l) s += lane[l];
    return s;
}

// sum_f q[f] * (p[f] + y[f]) in 8 fixed lanes.
inline double dot_sum(const double* __restrict q, const double* __restrict p, const double* __restrict y,
                      int64_t d) {
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t f = 0;
    for (; f + 8 <= d; f += 8)
        for (int l = 0; l < 8; ++l) lane[l] += q[f + l] * (p[f + l] + y[f + l]);
    for (int l = 0; f < d; ++f, ++l) lane[l] += q[f] * (p[f] + y[f]);
    double s = 0.0;
    for (int l = 0; l < 8; ++l) s += lane[l];
    return s;
}

constexpr int64_t kAhead = 4;  // ratings ahead whose factor rows are prefetched

inline void prefetch_row(const double* row, int64_t d) {
    for (int64_t f = 0; f < d; f += 8) __builtin_prefetch(row + f, 1);
}

// p += lr_p (err q - reg_p p), q += lr_q (err p - reg_q q), both from the old values.
inline void sgd_pair(double* __restrict p, double* __restrict q, double err, double lr_p, double reg_p,
                     double lr_q, double reg_q, int64_t d) {
    for (int64_t f = 0; f < d; ++f) {
        const double puf = p[f], qif = q[f];
        p[f] = puf + lr_p * (err * qif - reg_p * puf);
        q[f] = qif + lr_q * (err * puf - reg_q * qif);
    }
}

// One SGD pass of biased MF over ratings[order[0..m)]:
//   est = global_mean + bu[u] + bi[i] + qi[i] . pu[u],  err = r - est
//   bu += lr_bu (err - reg_bu bu);  bi += lr_bi (err - reg_bi bi)            (biased only)
//   pu += lr_pu (err qi - reg_pu pu);  qi += lr_qi (err pu - reg_qi qi)      (old pu, qi)
// biased=false: no biases in est and none updated (pass global_mean 0 for PMF).
// pu [n_users, d], qi [n_items, d] row-major; d may be 0 (biases only). Returns sum err^2.
inline double svd_epoch(const int32_t* users, const int32_t* items, const float* ratings,
                        const int64_t* order, int64_t m, double global_mean, bool biased,
                        const Rates& rates, double* bu, double* bi, double* pu, double* qi, int64_t d) {
    double sse = 0.0;
    const Rates r = rates;
    for (int64_t t = 0; t < m; ++t) {
        if (t + kAhead < m) {
            const int64_t k2 = order[t + kAhead];
            prefetch_row(pu + static_cast<int64_t>(users[k2]) * d, d);
            prefetch_row(qi + static_cast<int64_t>(items[k2]) * d, d);
        }
        const int64_t k = order[t];
        const int64_t u = users[k], i = items[k];
        double* p = pu + u * d;
        double* q = qi + i * d;
        double est = global_mean + dot(q, p, d);
        if (biased) est += bu[u] + bi[i];
        const double err = static_cast<double>(ratings[k]) - est;
        sse += err * err;
        if (biased) {
            bu[u] += r.lr_bu * (err - r.reg_bu * bu[u]);
            bi[i] += r.lr_bi * (err - r.reg_bi * bi[i]);
        }
        sgd_pair(p, q, err, r.lr_pu, r.reg_pu, r.lr_qi, r.reg_qi, d);
    }
    return sse;
}

// One SGD pass of SVD++ over ratings[order[0..m)], where the ratings of each user are
// contiguous in `order` (users in any order). N(u) = imp_items[imp_indptr[u] .. imp_indptr[u+1]),
// s = sqrt(|N(u)|) (no implicit term when N(u) is empty):
//   z = sum_{j in N(u)} yj[j] / s,  est = global_mean + bu + bi + qi . (pu + z),  err = r - est
//   bu, bi as SVD;  pu += lr_pu (err qi - reg_pu pu);  qi += lr_qi (err (pu + z) - reg_qi qi)
//   yj[j] += lr_yj (err qi / s - reg_yj yj[j])   for every j in N(u)            (old pu, qi)
// which is Surprise's step, rating by rating. Because only u's own steps touch yj[N(u)]
// while u's ratings are visited, every yj[j] of the block sees the same affine step
// y <- c y + a_t (c = 1 - lr_yj reg_yj, a_t = lr_yj err_t qi / s). So the kernel keeps z
// up to date (z <- c z + |N(u)| a_t / s) and applies the block's composed step
// yj[j] <- c^T yj[j] + A once per user: the same updates in O(|N(u)| d) per user instead
// of O(|N(u)| d) per rating. Returns sum err^2.
inline double svdpp_epoch(const int32_t* users, const int32_t* items, const float* ratings,
                          const int64_t* order, int64_t m, const int64_t* imp_indptr,
                          const int32_t* imp_items, double global_mean, const Rates& rates, double* bu,
                          double* bi, double* pu, double* qi, double* yj, int64_t d) {
    std::vector<double> z(static_cast<size_t>(d)), acc(static_cast<size_t>(d));
    const double decay = 1.0 - rates.lr_yj * rates.reg_yj;
    double sse = 0.0;
    int64_t t = 0;
    while (t < m) {
        const int64_t u = users[order[t]];
        const int64_t beg = imp_indptr[u], end = imp_indptr[u + 1];
        const double n_u = static_cast<double>(end - beg);
        const double s = std::sqrt(n_u);
        const double inv_s = end > beg ? 1.0 / s : 0.0;
        double* __restrict p = pu + u * d;
        for (int64_t f = 0; f < d; ++f) z[f] = 0.0, acc[f] = 0.0;
        for (int64_t k = beg; k < end; ++k) {
            const double* y = yj + static_cast<int64_t>(imp_items[k]) * d;
            for (int64_t f = 0; f < d; ++f) z[f] += y[f] / s;
        }
        double scale = 1.0;  // c^T of the steps so far
        for (; t < m && users[order[t]] == u; ++t) {
            const int64_t k = order[t];
            const int64_t i = items[k];
            double* __restrict q = qi + i * d;
            const double est = global_mean + bu[u] + bi[i] + dot_sum(q, p, z.data(), d);
            const double err = static_cast<double>(ratings[k]) - est;
            sse += err * err;
            bu[u] += rates.lr_bu * (err - rates.reg_bu * bu[u]);
            bi[i] += rates.lr_bi * (err - rates.reg_bi * bi[i]);
            for (int64_t f = 0; f < d; ++f) {
                const double puf = p[f], qif = q[f];
                p[f] = puf + rates.lr_pu * (err * qif - rates.reg_pu * puf);
                q[f] = qif + rates.lr_qi * (err * (puf + z[f]) - rates.reg_qi * qif);
                const double a = rates.lr_yj * err * qif * inv_s;
                acc[f] = decay * acc[f] + a;
                z[f] = decay * z[f] + n_u * a * inv_s;
            }
            scale *= decay;
        }
        for (int64_t k = beg; k < end; ++k) {
            double* __restrict y = yj + static_cast<int64_t>(imp_items[k]) * d;
            for (int64_t f = 0; f < d; ++f) y[f] = scale * y[f] + acc[f];
        }
    }
    return sse;
}

}  // namespace rating
}  // namespace recplug
