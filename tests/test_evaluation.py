"""The evaluator against an independent straightforward implementation and hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recplug.data import Interactions, Targets
from recplug.errors import ConfigError, EvaluationError
from recplug.evaluation import EvalConfig, SplitValidator, evaluate
from recplug.evaluation.evaluator import tie_priority
from recplug.evaluation.lists import gini
from recplug.splits.base import Split


class TableModel:
    """Scores from a fixed table [n_users, n_items]."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=np.float32)

    def score(self, batch):
        return self.table[batch.users].copy()


def make_split(n_users=40, n_items=30, seed=0, max_targets=4):
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        for i in rng.choice(n_items, size=rng.integers(1, 8), replace=False):
            users.append(u)
            items.append(i)
    inter = Interactions(np.array(users), np.array(items),
                         *_vocabs(n_users, n_items))
    valid = inter.with_rows(np.zeros(len(inter), bool))
    t_users, t_items = [], []
    seen = inter.csr()
    for u in range(n_users):
        if u % 7 == 3:
            continue  # users with no target are not evaluated
        free = np.setdiff1d(np.arange(n_items), seen[u].indices)
        for i in rng.choice(free, size=min(len(free), rng.integers(1, max_targets + 1)), replace=False):
            t_users.append(u)
            t_items.append(i)
    targets = Targets.from_pairs(np.array(t_users), np.array(t_items), n_users)
    return Split("test", {}, inter, valid, Targets.empty(n_users), targets)


def _vocabs(n_users, n_items):
    from recplug.data import Vocabulary

    return Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items))


def reference(table, split, ks, ties, seed):
    """Plain-Python full ranking: sort every non-history item by (score, tier, priority)."""
    priority = tie_priority(split.train.n_items, seed)
    tier_of = {"random": 0, "pessimistic": -1, "optimistic": 1}[ties]
    hist = split.test_history().csr()
    out = {}
    for u in split.test_targets.users():
        targets = set(split.test_targets.of(u).tolist())
        seen = set(hist[u].indices.tolist())
        cands = [i for i in range(table.shape[1]) if i not in seen]

        def key(i):
            s = float(table[u, i])
            num = -math.inf if math.isnan(s) else s
            return (0 if math.isnan(s) else 1, num, tier_of * (i in targets), priority[i])

        ranked = sorted(cands, key=key, reverse=True)
        row = {}
        for k in ks:
            top = ranked[:k]
            hits = [1 if i in targets else 0 for i in top]
            n_t = len(targets)
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
            idcg = sum(1 / math.log2(r + 2) for r in range(min(k, n_t)))
            first = next((r + 1 for r, h in enumerate(hits) if h), None)
            ap = sum(sum(hits[:r + 1]) / (r + 1) for r, h in enumerate(hits) if h) / min(k, n_t)
            row.update({f"HR@{k}": float(any(hits)), f"Recall@{k}": sum(hits) / n_t,
                        f"NDCG@{k}": dcg / idcg, f"MRR@{k}": 1 / first if first else 0.0,
                        f"Precision@{k}": sum(hits) / k, f"MAP@{k}": ap})
        out[int(u)] = row
    return out


@pytest.mark.parametrize("ties", ["random", "pessimistic", "optimistic"])
@pytest.mark.parametrize("integer_scores", [False, True])
def test_matches_reference_implementation(ties, integer_scores):
    split = make_split(seed=3)
    rng = np.random.default_rng(1)
    table = rng.integers(0, 3, size=(40, 30)) if integer_scores else rng.standard_normal((40, 30))
    table = table.astype(np.float32)
    ks = (1, 3, 5, 10)
    result = evaluate(TableModel(table), split, "test", EvalConfig(ks=ks, ties=ties, seed=7))
    ref = reference(table, split, ks, ties, seed=7)
    assert list(result.users) == sorted(ref)
    for name, values in result.per_user.items():
        expected = np.array([ref[int(u)][name] for u in result.users])
        np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def test_hand_computed_case():
    # one user, 5 items; history {0}; targets {2, 4}; scores make ranking 1, 2, 3, 4 (0 masked)
    inter = Interactions(np.array([0]), np.array([0]), *_vocabs(1, 5))
    targets = Targets.from_pairs(np.array([0, 0]), np.array([2, 4]), 1)
    split = Split("t", {}, inter, inter.with_rows(np.zeros(1, bool)), Targets.empty(1), targets)
    table = np.array([[9.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    r = evaluate(TableModel(table), split, "test", EvalConfig(ks=(2, 4))).summary
    # top-2 = [1, 2]: one hit at rank 2
    assert r["HR@2"] == 1.0 and r["Recall@2"] == 0.5 and r["Precision@2"] == 0.5
    assert r["MRR@2"] == 0.5
    assert r["NDCG@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert r["MAP@2"] == pytest.approx((1 / 2) / 2)
    # top-4 = [1, 2, 3, 4]: hits at ranks 2 and 4
    assert r["NDCG@4"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert r["MAP@4"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert r["Coverage@2"] == pytest.approx(2 / 5)


@pytest.mark.parametrize("batch_size,chunk_size,threads", [(1, None, 1), (7, 4, 2), (1000, 11, 0), (3, 1, 1)])
def test_same_numbers_for_any_batch_chunk_thread(batch_size, chunk_size, threads):
    split = make_split(seed=5)
    table = np.random.default_rng(2).integers(0, 4, size=(40, 30)).astype(np.float32)
    base = evaluate(TableModel(table), split, "test", EvalConfig(ks=(5, 10)))
    other = evaluate(TableModel(table), split, "test",
                     EvalConfig(ks=(5, 10), batch_size=batch_size, chunk_size=chunk_size, threads=threads))
    for name in base.per_user:
        np.testing.assert_array_equal(base.per_user[name], other.per_user[name], err_msg=name)
    assert base.summary == other.summary
    assert base.boundary_tie_rate == other.boundary_tie_rate


@pytest.mark.parametrize("ties", ["random", "pessimistic", "optimistic"])
def test_torch_path_equals_kernel_path(ties):
    split = make_split(seed=9)
    table = np.random.default_rng(4).integers(0, 3, size=(40, 30)).astype(np.float32)
    table[1, :] = -3.0  # a constant row: every item ties
    cpu = evaluate(TableModel(table), split, "test", EvalConfig(ks=(1, 5, 10), ties=ties))
    via_torch = evaluate(TableModel(table), split, "test", EvalConfig(ks=(1, 5, 10), ties=ties, force_torch=True))
    for name in cpu.per_user:
        np.testing.assert_allclose(cpu.per_user[name], via_torch.per_user[name], rtol=1e-6, err_msg=name)
    assert cpu.boundary_tie_rate == via_torch.boundary_tie_rate


def test_tie_policies_order_results():
    split = make_split(seed=11)
    table = np.zeros((40, 30), dtype=np.float32)  # everything ties
    res = {t: evaluate(TableModel(table), split, "test", EvalConfig(ks=(5,), ties=t)).summary["NDCG@5"]
           for t in ("pessimistic", "random", "optimistic")}
    assert res["pessimistic"] == 0.0
    assert res["optimistic"] == 1.0
    assert 0.0 < res["random"] < 1.0
    result = evaluate(TableModel(table), split, "test", EvalConfig(ks=(5,)))
    assert result.boundary_tie_rate == 1.0


def test_history_is_masked_and_never_recommended():
    split = make_split(seed=13)
    table = np.zeros((40, 30), dtype=np.float32)
    hist = split.train.csr()
    table[hist.nonzero()] = 100.0  # a model that loves what users already saw
    result = evaluate(TableModel(table), split, "test", EvalConfig(ks=(5,), ties="pessimistic"))
    assert result.summary["HR@5"] < 1.0  # seen items did not take the top slots unmasked


def test_fused_factor_path_equals_score_path():
    split = make_split(seed=17)
    rng = np.random.default_rng(0)
    U = rng.standard_normal((40, 8)).astype(np.float32)
    V = rng.standard_normal((30, 8)).astype(np.float32)

    class Factorised(TableModel):
        def latent_factors(self, batch):
            return U[batch.users], V, None

    plain = evaluate(TableModel(U @ V.T), split, "test", EvalConfig(ks=(5, 10)))
    fused = evaluate(Factorised(U @ V.T), split, "test", EvalConfig(ks=(5, 10)))
    for name in plain.per_user:
        np.testing.assert_allclose(plain.per_user[name], fused.per_user[name], rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("force_torch", [False, True])
def test_non_finite_scores_fail_naming_model_count_and_first_user(bad, force_torch):
    split = make_split(seed=3)
    table = np.random.default_rng(1).standard_normal((40, 30)).astype(np.float32)
    first = int(split.test_targets.users()[2])
    table[first, :3] = bad
    table[int(split.test_targets.users()[5]), 0] = bad
    with pytest.raises(EvaluationError, match=rf"TableModel returned 4 non-finite scores .*first for user {first}\b"):
        evaluate(TableModel(table), split, "test", EvalConfig(ks=(5,), force_torch=force_torch))


def test_non_finite_factors_fail():
    split = make_split(seed=17)
    U = np.ones((40, 4), np.float32)
    V = np.ones((30, 4), np.float32)
    V[7, 1] = np.nan

    class Factorised(TableModel):
        def latent_factors(self, batch):
            return U[batch.users], V, None

    with pytest.raises(EvaluationError, match="non-finite item factors"):
        evaluate(Factorised(U @ V.T), split, "test", EvalConfig(ks=(5,)))


def test_constant_scores_are_not_rejected():
    split = make_split(seed=3)
    result = evaluate(TableModel(np.full((40, 30), 2.0, np.float32)), split, "test", EvalConfig(ks=(5,)))
    assert result.boundary_tie_rate == 1.0


def test_bad_scores_are_reported():
    split = make_split()

    class Wrong:
        def __init__(self, out):
            self.out = out

        def score(self, batch):
            return self.out(batch)

    with pytest.raises(EvaluationError, match="shape"):
        evaluate(Wrong(lambda b: np.zeros((len(b), 3), np.float32)), split)
    with pytest.raises(EvaluationError, match="float32"):
        evaluate(Wrong(lambda b: np.zeros((len(b), b.n_items))), split)
    with pytest.raises(ConfigError):
        EvalConfig(ties="coin")
    with pytest.raises(ConfigError):
        EvalConfig(ks=(0,))


def test_sampled_mode_never_samples_positives_and_is_labelled():
    split = make_split(seed=19, max_targets=1)
    table = np.random.default_rng(3).standard_normal((40, 30)).astype(np.float32)
    result = evaluate(TableModel(table), split, "test", EvalConfig(ks=(1, 5), negatives=5))
    assert result.sampled and result.protocol == "sampled:5:uniform"
    again = evaluate(TableModel(table), split, "test", EvalConfig(ks=(1, 5), negatives=5))
    np.testing.assert_array_equal(result.per_user["NDCG@5"], again.per_user["NDCG@5"])
    # an oracle that scores targets highest gets HR@1 = 1 among sampled candidates
    oracle = np.zeros((40, 30), dtype=np.float32)
    oracle[np.repeat(np.arange(40), split.test_targets.counts()), split.test_targets.items] = 1.0
    assert evaluate(TableModel(oracle), split, "test", EvalConfig(ks=(1,), negatives=5)).summary["HR@1"] == 1.0


def test_validator_uses_validation_targets():
    split = make_split(seed=21)
    valid_split = Split("v", {}, split.train, split.validation, split.test_targets, Targets.empty(40))
    oracle = np.zeros((40, 30), dtype=np.float32)
    oracle[np.repeat(np.arange(40), split.test_targets.counts()), split.test_targets.items] = 1.0
    validator = SplitValidator(valid_split, "ndcg@10")
    assert validator.metric == "NDCG@10" and validator.available
    assert validator(TableModel(oracle)) == 1.0
    with pytest.raises(ConfigError):
        SplitValidator(valid_split, "AUC")


def test_gini_hand_cases():
    assert gini(np.array([1, 1, 1, 1])) == 0.0
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)
    assert gini(np.zeros(3)) == 0.0


@pytest.mark.parametrize("kwargs,message", [
    (dict(ties="coin"), r"^ties must be one of random, pessimistic, optimistic, got 'coin'$"),
    (dict(sampler="zipf"), r"^sampler must be one of uniform, popularity, got 'zipf'$"),
    (dict(negatives=0), r"^negatives must be >= 1, got 0$"),
    (dict(ks=(0,)), r"^ks must be positive integers, got \(0,\)$"),
])
def test_config_errors_name_the_argument_not_a_cli_flag(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EvalConfig(**kwargs)


def test_vocabularies_have_one_home():
    import recplug.evaluation.config as config
    import recplug.evaluation.ranking_torch as ranking_torch
    from recplug import kernels, vocabulary

    assert kernels.TIE_POLICIES is vocabulary.TIE_CODES and kernels.METRIC_NAMES is vocabulary.METRICS
    assert config.TIES is vocabulary.TIES and config.METRICS is vocabulary.METRICS
    assert set(vocabulary.TIE_TIER) == set(vocabulary.TIES) == set(vocabulary.TIE_CODES)
    assert not [name for name in ("TIES", "TIE_TIER", "METRICS") if name in vars(ranking_torch)
                and vars(ranking_torch)[name] is not getattr(vocabulary, name)]


def test_sampled_evaluation_does_not_import_the_evaluator():
    import ast

    import recplug.evaluation.sampled as sampled

    tree = ast.parse(open(sampled.__file__).read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "recplug.evaluation.collector" in imported
    assert "recplug.evaluation.evaluator" not in imported  # the Collector has its own home


def test_only_sampled_protocols_count_as_sampled():
    from recplug.evaluation.collector import EvalResult

    def result(protocol):
        return EvalResult(which="test", protocol=protocol, users=np.zeros(0, np.int32), per_user={},
                          summary={}, boundary_tie_rate=None, seconds=0.0)

    assert result("sampled:100:uniform").sampled
    assert not result("full").sampled and not result("rating").sampled
