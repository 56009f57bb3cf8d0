"""The words recplug's evaluation speaks: metric keys, tie policies, negative samplers.

One home for each vocabulary, imported by the kernels, the evaluation settings and the
torch ranking path alike. A leaf module: it imports nothing from recplug.
"""

from __future__ import annotations

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
