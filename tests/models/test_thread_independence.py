"""Every built-in torch model trains to the same numbers with 1 and with 2 CPU threads (issue #20, item 3).

The README promises that results never depend on the thread count. Each model is fitted
for two epochs on small generated sequences, once per thread count, with the same seed;
scores and the per-epoch losses must be bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from recplug.contract import FitOptions, TrainData
from recplug.data.interactions import Interactions
from recplug.discovery import discover, load_model_class
from recplug.testing.checks import to_numpy
from recplug.testing.generated import batch_of, chains

EPOCHS = 2


def torch_models() -> list[str]:
    """Built-in models trained by torch (those that can run on CUDA or train in epochs)."""
    names = sorted(info.name for info in discover(load=True)
                   if info.dist == "recplug" and info.tags is not None
                   and (info.tags.supports_cuda or info.tags.iterative))
    assert {"bpr", "sasrec"} <= set(names), f"built-in torch models not discovered: {names}"
    return names


@pytest.fixture(scope="module")
def data():
    # 64 users x 16 items: one SASRec batch of 64 x 50 positions, one BPR batch of 1024 pairs;
    # large enough that torch's CPU kernels split the work between threads
    return chains(seed=3, n_users=64, n_items=60, length=16)


def train_for(cls, data) -> TrainData:
    """Rating models need ratings: the same rows, rated 1..5 from a seeded draw."""
    if cls.tags.task != "rating":
        return data.train
    rows = data.train.interactions
    ratings = np.random.default_rng(0).integers(1, 6, len(rows)).astype(np.float32)
    return TrainData(Interactions(rows.users, rows.items, rows.user_vocab, rows.item_vocab,
                                  rows.timestamps, ratings, name="rated-chains"))


def fitted(name: str, data, threads: int):
    cls, _ = load_model_class(name)
    model = cls().fit(train_for(cls, data), FitOptions(device="cpu", seed=11, threads=threads, max_epochs=EPOCHS))
    scores = to_numpy(model.score(batch_of(data.train, data.users)))
    losses = [report.loss for report in model.train_result_.history]
    return scores, losses


@pytest.mark.parametrize("name", torch_models())
def test_scores_and_losses_do_not_depend_on_threads(name, data):
    one_scores, one_losses = fitted(name, data, threads=1)
    two_scores, two_losses = fitted(name, data, threads=2)
    assert len(one_losses) == EPOCHS
    differing = int((one_scores != two_scores).sum())
    assert differing == 0, (f"{name}: {differing} of {one_scores.size} scores differ between 1 and 2 threads "
                            f"(max |diff| {np.abs(one_scores - two_scores).max():.3g})")
    assert one_losses == two_losses, f"{name}: epoch losses {one_losses} (1 thread) vs {two_losses} (2 threads)"
