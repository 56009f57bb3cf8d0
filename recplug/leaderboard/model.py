"""The leaderboard: runs grouped by model configuration, with honest statistics.

Rows are model configurations (qualified model + hyperparameters + training settings;
one protocol per leaderboard), labelled by what differs between them. Each row also says
what training did (epochs run, best epoch, why it stopped; means over seeds) and is
flagged (:func:`tie_flagged`) when ties decided most of its top-K cuts.
A cell is the mean ± sample std over the replicates of one metric: its seeds, or for
cross-validated (kfold) runs its (seed, fold) runs. For each metric the best configuration
(highest mean; lowest for error metrics such as RMSE, marked ↓) is compared with every other
one, paired user by user, with a paired t-test and/or a Wilcoxon signed-rank test, and the
p-values of that metric's comparisons are Holm-adjusted. Per-user values are first
averaged over replicates: over the replicates both configurations share when they share
any (a paired design), else over each configuration's own. Seeds: on the users every seed
evaluated; folds: each user over the folds it was tested in. Rating metrics are paired on
each user's mean squared (RMSE) or absolute (MAE) error; FCP pools pair counts over users
and is not tested.

Renderers (``render_*.py``) only read a :class:`Leaderboard`; they compute nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from recplug.errors import ConfigError, LeaderboardError
from recplug.leaderboard import stats
from recplug.store.spec import RunRecord, canonical_json, short_name
from recplug.vocabulary import RATING_METRICS, RATING_PER_USER, RATING_PROTOCOL, higher_is_better

TESTS = ("t", "wilcoxon")
TEST_NAMES = {"t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank test"}
MARKS = {"t": "†", "wilcoxon": "‡"}  #: "significantly worse than the best" under each test
_METRIC_AT = re.compile(r"^(?P<family>.+)@(?P<k>[0-9]+)$")
#: display order of metric families; others follow alphabetically
_FAMILY_ORDER = ("NDCG", "Recall", "HR", "MRR", "Precision", "MAP", *RATING_METRICS)
#: split parameters that name a replicate of a configuration, not the configuration: runs
#: that differ only in them are ranked together (the folds of one cross-validation)
REPLICATE_PARAMS = ("fold",)
LOWER_MARK = "↓"  #: after the header of a metric where lower is better
#: a run whose ``split_summary["boundary_tie_rate"]`` (share of top-K cuts that fell inside
#: a group of tied scores) exceeds this is flagged: ties, not the model, chose its lists
TIE_FLAG_RATE = 0.5
TIE_MARK = "§"  #: the mark of a flagged row, after its label


def tie_flagged(rate: float | None) -> bool:
    """Whether a boundary tie rate (0..1, None = unknown) means ties decided most top-K cuts."""
    return rate is not None and math.isfinite(rate) and rate > TIE_FLAG_RATE


def split_metric(name: str) -> tuple[str, int | None]:
    """``"NDCG@10"`` -> ``("NDCG", 10)``; a name without ``@K`` -> ``(name, None)``."""
    match = _METRIC_AT.match(name)
    return (match["family"], int(match["k"])) if match else (name, None)


def replicate(run: RunRecord) -> tuple[int, int | None]:
    """``(seed, fold)``: which replicate of its configuration a run is (fold None outside kfold)."""
    fold = run.spec.split_params.get("fold")
    return run.spec.seed, (int(fold) if isinstance(fold, int) and not isinstance(fold, bool) else None)


def _replicate_order(key: tuple[int, int | None]) -> tuple[int, int]:
    return key[0], -1 if key[1] is None else key[1]


def configuration_split_params(params: dict) -> dict:
    """Split parameters without the replicate ones (``fold``)."""
    return {k: v for k, v in params.items() if k not in REPLICATE_PARAMS}


def per_user_key(metric: str) -> str | None:
    """The per-user array a metric is paired on: itself (ranking), the squared or absolute
    error (RMSE, MAE), or None (FCP: no per-user values)."""
    if metric in RATING_METRICS:
        return RATING_PER_USER.get(metric)
    return metric


def _metric_sort_key(name: str) -> tuple:
    family, k = split_metric(name)
    rank = _FAMILY_ORDER.index(family) if family in _FAMILY_ORDER else len(_FAMILY_ORDER)
    return (k is None, k or 0, rank, family)


def _clean(value: Any) -> Any:
    """NaN/inf -> None, NumPy scalars -> Python, recursively: what JSON can hold."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Comparison:
    """One configuration against the best of a metric, paired per user.

    ``mean_difference`` is best minus this configuration, on the paired users (positive =
    the best is ahead, sign flipped for lower-is-better metrics). ``seeds`` are the seeds
    averaged per user (``folds`` their folds, empty outside kfold); ``same_seeds`` says
    whether both sides used the same replicates.
    ``pvalues`` are raw two-sided p-values, ``adjusted`` Holm-adjusted; ``significant``
    (per test) = adjusted <= alpha and the best is ahead.
    """

    n_users: int
    mean_difference: float
    seeds: tuple[int, ...]
    same_seeds: bool
    pvalues: dict[str, float]
    adjusted: dict[str, float] = field(default_factory=dict)
    significant: dict[str, bool] = field(default_factory=dict)
    folds: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _clean({"n_users": self.n_users, "mean_difference": self.mean_difference,
                       "seeds": list(self.seeds), "folds": list(self.folds), "same_seeds": self.same_seeds,
                       "p": self.pvalues, "p_holm": self.adjusted, "significant": self.significant})


@dataclass(frozen=True)
class Cell:
    """One metric of one configuration: mean and sample std over ``n`` replicates (seeds, or
    (seed, fold) runs; std None if n=1)."""

    mean: float
    std: float | None
    n: int
    best: bool = False
    comparison: Comparison | None = None  #: None for the best itself
    ci: tuple[float, float] | None = None  #: bootstrap CI of the mean over users

    def worse(self) -> list[str]:
        """The tests under which this cell is significantly worse than the best."""
        if self.comparison is None:
            return []
        return [test for test in TESTS if self.comparison.significant.get(test)]

    def to_dict(self) -> dict[str, Any]:
        return _clean({"mean": self.mean, "std": self.std, "n": self.n, "best": self.best,
                       "ci": list(self.ci) if self.ci else None, "worse_than_best": self.worse(),
                       "comparison": self.comparison.to_dict() if self.comparison else None})


@dataclass(frozen=True)
class Trained:
    """What training did in one configuration, over its seeds: mean ``epochs_run`` and
    ``best_epoch`` (None where no run reported them) and the distinct ``stopped`` reasons."""

    epochs_run: float | None = None
    best_epoch: float | None = None
    stopped: tuple[str, ...] = ()

    @classmethod
    def of(cls, runs: Sequence[RunRecord]) -> "Trained":
        def mean(key: str) -> float | None:
            return _mean([_number(r.training_info.get(key)) for r in runs])

        stopped = tuple(sorted({str(r.training_info["stopped"]) for r in runs
                                if r.training_info.get("stopped")}))
        return cls(mean("epochs_run"), mean("best_epoch"), stopped)

    def __bool__(self) -> bool:
        return self.epochs_run is not None or self.best_epoch is not None or bool(self.stopped)

    def to_dict(self) -> dict[str, Any]:
        return _clean({"epochs_run": self.epochs_run, "best_epoch": self.best_epoch,
                       "stopped": list(self.stopped)})


@dataclass(frozen=True)
class Row:
    """One model configuration: its runs (one per replicate: seed, or (seed, fold)), metric
    cells, mean timings (seconds).

    ``model`` is the qualified name ("recplug:bpr"), ``training`` the training settings of
    the configuration, ``trained`` what training did, ``tie_rate`` the highest boundary tie
    rate over its seeds (None where not recorded). ``seeds`` are its distinct seeds,
    ``folds`` its distinct folds (empty outside kfold).
    """

    label: str
    model: str
    hyperparameters: dict
    plugin_dist: str
    plugin_versions: tuple[str, ...]
    seeds: tuple[int, ...]
    run_ids: tuple[int, ...]
    fit_seconds: float | None
    eval_seconds: float | None
    cells: dict[str, Cell | None]  #: metric -> cell, None where no run has the metric
    training: dict = field(default_factory=dict)
    trained: Trained = field(default_factory=Trained)
    tie_rate: float | None = None
    folds: tuple[int, ...] = ()
    #: a tuned configuration's study (:func:`tuning`): budget, trials, best validation; {} otherwise
    tuned: dict = field(default_factory=dict)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def n_runs(self) -> int:
        """Replicates averaged: one run per seed, or per (seed, fold)."""
        return len(self.run_ids)

    @property
    def tie_flagged(self) -> bool:
        return tie_flagged(self.tie_rate)

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "label": self.label, "model": self.model, "hyperparameters": self.hyperparameters,
            "training": self.training, "trained": self.trained.to_dict(),
            "boundary_tie_rate": self.tie_rate, "tie_flagged": self.tie_flagged,
            "plugin_dist": self.plugin_dist, "plugin_versions": list(self.plugin_versions),
            "seeds": list(self.seeds), "folds": list(self.folds), "run_ids": list(self.run_ids),
            "tuned": self.tuned or None,
            "fit_seconds": self.fit_seconds, "eval_seconds": self.eval_seconds,
            "metrics": {m: c.to_dict() if c else None for m, c in self.cells.items()}})


@dataclass
class Leaderboard:
    """Rows sorted by the first metric (best first). Build with :meth:`from_runs`."""

    rows: list[Row]
    metrics: list[str]
    dataset: str
    dataset_fingerprint: str
    split: str
    split_params: dict
    protocol: str
    ties: str
    alpha: float
    tests: tuple[str, ...]
    bootstrap: int
    ci_level: float
    seed: int
    best: dict[str, str | None]  #: metric -> label of the reference (best) row
    curves: dict[str, list[tuple[str, list[tuple[int, float]]]]]  #: family -> [(label, [(K, mean)])]
    notes: list[str]

    @property
    def columns(self) -> list[str]:
        """Column headers: model, the metrics (↓ after those where lower is better), what
        training did (when reported), seeds (× folds) and mean timings."""
        return ["Model", *map(self.header, self.metrics), *(["Epochs"] if self.has_training else []),
                self.runs_header, "Fit (s)", "Eval (s)"]

    @staticmethod
    def header(metric: str) -> str:
        """A metric's column header: ``"RMSE ↓"`` where lower is better, else the name."""
        return metric if higher_is_better(metric) else f"{metric} {LOWER_MARK}"

    @property
    def has_folds(self) -> bool:
        """Whether rows average (seed, fold) runs of a cross-validation."""
        return any(row.folds for row in self.rows)

    @property
    def runs_header(self) -> str:
        return "Seeds × folds" if self.has_folds else "Seeds"

    @staticmethod
    def runs_cell(row: Row) -> str:
        """``"2"`` seeds, or ``"1 × 5"`` seeds × folds."""
        return f"{row.n_seeds} × {len(row.folds)}" if row.folds else str(row.n_seeds)

    @property
    def sampled(self) -> bool:
        return self.protocol.startswith("sampled:")

    @property
    def rating(self) -> bool:
        """Rating prediction (RMSE, MAE, FCP) rather than ranking."""
        return self.protocol == RATING_PROTOCOL

    @property
    def replicates(self) -> str:
        """What a cell's mean and std run over: "seeds", or "seeds and folds"."""
        return "seeds and folds" if self.has_folds else "seeds"

    @property
    def has_training(self) -> bool:
        """Whether any row reports what training did (the renderers add an Epochs column)."""
        return any(row.trained for row in self.rows)

    def legend(self) -> list[str]:
        """One line per mark/notation the renderers use (plain text)."""
        lines = [f"mean ± sample std over {self.replicates}; best of each column in bold"]
        lower = [m for m in self.metrics if not higher_is_better(m)]
        if lower:
            lines.append(f"{LOWER_MARK} lower is better ({', '.join(lower)}): the best is the lowest")
        for test in self.tests if len(self.rows) > 1 else ():  # one row: nothing was compared
            paired = "paired over users' mean errors" if self.rating else "paired over users"
            lines.append(f"{MARKS[test]} significantly worse than the best ({TEST_NAMES[test]}, "
                         f"{paired}, Holm-adjusted p ≤ {self.alpha:g})")
        if self.bootstrap:
            lines.append(f"[low, high]: {self.ci_level:.0%} percentile bootstrap CI over users "
                         f"({self.bootstrap} resamples, seed {self.seed})")
        if self.has_training:
            lines.append("Epochs: epochs run (best epoch) and why training stopped (budget: the epoch "
                         "budget ran out; early: early stopping); means over seeds")
        if any(row.tie_flagged for row in self.rows):
            lines.append(f"{TIE_MARK} ties decided most top-K cuts (boundary tie rate > "
                         f"{TIE_FLAG_RATE:g}): tied scores, not the model, chose these lists")
        tuned = [row.tuned for row in self.rows if row.tuned]
        if tuned:
            metrics = ", ".join(sorted({t["metric"] for t in tuned}))
            lines.append(f"tuned: each row is its model's best configuration on validation {metrics} "
                         "(Optuna TPE, seeded; median pruning; the defaults tried first) within the budget "
                         "after its name; valid = that best validation value; tested on the seeds shown")
        if self.sampled:
            lines.append(f"SAMPLED protocol ({self.protocol}): each target ranked among sampled "
                         f"negatives only; not comparable with full-ranking numbers")
        return lines

    def caption(self) -> str:
        """One line naming what was ranked: dataset, split (and parameters), protocol, ties
        (ranking only)."""
        params = ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.split_params.items()))
        split = f"{self.split} ({params})" if params else self.split
        ties = "" if self.rating else f" · ties {self.ties}"
        return (f"{self.dataset} · split {split} · protocol {self.protocol}{ties} · "
                f"{len(self.rows)} configuration{'' if len(self.rows) == 1 else 's'}")

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON values (NaN -> null)."""
        return _clean({
            "dataset": self.dataset, "dataset_fingerprint": self.dataset_fingerprint,
            "split": self.split, "split_params": self.split_params, "protocol": self.protocol,
            "ties": self.ties, "alpha": self.alpha, "tests": list(self.tests),
            "lower_is_better": [m for m in self.metrics if not higher_is_better(m)],
            "bootstrap": self.bootstrap, "ci_level": self.ci_level, "seed": self.seed,
            "metrics": self.metrics, "columns": self.columns, "best": self.best,
            "rows": [row.to_dict() for row in self.rows],
            "curves": {family: [{"label": label, "points": [list(p) for p in points]}
                                for label, points in series]
                       for family, series in self.curves.items()},
            "legend": self.legend(), "notes": self.notes})

    @classmethod
    def from_runs(cls, runs: Sequence[RunRecord], *, metrics: list[str] | None = None,
                  alpha: float = 0.05, test: str = "t", bootstrap: int = 0, seed: int = 0,
                  ci_level: float = 0.95, tags: dict[int, dict[str, str]] | None = None) -> "Leaderboard":
        """Build from finished runs of one dataset, split and protocol.

        ``metrics``: columns in order (None = every metric the runs have). ``test``:
        ``"t"``, ``"wilcoxon"`` or ``"both"``. ``bootstrap``: resamples for CIs (0 = none),
        seeded by ``seed``. Raises LeaderboardError for no runs, unfinished runs, or runs
        that cannot be compared (mixed protocols, data fingerprints, splits or tie rules).
        ``tags``: run id -> its tags; a configuration whose runs carry a study's tags
        (``recplug tune``) gets :attr:`Row.tuned` and the budget and best validation in its label.
        """
        tests = _parse_test(test)
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
        if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
            raise ConfigError(f"bootstrap must be a whole number of resamples >= 0, got {bootstrap!r}")
        if not 0 < ci_level < 1:
            raise ConfigError(f"ci_level must be in (0, 1), got {ci_level}")
        runs = list(runs)
        if not runs:
            raise LeaderboardError("no runs to rank; evaluate some models first (recplug eval ...)")
        unfinished = [r.id for r in runs if r.status != "done"]
        if unfinished:
            raise LeaderboardError(f"only finished runs can be ranked; runs {unfinished[:10]} are not done")
        _check_comparable(runs)
        groups, notes = _group(runs)
        metrics = _pick_metrics(runs, metrics)
        builder = _Builder(groups, metrics, tests, alpha, bootstrap, ci_level, seed, notes, tags or {})
        spec = runs[0].spec
        return cls(rows=builder.rows, metrics=metrics, dataset=spec.dataset,
                   dataset_fingerprint=spec.dataset_fingerprint, split=spec.split,
                   split_params=configuration_split_params(spec.split_params),
                   protocol=spec.protocol, ties=spec.ties,
                   alpha=float(alpha), tests=tests, bootstrap=bootstrap, ci_level=ci_level,
                   seed=seed, best=builder.best, curves=builder.curves(), notes=notes)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, None for anything else (absent, null, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    return canonical_json(value)


def _parse_test(test: str) -> tuple[str, ...]:
    if test == "both":
        return TESTS
    if test in TESTS:
        return (test,)
    raise ConfigError(f"test must be 't', 'wilcoxon' or 'both', got {test!r}")


def _check_comparable(runs: Sequence[RunRecord]) -> None:
    """Refuse runs that differ in what makes numbers comparable; say how to filter."""
    checks = [
        ("protocol", lambda s: s.protocol,
         "sampled-protocol runs are never ranked with full-ranking ones, nor rating runs with "
         "ranking ones; pick one with --protocol (or --task)"),
        ("dataset", lambda s: s.dataset, "pick one with --dataset"),
        ("split", lambda s: s.split, "pick one with --split"),
        ("dataset fingerprint", lambda s: s.dataset_fingerprint,
         "the data changed between runs, so their numbers are not comparable; re-run the older "
         "models on the current data or keep the old runs in another --db"),
        ("split parameters", lambda s: canonical_json(configuration_split_params(s.split_params)),
         "re-run with the same split parameters, or keep the others in another --db"),
        ("tie rule", lambda s: s.ties, "pick one with --ties"),
    ]
    for what, key, fix in checks:
        counts = Counter(key(r.spec) for r in runs)
        if len(counts) > 1:
            found = ", ".join(f"{value} ({n} run{'s' if n > 1 else ''})"
                              for value, n in sorted(counts.items()))
            raise LeaderboardError(f"runs mix {what}s: {found}; {fix}")


def _group(runs: Sequence[RunRecord]) -> tuple[list[list[RunRecord]], list[str]]:
    """Runs per configuration (first-seen order), one run per replicate (seed, or (seed,
    fold)): the latest one wins."""
    groups: dict[tuple[str, str, str], dict[tuple[int, int | None], RunRecord]] = {}
    superseded: Counter = Counter()
    for run in sorted(runs, key=lambda r: r.id):
        key = (run.spec.model, canonical_json(run.spec.hyperparameters),
               canonical_json(run.spec.training))
        by_replicate = groups.setdefault(key, {})
        if replicate(run) in by_replicate:
            superseded[run.display_name] += 1
        by_replicate[replicate(run)] = run
    what = "of a seed and fold" if any(replicate(r)[1] is not None for r in runs) else "of a seed"
    notes = [f"{model}: {n} older run{'s' if n > 1 else ''} {what} replaced by the newest"
             for model, n in sorted(superseded.items())]
    return [[by_replicate[k] for k in sorted(by_replicate, key=_replicate_order)]
            for by_replicate in groups.values()], notes


def _pick_metrics(runs: Sequence[RunRecord], metrics: list[str] | None) -> list[str]:
    available = sorted({m for r in runs for m in r.metrics}, key=_metric_sort_key)
    if metrics is None:
        if not available:
            raise LeaderboardError("the runs recorded no metrics")
        return available
    metrics = [m.strip() for m in metrics if m and m.strip()]
    if not metrics:
        raise ConfigError("metrics must name at least one metric, e.g. NDCG@10")
    missing = [m for m in metrics if m not in available]
    if missing:
        raise LeaderboardError(f"no run has metric{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)}; available: {', '.join(available) or 'none'}; "
                               f"choose with --metrics")
    return list(dict.fromkeys(metrics))


def _settings(group: list[RunRecord]) -> dict[str, Any]:
    """Hyperparameters and training settings of a configuration, as its label names them."""
    spec = group[0].spec
    return {**{f"training.{k}" if k in spec.hyperparameters else k: v
               for k, v in spec.training.items()}, **spec.hyperparameters}


def _labels(groups: list[list[RunRecord]]) -> list[str]:
    """Model name, plus the settings (hyperparameters, training) that differ between the
    configurations of one model. The short name ("bpr") unless two distributions' models
    share it among these rows: then the qualified one ("recplug:bpr")."""
    dists: dict[str, set[str]] = {}
    for group in groups:
        dists.setdefault(short_name(group[0].spec.model), set()).add(group[0].spec.model)
    by_model: dict[str, list[dict]] = {}
    for group in groups:
        by_model.setdefault(group[0].spec.model, []).append(_settings(group))
    labels = []
    for group in groups:
        model = group[0].spec.model
        name = model if len(dists[short_name(model)]) > 1 else short_name(model)
        params, siblings = _settings(group), by_model[model]
        if len(siblings) == 1:
            labels.append(name)
            continue
        keys = sorted({k for p in siblings for k in p})
        differing = [k for k in keys if len({canonical_json(p.get(k)) for p in siblings}) > 1]
        text = ", ".join(f"{k}={_short(params[k])}" if k in params else f"{k}=default" for k in differing)
        labels.append(f"{name}({text})")
    return labels


def tuning(tags: dict[str, str]) -> dict[str, Any]:
    """What a tuned run's tags (``study``, ``tune.*``, written by ``recplug tune``) say:
    study, metric, budget, trials, pruned, epochs, best and default validation values and
    the history (each trial's value, None where it has none); {} for an untuned run."""
    if "study" not in tags or "tune.budget" not in tags:
        return {}

    def number(key: str) -> float | None:
        try:
            value = float(tags.get(key, "nan"))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    try:
        import json

        history = [v if isinstance(v, (int, float)) else None for v in json.loads(tags.get("tune.history", "[]"))]
    except ValueError:
        history = []
    trials = number("tune.trials")
    return {"study": tags["study"], "metric": tags.get("tune.metric", "?"), "budget": tags["tune.budget"],
            "trials": None if trials is None else int(trials), "pruned": number("tune.pruned"),
            "epochs": number("tune.epochs"), "best_validation": number("tune.best_validation"),
            "default_validation": number("tune.default_validation"), "history": history}


def tuned_label(tuned: dict[str, Any]) -> str:
    """``"30 trials · valid 0.0735"``; a time budget also says how many trials it ran."""
    budget = tuned["budget"]
    if "trial" not in budget.split("(")[0] and tuned.get("trials") is not None:
        budget += f", {tuned['trials']} trials"
    best = tuned.get("best_validation")
    return f"{budget} · valid {best:.4f}" if best is not None else budget


def _average(parts: list[tuple[np.ndarray, np.ndarray, tuple[int, int | None]]]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per-user means of one configuration's runs ``(users, values, (seed, fold))``: each
    user over the folds it was tested in (folds), on the users every seed evaluated (seeds)."""
    by_seed: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for users, values, (seed, _) in parts:
        by_seed.setdefault(seed, []).append((users, values))
    return stats.average_over_seeds([stats.average_over_folds(runs) for _, runs in sorted(by_seed.items())])


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


class _Builder:
    """Computes rows, best rows, comparisons and CIs for one leaderboard."""

    def __init__(self, groups, metrics, tests, alpha, bootstrap, ci_level, seed, notes, tags):
        self.groups = groups
        self.metrics = metrics
        self.tuned = [tuning(tags.get(group[-1].id) or {}) for group in groups]
        self.labels = [f"{label} · {tuned_label(t)}" if t else label
                       for label, t in zip(_labels(groups), self.tuned)]
        self.notes = notes
        self._per_user: dict[tuple[int, str, tuple[int, ...]], tuple[np.ndarray, np.ndarray] | None] = {}
        cells = [{m: self._cell(g, m) for m in metrics} for g in groups]
        order = sorted(range(len(groups)), key=lambda i: self._sort_key(cells[i], i))
        self.groups = [groups[i] for i in order]
        self.labels = [self.labels[i] for i in order]
        self.tuned = [self.tuned[i] for i in order]
        self.cells = [cells[i] for i in order]
        self.best: dict[str, str | None] = {}
        for metric in metrics:
            self._compare(metric, tests, alpha)
        if bootstrap:
            self._bootstrap(bootstrap, ci_level, seed)
        self.rows = [self._row(i) for i in range(len(self.groups))]

    def _sort_key(self, cells: dict[str, Cell | None], index: int) -> tuple:
        first = cells[self.metrics[0]]
        if first is None:
            return (1, 0.0, self.labels[index])
        sign = -1.0 if higher_is_better(self.metrics[0]) else 1.0
        return (0, sign * first.mean, self.labels[index])

    @staticmethod
    def _cell(group: list[RunRecord], metric: str) -> Cell | None:
        values = [r.metrics[metric] for r in group if metric in r.metrics]
        if not values:
            return None
        std = float(np.std(values, ddof=1)) if len(values) > 1 else None
        return Cell(mean=float(np.mean(values)), std=std, n=len(values))

    def _user_means(self, index: int, metric: str, replicates: tuple):
        """Per-user values of row ``index`` averaged over ``replicates`` (on the users every
        seed evaluated; over the folds a user was tested in); None if a run lacks them."""
        key = (index, metric, replicates)
        if key not in self._per_user:
            name = per_user_key(metric)
            parts = []
            for run in self.groups[index]:
                if replicate(run) not in replicates:
                    continue
                users, per_user = run.per_user()
                values = per_user.get(name, per_user.get(metric))  # runs that kept it by name
                if values is None:
                    parts = None
                    break
                parts.append((users, values, replicate(run)))
            self._per_user[key] = _average(parts) if parts else None
        return self._per_user[key]

    def _seeds(self, index: int, metric: str) -> tuple:
        """The replicates (seed, fold) of row ``index`` that have ``metric``."""
        return tuple(replicate(r) for r in self.groups[index] if metric in r.metrics)

    def _compare(self, metric: str, tests: tuple[str, ...], alpha: float) -> None:
        present = [i for i, c in enumerate(self.cells) if c[metric] is not None]
        if not present:
            self.best[metric] = None
            return
        sign = 1.0 if higher_is_better(metric) else -1.0
        if per_user_key(metric) is None and len(present) > 1:
            self.notes.append(f"{metric} pools pair counts over users (no per-user values); not tested")
        top = max(sign * self.cells[i][metric].mean for i in present)
        winners = [i for i in present if sign * self.cells[i][metric].mean == top]
        ref = winners[0]
        self.best[metric] = self.labels[ref]
        for i in winners:
            self.cells[i][metric] = replace(self.cells[i][metric], best=True)
        others = [i for i in present if i not in winners]
        comparisons = {i: self._pair(ref, i, metric, tests, sign) for i in others}
        for test in tests:
            adjusted = stats.holm([comparisons[i].pvalues[test] for i in others])
            for i, adj in zip(others, adjusted):
                comparison = comparisons[i]
                comparison.adjusted[test] = float(adj)
                comparison.significant[test] = bool(
                    not math.isnan(adj) and adj <= alpha and comparison.mean_difference > 0)
        for i in others:
            self.cells[i][metric] = replace(self.cells[i][metric], comparison=comparisons[i])

    def _pair(self, ref: int, other: int, metric: str, tests: tuple[str, ...], sign: float) -> Comparison:
        seeds_ref, seeds_other = self._seeds(ref, metric), self._seeds(other, metric)
        shared = tuple(sorted(set(seeds_ref) & set(seeds_other), key=_replicate_order))
        used = shared or tuple(sorted(set(seeds_ref) | set(seeds_other), key=_replicate_order))
        seeds = tuple(sorted({seed for seed, _ in used}))
        folds = tuple(sorted({fold for _, fold in used if fold is not None}))
        if per_user_key(metric) is None:  # noted once in _compare
            return Comparison(0, math.nan, seeds, bool(shared), {t: math.nan for t in tests}, folds=folds)
        if shared:
            a = self._user_means(ref, metric, shared)
            b = self._user_means(other, metric, shared)
        else:
            a = self._user_means(ref, metric, seeds_ref)
            b = self._user_means(other, metric, seeds_other)
        if a is None or b is None:
            missing = self.labels[ref] if a is None else self.labels[other]
            self.notes.append(f"{metric}: {missing} has no per-user values; not tested")
            return Comparison(0, math.nan, seeds, bool(shared), {t: math.nan for t in tests}, folds=folds)
        _, va, vb = stats.pair_users(*a, *b)
        if va.size < 2:
            self.notes.append(f"{metric}: {self.labels[other]} shares fewer than 2 users with "
                              f"{self.labels[ref]}; not tested")
        pvalues = {}
        for test in tests:
            pvalues[test] = stats.paired_t(va, vb) if test == "t" else stats.wilcoxon(va, vb)
        difference = sign * float(np.mean(va - vb)) if va.size else math.nan
        return Comparison(int(va.size), difference, seeds, bool(shared), pvalues, folds=folds)

    def _bootstrap(self, n_resamples: int, level: float, seed: int) -> None:
        for i, group in enumerate(self.groups):
            spec = group[0].spec
            key = canonical_json([spec.model, spec.hyperparameters] + ([spec.training] if spec.training else []))
            for metric in self.metrics:
                cell = self.cells[i][metric]
                if cell is None:
                    continue
                means = self._user_means(i, metric, self._seeds(i, metric))
                if means is None or means[1].size == 0:
                    continue
                # seeded by (seed, configuration, metric): independent of row order
                digest = hashlib.sha256(f"{key}\0{metric}".encode()).digest()
                rng = np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])
                ci = stats.bootstrap_ci(means[1], n_resamples=n_resamples, level=level, rng=rng)
                self.cells[i][metric] = replace(cell, ci=ci)

    def _row(self, i: int) -> Row:
        group = self.groups[i]
        spec = group[0].spec
        rates = [rate for r in group
                 if (rate := _number(r.split_summary.get("boundary_tie_rate"))) is not None]
        return Row(label=self.labels[i], model=spec.model, hyperparameters=spec.hyperparameters,
                   training=spec.training, trained=Trained.of(group),
                   tie_rate=max(rates) if rates else None,
                   plugin_dist=spec.plugin_dist,
                   plugin_versions=tuple(sorted({r.spec.plugin_version for r in group})),
                   seeds=tuple(sorted({r.spec.seed for r in group})),
                   folds=tuple(sorted({f for r in group if (f := replicate(r)[1]) is not None})),
                   run_ids=tuple(r.id for r in group),
                   fit_seconds=_mean([r.fit_seconds for r in group]),
                   eval_seconds=_mean([r.eval_seconds for r in group]), cells=self.cells[i],
                   tuned=self.tuned[i])

    def curves(self) -> dict[str, list[tuple[str, list[tuple[int, float]]]]]:
        """Per metric family of the columns: each row's mean at every K its runs have."""
        families = list(dict.fromkeys(split_metric(m)[0] for m in self.metrics
                                      if split_metric(m)[1] is not None))
        out = {}
        for family in families:
            series = []
            for label, group in zip(self.labels, self.groups):
                ks = sorted({k for r in group for m in r.metrics
                             for f, k in [split_metric(m)] if f == family and k is not None})
                points = [(k, self._cell(group, f"{family}@{k}").mean) for k in ks]
                if points:
                    series.append((label, points))
            out[family] = series
        return out
