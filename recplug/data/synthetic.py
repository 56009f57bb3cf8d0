"""Synthetic interactions with learnable structure, of any size, fast.

The generative story (all draws from one seeded ``numpy`` Generator):

- ``dim`` latent topics. Every item belongs to one topic; within a topic, item popularity
  follows a power law ``1 / rank**zipf`` (so the global popularity is long-tailed too),
  drawn through the continuous inverse CDF, so each draw costs O(1).
- Every user has a Dirichlet preference over the topics (concentrated on a few) and an
  activity level drawn from a power law; every user gets at least one interaction when
  ``n_interactions >= n_users``.
- Timestamps are uniform over two years and sorted, so rows are in chronological order.
- Each interaction picks a topic from its user's preference, shifted by ``drift``: at the
  relative position ``f`` in [0, 1] of the user's sequence the topic is rotated by
  ``round(drift * f * dim)`` places, so with ``drift > 0`` preferences move over time and
  later interactions differ from earlier ones. Then it picks an item of that topic by
  popularity.

Models that learn user-topic preferences beat popularity on this data; duplicates
(re-consumption) occur naturally and are kept.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions, Vocabulary
from recplug.errors import DataError

_START = 1_500_000_000  #: first timestamp, seconds since the epoch (July 2017)
_SPAN = 2 * 365 * 24 * 3600  #: two years, in seconds


def generate(n_users: int, n_items: int, n_interactions: int, *, seed: int = 0,
             zipf: float = 1.1, dim: int = 16, drift: float = 0.0,
             timestamps: bool = True) -> Interactions:
    """``n_interactions`` rows over ``n_users`` x ``n_items`` (vocabularies ``0..n-1``).

    ``zipf`` is the popularity exponent, ``dim`` the number of latent topics, ``drift``
    the fraction of the topic circle a user's taste turns through over their sequence.
    ``timestamps=False`` drops the int64 timestamps (rows stay in the same order).
    """
    for label, value in (("n_users", n_users), ("n_items", n_items), ("n_interactions", n_interactions),
                         ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DataError(f"synthetic.generate: {label} must be a positive integer, got {value!r}")
    if not (zipf >= 0 and np.isfinite(zipf)):
        raise DataError(f"synthetic.generate: zipf must be a finite number >= 0, got {zipf!r}")
    if not (drift >= 0 and np.isfinite(drift)):
        raise DataError(f"synthetic.generate: drift must be a finite number >= 0, got {drift!r}")
    rng = np.random.default_rng(seed)
    n = int(n_interactions)
    dim = min(int(dim), int(n_items))

    # items: topic of each item; items of a topic are listed together, most popular first
    item_topic = rng.integers(0, dim, size=n_items)
    by_topic = np.argsort(item_topic, kind="stable")
    topic_sizes = np.bincount(item_topic, minlength=dim)
    topic_start = np.cumsum(topic_sizes) - topic_sizes
    empty = topic_sizes == 0

    # users: power-law activity and Dirichlet topic preferences
    if n >= n_users:
        by_activity = rng.permutation(n_users)
        extra = by_activity[_power_law_rank(rng.random(n - n_users), n_users, 0.8)]
        users = np.concatenate([rng.permutation(n_users), extra])[rng.permutation(n)]
    else:
        users = rng.choice(n_users, size=n, replace=False)
    preference = rng.dirichlet(np.full(dim, 0.3), size=n_users)
    preference[:, empty] = 0.0
    preference /= preference.sum(axis=1, keepdims=True)
    favourite = preference.argmax(axis=1)  # never an empty topic

    # chronology: sorted times, so row order is time order
    times = np.sort(rng.integers(_START, _START + _SPAN, size=n, dtype=np.int64))

    # topic of each row (inverse CDF of its user's preference, rotated by drift) ...
    topic = _row_topics(preference, users, rng.random(n, dtype=np.float32))
    hollow = empty[topic]  # only by float rounding at the top of the CDF
    topic[hollow] = favourite[users[hollow]]
    if drift > 0:
        drifted = (topic + np.rint(drift * _sequence_fraction(users, n_users) * dim)
                   .astype(np.int64)) % dim
        topic = np.where(empty[drifted], topic, drifted)  # a topic without items: stay put
    # ... then an item of that topic by its power-law popularity
    rank = _power_law_rank(rng.random(n), topic_sizes[topic], zipf)
    items = by_topic[topic_start[topic] + rank]

    return Interactions(users.astype(np.int32), items.astype(np.int32),
                        Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items)),
                        times if timestamps else None, None, name="synthetic")


def _row_topics(preference: np.ndarray, users: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one topic per row from its user's preference (float32, int64 out)."""
    cdf = np.cumsum(preference, axis=1, dtype=np.float64).astype(np.float32).T.copy()
    topic = np.zeros(len(users), dtype=np.int64)
    for k in range(cdf.shape[0] - 1):  # topic = how many CDF steps lie at or below the draw
        topic += cdf[k][users] <= draws
    return topic


def _sequence_fraction(users: np.ndarray, n_users: int) -> np.ndarray:
    """Each row's relative position in its user's sequence, 0 (first) .. 1 (last)."""
    by_user = np.argsort(users, kind="stable")
    counts = np.bincount(users, minlength=n_users)
    starts = np.cumsum(counts) - counts
    position = np.empty(len(users), dtype=np.int64)
    position[by_user] = np.arange(len(users)) - np.repeat(starts, counts)
    return position / np.maximum(counts[users] - 1, 1)


def _power_law_rank(u: np.ndarray, size: np.ndarray | int, exponent: float) -> np.ndarray:
    """0-based ranks in ``[0, size)`` with P(rank r) ~ 1 / (r + 1)**exponent.

    Uses the inverse CDF of the continuous power law on ``[1, size + 1)``, floored: exact
    in shape, O(1) per draw (no search over the ranks).
    """
    size = np.asarray(size, dtype=np.float64)
    if exponent == 0:
        x = u * size + 1.0
    elif exponent == 1:
        x = np.exp(u * np.log1p(size))
    else:
        a = 1.0 - exponent
        x = (1.0 + u * ((size + 1.0) ** a - 1.0)) ** (1.0 / a)
    return np.clip(np.floor(x).astype(np.int64) - 1, 0, np.maximum(size.astype(np.int64) - 1, 0))
