"""GMF, MLP and NeuMF (He et al. 2017): the kit, the tower, the pointwise training, the fused GMF path,
scores equal to the training logits, and NeuMF's pretraining."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import TrainData
from recplug.errors import ConfigError
from recplug.models.baselines.pop import Popularity
from recplug.models.ncf import _towers
from recplug.models.ncf.gmf import GMF
from recplug.models.ncf.mlp import MLP
from recplug.models.ncf.neumf import NeuMF
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, clustered, hit_rate, options
from recplug.training.seeding import derive_seed

SMALL = {"factors": 4, "batch_size": 64}


@parametrize_models(
    (GMF, SMALL),
    (MLP, {**SMALL, "layers": 2}),
    (NeuMF, {**SMALL, "layers": 2, "pretrain": False}),
    (NeuMF, {**SMALL, "layers": 1, "pretrain": True, "pretrain_epochs": 1}),
)
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return clustered(seed=7)


def test_tower_halves_from_twice_the_embedding_to_the_predictive_factors():
    assert _towers.tower_sizes(8, 3) == [32, 16, 8]          # the paper's [64, 32, 16, 8]
    assert _towers.tower_sizes(16, 1) == [16]
    branch = _towers.mlp_branch(5, 7, 8, 3, 0.01)
    linears = [m for m in branch.tower if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 16), (16, 8)]
    assert branch.users.embedding_dim == branch.items.embedding_dim == 32
    assert sum(isinstance(m, torch.nn.ReLU) for m in branch.tower) == 3


@pytest.mark.parametrize("cls,params", [(GMF, {}), (MLP, {}), (NeuMF, {"pretrain": False}),
                                        (NeuMF, {"pretrain_epochs": 5})])
def test_each_model_learns_the_clusters(cls, params, gen):
    model = cls(epochs=10, lr=5e-3, batch_size=256, **params).fit(gen.train, options())
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.5


@pytest.mark.parametrize("cls,params", [(MLP, {"layers": 2}), (NeuMF, {"layers": 2, "pretrain_epochs": 1}), (GMF, {})])
def test_scores_are_the_training_logits_of_every_pair_whatever_the_item_chunk(cls, params, gen, monkeypatch):
    # the scoring path splits the first tower layer and runs items in chunks; it must give the
    # logits training optimises, also when the items span several chunks
    monkeypatch.setattr(_towers, "ITEM_CHUNK", 7)
    model = cls(factors=4, epochs=2, **params).fit(gen.train, options())
    users = gen.users[:9]
    scores = to_numpy(model.score(batch_of(gen.train, users)))
    n = gen.train.n_items
    with torch.no_grad():
        u = torch.as_tensor(np.repeat(users, n), dtype=torch.int64)
        i = torch.as_tensor(np.tile(np.arange(n), len(users)), dtype=torch.int64)
        logits = model.pair_logits(u, i)[0].numpy().reshape(len(users), n)
    np.testing.assert_allclose(scores, logits, rtol=1e-5, atol=1e-6)


def test_one_epoch_trains_on_each_positive_and_n_negatives(gen):
    model = MLP(n_negatives=3)
    model.prepare(gen.train, options())
    model.device_ = torch.device("cpu")
    users, items, labels = model.examples(seed=5)
    nnz = gen.train.csr.nnz
    assert len(users) == 4 * nnz and labels.sum() == nnz
    dense = gen.train.csr.toarray() > 0
    assert dense[users[labels == 1], items[labels == 1]].all()
    assert not dense[users[labels == 0], items[labels == 0]].any()
    batches = list(model.epoch_batches(1, seed=5))
    assert sum(len(b[0]) for b in batches) == 4 * nnz and max(len(b[0]) for b in batches) == model.batch_size


def test_gmf_evaluation_takes_the_fused_factor_path_with_the_same_metrics(monkeypatch):
    from recplug import kernels
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    split = make_split(generate(60, 50, 900, seed=2), "loo", seed=0)
    model = GMF(factors=4, epochs=2).fit(TrainData(split.train), options())
    calls = []
    fused = kernels.fused_topk
    monkeypatch.setattr(kernels, "fused_topk", lambda *a, **kw: calls.append(1) or fused(*a, **kw))
    via_factors = evaluate(model, split, "test", EvalConfig(ks=(5, 10)))
    assert calls, "GMF evaluation did not go through kernels.fused_topk"
    calls.clear()
    via_scores = evaluate(model, split, "test", EvalConfig(ks=(5, 10), use_factors=False))
    assert not calls
    for name in via_scores.per_user:
        np.testing.assert_array_equal(via_factors.per_user[name], via_scores.per_user[name], err_msg=name)


def test_pretrained_neumf_starts_from_alpha_weighted_gmf_and_mlp(gen):
    # with a vanishing fine-tuning step the NeuMF scores are alpha·GMF + (1 - alpha)·MLP of the
    # two pretraining fits (same hyperparameters, seeds derived from the fit seed)
    shared = dict(factors=4, lr=5e-3, reg=1e-3, batch_size=128, init_std=0.05)
    alpha, seed = 0.3, 4
    neumf = NeuMF(layers=2, pretrain=True, pretrain_epochs=3, alpha=alpha, finetune_lr=1e-30, **shared)
    reports = []
    neumf.fit(gen.train, options(seed=seed, max_epochs=1, progress=reports.append))
    assert len(reports) == 1  # pretraining epochs are not NeuMF's epochs
    gmf = GMF(epochs=3, **shared).fit(gen.train, options(seed=derive_seed(seed, "pretrain", "gmf")))
    mlp = MLP(layers=2, epochs=3, **shared).fit(gen.train, options(seed=derive_seed(seed, "pretrain", "mlp")))
    batch = batch_of(gen.train, gen.users[:20])
    expected = alpha * to_numpy(gmf.score(batch)) + (1 - alpha) * to_numpy(mlp.score(batch))
    np.testing.assert_allclose(to_numpy(neumf.score(batch)), expected, rtol=1e-4, atol=1e-5)
    assert isinstance(neumf.optimizer(neumf.module_), torch.optim.SGD)
    assert isinstance(NeuMF(pretrain=False).optimizer(neumf.module_), torch.optim.Adam)


def test_ctrl_c_during_pretraining_stops_the_whole_fit(gen, monkeypatch):
    def interrupted(self, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(GMF, "batch_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        NeuMF(factors=4, pretrain=True, pretrain_epochs=2).fit(gen.train, options(max_epochs=1))


@pytest.mark.parametrize("cls,params,message", [
    (GMF, {"factors": 0}, r"GMF: factors=0 is not allowed; factors must be an integer >= 1"),
    (MLP, {"layers": 0}, r"MLP: layers=0 is not allowed"),
    (NeuMF, {"alpha": 1.5}, r"NeuMF: alpha=1.5 is not allowed; alpha must be a real number"),
    (NeuMF, {"pretrain": 1}, r"pretrain=1 is not allowed; pretrain must be a boolean"),
    (NeuMF, {"n_negatives": 0}, r"n_negatives=0 is not allowed"),
])
def test_declared_constraints_reject_before_any_data(cls, params, message, gen):
    with pytest.raises(ConfigError, match=message):
        cls(**params).fit(gen.train, options())


def test_same_seed_same_scores_other_seed_differs(gen):
    batch = batch_of(gen.train, gen.users[:30])
    fit = lambda seed: to_numpy(NeuMF(factors=4, epochs=2, pretrain_epochs=1).fit(gen.train, options(seed=seed)).score(batch))
    np.testing.assert_array_equal(fit(1), fit(1))
    assert not np.array_equal(fit(1), fit(2))
