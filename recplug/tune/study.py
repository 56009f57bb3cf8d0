"""Persistent Optuna studies: one per (model, dataset, split and everything that changes a
trial's value), in a journal file next to the results store.

Storage: Optuna's ``JournalStorage`` over a ``JournalFileBackend``
(``results.sqlite`` -> ``results.studies.journal``). Every change (a trial asked, its
intermediate values, its end) is appended to the file under a file lock as it happens,
so several processes can share it and a killed process loses no finished trial; the
trial it was running stays ``RUNNING`` with its owner recorded and is failed (not
counted) by the next process that opens the study, when that owner is dead.

Only the driver writes: trials are asked and told here (ask-and-tell), the fits run
wherever the executor puts them (:func:`recplug.tune.trial.run_trial`).

Determinism: the TPE sampler is re-seeded before each trial from (study seed, trial
number), so a resumed study draws what an uninterrupted one would have drawn, and the
Ray executor draws what the plain one does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recplug.store.spec import canonical_json
from recplug.tune.budget import Budget
from recplug.tune.space import Dimension
from recplug.tune.trial import STATES, Pruning, TrialJob, TrialReport

DIRECTION = "maximize"  #: ranking validation metrics: higher is better
JOURNAL_SUFFIX = ".studies.journal"


def journal_path(store_path: str | Path) -> Path:
    """The journal beside a results store: ``runs.sqlite`` -> ``runs.studies.journal``."""
    path = Path(store_path).expanduser().absolute()
    return path.with_name(path.stem + JOURNAL_SUFFIX)


def open_storage(path: Path):
    """The Optuna journal storage in ``path`` (created with its folder when missing)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path.parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return JournalStorage(JournalFileBackend(str(path)))


def study_name(model: str, dataset: str, split: str, identity: dict) -> str:
    """``"bpr/ml-100k/loo/1a2b3c4d5e"``: readable, plus a hash of everything in ``identity``."""
    digest = hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()[:10]
    return f"{model}/{dataset}/{split}/{digest}"


@dataclass
class StudyPlan:
    """A study to run: its identity and what each of its trials needs.

    ``fixed`` are hyperparameters every trial uses (``--set``); ``space`` what is
    searched; ``defaults`` the model's defaults, tried first when they lie in the space.
    """

    model: str
    cls: type
    dataset: str
    split: str
    identity: dict
    space: dict[str, Dimension]
    fixed: dict[str, Any]
    defaults: dict[str, Any]
    seed: int
    metric: str
    eval_config: Any
    budget: Budget
    device: str = "cpu"
    threads: int = 1
    max_epochs: int | None = None
    patience: int = 5
    pruning: Pruning | None = field(default_factory=Pruning)

    @property
    def name(self) -> str:
        return study_name(self.model, self.dataset, self.split, self.identity)


def _owner() -> dict:
    from recplug.store.owner import Owner

    owner = Owner.current()
    return {"host": owner.host, "pid": owner.pid, "token": owner.token}


def _owner_alive(owner: Any) -> bool:
    from recplug.store.claims import is_live

    if not isinstance(owner, dict):
        return False
    return is_live(owner.get("host"), owner.get("pid"), owner.get("token"), None, 0.0, None)


def counted(trial: Any) -> bool:
    """Whether a finished trial counts against the budget (every end but an interrupt)."""
    return trial.state.is_finished() and not trial.user_attrs.get("interrupted")


class StudyRun:
    """One open study: ask the next trial, tell its report, know when the budget is spent."""

    def __init__(self, plan: StudyPlan, storage: Any) -> None:
        import optuna

        self.plan = plan
        self.study = optuna.create_study(study_name=plan.name, storage=storage, load_if_exists=True,
                                         direction=DIRECTION, sampler=self._sampler(0),
                                         pruner=optuna.pruners.NopPruner())
        self.resumed = bool(self.study.get_trials(deepcopy=False))
        attrs = self.study.user_attrs
        if "identity" not in attrs:
            for key, value in (("model", plan.model), ("dataset", plan.dataset), ("split", plan.split),
                               ("metric", plan.metric), ("identity", plan.identity),
                               ("space", {k: d.to_dict() for k, d in plan.space.items()}),
                               ("fixed", plan.fixed), ("seed", plan.seed)):
                self.study.set_user_attr(key, value)
        self.study.set_user_attr("budget", plan.budget.to_dict())  # the latest command's budget
        self.stale = self._fail_stale()
        self._asked: dict[int, Any] = {}
        #: the defaults that lie outside the space (then not tried first)
        self.outside = {k: v for k, v in plan.defaults.items() if not plan.space[k].contains(v)}
        if not self.resumed and plan.defaults and not self.outside:
            self.study.enqueue_trial(plan.defaults, user_attrs={"defaults": True})

    def _sampler(self, number: int):
        import optuna

        from recplug.training.seeding import derive_seed

        return optuna.samplers.TPESampler(seed=derive_seed(self.plan.seed, "tpe", number) % 2**32)

    def _fail_stale(self) -> int:
        """Fail (uncounted) the RUNNING trials whose process is gone; returns how many."""
        import optuna

        stale = 0
        for trial in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if _owner_alive(trial.user_attrs.get("owner")):
                continue
            self.study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            self.study._storage.set_trial_user_attr(trial._trial_id, "error",
                                                    "its process was gone (killed or crashed)")
            self.study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            stale += 1
        return stale

    # ---- the budget ----------------------------------------------------------------
    def trials(self) -> list:
        return self.study.get_trials(deepcopy=False)

    def used(self) -> tuple[int, float]:
        """(counted trials, their seconds)."""
        ended = [t for t in self.trials() if counted(t)]
        return len(ended), sum(float(t.user_attrs.get("seconds") or 0.0) for t in ended)

    def done(self) -> bool:
        return self.plan.budget.exhausted(*self.used())

    # ---- ask and tell --------------------------------------------------------------
    def ask(self) -> TrialJob:
        """The next trial as a job (the sampler seeded by its number)."""
        number = len(self.trials())
        self.study.sampler = self._sampler(number)
        trial = self.study.ask()
        params = {name: dim.suggest(trial, name) for name, dim in self.plan.space.items()}
        trial.set_user_attr("owner", _owner())
        self._asked[trial.number] = trial
        plan = self.plan
        return TrialJob(study=plan.name, number=trial.number, model=plan.model, cls=plan.cls,
                        params={**plan.fixed, **params}, seed=plan.seed, metric=plan.metric,
                        eval_config=plan.eval_config, device=plan.device, threads=plan.threads,
                        max_epochs=plan.max_epochs, patience=plan.patience, pruning=plan.pruning)

    def snapshot(self) -> list:
        """The finished trials, for a job's pruner."""
        return [t for t in self.study.get_trials(deepcopy=True) if t.state.is_finished()]

    def tell(self, report: TrialReport) -> Any:
        """Record ``report`` (intermediate values, attributes, end state); returns the frozen trial."""
        import optuna

        if report.state not in STATES:
            raise ValueError(f"unknown trial state {report.state!r}")
        trial = self._asked.pop(report.number)
        for epoch, value in report.intermediate:
            trial.report(value, epoch)
        trial.set_user_attr("epochs", int(report.epochs))
        trial.set_user_attr("seconds", round(float(report.seconds), 3))
        if report.error:
            trial.set_user_attr("error", report.error)
        if report.state == "interrupted":
            trial.set_user_attr("interrupted", True)
        states = optuna.trial.TrialState
        if report.state == "complete":
            self.study.tell(trial, report.value)
        elif report.state == "pruned":
            self.study.tell(trial, state=states.PRUNED)
        else:
            self.study.tell(trial, state=states.FAIL)
        return self.study.get_trials(deepcopy=False)[report.number]

    def asked(self) -> list[int]:
        """Numbers of the trials asked and not yet told."""
        return list(self._asked)

    def abandon(self, number: int, why: str) -> None:
        """Fail an asked trial that will not report (uncounted: interrupted)."""
        import optuna

        trial = self._asked.pop(number, None)
        if trial is None:
            return
        trial.set_user_attr("interrupted", True)
        trial.set_user_attr("error", why)
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def summary(self) -> "StudySummary":
        return summarise(self.study)


@dataclass(frozen=True)
class StudySummary:
    """What a study found: ``best_value`` / ``best_params`` (None before a complete trial),
    ``default_value`` (the defaults trial's value, when it ran), counted ``trials``, and of
    them ``pruned`` and ``failed``; ``epochs`` and ``seconds`` spent; ``history`` the value
    of each trial (None where it has none) in trial order."""

    name: str
    model: str
    metric: str
    budget: dict
    trials: int
    pruned: int
    failed: int
    epochs: int
    seconds: float
    best_value: float | None
    best_params: dict | None
    best_number: int | None
    default_value: float | None
    history: list[float | None]

    def budget_text(self) -> str:
        return Budget(**self.budget).describe()

    def tags(self) -> dict[str, str]:
        """The tags linking a tuned test run to this study (see :mod:`recplug.tune.results`)."""
        return {"study": self.name, "tune.metric": self.metric, "tune.budget": self.budget_text(),
                "tune.trials": str(self.trials), "tune.pruned": str(self.pruned),
                "tune.epochs": str(self.epochs), "tune.seconds": f"{self.seconds:.1f}",
                "tune.best_validation": repr(self.best_value),
                "tune.default_validation": repr(self.default_value),
                "tune.history": json.dumps(self.history)}


def summarise(study: Any) -> StudySummary:
    import optuna

    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    ended = [t for t in trials if counted(t)]
    complete = [t for t in ended if t.state == states.COMPLETE]
    best = max(complete, key=lambda t: (t.value, -t.number)) if complete else None
    defaults = [t for t in complete if t.user_attrs.get("defaults")]
    attrs = study.user_attrs
    return StudySummary(
        name=study.study_name, model=attrs.get("model", "?"), metric=attrs.get("metric", "?"),
        budget=attrs.get("budget", {"kind": "trials", "trials": len(ended), "seconds": None}),
        trials=len(ended), pruned=sum(t.state == states.PRUNED for t in ended),
        failed=sum(t.state == states.FAIL for t in ended),
        epochs=sum(int(t.user_attrs.get("epochs") or 0) for t in ended),
        seconds=sum(float(t.user_attrs.get("seconds") or 0.0) for t in ended),
        best_value=None if best is None else float(best.value),
        best_params=None if best is None else dict(best.params),
        best_number=None if best is None else best.number,
        default_value=float(defaults[0].value) if defaults else None,
        history=[float(t.value) if t.state == states.COMPLETE else None for t in ended])
