"""Leaderboard model: grouping, mean ± std, best, paired significance with Holm, CIs, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from recplug.errors import ConfigError, LeaderboardError
from recplug.leaderboard import Leaderboard
from recplug.leaderboard import stats
from recplug.leaderboard.model import higher_is_better, split_metric
from recplug.store import RunRecord, RunSpec

_IDS = iter(range(1, 1_000_000))


def record(model: str, seed: int, per_user: dict[str, np.ndarray], *, users=None,
           hyperparameters=None, protocol="full", fingerprint="fp1", split_params=None,
           ties="random", dataset="ml-100k", split="loo", metrics=None, fit=1.0, status="done",
           run_id=None) -> RunRecord:
    """A finished run held in memory (metrics = per-user means unless given)."""
    n = len(next(iter(per_user.values()))) if per_user else 0
    users = np.arange(n) if users is None else np.asarray(users)
    spec = RunSpec(model=model, plugin_dist="recplug", plugin_version="0.1.0",
                   hyperparameters=hyperparameters or {}, dataset=dataset,
                   dataset_fingerprint=fingerprint, split=split,
                   split_params={"min": 3} if split_params is None else split_params, seed=seed,
                   protocol=protocol, ties=ties, ks=(5, 10, 20))
    arrays = {m: np.asarray(v, dtype=np.float32) for m, v in per_user.items()}
    if metrics is None:
        metrics = {m: float(np.mean(v)) for m, v in arrays.items()}
    return RunRecord(id=run_id or next(_IDS), spec=spec, status=status, error=None, started_at=0.0,
                     finished_at=1.0, env={}, fit_seconds=fit, eval_seconds=fit / 4,
                     peak_memory_bytes=None, metrics=metrics, split_summary={},
                     _cache=(users.astype(np.int32), arrays))


RNG = np.random.default_rng(0)
U = 400


def noisy(base: float, size: int = U, scale: float = 0.05, rng=RNG) -> np.ndarray:
    return np.clip(base + rng.normal(0, scale, size), 0, 1).astype(np.float32)


def centred(rng, scale: float, size: int = U) -> np.ndarray:
    noise = rng.normal(0, scale, size)
    return noise - noise.mean()


@pytest.fixture(scope="module")
def three_models():
    """strong (best), close (0.0005 behind, noisy), weak (0.05 behind); 3 seeds, shared users.

    Noise is centred so the means differ by exactly what is written (up to float32).
    """
    rng = np.random.default_rng(42)
    base = rng.random(U) * 0.5
    runs = []
    for seed in range(3):
        strong = base + 0.10 + centred(rng, 0.02)
        runs.append(record("strong", seed, {"NDCG@10": strong}, fit=2.0))
        runs.append(record("close", seed, {"NDCG@10": strong - 0.0005 + centred(rng, 0.05)}, fit=4.0))
        runs.append(record("weak", seed, {"NDCG@10": strong - 0.05 + centred(rng, 0.02)}))
    return runs


# -- metric names --------------------------------------------------------------------


def test_metric_names():
    assert split_metric("NDCG@10") == ("NDCG", 10)
    assert split_metric("RMSE") == ("RMSE", None)
    assert higher_is_better("Recall@20") and higher_is_better("Coverage@10")
    assert not higher_is_better("RMSE") and not higher_is_better("Gini@10")
    assert not higher_is_better("AvgPop@10") and not higher_is_better("MAE")


# -- rows ----------------------------------------------------------------------------


def test_rows_hold_mean_std_over_seeds(three_models):
    lb = Leaderboard.from_runs(three_models, metrics=["NDCG@10"])
    assert [r.label for r in lb.rows] == ["strong", "close", "weak"]
    assert lb.columns == ["Model", "NDCG@10", "Seeds", "Fit (s)", "Eval (s)"]
    for row in lb.rows:
        values = [r.metrics["NDCG@10"] for r in three_models if r.spec.model == row.model]
        cell = row.cells["NDCG@10"]
        assert cell.mean == pytest.approx(np.mean(values), rel=1e-12)
        assert cell.std == pytest.approx(np.std(values, ddof=1), rel=1e-12)
        assert cell.n == 3 and row.seeds == (0, 1, 2) and row.n_seeds == 3
    assert lb.rows[0].fit_seconds == 2.0 and lb.rows[0].eval_seconds == 0.5
    assert [r.cells["NDCG@10"].best for r in lb.rows] == [True, False, False]
    assert lb.best == {"NDCG@10": "strong"}
    assert (lb.dataset, lb.split, lb.protocol, lb.ties) == ("ml-100k", "loo", "full", "random")


def test_single_seed_has_no_std():
    lb = Leaderboard.from_runs([record("a", 0, {"HR@10": noisy(0.3)})])
    cell = lb.rows[0].cells["HR@10"]
    assert cell.std is None and cell.n == 1 and cell.best and cell.comparison is None


# -- significance --------------------------------------------------------------------


def _seed_means(runs, model):
    parts = [r.per_user() for r in runs if r.display_name == model]
    return stats.average_over_seeds([(u, a["NDCG@10"]) for u, a in parts])[1]


def test_paired_tests_against_the_best_with_holm(three_models):
    lb = Leaderboard.from_runs(three_models, metrics=["NDCG@10"], test="both")
    strong = _seed_means(three_models, "strong")
    raw = {}
    for model in ("close", "weak"):
        other = _seed_means(three_models, model)
        raw[model] = {"t": scipy.stats.ttest_rel(strong, other).pvalue,
                      "wilcoxon": scipy.stats.wilcoxon(strong - other).pvalue}
    by_label = {r.label: r.cells["NDCG@10"] for r in lb.rows}
    for test in ("t", "wilcoxon"):
        ps = [raw["close"][test], raw["weak"][test]]
        m = 2
        # Holm by hand for two comparisons
        lo, hi = sorted(ps)
        adj_lo, adj_hi = min(1, m * lo), max(min(1, m * lo), min(1, hi))
        expected = {"close": adj_lo if ps[0] <= ps[1] else adj_hi,
                    "weak": adj_lo if ps[1] < ps[0] else adj_hi}
        for model in ("close", "weak"):
            comparison = by_label[model].comparison
            assert comparison.pvalues[test] == pytest.approx(raw[model][test], rel=1e-9)
            assert comparison.adjusted[test] == pytest.approx(expected[model], rel=1e-9)
    weak, close = by_label["weak"], by_label["close"]
    assert weak.worse() == ["t", "wilcoxon"] and close.worse() == []
    assert weak.comparison.n_users == U and weak.comparison.seeds == (0, 1, 2)
    assert weak.comparison.same_seeds and weak.comparison.mean_difference > 0.04


def test_alpha_controls_significance(three_models):
    lb = Leaderboard.from_runs(three_models, metrics=["NDCG@10"])
    p_close = next(r for r in lb.rows if r.label == "close").cells["NDCG@10"].comparison.adjusted["t"]
    assert p_close > 0.05
    loose = Leaderboard.from_runs(three_models, metrics=["NDCG@10"], alpha=min(0.999, p_close * 1.01))
    assert next(r for r in loose.rows if r.label == "close").cells["NDCG@10"].worse() == ["t"]


def test_users_are_matched_by_id():
    rng = np.random.default_rng(5)
    best = noisy(0.5, 100, rng=rng)
    other = (best - 0.02 + rng.normal(0, 0.05, 100)).astype(np.float32)
    shuffled = rng.permutation(100)
    # the other model lists its users in another order, plus two users the best never saw
    other_users = np.concatenate([shuffled, [500, 501]])
    other_values = np.concatenate([other[shuffled], [0.0, 0.0]]).astype(np.float32)
    lb = Leaderboard.from_runs([
        record("best", 0, {"NDCG@10": best}, metrics={"NDCG@10": 0.5}),
        record("other", 0, {"NDCG@10": other_values}, users=other_users, metrics={"NDCG@10": 0.4}),
    ])
    comparison = lb.rows[1].cells["NDCG@10"].comparison
    assert comparison.n_users == 100
    expected = scipy.stats.ttest_rel(best.astype(np.float64), other.astype(np.float64)).pvalue
    assert comparison.pvalues["t"] == pytest.approx(expected, rel=1e-9)


def test_seed_pairing_rules():
    rng = np.random.default_rng(6)
    per_seed = {s: noisy(0.5, 50, rng=rng) for s in range(6)}
    runs = [record("ref", s, {"NDCG@10": per_seed[s]}, metrics={"NDCG@10": 0.9}) for s in (0, 1, 2)]
    same = {s: noisy(0.45, 50, rng=rng) for s in (0, 1, 2)}
    runs += [record("same", s, {"NDCG@10": same[s]}, metrics={"NDCG@10": 0.5}) for s in (0, 1, 2)]
    part = {s: noisy(0.45, 50, rng=rng) for s in (1, 2, 3)}
    runs += [record("part", s, {"NDCG@10": part[s]}, metrics={"NDCG@10": 0.4}) for s in (1, 2, 3)]
    other = noisy(0.45, 50, rng=rng)
    runs += [record("disjoint", 9, {"NDCG@10": other}, metrics={"NDCG@10": 0.3})]
    lb = Leaderboard.from_runs(runs)
    cells = {r.label: r.cells["NDCG@10"].comparison for r in lb.rows}

    def mean_of(arrays, seeds):
        return np.mean([arrays[s].astype(np.float64) for s in seeds], axis=0)

    ref_all = mean_of(per_seed, (0, 1, 2))
    assert cells["same"].seeds == (0, 1, 2) and cells["same"].same_seeds
    assert cells["same"].pvalues["t"] == pytest.approx(
        scipy.stats.ttest_rel(ref_all, mean_of(same, (0, 1, 2))).pvalue, rel=1e-9)
    # shared seeds only: 1 and 2
    assert cells["part"].seeds == (1, 2) and cells["part"].same_seeds
    assert cells["part"].pvalues["t"] == pytest.approx(
        scipy.stats.ttest_rel(mean_of(per_seed, (1, 2)), mean_of(part, (1, 2))).pvalue, rel=1e-9)
    # no shared seed: each side averaged over its own seeds
    assert cells["disjoint"].seeds == (0, 1, 2, 9) and not cells["disjoint"].same_seeds
    assert cells["disjoint"].pvalues["t"] == pytest.approx(
        scipy.stats.ttest_rel(ref_all, other.astype(np.float64)).pvalue, rel=1e-9)


def test_not_worse_when_the_best_trails_on_the_paired_seeds():
    rng = np.random.default_rng(7)
    low = noisy(0.2, 200, 0.01, rng)
    runs = [record("best", 0, {"NDCG@10": low}),
            record("best", 1, {"NDCG@10": noisy(0.9, 200, 0.01, rng)}),
            record("other", 0, {"NDCG@10": noisy(0.3, 200, 0.01, rng)})]
    lb = Leaderboard.from_runs(runs)
    cell = lb.rows[1].cells["NDCG@10"]
    assert lb.rows[0].label == "best"
    assert cell.comparison.pvalues["t"] < 1e-10 and cell.comparison.mean_difference < 0
    assert cell.worse() == []


def test_lower_is_better_metrics():
    rng = np.random.default_rng(8)
    runs = [record("good", 0, {"RMSE": noisy(0.8, 300, 0.05, rng)}),
            record("bad", 0, {"RMSE": noisy(0.95, 300, 0.05, rng)})]
    lb = Leaderboard.from_runs(runs)
    assert [r.label for r in lb.rows] == ["good", "bad"]
    assert lb.rows[0].cells["RMSE"].best
    assert lb.rows[1].cells["RMSE"].worse() == ["t"]
    assert lb.rows[1].cells["RMSE"].comparison.mean_difference > 0


def test_tied_best_are_all_best():
    values = noisy(0.4)
    lb = Leaderboard.from_runs([record("a", 0, {"HR@10": values}), record("b", 0, {"HR@10": values})])
    assert all(r.cells["HR@10"].best and r.cells["HR@10"].comparison is None for r in lb.rows)


def test_missing_per_user_values_are_not_tested():
    runs = [record("a", 0, {"NDCG@10": noisy(0.5)}),
            record("b", 0, {}, metrics={"NDCG@10": 0.1})]
    lb = Leaderboard.from_runs(runs)
    cell = lb.rows[1].cells["NDCG@10"]
    assert cell.comparison.n_users == 0 and cell.worse() == []
    assert any("b has no per-user values" in note for note in lb.notes)


def test_holm_is_applied_across_the_comparisons_of_one_metric():
    rng = np.random.default_rng(9)
    base = noisy(0.5, 300, rng=rng)
    runs = [record("best", 0, {"NDCG@10": base + 0.01})]
    for i in range(4):
        runs.append(record(f"m{i}", 0, {"NDCG@10": base + rng.normal(0, 0.05, 300)}))
    lb = Leaderboard.from_runs(runs)
    others = [r for r in lb.rows if not r.cells["NDCG@10"].best]
    raw = [r.cells["NDCG@10"].comparison.pvalues["t"] for r in others]
    adjusted = [r.cells["NDCG@10"].comparison.adjusted["t"] for r in others]
    np.testing.assert_allclose(adjusted, stats.holm(raw), rtol=1e-12)
    assert all(a >= p for a, p in zip(adjusted, raw))


# -- grouping ------------------------------------------------------------------------


def test_configurations_are_labelled_by_their_differing_hyperparameters():
    runs = [record("ease", 0, {"NDCG@10": noisy(0.4)}, hyperparameters={"reg": 100.0, "x": 1}),
            record("ease", 0, {"NDCG@10": noisy(0.3)}, hyperparameters={"reg": 500.0, "x": 1}),
            record("pop", 0, {"NDCG@10": noisy(0.1)}, hyperparameters={"k": 1})]
    lb = Leaderboard.from_runs(runs)
    assert [r.label for r in lb.rows] == ["ease(reg=100)", "ease(reg=500)", "pop"]
    assert lb.rows[0].hyperparameters == {"reg": 100.0, "x": 1}


def test_newest_run_of_a_seed_wins():
    old = record("a", 0, {"NDCG@10": noisy(0.1)}, run_id=100)
    new = record("a", 0, {"NDCG@10": noisy(0.6)}, run_id=200)
    lb = Leaderboard.from_runs([new, old])
    assert lb.rows[0].run_ids == (200,) and lb.rows[0].cells["NDCG@10"].mean == new.metrics["NDCG@10"]
    assert lb.notes == ["a: 1 older run of a seed replaced by the newest"]


def test_metric_selection():
    runs = [record("a", 0, {"Recall@20": noisy(0.4), "NDCG@10": noisy(0.3), "Recall@10": noisy(0.2),
                            "NDCG@20": noisy(0.5)}),
            record("b", 0, {"NDCG@10": noisy(0.2)})]
    lb = Leaderboard.from_runs(runs)
    assert lb.metrics == ["NDCG@10", "Recall@10", "NDCG@20", "Recall@20"]
    assert lb.rows[1].cells["Recall@10"] is None
    picked = Leaderboard.from_runs(runs, metrics=["Recall@10", "NDCG@10", "Recall@10"])
    assert picked.metrics == ["Recall@10", "NDCG@10"]
    assert [r.label for r in picked.rows] == ["a", "b"]  # missing first metric sorts last
    with pytest.raises(LeaderboardError, match=r"no run has metric MRR@10; available: NDCG@10, "):
        Leaderboard.from_runs(runs, metrics=["MRR@10"])
    with pytest.raises(ConfigError, match="at least one"):
        Leaderboard.from_runs(runs, metrics=[" "])


def test_curves_cover_every_k_of_the_column_families():
    runs = [record("a", s, {"NDCG@5": noisy(0.2), "NDCG@10": noisy(0.3), "NDCG@20": noisy(0.4),
                            "HR@10": noisy(0.5)}) for s in (0, 1)]
    lb = Leaderboard.from_runs(runs, metrics=["NDCG@10"])
    assert list(lb.curves) == ["NDCG"]
    ((label, points),) = lb.curves["NDCG"]
    assert label == "a" and [k for k, _ in points] == [5, 10, 20]
    assert points[1][1] == pytest.approx(np.mean([r.metrics["NDCG@10"] for r in runs]))


# -- bootstrap -----------------------------------------------------------------------


def test_bootstrap_cis_are_seeded_and_order_free(three_models):
    lb = Leaderboard.from_runs(three_models, metrics=["NDCG@10"], bootstrap=200, seed=3)
    again = Leaderboard.from_runs(list(reversed(three_models)), metrics=["NDCG@10"], bootstrap=200, seed=3)
    other = Leaderboard.from_runs(three_models, metrics=["NDCG@10"], bootstrap=200, seed=4)
    for row, row2, row3 in zip(lb.rows, again.rows, other.rows):
        lo, hi = row.cells["NDCG@10"].ci
        assert lo < row.cells["NDCG@10"].mean < hi
        assert row2.cells["NDCG@10"].ci == (lo, hi)
        assert row3.cells["NDCG@10"].ci != (lo, hi)
    assert Leaderboard.from_runs(three_models).rows[0].cells["NDCG@10"].ci is None


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("change, words", [
    ({"protocol": "sampled:100:uniform"}, "mix protocols: full .*never ranked with full-ranking"),
    ({"fingerprint": "fp2"}, "mix dataset fingerprints: .*data changed"),
    ({"split_params": {"min": 5}}, "mix split parameters"),
    ({"ties": "pessimistic"}, "mix tie rules: .*--ties"),
    ({"dataset": "beauty"}, "mix datasets: .*--dataset"),
    ({"split": "temporal"}, "mix splits: .*--split"),
])
def test_incomparable_runs_are_refused(change, words):
    runs = [record("a", 0, {"NDCG@10": noisy(0.3)}), record("b", 0, {"NDCG@10": noisy(0.3)}, **change)]
    with pytest.raises(LeaderboardError, match=words):
        Leaderboard.from_runs(runs)


def test_bad_inputs_are_refused(three_models):
    with pytest.raises(LeaderboardError, match="no runs"):
        Leaderboard.from_runs([])
    running = record("a", 0, {"NDCG@10": noisy(0.3)}, status="running", run_id=77)
    with pytest.raises(LeaderboardError, match=r"runs \[77\] are not done"):
        Leaderboard.from_runs([running])
    for kwargs, words in [({"test": "z"}, "test"), ({"alpha": 0.0}, "alpha"), ({"bootstrap": -1}, "bootstrap"),
                          ({"bootstrap": 1.5}, "bootstrap"), ({"ci_level": 1.0}, "ci_level")]:
        with pytest.raises(ConfigError, match=words):
            Leaderboard.from_runs(three_models, **kwargs)


def test_to_dict_is_strict_json(three_models):
    runs = three_models + [record("nopu", 0, {}, metrics={"NDCG@10": 0.01})]
    lb = Leaderboard.from_runs(runs, test="both", bootstrap=50)
    data = json.loads(json.dumps(lb.to_dict(), allow_nan=False))
    assert data["tests"] == ["t", "wilcoxon"] and data["best"] == {"NDCG@10": "strong"}
    weak = next(r for r in data["rows"] if r["label"] == "weak")["metrics"]["NDCG@10"]
    assert weak["worse_than_best"] == ["t", "wilcoxon"] and len(weak["ci"]) == 2
    nopu = next(r for r in data["rows"] if r["label"] == "nopu")["metrics"]["NDCG@10"]
    assert nopu["comparison"]["p"] == {"t": None, "wilcoxon": None}
