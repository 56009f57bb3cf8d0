"""A user's scores are bit-identical whatever the score batch size or thread count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.models.mf.bpr import BPR
from recplug.models.baselines.ease import EASE
from recplug.models.baselines.itemknn import ItemKNN
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.sasrec import SASRec
from recplug.testing.generated import batch_of, chains, clustered, options
from recplug.testing import to_numpy

CASES = [
    pytest.param(Popularity, {}, "clustered", id="pop"),
    pytest.param(ItemKNN, {"k": 10}, "clustered", id="itemknn"),
    pytest.param(EASE, {"l2": 50.0}, "clustered", id="ease"),
    pytest.param(BPR, {"epochs": 2}, "clustered", id="bpr"),
    pytest.param(SASRec, {"epochs": 2, "loss": "ce", "max_len": 20}, "chains", id="sasrec"),
]


@pytest.mark.parametrize("cls,params,data", CASES)
def test_scores_do_not_depend_on_batch_size_or_threads(cls, params, data):
    gen = clustered(seed=0) if data == "clustered" else chains(seed=0)
    users = gen.users[:150]
    model = cls(**params).fit(gen.train, options())
    full = to_numpy(model.score(batch_of(gen.train, users)))
    for size in (1, 7, 64, 100):
        parts = np.concatenate([to_numpy(model.score(batch_of(gen.train, users[s:s + size])))
                                for s in range(0, len(users), size)])
        np.testing.assert_array_equal(parts, full, err_msg=f"batch size {size}")
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            np.testing.assert_array_equal(to_numpy(model.score(batch_of(gen.train, users))), full)
    finally:
        torch.set_num_threads(before)
