"""SVD++: biased matrix factorisation with the implicit feedback of what each user rated
(Koren, KDD 2008), trained by SGD as Surprise's SVDpp."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recplug import kernels
from recplug.contract import FitOptions
from recplug.models.rating._base import RatingModel, Ratings, sgd_rates
from recplug.models.rating.svd import INIT, LEARNING_RATE, REGULARISATION, per_parameter
from recplug.training.constraints import Integer
from recplug.training.seeding import derive_seed

PARAMETERS = ("bu", "bi", "pu", "qi", "yj")


class SVDpp(RatingModel):
    """``r̂ = μ + b_u + b_i + q_i · (p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j)``, N(u) = the distinct items
    u rated in training; SGD with Surprise's steps and defaults (see
    :func:`recplug.kernels.svdpp_epoch`).

    Factors p, q, y start from N(``init_mean``, ``init_std_dev``) drawn from
    ``FitOptions.seed``. Each epoch visits users in a new seeded order and each user's
    ratings together, in a seeded order (Surprise also goes user by user); the kernel then
    applies a user's y_j steps once per user, which makes an epoch O(ratings × factors)
    instead of O(Σ_u |N(u)|² × factors). The fitted user factors hold ``p_u`` plus the
    implicit term, so ``predict`` and ``score`` read one vector per user. ``lr_X``/``reg_X``
    (X = bu, bi, pu, qi, yj) override ``lr_all``/``reg_all`` when set. Users or items without
    training ratings get the fallback μ + the known biases.
    """

    parameter_constraints = {
        "n_factors": Integer(1, None, search=(4, 128, "log")),
        "n_epochs": Integer(1, None, search=(5, 100)),
        **INIT,
        "lr_all": LEARNING_RATE,
        "reg_all": REGULARISATION,
        **per_parameter(PARAMETERS),
    }

    def __init__(self, n_factors: int = 20, n_epochs: int = 20, init_mean: float = 0.0, init_std_dev: float = 0.1,
                 lr_all: float = 0.007, reg_all: float = 0.02, lr_bu: float | None = None,
                 lr_bi: float | None = None, lr_pu: float | None = None, lr_qi: float | None = None,
                 lr_yj: float | None = None, reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None, reg_yj: float | None = None):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.lr_yj = lr_yj
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_yj = reg_yj

    def fit_ratings(self, ratings: Ratings, options: FitOptions) -> None:
        rng = np.random.default_rng(derive_seed(options.seed, "svdpp-init"))
        d = int(self.n_factors)
        pu = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_users, d))
        qi = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_items, d))
        yj = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_items, d))
        bu, bi = np.zeros(ratings.n_users), np.zeros(ratings.n_items)
        rated = ratings.rated_items()
        lr, reg = sgd_rates(self, PARAMETERS)
        for epoch in range(1, int(self.n_epochs) + 1):
            order = ratings.order(options.seed, epoch, grouped=True)
            kernels.svdpp_epoch(ratings.users, ratings.items, ratings.ratings, order, implicit=rated,
                                global_mean=float(self.global_mean_), lr=lr, reg=reg, user_bias=bu, item_bias=bi,
                                user_factors=pu, item_factors=qi, implicit_factors=yj)
        self.user_bias_, self.item_bias_, self.item_factors_ = bu, bi, qi
        self.user_factors_ = pu + implicit_sum(rated, yj)


def implicit_sum(rated: tuple[np.ndarray, np.ndarray], implicit_factors: np.ndarray) -> np.ndarray:
    """``|N(u)|^-½ Σ_{j∈N(u)} y_j`` per user, float64 [n_users, d] (zeros where N(u) is empty)."""
    indptr, items = rated
    sizes = np.diff(indptr)
    weights = np.repeat(1.0 / np.sqrt(np.maximum(sizes, 1)), sizes)
    rows = sp.csr_matrix((weights, items, indptr), shape=(len(sizes), implicit_factors.shape[0]))
    return np.asarray(rows @ implicit_factors)
