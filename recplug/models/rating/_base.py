"""What the rating models share: the training ratings checked, the seeded SGD order, and
one fitted form -- a global mean, user and item biases and factors -- with its ``predict``,
its ``score`` and its declared factors.

Prediction (``r̂`` for user u, item i; "known" = has a training rating):

    r̂ = μ + b_u [u known] + b_i [i known] + (q_i · p_u + offset) [both known]

so a user or item without training ratings (or with an index beyond the fitted counts)
gets the fallback μ plus the biases that are known. ``offset`` is 0, except for models
whose known pairs are a plain dot product (``svd`` with ``biased=False``: offset = -μ).
``predict`` clips to the training rating scale; ``score`` does not (it ranks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recplug import kernels
from recplug.contract import FitOptions, ScoreBatch, Tags, TrainData
from recplug.errors import DataError, ModelError
from recplug.models._arrays import ArrayModel
from recplug.models._common import check_batch, check_fitted
from recplug.training.seeding import derive_seed


@dataclass(frozen=True)
class Ratings:
    """The training ratings as SGD reads them: ``users``/``items`` int32 [n], ``ratings``
    float32 [n] (finite), the fitted counts and the global mean (float64)."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    n_users: int
    n_items: int

    @property
    def global_mean(self) -> float:
        return float(self.ratings.astype(np.float64).mean())

    def order(self, seed: int, epoch: int, *, grouped: bool = False) -> np.ndarray:
        """Positions of the ratings in epoch ``epoch``'s visiting order, int64 [n], from ``seed``.

        ``grouped=False``: a seeded permutation of all ratings. ``grouped=True``: users in a
        seeded order, each user's ratings together in a seeded order (what SVD++ needs;
        Surprise also visits ratings user by user).
        """
        rng = np.random.default_rng(derive_seed(seed, "rating-order", epoch))
        shuffled = rng.permutation(len(self.ratings))
        if not grouped:
            return shuffled.astype(np.int64)
        rank = rng.permutation(self.n_users).astype(np.int32)[self.users[shuffled]]
        return shuffled[np.argsort(rank, kind="stable")].astype(np.int64)

    def rated_items(self) -> tuple[np.ndarray, np.ndarray]:
        """N(u): the distinct items each user rated, as (indptr int64 [n_users + 1], items int32)."""
        keys = np.unique(self.users.astype(np.int64) * self.n_items + self.items)
        counts = np.bincount(keys // self.n_items, minlength=self.n_users)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return indptr, (keys % self.n_items).astype(np.int32)


def training_ratings(train: TrainData, model: str) -> Ratings:
    """The rated rows of ``train``; DataError when there are none or one is not finite."""
    name = getattr(train.interactions, "name", None) or "the training data"
    if train.ratings is None:
        raise DataError(f"{model} predicts ratings, but {name!r} has no ratings; load data with a rating "
                        "column (columns rating=COL) or use a ranking model")
    ratings = np.ascontiguousarray(train.ratings, dtype=np.float32)
    if len(ratings) == 0:
        raise DataError(f"{model} needs at least one training rating; {name!r} has none")
    bad = ~np.isfinite(ratings)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{model}: {name!r} has {int(bad.sum())} non-finite rating(s) (first at row {row}: "
                        f"{ratings[row]}); drop or fix them before fitting")
    inter = train.interactions
    return Ratings(np.ascontiguousarray(inter.users, dtype=np.int32), np.ascontiguousarray(inter.items, dtype=np.int32),
                   ratings, int(train.n_users), int(train.n_items))


def sgd_rates(model: Any, names: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
    """Surprise's per-parameter ``lr_X``/``reg_X`` of ``model``, ``lr_all``/``reg_all`` where None."""
    lr = {n: float(model.lr_all if getattr(model, f"lr_{n}") is None else getattr(model, f"lr_{n}")) for n in names}
    reg = {n: float(model.reg_all if getattr(model, f"reg_{n}") is None else getattr(model, f"reg_{n}"))
           for n in names}
    return lr, reg


def pair_arrays(model: Any, users: Any, items: Any) -> tuple[np.ndarray, np.ndarray]:
    """``users`` and ``items`` as int64 [n] of non-negative indices; ModelError otherwise."""
    name = type(model).__name__
    users, items = np.asarray(users), np.asarray(items)
    if users.ndim != 1 or items.ndim != 1 or len(users) != len(items):
        raise ModelError(f"{name}.predict needs users and items as two 1-d arrays of one length, got shapes "
                         f"{users.shape} and {items.shape}")
    for label, values in (("users", users), ("items", items)):
        if len(values) and not np.issubdtype(values.dtype, np.integer):
            raise ModelError(f"{name}.predict: {label} must be integer indices, got dtype {values.dtype}")
        if len(values) and values.min() < 0:
            raise ModelError(f"{name}.predict: {label} must be indices >= 0, found {int(values.min())}")
    return users.astype(np.int64), items.astype(np.int64)


class RatingModel(ArrayModel):
    """A rating model fitted to ``global_mean_``, ``user_bias_`` [n_users], ``item_bias_``
    [n_items], ``user_factors_`` [n_users, d] and ``item_factors_`` [n_items, d] (float64, d
    may be 0), ``pair_offset_``, ``rating_scale_`` (lowest, highest training rating) and the
    ``known_users_``/``known_items_`` masks (see the module docstring for the prediction).

    A subclass implements ``fit_ratings(ratings, options)``, which sets the biases, the
    factors and ``pair_offset_``; the base then zeroes what unknown users and items hold.
    The declared factors (``latent_factors``) give ``score`` exactly, so the ranking
    protocol evaluates these models with the fused top-K kernel.
    """

    tags = Tags(task="rating", iterative=False)
    fitted_arrays = ("global_mean_", "pair_offset_", "rating_scale_", "user_bias_", "item_bias_",
                     "user_factors_", "item_factors_", "known_users_", "known_items_")

    def fit_ratings(self, ratings: Ratings, options: FitOptions) -> None:  # pragma: no cover
        raise NotImplementedError

    def learn(self, train: TrainData, options: FitOptions) -> None:
        ratings = training_ratings(train, type(self).__name__)
        self.global_mean_ = np.float64(ratings.global_mean)
        self.rating_scale_ = np.array([ratings.ratings.min(), ratings.ratings.max()], dtype=np.float64)
        self.known_users_ = np.bincount(ratings.users, minlength=ratings.n_users) > 0
        self.known_items_ = np.bincount(ratings.items, minlength=ratings.n_items) > 0
        self.pair_offset_ = np.float64(0.0)
        self.fit_ratings(ratings, options)
        for mask, names in ((self.known_users_, ("user_bias_", "user_factors_")),
                            (self.known_items_, ("item_bias_", "item_factors_"))):
            for name in names:
                getattr(self, name)[~mask] = 0.0

    # ---- predictions -------------------------------------------------------------
    def _known(self, mask: np.ndarray, index: np.ndarray) -> np.ndarray:
        inside = index < len(mask)
        known = np.zeros(len(index), dtype=bool)
        known[inside] = mask[index[inside]]
        return known

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted ratings float32 [n] of the pairs (``users[k]``, ``items[k]``), clipped to
        the training rating scale; unknown users/items get the fallback (module docstring)."""
        check_fitted(self, "shapes_", "predict")
        users, items = pair_arrays(self, users, items)
        ku, ki = self._known(self.known_users_, users), self._known(self.known_items_, items)
        u, i = np.where(ku, users, 0), np.where(ki, items, 0)
        est = np.full(len(users), float(self.global_mean_))
        est[ku] += self.user_bias_[u[ku]]
        est[ki] += self.item_bias_[i[ki]]
        both = ku & ki
        est[both] += np.einsum("nd,nd->n", self.user_factors_[u[both]], self.item_factors_[i[both]]) \
            + float(self.pair_offset_)
        low, high = self.rating_scale_
        return np.clip(est, low, high).astype(np.float32)

    def latent_factors(self, batch: ScoreBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user_vecs [B, d+2], item_vecs [n_items, d+2], item_bias [n_items]), float32, with
        ``user_vecs @ item_vecs.T + item_bias`` = the unclipped predictions of every item:
        user row ``[p_u, μ + b_u, k_u]``, item row ``[q_i, 1, offset·k_i]``, bias ``b_i``."""
        check_fitted(self, "shapes_")
        check_batch(self, batch, self.shapes_["n_items"])
        users = np.asarray(batch.users, dtype=np.int64)
        ku = self._known(self.known_users_, users)
        u = np.where(ku, users, 0)
        d = self.user_factors_.shape[1]
        user_vecs = np.zeros((len(users), d + 2))
        user_vecs[ku, :d] = self.user_factors_[u[ku]]
        user_vecs[:, d] = float(self.global_mean_) + np.where(ku, self.user_bias_[u], 0.0)
        user_vecs[:, d + 1] = ku
        item_vecs = np.zeros((len(self.item_bias_), d + 2))
        item_vecs[:, :d] = self.item_factors_
        item_vecs[:, d] = 1.0
        item_vecs[:, d + 1] = float(self.pair_offset_) * self.known_items_
        return (np.ascontiguousarray(user_vecs, dtype=np.float32), np.ascontiguousarray(item_vecs, dtype=np.float32),
                np.ascontiguousarray(self.item_bias_, dtype=np.float32))

    def scores(self, batch: ScoreBatch) -> np.ndarray:
        """Unclipped predicted ratings float32 [B, n_items], exactly as the fused kernel computes them."""
        user_vecs, item_vecs, bias = self.latent_factors(batch)
        return kernels.score_matrix(user_vecs, item_vecs, bias, threads=1)
