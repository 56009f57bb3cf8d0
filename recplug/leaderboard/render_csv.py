"""CSV: one row per configuration; per metric its mean, std, best flag, p-values, marks and CI."""

from __future__ import annotations

import csv
import io
import json

from recplug.leaderboard.model import Leaderboard


def _value(value: float | None) -> str:
    return "" if value is None or value != value else repr(float(value))


def render_csv(lb: Leaderboard) -> str:
    """Full-precision numbers; empty fields where a value is missing or not tested.

    ``seeds`` and ``folds`` count the distinct seeds and folds (0 outside kfold) the row
    averages; metric columns carry their plain names (lower is better for RMSE, MAE). Per metric ``M``: ``M``, ``M std``, ``M best``, then per test ``T``: ``M p_T``,
    ``M p_T_holm``, ``M worse_T`` (significantly worse than the best), and with a bootstrap
    ``M ci_low``, ``M ci_high``. Then what training did (``epochs_run``, ``best_epoch``:
    means over seeds; ``stopped``: reasons joined by "/"), ``boundary_tie_rate`` (highest
    over seeds) and ``tie_flagged`` (1 when ties decided most top-K cuts).
    """
    header = ["model", "qualified_model", "hyperparameters", "training", "seeds", "folds"]
    for metric in lb.metrics:
        header += [metric, f"{metric} std", f"{metric} best"]
        for test in lb.tests:
            header += [f"{metric} p_{test}", f"{metric} p_{test}_holm", f"{metric} worse_{test}"]
        if lb.bootstrap:
            header += [f"{metric} ci_low", f"{metric} ci_high"]
    header += ["epochs_run", "best_epoch", "stopped", "boundary_tie_rate", "tie_flagged",
               "fit_seconds", "eval_seconds"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in lb.rows:
        line = [row.label, row.model, json.dumps(row.hyperparameters, sort_keys=True),
                json.dumps(row.training, sort_keys=True), row.n_seeds, len(row.folds)]
        for metric in lb.metrics:
            cell = row.cells[metric]
            if cell is None:
                line += [""] * (3 + 3 * len(lb.tests) + (2 if lb.bootstrap else 0))
                continue
            line += [_value(cell.mean), _value(cell.std), int(cell.best)]
            comparison = cell.comparison
            for test in lb.tests:
                if comparison is None:
                    line += ["", "", 0]
                else:
                    line += [_value(comparison.pvalues.get(test)), _value(comparison.adjusted.get(test)),
                             int(comparison.significant.get(test, False))]
            if lb.bootstrap:
                line += [_value(cell.ci[0]), _value(cell.ci[1])] if cell.ci else ["", ""]
        trained = row.trained
        line += [_value(trained.epochs_run), _value(trained.best_epoch), "/".join(trained.stopped),
                 _value(row.tie_rate), int(row.tie_flagged), _value(row.fit_seconds),
                 _value(row.eval_seconds)]
        writer.writerow(line)
    return out.getvalue()
