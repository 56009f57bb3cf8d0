"""rnn, seq2seq, attn and narm: the conformance kit, learning the order, padding that changes
nothing, determinism, scores that do not depend on the evaluation batch size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.errors import ConfigError
from recplug.evaluation.config import EvalConfig
from recplug.evaluation.evaluator import evaluate
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.attn import AttentionPooling
from recplug.models.sequential.narm import NARM
from recplug.models.sequential.rnn import RNN, recurrent_states
from recplug.models.sequential.seq2seq import Seq2Seq
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, chains, hit_rate, options

SMALL = {"max_len": 8, "batch_size": 32}
MODELS = [
    (RNN, dict(SMALL, embedding=16, hidden=16)),
    (RNN, dict(SMALL, cell="lstm", embedding=16, hidden=24, n_layers=2, loss="bce")),
    (Seq2Seq, dict(SMALL, embedding=16, hidden=16)),
    (AttentionPooling, dict(SMALL, embedding=16, attention=8, loss="sampled", n_negatives=4)),
    (NARM, dict(SMALL, embedding=16, hidden=16)),
]


@parametrize_models(*MODELS)
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return chains(seed=0, n_users=120, length=12)


LEARN = dict(epochs=8, lr=1e-2, batch_size=64, max_len=8, embedding=16)


@pytest.mark.parametrize("cls,params", [(RNN, dict(hidden=16)), (RNN, dict(cell="lstm", hidden=16)),
                                        (Seq2Seq, dict(hidden=16)), (AttentionPooling, dict(attention=16)),
                                        (NARM, dict(hidden=16))])
def test_learns_the_order(gen, cls, params):
    model = cls(**LEARN, **params).fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(Popularity().fit(gen.train, options()), gen) + 0.4


@pytest.fixture(scope="module")
def fitted(gen):
    return {cls: cls(**dict(LEARN, epochs=1), **params).fit(gen.train, options())
            for cls, params in [(RNN, {}), (Seq2Seq, {}), (AttentionPooling, {}), (NARM, {})]}


@pytest.mark.parametrize("cls", [RNN, Seq2Seq, AttentionPooling, NARM])
def test_left_padding_changes_nothing(fitted, cls):
    """A history's vector is the same whatever the padding in front of it (state kept at the start)."""
    model = fitted[cls]
    items = torch.tensor([[5, 9, 2], [0, 7, 3]])
    padded = torch.cat([torch.zeros(2, 5, dtype=torch.int64), items], dim=1)
    with torch.no_grad():
        np.testing.assert_allclose(model.encode(padded).numpy(), model.encode(items).numpy(), rtol=1e-5, atol=1e-6)


def test_recurrent_states_are_those_of_the_unpadded_sequence():
    torch.manual_seed(0)
    for training in (True, False):
        gru = torch.nn.GRU(4, 6, batch_first=True).train(training)
        seqs = torch.tensor([[0, 0, 3, 1], [2, 5, 4, 1], [0, 0, 0, 0]])
        x = torch.randn(3, 4, 4)
        states = recurrent_states(gru, x, seqs)
        alone, _ = gru(x[:1, 2:])
        torch.testing.assert_close(states[0, 2:], alone[0])
        torch.testing.assert_close(states[1], gru(x[1:2])[0][0])
        assert torch.isfinite(states).all()


@pytest.mark.parametrize("cls", [RNN, Seq2Seq, AttentionPooling, NARM])
def test_scores_and_factors_do_not_depend_on_the_evaluation_batch(gen, fitted, cls):
    model = fitted[cls]
    users = gen.users[:70]
    whole = to_numpy(model.score(batch_of(gen.train, users)))
    parts = np.concatenate([to_numpy(model.score(batch_of(gen.train, users[i:i + 9]))) for i in range(0, 70, 9)])
    np.testing.assert_array_equal(whole, parts)
    vecs = model.latent_factors(batch_of(gen.train, users))[0].numpy()
    vec_parts = np.concatenate([model.latent_factors(batch_of(gen.train, users[i:i + 13]))[0].numpy()
                                for i in range(0, 70, 13)])
    np.testing.assert_array_equal(vecs, vec_parts)


@pytest.mark.parametrize("cls", [RNN, NARM])
def test_evaluation_is_identical_at_any_batch_size(cls):
    from recplug.contract import TrainData
    from recplug.data.synthetic import generate
    from recplug.splits import make_split

    split = make_split(generate(60, 50, 900, seed=2), "loo", seed=0)
    model = cls(**dict(LEARN, epochs=2)).fit(TrainData(split.train), options())
    for use_factors in (True, False):
        results = [evaluate(model, split, "test", EvalConfig(batch_size=size, use_factors=use_factors)).per_user
                   for size in (1, 7, 1024)]
        for name in results[0]:
            np.testing.assert_array_equal(results[0][name], results[1][name], err_msg=name)
            np.testing.assert_array_equal(results[0][name], results[2][name], err_msg=name)


@pytest.mark.parametrize("cls", [RNN, Seq2Seq, AttentionPooling, NARM])
def test_other_seed_other_scores(gen, cls):
    batch = batch_of(gen.train, gen.users[:20])
    a = to_numpy(cls(**dict(LEARN, epochs=1)).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(cls(**dict(LEARN, epochs=1)).fit(gen.train, options(seed=2)).score(batch))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("cls,bad,match", [
    (RNN, dict(cell="rnn"), "cell"), (RNN, dict(n_layers=0), "n_layers"), (Seq2Seq, dict(hidden=0), "hidden"),
    (AttentionPooling, dict(dropout=1.0), "dropout"), (NARM, dict(ct_dropout=1.0), "ct_dropout"),
    (NARM, dict(loss="bpr"), "loss"), (RNN, dict(n_negatives=0), "n_negatives"),
])
def test_bad_hyperparameters(gen, cls, bad, match):
    with pytest.raises(ConfigError, match=match):
        cls(**bad).fit(gen.train, options())


def test_narm_defaults_are_the_papers():
    params = NARM().get_params()
    assert (params["embedding"], params["hidden"], params["emb_dropout"], params["ct_dropout"],
            params["lr"], params["batch_size"], params["loss"]) == (50, 100, 0.25, 0.5, 1e-3, 512, "ce")
