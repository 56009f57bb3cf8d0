"""User and item biases around the global mean (Koren 2010), as Surprise's BaselineOnly."""

from __future__ import annotations

import numpy as np

from recplug import kernels
from recplug.contract import FitOptions
from recplug.models.rating._base import RatingModel, Ratings
from recplug.training.constraints import Integer, Nullable, Options, Real

#: the default epochs of each method (Surprise's bsl_options)
DEFAULT_EPOCHS = {"als": 10, "sgd": 20}


class BaselineOnly(RatingModel):
    """``r̂ = μ + b_u + b_i``, the biases fitted as Surprise's BaselineOnly does.

    ``method="als"`` alternates, ``n_epochs`` times, ``b_i = Σ_u (r_ui - μ - b_u) / (reg_i + |U_i|)``
    over the users who rated i, then ``b_u = Σ_i (r_ui - μ - b_i) / (reg_u + |I_u|)``;
    ``method="sgd"`` runs ``n_epochs`` SGD epochs of ``b += learning_rate (err - reg b)``,
    each over the ratings in a seeded random order (the svd kernel without factors).
    ``n_epochs=None`` means 10 for ALS and 20 for SGD. ``reg_u``/``reg_i`` are ALS's, ``reg``
    and ``learning_rate`` SGD's. Unknown users/items: their bias is 0.
    """

    parameter_constraints = {
        "method": Options("als", "sgd"),
        "n_epochs": Nullable(Integer(1, None)),
        "reg_u": Real(0, None, search=(0.1, 100, "log")),
        "reg_i": Real(0, None, search=(0.1, 100, "log")),
        "reg": Real(0, None, search=(1e-3, 0.5, "log")),
        "learning_rate": Real(0, None, closed="neither", search=(1e-4, 5e-2, "log")),
    }

    def __init__(self, method: str = "als", n_epochs: int | None = None, reg_u: float = 15.0, reg_i: float = 10.0,
                 reg: float = 0.02, learning_rate: float = 0.005):
        self.method = method
        self.n_epochs = n_epochs
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.reg = reg
        self.learning_rate = learning_rate

    def fit_ratings(self, ratings: Ratings, options: FitOptions) -> None:
        epochs = DEFAULT_EPOCHS[self.method] if self.n_epochs is None else int(self.n_epochs)
        self.user_factors_ = np.zeros((ratings.n_users, 0))
        self.item_factors_ = np.zeros((ratings.n_items, 0))
        self.user_bias_, self.item_bias_ = np.zeros(ratings.n_users), np.zeros(ratings.n_items)
        mu = float(self.global_mean_)
        if self.method == "als":
            r = ratings.ratings.astype(np.float64)
            user_count = np.bincount(ratings.users, minlength=ratings.n_users)
            item_count = np.bincount(ratings.items, minlength=ratings.n_items)
            for _ in range(epochs):
                self.item_bias_ = np.bincount(ratings.items, r - mu - self.user_bias_[ratings.users],
                                              minlength=ratings.n_items) / (self.reg_i + item_count)
                self.user_bias_ = np.bincount(ratings.users, r - mu - self.item_bias_[ratings.items],
                                              minlength=ratings.n_users) / (self.reg_u + user_count)
            return
        lr = {name: float(self.learning_rate) for name in ("bu", "bi", "pu", "qi")}
        reg = {name: float(self.reg) for name in ("bu", "bi", "pu", "qi")}
        for epoch in range(1, epochs + 1):
            kernels.svd_epoch(ratings.users, ratings.items, ratings.ratings, ratings.order(options.seed, epoch),
                              global_mean=mu, biased=True, lr=lr, reg=reg, user_bias=self.user_bias_,
                              item_bias=self.item_bias_, user_factors=self.user_factors_,
                              item_factors=self.item_factors_)
