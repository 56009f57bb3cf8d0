"""The evaluation benchmark compares like with like: its torch-only alternative computes the
same NDCG@10 as the recplug evaluator on the same embeddings (timings are not asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.bench.eval import EmbeddingModel, _torch_pipeline


def test_torch_alternative_gives_the_evaluators_ndcg():
    pytest.importorskip("torch")
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    split = make_split(generate(300, 120, 6000, seed=3), "loo")
    rng = np.random.default_rng(1)
    user_emb = rng.standard_normal((split.train.n_users, 16), dtype=np.float32)
    item_emb = rng.standard_normal((split.train.n_items, 16), dtype=np.float32)
    ours = evaluate(EmbeddingModel(user_emb, item_emb), split, "test",
                    EvalConfig(ks=(10, 20), threads=1, batch_size=64))
    theirs = _torch_pipeline(user_emb, item_emb, split.test_history().csr(), split.test_targets,
                             (10, 20), batch_size=64)
    assert theirs == pytest.approx(ours.summary["NDCG@10"], abs=1e-6)


def test_own_peak_rss_counts_the_child_only():
    """A fresh child reports its own peak, not the pages it shared with a big parent."""
    import subprocess
    import sys

    parent_block = np.ones(300 * 2**20 // 8)  # this process now holds > 300 MiB
    code = ("import numpy as np; from recplug.bench.eval import _own_peak_rss; "
            "b = np.ones(100 * 2**20 // 8); print(_own_peak_rss())")
    peak = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split()[-1])
    assert 100 * 2**20 <= peak < 300 * 2**20
    assert parent_block[-1] == 1.0
