"""BERT4Rec: the conformance kit, learning the order, the cloze training rows and the
test-time mask token."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.errors import ConfigError
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.bert4rec import BERT4Rec
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, chains, hit_rate, options
from recplug.training.constraints import check_model_params
from recplug.training.sequences import cloze_last

SMALL = dict(max_len=10, hidden=16, n_heads=2, batch_size=32, epochs=1)


@parametrize_models((BERT4Rec, SMALL))
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return chains(seed=0, n_users=150)


def test_learns_the_order(gen):
    model = BERT4Rec(max_len=16, hidden=32, batch_size=16, mask_prob=0.3, lr=5e-3, epochs=25).fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(Popularity().fit(gen.train, options()), gen) + 0.3


def test_scores_read_the_output_at_an_appended_mask_token(gen):
    model = BERT4Rec(**SMALL).fit(gen.train, options())
    users = np.array([0, 5, 9], np.int32)
    batch = batch_of(gen.train, users)
    scores = to_numpy(model.score(batch))
    n = gen.train.n_items
    seqs = torch.as_tensor(batch.recent(10, pad=0, shift=1))
    with torch.no_grad():
        hidden = model.module_(cloze_last(seqs, mask_id=n + 1))[:, -1, :]
        expected = hidden @ model.module_.items.weight[1:n + 1].T + model.module_.output_bias
    assert int(cloze_last(seqs, mask_id=n + 1)[0, -1]) == n + 1
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_cloze_batches_mask_items_anew_each_epoch(gen):
    model = BERT4Rec(**SMALL).fit(gen.train, options())
    model.prepare(gen.train, options())
    (m1, l1), (m2, _) = (next(iter(model.epoch_batches(e, seed=e))) for e in (1, 2))
    mask_id = gen.train.n_items + 1
    assert ((m1 == mask_id) == (l1 != 0)).all() and (l1 != 0).any(1).all()
    assert not torch.equal(m1 == mask_id, m2 == mask_id)


def test_leading_padding_columns_do_not_change_the_loss(gen):
    """batch_loss drops columns that are padding in every row: the same loss as the full rows."""
    model = BERT4Rec(**dict(SMALL, dropout=0.0)).fit(gen.train, options())
    model.module_.eval()
    rows = torch.tensor([[0, 0, 0, 0, 3, 61, 5], [0, 0, 0, 7, 8, 9, 61]])
    labels = torch.tensor([[0, 0, 0, 0, 0, 4, 0], [0, 0, 0, 0, 0, 0, 10]])
    with torch.no_grad():
        full = model.module_(rows)
        where = labels != 0
        logits = full[where] @ model.item_vectors().T + model.item_bias()
        expected = torch.nn.functional.cross_entropy(logits, labels[where] - 1)
        assert float(model.batch_loss((rows, labels))) == pytest.approx(float(expected), rel=1e-5)


def test_same_seed_same_scores(gen):
    batch = batch_of(gen.train, gen.users[:20])
    a, b, c = (to_numpy(BERT4Rec(**SMALL).fit(gen.train, options(seed=s)).score(batch)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("params,message", [
    (dict(hidden=10, n_heads=3), r"hidden \(10\) must be divisible by n_heads \(3\)"),
    (dict(mask_prob=0.0), r"mask_prob=0.0 is not allowed"),
    (dict(max_len=1), r"max_len=1 is not allowed"),
])
def test_declared_constraints(params, message):
    with pytest.raises(ConfigError, match=message):
        check_model_params(BERT4Rec, BERT4Rec(**params).get_params())
