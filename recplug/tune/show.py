"""What ``recplug tune --show`` prints about a study: its trials, best parameters and a
parameter-importance table (Optuna's fANOVA, seeded)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from recplug.tune.study import StudySummary, counted


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def importances(study: Any) -> dict[str, float]:
    """Parameter -> importance (sums to 1) over the complete trials; {} with fewer than two
    complete trials or nothing that varied."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    if len(complete) < 2:
        return {}
    try:
        return optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError):  # too few distinct values to split on
        return {}


def trials_table(study: Any, summary: StudySummary) -> Table:
    table = Table(title=f"{summary.name} · {summary.metric} on validation", title_justify="left")
    for header in ("#", "state", summary.metric, "epochs", "s", "parameters"):
        table.add_column(header, justify="right" if header not in ("state", "parameters") else "left")
    for trial in study.get_trials(deepcopy=False):
        state = trial.state.name.lower()
        if trial.user_attrs.get("interrupted"):
            state = "interrupted"
        elif trial.user_attrs.get("defaults"):
            state += " (defaults)"
        value = trial.value if trial.value is not None else (
            list(trial.intermediate_values.values())[-1] if trial.intermediate_values else None)
        mark = "bold" if trial.number == summary.best_number else ""
        params = ", ".join(f"{k}={_value(v)}" for k, v in sorted(trial.params.items()))
        table.add_row(str(trial.number), state, "" if value is None else f"{value:.4f}",
                      str(trial.user_attrs.get("epochs", "")), _value(trial.user_attrs.get("seconds", "")),
                      params, style=mark)
    return table


def show(studies: list[tuple[Any, StudySummary]], console: Console | None = None) -> None:
    """Print every study: trials, a summary line, the best parameters and importances."""
    console = console or Console()
    for study, summary in studies:
        console.print(trials_table(study, summary))
        line = (f"budget {summary.budget_text()}: {summary.trials} trials counted ({summary.pruned} pruned, "
                f"{summary.failed} failed), {summary.epochs} epochs, {summary.seconds:.0f} s")
        uncounted = sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished() and not counted(t))
        if uncounted:
            line += f"; {uncounted} interrupted, not counted"
        console.print(Text(line))
        if summary.best_params is None:
            console.print(Text("no complete trial yet"))
            continue
        best = f"best {summary.metric} {summary.best_value:.4f} (trial {summary.best_number})"
        if summary.default_value is not None:
            best += f"; defaults {summary.default_value:.4f}"
        console.print(Text(best))
        params = Table(title="best parameters", title_justify="left")
        params.add_column("parameter")
        params.add_column("value", justify="right")
        for key, value in sorted(summary.best_params.items()):
            params.add_row(key, _value(value))
        console.print(params)
        weights = importances(study)
        if weights:
            table = Table(title="parameter importance (fANOVA)", title_justify="left")
            table.add_column("parameter")
            table.add_column("importance", justify="right")
            for key, weight in sorted(weights.items(), key=lambda kv: -kv[1]):
                table.add_row(key, f"{weight:.3f}")
            console.print(table)
        console.print()
