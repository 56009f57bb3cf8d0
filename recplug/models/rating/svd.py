"""Biased matrix factorisation trained by SGD (Funk 2006; Koren et al. 2009), as Surprise's SVD."""

from __future__ import annotations

import numpy as np

from recplug import kernels
from recplug.contract import FitOptions
from recplug.models.rating._base import RatingModel, Ratings, sgd_rates
from recplug.training.constraints import Boolean, Integer, Nullable, Real
from recplug.training.seeding import derive_seed

#: the constraints of Surprise's learning-rate and regularisation parameters
LEARNING_RATE = Real(0, None, search=(1e-4, 5e-2, "log"))
REGULARISATION = Real(0, None, search=(1e-3, 0.5, "log"))
INIT = {"init_mean": Real(None, None), "init_std_dev": Real(0, None, search=(1e-3, 0.3, "log"))}


def per_parameter(names: tuple[str, ...]) -> dict:
    """``lr_X``/``reg_X`` constraints: None (use ``lr_all``/``reg_all``) or a rate >= 0."""
    return {**{f"lr_{n}": Nullable(Real(0, None)) for n in names}, **{f"reg_{n}": Nullable(Real(0, None)) for n in names}}


class SVD(RatingModel):
    """``r̂ = μ + b_u + b_i + q_i · p_u``, fitted by SGD on the squared error with L2
    regularisation (Surprise's SVD, same defaults and the same steps; see
    :func:`recplug.kernels.svd_epoch`). ``biased=False`` gives PMF: ``r̂ = q_i · p_u``.

    Factors start from N(``init_mean``, ``init_std_dev``) and biases from 0, drawn from
    ``FitOptions.seed``. Each of the ``n_epochs`` epochs visits every training rating once,
    in a new seeded random order (the only other randomness). ``lr_bu``, ``lr_bi``,
    ``lr_pu``, ``lr_qi`` (and the ``reg_`` ones) override ``lr_all`` (``reg_all``) when set.
    Users or items without training ratings get the fallback μ + the known biases (PMF: μ).
    """

    parameter_constraints = {
        "n_factors": Integer(1, None, search=(8, 256, "log")),
        "n_epochs": Integer(1, None, search=(5, 100)),
        "biased": Boolean(),
        **INIT,
        "lr_all": LEARNING_RATE,
        "reg_all": REGULARISATION,
        **per_parameter(("bu", "bi", "pu", "qi")),
    }

    def __init__(self, n_factors: int = 100, n_epochs: int = 20, biased: bool = True, init_mean: float = 0.0,
                 init_std_dev: float = 0.1, lr_all: float = 0.005, reg_all: float = 0.02,
                 lr_bu: float | None = None, lr_bi: float | None = None, lr_pu: float | None = None,
                 lr_qi: float | None = None, reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.biased = biased
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi

    def fit_ratings(self, ratings: Ratings, options: FitOptions) -> None:
        rng = np.random.default_rng(derive_seed(options.seed, "svd-init"))
        shape = (int(self.n_factors),)
        self.user_factors_ = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_users, *shape))
        self.item_factors_ = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_items, *shape))
        self.user_bias_ = np.zeros(ratings.n_users)
        self.item_bias_ = np.zeros(ratings.n_items)
        mean = float(self.global_mean_) if self.biased else 0.0
        if not self.biased:
            self.pair_offset_ = np.float64(-float(self.global_mean_))
        lr, reg = sgd_rates(self, ("bu", "bi", "pu", "qi"))
        for epoch in range(1, int(self.n_epochs) + 1):
            kernels.svd_epoch(ratings.users, ratings.items, ratings.ratings, ratings.order(options.seed, epoch),
                              global_mean=mean, biased=bool(self.biased), lr=lr, reg=reg,
                              user_bias=self.user_bias_, item_bias=self.item_bias_,
                              user_factors=self.user_factors_, item_factors=self.item_factors_)
