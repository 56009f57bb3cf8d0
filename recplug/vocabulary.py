"""The words recplug's evaluation speaks: metric keys, tie policies, negative samplers,
the rating task's metrics and which metrics are better low.

One home for each vocabulary, imported by the kernels, the evaluation settings, the
leaderboard and the torch ranking path alike. A leaf module: it imports nothing from recplug.
"""

from __future__ import annotations

import re

#: per-user ranking metrics, in the kernels' output order
METRICS = ("hr", "recall", "ndcg", "mrr", "precision", "map")
#: how metric keys are displayed (NDCG@10 ...)
DISPLAY = {"hr": "HR", "recall": "Recall", "ndcg": "NDCG", "mrr": "MRR",
           "precision": "Precision", "map": "MAP"}
#: tie policies, the default first
TIES = ("random", "pessimistic", "optimistic")
#: tier each tie policy gives a row's targets: above (+1), below (-1) or level with (0) equal scores
TIE_TIER = {"random": 0, "pessimistic": -1, "optimistic": 1}
#: the native kernels' code for each tie policy
TIE_CODES = {"random": 0, "optimistic": 1, "pessimistic": 2}
#: how sampled evaluation draws its negatives
SAMPLERS = ("uniform", "popularity")
#: the protocol of rating-prediction runs (ranking runs are "full" or "sampled:N:sampler")
RATING_PROTOCOL = "rating"
#: the rating task's metrics, in display order (error metrics over all held-out ratings, FCP)
RATING_METRICS = ("RMSE", "MAE", "FCP")
#: the per-user array a rating metric is paired on: each user's mean squared / absolute error
RATING_PER_USER = {"RMSE": "squared_error", "MAE": "absolute_error"}
#: metric families (lowercase letters only) where lower is better: errors, popularity bias,
#: concentration
LOWER_IS_BETTER = frozenset({"rmse", "mae", "gini", "arp", "avgpop", "averagepopularity"})


def higher_is_better(metric: str) -> bool:
    """False for error/bias metrics (RMSE, MAE, Gini@K, ARP@K, ...), True otherwise."""
    family = metric.split("@", 1)[0]
    return re.sub(r"[^a-z]", "", family.lower()) not in LOWER_IS_BETTER
