"""Every built-in model passes the conformance kit third-party plugins use."""

from __future__ import annotations

from recplug.models.mf.bpr import BPR
from recplug.models.baselines.ease import EASE
from recplug.models.baselines.itemknn import ItemKNN
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.sasrec import SASRec
from recplug.testing import parametrize_models


@parametrize_models(
    Popularity,
    (ItemKNN, {"k": 10}),
    (EASE, {"l2": 10.0}),
    (BPR, {"factors": 8, "batch_size": 64}),
    (SASRec, {"max_len": 10, "hidden": 16, "batch_size": 32}),
    (SASRec, {"max_len": 10, "hidden": 16, "batch_size": 32, "loss": "ce"}),
)
def test_conformance(model_check):
    model_check()
