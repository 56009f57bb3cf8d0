"""Item2Vec: skip-gram pairs per user, subsampling, negatives, history-mean scoring, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import ScoreBatch
from recplug.errors import ConfigError
from recplug.models.baselines.pop import Popularity
from recplug.models.embeddings.item2vec import Item2Vec, keep_probabilities
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, clustered, hit_rate, options
from recplug.training.constraints import check_model_params, search_space
from recplug.training.sequences import skipgram_pairs

FAST = dict(factors=16, batch_size=256, lr=1e-2, epochs=15, subsample=None)


@pytest.fixture(scope="module")
def gen():
    return clustered(seed=5)


@parametrize_models((Item2Vec, {"factors": 8, "batch_size": 256, "window": 3, "similarity": "cosine"}),
                    (Item2Vec, {"factors": 8, "batch_size": 256, "window": None}))
def test_conformance(model_check):
    model_check()


def prepared(train, **params):
    model = Item2Vec(**params)
    model.device_ = torch.device("cpu")  # what fit sets before prepare
    model.prepare(train, options())
    return model


def test_keep_probabilities_are_word2vecs_formula():
    counts = np.array([0, 1, 10, 100, 889])
    keep = keep_probabilities(counts, 1e-2)
    frequency = counts / counts.sum()
    np.testing.assert_allclose(keep[1:], np.minimum(1, np.sqrt(1e-2 / frequency[1:])))
    assert keep[0] == 1.0 and keep[-1] < keep[-2] < 1.0 and keep[1] == 1.0
    np.testing.assert_array_equal(keep_probabilities(counts, None), np.ones(5))


def test_pairs_without_subsampling_are_the_skipgram_pairs_with_their_users(gen):
    train = gen.train
    users, centers, contexts = prepared(train, window=2, subsample=None).pairs(seed=3)
    expected = skipgram_pairs(train.seq_indptr, train.seq_items, 2)
    np.testing.assert_array_equal(centers, expected[0])
    np.testing.assert_array_equal(contexts, expected[1])
    dense = train.csr.toarray() > 0
    assert dense[users, centers].all() and dense[users, contexts].all()  # never across users
    np.testing.assert_array_equal(np.bincount(users, minlength=train.n_users)[:3],
                                  [len(skipgram_pairs(train.seq_indptr[u:u + 2] - train.seq_indptr[u],
                                                      train.sequence(u), 2)[0]) for u in range(3)])


def test_subsampling_drops_frequent_items_more_and_depends_on_the_seed(gen):
    train = gen.train
    model = prepared(train, window=None, subsample=1e-2)
    full = np.bincount(prepared(train, window=None, subsample=None).pairs(seed=1)[1], minlength=train.n_items)
    kept = np.bincount(model.pairs(seed=1)[1], minlength=train.n_items)
    counts = np.bincount(train.seq_items, minlength=train.n_items)
    frequent, rare = np.argsort(-counts)[:10], np.argsort(counts)[:10]
    assert (kept[frequent] / full[frequent]).mean() < (kept[rare] / np.maximum(full[rare], 1)).mean()
    np.testing.assert_array_equal(model.pairs(seed=1)[1], model.pairs(seed=1)[1])
    assert not np.array_equal(model.pairs(seed=1)[1], model.pairs(seed=2)[1])


def epoch_examples(model, seed):
    """One epoch's (centers, contexts, negatives) as NumPy arrays, batches concatenated."""
    return [torch.cat(column).numpy() for column in zip(*model.epoch_batches(1, seed=seed))]


def test_negatives_are_never_the_pair_users_items_and_follow_neg_alpha(gen):
    train = gen.train
    dense = train.csr.toarray() > 0
    popular = np.argsort(-train.item_user_counts())[:10]
    shares = []
    for alpha in (0.0, 1.0):
        model = prepared(train, window=3, negatives=4, neg_alpha=alpha)
        users, centers, _ = model.pairs(seed=0)
        _, _, negatives = epoch_examples(model, seed=0)
        assert negatives.shape == (len(users), 4)
        # the examples are shuffled: recover each negative's user through its (unique) order
        order = np.random.default_rng(0).permutation(len(users))
        assert not dense[users[order][:, None], negatives].any()
        shares.append(np.isin(negatives, popular).mean())
    assert shares[1] > shares[0] + 0.02  # popularity ** 1 draws the popular items more often than ** 0


def test_learns_clusters_better_than_popularity(gen):
    model = Item2Vec(**FAST).fit(gen.train, options())
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.3


@pytest.mark.parametrize("similarity", ["cosine", "context"])
def test_a_users_vector_is_the_mean_over_the_distinct_history_items(gen, similarity):
    model = Item2Vec(**dict(FAST, epochs=2, similarity=similarity)).fit(gen.train, options())
    u = model.module_.inputs.weight.detach().numpy().astype(np.float64)
    v = model.module_.outputs.weight.detach().numpy().astype(np.float64)
    if similarity == "cosine":
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
    items = v if similarity == "context" else u
    history = np.array([[3, 7, 3, 11], [5, -1, -1, -1]], dtype=np.int32)  # item 3 twice: counted once
    batch = ScoreBatch(np.array([0, 0], np.int32), history, np.array([4, 1], np.int32), gen.train.n_items)
    expected = np.stack([u[[3, 7, 11]].mean(0), u[5]]) @ items.T
    np.testing.assert_allclose(to_numpy(model.score(batch)), expected, rtol=1e-5, atol=1e-6)
    users, item_vecs, bias = model.latent_factors(batch)
    assert bias is None
    np.testing.assert_allclose((users @ item_vecs.T).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_scores_follow_the_batch_history_not_the_user_id(gen):
    model = Item2Vec(**dict(FAST, epochs=2)).fit(gen.train, options())
    a = batch_of(gen.train, np.array([4, 9]))
    swapped = ScoreBatch(np.array([9, 4], np.int32), a.histories, a.lengths, gen.train.n_items)
    np.testing.assert_array_equal(to_numpy(model.score(a)), to_numpy(model.score(swapped)))
    empty = ScoreBatch(np.array([1], np.int32), np.full((1, 1), -1, np.int32), np.array([0], np.int32),
                       gen.train.n_items)
    np.testing.assert_array_equal(to_numpy(model.score(empty)), 0.0)


def test_scores_do_not_depend_on_the_batch(gen):
    model = Item2Vec(**dict(FAST, epochs=2)).fit(gen.train, options())
    whole = to_numpy(model.score(batch_of(gen.train, gen.users)))
    parts = np.concatenate([to_numpy(model.score(batch_of(gen.train, gen.users[s:s + 17])))
                            for s in range(0, len(gen.users), 17)])
    np.testing.assert_array_equal(whole, parts)
    fused = np.concatenate([(lambda f: (f[0] @ f[1].T).detach().numpy())(model.latent_factors(batch_of(gen.train, users)))
                            for users in (gen.users[:5], gen.users[5:])])
    np.testing.assert_allclose(fused, whole, rtol=1e-6, atol=1e-6)


def test_same_seed_same_scores_other_seed_differs(gen):
    batch = batch_of(gen.train, gen.users[:30])
    params = dict(FAST, epochs=2, subsample=1e-2)
    a = to_numpy(Item2Vec(**params).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(Item2Vec(**params).fit(gen.train, options(seed=1)).score(batch))
    c = to_numpy(Item2Vec(**params).fit(gen.train, options(seed=2)).score(batch))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("params, message", [
    ({"window": 0}, r"window=0 is not allowed"),
    ({"subsample": 0.0}, r"subsample=0.0 is not allowed"),
    ({"neg_alpha": -0.5}, r"neg_alpha=-0.5 is not allowed"),
    ({"negatives": 0}, r"negatives=0 is not allowed"),
    ({"similarity": "dot"}, r"similarity='dot' is not allowed; similarity must be one of 'context', 'cosine'"),
])
def test_declared_constraints_reject_without_data(params, message):
    with pytest.raises(ConfigError, match=message):
        check_model_params(Item2Vec, Item2Vec(**params).get_params())


def test_search_space_covers_the_hyperparameters_that_matter():
    space = search_space(Item2Vec)
    assert {"window", "neg_alpha", "subsample", "factors", "negatives", "lr"} <= set(space)
    assert "epochs" not in space
