"""BPR-MF: training triples, determinism, sanity bar, trainer integration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import EpochReport, TrainData
from recplug.errors import ConfigError, ModelError
from recplug.models.mf.bpr import BPR
from recplug.models.baselines.pop import Popularity
from recplug.testing.generated import batch_of, clustered, hit_rate, options
from recplug.testing import to_numpy


FAST = dict(epochs=30, batch_size=256, lr=5e-3)


@pytest.fixture(scope="module")
def gen():
    return clustered(seed=7)


def bpr_triples(train, seed):
    model = BPR()
    model.prepare(train, options())
    return model.triples(seed)


def test_triples_cover_each_positive_once_with_a_true_negative(gen):
    csr = gen.train.csr
    users, pos, neg = bpr_triples(gen.train, seed=3)
    assert users.dtype == pos.dtype == neg.dtype == np.int64
    assert len(users) == csr.nnz
    dense = csr.toarray() > 0
    assert dense[users, pos].all()          # every positive pair ...
    assert len(set(zip(users.tolist(), pos.tolist()))) == csr.nnz  # ... exactly once
    assert not dense[users, neg].any()      # never a positive as a negative
    assert ((neg >= 0) & (neg < csr.shape[1])).all()
    again = bpr_triples(gen.train, seed=3)[2]
    other = bpr_triples(gen.train, seed=4)[2]
    np.testing.assert_array_equal(neg, again)
    assert not np.array_equal(neg, other)


def test_scores_shape_dtype_device_and_beats_popularity(gen):
    model = BPR(**FAST).fit(gen.train, options())
    scores = model.score(batch_of(gen.train, gen.users[:17]))
    assert isinstance(scores, torch.Tensor) and scores.dtype == torch.float32
    assert tuple(scores.shape) == (17, gen.train.n_items) and scores.device.type == "cpu"
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.3


def test_same_seed_same_scores_other_seed_differs(gen):
    batch = batch_of(gen.train, gen.users[:40])
    params = dict(FAST, epochs=3)
    a = to_numpy(BPR(**params).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(BPR(**params).fit(gen.train, options(seed=1)).score(batch))
    c = to_numpy(BPR(**params).fit(gen.train, options(seed=2)).score(batch))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_max_epochs_overrides_and_progress_reports_loss(gen):
    reports: list[EpochReport] = []
    model = BPR(**FAST).fit(gen.train, options(max_epochs=4, progress=reports.append))
    assert model.train_result_.epochs_run == 4
    assert [r.epoch for r in reports] == [1, 2, 3, 4]
    assert reports[-1].loss < reports[0].loss


def test_early_stopping_uses_the_validator_on_scores(gen):
    class HR:
        metric = "HR@10"

        def __call__(self, model):
            return hit_rate(model, gen)

    model = BPR(**FAST).fit(gen.train, options(validator=HR(), patience=2, max_epochs=200))
    result = model.train_result_
    assert result.stopped == "early_stopping" and result.epochs_run < 200
    assert hit_rate(model, gen) == result.best_validation


def test_errors(gen):
    with pytest.raises(ModelError, match="before fit"):
        BPR().score(batch_of(gen.train, gen.users[:2]))
    with pytest.raises(ConfigError, match="factors"):
        BPR(factors=0).fit(gen.train, options())
    with pytest.raises(ConfigError, match="reg"):
        BPR(reg=-1.0).fit(gen.train, options())
    assert BPR(factors=8).clone().get_params()["factors"] == 8


def test_a_user_who_consumed_every_item_is_left_out_of_training():
    from recplug.testing.generated import make_train

    # user 0 has all 4 items; user 1 has two
    train = make_train(np.array([0, 0, 0, 0, 1, 1]), np.array([0, 1, 2, 3, 0, 2]), 2, 4)
    users, pos, neg = bpr_triples(train, seed=0)
    assert users.tolist() == [1, 1] and sorted(pos.tolist()) == [0, 2]
    assert set(neg.tolist()) <= {1, 3}
    model = BPR(factors=4, epochs=2).fit(train, options())
    assert torch.isfinite(model.score(batch_of(train, np.array([0, 1])))).all()


def test_evaluation_takes_the_fused_factor_path_with_the_same_metrics(gen, monkeypatch):
    from recplug import kernels
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    split = make_split(generate(60, 50, 900, seed=2), "loo", seed=0)
    model = BPR(factors=8, epochs=2).fit(TrainData(split.train), options())
    calls = []
    fused = kernels.fused_topk
    monkeypatch.setattr(kernels, "fused_topk", lambda *a, **kw: calls.append(1) or fused(*a, **kw))
    via_factors = evaluate(model, split, "test", EvalConfig(ks=(5, 10)))
    assert calls, "BPR evaluation did not go through kernels.fused_topk"
    calls.clear()
    via_scores = evaluate(model, split, "test", EvalConfig(ks=(5, 10), use_factors=False))
    assert not calls
    for name in via_scores.per_user:
        np.testing.assert_array_equal(via_factors.per_user[name], via_scores.per_user[name], err_msg=name)


def test_declared_constraints_reject_before_any_data():
    from recplug.training.constraints import check_model_params

    with pytest.raises(ConfigError, match=r"lr=-1 is not allowed; lr must be a real number > 0"):
        check_model_params(BPR, BPR(lr=-1).get_params())
