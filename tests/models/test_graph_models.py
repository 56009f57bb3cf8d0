"""GCN, NGCF and LightGCN: conformance, the propagation they compute, determinism, a sanity bar."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recplug.models.baselines.pop import Popularity
from recplug.models.graph.gcn import GCN, mean_aggregation
from recplug.models.graph.lightgcn import LightGCN
from recplug.models.graph.ngcf import NGCF
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, clustered, hit_rate, options

SMALL = {"factors": 8, "batch_size": 64, "layers": 2}


@parametrize_models(
    (LightGCN, SMALL),
    (NGCF, SMALL),
    (GCN, SMALL),
)
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return clustered(seed=5)


def test_lightgcn_vectors_are_the_mean_of_the_propagated_layers(gen):
    model = LightGCN(factors=8, layers=3, epochs=2, batch_size=256).fit(gen.train, options(seed=2))
    csr = gen.train.csr
    adjacency = sp.bmat([[None, csr], [csr.T, None]]).toarray()
    degree = adjacency.sum(axis=1)
    scale = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1)), 0.0)
    norm = scale[:, None] * adjacency * scale[None, :]
    ego = np.vstack([model.module_.users.weight.detach().numpy(), model.module_.items.weight.detach().numpy()])
    layers = [ego]
    for _ in range(3):
        layers.append(norm @ layers[-1])
    expected = np.mean(layers, axis=0)
    n_users = gen.train.n_users
    np.testing.assert_allclose(model.module_.user_out.numpy(), expected[:n_users], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.module_.item_out.numpy(), expected[n_users:], rtol=1e-4, atol=1e-6)
    scores = to_numpy(model.score(batch_of(gen.train, gen.users[:5])))
    np.testing.assert_allclose(scores, expected[gen.users[:5]] @ expected[n_users:].T, rtol=1e-4, atol=1e-5)


def test_fused_and_chained_propagation_train_the_same_model(gen):
    params = dict(factors=8, epochs=3, batch_size=256)
    batch = batch_of(gen.train, gen.users[:30])
    fused = to_numpy(LightGCN(**params).fit(gen.train, options(seed=3)).score(batch))
    chained = to_numpy(LightGCN(**params, fused=False).fit(gen.train, options(seed=3)).score(batch))
    np.testing.assert_allclose(fused, chained, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [LightGCN, NGCF, GCN])
def test_same_seed_same_scores_other_seed_differs(cls, gen):
    batch = batch_of(gen.train, gen.users[:40])
    params = dict(factors=8, epochs=2, batch_size=256)
    a = to_numpy(cls(**params).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(cls(**params).fit(gen.train, options(seed=1)).score(batch))
    c = to_numpy(cls(**params).fit(gen.train, options(seed=2)).score(batch))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls,params", [
    (LightGCN, dict(lr=2e-2)),
    (GCN, dict(lr=1e-2)),
    (NGCF, dict(lr=1e-2)),
])
def test_beats_popularity_on_clustered_data(cls, params, gen):
    model = cls(factors=16, epochs=12, batch_size=512, **params).fit(gen.train, options(seed=0))
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.2


def test_training_validation_sees_the_current_weights(gen):
    """Validations during the fit propagate the weights of that moment (not a stale cache)."""
    seen = []

    def validator(model):
        seen.append(to_numpy(model.score(batch_of(gen.train, gen.users[:3]))))
        return float(len(seen))  # always improving: the last weights are kept

    validator.metric = "count"
    model = LightGCN(factors=8, epochs=3, eval_every=1, batch_size=256).fit(
        gen.train, options(seed=4, validator=validator, patience=10))
    assert len(seen) == 3 and not np.array_equal(seen[0], seen[1])
    np.testing.assert_array_equal(seen[-1], to_numpy(model.score(batch_of(gen.train, gen.users[:3]))))


def test_ngcf_concatenates_layers_and_drops_nothing_when_scoring(gen):
    model = NGCF(factors=8, layers=3, epochs=1, batch_size=256).fit(gen.train, options(seed=0))
    assert tuple(model.module_.user_out.shape) == (gen.train.n_users, 32)
    batch = batch_of(gen.train, gen.users[:10])
    np.testing.assert_array_equal(to_numpy(model.score(batch)), to_numpy(model.score(batch)))
    layers = model.module_.item_out[:, 8:].reshape(gen.train.n_items, 3, 8)
    norms = layers.norm(dim=2)
    assert torch.allclose(norms[norms > 0], torch.ones_like(norms[norms > 0]), atol=1e-5)  # normalised layers


def test_gcn_aggregation_is_a_row_mean_with_self_loops(gen):
    graph = mean_aggregation(gen.train.csr)
    dense = graph.scipy().toarray()
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, rtol=1e-6)
    assert (np.diag(dense) > 0).all() and not graph.symmetric
    np.testing.assert_allclose(graph.transpose().scipy().toarray(), dense.T)
